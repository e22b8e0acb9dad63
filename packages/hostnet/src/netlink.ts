/**
 * rtnetlink as keepalived uses it for VRRP (vrrp_ipaddress.c, vrrp_iproute.c,
 * vrrp_vmac.c, vrrp_netlink.c): add and remove addresses (with label, scope, broadcast)
 * and routes (gateway, device, metric, table, scope, type), create and delete a macvlan
 * for use_vmac, bring a link up, list addresses and links, and follow link and address
 * events. Messages are built and parsed here (pure, tested without root); the addon only
 * moves bytes. Host byte order is little-endian on every platform tunvs runs on; the
 * builders use the machine's order through DataView with `LE`.
 */
import { endianness } from 'node:os';
import { call, native, HostnetError } from './native.js';
import type { WatchHandle } from './native.js';

const LE = endianness() === 'LE';

/** Message types. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
} as const;

/** nlmsg_flags. */
export const NLM_F = {
  REQUEST: 0x1,
  ACK: 0x4,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  DUMP: 0x300,
} as const;

/** Multicast groups (bit masks for bind). */
export const RTMGRP = {
  LINK: 0x1,
  IPV4_IFADDR: 0x10,
  IPV4_ROUTE: 0x40,
} as const;

/** Route scopes (rt_scope_t) and their names. */
export const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
/** Route types (rtn_*) by name. */
export const ROUTE_TYPES: Record<string, number> = { unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10 };
/** keepalived's routing protocol number (RTPROT_KEEPALIVED) */
export const RTPROT_KEEPALIVED = 18;
const AF_INET = 2;
const AF_UNSPEC = 0;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_LINK = 5;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_MACVLAN_MODE = 1;
/** MACVLAN_MODE_PRIVATE, what keepalived creates */
export const MACVLAN_MODE_PRIVATE = 1;
const NLA_F_NESTED = 0x8000;

let seqCounter = Math.floor(Date.now() / 1000) & 0x7fffffff;

/** A growing little buffer for one netlink message. */
class MsgWriter {
  private buf = new Uint8Array(256);
  private dv = new DataView(this.buf.buffer);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    nb.set(this.buf);
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.dv.setUint16(this.len, v, LE);
    this.len += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.dv.setUint32(this.len, v >>> 0, LE);
    this.len += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.dv.setInt32(this.len, v, LE);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  pad(): void {
    while (this.len % 4) this.u8(0);
  }
  setU16(at: number, v: number): void {
    this.dv.setUint16(at, v, LE);
  }
  setU32(at: number, v: number): void {
    this.dv.setUint32(at, v >>> 0, LE);
  }
  /** An attribute with raw bytes. */
  attr(type: number, data: Uint8Array): void {
    this.u16(4 + data.length);
    this.u16(type);
    this.bytes(data);
    this.pad();
  }
  attrU32(type: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, LE);
    this.attr(type, b);
  }
  /** A big-endian IPv4 address attribute. */
  attrIp(type: number, a: number): void {
    this.attr(type, new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]));
  }
  attrStr(type: number, s: string): void {
    this.attr(type, new Uint8Array([...Buffer.from(s, 'utf8'), 0]));
  }
  /** Open a nested attribute; returns the offset to close with `end`. */
  nest(type: number): number {
    const at = this.len;
    this.u16(0);
    this.u16(type | NLA_F_NESTED);
    return at;
  }
  end(at: number): void {
    this.setU16(at, this.len - at);
  }
  done(): Uint8Array {
    this.setU32(0, this.len);
    return this.buf.slice(0, this.len);
  }
}

function header(w: MsgWriter, type: number, flags: number): number {
  const seq = (seqCounter = (seqCounter + 1) & 0x7fffffff);
  w.u32(0); // length, set by done()
  w.u16(type);
  w.u16(flags);
  w.u32(seq);
  w.u32(0);
  return seq;
}

/** An address to add or remove (IPv4). */
export interface AddrSpec {
  ifindex: number;
  /** the address as a number */
  addr: number;
  prefix: number;
  /** rt scope number (0 global) */
  scope?: number;
  label?: string;
  broadcast?: number;
  peer?: number;
}

