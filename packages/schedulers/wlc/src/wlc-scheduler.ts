/**
 * wlc — weighted least connection (the kernel's ip_vs_wlc.c), ipvsadm's default.
 *
 * A new connection goes to the destination with the smallest overhead per unit of weight,
 * overhead = active * 256 + inactive. Divisions are avoided by cross-multiplying: the current
 * choice `cur` is replaced by a later `d` when OH(cur) * w(d) > OH(d) * w(cur). The start is
 * the first destination with weight > 0 and no OVERLOAD flag; OVERLOADed destinations are
 * skipped, a weight-0 one can never win, and ties keep the earlier destination.
 */
import type { Dest, Service } from '@tunvs/model';
import { leastWeightedConn } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

/** Stateless wlc instance. */
export class WlcScheduler implements SchedulerInstance {
  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    return leastWeightedConn(svc.dests);
  }
}

/** The wlc scheduler factory (`-s wlc`). */
export const wlcScheduler: SchedulerFactory = {
  name: 'wlc',
  description: 'weighted least-connection',
  create: (_svc: Service): WlcScheduler => new WlcScheduler(),
};
