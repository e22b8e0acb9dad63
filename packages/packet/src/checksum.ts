/**
 * Internet checksum arithmetic.
 *
 * - RFC 1071: the checksum is the 16-bit ones' complement of the ones' complement sum of
 *   the data taken as big-endian 16-bit words (an odd trailing byte is padded with zero).
 *   We accumulate in a plain JS number (exact up to 2^53) and fold the carries at the end.
 * - RFC 1624 (eqn. 3): when a 16-bit word m changes to m', the new checksum is
 *   HC' = ~(~HC + ~m + m'), all in ones' complement arithmetic. A 32-bit field is two words.
 * - RFC 768: a UDP checksum of 0 means "no checksum"; a computed 0 is sent as 0xffff.
 *
 * Conventions: a "sum" is an unfolded or folded ones' complement sum (not complemented);
 * a "checksum" is the complemented 16-bit value that goes on the wire.
 */
import { wordsOf } from './bytes.js';

/** Fold a non-negative sum (any size up to 2^53) to 16 bits with end-around carry. */
export function csumFold(sum: number): number {
  // Large sums first come down to 32 bits without losing carries.
  if (sum > 0xffffffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The wire checksum from a sum: fold, then ones' complement, as a 16-bit number. */
export function csumFinish(sum: number): number {
  return ~csumFold(sum) & 0xffff;
}

/**
 * RFC 1071 sum of `len` bytes of `buf` from `off`, added to `initial`; returns the sum
 * folded to 16 bits (not complemented). Bytes beyond the buffer count as zero.
 */
export function csumPartial(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  let i = off;
  const end = off + (len > 0 ? len : 0);
  const end8 = end - 7;
  // Four words per iteration; 4 * 0xffff per pass, so a 32-bit fold every ~16k passes
  // is not needed for packet sizes (< 2^20 bytes keeps us far from 2^53).
  while (i < end8) {
    sum += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!) +
      ((buf[i + 4]! << 8) | buf[i + 5]!) + ((buf[i + 6]! << 8) | buf[i + 7]!);
    i += 8;
  }
  const end2 = end - 1;
  while (i < end2) {
    sum += (buf[i]! << 8) | buf[i + 1]!;
    i += 2;
  }
  if (i < end) sum += (buf[i]! | 0) << 8;
  return csumFold(sum);
}

/**
 * True when the IPv4 header of `hl` bytes at `off` has a valid checksum (at least the
 * fixed 20 bytes are summed). Those 20 in five words through a DataView (`wordsOf`: a
 * frame's path checks every header it receives on a layer-2 link); options in a loop.
 */
export function ipv4HeaderCsumOk(b: Uint8Array, off: number, hl: number): boolean {
  let s = 0;
  let i = off;
  if (off >= 0 && off + 20 <= b.length) {
    // the fixed 20 bytes in five big-endian words, their 16-bit halves summed
    const w = wordsOf(b);
    const w0 = w.getUint32(off);
    const w1 = w.getUint32(off + 4);
    const w2 = w.getUint32(off + 8);
    const w3 = w.getUint32(off + 12);
    const w4 = w.getUint32(off + 16);
    s = (w0 >>> 16) + (w0 & 0xffff) + (w1 >>> 16) + (w1 & 0xffff) + (w2 >>> 16) + (w2 & 0xffff) +
      (w3 >>> 16) + (w3 & 0xffff) + (w4 >>> 16) + (w4 & 0xffff);
    i = off + 20;
  }
  // the options (and, out of bounds, every byte there is: missing ones count as 0)
  for (const end = off + (hl > 20 ? hl : 20); i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

/** The wire checksum (complemented) of a byte range, starting from sum `initial`. */
export function checksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~csumPartial(buf, off, len, initial) & 0xffff;
}

/**
 * Sum of the IPv4 pseudo-header (RFC 793/768): source, destination, zero+protocol and the
 * L4 length. Addresses are uint32 in host order. Returns an unfolded sum.
 */
export function pseudoHeaderSum(src: number, dst: number, proto: number, l4Len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (proto & 0xff) + (l4Len & 0xffff);
}

/** RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changed. */
export function csumUpdate16(oldCsum: number, oldVal: number, newVal: number): number {
  const s = (~oldCsum & 0xffff) + (~oldVal & 0xffff) + (newVal & 0xffff);
  return ~csumFold(s) & 0xffff;
}

/** RFC 1624 eqn. 3 for a 32-bit field (e.g. an IPv4 address): two words at once. */
export function csumUpdate32(oldCsum: number, oldVal: number, newVal: number): number {
  const s = (~oldCsum & 0xffff) + (~oldVal >>> 16 & 0xffff) + (~oldVal & 0xffff) +
    (newVal >>> 16 & 0xffff) + (newVal & 0xffff);
  return ~csumFold(s) & 0xffff;
}

/**
 * The UDP rule on top of an incremental update: a checksum of 0 ("none") stays 0, and a
 * result of 0 is sent as 0xffff.
 */
export function udpCsumUpdate32(oldCsum: number, oldVal: number, newVal: number): number {
  if (oldCsum === 0) return 0;
  return csumUpdate32(oldCsum, oldVal, newVal) || 0xffff;
}

/** The UDP 16-bit variant of `udpCsumUpdate32` (zero stays zero, computed zero -> 0xffff). */
export function udpCsumUpdate16(oldCsum: number, oldVal: number, newVal: number): number {
  if (oldCsum === 0) return 0;
  return csumUpdate16(oldCsum, oldVal, newVal) || 0xffff;
}

/** Map a computed UDP checksum to its wire form: 0 becomes 0xffff (RFC 768). */
export function udpWireChecksum(csum: number): number {
  return csum === 0 ? 0xffff : csum;
}

/**
 * True when the checksum over a range that *includes* its checksum field is valid: the
 * ones' complement sum is 0xffff (-0).
 */
export function csumVerify(buf: Uint8Array, off: number, len: number, initial = 0): boolean {
  return csumPartial(buf, off, len, initial) === 0xffff;
}