/** RTM_NEWADDR / RTM_DELADDR for an IPv4 address. */
export function addrMessage(add: boolean, a: AddrSpec): Uint8Array {
  const w = new MsgWriter();
  header(w, add ? RTM.NEWADDR : RTM.DELADDR, NLM_F.REQUEST | NLM_F.ACK | (add ? NLM_F.CREATE | NLM_F.EXCL : 0));
  w.u8(AF_INET);
  w.u8(a.prefix);
  w.u8(0);
  w.u8(a.scope ?? 0);
  w.u32(a.ifindex);
  w.attrIp(IFA_LOCAL, a.addr);
  w.attrIp(IFA_ADDRESS, a.peer ?? a.addr);
  if (a.broadcast !== undefined) w.attrIp(IFA_BROADCAST, a.broadcast);
  if (a.label !== undefined) w.attrStr(IFA_LABEL, a.label);
  return w.done();
}

/** A route to add or remove (IPv4). */
export interface RouteSpec {
  dst: number;
  prefix: number;
  via?: number;
  src?: number;
  ifindex?: number;
  metric?: number;
  /** table number (254 main) */
  table?: number;
  scope?: number;
  /** rtn type (1 unicast, 6 blackhole, ...) */
  type?: number;
  protocol?: number;
}

/** RTM_NEWROUTE / RTM_DELROUTE for an IPv4 route. */
export function routeMessage(add: boolean, r: RouteSpec): Uint8Array {
  const w = new MsgWriter();
  header(w, add ? RTM.NEWROUTE : RTM.DELROUTE, NLM_F.REQUEST | NLM_F.ACK | (add ? NLM_F.CREATE | NLM_F.EXCL : 0));
  const table = r.table ?? 254;
  const type = r.type ?? 1;
  w.u8(AF_INET);
  w.u8(r.prefix);
  w.u8(0);
  w.u8(0);
  w.u8(table < 256 ? table : 252);
  w.u8(r.protocol ?? RTPROT_KEEPALIVED);
  w.u8(r.scope ?? (type === 1 && r.via === undefined ? 253 : 0));
  w.u8(type);
  w.u32(0);
  if (r.prefix > 0 || r.dst !== 0) w.attrIp(RTA_DST, r.dst);
  if (r.via !== undefined) w.attrIp(RTA_GATEWAY, r.via);
  if (r.src !== undefined) w.attrIp(RTA_PREFSRC, r.src);
  if (r.ifindex !== undefined) w.attrU32(RTA_OIF, r.ifindex);
  if (r.metric !== undefined) w.attrU32(RTA_PRIORITY, r.metric);
  if (table >= 256) w.attrU32(RTA_TABLE, table);
  return w.done();
}

/** NTF_PROXY: a proxy-ARP entry (`ip neigh add proxy ADDR dev IF`) */
const NTF_PROXY = 0x08;
const NDA_DST = 1;
const NUD_PERMANENT = 0x80;

/**
 * RTM_NEWNEIGH / RTM_DELNEIGH of a proxy-ARP entry: the kernel answers ARP for `addr` on
 * the interface (when the route to `addr` leaves by another one).
 */
export function proxyNeighMessage(add: boolean, ifindex: number, addr: number): Uint8Array {
  const w = new MsgWriter();
  header(w, add ? RTM.NEWNEIGH : RTM.DELNEIGH, NLM_F.REQUEST | NLM_F.ACK | (add ? NLM_F.CREATE | NLM_F.REPLACE : 0));
  w.u8(AF_INET);
  w.u8(0);
  w.u16(0);
  w.i32(ifindex);
  w.u16(NUD_PERMANENT);
  w.u8(NTF_PROXY);
  w.u8(0);
  w.attrIp(NDA_DST, addr);
  return w.done();
}

