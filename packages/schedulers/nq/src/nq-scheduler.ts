/**
 * nq — never queue (the kernel's ip_vs_nq.c).
 *
 * An idle server (no active connections) gets the new connection at once: the first one in
 * list order with weight > 0 and no OVERLOAD flag. When every such server is busy, nq falls
 * back to the shortest-expected-delay choice, (active + 1) / weight, compared by
 * cross-multiplying; ties keep the earlier destination.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { productGreater, sedOverhead } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Stateless nq instance. */
export class NqScheduler implements SchedulerInstance {
  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    let least: Dest | null = null;
    let loh = 0;
    let lw = 0;
    for (let i = 0, n = dests.length; i < n; i++) {
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) !== 0 || d.weight === 0) continue;
      if (d.activeConns === 0) return d;
      const doh = sedOverhead(d);
      if (least === null || productGreater(loh, d.weight, doh, lw)) {
        least = d;
        loh = doh;
        lw = d.weight;
      }
    }
    return least;
  }
}

/** The nq scheduler factory (`-s nq`). */
export const nqScheduler: SchedulerFactory = {
  name: 'nq',
  description: 'never queue',
  create: (_svc: Service): NqScheduler => new NqScheduler(),
};
