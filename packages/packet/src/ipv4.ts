/**
 * IPv4 headers (RFC 791).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Flags: bit 0 reserved (0), bit 1 DF (don't fragment), bit 2 MF (more fragments).
 * Fragment offset in units of 8 bytes.
 * ```
 */
import { Proto } from '@tunvs/model';
import { EMPTY, rd16, rd32, wr16, wr32 } from './bytes.js';
import { csumFold, csumPartial, csumUpdate16, csumUpdate32, ipv4HeaderCsumOk } from './checksum.js';
import { CheckFlags, ParseReason } from './reason.js';

// Imported tables read through same-module constants: V8 folds these, but loads the
// properties of an imported `as const` object on every call of a hot function.
const OK = ParseReason.Ok;
const IP_CHECKSUM = CheckFlags.IpChecksum;
const { Ipv4Truncated: R_TRUNCATED, Ipv4BadChecksum: R_BAD_CHECKSUM, Ipv4FragmentTooLarge: R_FRAGMENT_TOO_LARGE } = ParseReason;

/** Byte offsets of the IPv4 header fields. */
export const Ipv4Field = {
  VER_IHL: 0,
  TOS: 1,
  TOTAL_LEN: 2,
  IDENT: 4,
  FLAGS_FRAG: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
  /** header length without options */
  HEADER_LEN: 20,
  /** largest header (IHL 15) */
  MAX_HEADER_LEN: 60,
} as const;

/** Minimum IPv4 header length. */
export const IPV4_HEADER_LEN = Ipv4Field.HEADER_LEN;

/** Bits of the 16-bit flags+fragment-offset word. */
export const Ipv4Flag = {
  Reserved: 0x8000,
  DF: 0x4000,
  MF: 0x2000,
  OffsetMask: 0x1fff,
} as const;

