/**
 * The service table: the control plane's add/edit/delete of virtual services and their
 * destinations (with the kernel's validation and errno-style errors), and the data
 * plane's lookup of a service for a new flow (`ip_vs_service_find`).
 *
 * Lookups use numeric Map keys (vip * 65536 + port), one map per protocol; they run only
 * for flow-creating packets, never for packets of known connections.
 */
import {
  DEFAULT_KERNEL, DEFAULT_METHOD, DEFAULT_SCHEDULER, Dest, DestFlag, DestRegistry, Proto, Service, SvcFlag,
  methodByName, methodName, protocolNumber, schedFlag, schedFlagNames, serviceProtocolName,
} from '@tunvs/model';
import type { DestInfo, DestSpec, KernelMode, ServiceInfo, ServiceKey, ServiceSpec, StatsInfo } from '@tunvs/model';
import type { Stats } from '@tunvs/model';
import { getScheduler, schedulerNames } from '@tunvs/schedulers';
import { editThresholds } from '@tunvs/conntrack';
import type { SchedulerInstance } from '@tunvs/scheduler';
import { formatIpv4, parseIpv4 } from '@tunvs/packet';
import { fail } from './errors.js';

/** A virtual service with its scheduler state. */
export class VirtualService extends Service {
  sched!: SchedulerInstance;
}

/** ipvsadm's default persistence timeout (`-p` without a value). */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;

function parseAddr(op: string, s: string | undefined): number {
  if (s === undefined) fail('EINVAL', op, 'a service address is required');
  try {
    return parseIpv4(s);
  } catch (e) {
    return fail('EINVAL', op, (e as Error).message);
  }
}

function protoNumber(op: string, p: string | undefined): number {
  const n = protocolNumber(p ?? '');
  if (serviceProtocolName(n) === null) fail('EINVAL', op, `unsupported protocol '${String(p)}'`);
  return n;
}

/** Check a port number: an integer 0..65535. */
function checkPort(op: string, port: number | undefined): number {
  const p = port ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > 65535) fail('EINVAL', op, `invalid port ${String(port)}`);
  return p;
}

/** Translate a stats object for the control API. */
export function statsInfo(s: Stats): StatsInfo {
  return {
    conns: s.conns,
    inPkts: s.inPkts,
    outPkts: s.outPkts,
    inBytes: s.inBytes,
    outBytes: s.outBytes,
    cps: s.cps,
    inPps: s.inPps,
    outPps: s.outPps,
    inBps: s.inBps,
    outBps: s.outBps,
  };
}

export interface ServiceTableHooks {
  /** a destination was removed from its service (connections keep using it) */
  destRemoved?(dest: Dest): void;
  /** a VIP appeared (first service on that address): TAP mode announces it */
  vipAdded?(addr: number): void;
}

/** Options of a ServiceTable. */
export interface ServiceTableOptions {
  /** the kernel generation whose rules apply (OVERLOAD on threshold edits, scheduler overhead) */
  kernel?: KernelMode;
}

export class ServiceTable {
  readonly registry = new DestRegistry();
  /** the kernel generation whose rules this table's services and destinations follow */
  readonly kernel: KernelMode;
  /** every service, in the order added */
  readonly services: VirtualService[] = [];
  private readonly tcp = new Map<number, VirtualService>();
  private readonly udp = new Map<number, VirtualService>();
  private readonly fwm = new Map<number, VirtualService>();
  /** number of TCP services on port 21 (enables the FTP-data lookup fallback) */
  private ftpServices = 0;
  /** number of port-0 services per protocol */
  private zeroPortTcp = 0;
  private zeroPortUdp = 0;
  /** removed destinations still referenced by connections, revived on re-add */
  private readonly trash: Dest[] = [];
  /** VIP -> number of services on it */
  private readonly vips = new Map<number, number>();

  constructor(
    private readonly hooks: ServiceTableHooks = {},
    opts: ServiceTableOptions = {},
  ) {
    this.kernel = opts.kernel ?? DEFAULT_KERNEL;
  }

  // ---------------------------------------------------------------- data plane

