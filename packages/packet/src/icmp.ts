/**
 * ICMP for IPv4 (RFC 792; fragmentation-needed MTU from RFC 1191).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  echo:    Identifier          |        Sequence Number        |
 * |  frag-needed: unused (0)      |        Next-Hop MTU           |
 * |  parameter problem: Pointer | unused;  redirect: Gateway addr |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  echo: data ...   errors: original IP header + first 8 bytes  |
 * |  of the original datagram's payload (the "quote")             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The checksum covers the whole ICMP message (no pseudo-header).
 * ```
 */
import { Proto } from '@tunvs/model';
import { EMPTY, rd16, rd32, wr16, wr32 } from './bytes.js';
import { csumFold, csumPartial, csumUpdate16 } from './checksum.js';
import { Ipv4Field, Ipv4Flag, Ipv4View } from './ipv4.js';
import { CheckFlags, ParseReason } from './reason.js';

/** Byte offsets of the ICMP fields. */
export const IcmpField = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  /** the 4 "rest of header" bytes */
  REST: 4,
  ID: 4,
  SEQ: 6,
  POINTER: 4,
  GATEWAY: 4,
  NEXT_HOP_MTU: 6,
  /** echo data, or the quoted original datagram of an error */
  DATA: 8,
  HEADER_LEN: 8,
} as const;

/** ICMP header length. */
export const ICMP_HEADER_LEN = IcmpField.HEADER_LEN;

/** ICMP message types. */
export const IcmpType = {
  EchoReply: 0,
  DestUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSolicitation: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
} as const;

/** Codes of Destination Unreachable (type 3). */
export const IcmpUnreachCode = {
  Net: 0,
  Host: 1,
  Protocol: 2,
  Port: 3,
  FragNeeded: 4,
  SourceRouteFailed: 5,
  NetUnknown: 6,
  HostUnknown: 7,
  NetProhibited: 9,
  HostProhibited: 10,
  AdminProhibited: 13,
} as const;

/** Codes of Time Exceeded (type 11). */
export const IcmpTimeExceededCode = {
  TtlExceeded: 0,
  FragReassembly: 1,
} as const;

/** True for the error types, which quote an original datagram (3, 4, 5, 11, 12). */
export function isIcmpError(type: number): boolean {
  return type === 3 || type === 11 || type === 12 || type === 4 || type === 5;
}

