/**
 * Bring a Director's rules to a configuration by applying the difference: services and
 * destinations added, changed or removed, nothing else touched. Established connections
 * are never disturbed (the Director's operations guarantee it); a removed destination's
 * connections finish on their own.
 *
 * All or nothing: the changes go through a `Transaction`, which records how to undo each
 * one; when any operation fails, `rollback()` undoes what was done, newest first, and the
 * table is back to what it was. The configuration is checked whole before (sources.ts),
 * so a failure here means a bug or a race, not a bad file.
 *
 * Cost: linear in the number of services and destinations (one listing of the table, maps
 * for every lookup).
 */
import type { ConnInfo, DestInfo, DestSpec, DirectorControl, DirectorInfo, ServiceInfo, ServiceKey, ServiceSpec, Timeouts } from '@tunvs/model';
import { serviceKeyString } from './config.js';
import type { ServiceConfig } from './config.js';

/** One change applied, for the structured log. */
export interface Change {
  action: 'add-service' | 'edit-service' | 'delete-service' | 'add-dest' | 'edit-dest' | 'delete-dest';
  service: string;
  dest?: string;
}

/** The key string of a service, as used in change records: `tcp:ADDR:PORT` or `fwmark:N`. */
export const svcKeyString = serviceKeyString;

/** The key of a listed service. */
export function keyOf(s: Pick<ServiceInfo, 'fwmark' | 'protocol' | 'addr' | 'port'>): ServiceKey {
  return s.fwmark ? { fwmark: s.fwmark } : { protocol: s.protocol ?? 'tcp', addr: s.addr, port: s.port };
}

/** A destination spec with ipvsadm's defaults filled in (the port as given, as the kernel keeps it). */
export function normalizeDest(
  _svc: ServiceSpec,
  d: DestSpec,
): Required<Pick<DestSpec, 'addr' | 'port' | 'method' | 'weight' | 'upper' | 'lower'>> & Pick<DestSpec, 'tunType' | 'tunPort' | 'tunFlags'> {
  const out = { addr: d.addr, port: d.port, method: d.method ?? 'route', weight: d.weight ?? 1, upper: d.upper ?? 0, lower: d.lower ?? 0 };
  return { ...out, ...tunnelOf(d) };
}

/** The tunnel settings a spec gives (only those it gives: the engine applies ipvsadm's defaults). */
function tunnelOf(d: DestSpec | DestInfo): Pick<DestSpec, 'tunType' | 'tunPort' | 'tunFlags'> {
  const t: Pick<DestSpec, 'tunType' | 'tunPort' | 'tunFlags'> = {};
  if (d.tunType !== undefined) t.tunType = d.tunType;
  if (d.tunPort !== undefined) t.tunPort = d.tunPort;
  if (d.tunFlags !== undefined) t.tunFlags = d.tunFlags;
  return t;
}

/** The spec that re-creates a listed service. */
function specOf(s: ServiceInfo): ServiceSpec {
  const spec: ServiceSpec = { ...keyOf(s), scheduler: s.scheduler };
  if (s.schedFlags.length) spec.schedFlags = [...s.schedFlags];
  if (s.persistent) spec.persistent = s.persistent;
  if (s.netmask !== '255.255.255.255') spec.netmask = s.netmask;
  if (s.onePacket) spec.onePacket = true;
  if (s.pe) spec.pe = s.pe;
  return spec;
}

/** The spec that re-creates a listed destination. */
function destSpecOf(d: DestInfo): DestSpec {
  const spec: DestSpec = { addr: d.addr, port: d.port, method: d.method, weight: d.weight, upper: d.upper, lower: d.lower };
  return { ...spec, ...tunnelOf(d) };
}

const destKey = (d: Pick<DestSpec, 'addr' | 'port'>): string => `${d.addr}:${d.port}`;

/**
 * A DirectorControl that applies every change to `ctl` at once and records its inverse.
 * It keeps its own view of the table (taken once, kept up to date), so lookups cost O(1).
 */
export class Transaction implements DirectorControl {
  private readonly undo: (() => void)[] = [];
  private readonly view = new Map<string, { info: ServiceInfo; dests: Map<string, DestInfo> }>();
  /** the operations the rollback itself could not undo (should stay empty) */
  readonly rollbackErrors: string[] = [];

  constructor(private readonly ctl: DirectorControl) {
    for (const s of ctl.listServices()) {
      const k = serviceKeyString(s);
      this.view.set(k, { info: s, dests: new Map(s.dests.map((d) => [destKey(d), d])) });
    }
  }

  /** Number of changes made so far. */
  get size(): number {
    return this.undo.length;
  }