  /**
   * The service for a packet (ip_vs_service_find): fwmark first, then (proto, vip, port),
   * then the FTP-data fallback to port 21, then port 0. Null when none.
   */
  find(fwmark: number, proto: number, vip: number, port: number): VirtualService | null {
    if (fwmark !== 0) {
      const s = this.fwm.get(fwmark);
      if (s) return s;
    }
    const map = proto === Proto.TCP ? this.tcp : proto === Proto.UDP ? this.udp : null;
    if (map === null) return null;
    const base = vip * 65536;
    const s = map.get(base + port);
    if (s) return s;
    if (proto === Proto.TCP && this.ftpServices > 0 && (port === 20 || port >= 1024)) {
      const f = map.get(base + 21);
      if (f) return f;
    }
    if ((proto === Proto.TCP ? this.zeroPortTcp : this.zeroPortUdp) > 0) {
      const z = map.get(base);
      if (z) return z;
    }
    return null;
  }

  /** Is `addr` the address of some service (a VIP)? */
  isVip(addr: number): boolean {
    return this.vips.has(addr);
  }

  /** All VIPs. */
  vipList(): number[] {
    return [...this.vips.keys()];
  }

  // ------------------------------------------------------------- control plane

  /** Resolve a ServiceKey to the service, or null. */
  lookup(key: ServiceKey, op = 'lookup'): VirtualService | null {
    if (key.fwmark !== undefined && key.fwmark !== 0) return this.fwm.get(key.fwmark >>> 0) ?? null;
    const proto = protoNumber(op, key.protocol);
    const vip = parseAddr(op, key.addr);
    const port = checkPort(op, key.port);
    const map = proto === Proto.TCP ? this.tcp : this.udp;
    return map.get(vip * 65536 + port) ?? null;
  }

  private mustGet(key: ServiceKey, op: string, msg = 'No such service'): VirtualService {
    const s = this.lookup(key, op);
    if (!s) fail('ESRCH', op, msg);
    return s;
  }

  private flagsFrom(spec: ServiceSpec, op: string, schedName: string): number {
    let flags = 0;
    const persistent = spec.persistent ?? 0;
    if (persistent) {
      if (!Number.isInteger(persistent) || persistent < 1 || persistent > 2678400)
        fail('EINVAL', op, `invalid persistence timeout ${persistent}`);
      flags |= SvcFlag.PERSISTENT;
    }
    if (spec.onePacket) flags |= SvcFlag.ONEPACKET;
    for (const f of spec.schedFlags ?? []) {
      const def = schedFlag(f);
      if (def === undefined) fail('EINVAL', op, `invalid scheduler flag '${f}'`);
      if (def.scheduler !== null && def.scheduler !== schedName) fail('EINVAL', op, `incompatible scheduler flag '${f}'`);
      flags |= def.bit;
    }
    return flags;
  }

  private schedFactory(name: string, op: string): ReturnType<typeof getScheduler> {
    try {
      return getScheduler(name);
    } catch {
      return fail('ENOENT', op, `Scheduler not found: '${name}' (known: ${schedulerNames().join(' ')})`);
    }
  }

  addService(spec: ServiceSpec): VirtualService {
    const op = 'addService';
    const schedName = spec.scheduler ?? DEFAULT_SCHEDULER;
    const factory = this.schedFactory(schedName, op);
    if (spec.pe !== undefined && spec.pe !== '' && spec.pe !== 'sip')
      fail('ENOENT', op, `Persistence engine not found: '${spec.pe}'`);
    const flags = this.flagsFrom(spec, op, schedName);
    const netmask = spec.netmask !== undefined ? parseAddr(op, spec.netmask) : 0xffffffff;
    let svc: VirtualService;
    if (spec.fwmark !== undefined && spec.fwmark !== 0) {
      const mark = spec.fwmark >>> 0;
      if (this.fwm.has(mark)) fail('EEXIST', op, 'Service already exists');
      svc = new VirtualService({ fwmark: mark, flags, schedName, timeout: spec.persistent ?? 0, netmask, kernel: this.kernel });
      this.fwm.set(mark, svc);
    } else {
      const proto = protoNumber(op, spec.protocol);
      const vip = parseAddr(op, spec.addr);
      const port = checkPort(op, spec.port);
      if (port === 0 && !(flags & SvcFlag.PERSISTENT))
        fail('EINVAL', op, 'Zero port specified for non-persistent service');
      const map = proto === Proto.TCP ? this.tcp : this.udp;
      if (map.has(vip * 65536 + port)) fail('EEXIST', op, 'Service already exists');
      svc = new VirtualService({ protocol: proto, addr: vip, port, flags, schedName, timeout: spec.persistent ?? 0, netmask, kernel: this.kernel });
      map.set(vip * 65536 + port, svc);
      if (proto === Proto.TCP && port === 21) this.ftpServices++;
      if (port === 0) {
        if (proto === Proto.TCP) this.zeroPortTcp++;
        else this.zeroPortUdp++;
      }
      const n = this.vips.get(vip) ?? 0;
      this.vips.set(vip, n + 1);
      if (n === 0) this.hooks.vipAdded?.(vip);
    }
    svc.flags |= SvcFlag.HASHED;
    svc.sched = factory.create(svc);
    this.services.push(svc);
    return svc;
  }

