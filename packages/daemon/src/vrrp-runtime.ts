/**
 * tunvsd's VRRP: runs the vrrp_instance / vrrp_sync_group / vrrp_script / track_file
 * configuration of a keepalived.conf with @tunvs/vrrp's state machine on the real clock,
 * the host I/O of a backend (kernel sockets and rtnetlink for TUN directors), vrrp_scripts
 * with rise/fall, track files, notify scripts and FIFOs in keepalived's order. Every state
 * change is one JSON log line with its reason; `status()` is what the control socket's
 * `vrrpStatus` operation returns.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync, constants as fsc, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { formatIpv4 } from '@tunvs/packet';
import { scriptProbe } from '@tunvs/healthcheck';
import { ScriptState, VrrpRouter, buildAdvert, effectivePriority, notifyJobs, stateName } from '@tunvs/vrrp';
import type { DiscardReasonName, Instance, NotifyEvent, NotifyJob, NotifyScripts, RouterIo, TrackRef, TransitionEvent } from '@tunvs/vrrp';
import type { KeepalivedConfig, VrrpConfig, VrrpInstanceConfig, VrrpScriptConfig } from '@tunvs/keepalived';
import type { ControlOpHandler } from '@tunvs/cli';
import type { VrrpDiscardReason, VrrpInstanceStats, VrrpSource, VrrpStateName } from '@tunvs/metrics';
import { instanceSpec, notifyScripts, refusals, trackRefs } from './vrrp-spec.js';
import { KernelBackend, vmacName } from './vrrp-kernel.js';
import type { BackendInstance, VrrpBackend } from './vrrp-kernel.js';
import { DirectorBackend, SplitBackend, tapVips } from './vrrp-tap.js';
import type { TapVrrpTarget } from './vrrp-tap.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Monotonic microseconds. */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The control socket's `vrrpStatus` answer. */
export interface VrrpStatus {
  instances: VrrpInstanceStatus[];
  /** per interface: datagrams received, and those no instance could take (unknown VRID, not VRRP) */
  interfaces: { name: string; received: number; unknownVrid: number; malformed: number }[];
  syncGroups: { name: string; state: string; members: string[] }[];
  scripts: { name: string; status: string; interval: number; weight: number; lastResult: string | null }[];
}

/** One instance in `vrrpStatus`. */
export interface VrrpInstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  state: string;
  wantState: string;
  priority: { base: number; effective: number; why: string[] };
  fault: string[];
  /** the current master: ourselves when MASTER */
  master: { address: string; priority: number; self: boolean } | null;
  /** seconds */
  advertInt: number;
  masterAdverInt: number;
  masterDown: number;
  vips: string[];
  syncGroup: string | null;
  lastTransition: { at: string; from: string; to: string; reason: string } | null;
  counters: {
    advertsReceived: number;
    advertsSent: number;
    becameMaster: number;
    releasedMaster: number;
    priorityZeroReceived: number;
    priorityZeroSent: number;
    /** discarded adverts by reason (keepalived's stats names) */
    discarded: Record<string, number>;
  };
}

/**
 * Our discard reasons (keepalived's stats keys, which --vrrp-status shows) in @tunvs/metrics's
 * label values: every reason an instance counts has one (the type says so); a VRID no
 * instance has is nobody's
 */
const DISCARD_TO_METRICS: Record<Exclude<DiscardReasonName, 'unknown_vrid' | 'own_advert'>, VrrpDiscardReason> = {
  packet_len_err: 'length',
  malformed: 'length',
  ip_ttl_err: 'ttl',
  invalid_type_rcvd: 'invalid_type',
  advert_interval_err: 'advert_interval',
  addr_list_err: 'address_list',
  chk_err: 'checksum',
  version_err: 'version',
  invalid_authtype: 'auth_invalid_type',
  authtype_mismatch: 'auth_type_mismatch',
  auth_failure: 'auth_failure',
  unicast_src_err: 'unicast_source',
  lower_priority_preempt: 'lower_priority',
};

function metricsState(s: string): VrrpStateName {
  return s === 'MASTER' || s === 'BACKUP' || s === 'FAULT' ? s : 'INIT';
}

/** Thrown when the configuration asks for VRRP features tunvsd does not run. */
export class VrrpRefusedError extends Error {
  override readonly name = 'VrrpRefusedError';
}

interface RuntimeInstance extends BackendInstance {
  inst: Instance;
  refs: TrackRef[];
  notify: NotifyScripts;
}