  /**
   * The table as the transaction sees it: service key -> the service and its destinations
   * by `addr:port`. Live: changes made through the transaction show at once (iterating it
   * while deleting through the transaction is safe, as with any Map).
   */
  table(): ReadonlyMap<string, { readonly info: ServiceInfo; readonly dests: ReadonlyMap<string, DestInfo> }> {
    return this.view;
  }

  /** The service `key` as the table has it now, or undefined. */
  service(key: ServiceKey): ServiceInfo | undefined {
    const v = this.view.get(serviceKeyString(key));
    return v && { ...v.info, dests: [...v.dests.values()] };
  }

  /** The destination (addr, port) of service `key` as the table has it now. */
  dest(key: ServiceKey, d: Pick<DestSpec, 'addr' | 'port'>): DestInfo | undefined {
    return this.view.get(serviceKeyString(key))?.dests.get(destKey(d));
  }

  private entry(key: ServiceKey): { info: ServiceInfo; dests: Map<string, DestInfo> } {
    const v = this.view.get(serviceKeyString(key));
    if (!v) throw new Error(`transaction: service ${serviceKeyString(key)} is not in the table`);
    return v;
  }

  /** Undo every change made, newest first. */
  rollback(): void {
    while (this.undo.length > 0) {
      const u = this.undo.pop()!;
      try {
        u();
      } catch (e) {
        this.rollbackErrors.push((e as Error).message);
      }
    }
  }

  addService(spec: ServiceSpec): void {
    this.ctl.addService(spec);
    const key: ServiceKey = spec.fwmark ? { fwmark: spec.fwmark } : { protocol: spec.protocol!, addr: spec.addr!, port: spec.port! };
    this.undo.push(() => this.ctl.deleteService(key));
    const info = this.ctl.getService(key);
    this.view.set(serviceKeyString(info), { info: { ...info, dests: [] }, dests: new Map() });
  }

  editService(spec: ServiceSpec): void {
    const prev = this.entry(spec);
    const before = specOf(prev.info);
    this.ctl.editService(spec);
    this.undo.push(() => this.ctl.editService(before));
    prev.info = { ...this.ctl.getService(spec), dests: [] };
  }

  deleteService(key: ServiceKey): void {
    const prev = this.entry(key);
    const spec = specOf(prev.info);
    // the kernel's list order: re-adding from the last listed to the first restores it
    const dests = [...prev.dests.values()].reverse().map(destSpecOf);
    this.ctl.deleteService(key);
    this.undo.push(() => {
      this.ctl.addService(spec);
      for (const d of dests) this.ctl.addDest(key, d);
    });
    this.view.delete(serviceKeyString(key));
  }

  clear(): void {
    for (const k of [...this.view.keys()]) this.deleteService(keyOf(this.view.get(k)!.info));
  }

  addDest(key: ServiceKey, dest: DestSpec): void {
    const e = this.entry(key);
    this.ctl.addDest(key, dest);
    const at = { addr: dest.addr, port: dest.port };
    this.undo.push(() => this.ctl.deleteDest(key, at));
    e.dests.set(destKey(dest), { ...zeroDest(), ...normalizeDest({}, dest) });
  }

  editDest(key: ServiceKey, dest: DestSpec): void {
    const e = this.entry(key);
    const prev = e.dests.get(destKey(dest));
    this.ctl.editDest(key, dest);
    if (prev) {
      const before = destSpecOf(prev);
      this.undo.push(() => this.ctl.editDest(key, before));
      // an edit sets the tunnel settings anew (ipvsadm's defaults for those it does not give)
      const kept: DestInfo = { ...prev };
      delete kept.tunType;
      delete kept.tunPort;
      delete kept.tunFlags;
      e.dests.set(destKey(dest), { ...kept, ...normalizeDest({}, dest) });
    }
  }

  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    const e = this.entry(key);
    const prev = e.dests.get(destKey(dest));
    this.ctl.deleteDest(key, dest);
    if (prev) {
      const before = destSpecOf(prev);
      this.undo.push(() => this.ctl.addDest(key, before));
    }
    e.dests.delete(destKey(dest));
  }

  zero(key?: ServiceKey): void {
    this.ctl.zero(key);
  }

  /** The table as it is now (from the transaction's own view). */
  listServices(): ServiceInfo[] {
    const out: ServiceInfo[] = [];
    for (const v of this.view.values()) out.push({ ...v.info, dests: [...v.dests.values()] });
    return out;
  }

  getService(key: ServiceKey): ServiceInfo {
    const s = this.service(key);
    return s ?? this.ctl.getService(key);
  }

  listConnections(): ConnInfo[] {
    return this.ctl.listConnections();
  }

  setTimeouts(t: Partial<Timeouts>): void {
    const before = this.ctl.getTimeouts();
    this.ctl.setTimeouts(t);
    this.undo.push(() => this.ctl.setTimeouts(before));
  }

  getTimeouts(): Timeouts {
    return this.ctl.getTimeouts();
  }

  info(): DirectorInfo {
    return this.ctl.info();
  }

  /** Record an extra undo step (for changes made outside the control API, e.g. mark rules). */
  onRollback(fn: () => void): void {
    this.undo.push(fn);
  }
}

