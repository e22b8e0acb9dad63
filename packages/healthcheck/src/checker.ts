/**
 * The per-checker state machine of keepalived (reference §4.1): starts up (retry counter
 * pre-loaded, so the first failure takes it down) or down with alpha; goes down after
 * retry + 1 consecutive failures spaced by delay_before_retry; comes back after one
 * success (for HTTP, after a complete pass over its urls); probes every delay_loop.
 */
import type { BfdCheck, Checker, FileCheck } from '@tunvs/keepalived';
import { DNS_TYPES } from '@tunvs/keepalived';
import { dnsProbe, httpProbe, pingProbe, scriptProbe, sendExpectProbe, smtpProbe, tcpProbe, udpProbe } from './probes.js';
import { trackFileEffect } from './track-file.js';
import type { TrackFileWatcher } from './track-file.js';
import type { ProbeResult } from './probes.js';

/** Timer functions (injectable for tests). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real timers. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Runs one probe of a checker; `urlIndex` selects the url of HTTP checkers. */
export type ProbeFn = (c: Checker, urlIndex: number) => Promise<ProbeResult>;

/** The default probes for each checker type. */
export const defaultProbe: ProbeFn = (c, urlIndex) => {
  const conn = {
    host: c.connectIp,
    port: c.connectPort,
    timeoutMs: c.connectTimeout * 1000,
    ...(c.bindto !== undefined ? { bindto: c.bindto } : {}),
    ...(c.bindPort !== undefined ? { bindPort: c.bindPort } : {}),
  };
  switch (c.type) {
    case 'TCP_CHECK':
      return tcpProbe(conn);
    case 'HTTP_GET':
    case 'SSL_GET': {
      const u = c.urls[urlIndex % c.urls.length]!;
      const vh = u.virtualhost ?? c.virtualhost;
      return httpProbe(
        { ...conn, tls: c.type === 'SSL_GET', path: u.path, httpProtocol: c.httpProtocol, sni: c.enableSni, ...(vh !== undefined ? { virtualhost: vh } : {}) },
        u,
      );
    }
    case 'MISC_CHECK':
      // a script keepalived would remove (unknown user, insecure path) keeps its server down
      if (c.script.refused !== undefined) return Promise.resolve({ ok: false, detail: `misc script refused: ${c.script.refused}` });
      return scriptProbe({
        argv: c.script.argv,
        timeoutMs: c.timeout * 1000,
        dynamic: c.dynamic,
        ...(c.script.uid !== undefined ? { uid: c.script.uid } : {}),
        ...(c.script.gid !== undefined ? { gid: c.script.gid } : {}),
      });
    case 'SEND_EXPECT':
      return sendExpectProbe({
        ...conn,
        useRegex: c.useRegex,
        ...(c.send !== undefined ? { send: c.send } : {}),
        ...(c.expect !== undefined ? { expect: c.expect } : {}),
      });
    case 'SMTP_CHECK':
      return smtpProbe({ ...conn, heloName: c.heloName });
    case 'DNS_CHECK':
      return dnsProbe({ ...conn, qtype: DNS_TYPES.get(c.queryType) ?? 6, name: c.queryName });
    case 'UDP_CHECK':
      return udpProbe({
        ...conn,
        requireReply: c.requireReply,
        minReplyLength: c.minReplyLength,
        maxReplyLength: c.maxReplyLength,
        ...(c.payload !== undefined ? { payload: c.payload } : {}),
        ...(c.replyData !== undefined ? { replyData: c.replyData } : {}),
        ...(c.replyMask !== undefined ? { replyMask: c.replyMask } : {}),
      });
    case 'PING_CHECK':
      return pingProbe({ host: c.connectIp, timeoutMs: c.connectTimeout * 1000, ...(c.bindto !== undefined ? { bindto: c.bindto } : {}) });
    case 'FILE_CHECK':
    case 'BFD_CHECK':
      // event-driven (FileCheckRunner / BfdCheckRunner): never probed, never up by default
      return Promise.resolve({ ok: false, detail: `${c.type} has no probe` });
  }
};

/** Callbacks from a checker to its owner. */
export interface CheckerEvents {
  /** the checker changed state */
  onState(up: boolean, detail: string): void;
  /** a misc_dynamic exit code asked for a weight */
  onWeight(weight: number): void;
  /** a FILE_CHECK moved the real server's weight by `delta` from its configured weight */
  onWeightDelta?(delta: number): void;
}

/** What the HealthManager needs of a checker, whichever way it learns its state. */
export interface Runner {
  readonly checker: Checker;
  up: boolean;
  /** the weight this checker adds to its real server's (FILE_CHECK) */
  delta: number;
  start(firstDelayMs: number): void;
  stop(): void;
}

