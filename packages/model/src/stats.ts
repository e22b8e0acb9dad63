import { doubleCounters } from './doubles.js';

/**
 * Per-service and per-destination statistics: totals that the data plane bumps, and the
 * rate estimates that a 2-second estimator derives from them (see the engine).
 * Totals are JS numbers (exact up to 2^53, which is decades of traffic), in double fields
 * from the start (`doubleCounters`).
 */
export class Stats {
  conns = 0;
  inPkts = 0;
  outPkts = 0;
  inBytes = 0;
  outBytes = 0;
  /** rates, per second, as the kernel's estimator reports them */
  cps = 0;
  inPps = 0;
  outPps = 0;
  inBps = 0;
  outBps = 0;

  constructor() {
    doubleCounters(this);
  }

  /** Zero totals and rates (`ipvsadm -Z`). */
  zero(): void {
    this.conns = 0;
    this.inPkts = 0;
    this.outPkts = 0;
    this.inBytes = 0;
    this.outBytes = 0;
    this.cps = 0;
    this.inPps = 0;
    this.outPps = 0;
    this.inBps = 0;
    this.outBps = 0;
  }
}
