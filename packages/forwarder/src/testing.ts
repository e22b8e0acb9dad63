/**
 * Fixture tables for forwarders, in Katran's style: an input frame as hex, the frames the
 * forwarder sends as hex, and the counters it bumps (subpath `@tunvs/forwarder/testing`).
 * `runFixture` builds one connection, parses the input with `classifyFrame` as the engine
 * does, calls the forwarder operation on a recording Xmit and returns what came out.
 *
 * The recording Xmit stands for a director with address 10.0.0.1/24 and MAC
 * 02:00:00:00:00:01, gateway 10.0.0.254, and fixed neighbours (see `NEIGHBOURS`): on a
 * TAP link every frame sent is written with the Ethernet header the engine's L2 would
 * write; on TUN the IP packet alone.
 */
import { ConnTable } from '@tunvs/conntrack';
import type { LinkKind } from '@tunvs/link';
import { VNET_GSO } from '@tunvs/link';
import { Dest, DestRegistry, Proto } from '@tunvs/model';
import {
  CheckFlags, EthernetView, EtherType, EthField, classifyFrame, emitIcmpError, formatIpv4, parseEndpoint, parseIpv4, parseMac,
  reasonName,
} from '@tunvs/packet';
import type { Test } from 'tap';
import { Packet } from './contract.js';
import type { Forwarder, ForwarderOp, Xmit, XmitCounters } from './contract.js';

/** The director of the fixtures: its address (tunnel source, ICMP errors), MAC, subnet, gateway. */
export const DIRECTOR = { addr: '10.0.0.1', mac: '02:00:00:00:00:01', prefix: 24, gateway: '10.0.0.254' } as const;

/** The neighbours the recording Xmit knows on TAP (address -> MAC); others are unresolved. */
export const NEIGHBOURS: Readonly<Record<string, string>> = {
  '10.0.0.11': '02:00:00:00:00:11',
  '10.0.0.12': '02:00:00:00:00:12',
  '10.0.0.254': '02:00:00:00:00:fe',
};

/** The connection a fixture's packet belongs to. */
export interface FixtureConn {
  protocol: 'tcp' | 'udp';
  /** the real server's tunnel settings (kernel numbers: type 0 ipip 1 gue 2 gre, GUE port, checksum flag bits) */
  tunnel?: { type: number; port?: number; flags?: number };
  /** "a.b.c.d:port" */
  client: string;
  vip: string;
  rs: string;
}

/** One row of a fixture table. */
export interface Fixture {
  /** what the case shows */
  name: string;
  /** the forwarder operation the packet goes through */
  op: ForwarderOp;
  /** the link kind (default tun: raw IPv4; tap: Ethernet frames) */
  link?: LinkKind;
  /** path MTU toward every next hop (default 1500) */
  mtu?: number;
  /** sysctl pmtu_disc (default true) */
  pmtuDisc?: boolean;
  /** vnet header flags of the input packet */
  partialCsum?: boolean;
  gso?: boolean;
  /** with `gso`: the vnet gso_type (default VNET_GSO.TCPV4 for TCP input, UDP_L4 for UDP) and gso_size (default 1448) */
  gsoType?: number;
  gsoSize?: number;
  /** the input frame, hex; spaces, newlines and `#` comments to the end of a line are ignored */
  input: string;
  /** the frames sent, in order, hex (same notation) */
  output: string[];
  /** counters that must have moved (all others stay 0) */
  counters?: Partial<FixtureCounters>;
}

/** A row of a forwarder's table: a fixture, with what its connection changes from the table's. */
export type FixtureRow = Fixture & { conn?: Partial<FixtureConn> };

/** The counters a fixture can check. */
export interface FixtureCounters extends XmitCounters {
  /** ICMP errors the director generated */
  icmpSent: number;
}

/** What a fixture produced. */
export interface FixtureResult {
  /** the frames sent, lower-case hex without spaces */
  output: string[];
  /** every counter, 0 or not */
  counters: FixtureCounters;
}

