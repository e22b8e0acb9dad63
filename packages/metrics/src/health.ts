/**
 * Health-check observations for the metrics and the console: wraps the probe function the
 * HealthManager runs (timing each probe and keeping its result), and after every probe
 * reads the manager's verdict for that real server, counting transitions. Every state
 * change of a real server follows a probe result, so none is missed.
 *
 * Error codes are label-free numbers (a gauge's value), one per kind of failure:
 */
import type { Checker, KeepalivedConfig } from '@tunvs/keepalived';
import { vsName } from '@tunvs/keepalived';
import type { HealthManager, HealthManagerOptions, ProbeFn } from '@tunvs/healthcheck';
import { defaultProbe } from '@tunvs/healthcheck';

/** The last-error codes of `tunvs_healthcheck_last_error` (0 = the last check passed). */
export const HEALTH_ERROR_CODES = {
  none: 0,
  connection_refused: 1,
  timeout: 2,
  network: 3,
  http_status: 4,
  digest: 5,
  content: 6,
  script_failed: 7,
  script_error: 8,
  tls: 9,
  other: 10,
} as const;
/** One error kind. */
export type HealthErrorKind = keyof typeof HEALTH_ERROR_CODES;

/** Classify a failed probe's detail text. */
export function classifyProbeError(detail: string): HealthErrorKind {
  const d = detail.toLowerCase();
  if (/econnrefused|connection refused/.test(d)) return 'connection_refused';
  if (/timeout|timed out|etimedout/.test(d)) return 'timeout';
  if (/http status code/.test(d)) return 'http_status';
  if (/digest/.test(d)) return 'digest';
  if (/regex|expect|closed before any data|any byte/.test(d)) return 'content';
  if (/^exit \d+|killed by/.test(d)) return 'script_failed';
  if (/cannot run/.test(d)) return 'script_error';
  if (/ssl|tls|certificate|handshake/.test(d)) return 'tls';
  if (/ehostunreach|enetunreach|econnreset|epipe|eaddrnotavail|socket hang up|ehostdown/.test(d)) return 'network';
  return 'other';
}

/** One checker's last observation. */
export interface CheckerObservation {
  type: string;
  /** index of the checker within its real server */
  index: number;
  /** what it probes, `ip:port` (or the script for MISC_CHECK) */
  target: string;
  delayLoop: number;
  retry: number;
  delayBeforeRetry: number;
  connectTimeout: number;
  /** ms since the epoch of the last completed probe, 0 = none yet */
  lastCheck: number;
  /** seconds the last probe took */
  lastDuration: number;
  lastOk: boolean | null;
  lastDetail: string;
  /** HEALTH_ERROR_CODES value of the last probe */
  lastError: number;
  checks: number;
  failures: number;
  /** the checker's own configuration, for the console */
  config: Record<string, unknown>;
}

/** One real server of a keepalived virtual server. */
export interface RealServerHealth {
  /** keepalived's name of the virtual server, e.g. `[10.10.0.100]:tcp:80` */
  virtualServer: string;
  vsIndex: number;
  addr: string;
  port: number;
  /** false for a real server without checkers (always in the pool) */
  checked: boolean;
  up: boolean;
  /** state changes seen (up→down and down→up) */
  transitions: number;
  /** ms since the epoch of the last state change, 0 = none since tunvsd started */
  lastChange: number;
  checkers: CheckerObservation[];
}

interface Where {
  rs: RealServerHealth;
  obs: CheckerObservation;
}

function checkerTarget(c: Checker): string {
  if (c.type === 'MISC_CHECK') return c.script.command;
  return `${c.connectIp}:${c.connectPort}`;
}

function checkerConfig(c: Checker): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'file' || k === 'line' || k === 'type') continue;
    out[k] = v;
  }
  return out;
}

/** Tracks the health of every checked real server across reloads. */
export class HealthTracker {
  private config: KeepalivedConfig | null = null;
  private servers: RealServerHealth[] = [];
  private readonly byChecker = new Map<Checker, Where>();
  /** state carried across reloads: `vsName|addr:port` → transitions/lastChange */
  private readonly carried = new Map<string, { transitions: number; lastChange: number; up: boolean }>();
  private changeListeners: ((rs: RealServerHealth) => void)[] = [];

