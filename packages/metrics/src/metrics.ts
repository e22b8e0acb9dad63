/**
 * The scrape path: `Metrics.scrape()` takes a snapshot on the calling (packet) thread and
 * has the worker render it. Concurrent scrapes share one rendering. `inline: true` renders
 * on the calling thread (tests, tools; not for tunvsd).
 */
import { Worker } from 'node:worker_threads';
import { Collector } from './snapshot.js';
import type { CollectorOptions, Snapshot } from './snapshot.js';
import { Exposition, CONTENT_TYPE } from './exposition.js';
import type { RenderRequest, RenderResponse } from './worker.js';

/** Timings of the last scrape, for logs and the benchmark. */
export interface ScrapeTimings {
  /** seconds the snapshot held the calling thread (synchronous part) */
  snapshotSeconds: number;
  /** seconds of rendering (in the worker unless inline) */
  renderSeconds: number;
  /** bytes of text */
  bytes: number;
  services: number;
  dests: number;
}

/** Options of Metrics: the Collector's, and where rendering happens. */
export interface MetricsOptions extends CollectorOptions {
  /** render on the calling thread instead of a worker (default false) */
  inline?: boolean;
}

/** The /metrics producer of one Director. */
export class Metrics {
  readonly collector: Collector;
  readonly contentType = CONTENT_TYPE;
  private worker: Worker | null = null;
  private inline: Exposition | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RenderResponse) => void; reject: (e: Error) => void }>();
  private inFlight: Promise<Uint8Array> | null = null;
  last: ScrapeTimings = { snapshotSeconds: 0, renderSeconds: 0, bytes: 0, services: 0, dests: 0 };

  constructor(opts: MetricsOptions) {
    this.collector = new Collector(opts);
    // the worker starts now, not on the first scrape: starting a thread holds the caller
    if (opts.inline) this.inline = new Exposition();
    else this.startWorker();
  }

  private startWorker(): Worker {
    const w = new Worker(new URL('./worker.js', import.meta.url));
    w.unref();
    w.on('message', (m: RenderResponse) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m);
    });
    w.on('error', (e) => this.failAll(e));
    w.on('exit', (code) => {
      this.worker = null;
      this.failAll(new Error(`metrics worker exited (${code})`));
    });
    this.worker = w;
    return w;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** The exposition text as bytes. Scrapes arriving while one renders share its result. */
  scrape(): Promise<Uint8Array> {
    if (this.inFlight) return this.inFlight;
    const job = this.doScrape().finally(() => {
      this.inFlight = null;
    });
    this.inFlight = job;
    return job;
  }

  private async doScrape(): Promise<Uint8Array> {
    const snap = await this.collector.snapshot({ conntrack: true });
    if (this.inline) {
      const t0 = process.hrtime.bigint();
      const text = await this.inline.render(snap);
      this.collector.recycle(snap.svc, snap.dest);
      const body = new TextEncoder().encode(text);
      this.note(snap, Number(process.hrtime.bigint() - t0) / 1e9, body);
      return body;
    }
    const w = this.worker ?? this.startWorker();
    const id = this.nextId++;
    const res = await new Promise<RenderResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: RenderRequest = { id, snap };
      w.postMessage(req, [snap.svc.buffer as ArrayBuffer, snap.dest.buffer as ArrayBuffer]);
    });
    this.collector.recycle(res.svc, res.dest);
    if (!res.ok) throw new Error(res.error);
    this.note(snap, res.renderSeconds, res.body);
    return res.body;
  }

  private note(snap: Snapshot, renderSeconds: number, body: Uint8Array): void {
    this.last = { snapshotSeconds: this.collector.lastSnapshotSeconds, renderSeconds, bytes: body.length, services: snap.nSvc, dests: snap.nDest };
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
