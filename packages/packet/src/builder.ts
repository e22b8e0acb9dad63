/**
 * A small fluent builder for tests and tools (allocates; not for the data path):
 *
 * ```ts
 * const frame = packet()
 *   .eth({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' })
 *   .ipv4({ src: '10.0.0.1', dst: '10.0.0.2' })
 *   .tcp({ sport: 40000, dport: 80, flags: 'S' })
 *   .payload('hello')
 *   .build();
 * ```
 *
 * Lengths and checksums are filled in unless overridden (`totalLength`, `checksum`, ...),
 * which is how tests make deliberately broken packets. Without `.eth()` the result is a
 * raw IPv4 packet (what a TUN device carries).
 */
import { Proto } from '@tunvs/model';
import { parseIpv4, parseMac } from './address.js';
import { emitArp, ArpOp, ARP_LEN } from './arp.js';
import { wr16 } from './bytes.js';
import { checksum as csum } from './checksum.js';
import { setSctpChecksum } from './crc32c.js';
import { emitEthernet, ethernetHeaderLen, EtherType } from './ethernet.js';
import type { EthernetRepr, VlanTag } from './ethernet.js';
import { emitIcmp, IcmpType, IcmpUnreachCode, ICMP_HEADER_LEN } from './icmp.js';
import { emitIpv4, ipv4HeaderLen, Ipv4Field } from './ipv4.js';
import { emitTcp, tcpHeaderLen, TcpFlag, TcpField } from './tcp.js';
import { emitUdp, UDP_HEADER_LEN, UdpField } from './udp.js';

/** An IPv4 address as a uint32 or a dotted quad. */
export type AddrLike = number | string;
/** A MAC as 6 bytes or "aa:bb:cc:dd:ee:ff". */
export type MacLike = Uint8Array | string;

/** Options of `.eth()`. */
export interface EthSpec {
  src?: MacLike;
  dst?: MacLike;
  /** VLAN id, or a full tag */
  vlan?: number | VlanTag;
  /** override the EtherType (default from the next layer) */
  etherType?: number;
}

/** Options of `.arp()`. */
export interface ArpSpec {
  op?: number;
  senderMac?: MacLike;
  senderIp: AddrLike;
  targetMac?: MacLike;
  targetIp: AddrLike;
}

/** Options of `.ipv4()`. */
export interface Ipv4Spec {
  src: AddrLike;
  dst: AddrLike;
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** in 8-byte units */
  fragOffset?: number;
  /** default from the next layer (or 0xfd, "experimental", with a bare payload) */
  protocol?: number;
  options?: Uint8Array;
  /** override the total length field */
  totalLength?: number;
  /** override the header checksum */
  checksum?: number;
}

/** Options of `.tcp()`. */
export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** TcpFlag bits or letters: "S", "SA", "A", "PA", "FA", "R" (F S R P A U E C N) */
  flags?: number | string;
  window?: number;
  urgent?: number;
  options?: Uint8Array;
  /** override the checksum */
  checksum?: number;
}

/** Options of `.udp()`. */
export interface UdpSpec {
  sport: number;
  dport: number;
  /** false: send checksum 0 ("none"); a number: override */
  checksum?: boolean | number;
  /** override the length field */
  length?: number;
}

/** One SCTP chunk of `.sctp()`: its type, flags and value (bytes, or a length filled 0, 1, 2, ...). */
export interface SctpChunkSpec {
  type: number;
  flags?: number;
  value?: Uint8Array | number;
  /** override the length field (default 4 + the value's length) */
  length?: number;
}

/** Options of `.sctp()`: the common header and the chunks (each padded to 4 bytes but the last's padding kept too). */
export interface SctpSpec {
  sport: number;
  dport: number;
  /** verification tag */
  vtag?: number;
  chunks: SctpChunkSpec[];
  /** override the CRC32c (as the 32-bit number written little-endian) */
  checksum?: number;
}