/** Options of the runtime. */
export interface VrrpRuntimeOptions {
  log: Log;
  /** the host I/O (default: the kernel backend) */
  backend?: VrrpBackend;
  /** clock in µs (default monotonic) */
  now?: () => number;
  /** tunvsd's TUN device: VIPs with `dev` this device are routed into it (vrrp-kernel.ts) */
  tunDevice?: string;
  /** tunvsd's TAP device: instances on it run through the Director (vrrp-tap.ts) */
  tap?: TapVrrpTarget;
  /** every state change, after it is logged (the sync daemons follow their instance) */
  onTransition?: (ev: TransitionEvent) => void;
}

/** VRRP of one tunvsd. */
export class VrrpRuntime {
  readonly router: VrrpRouter;
  private readonly ris = new Map<string, RuntimeInstance>();
  private readonly byIf = new Map<string, RuntimeInstance[]>();
  private readonly backend: VrrpBackend;
  private readonly now: () => number;
  private readonly log: Log;
  private timer: NodeJS.Timeout | null = null;
  private readonly scripts = new Map<string, { cfg: VrrpScriptConfig; state: ScriptState; timer: NodeJS.Timeout | null; last: string | null; running: boolean }>();
  private readonly fileValues = new Map<string, number>();
  private fileTimer: NodeJS.Timeout | null = null;
  private readonly groupNotify = new Map<string, NotifyScripts>();
  private fifoFds: number[] = [];
  private running = false;
  private readonly rate = new Map<string, { at: number; suppressed: number }>();
  private readonly ifCounters = new Map<string, { received: number; unknownVrid: number; malformed: number }>();
  private readonly wallAtMono: number;
  private readonly monoAtStart: number;

  private readonly onTransition: ((ev: TransitionEvent) => void) | undefined;

  constructor(
    readonly config: VrrpConfig,
    opts: VrrpRuntimeOptions,
  ) {
    this.log = opts.log;
    this.onTransition = opts.onTransition;
    this.now = opts.now ?? monoUs;
    this.wallAtMono = Date.now();
    this.monoAtStart = this.now();
    const refused = refusals(config, opts.tap?.device, opts.tap?.label);
    if (refused.length) throw new VrrpRefusedError(refused.map((r) => `${r.file}:${r.line}: ${r.message}`).join('\n'));
    const kernel = (): VrrpBackend => new KernelBackend(this.log, opts.tunDevice);
    this.backend = opts.backend ?? (opts.tap ? new SplitBackend(kernel(), new DirectorBackend(opts.tap, this.log), opts.tap.device) : kernel());
    const specs = config.instances.map(instanceSpec);
    const io: RouterIo = {
      sendAdvert: (inst, prio) => this.sendAdvert(inst, prio),
      setAddresses: (inst, up) => this.backend.setAddresses(this.ris.get(inst.name)!, up),
      garp: (inst, repeat) => this.backend.garp(this.ris.get(inst.name)!, repeat),
      notify: (ev) => this.notify(ev),
      transition: (ev) => this.transition(ev),
      log: (instance, msg, fields) => this.routerLog(instance, msg, fields),
    };
    this.router = new VrrpRouter(specs, config.syncGroups.map((g) => ({ name: g.name, members: g.members })), io);
    for (const c of config.instances) {
      const group = config.syncGroups.find((g) => g.name === c.syncGroup);
      const vmac = vmacName(c, config.globals.vmacPrefix);
      const ri: RuntimeInstance = {
        cfg: c,
        ifname: vmac && !c.vmacXmitBase ? vmac : c.interface!,
        baseIf: c.interface!,
        inst: this.router.get(c.name),
        refs: trackRefs(c, group, config.trackFiles, config.scripts),
        notify: notifyScripts(c.notify),
      };
      if (vmac) ri.vmac = vmac;
      this.ris.set(c.name, ri);
      const l = this.byIf.get(ri.ifname) ?? [];
      l.push(ri);
      this.byIf.set(ri.ifname, l);
    }
    for (const g of config.syncGroups) this.groupNotify.set(g.name, notifyScripts(g.notify));
    const used = new Set([...this.ris.values()].flatMap((r) => r.refs.filter((x) => x.kind === 'script').map((x) => x.name)));
    // a disabled track script (script.refused: missing or insecure) is never run
    for (const s of config.scripts) if (used.has(s.name) && s.script.refused === undefined) this.scripts.set(s.name, { cfg: s, state: new ScriptState(s.rise, s.fall, s.initFail), timer: null, last: null, running: false });
  }

