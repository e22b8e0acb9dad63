/**
 * Keeps the director's pools right from a parsed keepalived configuration: runs every
 * checker, derives each real server's liveness (alive iff no checker is down), applies
 * inhibit_on_failure, dynamic weights, quorum with hysteresis and the sorry server, runs
 * the notify and quorum scripts, and changes the table only through DirectorControl.
 *
 * The table content of a virtual server is computed as a desired state and diffed against
 * what was last applied, so every change is a minimal addDest / editDest / deleteDest.
 */
import { EventEmitter } from 'node:events';
import type { DestSpec, DirectorControl, ServiceKey, ServiceSpec } from '@tunvs/model';
import { destSpec, serviceKeyOf, serviceSpecs, sorryDestSpec, vsName } from '@tunvs/keepalived';
import type { KeepalivedConfig, RealServer, ScriptSpec, VirtualServer } from '@tunvs/keepalived';
import { BfdCheckRunner, CheckerRunner, FileCheckRunner, defaultProbe, realTimers } from './checker.js';
import type { BfdSessionLike, ProbeFn, Runner, Timers } from './checker.js';
import { TrackFileWatcher } from './track-file.js';
import { killRunningScripts, spawnScript } from './probes.js';

/** Options of a HealthManager. */
export interface HealthManagerOptions {
  timers?: Timers;
  /** replaces the network/script probes (tests) */
  probe?: ProbeFn;
  /** runs a notify/quorum script; default: spawn without waiting */
  runScript?: (script: ScriptSpec) => void;
  /** log lines */
  log?: (line: string) => void;
  /** random in [0,1) for the warmup jitter; default Math.random */
  random?: () => number;
  /** delay before the first check (keepalived's BOOTSTRAP_DELAY), ms; default 1000 */
  bootstrapDelayMs?: number;
  /** add missing services (editing existing ones) at start; default true */
  manageServices?: boolean;
  /**
   * The BFD sessions of the configuration's bfd_instance blocks, by name (tunvsd runs them
   * with @tunvs/healthcheck's BfdManager). A BFD_CHECK whose session is missing stays down.
   */
  bfdSessions?: ReadonlyMap<string, BfdSessionLike>;
}

/** A state change, emitted as the `change` event. */
export type HealthEvent =
  | { type: 'rs-up' | 'rs-down'; vs: string; rs: string; detail: string }
  | { type: 'weight'; vs: string; rs: string; weight: number }
  | { type: 'quorum-up' | 'quorum-down'; vs: string; live: number };

interface RsState {
  rs: RealServer;
  key: string;
  runners: Runner[];
  failed: number;
  /** configured weight, or the last misc_dynamic weight */
  weight: number;
}

const IPVS_WEIGHT_MAX = 2147483647;

/** The weight a real server runs with: its weight plus the FILE_CHECK deltas, in range. */
function effectiveWeight(r: RsState): number {
  let w = r.weight;
  for (const c of r.runners) w += c.delta;
  return Math.max(0, Math.min(IPVS_WEIGHT_MAX, w));
}

/** A BFD session that never comes up (its bfd_instance is not running). */
const DEAD_SESSION = (name: string): BfdSessionLike => ({ name, isUp: false, subscribe: () => () => undefined });

interface VsState {
  vs: VirtualServer;
  name: string;
  keys: ServiceKey[];
  specs: ServiceSpec[];
  rss: RsState[];
  quorumUp: boolean;
  /** what we last put in the table: `addr:port` → spec */
  applied: Map<string, DestSpec>;
}

const destKey = (d: Pick<DestSpec, 'addr' | 'port'>): string => `${d.addr}:${d.port}`;

function defaultRunScript(s: ScriptSpec): void {
  const child = spawnScript(s.argv, { ...(s.uid !== undefined ? { uid: s.uid } : {}), ...(s.gid !== undefined ? { gid: s.gid } : {}) });
  child.on('error', () => undefined);
  child.unref();
}

/** Runs the health checks of a configuration against a director. */
export class HealthManager extends EventEmitter {
  private readonly states: VsState[] = [];
  private readonly timers: Timers;
  private readonly runScript: (s: ScriptSpec) => void;
  private readonly log: (l: string) => void;
  private running = false;
  private readonly watchers = new Map<string, TrackFileWatcher>();