  editService(spec: ServiceSpec): VirtualService {
    const op = 'editService';
    const svc = this.mustGet(spec, op);
    const schedName = spec.scheduler ?? DEFAULT_SCHEDULER;
    const factory = this.schedFactory(schedName, op);
    const flags = this.flagsFrom(spec, op, schedName);
    if (svc.fwmark === 0 && svc.port === 0 && !(flags & SvcFlag.PERSISTENT))
      fail('EINVAL', op, 'Zero port specified for non-persistent service');
    svc.flags = flags | SvcFlag.HASHED;
    svc.timeout = spec.persistent ?? 0;
    svc.netmask = spec.netmask !== undefined ? parseAddr(op, spec.netmask) : 0xffffffff;
    if (schedName !== svc.schedName) {
      svc.sched.done?.();
      svc.schedName = schedName;
      svc.sched = factory.create(svc);
    }
    return svc;
  }

  deleteService(key: ServiceKey): void {
    const op = 'deleteService';
    const svc = this.mustGet(key, op);
    this.unlinkService(svc);
  }

  clear(): void {
    for (const svc of [...this.services]) this.unlinkService(svc);
  }

  private unlinkService(svc: VirtualService): void {
    for (const d of [...svc.dests]) this.removeDest(svc, d);
    svc.sched.done?.();
    if (svc.fwmark !== 0) this.fwm.delete(svc.fwmark);
    else {
      const map = svc.protocol === Proto.TCP ? this.tcp : this.udp;
      map.delete(svc.addr * 65536 + svc.port);
      if (svc.protocol === Proto.TCP && svc.port === 21) this.ftpServices--;
      if (svc.port === 0) {
        if (svc.protocol === Proto.TCP) this.zeroPortTcp--;
        else this.zeroPortUdp--;
      }
      const n = (this.vips.get(svc.addr) ?? 1) - 1;
      if (n <= 0) this.vips.delete(svc.addr);
      else this.vips.set(svc.addr, n);
    }
    svc.flags &= ~SvcFlag.HASHED;
    const i = this.services.indexOf(svc);
    if (i >= 0) this.services.splice(i, 1);
  }

