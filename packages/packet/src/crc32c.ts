/**
 * CRC32c (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the SCTP checksum
 * (RFC 9260 appendix A, RFC 3309). Table-driven, slicing by 4; no allocation per call.
 *
 * SCTP puts the CRC of the whole packet, computed with the checksum field set to zero,
 * into the common header's checksum field in little-endian byte order (the reflected
 * CRC's bytes as they fall out), which `sctpChecksum`/`setSctpChecksum` handle.
 */

const T = new Uint32Array(4 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T[i] = c >>> 0;
}
for (let i = 0; i < 256; i++) {
  for (let s = 1; s < 4; s++) T[s * 256 + i] = (T[(s - 1) * 256 + i]! >>> 8) ^ T[T[(s - 1) * 256 + i]! & 0xff]!;
}

/**
 * Continue a CRC32c over `buf[off, off+len)`. `crc` is the running value before the
 * final inversion (start with 0xffffffff); the result likewise. Finish with `~crc >>> 0`.
 */
export function crc32cUpdate(crc: number, buf: Uint8Array, off: number, len: number): number {
  let c = crc >>> 0;
  let i = off;
  const end = off + len;
  for (; i + 4 <= end; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = T[768 + (c & 0xff)]! ^ T[512 + ((c >>> 8) & 0xff)]! ^ T[256 + ((c >>> 16) & 0xff)]! ^ T[c >>> 24]!;
  }
  for (; i < end; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The CRC32c of `buf[off, off+len)`. */
export function crc32c(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return ~crc32cUpdate(0xffffffff, buf, off, len) >>> 0;
}

/** Offset of the checksum in the SCTP common header. */
const SCTP_CSUM = 8;
/** Length of the SCTP common header. */
export const SCTP_COMMON_HEADER_LEN = 12;

/** The SCTP checksum of the packet at `buf[off, off+len)`: its CRC32c with the checksum field taken as zero. */
export function sctpChecksum(buf: Uint8Array, off: number, len: number): number {
  let c = crc32cUpdate(0xffffffff, buf, off, SCTP_CSUM);
  c = crc32cUpdate(c, ZERO4, 0, 4);
  c = crc32cUpdate(c, buf, off + SCTP_CSUM + 4, len - SCTP_CSUM - 4);
  return ~c >>> 0;
}
const ZERO4 = new Uint8Array(4);

/** Write the SCTP checksum of the packet at `buf[off, off+len)` into its common header (little-endian on the wire). */
export function setSctpChecksum(buf: Uint8Array, off: number, len: number): void {
  const c = sctpChecksum(buf, off, len);
  buf[off + SCTP_CSUM] = c & 0xff;
  buf[off + SCTP_CSUM + 1] = (c >>> 8) & 0xff;
  buf[off + SCTP_CSUM + 2] = (c >>> 16) & 0xff;
  buf[off + SCTP_CSUM + 3] = c >>> 24;
}

/** True when the SCTP packet at `buf[off, off+len)` carries a correct checksum. */
export function sctpChecksumOk(buf: Uint8Array, off: number, len: number): boolean {
  if (len < SCTP_COMMON_HEADER_LEN) return false;
  const got = (buf[off + SCTP_CSUM]! | (buf[off + SCTP_CSUM + 1]! << 8) | (buf[off + SCTP_CSUM + 2]! << 16) | (buf[off + SCTP_CSUM + 3]! << 24)) >>> 0;
  return got === sctpChecksum(buf, off, len);
}