  constructor(
    readonly config: KeepalivedConfig,
    private readonly control: DirectorControl,
    private readonly opts: HealthManagerOptions = {},
  ) {
    super();
    this.timers = opts.timers ?? realTimers;
    this.runScript = opts.runScript ?? defaultRunScript;
    this.log = opts.log ?? (() => undefined);
    const probe = opts.probe ?? defaultProbe;
    for (const vs of config.virtualServers) {
      const specs = serviceSpecs(vs, config);
      const st: VsState = {
        vs,
        name: vsName(vs),
        specs,
        keys: specs.map(serviceKeyOf),
        rss: [],
        quorumUp: true,
        applied: new Map(),
      };
      for (const rs of vs.realServers) {
        const r: RsState = { rs, key: `${rs.addr}:${rs.port}`, runners: [], failed: 0, weight: rs.weight };
        for (const c of rs.checkers) {
          const events = {
            onState: (up: boolean, detail: string) => this.checkerChanged(st, r, up, detail),
            onWeight: (w: number) => this.weightChanged(st, r, w),
            onWeightDelta: () => this.weightChanged(st, r, r.weight),
          };
          let runner: Runner;
          if (c.type === 'FILE_CHECK') {
            let w = this.watchers.get(c.trackFile.name);
            if (w === undefined) this.watchers.set(c.trackFile.name, (w = new TrackFileWatcher(c.trackFile, this.log)));
            runner = new FileCheckRunner(c, w, events);
          } else if (c.type === 'BFD_CHECK') {
            runner = new BfdCheckRunner(c, opts.bfdSessions?.get(c.bfd.name) ?? DEAD_SESSION(c.bfd.name), events);
          } else runner = new CheckerRunner(c, events, this.timers, probe);
          if (!runner.up) r.failed++;
          r.runners.push(runner);
        }
        st.rss.push(r);
      }
      this.states.push(st);
    }
  }

  /** Creates the services, installs the initial pools, and starts every checker. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const random = this.opts.random ?? Math.random;
    const boot = this.opts.bootstrapDelayMs ?? 1000;
    for (const st of this.states) {
      if (this.opts.manageServices ?? true) {
        for (const spec of st.specs) {
          try {
            this.control.addService(spec);
          } catch (e) {
            if ((e as { code?: string }).code === 'EEXIST') this.control.editService(spec);
            else this.log(`${st.name}: cannot add service: ${(e as Error).message}`);
          }
        }
      }
      const live = this.liveWeight(st);
      st.quorumUp = live >= st.vs.quorum + st.vs.hysteresis && live > 0;
      if (!st.quorumUp) this.log(`${st.name}: starting without quorum (live weight ${live})`);
      this.apply(st);
      for (const r of st.rss) for (const c of r.runners) c.start(boot + random() * c.checker.warmup * 1000);
    }
    for (const w of this.watchers.values()) w.start();
  }

  /** Kills every script still running (MISC_CHECK, notify, quorum), with its process group. */
  static killScripts(): number {
    return killRunningScripts('SIGKILL');
  }

  /**
   * Stops every checker. With `omega`, runs the down scripts of the live real servers and
   * quorum_down, as keepalived does on shutdown. The table is left as it is.
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const w of this.watchers.values()) w.stop();
    for (const st of this.states) {
      for (const r of st.rss) for (const c of r.runners) c.stop();
      if (!st.vs.omega) continue;
      for (const r of st.rss) if (r.failed === 0 && r.rs.notifyDown) this.script(r.rs.notifyDown);
      if (st.quorumUp && st.vs.quorumDown) this.script(st.vs.quorumDown);
    }
  }

  /** Whether a real server is currently alive (all its checkers up). */
  isAlive(vsIndex: number, addr: string, port: number): boolean {
    const r = this.states[vsIndex]?.rss.find((x) => x.key === `${addr}:${port}`);
    return r !== undefined && r.failed === 0;
  }

  /** Whether a virtual server currently has quorum (false = sorry server in use if any). */
  hasQuorum(vsIndex: number): boolean {
    return this.states[vsIndex]?.quorumUp ?? false;
  }

