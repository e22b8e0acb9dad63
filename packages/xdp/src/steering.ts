/**
 * The steering maps of an attached program, edited from JS: virtual services, real
 * servers, ARP and host addresses. The `addrs` map (one entry per address with AddrFlag
 * bits) is derived from the others and kept in step here, with a count per flag.
 */
import { formatIpv4 } from '@tunvs/packet';
import { readFileSync } from 'node:fs';
import { call } from './errors.js';
import { parseAddr, parseEndpoint } from './config.js';
import type { Endpoint, EndpointSpec, ResolvedSteering } from './config.js';
import type { NativeXdp } from './native.js';
import { FRAG_KEY_LEN, MapType } from './bpf/program.js';
import { AddrFlag, EndpointFlag, Stat, STAT_NAMES, addrKey, endpointKey, u32Value } from './steer.js';

const BPF_ANY = 0;

interface AddrUse {
  vip: number;
  real: number;
  host: boolean;
  arp: boolean;
}

/** The identity of a steering entry (its map key, as text): one entry per (address, protocol, port). */
export const endpointId = (e: Endpoint): string => `${e.addr}/${e.proto}/${e.port}`;

/** The steering of one port; every change is one or two map writes. */
export class Steering {
  private readonly vips = new Map<string, Endpoint>();
  private readonly reals = new Map<string, Endpoint>();
  private readonly addrs = new Map<number, AddrUse>();

  /** @internal created by openXdp */
  constructor(
    private readonly n: NativeXdp,
    private readonly fds: { vips: number; reals: number; addrs: number },
    private readonly label: string,
  ) {}

  private use(addr: number): AddrUse {
    let u = this.addrs.get(addr);
    if (!u) {
      u = { vip: 0, real: 0, host: false, arp: false };
      this.addrs.set(addr, u);
    }
    return u;
  }

  private syncAddr(addr: number): void {
    const u = this.addrs.get(addr);
    const flags = u ? (u.vip > 0 ? AddrFlag.Vip : 0) | (u.real > 0 ? AddrFlag.Real : 0) | (u.host ? AddrFlag.Host : 0) | (u.arp ? AddrFlag.Arp : 0) : 0;
    const key = addrKey(addr);
    if (flags === 0) {
      this.addrs.delete(addr);
      call(`removing ${formatIpv4(addr)} from the steering of ${this.label}`, () => this.n.mapDelete(this.fds.addrs, key));
    } else {
      call(`steering ${formatIpv4(addr)} on ${this.label}`, () => this.n.mapUpdate(this.fds.addrs, key, u32Value(flags), BPF_ANY));
    }
  }

  private putEndpoint(kind: 'vips' | 'reals', e: Endpoint): void {
    const table = kind === 'vips' ? this.vips : this.reals;
    const id = endpointId(e);
    const fresh = !table.has(id);
    const value = u32Value(e.addrOnly ? EndpointFlag.AddrOnly | (32 - e.prefix) : 0);
    call(`adding ${kind === 'vips' ? 'virtual service' : 'real server'} ${formatIpv4(e.addr)}:${e.port} to ${this.label}`, () =>
      this.n.mapUpdate(this.fds[kind], endpointKey(e.addr, e.port, e.proto), value, BPF_ANY),
    );
    table.set(id, e);
    if (fresh) {
      const u = this.use(e.addr);
      if (kind === 'vips') u.vip++;
      else u.real++;
      this.syncAddr(e.addr);
    }
  }

  private dropEndpoint(kind: 'vips' | 'reals', e: Endpoint): boolean {
    const table = kind === 'vips' ? this.vips : this.reals;
    const id = endpointId(e);
    if (!table.has(id)) return false;
    call(`removing ${formatIpv4(e.addr)}:${e.port} from ${this.label}`, () => this.n.mapDelete(this.fds[kind], endpointKey(e.addr, e.port, e.proto)));
    table.delete(id);
    const u = this.use(e.addr);
    if (kind === 'vips') u.vip--;
    else u.real--;
    this.syncAddr(e.addr);
    return true;
  }

  /** Steer packets to a virtual service (by their source: the client). */
  addVip(spec: EndpointSpec): void {
    this.putEndpoint('vips', parseEndpoint(spec, 'vip'));
  }

  /** Stop steering a virtual service; false when it was not there. */
  deleteVip(spec: EndpointSpec): boolean {
    return this.dropEndpoint('vips', parseEndpoint(spec, 'vip'));
  }

  /** Steer packets from a real server (by their destination: the client). */
  addReal(spec: EndpointSpec): void {
    this.putEndpoint('reals', parseEndpoint(spec, 'real'));
  }

  /** Stop steering a real server; false when it was not there. */
  deleteReal(spec: EndpointSpec): boolean {
    return this.dropEndpoint('reals', parseEndpoint(spec, 'real'));
  }

