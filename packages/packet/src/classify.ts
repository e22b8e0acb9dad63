/**
 * The whole-frame classifier for untrusted input, and the one parser of the data path:
 * Ethernet (+ one VLAN tag) -> ARP or IPv4 -> TCP/UDP/SCTP/ICMP (+ the datagram an ICMP
 * error quotes; SCTP: the common header and the first chunk, and the chunk after a
 * COOKIE ECHO/ACK), returning 0 or a `ParseReason` and filling a reusable `FrameInfo` with every
 * offset and header field the director needs next, so that nothing after it reads a
 * header by offset again. Never throws, never allocates.
 */
import { Proto } from '@tunvs/model';
import { rd16 } from './bytes.js';
import { checkArp } from './arp.js';
import { csumPartial, ipv4HeaderCsumOk } from './checksum.js';
import { EthField, EtherType } from './ethernet.js';
import { IcmpField, checkIcmpQuote, isIcmpError } from './icmp.js';
import { checkIpv4, Ipv4Field, Ipv4Flag } from './ipv4.js';
import { CheckFlags, ParseReason } from './reason.js';
import { checkSctp, SctpField } from './sctp.js';
import { checkTcp, TcpField } from './tcp.js';
import { checkUdp, checkUdpHeader, UdpField } from './udp.js';

// Imported tables read through same-module constants: V8 folds these, but loads the
// properties of an imported `as const` object on every call of a hot function.
const OK = ParseReason.Ok;
const { TCP, UDP, ICMP, SCTP } = Proto;
const { L4Checksum: L4_CHECKSUM, IcmpChecksum: ICMP_CHECKSUM } = CheckFlags;
const { HEADER_LEN, TOTAL_LEN, IDENT, FLAGS_FRAG, TTL, PROTOCOL, SRC, DST } = Ipv4Field;
const IP_CHECKSUM = CheckFlags.IpChecksum;
const R_IP_BAD_CHECKSUM = ParseReason.Ipv4BadChecksum;
const { MF, OffsetMask: OFFSET_MASK } = Ipv4Flag;
const { FLAGS: TCP_FLAGS, HEADER_LEN: TCP_HEADER, DATA_OFF: TCP_DATA_OFF } = TcpField;
const { TcpTruncated: R_TCP_TRUNCATED, TcpBadDataOffset: R_TCP_BAD_DATA_OFFSET } = ParseReason;

const TCP_CSUM = TcpField.CHECKSUM;
const UDP_CSUM = UdpField.CHECKSUM;

/**
 * Offset of the L4 checksum field within a classified TCP or UDP datagram's L4 header, or
 * -1 when the frame has no L4 header (a later fragment) or another protocol: where a
 * forwarder finds the partial checksum of an offloaded packet.
 */
export function l4ChecksumField(info: FrameInfo): number {
  if (info.l4Off < 0) return -1;
  const proto = info.proto;
  return proto === TCP ? TCP_CSUM : proto === UDP ? UDP_CSUM : -1;
}

/** What a classified frame is. */
export const FrameKind = {
  None: 0,
  Ipv4: 1,
  Arp: 2,
} as const;

/**
 * Offsets and header fields of the last classified frame; reuse one instance per loop.
 * After a verdict other than 0 only `kind` (None) is meaningful.
 */
export class FrameInfo {
  /** FrameKind of the frame (None when classification failed) */
  kind = 0;
  /** EtherType of the payload (0x0800 on tun) */
  etherType = 0;
  /** VLAN id, or -1 when untagged (always -1 on tun) */
  vlanId = -1;
  /** absolute offset of the Ethernet header, -1 on tun */
  l2Off = -1;
  /** absolute offset of the ARP packet or IPv4 header */
  l3Off = 0;
  /** IPv4 header length */
  ipHeaderLen = 0;
  /** IPv4 total length (may be less than the frame: padding) */
  ipTotalLen = 0;
  /** IP protocol (Proto of @tunvs/model) */
  proto = 0;
  /** IPv4 source address (uint32) */
  src = 0;
  /** IPv4 destination address (uint32) */
  dst = 0;
  /** IPv4 identification */
  ipId = 0;
  /** IPv4 time to live, as received */
  ttl = 0;
  /** the IPv4 flags + fragment offset word */
  fragWord = 0;
  /** MF set or fragment offset non-zero */
  fragment = false;
  /** absolute offset of the L4 header, or -1 (non-first fragment) */
  l4Off = -1;
  /** bytes from the L4 header to the end of the IP datagram (this fragment) */
  l4Len = 0;
  /** TCP/UDP source port, 0 for other protocols and non-first fragments */
  srcPort = 0;
  /** TCP/UDP destination port, 0 for other protocols and non-first fragments */
  dstPort = 0;
  /** the TCP flags byte (FIN 0x01 .. CWR 0x80), 0 when not TCP */
  tcpFlags = 0;
  /** SCTP: the type of the first chunk, -1 when not SCTP (or a non-first fragment) */
  sctpChunk = -1;
  /**
   * SCTP: the type of the second chunk when the first is a COOKIE ECHO or COOKIE ACK and
   * the second lies in the packet (the kernel looks there for a bundled ABORT), else -1
   */
  sctpNextChunk = -1;
  /** ICMP type, -1 when not ICMP (or a non-first fragment) */
  icmpType = -1;
  /** ICMP code (meaningful when `icmpType` >= 0) */
  icmpCode = 0;
  /** ICMP errors: absolute offset of the quoted datagram (its IPv4 header), else -1 */
  quoteOff = -1;
  /** ICMP errors: bytes of quote (at least its header + 8; meaningful when `quoteOff` >= 0) */
  quoteLen = 0;

