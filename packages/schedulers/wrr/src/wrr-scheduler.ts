/**
 * wrr — weighted round robin (the kernel's ip_vs_wrr.c).
 *
 * The scheduler walks the list in rounds with a falling "current weight" cw: in each round
 * it hands one connection to every destination (in list order) whose weight is at least cw,
 * then lowers cw by di, the gcd of the positive weights. When cw drops to zero it starts
 * again at mw = max weight - (di - 1). So with weights 4, 3, 2 a cycle is
 * A A B A B C A B C: heavier servers appear in more rounds, interleaved rather than bunched.
 *
 * Every destination add, delete or edit recomputes di and mw and moves the cursor back to
 * the list head, keeping cw unless it is 0 or above the new mw (then cw = mw), or rounding
 * it onto the new di grid. A service filled by adds one at a time therefore starts with
 * cw = 1: its first round gives every destination one connection before the cycle proper.
 * OVERLOADed destinations are skipped; if a whole sweep finds nothing, the answer is none.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { gcd } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** gcd of all weights > 0, 1 when there is none. */
function gcdWeight(dests: readonly Dest[]): number {
  let g = 0;
  for (const d of dests) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  return g > 0 ? g : 1;
}

/** Largest weight over all destinations (0 when none). */
function maxWeight(dests: readonly Dest[]): number {
  let m = 0;
  for (const d of dests) if (d.weight > m) m = d.weight;
  return m;
}

/** Per-service wrr state (the kernel's `ip_vs_wrr_mark`). */
export class WrrScheduler implements SchedulerInstance {
  /** destination under the cursor; null = list head */
  cursor: Dest | null = null;
  private idx = -1;
  /** current weight */
  cw: number;
  /** max weight - (di - 1) */
  mw: number;
  /** gcd of the positive weights */
  di: number;

  constructor(svc: Service) {
    this.di = gcdWeight(svc.dests);
    this.mw = maxWeight(svc.dests) - (this.di - 1);
    this.cw = this.mw;
  }

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    if (this.mw === 0) return null;
    const dests = svc.dests;
    const n = dests.length;
    let pos = this.idx;
    if (pos >= 0 && dests[pos] !== this.cursor) {
      pos = this.cursor === null ? -1 : dests.indexOf(this.cursor);
    }
    const last = pos;
    let stop = -2;
    let lastPass = false;
    let restarted = false;
    const di = this.di;
    const mw = this.mw;
    let cw = this.cw;
    for (;;) {
      for (let i = pos + 1; i < n; i++) {
        const d = dests[i]!;
        if ((d.flags & OVERLOAD) === 0 && d.weight >= cw) {
          this.cw = cw;
          this.idx = i;
          this.cursor = d;
          return d;
        }
        if (i === stop) {
          this.cw = cw;
          this.idx = i;
          this.cursor = d;
          return null;
        }
      }
      cw -= di;
      if (cw <= 0) {
        cw = mw;
        if (lastPass || last < 0) {
          this.cw = cw;
          this.idx = -1;
          this.cursor = null;
          return null;
        }
        restarted = true;
      }
      lastPass = cw <= di;
      if (lastPass && restarted && last >= 0) stop = last;
      pos = -1;
    }
  }

  /** Recompute di/mw, move the cursor to the head and fit cw (`ip_vs_wrr_dest_changed`). */
  private changed(svc: Service): void {
    this.idx = -1;
    this.cursor = null;
    this.di = gcdWeight(svc.dests);
    this.mw = maxWeight(svc.dests) - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }

  addDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  updDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }
}

/** The wrr scheduler factory (`-s wrr`). */
export const wrrScheduler: SchedulerFactory = {
  name: 'wrr',
  description: 'weighted round robin',
  create: (svc: Service): WrrScheduler => new WrrScheduler(svc),
};