/** A zero-copy view of an ICMP message; `len` is the ICMP length (header + data). */
export class IcmpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** A view over `buf[off, off+len)`. */
  constructor(buf: Uint8Array = EMPTY, off = 0, len = buf.length - off) {
    this.reset(buf, off, len);
  }

  /** Point the view at another message without allocating. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Message type (IcmpType). */
  get type(): number { return this.buf[this.off + IcmpField.TYPE]!; }
  set type(v: number) { this.buf[this.off + IcmpField.TYPE] = v; }
  /** Message code. */
  get code(): number { return this.buf[this.off + IcmpField.CODE]!; }
  set code(v: number) { this.buf[this.off + IcmpField.CODE] = v; }
  /** Checksum as on the wire. */
  get checksum(): number { return rd16(this.buf, this.off + IcmpField.CHECKSUM); }
  set checksum(v: number) { wr16(this.buf, this.off + IcmpField.CHECKSUM, v); }
  /** The 4 rest-of-header bytes as a uint32. */
  get rest(): number { return rd32(this.buf, this.off + IcmpField.REST); }
  set rest(v: number) { wr32(this.buf, this.off + IcmpField.REST, v); }
  /** Echo identifier. */
  get id(): number { return rd16(this.buf, this.off + IcmpField.ID); }
  set id(v: number) { wr16(this.buf, this.off + IcmpField.ID, v); }
  /** Echo sequence number. */
  get seq(): number { return rd16(this.buf, this.off + IcmpField.SEQ); }
  set seq(v: number) { wr16(this.buf, this.off + IcmpField.SEQ, v); }
  /** Next-hop MTU of a fragmentation-needed error. */
  get nextHopMtu(): number { return rd16(this.buf, this.off + IcmpField.NEXT_HOP_MTU); }
  set nextHopMtu(v: number) { wr16(this.buf, this.off + IcmpField.NEXT_HOP_MTU, v); }
  /** Parameter-problem pointer. */
  get pointer(): number { return this.buf[this.off + IcmpField.POINTER]!; }
  set pointer(v: number) { this.buf[this.off + IcmpField.POINTER] = v; }
  /** Redirect gateway address. */
  get gateway(): number { return rd32(this.buf, this.off + IcmpField.GATEWAY); }
  set gateway(v: number) { wr32(this.buf, this.off + IcmpField.GATEWAY, v); }
  /** True for error types (which carry a quote). */
  get isError(): boolean { return isIcmpError(this.type); }
  /** True for echo request/reply. */
  get isEcho(): boolean { const t = this.type; return t === IcmpType.EchoRequest || t === IcmpType.EchoReply; }
  /** Absolute offset of the data / quote. */
  get dataOff(): number { return this.off + IcmpField.DATA; }
  /** Length of the data / quote. */
  get dataLen(): number { return this.len - IcmpField.DATA; }

  /** The checksum this message should carry (over `len` bytes). */
  computeChecksum(): number {
    const sum = csumPartial(this.buf, this.off, this.len) + (~this.checksum & 0xffff);
    return ~csumFold(sum) & 0xffff;
  }
  /** Write the checksum over `len` bytes. */
  fillChecksum(): void { this.checksum = this.computeChecksum(); }
  /** True when the checksum over `len` bytes is right. */
  verifyChecksum(): boolean { return csumPartial(this.buf, this.off, this.len) === 0xffff; }
  /** Set the echo identifier and update the checksum incrementally. */
  setIdCsum(id: number): void {
    this.checksum = csumUpdate16(this.checksum, this.id, id);
    this.id = id;
  }
}

/**
 * A view of the datagram quoted in an ICMP error: the original IPv4 header (all the
 * Ipv4View accessors) plus the first 8 bytes of its L4 header. Reset it at the ICMP
 * data offset with the quote length.
 */
export class IcmpQuoteView extends Ipv4View {
  /** Absolute offset of the quoted L4 header. */
  get l4Off(): number { return this.off + this.headerLen; }
  /** Quoted TCP/UDP source port. */
  get srcPort(): number { return rd16(this.buf, this.l4Off); }
  set srcPort(v: number) { wr16(this.buf, this.l4Off, v); }
  /** Quoted TCP/UDP destination port. */
  get dstPort(): number { return rd16(this.buf, this.l4Off + 2); }
  set dstPort(v: number) { wr16(this.buf, this.l4Off + 2, v); }
  /** Quoted ICMP type (when the original was ICMP). */
  get icmpType(): number { return this.buf[this.l4Off]!; }
  /** Quoted ICMP echo identifier (when the original was an echo). */
  get echoId(): number { return rd16(this.buf, this.l4Off + IcmpField.ID); }
  set echoId(v: number) { wr16(this.buf, this.l4Off + IcmpField.ID, v); }
}

/**
 * Check a quote of `len` bytes at `off`: 0, `IcmpQuoteTruncated` (less than a 20-byte
 * header, or less than its header + 8 bytes) or `IcmpQuoteBad` (not IPv4, IHL < 5).
 */
export function checkIcmpQuote(buf: Uint8Array, off: number, len: number): number {
  if (len < Ipv4Field.HEADER_LEN || off < 0 || off + len > buf.length) return ParseReason.IcmpQuoteTruncated;
  const vi = buf[off]!;
  if (vi >>> 4 !== 4 || (vi & 0xf) < 5) return ParseReason.IcmpQuoteBad;
  if (((vi & 0xf) << 2) + 8 > len) return ParseReason.IcmpQuoteTruncated;
  return ParseReason.Ok;
}