  /** Don't-fragment flag. */
  get df(): boolean {
    return (this.fragWord & Ipv4Flag.DF) !== 0;
  }
  /** More-fragments flag. */
  get mf(): boolean {
    return (this.fragWord & MF) !== 0;
  }
  /** Fragment offset in 8-byte units (non-zero: a later fragment, without L4 header). */
  get fragOffset(): number {
    return this.fragWord & OFFSET_MASK;
  }

  /** Clear every field. */
  clear(): void {
    this.kind = FrameKind.None;
    this.etherType = 0;
    this.vlanId = -1;
    this.l2Off = -1;
    this.l3Off = 0;
    this.ipHeaderLen = 0;
    this.ipTotalLen = 0;
    this.proto = 0;
    this.src = 0;
    this.dst = 0;
    this.ipId = 0;
    this.ttl = 0;
    this.fragWord = 0;
    this.fragment = false;
    this.l4Off = -1;
    this.l4Len = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.sctpChunk = -1;
    this.sctpNextChunk = -1;
    this.icmpType = -1;
    this.icmpCode = 0;
    this.quoteOff = -1;
    this.quoteLen = 0;
  }
}

const scratch = new FrameInfo();

/**
 * Classify `buf[off, off+len)`: an Ethernet frame (`layer` 'tap') or an IPv4 packet
 * ('tun'). Returns 0 when the frame is a well-formed ARP or IPv4 packet (any IP
 * protocol; TCP/UDP/ICMP headers checked, and the quote of an ICMP error; non-first
 * fragments carry no L4 header, first fragments must hold the whole L4 header) or a
 * `ParseReason`. `flags` (CheckFlags) selects checksum verification: by default the IPv4
 * header checksum only. `info`, if given, is filled in.
 */
export function classifyFrame(
  buf: Uint8Array, off: number, len: number, layer: 'tun' | 'tap',
  info: FrameInfo = scratch, flags: number = CheckFlags.IpChecksum,
): number {
  info.kind = FrameKind.None;
  if (layer !== 'tap') {
    info.etherType = EtherType.Ipv4;
    info.vlanId = -1;
    info.l2Off = -1;
    return classifyIpv4(buf, off, len, info, flags);
  }
  if (off < 0 || len < 0 || off + len > buf.length || len < EthField.HEADER_LEN) return ParseReason.EthTruncated;
  let et = rd16(buf, off + EthField.ETHERTYPE);
  let hl: number = EthField.HEADER_LEN;
  info.l2Off = off;
  info.vlanId = -1;
  if (et === EtherType.Vlan || et === EtherType.QinQ) {
    if (len < EthField.VLAN_HEADER_LEN) return ParseReason.VlanTruncated;
    info.vlanId = rd16(buf, off + EthField.VLAN_TCI) & 0xfff;
    et = rd16(buf, off + EthField.VLAN_ETHERTYPE);
    hl = EthField.VLAN_HEADER_LEN;
  }
  info.etherType = et;
  if (et === EtherType.Ipv4) return classifyIpv4(buf, off + hl, len - hl, info, flags);
  if (et === EtherType.Arp) {
    const r = checkArp(buf, off + hl, len - hl);
    if (r !== 0) return r;
    info.kind = FrameKind.Arp;
    info.l3Off = off + hl;
    return OK;
  }
  return et === EtherType.Ipv6 ? ParseReason.Ipv6Unsupported : ParseReason.EtherTypeUnsupported;
}

/**
 * Classify an IPv4 packet at `buf[off, off+len)` (the L3 part of `classifyFrame`; `len`
 * may exceed the total length: link padding). Fills the IPv4 and L4 fields of `info`
 * (not the Ethernet ones).
 */