  /** ARP requests and replies for this address go to the director (slot 0). */
  setArp(addr: string | number, on: boolean): void {
    const a = parseAddr(addr, 'arp');
    this.use(a).arp = on;
    this.syncAddr(a);
  }

  /** Frames to this address pass to the kernel (unless a virtual service matches). */
  setHost(addr: string | number, on: boolean): void {
    const a = parseAddr(addr, 'host');
    this.use(a).host = on;
    this.syncAddr(a);
  }

  /** Apply a whole steering spec (additions only). */
  apply(s: ResolvedSteering): void {
    for (const e of s.vips) this.putEndpoint('vips', e);
    for (const e of s.reals) this.putEndpoint('reals', e);
    for (const a of s.arp) {
      this.use(a).arp = true;
      this.syncAddr(a);
    }
    for (const a of s.host) {
      this.use(a).host = true;
      this.syncAddr(a);
    }
  }

  /** What is steered now. */
  list(): ResolvedSteering {
    const out: ResolvedSteering = { vips: [...this.vips.values()], reals: [...this.reals.values()], arp: [], host: [] };
    for (const [a, u] of this.addrs) {
      if (u.arp) out.arp.push(a);
      if (u.host) out.host.push(a);
    }
    return out;
  }
}

/** The steering maps of one port (fds), made by `createSteeringMaps`. */
export interface SteeringMapFds {
  vips: number;
  reals: number;
  addrs: number;
  stats: number;
  frags: number;
}

/**
 * Datagrams whose first fragment's slot the program remembers at once (an LRU map: the
 * oldest go first). As many as the Director tracks (FRAG_TABLE_SIZE of @tunvs/engine).
 */
export const FRAG_STEER_ENTRIES = 4096;

/**
 * Create the vips, reals, addrs, stats and frags maps for `sockets` socket indices, fill them
 * (the interface's host addresses first, unless `hostAddresses` is false) and return them
 * with their Steering. `extra` fds made before (e.g. the XSKMAP) are closed on failure too.
 */
export function createSteeringMaps(
  n: NativeXdp,
  ifname: string,
  o: { maxEndpoints: number; hostAddresses: boolean; steer: ResolvedSteering },
  sockets: number,
  made: number[],
): { fds: SteeringMapFds; steering: Steering } {
  const mk = (type: number, k: number, v: number, max: number, name: string): number => {
    const fd = call(`creating the ${name} map for ${ifname}`, () => n.mapCreate(type, k, v, max, 0, name));
    made.push(fd);
    return fd;
  };
  const fds = {
    vips: mk(MapType.Hash, 8, 4, o.maxEndpoints, 'tunvs_vips'),
    reals: mk(MapType.Hash, 8, 4, o.maxEndpoints, 'tunvs_reals'),
    addrs: mk(MapType.Hash, 4, 4, o.maxEndpoints * 2 + 256, 'tunvs_addrs'),
    stats: mk(MapType.PercpuArray, 4, 8, Stat.SocketBase + sockets, 'tunvs_stats'),
    frags: mk(MapType.LruHash, FRAG_KEY_LEN, 4, FRAG_STEER_ENTRIES, 'tunvs_frags'),
  };
  const steering = new Steering(n, fds, ifname);
  if (o.hostAddresses) for (const a of n.hostAddresses(ifname)) steering.setHost(a, true);
  steering.apply(o.steer);
  return { fds, steering };
}

/** Counters of the steering program, summed over CPUs. */
export interface ProgramStats {
  pass: number;
  short: number;
  arp: number;
  fragment: number;
  icmpError: number;
  ip: number;
  /** redirects (XDP: per socket index queue * slots + slot; AF_PACKET: per slot) */
  perSocket: number[];
}

function possibleCpus(): number {
  try {
    const s = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    let max = 0;
    for (const part of s.split(',')) {
      const [a, b] = part.split('-').map(Number);
      max = Math.max(max, (b ?? a!) + 1);
    }
    return max;
  } catch {
    return 1;
  }
}

/** Read the per-CPU counters of a stats map (zeros once `closed`). */
export function readProgramStats(n: NativeXdp, statsFd: number, sockets: number, closed: boolean): ProgramStats {
  const buf = new Uint8Array(8 * possibleCpus());
  const dv = new DataView(buf.buffer);
  const counter = (index: number): number => {
    if (closed || !n.mapLookup(statsFd, u32Value(index), buf)) return 0;
    let sum = 0;
    for (let off = 0; off + 8 <= buf.length; off += 8) sum += Number(dv.getBigUint64(off, true));
    return sum;
  };
  const out: ProgramStats = { pass: 0, short: 0, arp: 0, fragment: 0, icmpError: 0, ip: 0, perSocket: [] };
  STAT_NAMES.forEach((name, i) => (out[name] = counter(i)));
  for (let i = 0; i < sockets; i++) out.perSocket.push(counter(Stat.SocketBase + i));
  return out;
}
