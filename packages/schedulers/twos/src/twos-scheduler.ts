/**
 * twos — power of two choices (the kernel's ip_vs_twos.c).
 *
 * Two candidates are drawn at random, each with probability proportional to its weight, and
 * the less loaded of the two (smaller overhead per unit of weight) gets the connection.
 * This keeps most of the balance of least-connection while avoiding the herd effect of
 * everyone choosing the same least-loaded server.
 *
 * Exactly as the kernel: W = sum of weights of destinations with weight > 0 and no OVERLOAD;
 * r1, r2 are uniform in 0..W (W + 1 values, so the first eligible destination gets one
 * outcome more than its weight); walking the eligible destinations in list order and
 * subtracting each weight, the first one where r <= 0 is the choice. choice2 wins only when
 * w2 * OH(choice1) > w1 * OH(choice2) in 32-bit int arithmetic. The random source is
 * injectable (`opts.random`) or seeded (`opts.seed`) for reproducible runs.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { overhead, seededRandom } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance, SchedulerOptions } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Per-service twos state: its random source. */
export class TwosScheduler implements SchedulerInstance {
  /** returns floats in [0, 1) */
  readonly random: () => number;

  constructor(opts: SchedulerOptions = {}) {
    this.random = opts.random ?? seededRandom(opts.seed ?? (Math.random() * 4294967296) >>> 0);
  }

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let total = 0;
    // as in the kernel, choice1 starts as the last eligible destination
    let c1: Dest | null = null;
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) === 0 && d.weight > 0) {
        total = (total + d.weight) | 0;
        c1 = d;
      }
    }
    if (c1 === null) return null;
    const range = total + 1;
    let r1 = Math.floor(this.random() * range);
    let r2 = Math.floor(this.random() * range);
    let c2: Dest | null = null;
    let w1 = -1;
    let w2 = -1;
    let oh1 = 0;
    let oh2 = 0;
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) !== 0) continue;
      const w = d.weight;
      if (w <= 0) continue;
      r1 -= w;
      r2 -= w;
      if (r1 <= 0 && w1 === -1) {
        c1 = d;
        w1 = w;
        oh1 = overhead(d);
      }
      if (r2 <= 0 && w2 === -1) {
        c2 = d;
        w2 = w;
        oh2 = overhead(d);
      }
      if (w1 !== -1 && w2 !== -1) break;
    }
    if (c2 !== null && Math.imul(w2, oh1) > Math.imul(w1, oh2)) return c2;
    return c1;
  }
}

/** The twos scheduler factory (`-s twos`). */
export const twosScheduler: SchedulerFactory = {
  name: 'twos',
  description: 'power of two choices',
  create: (_svc: Service, opts?: SchedulerOptions): TwosScheduler => new TwosScheduler(opts),
};