export function classifyIpv4(buf: Uint8Array, off: number, len: number, info: FrameInfo, flags: number = CheckFlags.IpChecksum): number {
  info.kind = NONE;
  // the common case, every byte read once: a 20-byte header (version 4, IHL 5) within the
  // buffer, a whole TCP or UDP datagram, no L4 checksum to verify; the checks of
  // `checkIpv4` in its order. Everything else (and every refusal but a bad IP checksum)
  // takes the general path.
  if (len >= HEADER_LEN && off >= 0 && off + len <= buf.length && buf[off] === 0x45 && (flags & L4_CHECKSUM) === 0) {
    const total = (buf[off + TOTAL_LEN]! << 8) | buf[off + TOTAL_LEN + 1]!;
    const fw = (buf[off + FLAGS_FRAG]! << 8) | buf[off + FLAGS_FRAG + 1]!;
    const proto = buf[off + PROTOCOL]!;
    if (total <= len && total >= HEADER_LEN && (fw & FRAGMENT_BITS) === 0 && (proto === TCP || proto === UDP)) {
      if ((flags & IP_CHECKSUM) !== 0 && !ipv4HeaderCsumOk(buf, off, HEADER_LEN)) return R_IP_BAD_CHECKSUM;
      return tcpUdp(buf, off, HEADER_LEN, total, fw, proto, info);
    }
  }
  return classifyIpv4General(buf, off, len, info, flags);
}

/** `classifyIpv4` for any packet: options, fragments, other protocols, L4 checksums, refusals. */
function classifyIpv4General(buf: Uint8Array, off: number, len: number, info: FrameInfo, flags: number): number {
  const r = checkIpv4(buf, off, len, flags);
  if (r !== 0) return r;
  const hl = (buf[off]! & 0xf) << 2;
  const total = rd16(buf, off + TOTAL_LEN);
  const fw = rd16(buf, off + FLAGS_FRAG);
  const proto = buf[off + PROTOCOL]!;
  // a whole TCP or UDP datagram, checked without its L4 checksum; the rest (fragments,
  // ICMP, other protocols, checksums) in classifyL4
  if ((fw & FRAGMENT_BITS) !== 0 || (flags & L4_CHECKSUM) !== 0 || (proto !== TCP && proto !== UDP)) {
    ipv4Fields(buf, off, hl, total, fw, proto, info);
    return classifyL4(buf, off + hl, total - hl, info, flags);
  }
  return tcpUdp(buf, off, hl, total, fw, proto, info);
}

/**
 * The IPv4 fields of a checked header (read once here for every path: the addresses in
 * place, not through rd32: a call the compiler does not inline would return them boxed,
 * an allocation).
 */
function ipv4Fields(buf: Uint8Array, off: number, hl: number, total: number, fw: number, proto: number, info: FrameInfo): void {
  info.l3Off = off;
  info.ipHeaderLen = hl;
  info.ipTotalLen = total;
  info.proto = proto;
  const s = off + SRC;
  info.src = ((buf[s]! << 24) | (buf[s + 1]! << 16) | (buf[s + 2]! << 8) | buf[s + 3]!) >>> 0;
  const d = off + DST;
  info.dst = ((buf[d]! << 24) | (buf[d + 1]! << 16) | (buf[d + 2]! << 8) | buf[d + 3]!) >>> 0;
  info.ipId = (buf[off + IDENT]! << 8) | buf[off + IDENT + 1]!;
  info.ttl = buf[off + TTL]!;
  info.fragWord = fw;
}

/** A whole TCP or UDP datagram (header checked): its fields, its L4 header checked (not its checksum). */
function tcpUdp(buf: Uint8Array, off: number, hl: number, total: number, fw: number, proto: number, info: FrameInfo): number {
  ipv4Fields(buf, off, hl, total, fw, proto, info);
  const l4 = off + hl;
  const l4Len = total - hl;
  // the L4 header in the datagram, which lies in the buffer (checkIpv4): checkTcpHeader's
  // remaining checks here, UDP's in checkUdpHeader
  if (proto === TCP) {
    if (l4Len < TCP_HEADER) return R_TCP_TRUNCATED;
    const doff = (buf[l4 + TCP_DATA_OFF]! >>> 4) << 2;
    if (doff < TCP_HEADER || doff > l4Len) return R_TCP_BAD_DATA_OFFSET;
  } else {
    const r4 = checkUdpHeader(buf, l4, l4Len, false);
    if (r4 !== 0) return r4;
  }
  info.fragment = false;
  info.l4Off = l4;
  info.l4Len = l4Len;
  info.srcPort = (buf[l4]! << 8) | buf[l4 + 1]!;
  info.dstPort = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
  info.tcpFlags = proto === TCP ? buf[l4 + TCP_FLAGS]! : 0;
  info.sctpChunk = -1;
  info.sctpNextChunk = -1;
  info.icmpType = -1;
  info.quoteOff = -1;
  info.kind = IPV4;
  return OK;
}