/** Options of `.icmp()`. */
export interface IcmpSpec {
  type: number;
  code?: number;
  /** echo identifier */
  id?: number;
  /** echo sequence number */
  seq?: number;
  /** next-hop MTU (fragmentation needed) */
  mtu?: number;
  /** all 4 rest-of-header bytes (overrides id/seq/mtu) */
  rest?: number;
  /** override the checksum */
  checksum?: number;
}

/** Default MACs of the builder: 02:00:00:00:00:01 (src) and 02:00:00:00:00:02 (dst). */
export const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
/** See DEFAULT_SRC_MAC. */
export const DEFAULT_DST_MAC = '02:00:00:00:00:02';

function addr(a: AddrLike): number {
  return typeof a === 'number' ? a >>> 0 : parseIpv4(a);
}

function mac(m: MacLike | undefined, dflt: string): Uint8Array {
  if (m === undefined) return parseMac(dflt);
  return typeof m === 'string' ? parseMac(m) : m;
}

const FLAG_LETTERS: Record<string, number> = {
  F: TcpFlag.FIN, S: TcpFlag.SYN, R: TcpFlag.RST, P: TcpFlag.PSH, A: TcpFlag.ACK,
  U: TcpFlag.URG, E: TcpFlag.ECE, C: TcpFlag.CWR, N: TcpFlag.NS,
};

/** TCP flags from letters ("SA" = SYN|ACK); throws on an unknown letter. */
export function tcpFlags(s: string): number {
  let f = 0;
  for (const c of s.toUpperCase()) {
    const b = FLAG_LETTERS[c];
    if (b === undefined) throw new Error(`unknown TCP flag letter '${c}' in '${s}'`);
    f |= b;
  }
  return f;
}

type L4 =
  | { kind: 'tcp'; spec: TcpSpec }
  | { kind: 'udp'; spec: UdpSpec }
  | { kind: 'icmp'; spec: IcmpSpec }
  | { kind: 'sctp'; spec: SctpSpec; bytes: Uint8Array };

/** The fluent packet builder; start with `packet()`. */
export class PacketBuilder {
  private ethSpec: EthSpec | undefined;
  private arpSpec: ArpSpec | undefined;
  private ipSpec: Ipv4Spec | undefined;
  private l4: L4 | undefined;
  private data: Uint8Array = new Uint8Array(0);

  /** Add an Ethernet header (the result becomes a frame). */
  eth(spec: EthSpec = {}): this {
    this.ethSpec = spec;
    return this;
  }
  /** Add an ARP packet (after `.eth()` or alone). */
  arp(spec: ArpSpec): this {
    this.arpSpec = spec;
    return this;
  }
  /** Add an IPv4 header. */
  ipv4(spec: Ipv4Spec): this {
    this.ipSpec = spec;
    return this;
  }
  /** Add a TCP header. */
  tcp(spec: TcpSpec): this {
    this.l4 = { kind: 'tcp', spec };
    return this;
  }
  /** Add a UDP header. */
  udp(spec: UdpSpec): this {
    this.l4 = { kind: 'udp', spec };
    return this;
  }
  /** Add an SCTP packet: common header and chunks (a `.payload()` is appended after them). */
  sctp(spec: SctpSpec): this {
    this.l4 = { kind: 'sctp', spec, bytes: sctpBytes(spec) };
    return this;
  }
  /** Add an ICMP header. */
  icmp(spec: IcmpSpec): this {
    this.l4 = { kind: 'icmp', spec };
    return this;
  }
  /** Set the payload: bytes, a string (UTF-8) or a length (filled with 0, 1, 2, ...). */
  payload(p: Uint8Array | string | number): this {
    if (typeof p === 'number') this.data = Uint8Array.from({ length: p }, (_, i) => i & 0xff);
    else if (typeof p === 'string') this.data = new TextEncoder().encode(p);
    else this.data = p;
    return this;
  }

