/**
 * tunvsd on a kernel-bypass link (device kind `xdp` or `packet`): the Director owns an
 * existing Ethernet interface through @tunvs/xdp (AF_XDP sockets fed by the steering
 * program, or AF_PACKET rings with the same program as filter and fanout), with the
 * interface's MAC and the addresses of the configuration owned in userspace (it answers
 * ARP for them and for the VIPs itself).
 *
 * The steering program only takes the director's frames off the interface: frames to a
 * virtual service, NAT replies from a real server, ARP for an owned address or a VIP. So
 * the steering follows the Director's services: `syncSteering` computes what must be
 * steered from the service list (one pure function, `steeringPlan`) and applies the
 * difference to the port; the daemon calls it after every control operation.
 */
import type { Director } from '@tunvs/engine';
import type { Link } from '@tunvs/link';
import type { ServiceInfo } from '@tunvs/model';
import { ftpHelperBinds, methodByName, protocolNumber } from '@tunvs/model';
import { formatIpv4, maskPrefixLength, parseIpv4 } from '@tunvs/packet';
import { IPPROTO_VRRP, VRRP_MCAST_GROUP } from '@tunvs/vrrp';
import type { VrrpConfig } from '@tunvs/keepalived';
import { endpointId, openPacket, openXdp, parseEndpoint, XdpLink } from '@tunvs/xdp';
import type { PacketLink } from '@tunvs/xdp';
import type { Endpoint, EndpointSpec, Steering } from '@tunvs/xdp';
import type { WorkerLinkSpec } from './workers.js';
import type { XdpTuning } from './config.js';

/** What the daemon needs of its device: the links the Director reads, a name, a way to close. */
export interface DaemonDevice {
  readonly name: string;
  readonly kind: 'tun' | 'tap';
  readonly queues: Link[];
  close(): void;
}

/** What must be steered to the director for a set of services and owned addresses. */
export interface SteeringPlan {
  vips: EndpointSpec[];
  reals: EndpointSpec[];
  /** dotted addresses whose ARP reaches the director */
  arp: string[];
  /** services the program cannot steer (fwmark, IPv6), for a warning */
  unsteered: string[];
  /** how every VIP entry hashes clients (ClientBits) */
  clientBits: ClientBits;
}

/**
 * How the steering's VIP entries hash clients, by number as a sync record has them: VIP
 * (host order) -> protocol << 16 | port -> the client address bits hashed alone (a prefix,
 * 0..32), or -1: address and port.
 */
export type ClientBits = ReadonlyMap<number, ReadonlyMap<number, number>>;

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

/** The key of a virtual service in the steering (and of its VIP entry): dotted VIP, protocol name, port. */
export function steerKey(addr: string, proto: string, port: number): string {
  return `${addr}/${proto}/${port}`;
}

/** Can the program steer service `s` (IPv4, TCP/UDP/SCTP, not a firewall mark)? */
function steerable(s: ServiceInfo): s is SteerableService {
  return s.fwmark === 0 && !s.addr.includes(':') && s.protocol !== null && PROTOS.has(s.protocol);
}

/** Does the FTP helper (its `ports`) bind a destination of service `s` (ftpHelperBinds, the engine's rule)? */
function ftpHelped(s: SteerableService, ftpPorts: readonly number[]): boolean {
  const svc = { protocol: protocolNumber(s.protocol), fwmark: s.fwmark, port: s.port };
  const hasPort = (p: number): boolean => ftpPorts.includes(p);
  return s.dests.some((d) => ftpHelperBinds(methodByName(d.method)?.fwd ?? -1, svc, hasPort));
}

type SteerableService = ServiceInfo & { protocol: 'tcp' | 'udp' | 'sctp' };

/**
 * The steering entries of service `s`: its VIP's (address, port) and its NAT real servers'.
 * A port-0 service's real servers answer from every port (port 0). A service the FTP helper
 * binds (`ftp`) also has the data connections the helper expects: the client's to any port
 * of the VIP (passive), and the server's from any of its ports (active from 20, passive
 * replies): port 0 on both sides.
 */