/** SCTP chunk types whose packet's state event depends on the chunk after them. */
const COOKIE_ECHO = 10;
const COOKIE_ACK = 11;

/** MF or a fragment offset. */
const FRAGMENT_BITS = MF | OFFSET_MASK;
const { None: NONE, Ipv4: IPV4 } = FrameKind;

/**
 * The L4 part of `classifyIpv4` (the IPv4 fields are in `info`) for everything but a whole
 * TCP/UDP datagram checked without L4 checksums: fragments, ICMP, other protocols, L4
 * checksum verification.
 */
function classifyL4(buf: Uint8Array, l4: number, l4Len: number, info: FrameInfo, flags: number): number {
  const fw = info.fragWord;
  const proto = info.proto;
  const fragment = (fw & FRAGMENT_BITS) !== 0;
  info.fragment = fragment;
  info.srcPort = 0;
  info.dstPort = 0;
  info.tcpFlags = 0;
  info.sctpChunk = -1;
  info.sctpNextChunk = -1;
  info.icmpType = -1;
  info.icmpCode = 0;
  info.quoteOff = -1;
  info.quoteLen = 0;
  if ((fw & OFFSET_MASK) !== 0) {
    // A later fragment: valid, but it carries no L4 header.
    info.l4Off = -1;
    info.l4Len = 0;
    info.kind = IPV4;
    return OK;
  }
  info.l4Off = l4;
  info.l4Len = l4Len;
  if (proto === TCP) {
    // A first fragment must hold the whole L4 header (RFC 1858); the checksum and the UDP
    // length cover the whole datagram and cannot be checked on it.
    if (fragment && l4Len < TcpField.HEADER_LEN) return ParseReason.FirstFragmentTruncated;
    const r4 = fragment ? checkTcp(buf, l4, l4Len) : checkTcp(buf, l4, l4Len, flags, info.src, info.dst);
    if (r4 !== 0) return r4;
    info.srcPort = rd16(buf, l4 + TcpField.SRC_PORT);
    info.dstPort = rd16(buf, l4 + TcpField.DST_PORT);
    info.tcpFlags = buf[l4 + TCP_FLAGS]!;
  } else if (proto === UDP) {
    if (fragment && l4Len < UdpField.HEADER_LEN) return ParseReason.FirstFragmentTruncated;
    const r4 = fragment ? checkUdp(buf, l4, l4Len, 0, 0, 0, true) : checkUdp(buf, l4, l4Len, flags, info.src, info.dst);
    if (r4 !== 0) return r4;
    info.srcPort = rd16(buf, l4 + UdpField.SRC_PORT);
    info.dstPort = rd16(buf, l4 + UdpField.DST_PORT);
  } else if (proto === SCTP) {
    // A first fragment must hold the common header and the first chunk's header; the
    // chunk lengths and the CRC32c cover the whole packet and cannot be checked on it.
    if (fragment) {
      if (l4Len < SctpField.HEADER_LEN + SctpField.CHUNK_HEADER_LEN) return ParseReason.FirstFragmentTruncated;
    } else {
      const r4 = checkSctp(buf, l4, l4Len, flags);
      if (r4 !== 0) return r4;
    }
    info.srcPort = rd16(buf, l4 + SctpField.SRC_PORT);
    info.dstPort = rd16(buf, l4 + SctpField.DST_PORT);
    const c = l4 + SctpField.HEADER_LEN;
    const type = buf[c + SctpField.CHUNK_TYPE]!;
    info.sctpChunk = type;
    if (!fragment && (type === COOKIE_ECHO || type === COOKIE_ACK)) {
      // the kernel's set_sctp_state: the chunk after it, when its header is there
      const n = c + ((rd16(buf, c + SctpField.CHUNK_LENGTH) + 3) & ~3);
      if (n + SctpField.CHUNK_HEADER_LEN <= l4 + l4Len) info.sctpNextChunk = buf[n]!;
    }
  } else if (proto === ICMP) {
    if (l4Len < IcmpField.HEADER_LEN) return fragment ? ParseReason.FirstFragmentTruncated : ParseReason.IcmpTruncated;
    const type = buf[l4]!;
    info.icmpType = type;
    info.icmpCode = buf[l4 + IcmpField.CODE]!;
    if (!fragment) {
      if ((flags & (L4_CHECKSUM | ICMP_CHECKSUM)) !== 0 && csumPartial(buf, l4, l4Len) !== 0xffff) {
        return ParseReason.IcmpBadChecksum;
      }
      if (isIcmpError(type)) {
        const q = l4 + IcmpField.DATA;
        const rq = checkIcmpQuote(buf, q, l4Len - IcmpField.DATA);
        if (rq !== 0) return rq;
        info.quoteOff = q;
        info.quoteLen = l4Len - IcmpField.DATA;
      }
    }
  }
  info.kind = IPV4;
  return OK;
}
