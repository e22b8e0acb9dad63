/**
 * sed — shortest expected delay (the kernel's ip_vs_sed.c).
 *
 * The expected delay of sending one more connection to a server is (active + 1) / weight:
 * the new connection would join the server's active ones. Inactive connections are ignored.
 * The choice works like wlc (first destination with weight > 0 and no OVERLOAD, then later
 * ones take over when (A(cur)+1) * w(d) > (A(d)+1) * w(cur)), ties keep the earlier one.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { productGreater, sedOverhead } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Stateless sed instance. */
export class SedScheduler implements SchedulerInstance {
  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let i = 0;
    let least: Dest | null = null;
    for (; i < n; i++) {
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) === 0 && d.weight > 0) {
        least = d;
        break;
      }
    }
    if (least === null) return null;
    let loh = sedOverhead(least);
    let lw = least.weight;
    for (i++; i < n; i++) {
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) !== 0) continue;
      const doh = sedOverhead(d);
      if (productGreater(loh, d.weight, doh, lw)) {
        least = d;
        loh = doh;
        lw = d.weight;
      }
    }
    return least;
  }
}

/** The sed scheduler factory (`-s sed`). */
export const sedScheduler: SchedulerFactory = {
  name: 'sed',
  description: 'shortest expected delay',
  create: (_svc: Service): SedScheduler => new SedScheduler(),
};