/** Bytes of a hex string in the fixture notation. */
export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/#[^\n]*/g, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${clean.slice(0, 40)}...`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** The fixture notation's canonical form (lower case, no spaces): for comparing. */
export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** Canonical hex of a fixture string. */
export function canonicalHex(hex: string): string {
  return hexOf(hexBytes(hex));
}

/** A recording Xmit: what the forwarder sends is kept in `sent` as frames. */
export class RecordingXmit implements Xmit {
  readonly counters: FixtureCounters = { ttlExceeded: 0, fragNeeded: 0, noRoute: 0, encapTooBig: 0, tunnelMtuTooSmall: 0, gsoBad: 0, gsoUnsupported: 0, txSlabFull: 0, icmpSent: 0 };
  readonly genBuf = new Uint8Array(70_000);
  /** frames sent */
  readonly sent: Uint8Array[] = [];
  /** the batch clock the forwarders read (fixtures run at time 0) */
  now = 0;
  private ipId = 0;
  private readonly mac = parseMac(DIRECTOR.mac);
  private readonly addr = parseIpv4(DIRECTOR.addr);
  private readonly mask = (0xffffffff << (32 - DIRECTOR.prefix)) >>> 0;
  private readonly gateway = parseIpv4(DIRECTOR.gateway);
  private readonly eth = new EthernetView();

  constructor(
    readonly kind: LinkKind,
    readonly pmtuDisc: boolean,
    private readonly pathMtu: number,
    /** addresses the director answers for (the VIPs): ICMP errors about packets to them come from them */
    private readonly vips: readonly number[],
  ) {}

  route(dst: number): number {
    if (this.kind === 'tun') return dst;
    return ((dst & this.mask) >>> 0) === ((this.addr & this.mask) >>> 0) ? dst : this.gateway;
  }

  mtu(_hop: number): number {
    return this.pathMtu;
  }

  source(_dst: number): number {
    return this.addr;
  }

  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  send(p: Packet, hop: number): void {
    this.frame(p.buf, p.info.l3Off, p.info.ipTotalLen, hop);
  }

  reserve(len: number): number {
    return len + 64 > this.genBuf.length ? -1 : 64;
  }

  sendNew(ip: number, len: number, hop: number): void {
    this.frame(this.genBuf, ip, len, hop);
  }

  icmpError(p: Packet, type: number, code: number, mtu: number): void {
    const ip = this.reserve(96);
    const dst = p.info.dst;
    const src = this.vips.includes(dst) ? dst : this.addr;
    const n = emitIcmpError(this.genBuf, ip, p.buf, p.info.l3Off, p.info.ipTotalLen, type, code, src, mtu);
    if (n === 0) return;
    this.counters.icmpSent++;
    const hop = this.route(p.info.src);
    this.sendNew(ip, n, hop);
  }

  /** Record the IP packet at buf[ip, ip+len) as it would leave toward `hop`. */
  private frame(buf: Uint8Array, ip: number, len: number, hop: number): void {
    if (this.kind === 'tun') {
      this.sent.push(buf.slice(ip, ip + len));
      return;
    }
    const mac = NEIGHBOURS[formatIpv4(hop)];
    if (mac === undefined) throw new Error(`fixture: no neighbour ${formatIpv4(hop)}`);
    const f = new Uint8Array(EthField.HEADER_LEN + len);
    f.set(buf.subarray(ip, ip + len), EthField.HEADER_LEN);
    const e = this.eth.reset(f, 0, f.length);
    e.setDstMac(parseMac(mac));
    e.setSrcMac(this.mac);
    e.etherType = EtherType.Ipv4;
    this.sent.push(f);
  }
}

/** The connection table of a fixture: one connection of `method` for `conn`. */
export function fixtureConnection(method: number, conn: FixtureConn): { conns: ConnTable; slot: number } {
  const registry = new DestRegistry();
  const client = parseEndpoint(conn.client);
  const vip = parseEndpoint(conn.vip);
  const rs = parseEndpoint(conn.rs);
  const dest = new Dest(rs.addr, rs.port, { fwd: method });
  if (conn.tunnel) {
    dest.tunType = conn.tunnel.type;
    dest.tunPort = conn.tunnel.port ?? 0;
    dest.tunFlags = conn.tunnel.flags ?? 0;
  }
  registry.register(dest);
  const conns = new ConnTable({ capacity: 16, registry, seed: 1 });
  const proto = conn.protocol === 'tcp' ? Proto.TCP : Proto.UDP;
  const slot = conns.create(proto, client.addr, client.port, vip.addr, vip.port, rs.addr, rs.port, dest, 0, 0);
  return { conns, slot };
}

