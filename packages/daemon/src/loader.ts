/**
 * Reading and checking a configuration off the packet thread: a `ConfigReader` keeps one
 * worker thread that runs `checkConfig` (sources.ts), with a time limit and a heap limit,
 * and `read()` always settles with a `Checked`. A timeout, a crash, a heap exhausted by a
 * runaway expansion, a worker that cannot start: each is a failed read with one message,
 * and the caller keeps its running rules. After a failure the worker is replaced (at the
 * next read); one stuck in a system call cannot be interrupted and is abandoned.
 *
 * The worker is started once (starting one costs the main thread some milliseconds, and
 * the worker a second of module loading), so a reload does not pause the packet path.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Checked } from './sources.js';

export interface LoadOptions {
  /** give up after this long (default 30 s) */
  timeoutMs?: number;
  /** the worker's heap limit in MiB (default 1024) */
  maxHeapMb?: number;
}

/** Defaults of LoadOptions. */
export const LOAD_DEFAULTS = { timeoutMs: 30_000, maxHeapMb: 1024 } as const;

/** How long a new worker may take to load its modules (not counted in the read's time limit). */
const START_LIMIT_MS = 120_000;

/**
 * The worker script next to this module. Running from source (tests), the built one in
 * dist/ when there is one (a worker compiling TypeScript takes seconds to start), else the
 * source itself.
 */
function workerUrl(): URL {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new URL('./reload-worker.js', self);
  const built = new URL('../dist/reload-worker.js', self);
  return existsSync(fileURLToPath(built)) ? built : new URL('./reload-worker.ts', self);
}

function failed(path: string, message: string): Checked {
  return { setup: null, messages: [`${path}:0: error: ${message}`], exitCode: 4 };
}

/** Reads configurations in a worker thread, one at a time. */
export class ConfigReader {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending: { id: number; path: string; worker: Worker; settle: (r: Checked) => void } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;
  private readonly maxHeapMb: number;

  constructor(opts: LoadOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? LOAD_DEFAULTS.timeoutMs;
    this.maxHeapMb = opts.maxHeapMb ?? LOAD_DEFAULTS.maxHeapMb;
  }

  /** Start the worker now (at daemon start, before there is traffic to pause). */
  warm(): void {
    this.spawn();
  }

  /** resolves when the current worker has loaded (its reads' clocks start then) */
  private ready: Promise<boolean> = Promise.resolve(false);

  private spawn(): Worker {
    if (this.worker) return this.worker;
    let loaded!: (ok: boolean) => void;
    this.ready = new Promise<boolean>((r) => (loaded = r));
    const w = new Worker(workerUrl(), { resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb }, stdout: false, stderr: false });
    w.unref();
    // events of a worker that was replaced concern nobody any more
    const mine = (): { path: string; settle: (r: Checked) => void } | null => (this.pending?.worker === w ? this.pending : null);
    const startTimer = setTimeout(() => loaded(false), START_LIMIT_MS);
    startTimer.unref();
    w.on('message', (m: { id?: number; checked?: Checked; ready?: boolean }) => {
      if (m.ready) {
        clearTimeout(startTimer);
        loaded(true);
      } else if (this.pending && this.pending.id === m.id) this.pending.settle(m.checked!);
    });
    w.on('error', (e: Error & { code?: string }) => {
      clearTimeout(startTimer);
      loaded(false);
      const p = mine();
      this.discard(w);
      if (p) p.settle(failed(p.path, e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `reading the configuration used more than ${this.maxHeapMb} MiB: given up` : `reading the configuration failed: ${e.message}`));
    });
    w.on('exit', (code) => {
      clearTimeout(startTimer);
      loaded(false);
      const p = mine();
      this.discard(w);
      if (p) p.settle(failed(p.path, `the configuration reader stopped (exit ${code}) without an answer`));
    });
    this.worker = w;
    return w;
  }

  private discard(w: Worker): void {
    if (this.worker === w) this.worker = null;
    void w.terminate().catch(() => undefined);
  }

  /** Read and check `path` in the worker; never rejects. Reads are done one at a time. */
  read(path: string, timeoutMs = this.timeoutMs): Promise<Checked> {
    const run = async (): Promise<Checked> => {
      let w: Worker;
      try {
        w = this.spawn();
      } catch (e) {
        return failed(path, `cannot start the configuration reader: ${(e as Error).message}`);
      }
      if (!(await this.ready) || this.worker !== w) {
        this.discard(w);
        return failed(path, 'the configuration reader did not start');
      }
      return new Promise((resolve) => {
        const id = this.nextId++;
        const timer = setTimeout(() => {
          // a worker that does not answer in time is replaced; its late answer is ignored
          this.discard(w);
          settle(failed(path, `reading and checking the configuration took more than ${timeoutMs / 1000} s: given up`));
        }, timeoutMs);
        const settle = (r: Checked): void => {
          if (this.pending?.id !== id) return;
          this.pending = null;
          clearTimeout(timer);
          resolve(r);
        };
        this.pending = { id, path, worker: w, settle };
        w.postMessage({ id, path });
      });
    };
    const p = this.queue.then(run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Stop the worker. */
  close(): void {
    if (this.worker) this.discard(this.worker);
  }
}

/** Read and check `path` in a worker of its own (one-shot); never rejects. */
export async function loadInWorker(path: string, opts: LoadOptions = {}): Promise<Checked> {
  const r = new ConfigReader(opts);
  try {
    return await r.read(path);
  } finally {
    r.close();
  }
}
