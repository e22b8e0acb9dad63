/**
 * The steering maps of an attached program, edited from JS: virtual services, real
 * servers, ARP and host addresses. The `addrs` map (one entry per address with AddrFlag
 * bits) is derived from the others and kept in step here, with a count per flag.
 */
import { formatIpv4 } from '@tunvs/packet';
import { call } from './errors.js';
import { parseAddr, parseEndpoint } from './config.js';
import type { Endpoint, EndpointSpec, ResolvedSteering } from './config.js';
import type { NativeXdp } from './native.js';
import { AddrFlag, EndpointFlag, addrKey, endpointKey, u32Value } from './steer.js';

const BPF_ANY = 0;

interface AddrUse {
  vip: number;
  real: number;
  host: boolean;
  arp: boolean;
}

const epId = (e: Endpoint): string => `${e.addr}/${e.proto}/${e.port}`;

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
    const id = epId(e);
    const fresh = !table.has(id);
    const value = u32Value(e.addrOnly ? EndpointFlag.AddrOnly : 0);
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
    const id = epId(e);
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
