/**
 * keepalived.conf's virtual servers in tunvsd: the services are reconciled like the static
 * ones, and a HealthManager (@tunvs/healthcheck) owns their destinations. A reload swaps
 * the HealthManager for one built from the new configuration, in one synchronous step:
 * services are added/edited/removed, the new manager installs its initial pool (a real
 * server that was down stays down until its checks pass again), and destinations left over
 * from the old configuration are removed. Established connections are never touched.
 *
 * The step is all or nothing: every change goes through a Transaction; if anything fails,
 * the changes are undone, the new manager is stopped and the old one keeps running.
 */
import type { ConnInfo, DestInfo, DestSpec, DirectorControl, DirectorInfo, ServiceInfo, ServiceKey, ServiceSpec, Timeouts } from '@tunvs/model';
import { serviceSpecs, vsName } from '@tunvs/keepalived';
import type { KeepalivedConfig } from '@tunvs/keepalived';
import { BfdManager, HealthManager, killRunningScripts } from '@tunvs/healthcheck';
import type { HealthEvent, HealthManagerOptions } from '@tunvs/healthcheck';
import type { ServiceConfig } from './config.js';
import { keyOf, reconcile, svcKeyString, Transaction } from './reconcile.js';
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
  /**
   * While recording (the manager installing its pool inside a reload's transaction): the
   * changes that failed. The manager only logs a failed change; the runner must undo.
   */
  readonly failures: Error[] = [];
  recording = false;

  constructor(private ctl: DirectorControl) {}

  /** Drive another control from now on (the transaction while starting, then the director). */
  retarget(ctl: DirectorControl): void {
    this.ctl = ctl;
  }

  private current(key: ServiceKey, d: Pick<DestSpec, 'addr' | 'port'>): DestInfo | undefined {
    if (this.ctl instanceof Transaction) return this.ctl.dest(key, d);
    return this.ctl.getService(key).dests.find((x) => x.addr === d.addr && x.port === d.port);
  }

  private note(key: ServiceKey, d: Pick<DestSpec, 'addr' | 'port'>): void {
    if (!this.recording) return;
    const k = svcKeyString(key);
    let s = this.installed.get(k);
    if (!s) this.installed.set(k, (s = new Set()));
    s.add(`${d.addr}:${d.port}`);
  }

  /** Run a change; while recording, remember a failure before passing it on. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (this.recording) this.failures.push(e as Error);
      throw e;
    }
  }

  addService(spec: ServiceSpec): void {
    // the runner reconciled the services just before: an existing one is already right
    if (this.ctl instanceof Transaction ? this.ctl.service(spec) !== undefined : this.ctl.listServices().some((s) => svcKeyString(s) === svcKeyString(spec))) return;
    this.guard(() => this.ctl.addService(spec));
  }
  editService(spec: ServiceSpec): void {
    this.guard(() => this.ctl.editService(spec));
  }
  deleteService(key: ServiceKey): void {
    this.guard(() => this.ctl.deleteService(key));
  }
  clear(): void {
    this.guard(() => this.ctl.clear());
  }
  addDest(key: ServiceKey, dest: DestSpec): void {
    this.guard(() => {
      // a reload takes over the running pool: an existing destination is edited if it differs
      let cur = this.ctl instanceof Transaction ? this.current(key, dest) : undefined;
      if (cur === undefined) {
        try {
          this.ctl.addDest(key, dest);
          this.note(key, dest);
          return;
        } catch (e) {
          if ((e as { code?: string }).code !== 'EEXIST') throw e;
          cur = this.current(key, dest);
        }
      }
      const same =
        cur !== undefined &&
        cur.weight === (dest.weight ?? 1) &&
        cur.method === (dest.method ?? cur.method) &&
        cur.upper === (dest.upper ?? 0) &&
        cur.lower === (dest.lower ?? 0);
      if (!same) this.ctl.editDest(key, dest);
      this.note(key, dest);
    });
  }
  editDest(key: ServiceKey, dest: DestSpec): void {
    this.guard(() => this.ctl.editDest(key, dest));
    this.note(key, dest);
  }
  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    this.guard(() => this.ctl.deleteDest(key, dest));
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

/** Applying a configuration failed; the changes already made were undone. */
export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(
    message: string,
    /** how many changes were made, then undone */
    readonly undone: number,
    /** undo steps that failed themselves (empty when the table is exactly as before) */
    readonly rollbackErrors: readonly string[],
  ) {
    super(message);
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
   * checking, all or nothing: on any failure every change is undone, the running health
   * checking goes on, and an ApplyError is thrown. `also` runs first inside the same
   * transaction (timeouts, mark rules). Returns the changes made to services and static
   * destinations.
   */
  apply(statics: ServiceConfig[], keepalived: KeepalivedConfig | null, also?: (tx: Transaction) => void): Change[] {
    const tx = new Transaction(this.director);
    let hm: HealthManager | null = null;
    let ctl: ManagedControl | null = null;
    let changes: Change[];
    let bfdChanged = false;
    try {
      also?.(tx);
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
      changes = reconcile(tx, wanted, managed);
      if (keepalived) {
        ctl = new ManagedControl(tx);
        // the sessions are in the map at once, for the new manager to find; a rollback
        // below puts the running configuration's sessions back
        bfdChanged = true;
        this.bfd.update(keepalived.bfdInstances).catch((e: Error) => this.log('error', 'bfd: cannot start sessions', { error: e.message }));
        hm = new HealthManager(keepalived, ctl, {
          log: (line) => this.log('info', 'healthcheck', { line }),
          bfdSessions: this.bfd.sessions,
          ...this.hmOpts,
        });
        hm.on('change', (e: HealthEvent) => this.log('info', `health ${e.type}`, { ...e }));
        ctl.recording = true;
        hm.start();
        ctl.recording = false;
        if (ctl.failures.length > 0) throw ctl.failures[0]!;
        // destinations of managed services the new manager did not install are leftovers
        for (const s of tx.listServices()) {
          const k = svcKeyString(s);
          if (!managed.has(k)) continue;
          const keep = ctl.installed.get(k) ?? new Set<string>();
          for (const d of s.dests) {
            if (keep.has(`${d.addr}:${d.port}`)) continue;
            tx.deleteDest(keyOf(s), { addr: d.addr, port: d.port });
            changes.push({ action: 'delete-dest', service: k, dest: `${d.addr}:${d.port}` });
          }
        }
      }
    } catch (e) {
      if (hm) {
        hm.removeAllListeners('change');
        hm.stop();
      }
      const done = tx.size;
      tx.rollback();
      if (bfdChanged) this.bfd.update(this.current?.bfdInstances ?? []).catch((e2: Error) => this.log('error', 'bfd: cannot restore sessions', { error: e2.message }));
      throw new ApplyError((e as Error).message, done, tx.rollbackErrors);
    }
    // commit: the new manager takes over
    const old = this.hm;
    if (old) {
      old.removeAllListeners('change');
      old.stop();
    }
    ctl?.retarget(this.director);
    // without a keepalived.conf any more: no BFD session either
    if (!keepalived && this.current) this.bfd.update([]).catch((e: Error) => this.log('error', 'bfd: cannot stop sessions', { error: e.message }));
    this.hm = hm;
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