  /** Start everything: sockets, tracking, then the instances (VIPs removed first). */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const n of this.config.notes) this.log('info', 'vrrp configuration note', { file: n.file, line: n.line, message: n.message });
    this.openFifos();
    this.initTrackFiles();
    this.backend.open([...this.ris.values()], (ifname, data) => this.receive(ifname, data));
    this.backend.onLinkChange((name) => {
      this.log('info', 'vrrp: interface changed', { interface: name, up: this.backend.interfaceUp(name) });
      this.retrack();
    });
    for (const ri of this.ris.values()) ri.inst.srcAddr = this.backend.sourceAddress(ri);
    this.readTrackFiles();
    this.retrack(true);
    const startAt = this.now();
    this.router.start(startAt);
    for (const s of this.scripts.values()) this.runScript(s.cfg.name);
    if (this.fileTimer === null && this.config.trackFiles.length) {
      this.fileTimer = setInterval(() => {
        if (this.readTrackFiles()) this.retrack();
      }, 1000);
      this.fileTimer.unref();
    }
    this.reschedule();
    this.log('info', 'vrrp started', {
      instances: [...this.ris.values()].map((r) => ({ name: r.cfg.name, interface: r.ifname, vrid: r.cfg.vrid, version: r.cfg.version, priority: r.cfg.priority })),
    });
  }

  /** Stop: masters send priority 0 and drop their VIPs, STOP notifies (1 s), sockets closed. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.fileTimer) clearInterval(this.fileTimer);
    for (const s of this.scripts.values()) if (s.timer) clearTimeout(s.timer);
    const stops: Promise<unknown>[] = [];
    this.stopJobs = stops;
    this.router.shutdown(this.now());
    await Promise.all(stops);
    this.stopJobs = null;
    this.backend.close();
    for (const fd of this.fifoFds.splice(0)) closeSync(fd);
    this.log('info', 'vrrp stopped', {});
  }

  private stopJobs: Promise<unknown>[] | null = null;

  // ------------------------------------------------------------------ clock

  private reschedule(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    const next = this.router.nextDeadline();
    if (!Number.isFinite(next)) {
      this.timer = null;
      return;
    }
    const wait = Math.max(0, Math.ceil((next - this.now()) / 1000));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.router.tick(this.now());
      this.reschedule();
    }, wait);
  }

  // ------------------------------------------------------------------ adverts

  private sendAdvert(inst: Instance, prio: number): void {
    const ri = this.ris.get(inst.name)!;
    if (inst.srcAddr === 0) inst.srcAddr = this.backend.sourceAddress(ri);
    const ds = buildAdvert(inst.spec, prio, inst.srcAddr, inst.nextIpId(), ri.cfg.unicastTtl ?? 255);
    this.backend.sendAdvert(ri, ds);
  }

  private receive(ifname: string, data: Uint8Array): void {
    const list = this.byIf.get(ifname);
    if (!list || !this.running) return;
    let c = this.ifCounters.get(ifname);
    if (!c) this.ifCounters.set(ifname, (c = { received: 0, unknownVrid: 0, malformed: 0 }));
    c.received++;
    const o = this.router.receive(data, 0, data.length, this.now(), list.map((r) => r.inst));
    if (o.instance === null) {
      if (o.reason === 'unknown_vrid') c.unknownVrid++;
      else c.malformed++;
    }
    this.reschedule();
  }

  // ------------------------------------------------------------------ tracking

  private retrack(initial = false): void {
    const st = {
      interfaceUp: (n: string) => this.backend.interfaceUp(n),
      script: (n: string) => this.scripts.get(n)?.state.status ?? 'init',
      fileValue: (n: string) => this.fileValues.get(n) ?? 0,
    };
    const now = this.now();
    for (const ri of this.ris.values()) {
      const eff = effectivePriority(ri.inst.basePriority, ri.refs, st);
      if (initial) {
        ri.inst.trackFault = eff.fault;
        ri.inst.priorityWhy = eff.why;
        if (ri.inst.basePriority !== 255) ri.inst.effectivePriority = eff.priority;
      } else this.router.setTracking(ri.cfg.name, eff, now);
    }
    if (!initial) this.reschedule();
  }

  private runScript(name: string): void {
    const s = this.scripts.get(name);
    if (!s || !this.running) return;
    s.running = true;
    void scriptProbe({ argv: s.cfg.script.argv, timeoutMs: s.cfg.timeout * 1000, dynamic: false }).then((r) => {
      s.running = false;
      if (!this.running) return;
      s.last = r.detail;
      const before = s.state.status;
      if (s.state.result(r.ok)) {
        this.log('info', `VRRP_Script(${name}) ${s.state.status === 'ok' ? 'succeeded' : 'failed'}`, { script: name, result: r.detail, from: before, to: s.state.status });
        this.retrack();
      }
      s.timer = setTimeout(() => this.runScript(name), s.cfg.interval * 1000);
      s.timer.unref();
    });
  }

  private initTrackFiles(): void {
    for (const f of this.config.trackFiles) {
      if (!f.init) continue;
      if (existsSync(f.path) && !f.init.overwrite) continue;
      try {
        writeFileSync(f.path, `${f.init.value}\n`);
      } catch (e) {
        this.log('warn', 'vrrp: cannot initialise track file', { file: f.path, error: (e as Error).message });
      }
    }
  }

  /** Read every track file; true when a value changed. Unreadable or not a number = 0. */
  private readTrackFiles(): boolean {
    let changed = false;
    for (const f of this.config.trackFiles) {
      let v = 0;
      try {
        const m = /^\s*(-?\d+)/.exec(readFileSync(f.path, 'utf8'));
        v = m ? Number(m[1]) : 0;
      } catch {
        v = 0;
      }
      if (this.fileValues.get(f.name) !== v) {
        this.fileValues.set(f.name, v);
        changed = true;
      }
    }
    return changed;
  }

  // ------------------------------------------------------------------ notifications

  private openFifos(): void {
    for (const p of [this.config.globals.notifyFifo, this.config.globals.vrrpNotifyFifo]) {
      if (!p) continue;
      try {
        if (!existsSync(p)) {
          const r = spawnSync('mkfifo', ['-m', '0600', p]);
          if (r.status !== 0) throw new Error(`mkfifo ${p} failed`);
        } else if (!statSync(p).isFIFO()) throw new Error(`${p} exists and is not a FIFO`);
        // read-write, non-blocking: opening never waits for a reader and writes never block
        this.fifoFds.push(openSync(p, fsc.O_RDWR | fsc.O_NONBLOCK));
      } catch (e) {
        this.log('error', 'vrrp: cannot open notify FIFO', { fifo: p, error: (e as Error).message });
      }
    }
  }

  private notify(ev: NotifyEvent): void {
    const scripts = ev.kind === 'GROUP' ? (this.groupNotify.get(ev.name) ?? {}) : (this.ris.get(ev.name)?.notify ?? {});
    for (const j of notifyJobs(ev, scripts, this.fifoFds.length > 0)) this.runJob(j, ev);
  }

  private runJob(j: NotifyJob, ev: NotifyEvent): void {
    if (j.kind === 'fifo') {
      for (const fd of this.fifoFds) {
        try {
          writeSync(fd, j.line);
        } catch (e) {
          this.log('warn', 'vrrp: notify FIFO write failed', { error: (e as Error).message });
        }
      }
      return;
    }
    this.log('info', 'vrrp notify', { kind: ev.kind, name: ev.name, state: ev.state, script: j.role, argv: j.argv });
    const p = scriptProbe({ argv: j.argv, timeoutMs: j.timeoutMs ?? 24 * 3600 * 1000, dynamic: false, killGraceMs: 0 }).then((r) => {
      if (!r.ok) this.log('warn', 'vrrp notify script failed', { script: j.role, argv: j.argv, result: r.detail });
    });
    if (this.stopJobs && j.timeoutMs !== undefined) this.stopJobs.push(p);
  }

  // ------------------------------------------------------------------ logs

  private readonly transitions = new Map<string, number>();

  private transition(ev: TransitionEvent): void {
    this.transitions.set(ev.instance, (this.transitions.get(ev.instance) ?? 0) + 1);
    this.log('info', 'vrrp transition', { ...ev });
    this.onTransition?.(ev);
  }

  private routerLog(instance: string, msg: string, fields?: Record<string, unknown>): void {
    const reason = fields?.['discarded'];
    if (typeof reason === 'string') {
      // one line per instance and reason per second at most (a flood must not flood the log)
      const key = `${instance}|${reason}`;
      const now = Date.now();
      const r = this.rate.get(key);
      if (r && now - r.at < 1000) {
        r.suppressed++;
        return;
      }
      this.rate.set(key, { at: now, suppressed: 0 });
      this.log('warn', 'vrrp advert discarded', { instance, detail: msg, ...fields, ...(r?.suppressed ? { suppressedSinceLast: r.suppressed } : {}) });
      return;
    }
    this.log('info', 'vrrp', { instance, detail: msg, ...fields });
  }

  // ------------------------------------------------------------------ status

  private wall(us: number): string {
    return new Date(this.wallAtMono + (us - this.monoAtStart) / 1000).toISOString();
  }

  /** The instances as @tunvs/metrics reads them. */
  metricsInstances(): VrrpInstanceStats[] {
    return this.status().instances.map((st) => {
      const ri = this.ris.get(st.name)!;
      const discarded: Partial<Record<VrrpDiscardReason, number>> = {};
      for (const [k, n] of Object.entries(st.counters.discarded)) {
        const m = (DISCARD_TO_METRICS as Record<string, VrrpDiscardReason | undefined>)[k];
        if (m) discarded[m] = (discarded[m] ?? 0) + n;
      }
      const o: VrrpInstanceStats = {
        name: st.name,
        vrid: st.vrid,
        interface: st.interface,
        version: st.version,
        state: metricsState(st.state),
        basePriority: st.priority.base,
        effectivePriority: st.priority.effective,
        advertInterval: st.advertInt,
        peers: ri.cfg.unicastPeers.map((p) => p.addr),
        vips: ri.cfg.vips.map((v) => v.addr),
        advertsSent: st.counters.advertsSent,
        advertsReceived: st.counters.advertsReceived,
        discarded,
        becameMaster: st.counters.becameMaster,
        releasedMaster: st.counters.releasedMaster,
        priorityZeroSent: st.counters.priorityZeroSent,
        priorityZeroReceived: st.counters.priorityZeroReceived,
        transitions: this.transitions.get(st.name) ?? 0,
        lastTransition: st.lastTransition ? Date.parse(st.lastTransition.at) : 0,
      };
      if (st.syncGroup) o.syncGroup = st.syncGroup;
      if (st.master) o.masterAddress = st.master.address;
      return o;
    });
  }

  /** What `vrrpStatus` returns. */
  status(): VrrpStatus {
    const instances: VrrpInstanceStatus[] = [];
    for (const ri of this.ris.values()) {
      const i = ri.inst;
      const self = i.state === 2;
      const c = i.counters;
      instances.push({
        name: ri.cfg.name,
        interface: ri.ifname,
        vrid: ri.cfg.vrid,
        version: ri.cfg.version,
        state: stateName(i.state),
        wantState: stateName(i.wantState),
        priority: { base: i.basePriority, effective: i.effectivePriority, why: i.priorityWhy },
        fault: i.trackFault,
        master: self ? { address: formatIpv4(i.srcAddr), priority: i.effectivePriority, self: true } : i.masterAddr !== null ? { address: formatIpv4(i.masterAddr), priority: i.masterPriority, self: false } : null,
        advertInt: i.spec.adverIntUs / 1e6,
        masterAdverInt: i.masterAdverIntUs / 1e6,
        masterDown: i.masterDownUs() / 1e6,
        vips: ri.cfg.vips.map((v) => `${v.addr}/${v.prefix}${v.dev ? ` dev ${v.dev}` : ''}`),
        syncGroup: ri.cfg.syncGroup ?? null,
        lastTransition: i.lastTransition ? { at: this.wall(i.lastTransition.atUs), from: i.lastTransition.from, to: i.lastTransition.to, reason: i.lastTransition.reason } : null,
        counters: {
          advertsReceived: c.advert_rcvd,
          advertsSent: c.advert_sent,
          becameMaster: c.become_master,
          releasedMaster: c.release_master,
          priorityZeroReceived: c.pri_zero_rcvd,
          priorityZeroSent: c.pri_zero_sent,
          discarded: { ...c.discarded },
        },
      });
    }
    return {
      instances,
      interfaces: [...this.byIf.keys()].map((name) => ({ name, ...(this.ifCounters.get(name) ?? { received: 0, unknownVrid: 0, malformed: 0 }) })),
      syncGroups: [...this.router.groups.values()].map((g) => ({ name: g.name, state: stateName(g.state), members: g.members.map((m) => m.name) })),
      scripts: [...this.scripts.values()].map((s) => ({ name: s.cfg.name, status: s.state.status.toUpperCase(), interval: s.cfg.interval, weight: s.cfg.weight, lastResult: s.last })),
    };
  }
}

