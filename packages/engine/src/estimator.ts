/**
 * The kernel's rate estimator (ip_vs_est.c), run every 2 seconds over every Stats object:
 * per counter, the delta since the last tick is scaled (conns/packets << 9, bytes << 4),
 * smoothed with an EWMA of weight 1/4, and reported rounded:
 * cps/pps = (avg + 511) >> 10, bps = (avg + 15) >> 5.
 * Integer arithmetic as in the kernel (values may exceed 32 bits, so plain numbers with
 * Math.floor / exact division instead of shifts).
 */
import type { Stats } from '@tunvs/model';

/** Estimator period in milliseconds. */
export const ESTIMATOR_PERIOD_MS = 2000;

interface EstState {
  lastConns: number;
  lastInPkts: number;
  lastOutPkts: number;
  lastInBytes: number;
  lastOutBytes: number;
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

const floorDiv = (a: number, b: number): number => Math.floor(a / b);

export class Estimator {
  private readonly states = new Map<Stats, EstState>();

  /** Start estimating a Stats object (from its current totals). */
  add(s: Stats): void {
    if (this.states.has(s)) return;
    this.states.set(s, {
      lastConns: s.conns,
      lastInPkts: s.inPkts,
      lastOutPkts: s.outPkts,
      lastInBytes: s.inBytes,
      lastOutBytes: s.outBytes,
      cps: 0,
      inpps: 0,
      outpps: 0,
      inbps: 0,
      outbps: 0,
    });
  }

  /** Stop estimating it. */
  remove(s: Stats): void {
    this.states.delete(s);
  }

  /** Reset one Stats' estimate (after `zero`). */
  reset(s: Stats): void {
    this.states.delete(s);
    this.add(s);
  }

  /** One 2-second tick over everything. */
  tick(): void {
    for (const [s, e] of this.states) {
      const step = (cur: number, last: number, avg: number, shift: number): number => {
        const rate = (cur - last) * 2 ** shift;
        return avg + floorDiv(rate - avg, 4);
      };
      e.cps = step(s.conns, e.lastConns, e.cps, 9);
      e.inpps = step(s.inPkts, e.lastInPkts, e.inpps, 9);
      e.outpps = step(s.outPkts, e.lastOutPkts, e.outpps, 9);
      e.inbps = step(s.inBytes, e.lastInBytes, e.inbps, 4);
      e.outbps = step(s.outBytes, e.lastOutBytes, e.outbps, 4);
      e.lastConns = s.conns;
      e.lastInPkts = s.inPkts;
      e.lastOutPkts = s.outPkts;
      e.lastInBytes = s.inBytes;
      e.lastOutBytes = s.outBytes;
      s.cps = floorDiv(e.cps + 511, 1024);
      s.inPps = floorDiv(e.inpps + 511, 1024);
      s.outPps = floorDiv(e.outpps + 511, 1024);
      s.inBps = floorDiv(e.inbps + 15, 32);
      s.outBps = floorDiv(e.outbps + 15, 32);
    }
  }
}