/** The counters that moved (non-zero), for comparing with a fixture's `counters`. */
export function movedCounters(c: FixtureCounters): Partial<FixtureCounters> {
  const out: Partial<FixtureCounters> = {};
  for (const [k, v] of Object.entries(c)) if (v !== 0) out[k as keyof FixtureCounters] = v;
  return out;
}

/**
 * The frames of `r` that do not parse as valid with every checksum verified (the L4
 * checksum only when the input's was complete, not partial), each as "#n: reason". An
 * IPIP packet's inner packet is checked too.
 */
export function invalidOutputs(r: FixtureResult, f: Fixture): string[] {
  const kind = f.link ?? 'tun';
  const flags = f.partialCsum ? CheckFlags.IpChecksum | CheckFlags.IcmpChecksum : CheckFlags.All;
  const bad: string[] = [];
  r.output.forEach((hex, n) => {
    const b = hexBytes(hex);
    const info = new Packet().info;
    let v = classifyFrame(b, 0, b.length, kind, info, flags);
    if (v === 0 && info.proto === Proto.IPIP && info.l4Off >= 0) v = classifyFrame(b, info.l4Off, info.l4Len, 'tun', info, flags);
    if (v !== 0) bad.push(`#${n}: ${reasonName(v)}`);
  });
  return bad;
}

/** Run one fixture through `fwd` (whose method the connection gets) and report what came out. */
export function runFixture(fwd: Forwarder, f: Fixture, conn: FixtureConn): FixtureResult {
  const kind = f.link ?? 'tun';
  const { conns, slot } = fixtureConnection(fwd.method, conn);
  const x = new RecordingXmit(kind, f.pmtuDisc ?? true, f.mtu ?? 1500, [parseEndpoint(conn.vip).addr]);
  const input = hexBytes(f.input);
  const p = new Packet();
  p.buf = input;
  p.off = 0;
  const r = classifyFrame(input, 0, input.length, kind, p.info, kind === 'tap' ? CheckFlags.IpChecksum | CheckFlags.IcmpChecksum : CheckFlags.IcmpChecksum);
  if (r !== 0) throw new Error(`fixture '${f.name}': the input does not parse (${reasonName(r)})`);
  p.len = p.info.l3Off + p.info.ipTotalLen;
  p.partialCsum = f.partialCsum ?? false;
  p.gsoType = f.gso ? (f.gsoType ?? (p.info.proto === Proto.UDP ? VNET_GSO.UDP_L4 : VNET_GSO.TCPV4)) : 0;
  p.gsoSize = f.gsoSize ?? 1448;
  fwd[f.op](x, p, conns, slot);
  return { output: x.sent.map(hexOf), counters: { ...x.counters } };
}

/**
 * One tap subtest per row of a table: the frames sent are exactly the row's `output`, exactly its
 * `counters` moved, and every frame sent is valid (`invalidOutputs`). `conn` is the table's
 * connection, which a row's own `conn` fields override, or a function giving a row's.
 */
export function testFixtureTable<R extends FixtureRow>(
  t: Test, fwd: () => Forwarder, rows: readonly R[], conn: FixtureConn | ((row: R) => FixtureConn),
): void {
  for (const f of rows) {
    t.test(f.name, (t) => {
      const r = runFixture(fwd(), f, typeof conn === 'function' ? conn(f) : { ...conn, ...f.conn });
      t.same(r.output, f.output.map(canonicalHex), 'the frames sent');
      t.same(movedCounters(r.counters), f.counters ?? {}, 'the counters moved');
      t.same(invalidOutputs(r, f), [], 'every frame sent is valid');
      t.end();
    });
  }
}