  private script(s: ScriptSpec): void {
    if (s.refused !== undefined) {
      this.log(`not running ${s.argv.join(' ')}: ${s.refused}`);
      return;
    }
    this.log(`running ${s.argv.join(' ')}`);
    try {
      this.runScript(s);
    } catch (e) {
      this.log(`script ${s.argv[0]} failed: ${(e as Error).message}`);
    }
  }

  private liveWeight(st: VsState): number {
    let sum = 0;
    for (const r of st.rss) if (r.failed === 0) sum += effectiveWeight(r);
    return sum;
  }

  private checkerChanged(st: VsState, r: RsState, up: boolean, detail: string): void {
    const wasAlive = r.failed === 0;
    r.failed += up ? -1 : 1;
    const alive = r.failed === 0;
    if (alive === wasAlive) return;
    this.log(`${st.name}: real server ${r.key} ${alive ? 'UP' : 'DOWN'} (${detail})`);
    this.emit('change', { type: alive ? 'rs-up' : 'rs-down', vs: st.name, rs: r.key, detail } satisfies HealthEvent);
    const s = alive ? r.rs.notifyUp : r.rs.notifyDown;
    if (s) this.script(s);
    this.updateQuorum(st);
    this.apply(st);
  }

  private weightChanged(st: VsState, r: RsState, weight: number): void {
    // keepalived moves the weight to exit - 2 with a single MISC_CHECK; FILE_CHECK adds deltas
    const before = st.applied.get(r.key)?.weight;
    r.weight = weight;
    const eff = effectiveWeight(r);
    if (eff === before) return;
    this.log(`${st.name}: real server ${r.key} weight ${eff}`);
    this.emit('change', { type: 'weight', vs: st.name, rs: r.key, weight: eff } satisfies HealthEvent);
    this.updateQuorum(st);
    this.apply(st);
  }

  private updateQuorum(st: VsState): void {
    const live = this.liveWeight(st);
    const { quorum, hysteresis } = st.vs;
    if (st.quorumUp && (live < quorum - hysteresis || live === 0)) {
      st.quorumUp = false;
      this.log(`${st.name}: lost quorum (live weight ${live})`);
      this.emit('change', { type: 'quorum-down', vs: st.name, live } satisfies HealthEvent);
      if (st.vs.quorumDown) this.script(st.vs.quorumDown);
    } else if (!st.quorumUp && live >= quorum + hysteresis && live > 0) {
      st.quorumUp = true;
      this.log(`${st.name}: gained quorum (live weight ${live})`);
      this.emit('change', { type: 'quorum-up', vs: st.name, live } satisfies HealthEvent);
      if (st.vs.quorumUp) this.script(st.vs.quorumUp);
    }
  }

  /** The table this virtual server should have now. */
  private desired(st: VsState): Map<string, DestSpec> {
    const want = new Map<string, DestSpec>();
    const sorry = st.vs.sorryServer;
    const sorryActive = sorry !== undefined && !st.quorumUp;
    for (const r of st.rss) {
      const alive = r.failed === 0;
      if (alive && !sorryActive) want.set(r.key, destSpec(r.rs, effectiveWeight(r)));
      else if (r.rs.inhibitOnFailure) want.set(r.key, destSpec(r.rs, 0));
    }
    if (sorry !== undefined) {
      const d = sorryActive ? sorryDestSpec(sorry, 1) : st.vs.sorryServerInhibit ? sorryDestSpec(sorry, 0) : null;
      if (d !== null && !want.has(destKey(d))) want.set(destKey(d), d);
    }
    return want;
  }

  private apply(st: VsState): void {
    const want = this.desired(st);
    const op = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (e) {
        this.log(`${st.name}: ${what} failed: ${(e as Error).message}`);
      }
    };
    for (const [k, d] of st.applied) {
      if (want.has(k)) continue;
      for (const key of st.keys) op(`delete ${k}`, () => this.control.deleteDest(key, { addr: d.addr, port: d.port }));
      st.applied.delete(k);
    }
    for (const [k, d] of want) {
      const had = st.applied.get(k);
      if (had === undefined) {
        for (const key of st.keys) op(`add ${k}`, () => this.control.addDest(key, d));
      } else if (had.weight !== d.weight || had.method !== d.method) {
        for (const key of st.keys) op(`edit ${k}`, () => this.control.editDest(key, d));
      } else continue;
      st.applied.set(k, d);
    }
  }
}
