/**
 * keepalived.conf's virtual servers in tunvsd: the services are reconciled like the static
 * ones, and a HealthManager (@tunvs/healthcheck) owns their destinations. A reload swaps
 * the HealthManager for one built from the new configuration, in one synchronous step:
 * services are added/edited/removed, the new manager installs its initial pool (a real
 * server that was down stays down until its checks pass again), and destinations left over
 * from the old configuration are removed. Established connections are never touched.
 */
import type { ConnInfo, DestSpec, DirectorControl, DirectorInfo, ServiceInfo, ServiceKey, ServiceSpec, Timeouts } from '@tunvs/model';
import { serviceSpecs, vsName } from '@tunvs/keepalived';
import type { KeepalivedConfig } from '@tunvs/keepalived';
import { BfdManager, HealthManager, killRunningScripts } from '@tunvs/healthcheck';
import type { HealthEvent, HealthManagerOptions } from '@tunvs/healthcheck';
import type { ServiceConfig } from './config.js';
import { reconcile, svcKeyString } from './reconcile.js';
import type { Change } from './reconcile.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/**
 * The DirectorControl a HealthManager drives: adding a destination that already exists
 * edits it (a reload takes over the running pool), and the destinations it installs are
 * recorded per service.
 */
export class ManagedControl implements DirectorControl {
  /** service key → `addr:port` of destinations added or edited while recording */
  readonly installed = new Map<string, Set<string>>();
  recording = false;

  constructor(private readonly ctl: DirectorControl) {}

  private note(key: ServiceKey, d: Pick<DestSpec, 'addr' | 'port'>): void {
    if (!this.recording) return;
    const k = svcKeyString(key);
    let s = this.installed.get(k);
    if (!s) this.installed.set(k, (s = new Set()));
    s.add(`${d.addr}:${d.port}`);
  }

  addService(spec: ServiceSpec): void {
    // the runner reconciled the services just before: an existing one is already right
    if (this.ctl.listServices().some((s) => svcKeyString(s) === svcKeyString(spec))) return;
    this.ctl.addService(spec);
  }
  editService(spec: ServiceSpec): void {
    this.ctl.editService(spec);
  }
  deleteService(key: ServiceKey): void {
    this.ctl.deleteService(key);
  }
  clear(): void {
    this.ctl.clear();
  }
  addDest(key: ServiceKey, dest: DestSpec): void {
    try {
      this.ctl.addDest(key, dest);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      const cur = this.ctl.getService(key).dests.find((d) => d.addr === dest.addr && d.port === dest.port);
      const same =
        cur !== undefined &&
        cur.weight === (dest.weight ?? 1) &&
        cur.method === (dest.method ?? cur.method) &&
        cur.upper === (dest.upper ?? 0) &&
        cur.lower === (dest.lower ?? 0);
      if (!same) this.ctl.editDest(key, dest);
    }
    this.note(key, dest);
  }
  editDest(key: ServiceKey, dest: DestSpec): void {
    this.ctl.editDest(key, dest);
    this.note(key, dest);
  }
  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    this.ctl.deleteDest(key, dest);
  }
  zero(key?: ServiceKey): void {
    this.ctl.zero(key);
  }
  listServices(): ServiceInfo[] {
    return this.ctl.listServices();
  }
  getService(key: ServiceKey): ServiceInfo {
    return this.ctl.getService(key);
  }
  listConnections(): ConnInfo[] {
    return this.ctl.listConnections();
  }
  setTimeouts(t: Partial<Timeouts>): void {
    this.ctl.setTimeouts(t);
  }
  getTimeouts(): Timeouts {
    return this.ctl.getTimeouts();
  }
  info(): DirectorInfo {
    return this.ctl.info();
  }
}

/** Runs the static services and keepalived's virtual servers of the current configuration. */
export class ServiceRunner {
  private hm: HealthManager | null = null;
  private current: KeepalivedConfig | null = null;
  /** BFD sessions live across reloads (an unchanged bfd_instance keeps its session) */
  private readonly bfd: BfdManager;

