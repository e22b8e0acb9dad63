/**
 * fo — weighted fail-over (the kernel's ip_vs_fo.c).
 *
 * All new connections go to the single destination with the highest weight that is not
 * OVERLOADed; the first one in list order wins a tie. Lowering the active server's weight
 * (or its overload) fails traffic over to the next-heaviest one. Weight 0 is never chosen.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Stateless fo instance. */
export class FoScheduler implements SchedulerInstance {
  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    let best: Dest | null = null;
    let hw = 0;
    for (let i = 0, n = dests.length; i < n; i++) {
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) === 0 && d.weight > hw) {
        best = d;
        hw = d.weight;
      }
    }
    return best;
  }
}

/** The fo scheduler factory (`-s fo`). */
export const foScheduler: SchedulerFactory = {
  name: 'fo',
  description: 'weighted failover',
  create: (_svc: Service): FoScheduler => new FoScheduler(),
};
