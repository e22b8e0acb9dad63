/**
 * TCP headers (RFC 793 / RFC 9293; NS bit from RFC 3540, ECE/CWR from RFC 3168).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |     |N|C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsv |S|W|C|R|C|S|S|Y|I|            Window             |
 * |       |     | |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The checksum covers the IPv4 pseudo-header, the TCP header and the data.
 * ```
 */
import { EMPTY, rd16, rd32, wr16, wr32 } from './bytes.js';
import { csumFold, csumPartial, csumUpdate16, pseudoHeaderSum } from './checksum.js';
import { Proto } from '@tunvs/model';
import { CheckFlags, ParseReason } from './reason.js';

// Imported tables read through same-module constants: V8 folds these, but loads the
// properties of an imported `as const` object on every call of a hot function.
const OK = ParseReason.Ok;

/** Byte offsets of the TCP header fields. */
export const TcpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  /** data offset (high nibble), reserved bits and NS (low bit) */
  DATA_OFF: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
  OPTIONS: 20,
  HEADER_LEN: 20,
  MAX_HEADER_LEN: 60,
} as const;

/** Minimum TCP header length. */
export const TCP_HEADER_LEN = TcpField.HEADER_LEN;

/** TCP flag bits as returned by `TcpView.flags` (9 bits, NS is bit 8). */
export const TcpFlag = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
} as const;

/** A zero-copy view of a TCP segment; `len` is the L4 length (header + data). */
export class TcpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** A view over `buf[off, off+len)`. */
  constructor(buf: Uint8Array = EMPTY, off = 0, len = buf.length - off) {
    this.reset(buf, off, len);
  }

  /** Point the view at another segment without allocating. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Source port. */
  get srcPort(): number { return rd16(this.buf, this.off + TcpField.SRC_PORT); }
  set srcPort(v: number) { wr16(this.buf, this.off + TcpField.SRC_PORT, v); }
  /** Destination port. */
  get dstPort(): number { return rd16(this.buf, this.off + TcpField.DST_PORT); }
  set dstPort(v: number) { wr16(this.buf, this.off + TcpField.DST_PORT, v); }
  /** Sequence number. */
  get seq(): number { return rd32(this.buf, this.off + TcpField.SEQ); }
  set seq(v: number) { wr32(this.buf, this.off + TcpField.SEQ, v); }
  /** Acknowledgment number. */
  get ack(): number { return rd32(this.buf, this.off + TcpField.ACK); }
  set ack(v: number) { wr32(this.buf, this.off + TcpField.ACK, v); }
  /** Data offset in 32-bit words. */
  get dataOffset(): number { return this.buf[this.off + TcpField.DATA_OFF]! >>> 4; }
  set dataOffset(v: number) {
    const o = this.off + TcpField.DATA_OFF;
    this.buf[o] = ((v & 0xf) << 4) | (this.buf[o]! & 0xf);
  }
  /** Header length in bytes (data offset * 4). */
  get headerLen(): number { return (this.buf[this.off + TcpField.DATA_OFF]! >>> 4) << 2; }
  /** Length of the options in bytes. */
  get optionsLen(): number { return this.headerLen - TcpField.HEADER_LEN; }
  /** The 9 flag bits (TcpFlag). Setting keeps the data offset and reserved bits. */
  get flags(): number { return ((this.buf[this.off + TcpField.DATA_OFF]! & 1) << 8) | this.buf[this.off + TcpField.FLAGS]!; }
  set flags(v: number) {
    const o = this.off + TcpField.DATA_OFF;
    this.buf[o] = (this.buf[o]! & 0xfe) | ((v >>> 8) & 1);
    this.buf[o + 1] = v;
  }
  /** True when every bit of `mask` is set in the flags. */
  hasFlags(mask: number): boolean { return (this.flags & mask) === mask; }
  /** Receive window. */
  get window(): number { return rd16(this.buf, this.off + TcpField.WINDOW); }
  set window(v: number) { wr16(this.buf, this.off + TcpField.WINDOW, v); }
  /** Checksum as on the wire. */
  get checksum(): number { return rd16(this.buf, this.off + TcpField.CHECKSUM); }
  set checksum(v: number) { wr16(this.buf, this.off + TcpField.CHECKSUM, v); }
  /** Urgent pointer. */
  get urgent(): number { return rd16(this.buf, this.off + TcpField.URGENT); }
  set urgent(v: number) { wr16(this.buf, this.off + TcpField.URGENT, v); }
  /** Absolute offset of the data in `buf`. */
  get payloadOff(): number { return this.off + this.headerLen; }
  /** Length of the data (view length - header length). */
  get payloadLen(): number { return this.len - this.headerLen; }

  /** The checksum this segment should carry, given the IPv4 addresses; covers `len` bytes. */
  computeChecksum(src: number, dst: number): number {
    const sum = csumPartial(this.buf, this.off, this.len, pseudoHeaderSum(src, dst, Proto.TCP, this.len)) +
      (~this.checksum & 0xffff);
    return ~csumFold(sum) & 0xffff;
  }

  /** Write the checksum over the pseudo-header and `len` bytes. */
  fillChecksum(src: number, dst: number): void {
    this.checksum = this.computeChecksum(src, dst);
  }

  /** True when the checksum is right. */
  verifyChecksum(src: number, dst: number): boolean {
    return csumPartial(this.buf, this.off, this.len, pseudoHeaderSum(src, dst, Proto.TCP, this.len)) === 0xffff;
  }

  /** Set the source port and update the checksum incrementally. */
  setSrcPortCsum(port: number): void {
    this.checksum = csumUpdate16(this.checksum, this.srcPort, port);
    this.srcPort = port;
  }

  /** Set the destination port and update the checksum incrementally. */
  setDstPortCsum(port: number): void {
    this.checksum = csumUpdate16(this.checksum, this.dstPort, port);
    this.dstPort = port;
  }
}

