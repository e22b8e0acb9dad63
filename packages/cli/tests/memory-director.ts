// An in-memory DirectorControl test double: keeps a service table and raises the same
// ControlErrors the model documents (EEXIST / ESRCH / ENOENT), nothing more. The real
// Director can be dropped in for the same tests.
import { ControlError, SCHEDULER_NAMES } from '@tunvs/model';
import type {
  ConnInfo,
  DestInfo,
  DestSpec,
  DirectorControl,
  DirectorInfo,
  ServiceInfo,
  ServiceKey,
  ServiceSpec,
  StatsInfo,
  Timeouts,
} from '@tunvs/model';

const SCHEDS = new Set<string>(SCHEDULER_NAMES);

export const zeroStats = (): StatsInfo => ({
  conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0,
});

const sameKey = (s: ServiceInfo, k: ServiceKey): boolean =>
  k.fwmark ? s.fwmark === k.fwmark && !!s.ipv6 === !!k.ipv6 : !s.fwmark && s.protocol === k.protocol && s.addr === k.addr && s.port === k.port;

export class MemoryDirector implements DirectorControl {
  services: ServiceInfo[] = [];
  conns: ConnInfo[] = [];
  timeouts: Timeouts = { tcp: 900, tcpfin: 120, udp: 300 };

  private find(key: ServiceKey, op: string): ServiceInfo {
    const s = this.services.find((x) => sameKey(x, key));
    if (!s) throw new ControlError('ESRCH', 'no such service', op);
    return s;
  }

  private apply(s: ServiceInfo, spec: ServiceSpec, op: string): void {
    const sched = spec.scheduler ?? 'wlc';
    if (!SCHEDS.has(sched)) throw new ControlError('ENOENT', 'unknown scheduler', op);
    if (spec.pe && spec.pe !== 'sip') throw new ControlError('ENOENT', 'unknown pe', op);
    s.scheduler = sched;
    s.schedFlags = [...(spec.schedFlags ?? [])];
    s.persistent = spec.persistent ?? 0;
    s.netmask = spec.netmask ?? (s.ipv6 || s.addr.includes(':') ? '128' : '255.255.255.255');
    s.onePacket = !!spec.onePacket;
    s.pe = spec.pe ?? '';
  }

  addService(spec: ServiceSpec): void {
    if (this.services.some((x) => sameKey(x, spec))) throw new ControlError('EEXIST', 'service exists', 'addService');
    const s: ServiceInfo = {
      fwmark: spec.fwmark ?? 0,
      protocol: spec.fwmark ? null : (spec.protocol ?? 'tcp'),
      addr: spec.fwmark ? '' : (spec.addr ?? '0.0.0.0'),
      port: spec.fwmark ? 0 : (spec.port ?? 0),
      scheduler: 'wlc',
      schedFlags: [],
      persistent: 0,
      netmask: '255.255.255.255',
      onePacket: false,
      pe: '',
      dests: [],
      stats: zeroStats(),
    };
    if (spec.ipv6) s.ipv6 = true;
    this.apply(s, spec, 'addService');
    this.services.push(s);
  }

  editService(spec: ServiceSpec): void {
    this.apply(this.find(spec, 'editService'), spec, 'editService');
  }

  deleteService(key: ServiceKey): void {
    const s = this.find(key, 'deleteService');
    this.services = this.services.filter((x) => x !== s);
  }

  clear(): void {
    this.services = [];
  }

  addDest(key: ServiceKey, dest: DestSpec): void {
    const s = this.find(key, 'addDest');
    if (s.dests.some((d) => d.addr === dest.addr && d.port === dest.port))
      throw new ControlError('EEXIST', 'destination exists', 'addDest');
    if ((dest.lower ?? 0) > (dest.upper ?? 0) && (dest.upper ?? 0) !== 0)
      throw new ControlError('ERANGE', 'lower above upper', 'addDest');
    const d: DestInfo = {
      addr: dest.addr,
      port: dest.port,
      method: dest.method ?? 'route',
      weight: dest.weight ?? 1,
      upper: dest.upper ?? 0,
      lower: dest.lower ?? 0,
      activeConns: 0,
      inactConns: 0,
      persistConns: 0,
      stats: zeroStats(),
    };
    if (dest.tunType) d.tunType = dest.tunType;
    if (dest.tunPort) d.tunPort = dest.tunPort;
    if (dest.tunFlags) d.tunFlags = dest.tunFlags;
    s.dests.unshift(d); // the kernel inserts at the head
  }

  editDest(key: ServiceKey, dest: DestSpec): void {
    const s = this.find(key, 'editDest');
    const d = s.dests.find((x) => x.addr === dest.addr && x.port === dest.port);
    if (!d) throw new ControlError('ENOENT', 'no such destination', 'editDest');
    d.method = dest.method ?? 'route';
    d.weight = dest.weight ?? 1;
    d.upper = dest.upper ?? 0;
    d.lower = dest.lower ?? 0;
  }

  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    const s = this.find(key, 'deleteDest');
    const i = s.dests.findIndex((x) => x.addr === dest.addr && x.port === dest.port);
    if (i < 0) throw new ControlError('ENOENT', 'no such destination', 'deleteDest');
    s.dests.splice(i, 1);
  }

  zero(key?: ServiceKey): void {
    const list = key ? [this.find(key, 'zero')] : this.services;
    for (const s of list) {
      s.stats = zeroStats();
      for (const d of s.dests) d.stats = zeroStats();
    }
  }

  listServices(): ServiceInfo[] {
    return structuredClone(this.services);
  }

  getService(key: ServiceKey): ServiceInfo {
    return structuredClone(this.find(key, 'getService'));
  }

  listConnections(): ConnInfo[] {
    return structuredClone(this.conns);
  }

  setTimeouts(t: Partial<Timeouts>): void {
    if (t.tcp) this.timeouts.tcp = t.tcp;
    if (t.tcpfin) this.timeouts.tcpfin = t.tcpfin;
    if (t.udp) this.timeouts.udp = t.udp;
  }

  getTimeouts(): Timeouts {
    return { ...this.timeouts };
  }

  info(): DirectorInfo {
    return { version: 'test', connTableSize: 4096 };
  }
}
