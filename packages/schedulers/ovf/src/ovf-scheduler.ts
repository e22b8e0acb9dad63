/**
 * ovf — weighted overflow (the kernel's ip_vs_ovf.c).
 *
 * A server's weight doubles as its connection budget: a destination stays eligible while its
 * active connections do not exceed its weight (A == w still counts), it has weight > 0 and
 * no OVERLOAD flag. Among the eligible ones the heaviest gets the connection, the first in
 * list order on a tie; once it is full, traffic overflows to the next-heaviest. Inactive
 * connections are ignored.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Stateless ovf instance. */
export class OvfScheduler implements SchedulerInstance {
  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    let best: Dest | null = null;
    for (let i = 0, n = dests.length; i < n; i++) {
      const d = dests[i]!;
      const w = d.weight;
      if ((d.flags & OVERLOAD) !== 0 || d.activeConns > w || w === 0) continue;
      if (best === null || w > best.weight) best = d;
    }
    return best;
  }
}

/** The ovf scheduler factory (`-s ovf`). */
export const ovfScheduler: SchedulerFactory = {
  name: 'ovf',
  description: 'weighted overflow',
  create: (_svc: Service): OvfScheduler => new OvfScheduler(),
};