/**
 * Check an ICMP message of `len` bytes: 0, `IcmpTruncated` (< 8), for errors the quote
 * (`checkIcmpQuote`), and with `CheckFlags.L4Checksum` or `IcmpChecksum` the checksum
 * (`IcmpBadChecksum`).
 * Pass `fragment` true for the first fragment of a fragmented datagram (then only the
 * header length is checked).
 */
export function checkIcmp(buf: Uint8Array, off: number, len: number, flags = 0, fragment = false): number {
  if (len < IcmpField.HEADER_LEN || off < 0 || off + len > buf.length) return ParseReason.IcmpTruncated;
  if (fragment) return ParseReason.Ok;
  if ((flags & (CheckFlags.L4Checksum | CheckFlags.IcmpChecksum)) !== 0 && csumPartial(buf, off, len) !== 0xffff) return ParseReason.IcmpBadChecksum;
  if (isIcmpError(buf[off]!)) return checkIcmpQuote(buf, off + IcmpField.DATA, len - IcmpField.DATA);
  return ParseReason.Ok;
}

/** The meaningful fields of an ICMP header. */
export interface IcmpRepr {
  type: number;
  code: number;
  /**
   * The 4 rest-of-header bytes as a uint32: echo `id << 16 | seq`; frag-needed: the MTU
   * (low 16 bits); parameter problem: `pointer << 24`; redirect: the gateway address.
   */
  rest: number;
}

/** Write an ICMP header at `off` and the checksum over it and the `dataLen` bytes after it. Returns 8. */
export function emitIcmp(repr: IcmpRepr, buf: Uint8Array, off: number, dataLen: number): number {
  buf[off + IcmpField.TYPE] = repr.type;
  buf[off + IcmpField.CODE] = repr.code;
  wr16(buf, off + IcmpField.CHECKSUM, 0);
  wr32(buf, off + IcmpField.REST, repr.rest);
  wr16(buf, off + IcmpField.CHECKSUM, ~csumPartial(buf, off, IcmpField.HEADER_LEN + dataLen) & 0xffff);
  return IcmpField.HEADER_LEN;
}

/** Parse an ICMP header into a Repr, or null when `checkIcmp(buf, off, len, flags)` refuses it. */
export function parseIcmp(buf: Uint8Array, off: number, len: number, flags = 0): IcmpRepr | null {
  if (checkIcmp(buf, off, len, flags) !== 0) return null;
  return { type: buf[off]!, code: buf[off + 1]!, rest: rd32(buf, off + IcmpField.REST) };
}

/** The largest ICMP error `emitIcmpError` writes: IP and ICMP headers, a 60-byte quoted header + 8. */
export const ICMP_ERROR_MAX_LEN = Ipv4Field.HEADER_LEN + IcmpField.HEADER_LEN + Ipv4Field.MAX_HEADER_LEN + 8;

/**
 * Build an ICMP error about the IPv4 packet at `orig[origOff, origOff+origLen)` into
 * `out[outOff..]`: a 20-byte IPv4 header (from `src` to the original source, TTL `ttl`,
 * protocol ICMP, DF clear), the ICMP header (`type`, `code`, next-hop `mtu` for
 * frag-needed) and the original IP header + first 8 bytes of its payload (or less when
 * the original is shorter), with both checksums. Returns the IP packet length, or 0 when
 * no error may be sent (RFC 1122 3.2.2): the original is not a sane IPv4 header, is an
 * ICMP error itself, is a non-first fragment, or comes from 0.0.0.0, a broadcast or a
 * multicast address. `out` needs 20 + 8 + 60 + 8 bytes at most; it must not overlap
 * `orig`.
 */