  /** Build the bytes, filling lengths and checksums (unless overridden). */
  build(): Uint8Array {
    const e = this.ethSpec;
    const ethLen = e ? ethernetHeaderLen({ dst: new Uint8Array(6), src: new Uint8Array(6), etherType: 0, ...(e.vlan !== undefined ? { vlan: toVlan(e.vlan) } : {}) }) : 0;
    let l3Len = 0;
    let ipHl = 0;
    let l4Hl = 0;
    const ip = this.ipSpec;
    const l4 = this.l4;
    if (this.arpSpec) l3Len = ARP_LEN + this.data.length;
    else if (ip) {
      ipHl = ipv4HeaderLen({ ...ipReprBase(ip), options: ip.options ?? new Uint8Array(0) });
      if (l4?.kind === 'tcp') l4Hl = tcpHeaderLen({ srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, ...(l4.spec.options ? { options: l4.spec.options } : {}) });
      else if (l4?.kind === 'udp') l4Hl = UDP_HEADER_LEN;
      else if (l4?.kind === 'icmp') l4Hl = ICMP_HEADER_LEN;
      else if (l4?.kind === 'sctp') l4Hl = l4.bytes.length;
      l3Len = ipHl + l4Hl + this.data.length;
    } else l3Len = this.data.length;
    const out = new Uint8Array(ethLen + l3Len);
    const l3 = ethLen;
    if (e) {
      const et = e.etherType ?? (this.arpSpec ? EtherType.Arp : ip ? EtherType.Ipv4 : 0);
      const repr: EthernetRepr = { dst: mac(e.dst, DEFAULT_DST_MAC), src: mac(e.src, DEFAULT_SRC_MAC), etherType: et };
      if (e.vlan !== undefined) repr.vlan = toVlan(e.vlan);
      emitEthernet(repr, out, 0);
    }
    if (this.arpSpec) {
      const a = this.arpSpec;
      out.set(this.data, l3 + ARP_LEN);
      emitArp({
        op: a.op ?? ArpOp.Request,
        senderMac: mac(a.senderMac, DEFAULT_SRC_MAC),
        senderIp: addr(a.senderIp),
        targetMac: mac(a.targetMac, '00:00:00:00:00:00'),
        targetIp: addr(a.targetIp),
      }, out, l3);
      return out;
    }
    if (!ip) {
      out.set(this.data, l3);
      return out;
    }
    const src = addr(ip.src);
    const dst = addr(ip.dst);
    const l4Off = l3 + ipHl;
    const l4Len = l4Hl + this.data.length;
    out.set(this.data, l4Off + l4Hl);
    let proto = ip.protocol ?? 0xfd;
    if (l4?.kind === 'tcp') {
      const s = l4.spec;
      proto = ip.protocol ?? Proto.TCP;
      emitTcp({
        srcPort: s.sport, dstPort: s.dport, seq: s.seq ?? 0, ack: s.ack ?? 0,
        flags: typeof s.flags === 'string' ? tcpFlags(s.flags) : (s.flags ?? TcpFlag.ACK),
        window: s.window ?? 65535, urgent: s.urgent ?? 0, ...(s.options ? { options: s.options } : {}),
      }, out, l4Off, src, dst, this.data.length);
      if (s.checksum !== undefined) wr16(out, l4Off + TcpField.CHECKSUM, s.checksum);
    } else if (l4?.kind === 'udp') {
      const s = l4.spec;
      proto = ip.protocol ?? Proto.UDP;
      if (s.length !== undefined) {
        // Write the overridden length, then checksum over what is actually there.
        emitUdp({ srcPort: s.sport, dstPort: s.dport, payloadLength: this.data.length }, out, l4Off, src, dst, false);
        wr16(out, l4Off + UdpField.LENGTH, s.length);
      } else {
        emitUdp({ srcPort: s.sport, dstPort: s.dport, payloadLength: this.data.length }, out, l4Off, src, dst, s.checksum !== false);
      }
      if (typeof s.checksum === 'number') wr16(out, l4Off + UdpField.CHECKSUM, s.checksum);
    } else if (l4?.kind === 'sctp') {
      proto = ip.protocol ?? Proto.SCTP;
      out.set(l4.bytes, l4Off);
      if (l4.spec.checksum !== undefined) {
        const c = l4.spec.checksum >>> 0;
        out.set([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24], l4Off + 8);
      } else setSctpChecksum(out, l4Off, l4Len);
    } else if (l4?.kind === 'icmp') {
      const s = l4.spec;
      proto = ip.protocol ?? Proto.ICMP;
      let rest = s.rest;
      if (rest === undefined) {
        if (s.type === IcmpType.DestUnreachable && (s.code ?? 0) === IcmpUnreachCode.FragNeeded) rest = (s.mtu ?? 0) & 0xffff;
        else rest = (((s.id ?? 0) & 0xffff) << 16 | ((s.seq ?? 0) & 0xffff)) >>> 0;
      }
      emitIcmp({ type: s.type, code: s.code ?? 0, rest }, out, l4Off, this.data.length);
      if (s.checksum !== undefined) wr16(out, l4Off + 2, s.checksum);
    }
    emitIpv4({ ...ipReprBase(ip), src, dst, protocol: proto, payloadLength: l4Len, ...(ip.options ? { options: ip.options } : {}) }, out, l3);
    if (ip.totalLength !== undefined) {
      wr16(out, l3 + Ipv4Field.TOTAL_LEN, ip.totalLength);
      if (ip.checksum === undefined) {
        // keep the header checksum right for the overridden length
        wr16(out, l3 + Ipv4Field.CHECKSUM, 0);
        emitChecksumOnly(out, l3, ipHl);
      }
    }
    if (ip.checksum !== undefined) wr16(out, l3 + Ipv4Field.CHECKSUM, ip.checksum);
    return out;
  }
}