function entriesOf(s: SteerableService, ftpPorts: readonly number[]): { vips: number[]; reals: [string, number][]; ftp: boolean } {
  const ftp = ftpHelped(s, ftpPorts);
  const reals: [string, number][] = [];
  for (const d of s.dests) if (d.method === 'masq') reals.push([d.addr, s.port === 0 || ftp ? 0 : d.port]);
  return { vips: ftp ? [s.port, 0] : [s.port], reals, ftp };
}

/** The leading one bits of a dotted netmask: the persistence netmask's prefix the steering can hash (all of a contiguous mask). */
export function maskPrefix(netmask: string): number {
  return maskPrefixLength(parseIpv4(netmask));
}

/**
 * The services whose clients are hashed by address alone (keys of `steerKey`), with the
 * client address bits hashed (a prefix length): each
 * persistent service (a client's template and all its connections on one worker) and each
 * one the FTP helper binds (a client's control and data connections on one worker), and
 * every service that shares a steering entry with one of those, transitively. The program
 * steers a frame by one entry, (address, protocol, port) else (address, protocol, 0),
 * whichever service its connection is of: if two services behind one entry hashed their
 * clients differently, the frames of one of them would reach another worker than their
 * connection's (a NAT real server's replies, most of all). Two services meet at an entry
 * they share, and at a real server (address and protocol) where one of the two has port 0.
 *
 * The prefix is the shortest persistence netmask in the group (its leading one bits; 32
 * for FTP and without persistence): the kernel gives the clients of one netmask one
 * template, so they must share a worker; a shorter prefix keeps that for every service of
 * the group.
 */
export function addressSteered(services: readonly ServiceInfo[], ftpPorts: readonly number[]): Map<string, number> {
  const list = services.filter(steerable);
  // union-find over the services' indices
  const up = list.map((_, i) => i);
  const root = (i: number): number => {
    while (up[i] !== i) i = up[i] = up[up[i]!]!;
    return i;
  };
  const join = (a: number, b: number): void => {
    up[root(a)] = root(b);
  };
  // per (address, protocol) of a VIP or a real server: the first service seen on each port
  const vipsAt = new Map<string, Map<number, number>>();
  const realsAt = new Map<string, Map<number, number>>();
  const meet = (at: Map<string, Map<number, number>>, where: string, port: number, i: number): void => {
    let ports = at.get(where);
    if (!ports) at.set(where, (ports = new Map()));
    const first = ports.get(port);
    if (first === undefined) ports.set(port, i);
    else join(i, first);
  };
  const roots: [number, number][] = [];
  list.forEach((s, i) => {
    const e = entriesOf(s, ftpPorts);
    for (const port of e.vips) meet(vipsAt, `${s.addr}/${s.protocol}`, port, i);
    for (const [addr, port] of e.reals) meet(realsAt, `${addr}/${s.protocol}`, port, i);
    if (s.persistent > 0) roots.push([i, maskPrefix(s.netmask)]);
    else if (e.ftp) roots.push([i, 32]);
  });
  // a client's packets to a port with an entry of its own take that entry: at a VIP only
  // equal keys meet. A real server answers from the port its connection went to, which
  // may have another service's entry: there port 0 meets every port
  for (const ports of realsAt.values()) {
    const any = ports.get(0);
    if (any !== undefined) for (const i of ports.values()) join(i, any);
  }
  const prefixOf = new Map<number, number>();
  for (const [i, prefix] of roots) {
    const r = root(i);
    prefixOf.set(r, Math.min(prefix, prefixOf.get(r) ?? 32));
  }
  const out = new Map<string, number>();
  list.forEach((s, i) => {
    const prefix = prefixOf.get(root(i));
    if (prefix !== undefined) out.set(steerKey(s.addr, s.protocol, s.port), prefix);
  });
  return out;
}

/**
 * What VRRP instances on the bypass interface need steered to the Director (vrrp-tap.ts
 * runs them through it): their adverts (IP protocol 112 to the VRRP group or to the
 * Director's own unicast source, with the instance's VRID, which the steering program reads
 * as the port), ARP and ping for their VIPs (also those no virtual service uses: a real
 * servers' gateway VIP). Whether the Director answers is its VRRP
 * gate's business (master or backup); the steering only keeps these frames from the kernel,
 * which has none of these addresses.
 */