/**
 * Check a TCP segment of `len` bytes (the IP payload): 0, `TcpTruncated` or
 * `TcpBadDataOffset`; with `CheckFlags.L4Checksum` in `flags` also `TcpBadChecksum`
 * (then `src`/`dst` are the IPv4 addresses). Never throws.
 */
export function checkTcp(buf: Uint8Array, off: number, len: number, flags = 0, src = 0, dst = 0): number {
  const r = checkTcpHeader(buf, off, len);
  if (r !== 0) return r;
  if ((flags & CheckFlags.L4Checksum) !== 0 &&
    csumPartial(buf, off, len, pseudoHeaderSum(src, dst, Proto.TCP, len)) !== 0xffff) {
    return ParseReason.TcpBadChecksum;
  }
  return OK;
}

/** The header part of `checkTcp` (no checksum): 0, `TcpTruncated` or `TcpBadDataOffset`. */
export function checkTcpHeader(buf: Uint8Array, off: number, len: number): number {
  if (len < TCP_HEADER || off < 0 || off + len > buf.length) return R_TCP_TRUNCATED;
  const hl = (buf[off + DATA_OFF]! >>> 4) << 2;
  return hl < TCP_HEADER || hl > len ? R_TCP_BAD_DATA_OFFSET : OK;
}

const { HEADER_LEN: TCP_HEADER, DATA_OFF } = TcpField;
const { TcpTruncated: R_TCP_TRUNCATED, TcpBadDataOffset: R_TCP_BAD_DATA_OFFSET } = ParseReason;

/** The meaningful fields of a TCP header. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TcpFlag bits (9 bits) */
  flags: number;
  window: number;
  urgent: number;
  /** raw option bytes (a multiple of 4 long, at most 40); absent when there are none */
  options?: Uint8Array;
}

/** Header length `emitTcp` writes for `repr`. */
export function tcpHeaderLen(repr: TcpRepr): number {
  const o = repr.options ? repr.options.length : 0;
  return TcpField.HEADER_LEN + ((o + 3) & ~3);
}

/**
 * Write a TCP header at `off` (every field, then the checksum over the pseudo-header, the
 * header and the `payloadLen` bytes of data already after it). Returns the header length.
 */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, off: number, src: number, dst: number, payloadLen: number): number {
  const hl = tcpHeaderLen(repr);
  wr16(buf, off + TcpField.SRC_PORT, repr.srcPort);
  wr16(buf, off + TcpField.DST_PORT, repr.dstPort);
  wr32(buf, off + TcpField.SEQ, repr.seq);
  wr32(buf, off + TcpField.ACK, repr.ack);
  buf[off + TcpField.DATA_OFF] = ((hl >>> 2) << 4) | ((repr.flags >>> 8) & 1);
  buf[off + TcpField.FLAGS] = repr.flags;
  wr16(buf, off + TcpField.WINDOW, repr.window);
  wr16(buf, off + TcpField.CHECKSUM, 0);
  wr16(buf, off + TcpField.URGENT, repr.urgent);
  if (repr.options) {
    const o = repr.options;
    for (let i = 0; i < o.length; i++) buf[off + TcpField.OPTIONS + i] = o[i]!;
    for (let i = TcpField.OPTIONS + o.length; i < hl; i++) buf[off + i] = 0;
  }
  const l4 = hl + payloadLen;
  wr16(buf, off + TcpField.CHECKSUM, ~csumPartial(buf, off, l4, pseudoHeaderSum(src, dst, Proto.TCP, l4)) & 0xffff);
  return hl;
}

/**
 * Parse a TCP header into a Repr, or null when `checkTcp(buf, off, len, flags, src, dst)`
 * refuses it (by default the checksum is not verified).
 */
export function parseTcp(buf: Uint8Array, off: number, len: number, flags = 0, src = 0, dst = 0): TcpRepr | null {
  if (checkTcp(buf, off, len, flags, src, dst) !== 0) return null;
  const v = new TcpView(buf, off, len);
  const repr: TcpRepr = {
    srcPort: v.srcPort, dstPort: v.dstPort, seq: v.seq, ack: v.ack, flags: v.flags, window: v.window, urgent: v.urgent,
  };
  if (v.optionsLen > 0) repr.options = buf.slice(off + TcpField.OPTIONS, off + v.headerLen);
  return repr;
}