function sctpBytes(spec: SctpSpec): Uint8Array {
  const values = spec.chunks.map((c) => (typeof c.value === 'number' ? Uint8Array.from({ length: c.value }, (_, i) => i & 0xff) : (c.value ?? new Uint8Array(0))));
  let n = 12;
  for (const v of values) n += (4 + v.length + 3) & ~3;
  const out = new Uint8Array(n);
  wr16(out, 0, spec.sport);
  wr16(out, 2, spec.dport);
  const tag = (spec.vtag ?? 0) >>> 0;
  wr16(out, 4, tag >>> 16);
  wr16(out, 6, tag & 0xffff);
  let o = 12;
  spec.chunks.forEach((c, i) => {
    const v = values[i]!;
    out[o] = c.type;
    out[o + 1] = c.flags ?? 0;
    wr16(out, o + 2, c.length ?? 4 + v.length);
    out.set(v, o + 4);
    o += (4 + v.length + 3) & ~3;
  });
  return out;
}

function emitChecksumOnly(out: Uint8Array, off: number, hl: number): void {
  wr16(out, off + Ipv4Field.CHECKSUM, csum(out, off, hl));
}

function toVlan(v: number | VlanTag): VlanTag {
  return typeof v === 'number' ? { id: v, pcp: 0, dei: false } : v;
}

function ipReprBase(ip: Ipv4Spec) {
  return {
    src: 0, dst: 0, protocol: 0, payloadLength: 0,
    ttl: ip.ttl ?? 64, tos: ip.tos ?? 0, id: ip.id ?? 0, df: ip.df ?? false, mf: ip.mf ?? false,
    fragOffset: ip.fragOffset ?? 0,
  };
}

/** Start building a packet: `packet().eth().ipv4({...}).udp({...}).payload('x').build()`. */
export function packet(): PacketBuilder {
  return new PacketBuilder();
}

/** The quote an ICMP error carries for `ipPacket`: its IP header + the first 8 payload bytes. */
export function quoteOf(ipPacket: Uint8Array, off = 0): Uint8Array {
  const hl = (ipPacket[off]! & 0xf) << 2;
  return ipPacket.slice(off, Math.min(ipPacket.length, off + hl + 8));
}