export interface VrrpSteering {
  vips: EndpointSpec[];
  arp: string[];
}

/** The steering of the VRRP instances of `cfg` whose interface is `device` (adverts to `defaultSrc` when unicast without unicast_src_ip). */
export function vrrpSteering(cfg: VrrpConfig | undefined, device: string, defaultSrc: string): VrrpSteering {
  const vips = new Map<string, EndpointSpec>();
  const arp = new Set<string>();
  const add = (addr: string, proto: EndpointSpec['proto'], port = 0): void => void vips.set(steerKey(addr, String(proto), port), { addr, proto, port });
  for (const i of cfg?.instances ?? []) {
    if (i.interface !== device) continue;
    // by VRID (the program's "port" of protocol 112): adverts of other VRIDs on the wire
    // stay with the kernel (a host keepalived for them keeps hearing its peers)
    if (i.unicastPeers.length === 0) add(formatIpv4(VRRP_MCAST_GROUP), IPPROTO_VRRP, i.vrid);
    else add(i.unicastSrcIp ?? i.mcastSrcIp ?? defaultSrc, IPPROTO_VRRP, i.vrid); // the source DirectorBackend sends from
    for (const v of [...i.vips, ...i.excludedVips]) {
      if (v.family !== 4) continue;
      arp.add(v.addr);
      add(v.addr, 'icmp');
    }
  }
  return { vips: [...vips.values()], arp: [...arp] };
}

/**
 * The steering of `services`: every IPv4 virtual service by (VIP, protocol, port; port 0 =
 * every port), the NAT real servers by (address, protocol, port) so that their replies reach
 * the worker of the client, hashed on the address alone for the services `addressSteered`
 * names (a persistent client keeps one worker for all its connections); ARP and ICMP for the
 * owned addresses and every VIP. Direct routing and tunnel real servers answer the client themselves: nothing
 * of theirs comes back.
 */
export function steeringPlan(services: readonly ServiceInfo[], owned: readonly string[], ftpPorts: readonly number[], vrrp?: VrrpSteering): SteeringPlan {
  const vips = new Map<string, EndpointSpec>();
  const reals = new Map<string, EndpointSpec>();
  const arp = new Set<string>([...owned, ...(vrrp?.arp ?? [])]);
  for (const v of vrrp?.vips ?? []) vips.set(steerKey(String(v.addr), String(v.proto), v.port ?? 0), v);
  const unsteered: string[] = [];
  const byAddress = addressSteered(services, ftpPorts);
  for (const s of services) {
    if (!steerable(s)) {
      unsteered.push(s.fwmark !== 0 ? `fwmark ${s.fwmark}` : `${s.protocol ?? '?'} ${s.addr}:${s.port}`);
      continue;
    }
    const proto = s.protocol;
    // the services that meet at an entry are all hashed alike (addressSteered)
    const prefix = byAddress.get(steerKey(s.addr, proto, s.port));
    const how = prefix === undefined ? { addrOnly: false } : { addrOnly: true, ...(prefix < 32 ? { prefix } : {}) };
    const e = entriesOf(s, ftpPorts);
    for (const port of e.vips) vips.set(steerKey(s.addr, proto, port), { addr: s.addr, proto, port, ...how });
    arp.add(s.addr);
    for (const [addr, port] of e.reals) reals.set(steerKey(addr, proto, port), { addr, proto, port, ...how });
  }
  // ICMP to the Director's own addresses and the VIPs: echo requests it answers (as Linux's
  // host model) and errors about its connections (the kernel's ip_vs_in_icmp)
  const steeredVips = services.filter((s) => steerable(s)).map((s) => s.addr);
  for (const addr of new Set([...owned, ...steeredVips])) {
    const key = steerKey(addr, 'icmp', 0);
    if (!vips.has(key)) vips.set(key, { addr, proto: 'icmp', port: 0 });
  }
  const clientBits = new Map<number, Map<number, number>>();
  for (const spec of vips.values()) {
    const e = parseEndpoint(spec, 'vip');
    let ports = clientBits.get(e.addr);
    if (!ports) clientBits.set(e.addr, (ports = new Map()));
    ports.set((e.proto << 16) | e.port, e.addrOnly ? e.prefix : -1);
  }
  return { vips: [...vips.values()], reals: [...reals.values()], arp: [...arp], unsteered, clientBits };
}

