/**
 * UDP headers (RFC 768).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Length             |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Length covers header + data. Checksum 0 = none was computed; a computed 0 is sent as
 * 0xffff. The checksum covers the IPv4 pseudo-header, the header and the data.
 * ```
 */
import { EMPTY, rd16, wr16 } from './bytes.js';
import { csumFold, csumPartial, csumUpdate16, pseudoHeaderSum } from './checksum.js';
import { Proto } from '@tunvs/model';
import { CheckFlags, ParseReason } from './reason.js';

// Imported tables read through same-module constants: V8 folds these, but loads the
// properties of an imported `as const` object on every call of a hot function.
const OK = ParseReason.Ok;

/** Byte offsets of the UDP header fields. */
export const UdpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  LENGTH: 4,
  CHECKSUM: 6,
  HEADER_LEN: 8,
} as const;

/** UDP header length. */
export const UDP_HEADER_LEN = UdpField.HEADER_LEN;

/** A zero-copy view of a UDP datagram; `len` is the L4 length available in the buffer. */
export class UdpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** A view over `buf[off, off+len)`. */
  constructor(buf: Uint8Array = EMPTY, off = 0, len = buf.length - off) {
    this.reset(buf, off, len);
  }

  /** Point the view at another datagram without allocating. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Source port. */
  get srcPort(): number { return rd16(this.buf, this.off + UdpField.SRC_PORT); }
  set srcPort(v: number) { wr16(this.buf, this.off + UdpField.SRC_PORT, v); }
  /** Destination port. */
  get dstPort(): number { return rd16(this.buf, this.off + UdpField.DST_PORT); }
  set dstPort(v: number) { wr16(this.buf, this.off + UdpField.DST_PORT, v); }
  /** The length field (header + data). */
  get length(): number { return rd16(this.buf, this.off + UdpField.LENGTH); }
  set length(v: number) { wr16(this.buf, this.off + UdpField.LENGTH, v); }
  /** Checksum as on the wire (0 = none). */
  get checksum(): number { return rd16(this.buf, this.off + UdpField.CHECKSUM); }
  set checksum(v: number) { wr16(this.buf, this.off + UdpField.CHECKSUM, v); }
  /** Absolute offset of the data. */
  get payloadOff(): number { return this.off + UdpField.HEADER_LEN; }
  /** Length of the data according to the length field. */
  get payloadLen(): number { return this.length - UdpField.HEADER_LEN; }

  /** The checksum the datagram should carry (in wire form: never 0); covers `length` bytes. */
  computeChecksum(src: number, dst: number): number {
    const l = this.length;
    const sum = csumPartial(this.buf, this.off, l, pseudoHeaderSum(src, dst, Proto.UDP, l)) + (~this.checksum & 0xffff);
    return (~csumFold(sum) & 0xffff) || 0xffff;
  }

  /** Write the checksum (a computed 0 becomes 0xffff). */
  fillChecksum(src: number, dst: number): void {
    this.checksum = this.computeChecksum(src, dst);
  }

  /** True when the checksum is 0 (none) or right. */
  verifyChecksum(src: number, dst: number): boolean {
    if (this.checksum === 0) return true;
    const l = this.length;
    return csumPartial(this.buf, this.off, l, pseudoHeaderSum(src, dst, Proto.UDP, l)) === 0xffff;
  }

  /** Set the source port, updating a non-zero checksum incrementally (0 stays 0). */
  setSrcPortCsum(port: number): void {
    const c = this.checksum;
    if (c !== 0) this.checksum = csumUpdate16(c, this.srcPort, port) || 0xffff;
    this.srcPort = port;
  }

  /** Set the destination port, updating a non-zero checksum incrementally (0 stays 0). */
  setDstPortCsum(port: number): void {
    const c = this.checksum;
    if (c !== 0) this.checksum = csumUpdate16(c, this.dstPort, port) || 0xffff;
    this.dstPort = port;
  }
}

/**
 * Check a UDP datagram with `len` bytes available: 0, `UdpTruncated` or `UdpBadLength`
 * (length field < 8 or beyond `len`; with `fragment` true — the first fragment of a
 * fragmented datagram — the length may exceed `len`). With `CheckFlags.L4Checksum` in
 * `flags` and not a fragment, a non-zero checksum is verified (`UdpBadChecksum`).
 */
export function checkUdp(buf: Uint8Array, off: number, len: number, flags = 0, src = 0, dst = 0, fragment = false): number {
  const r = checkUdpHeader(buf, off, len, fragment);
  if (r !== 0) return r;
  const ulen = rd16(buf, off + UdpField.LENGTH);
  if ((flags & CheckFlags.L4Checksum) !== 0 && !fragment && rd16(buf, off + UdpField.CHECKSUM) !== 0 &&
    csumPartial(buf, off, ulen, pseudoHeaderSum(src, dst, Proto.UDP, ulen)) !== 0xffff) {
    return ParseReason.UdpBadChecksum;
  }
  return OK;
}

/**
 * The header part of `checkUdp` (no checksum): 0, `UdpTruncated` or `UdpBadLength` (with
 * `fragment`, the first fragment of a datagram, the length may exceed `len`).
 */
export function checkUdpHeader(buf: Uint8Array, off: number, len: number, fragment: boolean): number {
  if (len < UDP_HEADER || off < 0 || off + len > buf.length) return R_UDP_TRUNCATED;
  const ulen = rd16(buf, off + LENGTH);
  return ulen < UDP_HEADER || (ulen > len && !fragment) ? R_UDP_BAD_LENGTH : OK;
}

const { HEADER_LEN: UDP_HEADER, LENGTH } = UdpField;
const { UdpTruncated: R_UDP_TRUNCATED, UdpBadLength: R_UDP_BAD_LENGTH } = ParseReason;

/** The meaningful fields of a UDP header. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** bytes of data after the header */
  payloadLength: number;
}

/**
 * Write a UDP header at `off` (every field, then the checksum over the pseudo-header and
 * the data already after it; with `withChecksum` false the checksum is 0 = none).
 * Returns 8.
 */
export function emitUdp(repr: UdpRepr, buf: Uint8Array, off: number, src: number, dst: number, withChecksum = true): number {
  const l = UdpField.HEADER_LEN + repr.payloadLength;
  wr16(buf, off + UdpField.SRC_PORT, repr.srcPort);
  wr16(buf, off + UdpField.DST_PORT, repr.dstPort);
  wr16(buf, off + UdpField.LENGTH, l);
  wr16(buf, off + UdpField.CHECKSUM, 0);
  if (withChecksum) {
    const c = ~csumPartial(buf, off, l, pseudoHeaderSum(src, dst, Proto.UDP, l)) & 0xffff;
    wr16(buf, off + UdpField.CHECKSUM, c || 0xffff);
  }
  return UdpField.HEADER_LEN;
}

/** Parse a UDP header into a Repr, or null when `checkUdp` refuses it. */
export function parseUdp(buf: Uint8Array, off: number, len: number, flags = 0, src = 0, dst = 0): UdpRepr | null {
  if (checkUdp(buf, off, len, flags, src, dst) !== 0) return null;
  const v = new UdpView(buf, off, len);
  return { srcPort: v.srcPort, dstPort: v.dstPort, payloadLength: v.payloadLen };
}