  /**
   * @param manager the HealthManager running now (it is replaced on every reload)
   * @param probe the real probe (default: the HealthManager's default)
   * @param now the clock
   */
  constructor(
    private readonly manager: () => HealthManager | null,
    private readonly probe: ProbeFn = defaultProbe,
    private readonly now: () => number = Date.now,
  ) {}

  /** Options to give the HealthManager (through tunvsd's ServiceRunner). */
  get managerOptions(): HealthManagerOptions {
    return { probe: (c, i) => this.runProbe(c, i) };
  }

  /** Call `fn` whenever a real server changes state. */
  onChange(fn: (rs: RealServerHealth) => void): void {
    this.changeListeners.push(fn);
  }

  /** The real servers of the running configuration (refreshed if it changed). */
  list(): readonly RealServerHealth[] {
    this.sync();
    for (const rs of this.servers) this.observe(rs);
    return this.servers;
  }

  private key(rs: { virtualServer: string; addr: string; port: number }): string {
    return `${rs.virtualServer}|${rs.addr}:${rs.port}`;
  }

  /** Rebuild the index when the HealthManager's configuration changed (a reload). */
  private sync(): void {
    const hm = this.manager();
    const cfg = hm ? hm.config : null;
    if (cfg === this.config) return;
    for (const rs of this.servers) this.carried.set(this.key(rs), { transitions: rs.transitions, lastChange: rs.lastChange, up: rs.up });
    this.config = cfg;
    this.servers = [];
    this.byChecker.clear();
    if (!cfg || !hm) return;
    cfg.virtualServers.forEach((vs, vsIndex) => {
      const name = vsName(vs);
      for (const r of vs.realServers) {
        const rs: RealServerHealth = {
          virtualServer: name,
          vsIndex,
          addr: r.addr,
          port: r.port,
          checked: r.checkers.length > 0,
          up: hm.isAlive(vsIndex, r.addr, r.port),
          transitions: 0,
          lastChange: 0,
          checkers: [],
        };
        const was = this.carried.get(this.key(rs));
        if (was) {
          rs.transitions = was.transitions + (was.up !== rs.up ? 1 : 0);
          rs.lastChange = was.up !== rs.up ? this.now() : was.lastChange;
        }
        r.checkers.forEach((c, index) => {
          const obs: CheckerObservation = {
            type: c.type,
            index,
            target: checkerTarget(c),
            delayLoop: c.delayLoop,
            retry: c.retry,
            delayBeforeRetry: c.delayBeforeRetry,
            connectTimeout: c.connectTimeout,
            lastCheck: 0,
            lastDuration: 0,
            lastOk: null,
            lastDetail: '',
            lastError: 0,
            checks: 0,
            failures: 0,
            config: checkerConfig(c),
          };
          rs.checkers.push(obs);
          this.byChecker.set(c, { rs, obs });
        });
        this.servers.push(rs);
      }
    });
  }

  /** Compare the manager's verdict with the last one seen. */
  private observe(rs: RealServerHealth): void {
    const hm = this.manager();
    if (!hm || hm.config !== this.config) return;
    const up = hm.isAlive(rs.vsIndex, rs.addr, rs.port);
    if (up === rs.up) return;
    rs.up = up;
    rs.transitions++;
    rs.lastChange = this.now();
    for (const fn of this.changeListeners) fn(rs);
  }

  private async runProbe(c: Checker, urlIndex: number): ReturnType<ProbeFn> {
    const t0 = process.hrtime.bigint();
    const r = await this.probe(c, urlIndex);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    this.sync();
    const w = this.byChecker.get(c);
    if (w) {
      const o = w.obs;
      o.lastCheck = this.now();
      o.lastDuration = seconds;
      o.lastOk = r.ok;
      o.lastDetail = r.detail;
      o.lastError = r.ok ? 0 : HEALTH_ERROR_CODES[classifyProbeError(r.detail)];
      o.checks++;
      if (!r.ok) o.failures++;
      // the checker applies this result synchronously once the promise settles
      setImmediate(() => this.observe(w.rs));
    }
    return r;
  }
}