/**
 * Bring `steering` to `plan`: add (or update) what is wanted, then remove what is no longer
 * wanted, so a service being edited is never left unsteered. Returns the number of map changes.
 */
export function applySteering(steering: Steering, plan: SteeringPlan): number {
  const now = steering.list();
  let n = 0;
  const sync = (want: EndpointSpec[], have: Endpoint[], add: (e: Endpoint) => void, del: (e: Endpoint) => void, what: string): void => {
    const w = new Map<string, Endpoint>();
    for (const e of want) {
      const r = parseEndpoint(e, what);
      w.set(endpointId(r), r);
    }
    const h = new Map(have.map((e) => [endpointId(e), e]));
    for (const [k, e] of w) {
      const old = h.get(k);
      if (old === undefined || old.addrOnly !== e.addrOnly || old.prefix !== e.prefix) {
        add(e);
        n++;
      }
    }
    for (const [k, e] of h) {
      if (w.has(k)) continue;
      del(e);
      n++;
    }
  };
  const wantArp = new Set(plan.arp.map((a) => parseIpv4(a)));
  for (const a of wantArp) {
    if (now.arp.includes(a)) continue;
    steering.setArp(a, true);
    n++;
  }
  sync(plan.vips, now.vips, (e) => steering.addVip(e), (e) => void steering.deleteVip(e), 'vip');
  sync(plan.reals, now.reals, (e) => steering.addReal(e), (e) => void steering.deleteReal(e), 'real');
  for (const a of now.arp) {
    if (wantArp.has(a)) continue;
    steering.setArp(a, false);
    n++;
  }
  return n;
}

/** A kernel-bypass port as the daemon uses it. */
export interface BypassDevice extends DaemonDevice {
  readonly mac: Uint8Array;
  readonly steering: Steering;
  /** 'xdp' or 'packet', and for xdp the attach mode and copy/zero-copy */
  readonly describe: string;
  readonly mtu: number;
  /**
   * With several workers: what each worker opens (slot i for worker i); the port's own
   * `queues` is then empty (no socket is read in the main thread). Empty with one worker.
   */
  readonly workerLinks: WorkerLinkSpec[];
  /** the counters of the sockets read in this thread (AF_XDP: with the kernel's drop reasons) */
  linkStats(): Record<string, number>[];
}

/** One socket's counters for the exit log: its queue (AF_XDP) and slot, then the addon's and the kernel's counters. */
export function socketCounters(l: XdpLink | PacketLink): Record<string, number> {
  return l instanceof XdpLink ? { queue: l.queue, slot: l.slot, ...l.stats() } : { slot: l.slot, ...l.stats() };
}

/**
 * Open `ifname` as an AF_XDP (`xdp`) or AF_PACKET (`packet`) port with an empty steering.
 * With `workers` > 1 the steering program spreads the clients over that many slots and no
 * socket is read here: each worker thread opens its slot (`workerLinks`).
 */