/** Runs one checker on timers. */
export class CheckerRunner implements Runner {
  /** current state */
  up: boolean;
  readonly delta = 0;
  private retriesDone: number;
  private urlIndex = 0;
  private timer: unknown = null;
  private stopped = true;
  private inFlight = false;

  constructor(
    readonly checker: Checker,
    private readonly events: CheckerEvents,
    private readonly timers: Timers = realTimers,
    private readonly probe: ProbeFn = defaultProbe,
  ) {
    this.up = !checker.alpha;
    // "For non alpha mode, one failure is enough initially"
    this.retriesDone = checker.retry;
  }

  /** Schedules the first probe after `firstDelayMs`. */
  start(firstDelayMs: number): void {
    this.stopped = false;
    this.schedule(firstDelayMs);
  }

  /** Cancels the pending probe (an in-flight probe's result is ignored). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      void this.run();
    }, ms);
  }

  private urlCount(): number {
    const c = this.checker;
    return c.type === 'HTTP_GET' || c.type === 'SSL_GET' ? c.urls.length : 1;
  }

  /** Runs one probe now and applies the state machine. */
  async run(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    let r: ProbeResult;
    try {
      r = await this.probe(this.checker, this.urlIndex);
    } catch (e) {
      r = { ok: false, detail: (e as Error).message };
    }
    this.inFlight = false;
    if (this.stopped) return;
    const c = this.checker;
    const loop = c.delayLoop * 1000;
    if (r.ok) {
      if (r.weight !== undefined) this.events.onWeight(r.weight);
      this.retriesDone = 0;
      const n = this.urlCount();
      if (this.up) {
        this.urlIndex = (this.urlIndex + 1) % n;
        this.schedule(loop);
        return;
      }
      this.urlIndex++;
      if (this.urlIndex >= n) {
        this.urlIndex = 0;
        this.up = true;
        this.events.onState(true, r.detail);
        this.schedule(loop);
      } else {
        const fast = (c.type === 'HTTP_GET' || c.type === 'SSL_GET') && c.fastRecovery;
        this.schedule(fast ? 0 : loop);
      }
      return;
    }
    if (this.up) {
      if (this.retriesDone < c.retry) {
        this.retriesDone++;
        this.schedule(c.delayBeforeRetry * 1000);
        return;
      }
      this.up = false;
      this.retriesDone = 0;
      this.urlIndex = 0;
      this.events.onState(false, r.detail);
      this.schedule(Math.max(loop, c.delayBeforeRetry * 1000));
      return;
    }
    this.urlIndex = 0;
    const http = c.type === 'HTTP_GET' || c.type === 'SSL_GET';
    this.schedule(http ? Math.max(loop, c.delayBeforeRetry * 1000) : loop);
  }
}

/**
 * FILE_CHECK: follows a tracked file (keepalived's track_file): its state is known at
 * once (no alpha, no retries), and each change of the file applies the weight rules.
 */
export class FileCheckRunner implements Runner {
  up: boolean;
  delta: number;
  private unsubscribe: (() => void) | null = null;

  constructor(
    readonly checker: FileCheck,
    private readonly watcher: TrackFileWatcher,
    private readonly events: CheckerEvents,
  ) {
    const e = trackFileEffect(watcher.value, checker.weight, checker.reverse);
    this.up = e.up;
    this.delta = e.delta;
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.watcher.subscribe((v) => this.changed(v));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private changed(v: number): void {
    const e = trackFileEffect(v, this.checker.weight, this.checker.reverse);
    const detail = `track_file ${this.checker.trackFile.name} = ${v}`;
    if (e.delta !== this.delta) {
      this.delta = e.delta;
      this.events.onWeightDelta?.(e.delta);
    }
    if (e.up !== this.up) {
      this.up = e.up;
      this.events.onState(e.up, detail);
    }
  }
}

/** The state of a BFD session as a BFD_CHECK sees it. */
export interface BfdSessionLike {
  readonly name: string;
  /** true in state Up */
  readonly isUp: boolean;
  /** calls `fn` on every Up/not-Up change */
  subscribe(fn: (up: boolean, detail: string) => void): () => void;
}

/** BFD_CHECK: up while the named BFD session is Up; down until it first comes Up. */
export class BfdCheckRunner implements Runner {
  up: boolean;
  readonly delta = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    readonly checker: BfdCheck,
    private readonly session: BfdSessionLike,
    private readonly events: CheckerEvents,
  ) {
    // down until the session is Up (a peer that never answers never counts as up)
    this.up = session.isUp;
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.session.subscribe((up, detail) => {
      if (up === this.up) return;
      this.up = up;
      this.events.onState(up, `BFD ${this.session.name}: ${detail}`);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