function zeroDest(): DestInfo {
  const stats = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
  return { addr: '', port: 0, method: 'route', weight: 1, upper: 0, lower: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats };
}

function serviceDiffers(cur: ServiceInfo, want: ServiceSpec): boolean {
  return (
    cur.scheduler !== (want.scheduler ?? 'wlc') ||
    cur.persistent !== (want.persistent ?? 0) ||
    cur.netmask !== (want.netmask ?? '255.255.255.255') ||
    cur.onePacket !== Boolean(want.onePacket) ||
    [...cur.schedFlags].sort().join(',') !== [...(want.schedFlags ?? [])].sort().join(',')
  );
}

/** Whether a listed destination differs from a spec (ipvsadm's defaults for absent fields). */
function destDiffers(cur: DestInfo, want: DestSpec): boolean {
  return (
    cur.method !== (want.method ?? 'route') || cur.weight !== (want.weight ?? 1) || cur.upper !== (want.upper ?? 0) || cur.lower !== (want.lower ?? 0) ||
    (want.method === 'tunnel' && tunnelDiffers(cur, want))
  );
}

/** Whether a tunnel destination's type, port or checksum mode differs (ipvsadm's defaults for absent fields). */
function tunnelDiffers(cur: DestInfo, want: DestSpec): boolean {
  return (
    (cur.tunType ?? 'ipip') !== (want.tunType ?? 'ipip') ||
    (cur.tunPort ?? 0) !== (want.tunPort ?? 0) ||
    (cur.tunFlags ?? 'nocsum') !== (want.tunFlags ?? 'nocsum')
  );
}

type TableView = ReadonlyMap<string, { readonly info: ServiceInfo; readonly dests: ReadonlyMap<string, DestInfo> }>;

/** A table view built from a listing (for controls that are not a Transaction). */
function viewOf(services: ServiceInfo[]): TableView {
  return new Map(services.map((s) => [svcKeyString(s), { info: s, dests: new Map(s.dests.map((d) => [destKey(d), d])) }]));
}

/**
 * Apply `wanted` to `ctl` (a Transaction, for all or nothing); returns the changes made.
 * Throws on the first failing operation. Services whose key (svcKeyString) is in `managed`
 * are added, edited and deleted, but their destinations are left alone (a health checker
 * owns them). Order: services added and edited, destinations added, edited and removed,
 * then services removed.
 */
export function reconcile(ctl: DirectorControl, wanted: ServiceConfig[], managed: ReadonlySet<string> = new Set()): Change[] {
  const changes: Change[] = [];
  // a transaction's own (live) view: no second listing of a large table
  const current: TableView = ctl instanceof Transaction ? ctl.table() : viewOf(ctl.listServices());
  const before = new Set(current.keys());
  const seen = new Set<string>();
  const none: ReadonlyMap<string, DestInfo> = new Map();
  for (const w of wanted) {
    const { dests = [], ...spec } = w;
    const k = svcKeyString(spec);
    seen.add(k);
    const cur = current.get(k);
    if (!cur) {
      ctl.addService(spec);
      changes.push({ action: 'add-service', service: k });
    } else if (serviceDiffers(cur.info, spec)) {
      ctl.editService(spec);
      changes.push({ action: 'edit-service', service: k });
    }
    if (managed.has(k)) continue;
    const curDests = (ctl instanceof Transaction ? current.get(k)?.dests : cur?.dests) ?? none;
    const wantDests = new Set<string>();
    // add in configuration order (the kernel list ends up reversed, as with ipvsadm -a)
    for (const d of dests) {
      const dk = destKey(d);
      wantDests.add(dk);
      // (each address appears once in a checked configuration: an entry found here was there before)
      const c = curDests.get(dk);
      if (!c) {
        ctl.addDest(spec, normalizeDest(spec, d));
        changes.push({ action: 'add-dest', service: k, dest: dk });
      } else if (destDiffers(c, d)) {
        ctl.editDest(spec, normalizeDest(spec, d));
        changes.push({ action: 'edit-dest', service: k, dest: dk });
      }
    }
    for (const [dk, d] of curDests) {
      if (!wantDests.has(dk)) {
        ctl.deleteDest(spec, { addr: d.addr, port: d.port });
        changes.push({ action: 'delete-dest', service: k, dest: dk });
      }
    }
  }
  for (const k of before) {
    if (!seen.has(k)) {
      ctl.deleteService(keyOf(current.get(k)!.info));
      changes.push({ action: 'delete-service', service: k });
    }
  }
  return changes;
}
