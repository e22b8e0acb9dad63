/**
 * Where connections come from: a generator drawing the scenario's workload (Poisson
 * arrivals with a rate curve and bursts, Zipf-popular clients, source ports), or a trace
 * (`bench --trace`). Both hand the simulator one arrival at a time.
 *
 * The generator's draws depend only on the seed, never on what a scheduler decided, so
 * every scheduler of a comparison sees exactly the same arrivals (common random numbers).
 */
import { seededRandom } from '@tunvs/scheduler';
import type { ClientSpec, Scenario } from './scenario.js';

/** The client source ports a Linux client picks from (ip_local_port_range). */
export const PORT_LOW = 32768;
export const PORT_HIGH = 60999;
const PORT_SPAN = PORT_HIGH - PORT_LOW + 1;

/** One arrival after another; fields describe the current one. */
export interface ArrivalSource {
  /** distinct client addresses the source can produce (client indexes are 0..clientCount-1) */
  readonly clientCount: number;
  /** move to the next arrival; false when there are no more before the end */
  next(): boolean;
  /** arrival time, ms */
  time: number;
  /** client index */
  client: number;
  /** client address (uint32) and source port */
  addr: number;
  port: number;
  /** seed of this connection's own random numbers (requests, service, think times) */
  connSeed: number;
  /** a trace's close time for this connection (ms), or -1 */
  closeAt: number;
  /** the port to try after a clash with a live connection of the same client */
  nextPort(): number;
}

/** Cumulative Zipf(s) probabilities over ranks 1..n (s = 0: uniform). */
export function zipfCdf(n: number, s: number): Float64Array {
  const c = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += s === 0 ? 1 : 1 / Math.pow(i + 1, s);
    c[i] = acc;
  }
  for (let i = 0; i < n; i++) c[i]! /= acc;
  return c;
}

/** The index i with cdf[i-1] < u <= cdf[i] (binary search). */
export function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The rate multiplier of the curve at `t` seconds (linear between points; flat outside). */
export function curveAt(curve: readonly [number, number][], t: number): number {
  const n = curve.length;
  if (n === 0) return 1;
  if (t <= curve[0]![0]) return curve[0]![1];
  for (let i = 1; i < n; i++) {
    const [t1, m1] = curve[i]!;
    if (t < t1) {
      const [t0, m0] = curve[i - 1]!;
      return t1 === t0 ? m1 : m0 + ((m1 - m0) * (t - t0)) / (t1 - t0);
    }
  }
  return curve[n - 1]![1];
}

/** Arrivals per second at `t` seconds: the base rate on its curve plus the bursts on. */
export function rateAt(c: ClientSpec, t: number): number {
  let r = c.rate * curveAt(c.curve, t);
  for (const b of c.bursts) if (t >= b.at && t < b.at + b.duration) r += b.rate;
  return r;
}

/**
 * A client's "persistent" (keep-alive) trait: a fixed function of its index and the seed,
 * so a client keeps its habit for the whole run.
 */
export function isPersistentClient(client: number, seed: number, share: number): boolean {
  if (share <= 0) return false;
  if (share >= 1) return true;
  let h = (client ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 4294967296 < share;
}

/**
 * The scenario's arrivals: a non-homogeneous Poisson process (thinning against the
 * highest rate of the run), each arrival from a regular Zipf client or, during a burst
 * that brings new clients, from one of those (uniform).
 */
export class GeneratedArrivals implements ArrivalSource {
  readonly clientCount: number;
  time = 0;
  client = 0;
  addr = 0;
  port = 0;
  connSeed = 0;
  closeAt = -1;
  private t = 0;
  private readonly r: () => number;
  private readonly cdf: Float64Array;
  private readonly rmax: number;
  private readonly end: number;
  private readonly burstBase: number[];
  private readonly ports: Uint16Array;

  constructor(
    private readonly sc: Scenario,
    private readonly c: ClientSpec = sc.clients,
  ) {
    this.r = seededRandom((sc.seed ^ 0x5bd1e995) >>> 0);
    this.cdf = zipfCdf(c.count, c.zipf);
    let base = c.count;
    this.burstBase = c.bursts.map((b) => {
      const at = base;
      base += b.clients;
      return at;
    });
    this.clientCount = base;
    this.ports = new Uint16Array(base);
    let maxCurve = c.curve.length ? Math.max(...c.curve.map((p) => p[1])) : 1;
    if (c.curve.length === 0) maxCurve = 1;
    // every burst at once is an upper bound of the real peak, which is all thinning needs
    this.rmax = c.rate * maxCurve + c.bursts.reduce((a, b) => a + b.rate, 0);
    this.end = sc.duration;
  }

  next(): boolean {
    const r = this.r;
    if (!(this.rmax > 0)) return false;
    for (;;) {
      this.t += -Math.log(1 - r()) / this.rmax;
      if (this.t >= this.end) return false;
      const lam = rateAt(this.c, this.t);
      if (r() * this.rmax < lam) break;
    }
    const t = this.t;
    // which component produced it, in proportion to their rates now
    let u = r() * rateAt(this.c, t);
    let client = -1;
    const base = this.c.rate * curveAt(this.c.curve, t);
    if (u >= base) {
      u -= base;
      for (let i = 0; i < this.c.bursts.length; i++) {
        const b = this.c.bursts[i]!;
        if (!(t >= b.at && t < b.at + b.duration)) continue;
        if (u < b.rate) {
          if (b.clients > 0) client = this.burstBase[i]! + Math.floor(r() * b.clients);
          break;
        }
        u -= b.rate;
      }
    }
    if (client < 0) client = sampleCdf(this.cdf, r());
    this.time = t * 1000;
    this.client = client;
    this.addr = (this.c.addressBase + client) >>> 0;
    this.connSeed = Math.floor(r() * 4294967296) >>> 0;
    const p = this.ports[client]!;
    switch (this.c.ports) {
      case 'random':
        this.port = PORT_LOW + Math.floor(r() * PORT_SPAN);
        break;
      case 'fixed':
        this.port = p !== 0 ? p : (this.ports[client] = PORT_LOW + Math.floor(r() * PORT_SPAN));
        break;
      default: {
        // sequential: each client counts up from a random start, wrapping in the range
        const cur = p !== 0 ? p : PORT_LOW + Math.floor(r() * PORT_SPAN);
        this.port = cur;
        this.ports[client] = cur === PORT_HIGH ? PORT_LOW : cur + 1;
      }
    }
    return true;
  }

  nextPort(): number {
    this.port = this.port === PORT_HIGH ? PORT_LOW : this.port + 1;
    if (this.c.ports === 'sequential') this.ports[this.client] = this.port === PORT_HIGH ? PORT_LOW : this.port + 1;
    return this.port;
  }
}