/** A zero-copy view of an IPv4 header; re-point it with `reset`. */
export class Ipv4View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** A view over `buf[off, off+len)`. */
  constructor(buf: Uint8Array = EMPTY, off = 0, len = buf.length - off) {
    this.reset(buf, off, len);
  }

  /** Point the view at another packet without allocating. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** IP version (4). */
  get version(): number { return this.buf[this.off]! >>> 4; }
  set version(v: number) { const o = this.off; this.buf[o] = ((v & 0xf) << 4) | (this.buf[o]! & 0xf); }
  /** Internet header length in 32-bit words. */
  get ihl(): number { return this.buf[this.off]! & 0xf; }
  set ihl(v: number) { const o = this.off; this.buf[o] = (this.buf[o]! & 0xf0) | (v & 0xf); }
  /** Header length in bytes (IHL * 4). */
  get headerLen(): number { return (this.buf[this.off]! & 0xf) << 2; }
  /** Length of the options in bytes. */
  get optionsLen(): number { return ((this.buf[this.off]! & 0xf) << 2) - Ipv4Field.HEADER_LEN; }
  /** The type-of-service byte (DSCP << 2 | ECN). */
  get tos(): number { return this.buf[this.off + Ipv4Field.TOS]!; }
  set tos(v: number) { this.buf[this.off + Ipv4Field.TOS] = v; }
  /** Differentiated services code point (6 bits). */
  get dscp(): number { return this.buf[this.off + Ipv4Field.TOS]! >>> 2; }
  /** Explicit congestion notification (2 bits). */
  get ecn(): number { return this.buf[this.off + Ipv4Field.TOS]! & 3; }
  /** Total length of the datagram (header + payload). */
  get totalLength(): number { return rd16(this.buf, this.off + Ipv4Field.TOTAL_LEN); }
  set totalLength(v: number) { wr16(this.buf, this.off + Ipv4Field.TOTAL_LEN, v); }
  /** Identification. */
  get id(): number { return rd16(this.buf, this.off + Ipv4Field.IDENT); }
  set id(v: number) { wr16(this.buf, this.off + Ipv4Field.IDENT, v); }
  /** The whole flags + fragment offset word. */
  get flagsFrag(): number { return rd16(this.buf, this.off + Ipv4Field.FLAGS_FRAG); }
  set flagsFrag(v: number) { wr16(this.buf, this.off + Ipv4Field.FLAGS_FRAG, v); }
  /** The 3 flag bits (reserved, DF, MF) as a number 0..7. */
  get flags(): number { return this.buf[this.off + Ipv4Field.FLAGS_FRAG]! >>> 5; }
  /** Don't-fragment flag. */
  get df(): boolean { return (this.buf[this.off + Ipv4Field.FLAGS_FRAG]! & 0x40) !== 0; }
  set df(v: boolean) { this.flagsFrag = v ? this.flagsFrag | Ipv4Flag.DF : this.flagsFrag & ~Ipv4Flag.DF; }
  /** More-fragments flag. */
  get mf(): boolean { return (this.buf[this.off + Ipv4Field.FLAGS_FRAG]! & 0x20) !== 0; }
  set mf(v: boolean) { this.flagsFrag = v ? this.flagsFrag | Ipv4Flag.MF : this.flagsFrag & ~Ipv4Flag.MF; }
  /** Fragment offset in 8-byte units. */
  get fragOffset(): number { return this.flagsFrag & Ipv4Flag.OffsetMask; }
  set fragOffset(v: number) { this.flagsFrag = (this.flagsFrag & ~Ipv4Flag.OffsetMask) | (v & Ipv4Flag.OffsetMask); }
  /** True for any fragment (MF set or offset non-zero). */
  get isFragment(): boolean { return (this.flagsFrag & (Ipv4Flag.MF | Ipv4Flag.OffsetMask)) !== 0; }
  /** True when this packet carries the L4 header: not a fragment, or the first one. */
  get hasL4Header(): boolean { return (this.flagsFrag & Ipv4Flag.OffsetMask) === 0; }
  /** Time to live. */
  get ttl(): number { return this.buf[this.off + Ipv4Field.TTL]!; }
  set ttl(v: number) { this.buf[this.off + Ipv4Field.TTL] = v; }
  /** Protocol of the payload (Proto of @tunvs/model). */
  get protocol(): number { return this.buf[this.off + Ipv4Field.PROTOCOL]!; }
  set protocol(v: number) { this.buf[this.off + Ipv4Field.PROTOCOL] = v; }
  /** Header checksum as on the wire. */
  get checksum(): number { return rd16(this.buf, this.off + Ipv4Field.CHECKSUM); }
  set checksum(v: number) { wr16(this.buf, this.off + Ipv4Field.CHECKSUM, v); }
  /** Source address (uint32, host order). */
  get src(): number { return rd32(this.buf, this.off + Ipv4Field.SRC); }
  set src(v: number) { wr32(this.buf, this.off + Ipv4Field.SRC, v); }
  /** Destination address (uint32, host order). */
  get dst(): number { return rd32(this.buf, this.off + Ipv4Field.DST); }
  set dst(v: number) { wr32(this.buf, this.off + Ipv4Field.DST, v); }
  /** Absolute offset of the payload (L4 header) in `buf`. */
  get payloadOff(): number { return this.off + this.headerLen; }
  /** Payload length according to the header (total length - header length). */
  get payloadLen(): number { return this.totalLength - this.headerLen; }

  /** Compute the header checksum (as it should be on the wire). */
  computeChecksum(): number {
    const o = this.off;
    const sum = csumPartial(this.buf, o, this.headerLen) + (~rd16(this.buf, o + Ipv4Field.CHECKSUM) & 0xffff);
    return ~csumFold(sum) & 0xffff;
  }

  /** Write the header checksum. */
  fillChecksum(): void {
    this.checksum = this.computeChecksum();
  }

  /** True when the header checksum is correct. */
  verifyChecksum(): boolean {
    return ipv4HeaderCsumOk(this.buf, this.off, this.headerLen);
  }

  /** Set the TTL and update the header checksum incrementally. */
  setTtlCsum(ttl: number): void {
    const o = this.off + Ipv4Field.TTL;
    const old = rd16(this.buf, o);
    this.buf[o] = ttl;
    this.checksum = csumUpdate16(this.checksum, old, rd16(this.buf, o));
  }

  /** Set the type-of-service byte and update the header checksum incrementally. */
  setTosCsum(tos: number): void {
    const o = this.off;
    const old = rd16(this.buf, o);
    this.buf[o + Ipv4Field.TOS] = tos;
    this.checksum = csumUpdate16(this.checksum, old, rd16(this.buf, o));
  }

  /** Set the source address and update the header checksum (only) incrementally. */
  setSrcCsum(addr: number): void {
    this.checksum = csumUpdate32(this.checksum, this.src, addr);
    this.src = addr;
  }

  /** Set the destination address and update the header checksum (only) incrementally. */
  setDstCsum(addr: number): void {
    this.checksum = csumUpdate32(this.checksum, this.dst, addr);
    this.dst = addr;
  }

  /**
   * Set the source address, updating the IP header checksum and, for TCP and UDP packets
   * that carry the L4 header, the L4 checksum (pseudo-header) too; a UDP checksum of 0
   * stays 0. The L4 header is taken at `payloadOff`.
   */
  setSrcAddrFixL4(addr: number): void {
    fixL4ForAddr(this.buf, this.off, this.src, addr);
    this.setSrcCsum(addr);
  }

  /** Like `setSrcAddrFixL4`, for the destination address. */
  setDstAddrFixL4(addr: number): void {
    fixL4ForAddr(this.buf, this.off, this.dst, addr);
    this.setDstCsum(addr);
  }
}

