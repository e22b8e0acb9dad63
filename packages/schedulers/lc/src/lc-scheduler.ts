/**
 * lc — least connection (the kernel's ip_vs_lc.c).
 *
 * Every new connection goes to the destination with the smallest connection overhead
 * (active * 256 + inactive: an active connection weighs as much as 256 idle ones). Weight
 * plays no part beyond "zero = never"; OVERLOADed destinations are skipped. On a tie the
 * destination earlier in the list wins.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { overhead } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Stateless lc instance. */
export class LcScheduler implements SchedulerInstance {
  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    let least: Dest | null = null;
    let loh = 0;
    for (let i = 0, n = dests.length; i < n; i++) {
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) !== 0 || d.weight === 0) continue;
      const doh = overhead(d);
      if (least === null || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** The lc scheduler factory (`-s lc`). */
export const lcScheduler: SchedulerFactory = {
  name: 'lc',
  description: 'least-connection',
  create: (_svc: Service): LcScheduler => new LcScheduler(),
};