  private destParams(op: string, d: DestSpec): { addr: number; port: number; weight: number; fwd: number; u: number; l: number } {
    const addr = parseAddr(op, d.addr);
    const port = checkPort(op, d.port);
    const weight = d.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 0) fail('ERANGE', op, 'Numerical result out of range');
    const u = d.upper ?? 0;
    const l = d.lower ?? 0;
    if (!Number.isInteger(u) || u < 0 || !Number.isInteger(l) || l < 0) fail('EINVAL', op, 'invalid threshold');
    if (u !== 0 && l > u) fail('ERANGE', op, 'Numerical result out of range');
    const method = methodByName(d.method ?? DEFAULT_METHOD);
    if (method === undefined) fail('EINVAL', op, `unknown forwarding method '${String(d.method)}'`);
    return { addr, port, weight, fwd: method.fwd, u, l };
  }

  addDest(key: ServiceKey, spec: DestSpec): Dest {
    const op = 'addDest';
    const svc = this.mustGet(key, op, 'Service not defined');
    const p = this.destParams(op, spec);
    if (svc.findDest(p.addr, p.port)) fail('EEXIST', op, 'Destination already exists');
    this.purgeTrash();
    let dest: Dest | undefined;
    const ti = this.trash.findIndex((d) => d.addr === p.addr && d.port === p.port && d.trashedFrom === svc);
    if (ti >= 0) {
      dest = this.trash[ti]!;
      this.trash.splice(ti, 1);
      dest.weight = p.weight;
      dest.fwd = p.fwd;
    } else {
      dest = new Dest(p.addr, p.port, { weight: p.weight, fwd: p.fwd });
      this.registry.register(dest);
    }
    dest.trashedFrom = null;
    dest.lastWeight = p.weight;
    editThresholds(dest, p.u, p.l, this.kernel);
    dest.flags |= DestFlag.AVAILABLE;
    svc.insertDest(dest);
    svc.sched.addDest?.(svc, dest);
    return dest;
  }

  editDest(key: ServiceKey, spec: DestSpec): Dest {
    const op = 'editDest';
    const svc = this.mustGet(key, op, 'Service not defined');
    const p = this.destParams(op, spec);
    const dest = svc.findDest(p.addr, p.port);
    if (!dest) fail('ENOENT', op, 'No such destination');
    dest.weight = p.weight;
    if (p.weight !== 0) dest.lastWeight = p.weight;
    dest.fwd = p.fwd;
    editThresholds(dest, p.u, p.l, this.kernel);
    dest.flags |= DestFlag.AVAILABLE;
    svc.sched.updDest?.(svc, dest);
    return dest;
  }

  deleteDest(key: ServiceKey, spec: Pick<DestSpec, 'addr' | 'port'>): void {
    const op = 'deleteDest';
    const svc = this.mustGet(key, op, 'Service not defined');
    const addr = parseAddr(op, spec.addr);
    const port = checkPort(op, spec.port);
    const dest = svc.findDest(addr, port);
    if (!dest) fail('ENOENT', op, 'No such destination');
    this.removeDest(svc, dest);
  }

  private removeDest(svc: VirtualService, dest: Dest): void {
    svc.removeDest(dest);
    dest.flags &= ~DestFlag.AVAILABLE;
    svc.sched.delDest?.(svc, dest);
    dest.service = null;
    dest.trashedFrom = svc;
    this.trash.push(dest);
    this.hooks.destRemoved?.(dest);
    this.purgeTrash();
  }

  /** Forget removed destinations that no connection references any more. */
  purgeTrash(): void {
    for (let i = this.trash.length - 1; i >= 0; i--) {
      const d = this.trash[i]!;
      if (d.refCount <= 0) {
        this.trash.splice(i, 1);
        this.registry.release(d);
      }
    }
  }

  /** Zero one service's counters (and its destinations'), or everything's. */
  zero(key?: ServiceKey): void {
    const list = key && (key.fwmark || key.addr) ? [this.mustGet(key, 'zero')] : this.services;
    for (const s of list) {
      s.stats.zero();
      for (const d of s.dests) d.stats.zero();
    }
  }

  // ------------------------------------------------------------------ listing

  static destInfo(d: Dest): DestInfo {
    return {
      addr: formatIpv4(d.addr),
      port: d.port,
      method: methodName(d.fwd),
      weight: d.weight,
      upper: d.uThreshold,
      lower: d.lThreshold,
      activeConns: d.activeConns,
      inactConns: d.inactConns,
      persistConns: d.persistConns,
      stats: statsInfo(d.stats),
    };
  }

  static serviceInfo(s: VirtualService): ServiceInfo {
    return {
      fwmark: s.fwmark,
      protocol: s.fwmark !== 0 ? null : serviceProtocolName(s.protocol),
      addr: formatIpv4(s.addr),
      port: s.port,
      scheduler: s.schedName,
      schedFlags: schedFlagNames(s.schedName, s.flags),
      persistent: s.flags & SvcFlag.PERSISTENT ? s.timeout : 0,
      netmask: formatIpv4(s.netmask),
      onePacket: (s.flags & SvcFlag.ONEPACKET) !== 0,
      pe: '',
      dests: s.dests.map((d) => ServiceTable.destInfo(d)),
      stats: statsInfo(s.stats),
    };
  }
}
