/**
 * The console's view of the director over time: a counter snapshot every `intervalMs`
 * (the same cheap, sliced copy a scrape takes), per-second rates from the difference of
 * two snapshots, and a ring of the last `historyPoints` rates per service for the chart.
 * Every figure carries the time it was measured, so the page can show its age.
 */
import type { Collector, Snapshot, ServiceView, DestView } from '@tunvs/metrics';
import { services as serviceViews, dest as destView, DEST_FIELDS, SVC_FIELDS } from '@tunvs/metrics';

/** Rates over the last sample interval. */
export interface Rates {
  /** new connections per second */
  cps: number;
  /** packets per second, in + out */
  pps: number;
  /** bytes per second, in + out */
  bps: number;
}

/** A service with its destinations, counters and rates, as of `at`. */
export interface ServiceStatus extends ServiceView {
  rates: Rates;
  dests: (DestView & { rates: Rates })[];
}

/** One sample. */
export interface Sample {
  /** ms since the epoch when the counters were read */
  at: number;
  /** seconds between this sample and the previous one (the rates' window), 0 for the first */
  window: number;
  snap: Snapshot;
  services: ServiceStatus[];
}

/** History of one service: times and rates. */
export interface History {
  t: number[];
  cps: number[];
  pps: number[];
  bps: number[];
}

const zero: Rates = { cps: 0, pps: 0, bps: 0 };

/** Samples the director periodically while someone looks (or always, when started). */
export class Sampler {
  private last: Sample | null = null;
  private prevByKey = new Map<string, { svc: number[]; dests: Map<string, number[]> }>();
  private readonly history = new Map<string, History>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Sample> | null = null;
  private count = 0;
  private listeners: ((s: Sample) => void)[] = [];

  constructor(
    private readonly collector: Collector,
    readonly intervalMs = 1000,
    readonly historyPoints = 600,
  ) {}

  /** Sample every intervalMs. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.intervalMs);
    this.timer.unref();
    void this.sample().catch(() => undefined);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Called after every sample. */
  onSample(fn: (s: Sample) => void): void {
    this.listeners.push(fn);
  }

  /** The latest sample (taking one if there is none yet). */
  async latest(): Promise<Sample> {
    return this.last ?? (await this.sample());
  }

  /** The chart data of one service. */
  historyOf(key: string): History | null {
    return this.history.get(key) ?? null;
  }

  /** Take a sample now (concurrent callers share one). */
  sample(): Promise<Sample> {
    if (this.running) return this.running;
    const job = this.take().finally(() => {
      this.running = null;
    });
    this.running = job;
    return job;
  }

  private async take(): Promise<Sample> {
    // the connection table is counted by state every fifth sample (it scans every slot)
    const scan = this.count++ % 5 === 0;
    const snap = await this.collector.snapshot({ conntrack: scan });
    if (!scan && this.last) snap.scalars.conntrack.states = this.last.snap.scalars.conntrack.states;
    const at = snap.scalars.at;
    const prevAt = this.last?.at ?? 0;
    const window = prevAt ? (at - prevAt) / 1000 : 0;
    const views = serviceViews(snap);
    const nextPrev = new Map<string, { svc: number[]; dests: Map<string, number[]> }>();
    const rate = (now: number[], before: number[] | undefined): Rates => {
      if (!before || window <= 0) return zero;
      const d = (i: number): number => Math.max(0, now[i]! - before[i]!);
      return { cps: d(0) / window, pps: (d(1) + d(2)) / window, bps: (d(3) + d(4)) / window };
    };
    const out: ServiceStatus[] = views.map((v) => {
      const o = v.index * SVC_FIELDS;
      const nums = Array.from(snap.svc.subarray(o, o + 5));
      const before = this.prevByKey.get(v.key);
      const dests = new Map<string, number[]>();
      const dv: (DestView & { rates: Rates })[] = [];
      for (let k = v.first; k < v.first + v.count; k++) {
        const x = destView(snap, k);
        const dn = Array.from(snap.dest.subarray(k * DEST_FIELDS, k * DEST_FIELDS + 5));
        const dk = `${x.addr}:${x.port}`;
        dests.set(dk, dn);
        dv.push({ ...x, rates: rate(dn, before?.dests.get(dk)) });
      }
      nextPrev.set(v.key, { svc: nums, dests });
      const r = rate(nums, before?.svc);
      if (window > 0) this.record(v.key, at, r);
      return { ...v, rates: r, dests: dv };
    });
    for (const k of this.history.keys()) if (!nextPrev.has(k)) this.history.delete(k);
    this.prevByKey = nextPrev;
    this.collector.recycle(snap.svc, snap.dest);
    const sample: Sample = { at, window, snap, services: out };
    this.last = sample;
    for (const fn of this.listeners) fn(sample);
    return sample;
  }

  private record(key: string, at: number, r: Rates): void {
    let h = this.history.get(key);
    if (!h) this.history.set(key, (h = { t: [], cps: [], pps: [], bps: [] }));
    h.t.push(at / 1000);
    h.cps.push(r.cps);
    h.pps.push(r.pps);
    h.bps.push(r.bps);
    if (h.t.length > this.historyPoints) {
      h.t.shift();
      h.cps.shift();
      h.pps.shift();
      h.bps.shift();
    }
  }
}
