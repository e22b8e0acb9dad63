/**
 * The service table: the control plane's add/edit/delete of virtual services and their
 * destinations (with the kernel's validation and errno-style errors), and the data
 * plane's lookup of a service for a new flow (`ip_vs_service_find`).
 *
 * Lookups use numeric Map keys (vip * 65536 + port), one map per protocol; they run only
 * for flow-creating packets, never for packets of known connections.
 */
import {
  DEFAULT_KERNEL, DEFAULT_METHOD, DEFAULT_SCHEDULER, NO_SCHEDULER, Dest, DestFlag, DestRegistry, Fwd, Proto, Service, SvcFlag,
  checkDestKey, checkDestRange, checkDestUnicast, checkPe, checkServiceKey, parseDestSpec, parseServiceSpec,
  methodByName, methodName, protocolNumber, schedFlagBits, schedFlagNames, serviceProtocolName,
  TUNNEL_TYPES, tunnelCsumByName, tunnelCsumOfFlag, tunnelTypeByName,
} from '@tunvs/model';
import type { DestInfo, DestSpec, KernelMode, ServiceInfo, ServiceKey, ServiceSpec, StatsInfo } from '@tunvs/model';
import type { Stats } from '@tunvs/model';
import { getScheduler, schedulerNames } from '@tunvs/schedulers';
import { editThresholds } from '@tunvs/conntrack';
import type { SchedulerFactory, SchedulerInstance, SchedulerOptions } from '@tunvs/scheduler';
import { formatIpv4, parseIpv4 } from '@tunvs/packet';
import { fail } from './errors.js';

/** A virtual service with its scheduler state. */
export class VirtualService extends Service {
  sched!: SchedulerInstance;
}

/**
 * `-s none`: the kernel binds no scheduler, and `ip_vs_schedule` then finds no destination
 * for a new flow (persistence templates and existing connections still route).
 */
const NONE_INSTANCE: SchedulerInstance = { schedule: () => null };
const NONE_FACTORY: SchedulerFactory = {
  name: NO_SCHEDULER,
  description: 'no scheduler: only templates and existing connections route',
  create: () => NONE_INSTANCE,
};

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


/** Translate a stats object for the control API. */
/** A destination's values, as the engine keeps them. */
interface DestParams {
  addr: number;
  port: number;
  weight: number;
  fwd: number;
  u: number;
  l: number;
  tunType: number;
  tunPort: number;
  tunFlags: number;
}