  constructor(
    private readonly director: DirectorControl,
    private readonly log: Log,
    private readonly hmOpts: HealthManagerOptions = {},
  ) {
    this.bfd = new BfdManager((line) => this.log('info', 'bfd', { line }));
  }

  /** The running HealthManager, if the configuration has a keepalived.conf. */
  get healthManager(): HealthManager | null {
    return this.hm;
  }

  /**
   * Bring the director to `statics` + `keepalived`'s virtual servers and (re)start health
   * checking. Returns the changes made to services and static destinations.
   */
  apply(statics: ServiceConfig[], keepalived: KeepalivedConfig | null): Change[] {
    const managed = new Set<string>();
    const wanted: ServiceConfig[] = [...statics];
    if (keepalived) {
      for (const vs of keepalived.virtualServers) {
        for (const spec of serviceSpecs(vs, keepalived)) {
          managed.add(svcKeyString(spec));
          wanted.push(spec);
        }
      }
      this.carryDownState(keepalived);
    }
    const old = this.hm;
    if (old) {
      old.removeAllListeners('change');
      old.stop();
    }
    this.hm = null;
    const changes = reconcile(this.director, wanted, managed);
    if (keepalived) {
      const ctl = new ManagedControl(this.director);
      this.bfd.update(keepalived.bfdInstances).catch((e: Error) => this.log('error', 'bfd: cannot start sessions', { error: e.message }));
      const hm = new HealthManager(keepalived, ctl, {
        log: (line) => this.log('info', 'healthcheck', { line }),
        bfdSessions: this.bfd.sessions,
        ...this.hmOpts,
      });
      hm.on('change', (e: HealthEvent) => this.log('info', `health ${e.type}`, { ...e }));
      ctl.recording = true;
      hm.start();
      ctl.recording = false;
      // destinations of managed services the new manager did not install are leftovers
      for (const s of this.director.listServices()) {
        const k = svcKeyString(s);
        if (!managed.has(k)) continue;
        const keep = ctl.installed.get(k) ?? new Set<string>();
        for (const d of s.dests) {
          if (keep.has(`${d.addr}:${d.port}`)) continue;
          const key: ServiceKey = s.fwmark ? { fwmark: s.fwmark } : { protocol: s.protocol ?? 'tcp', addr: s.addr, port: s.port };
          this.director.deleteDest(key, { addr: d.addr, port: d.port });
          changes.push({ action: 'delete-dest', service: k, dest: `${d.addr}:${d.port}` });
        }
      }
      this.hm = hm;
    }
    this.current = keepalived;
    return changes;
  }

  /** Stop health checking (the table is left as it is). */
  stop(): void {
    // scripts still running (MISC_CHECK, notify) die with their whole process group; the
    // omega notifications hm.stop() starts afterwards are left to finish
    const killed = killRunningScripts('SIGKILL');
    if (killed > 0) this.log('info', 'killed running scripts', { count: killed });
    this.hm?.stop();
    this.hm = null;
    this.bfd.stop();
  }

  /**
   * A real server the running manager holds down starts down (alpha) in the new
   * configuration, so a reload does not put a dead server back until a check passes.
   */
  private carryDownState(next: KeepalivedConfig): void {
    const old = this.hm;
    const cur = this.current;
    if (!old || !cur) return;
    const oldIndex = new Map(cur.virtualServers.map((vs, i) => [vsName(vs), i]));
    for (const vs of next.virtualServers) {
      const i = oldIndex.get(vsName(vs));
      if (i === undefined) continue;
      const oldVs = cur.virtualServers[i]!;
      for (const rs of vs.realServers) {
        const was = oldVs.realServers.find((r) => r.addr === rs.addr && r.port === rs.port);
        if (!was || was.checkers.length === 0 || rs.checkers.length === 0) continue;
        if (!old.isAlive(i, rs.addr, rs.port)) for (const c of rs.checkers) c.alpha = true;
      }
    }
  }
}