/** Start VRRP for a configuration if it has instances; null otherwise. */
export function startVrrp(k: KeepalivedConfig | null, opts: VrrpRuntimeOptions): VrrpRuntime | null {
  if (!k || k.vrrpConfig.instances.length === 0) return null;
  const rt = new VrrpRuntime(k.vrrpConfig, opts);
  rt.start();
  return rt;
}

/** Whether two VRRP configurations are the same (a reload that changes nothing keeps VRRP running). */
export function sameVrrp(a: VrrpConfig | undefined, b: VrrpConfig | undefined): boolean {
  const strip = (v: VrrpConfig | undefined): string =>
    // lvs_sync_daemon belongs to the sync daemons (sync-runtime.ts): it restarts no instance
    JSON.stringify(v ?? null, (k, val: unknown) => (k === 'file' || k === 'line' || k === 'notes' || k === 'lvsSyncDaemon' ? undefined : val));
  return strip(a) === strip(b);
}

export type { VrrpInstanceConfig };

/**
 * The VRRP side of tunvsd as daemon.ts uses it: apply a configuration (start, or restart
 * when the VRRP part changed on reload), the control socket's `vrrpStatus`, stop.
 */
export class DaemonVrrp {
  private rt: VrrpRuntime | null = null;
  private cfg: VrrpConfig | undefined;