/** Copy the tunnel settings (the kernel sets them on add and on edit alike). */
function setTunnel(dest: Dest, p: DestParams): void {
  dest.tunType = p.tunType;
  dest.tunPort = p.tunPort;
  dest.tunFlags = p.tunFlags;
}

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
  /**
   * The clock (ms) the schedulers' own timers follow (lblc/lblcr: the garbage collection
   * runs every 60 s from the service's creation, and entries record their last use by it).
   * Without one, a scheduler's time is what its `tick(now)` was last told, from 0.
   */
  now?: () => number;
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
  /** removed destinations still referenced (connections, lblc/lblcr caches), revived on re-add: service -> addr*65536+port -> dest */
  private readonly trash = new Map<Service, Map<number, Dest>>();
  private trashSize = 0;
  /** purge the trash when it has grown past this (amortised O(1) per removal) */
  private trashPurgeAt = 64;
  /** VIP -> number of services on it */
  private readonly vips = new Map<number, number>();

  constructor(
    private readonly hooks: ServiceTableHooks = {},
    opts: ServiceTableOptions = {},
  ) {
    this.kernel = opts.kernel ?? DEFAULT_KERNEL;
    this.schedOpts = opts.now !== undefined ? { now: opts.now } : {};
  }

  /** What every scheduler instance is created with (the table's clock). */
  readonly schedOpts: SchedulerOptions;

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
  lookup(rawKey: ServiceKey, op = 'lookup'): VirtualService | null {
    const key = checkServiceKey(rawKey, op);
    if (key.fwmark !== undefined) return this.fwm.get(key.fwmark) ?? null;
    const proto = protoNumber(op, key.protocol);
    const vip = parseAddr(op, key.addr);
    const port = key.port ?? 0;
    const map = proto === Proto.TCP ? this.tcp : this.udp;
    return map.get(vip * 65536 + port) ?? null;
  }

  private mustGet(key: ServiceKey, op: string, msg = 'No such service'): VirtualService {
    const s = this.lookup(key, op);
    if (!s) fail('ESRCH', op, msg);
    return s;
  }

  /** The flag bits of a spec checked by checkServiceSpec. */
  private flagsFrom(spec: ServiceSpec): number {
    let flags = schedFlagBits(spec.schedFlags ?? []);
    if (spec.persistent) flags |= SvcFlag.PERSISTENT;
    if (spec.onePacket) flags |= SvcFlag.ONEPACKET;
    return flags;
  }

  private schedFactory(name: string, op: string): SchedulerFactory {
    if (name === NO_SCHEDULER) return NONE_FACTORY;
    try {
      return getScheduler(name);
    } catch {
      return fail('ENOENT', op, `Scheduler not found: '${name}' (known: ${schedulerNames().join(' ')})`);
    }
  }

  /**
   * `-A`, in the kernel's order (do_ip_vs_set_ctl, then ip_vs_add_service): the request's
   * shape (EINVAL), the service itself (EEXIST), the scheduler (ENOENT; `none` binds none),
   * the persistence engine. The first check that fails decides the error.
   */
  addService(rawSpec: ServiceSpec): VirtualService {
    const op = 'addService';
    const spec = parseServiceSpec(rawSpec, op);
    if (this.lookup(spec, op) !== null) fail('EEXIST', op, 'Service already exists');
    const schedName = spec.scheduler ?? DEFAULT_SCHEDULER;
    const factory = this.schedFactory(schedName, op);
    checkPe(spec, op);
    const flags = this.flagsFrom(spec);
    const netmask = spec.netmask !== undefined ? parseAddr(op, spec.netmask) : 0xffffffff;
    let svc: VirtualService;
    if (spec.fwmark !== undefined) {
      const mark = spec.fwmark;
      svc = new VirtualService({ fwmark: mark, flags, schedName, timeout: spec.persistent ?? 0, netmask, kernel: this.kernel });
      this.fwm.set(mark, svc);
    } else {
      const proto = protoNumber(op, spec.protocol);
      const vip = parseAddr(op, spec.addr);
      const port = spec.port ?? 0;
      const map = proto === Proto.TCP ? this.tcp : this.udp;
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
    svc.sched = factory.create(svc, this.schedOpts);
    this.services.push(svc);
    return svc;
  }

  /** `-E`, in the kernel's order: shape, the service (ESRCH), the scheduler (ENOENT), the engine. */
  editService(rawSpec: ServiceSpec): VirtualService {
    const op = 'editService';
    const spec = parseServiceSpec(rawSpec, op);
    const svc = this.mustGet(spec, op);
    const schedName = spec.scheduler ?? DEFAULT_SCHEDULER;
    const factory = this.schedFactory(schedName, op);
    checkPe(spec, op);
    const flags = this.flagsFrom(spec);
    svc.flags = flags | SvcFlag.HASHED;
    svc.timeout = spec.persistent ?? 0;
    svc.netmask = spec.netmask !== undefined ? parseAddr(op, spec.netmask) : 0xffffffff;
    if (schedName !== svc.schedName) {
      svc.sched.done?.();
      svc.schedName = schedName;
      svc.sched = factory.create(svc, this.schedOpts);
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
    // as __ip_vs_del_service: the scheduler is not told of each destination (it goes too)
    for (const d of [...svc.dests]) this.removeDest(svc, d, false);
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

  /** The engine's values of a destination spec (checked by parseDestSpec first). */
  private destParams(op: string, d: DestSpec): DestParams {
    const fwd = methodByName(d.method ?? DEFAULT_METHOD)!.fwd;
    const tun = tunnelTypeByName(d.tunType ?? 'ipip')!;
    const csum = tunnelCsumByName(d.tunFlags ?? 'nocsum')!;
    return {
      addr: parseAddr(op, d.addr), port: d.port, weight: d.weight ?? 1, fwd, u: d.upper ?? 0, l: d.lower ?? 0,
      tunType: tun.kernel, tunPort: d.tunPort ?? 0, tunFlags: csum.flag,
    };
  }

  /**
   * `-a`, in the kernel's order (do_ip_vs_set_ctl, ip_vs_add_dest, ip_vs_new_dest): the
   * request's shape, the service (ESRCH), weight and thresholds (ERANGE), the destination
   * (EEXIST), then for a new destination (not one revived from the trash) a unicast address
   * (EINVAL). `admit` (the link's own refusals) runs last, before anything changes.
   */
  addDest(key: ServiceKey, raw: DestSpec, admit?: (d: DestSpec) => void): Dest {
    const op = 'addDest';
    const spec = parseDestSpec(raw, op);
    const svc = this.mustGet(key, op, 'Service not defined');
    checkDestRange(spec, op);
    const p = this.destParams(op, spec);
    if (svc.findDest(p.addr, p.port)) fail('EEXIST', op, 'Destination already exists');
    const trashed = this.trash.get(svc)?.get(p.addr * 65536 + p.port);
    if (trashed === undefined || trashed.refCount <= 0) checkDestUnicast(spec, op);
    admit?.(spec);
    let dest = this.takeFromTrash(svc, p.addr, p.port);
    if (dest !== undefined && dest.refCount <= 0) {
      this.registry.release(dest);
      dest = undefined;
    }
    if (dest !== undefined) {
      dest.weight = p.weight;
      dest.fwd = p.fwd;
    } else {
      dest = new Dest(p.addr, p.port, { weight: p.weight, fwd: p.fwd });
      this.registry.register(dest);
    }
    setTunnel(dest, p);
    dest.trashedFrom = null;
    dest.lastWeight = p.weight;
    editThresholds(dest, p.u, p.l, this.kernel);
    dest.flags |= DestFlag.AVAILABLE;
    svc.insertDest(dest);
    svc.sched.addDest?.(svc, dest);
    return dest;
  }

  /** `-e`, in the kernel's order: shape, the service (ESRCH), ERANGE, the destination (ENOENT), `admit`. */
  editDest(key: ServiceKey, raw: DestSpec, admit?: (d: DestSpec) => void): Dest {
    const op = 'editDest';
    const spec = parseDestSpec(raw, op);
    const svc = this.mustGet(key, op, 'Service not defined');
    checkDestRange(spec, op);
    const p = this.destParams(op, spec);
    const dest = svc.findDest(p.addr, p.port);
    if (!dest) fail('ENOENT', op, 'No such destination');
    admit?.(spec);
    dest.weight = p.weight;
    if (p.weight !== 0) dest.lastWeight = p.weight;
    dest.fwd = p.fwd;
    setTunnel(dest, p);
    editThresholds(dest, p.u, p.l, this.kernel);
    dest.flags |= DestFlag.AVAILABLE;
    svc.sched.updDest?.(svc, dest);
    return dest;
  }

  deleteDest(key: ServiceKey, spec: Pick<DestSpec, 'addr' | 'port'>): void {
    const op = 'deleteDest';
    const svc = this.mustGet(key, op, 'Service not defined');
    const d = checkDestKey(spec, op);
    const addr = parseAddr(op, d.addr);
    const port = d.port;
    const dest = svc.findDest(addr, port);
    if (!dest) fail('ENOENT', op, 'No such destination');
    this.removeDest(svc, dest);
  }

  private removeDest(svc: VirtualService, dest: Dest, tellScheduler = true): void {
    svc.removeDest(dest);
    dest.flags &= ~DestFlag.AVAILABLE;
    if (tellScheduler) svc.sched.delDest?.(svc, dest);
    dest.service = null;
    dest.trashedFrom = svc;
    let m = this.trash.get(svc);
    if (!m) this.trash.set(svc, (m = new Map()));
    const k = dest.addr * 65536 + dest.port;
    const prev = m.get(k);
    if (prev !== undefined && prev !== dest) {
      // an older removed copy of the same address: only one can be revived
      this.trashSize--;
      if (prev.refCount <= 0) this.registry.release(prev);
    }
    if (prev !== dest) this.trashSize++;
    m.set(k, dest);
    this.hooks.destRemoved?.(dest);
    if (this.trashSize >= this.trashPurgeAt) this.purgeTrash();
  }

  /** The removed destination (addr, port) of `svc`, taken out of the trash. */
  private takeFromTrash(svc: Service, addr: number, port: number): Dest | undefined {
    const m = this.trash.get(svc);
    const k = addr * 65536 + port;
    const d = m?.get(k);
    if (d === undefined) return undefined;
    m!.delete(k);
    if (m!.size === 0) this.trash.delete(svc);
    this.trashSize--;
    return d;
  }

  /** Forget removed destinations that nothing (connection, template, scheduler cache) references any more. */
  purgeTrash(): void {
    for (const [svc, m] of this.trash) {
      for (const [k, d] of m) {
        if (d.refCount > 0) continue;
        m.delete(k);
        this.trashSize--;
        this.registry.release(d);
      }
      if (m.size === 0) this.trash.delete(svc);
    }
    this.trashPurgeAt = Math.max(64, this.trashSize * 2);
  }

  /** Zero one service's counters (and its destinations'), or everything's. */
  zero(key?: ServiceKey): void {
    if (key !== undefined) checkServiceKey(key, 'zero');
    const list = key && (key.fwmark || key.addr) ? [this.mustGet(key, 'zero')] : this.services;
    for (const s of list) {
      s.stats.zero();
      for (const d of s.dests) d.stats.zero();
    }
  }

  // ------------------------------------------------------------------ listing

  static destInfo(d: Dest): DestInfo {
    const tun: Pick<DestInfo, 'tunType' | 'tunPort' | 'tunFlags'> = {};
    if (d.fwd === Fwd.TUNNEL) {
      const t = TUNNEL_TYPES[d.tunType]!;
      tun.tunType = t.name;
      if (t.needsPort) tun.tunPort = d.tunPort;
      if (t.csums.length > 0) tun.tunFlags = tunnelCsumOfFlag(d.tunFlags).name;
    }
    return {
      ...tun,
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