export function emitIcmpError(
  out: Uint8Array, outOff: number, orig: Uint8Array, origOff: number, origLen: number,
  type: number, code: number, src: number, mtu = 0, ttl = 64,
): number {
  if (origLen < Ipv4Field.HEADER_LEN || origOff < 0 || origOff + origLen > orig.length) return 0;
  const vi = orig[origOff]!;
  const hl = (vi & 0xf) << 2;
  if (vi >>> 4 !== 4 || hl < Ipv4Field.HEADER_LEN || hl > origLen) return 0;
  const total = Math.min(rd16(orig, origOff + Ipv4Field.TOTAL_LEN), origLen);
  if (total < hl) return 0;
  if ((rd16(orig, origOff + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.OffsetMask) !== 0) return 0;
  const osrc = rd32(orig, origOff + Ipv4Field.SRC);
  if (osrc === 0 || osrc === 0xffffffff || (osrc >>> 28) === 0xe) return 0;
  if (orig[origOff + Ipv4Field.PROTOCOL] === Proto.ICMP) {
    if (total < hl + 1 || isIcmpError(orig[origOff + hl]!)) return 0;
  }
  const quote = Math.min(total, hl + 8);
  const icmpOff = outOff + Ipv4Field.HEADER_LEN;
  const dataOff = icmpOff + IcmpField.HEADER_LEN;
  for (let i = 0; i < quote; i++) out[dataOff + i] = orig[origOff + i]!;
  const rest = type === IcmpType.DestUnreachable && code === IcmpUnreachCode.FragNeeded ? mtu & 0xffff : 0;
  emitIcmp({ type, code, rest }, out, icmpOff, quote);
  const ipLen = Ipv4Field.HEADER_LEN + IcmpField.HEADER_LEN + quote;
  out[outOff] = 0x45;
  out[outOff + Ipv4Field.TOS] = 0xc0; // internetwork control, like Linux's ICMP errors
  wr16(out, outOff + Ipv4Field.TOTAL_LEN, ipLen);
  wr16(out, outOff + Ipv4Field.IDENT, 0);
  wr16(out, outOff + Ipv4Field.FLAGS_FRAG, 0);
  out[outOff + Ipv4Field.TTL] = ttl;
  out[outOff + Ipv4Field.PROTOCOL] = Proto.ICMP;
  wr16(out, outOff + Ipv4Field.CHECKSUM, 0);
  wr32(out, outOff + Ipv4Field.SRC, src);
  wr32(out, outOff + Ipv4Field.DST, osrc);
  wr16(out, outOff + Ipv4Field.CHECKSUM, ~csumPartial(out, outOff, Ipv4Field.HEADER_LEN) & 0xffff);
  return ipLen;
}

/**
 * Turn the ICMP echo request of the IPv4 packet at `buf[ipOff]` into its reply, in place:
 * addresses swapped, TTL `ttl`, type echo reply, both checksums recomputed. The packet
 * must have passed `classifyFrame` (a complete, unfragmented echo request).
 */
export function echoReplyInPlace(buf: Uint8Array, ipOff: number, ttl = 64): void {
  const hl = (buf[ipOff]! & 0xf) << 2;
  const total = rd16(buf, ipOff + Ipv4Field.TOTAL_LEN);
  const src = rd32(buf, ipOff + Ipv4Field.SRC);
  wr32(buf, ipOff + Ipv4Field.SRC, rd32(buf, ipOff + Ipv4Field.DST));
  wr32(buf, ipOff + Ipv4Field.DST, src);
  buf[ipOff + Ipv4Field.TTL] = ttl;
  wr16(buf, ipOff + Ipv4Field.CHECKSUM, 0);
  wr16(buf, ipOff + Ipv4Field.CHECKSUM, ~csumPartial(buf, ipOff, hl) & 0xffff);
  const ic = ipOff + hl;
  buf[ic + IcmpField.TYPE] = IcmpType.EchoReply;
  wr16(buf, ic + IcmpField.CHECKSUM, 0);
  wr16(buf, ic + IcmpField.CHECKSUM, ~csumPartial(buf, ic, total - hl) & 0xffff);
}