/** RTM_NEWLINK creating a macvlan on `linkIndex` (keepalived's use_vmac: private mode). */
export function macvlanMessage(name: string, linkIndex: number, mac: Uint8Array, mode = MACVLAN_MODE_PRIVATE): Uint8Array {
  const w = new MsgWriter();
  header(w, RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
  w.u8(AF_UNSPEC);
  w.u8(0);
  w.u16(0);
  w.i32(0);
  w.u32(0);
  w.u32(0);
  w.attrStr(IFLA_IFNAME, name);
  w.attrU32(IFLA_LINK, linkIndex);
  w.attr(IFLA_ADDRESS, mac);
  const li = w.nest(IFLA_LINKINFO);
  w.attrStr(IFLA_INFO_KIND, 'macvlan');
  const data = w.nest(IFLA_INFO_DATA);
  w.attrU32(IFLA_MACVLAN_MODE, mode);
  w.end(data);
  w.end(li);
  return w.done();
}

/** RTM_NEWLINK setting IFF_UP (or clearing it) on an interface. */
export function linkUpMessage(index: number, up: boolean): Uint8Array {
  const w = new MsgWriter();
  header(w, RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK);
  w.u8(AF_UNSPEC);
  w.u8(0);
  w.u16(0);
  w.i32(index);
  w.u32(up ? 1 : 0);
  w.u32(1);
  return w.done();
}

/** RTM_DELLINK. */
export function delLinkMessage(index: number): Uint8Array {
  const w = new MsgWriter();
  header(w, RTM.DELLINK, NLM_F.REQUEST | NLM_F.ACK);
  w.u8(AF_UNSPEC);
  w.u8(0);
  w.u16(0);
  w.i32(index);
  w.u32(0);
  w.u32(0);
  return w.done();
}

/** A dump request (RTM_GETLINK, RTM_GETADDR). */
export function dumpMessage(type: number): Uint8Array {
  const w = new MsgWriter();
  header(w, type, NLM_F.REQUEST | NLM_F.DUMP);
  w.u8(type === RTM.GETADDR ? AF_INET : AF_UNSPEC);
  for (let i = 0; i < (type === RTM.GETADDR ? 7 : 15); i++) w.u8(0);
  return w.done();
}

/** One message as received. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  /** payload after the 16-byte header */
  body: Uint8Array;
}