export function openBypassDevice(kind: 'xdp' | 'packet', ifname: string, workers = 1, xdp: XdpTuning = {}, vnetHdr = false): BypassDevice {
  // the director's addresses are its own (userspace), not the interface's: the interface's
  // kernel addresses stay host addresses (their frames pass to the kernel)
  const slots = Array.from({ length: workers }, (_, i) => i);
  if (kind === 'xdp') {
    const port = openXdp({ ifname, steer: {}, slots: workers, ...(workers > 1 ? { openSlots: [] } : {}), ...xdp });
    const desc = port.describe();
    return {
      name: port.ifname,
      kind: 'tap',
      queues: port.links,
      mac: port.mac,
      mtu: desc.mtu,
      steering: port.steering,
      describe: `AF_XDP, ${port.queues.length} queue(s), XDP ${port.mode} mode, ${workers > 1 ? `${workers} slots (one per worker)` : port.zeroCopy ? 'zero-copy' : 'copy'}, TX kicks ${desc.txKick === 'thread' ? 'on a thread per socket' : 'inline'}`,
      workerLinks: workers > 1 ? slots.map((slot) => ({ kind: 'xdp', desc, slot })) : [],
      linkStats: () => port.links.filter((l) => !l.isClosed).map(socketCounters),
      close: () => port.close(),
    };
  }
  const port = openPacket({ ifname, sockets: workers, steer: {}, vnetHdr, ...(workers > 1 ? { openSlots: [] } : {}) });
  if (port.steering === null) throw new Error(`AF_PACKET on ${ifname}: the steering program did not load`);
  const steering = port.steering;
  const desc = port.describe();
  return {
    name: port.ifname,
    kind: 'tap',
    queues: port.links,
    mac: port.mac,
    mtu: port.mtu,
    steering,
    describe: `${workers > 1 ? `AF_PACKET, ${workers} sockets in a steered fanout group (one per worker)` : 'AF_PACKET, 1 socket, steered'}${vnetHdr ? ', vnet header (GSO)' : ''}`,
    workerLinks: workers > 1 ? slots.map((slot) => ({ kind: 'packet', desc, slot })) : [],
    linkStats: () => port.links.filter((l) => !l.isClosed).map(socketCounters),
    close: () => port.close(),
  };
}

/** The device of a Director on several interfaces: named as its first, closing all. */
export function bothDevices(first: BypassDevice, others: readonly BypassDevice[]): DaemonDevice {
  return {
    name: first.name,
    kind: 'tap',
    queues: [...first.queues, ...others.flatMap((o) => o.queues)],
    close: () => {
      // every program detached even when one close throws
      let err: unknown = null;
      for (const d of [first, ...others]) {
        try {
          d.close();
        } catch (e) {
          err ??= e;
        }
      }
      if (err !== null) throw err;
    },
  };
}

/** What a steering sync did: the services it could not steer (for a warning), and how its VIP entries hash clients (SteeringPlan.clientBits). */
export interface SteeringResult {
  unsteered: string[];
  clientBits: ClientBits;
}

/** Steer what `director` serves now (after a control operation). */
export function syncSteering(dev: BypassDevice, director: Director, owned: readonly string[]): SteeringResult {
  return syncSteeringSides([{ dev, owned }], director);
}

/** One interface of a kernel-bypass Director (`device.interfaces`): its port and the addresses it owns. */
export interface BypassSide {
  readonly dev: BypassDevice;
  /** dotted addresses the Director owns on this interface */
  readonly owned: readonly string[];
  /** what the VRRP instances on this interface need steered (the first interface's only), updated on reload */
  readonly vrrp?: VrrpSteering;
}

/**
 * Steer what `director` serves now on each of its interfaces (sides[i] is the Director's
 * interface i): the services and NAT real servers everywhere (a frame of a flow is taken
 * off whichever wire it comes in on), ARP for the interface's own addresses and for the
 * VIPs the Director answers there (`Routes.placed`: the VIP's subnet, else the first).
 */
export function syncSteeringSides(sides: readonly BypassSide[], director: Director): SteeringResult {
  const services = director.listServices();
  const routes = director.routes;
  let result: SteeringResult = { unsteered: [], clientBits: new Map() };
  sides.forEach((side, index) => {
    const plan = steeringPlan(services, side.owned, director.ftpPorts, side.vrrp);
    if (sides.length > 1 && routes !== null) plan.arp = plan.arp.filter((a) => side.owned.includes(a) || routes.placed(parseIpv4(a)) === index);
    applySteering(side.dev.steering, plan);
    result = { unsteered: plan.unsteered, clientBits: plan.clientBits };
  });
  return result;
}

/**
 * Why a keepalived.conf cannot run with further interfaces (`device.interfaces`), or null:
 * a VRRP instance on one of them would hold its VIPs in the kernel while the Director
 * answers for its addresses on that wire.
 */
export function interfacesRefusal(vrrpInterfaces: readonly string[], further: readonly string[]): string | null {
  const bad = vrrpInterfaces.find((i) => further.includes(i));
  if (bad === undefined) return null;
  return `device.interfaces: a vrrp_instance on ${bad}: VRRP runs on the director's first interface (device.name) only; move the instance there`;
}