  constructor(private readonly opts: VrrpRuntimeOptions) {}

  /** Start VRRP for this configuration, or restart it when its VRRP part changed. */
  async apply(k: KeepalivedConfig | null): Promise<void> {
    await this.stage(k).commit();
  }

  /**
   * The first, synchronous half of `apply`: throws VrrpRefusedError (nothing changed) when
   * the configuration asks for what tunvsd does not run; otherwise silences the TAP VIPs
   * the next configuration adds (before a virtual service using them would announce them)
   * and returns `commit` (restart the instances when their configuration changed) and
   * `abort` (undo the silencing: the rest of the reload failed).
   */
  stage(k: KeepalivedConfig | null): { commit(): Promise<void>; abort(): void } {
    const next = k?.vrrpConfig;
    if (this.rt && sameVrrp(this.cfg, next)) return { commit: async () => {}, abort: () => {} };
    if (next && next.instances.length) {
      const refused = refusals(next, this.opts.tap?.device, this.opts.tap?.label);
      if (refused.length) throw new VrrpRefusedError(refused.map((r) => `${r.file}:${r.line}: ${r.message}`).join('\n'));
    }
    const tap = this.opts.tap;
    const before = tap ? tapVips(this.cfg, tap.device) : new Set<string>();
    const after = tap ? tapVips(next, tap.device) : new Set<string>();
    const silenced = [...after].filter((a) => !before.has(a));
    if (tap) for (const a of silenced) tap.director.setAddressActive(a, false);
    return {
      commit: async () => {
        if (this.rt) {
          this.opts.log('info', 'vrrp configuration changed: restarting the VRRP instances', {});
          await this.rt.stop();
          this.rt = null;
        }
        this.cfg = next;
        this.rt = startVrrp(k, this.opts);
        // addresses no instance holds any more are the Director's own business again
        if (tap) for (const a of before) if (!after.has(a)) tap.director.releaseAddress(a);
      },
      abort: () => {
        if (tap) for (const a of silenced) tap.director.releaseAddress(a);
      },
    };
  }

  /** The running runtime, if any. */
  get runtime(): VrrpRuntime | null {
    return this.rt;
  }

  /** The state of instance `name` (MASTER, BACKUP, FAULT, INIT), null when no such instance runs. */
  stateOf(name: string): string | null {
    const rt = this.rt;
    if (!rt) return null;
    try {
      return stateName(rt.router.get(name).state);
    } catch {
      return null;
    }
  }

  /** The read-only source the metrics and the status API read (Feeds.setVrrp). */
  source(): VrrpSource {
    return {
      instances: () => this.rt?.metricsInstances() ?? [],
      syncGroups: () =>
        (this.rt?.status().syncGroups ?? []).map((g) => ({ name: g.name, state: metricsState(g.state), instances: g.members })),
    };
  }

  /** Control-socket operations: the read-only `vrrpStatus` (no arguments). */
  ops(): [string, ControlOpHandler][] {
    const empty: VrrpStatus = { instances: [], interfaces: [], syncGroups: [], scripts: [] };
    return [['vrrpStatus', { arity: [0, 0], run: () => this.rt?.status() ?? empty }]];
  }

  async stop(): Promise<void> {
    await this.rt?.stop();
    this.rt = null;
  }
}