/** Split a datagram into messages. */
export function splitMessages(data: Uint8Array): NlMessage[] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: NlMessage[] = [];
  let off = 0;
  while (off + 16 <= data.length) {
    const len = dv.getUint32(off, LE);
    if (len < 16 || off + len > data.length) break;
    out.push({ type: dv.getUint16(off + 4, LE), flags: dv.getUint16(off + 6, LE), seq: dv.getUint32(off + 8, LE), body: data.subarray(off + 16, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

function attrs(b: Uint8Array, start: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = start;
  while (off + 4 <= b.length) {
    const len = dv.getUint16(off, LE);
    const type = dv.getUint16(off + 2, LE) & 0x3fff;
    if (len < 4 || off + len > b.length) break;
    m.set(type, b.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return m;
}

const ip4 = (b: Uint8Array | undefined): number | undefined => (b && b.length >= 4 ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 : undefined);
const str = (b: Uint8Array | undefined): string | undefined => (b ? Buffer.from(b).toString('utf8').replace(/\0.*$/s, '') : undefined);

/** A link (RTM_NEWLINK/DELLINK body). */
export interface LinkInfo {
  index: number;
  name: string;
  flags: number;
  deleted: boolean;
}

/** An IPv4 address (RTM_NEWADDR/DELADDR body). */
export interface AddrInfo {
  index: number;
  addr: number;
  prefix: number;
  scope: number;
  label?: string;
  deleted: boolean;
}

/** Parse a link message body. */
export function parseLink(m: NlMessage): LinkInfo | null {
  if (m.body.length < 16) return null;
  const dv = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const a = attrs(m.body, 16);
  return { index: dv.getInt32(4, LE), flags: dv.getUint32(8, LE), name: str(a.get(IFLA_IFNAME)) ?? '', deleted: m.type === RTM.DELLINK };
}

/** Parse an IPv4 address message body (null for other families). */
export function parseAddr(m: NlMessage): AddrInfo | null {
  if (m.body.length < 8 || m.body[0] !== AF_INET) return null;
  const dv = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const a = attrs(m.body, 8);
  const addr = ip4(a.get(IFA_LOCAL)) ?? ip4(a.get(IFA_ADDRESS));
  if (addr === undefined) return null;
  const out: AddrInfo = { index: dv.getUint32(4, LE), addr, prefix: m.body[1]!, scope: m.body[3]!, deleted: m.type === RTM.DELADDR };
  const label = str(a.get(IFA_LABEL));
  if (label !== undefined) out.label = label;
  return out;
}

/** Events of a subscribed netlink socket. */
export interface NetlinkEvents {
  link?(l: LinkInfo): void;
  addr?(a: AddrInfo): void;
}

/** A NETLINK_ROUTE connection: requests with acknowledgements, dumps, and event following. */
export class Rtnetlink {
  private readonly fd: number;
  private closed = false;

  constructor() {
    this.fd = call('rtnetlink socket', () => native().openNetlink(0, true));
  }

  /** Send a request; throws a HostnetError with the kernel's errno on a negative ACK. */
  request(msg: Uint8Array, what: string): NlMessage[] {
    const r = call(what, () => native().netlinkRequest(this.fd, msg));
    if (r.error !== 0) {
      const code = ERRNAMES[r.error] ?? `E${r.error}`;
      throw new HostnetError(`${what}: ${code} (${ERRTEXT[code] ?? 'rtnetlink refused it'})`, code, r.error, 'rtnetlink');
    }
    return r.messages.flatMap(splitMessages);
  }

  addAddress(a: AddrSpec): void {
    this.request(addrMessage(true, a), `add address ${fmt(a.addr)}/${a.prefix} on interface ${a.ifindex}`);
  }
  delAddress(a: AddrSpec): void {
    this.request(addrMessage(false, a), `remove address ${fmt(a.addr)}/${a.prefix} from interface ${a.ifindex}`);
  }
  addRoute(r: RouteSpec): void {
    this.request(routeMessage(true, r), `add route ${fmt(r.dst)}/${r.prefix}`);
  }
  delRoute(r: RouteSpec): void {
    this.request(routeMessage(false, r), `remove route ${fmt(r.dst)}/${r.prefix}`);
  }
  addProxyNeigh(ifindex: number, addr: number): void {
    this.request(proxyNeighMessage(true, ifindex, addr), `add proxy-ARP entry ${fmt(addr)} on interface ${ifindex}`);
  }
  delProxyNeigh(ifindex: number, addr: number): void {
    this.request(proxyNeighMessage(false, ifindex, addr), `remove proxy-ARP entry ${fmt(addr)} from interface ${ifindex}`);
  }
  addMacvlan(name: string, linkIndex: number, mac: Uint8Array): void {
    this.request(macvlanMessage(name, linkIndex, mac), `create macvlan ${name}`);
  }
  setLinkUp(index: number, up: boolean): void {
    this.request(linkUpMessage(index, up), `set interface ${index} ${up ? 'up' : 'down'}`);
  }
  delLink(index: number): void {
    this.request(delLinkMessage(index), `delete interface ${index}`);
  }
  /** Every IPv4 address of the namespace. */
  addresses(): AddrInfo[] {
    return this.request(dumpMessage(RTM.GETADDR), 'list addresses').map(parseAddr).filter((a): a is AddrInfo => a !== null);
  }
  /** Every link of the namespace. */
  links(): LinkInfo[] {
    return this.request(dumpMessage(RTM.GETLINK), 'list links').map(parseLink).filter((l): l is LinkInfo => l !== null);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().closeFd(this.fd);
  }
}

/** Follow link and IPv4 address changes (keepalived's netlink "monitor" socket). */
export class NetlinkMonitor {
  private readonly watcher: WatchHandle;

  constructor(ev: NetlinkEvents, groups = RTMGRP.LINK | RTMGRP.IPV4_IFADDR) {
    const fd = call('rtnetlink event socket', () => native().openNetlink(groups, false));
    this.watcher = call('watch rtnetlink', () =>
      native().watch(fd, 1, (data) => {
        for (const m of splitMessages(data)) {
          if (m.type === RTM.NEWLINK || m.type === RTM.DELLINK) {
            const l = parseLink(m);
            if (l) ev.link?.(l);
          } else if (m.type === RTM.NEWADDR || m.type === RTM.DELADDR) {
            const a = parseAddr(m);
            if (a) ev.addr?.(a);
          }
        }
      }),
    );
  }

  ref(on: boolean): void {
    native().setRef(this.watcher, on);
  }

  close(): void {
    native().unwatch(this.watcher);
  }
}

const fmt = (a: number): string => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

const ERRNAMES: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 13: 'EACCES', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 95: 'EOPNOTSUPP', 99: 'EADDRNOTAVAIL', 101: 'ENETUNREACH' };
const ERRTEXT: Record<string, string> = {
  EPERM: 'needs root (CAP_NET_ADMIN)',
  EEXIST: 'it already exists',
  EADDRNOTAVAIL: 'no such address on that interface',
  ESRCH: 'no such route',
  ENODEV: 'no such interface',
  ENETUNREACH: 'the gateway is not reachable on any interface',
  EINVAL: 'invalid request',
  EOPNOTSUPP: 'not supported by this kernel',
};