/** Offset of the checksum inside the TCP and UDP headers. */
const TCP_CSUM = 16;
const UDP_CSUM = 6;

function fixL4ForAddr(buf: Uint8Array, ipOff: number, oldAddr: number, newAddr: number): void {
  if ((rd16(buf, ipOff + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.OffsetMask) !== 0) return;
  const proto = buf[ipOff + Ipv4Field.PROTOCOL];
  const l4 = ipOff + ((buf[ipOff]! & 0xf) << 2);
  if (proto === Proto.TCP) {
    wr16(buf, l4 + TCP_CSUM, csumUpdate32(rd16(buf, l4 + TCP_CSUM), oldAddr, newAddr));
  } else if (proto === Proto.UDP) {
    const c = rd16(buf, l4 + UDP_CSUM);
    if (c !== 0) wr16(buf, l4 + UDP_CSUM, csumUpdate32(c, oldAddr, newAddr) || 0xffff);
  }
}

/**
 * Check an IPv4 packet in `buf[off, off+len)` (untrusted input): 0 or a `ParseReason`.
 * `len` may exceed the total length (link padding). `flags` (CheckFlags) selects
 * whether the header checksum is verified (default: yes). Options are walked for
 * well-formed lengths. Never throws.
 */
export function checkIpv4(buf: Uint8Array, off: number, len: number, flags: number = IP_CHECKSUM): number {
  if (len < HEADER_LEN || off < 0 || off + len > buf.length) return R_TRUNCATED;
  const total = rd16(buf, off + TOTAL_LEN);
  // the common case, a 20-byte header (version 4, IHL 5) within the buffer, checked inline;
  // anything else (and every failure) takes the full walk, in the order of the reasons
  if (buf[off] !== 0x45 || total > len || total < HEADER_LEN) return checkIpv4Full(buf, off, len, flags, total);
  if ((flags & IP_CHECKSUM) !== 0 && !ipv4HeaderCsumOk(buf, off, HEADER_LEN)) return R_BAD_CHECKSUM;
  const fo = rd16(buf, off + FLAGS_FRAG) & OFFSET_MASK;
  return fo !== 0 && (fo << 3) + total - HEADER_LEN > 0xffff ? R_FRAGMENT_TOO_LARGE : OK;
}

const { HEADER_LEN, TOTAL_LEN, FLAGS_FRAG } = Ipv4Field;
const OFFSET_MASK = Ipv4Flag.OffsetMask;

/** `checkIpv4` for every header: version, IHL, lengths, checksum, options, fragment end. */
function checkIpv4Full(buf: Uint8Array, off: number, len: number, flags: number, total: number): number {
  const vi = buf[off]!;
  const version = vi >>> 4;
  if (version !== 4) return version === 6 ? ParseReason.Ipv6Unsupported : ParseReason.Ipv4BadVersion;
  const hl = (vi & 0xf) << 2;
  if (hl < Ipv4Field.HEADER_LEN) return ParseReason.Ipv4BadIhl;
  if (hl > len) return ParseReason.Ipv4HeaderTruncated;
  if (total > len) return ParseReason.Ipv4TotalLengthBeyondBuffer;
  if (total < hl) return ParseReason.Ipv4TotalLengthShort;
  if ((flags & IP_CHECKSUM) !== 0 && !ipv4HeaderCsumOk(buf, off, hl)) return ParseReason.Ipv4BadChecksum;
  if (hl > Ipv4Field.HEADER_LEN && !optionsOk(buf, off + Ipv4Field.HEADER_LEN, off + hl)) return ParseReason.Ipv4BadOptions;
  if (((rd16(buf, off + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.OffsetMask) << 3) + total - hl > 0xffff) {
    return ParseReason.Ipv4FragmentTooLarge;
  }
  return OK;
}

/** Walk IPv4 options: EOL ends the list, NOP is one byte, others carry a length >= 2. */
function optionsOk(buf: Uint8Array, i: number, end: number): boolean {
  while (i < end) {
    const type = buf[i]!;
    if (type === 0) return true;
    if (type === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const olen = buf[i + 1]!;
    if (olen < 2 || i + olen > end) return false;
    i += olen;
  }
  return true;
}

/** The meaningful fields of an IPv4 header. */
export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  /** type-of-service byte (DSCP << 2 | ECN) */
  tos: number;
  id: number;
  df: boolean;
  mf: boolean;
  /** fragment offset in 8-byte units */
  fragOffset: number;
  /** bytes after the header */
  payloadLength: number;
  /** raw option bytes (a multiple of 4 long, at most 40); absent when there are none */
  options?: Uint8Array;
}

/** Header length `emitIpv4` writes for `repr` (20 + options rounded up to 4). */
export function ipv4HeaderLen(repr: Ipv4Repr): number {
  const o = repr.options ? repr.options.length : 0;
  return Ipv4Field.HEADER_LEN + ((o + 3) & ~3);
}

/** Write an IPv4 header (every field, then the checksum) at `off`; returns its length. */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, off: number): number {
  const hl = ipv4HeaderLen(repr);
  buf[off] = 0x40 | (hl >>> 2);
  buf[off + Ipv4Field.TOS] = repr.tos;
  wr16(buf, off + Ipv4Field.TOTAL_LEN, hl + repr.payloadLength);
  wr16(buf, off + Ipv4Field.IDENT, repr.id);
  wr16(buf, off + Ipv4Field.FLAGS_FRAG, (repr.df ? Ipv4Flag.DF : 0) | (repr.mf ? Ipv4Flag.MF : 0) | (repr.fragOffset & Ipv4Flag.OffsetMask));
  buf[off + Ipv4Field.TTL] = repr.ttl;
  buf[off + Ipv4Field.PROTOCOL] = repr.protocol;
  wr16(buf, off + Ipv4Field.CHECKSUM, 0);
  wr32(buf, off + Ipv4Field.SRC, repr.src);
  wr32(buf, off + Ipv4Field.DST, repr.dst);
  if (repr.options) {
    const o = repr.options;
    for (let i = 0; i < o.length; i++) buf[off + Ipv4Field.OPTIONS + i] = o[i]!;
    for (let i = Ipv4Field.OPTIONS + o.length; i < hl; i++) buf[off + i] = 0;
  }
  wr16(buf, off + Ipv4Field.CHECKSUM, ~csumPartial(buf, off, hl) & 0xffff);
  return hl;
}

/**
 * Parse an IPv4 header into a Repr, or null when `checkIpv4` refuses it (with `flags`,
 * default: verify the header checksum).
 */
export function parseIpv4Header(buf: Uint8Array, off: number, len: number, flags: number = CheckFlags.IpChecksum): Ipv4Repr | null {
  if (checkIpv4(buf, off, len, flags) !== 0) return null;
  const v = new Ipv4View(buf, off, len);
  const repr: Ipv4Repr = {
    src: v.src, dst: v.dst, protocol: v.protocol, ttl: v.ttl, tos: v.tos, id: v.id,
    df: v.df, mf: v.mf, fragOffset: v.fragOffset, payloadLength: v.payloadLen,
  };
  if (v.optionsLen > 0) repr.options = buf.slice(off + Ipv4Field.OPTIONS, off + v.headerLen);
  return repr;
}

/**
 * Payload bytes each fragment carries when a datagram with a `hl`-byte header is cut to
 * fit `mtu`: the most that fits, a multiple of 8 (0 when not even 8 bytes fit).
 */
export function ipv4FragmentPayload(mtu: number, hl: number): number {
  const room = mtu - hl;
  return room < 8 ? 0 : room & ~7;
}

/**
 * Write at `out[o]` one fragment of the IPv4 datagram at `src[ip]` (as ip_fragment cuts
 * it): its header, then `len` bytes of its payload starting `from` bytes into it (`from`
 * a multiple of 8). The header's offset counts from the datagram's own offset; MF is set
 * unless this is the datagram's end and the datagram was not itself a non-last fragment;
 * after the first fragment, options without the copy flag become NOPs (the header keeps
 * its length). Returns the fragment's length. `out` may not overlap `src`.
 */
export function emitIpv4Fragment(src: Uint8Array, ip: number, from: number, len: number, out: Uint8Array, o: number): number {
  const hl = (src[ip]! & 0xf) << 2;
  const total = rd16(src, ip + TOTAL_LEN);
  out.set(src.subarray(ip, ip + hl), o);
  out.set(src.subarray(ip + hl + from, ip + hl + from + len), o + hl);
  const word = rd16(src, ip + FLAGS_FRAG);
  const last = from + len >= total - hl && (word & Ipv4Flag.MF) === 0;
  const offset = (word & OFFSET_MASK) + (from >>> 3);
  wr16(out, o + FLAGS_FRAG, (word & (Ipv4Flag.DF | Ipv4Flag.Reserved)) | (last ? 0 : Ipv4Flag.MF) | (offset & OFFSET_MASK));
  wr16(out, o + TOTAL_LEN, hl + len);
  if (from > 0 && hl > HEADER_LEN) nopUncopiedOptions(out, o + HEADER_LEN, o + hl);
  wr16(out, o + Ipv4Field.CHECKSUM, 0);
  wr16(out, o + Ipv4Field.CHECKSUM, ~csumPartial(out, o, hl) & 0xffff);
  return hl + len;
}

/** Options whose copy flag (bit 7 of the type) is clear become NOPs (later fragments). */
function nopUncopiedOptions(buf: Uint8Array, i: number, end: number): void {
  while (i < end) {
    const type = buf[i]!;
    if (type === 0) return;
    if (type === 1) {
      i++;
      continue;
    }
    const olen = i + 1 < end ? buf[i + 1]! : 1;
    const n = olen < 2 ? end - i : Math.min(olen, end - i);
    if ((type & 0x80) === 0) buf.fill(1, i, i + n);
    i += n;
  }
}
