/**
 * SCTP (RFC 9260): the common header and chunk headers, as the director needs them: the
 * ports, the first chunk's type (the connection's state event), checked lengths, and the
 * CRC32c (`crc32c.ts`). Never throws, never allocates.
 */
import { rd16 } from './bytes.js';
import { sctpChecksumOk } from './crc32c.js';
import { CheckFlags, ParseReason } from './reason.js';

/** Offsets in the SCTP common header and in a chunk header. */
export const SctpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  VERIFICATION_TAG: 4,
  CHECKSUM: 8,
  /** the common header's length */
  HEADER_LEN: 12,
  /** offsets inside a chunk */
  CHUNK_TYPE: 0,
  CHUNK_FLAGS: 1,
  CHUNK_LENGTH: 2,
  CHUNK_HEADER_LEN: 4,
} as const;

/**
 * Check the SCTP packet at `buf[off, off+len)` (a whole datagram, not a fragment): the
 * common header and at least one chunk, every chunk's length at least its header and
 * within the packet (the last chunk's padding may be absent), and, with
 * `CheckFlags.L4Checksum`, the CRC32c. Returns 0 or a ParseReason.
 */
export function checkSctp(buf: Uint8Array, off: number, len: number, flags: number = CheckFlags.None): number {
  if (len < SctpField.HEADER_LEN + SctpField.CHUNK_HEADER_LEN) return ParseReason.SctpTruncated;
  const end = off + len;
  let c = off + SctpField.HEADER_LEN;
  while (c + SctpField.CHUNK_HEADER_LEN <= end) {
    const cl = rd16(buf, c + SctpField.CHUNK_LENGTH);
    if (cl < SctpField.CHUNK_HEADER_LEN || c + cl > end) return ParseReason.SctpBadChunkLength;
    c += (cl + 3) & ~3;
  }
  // what is left after the chunks is padding of the last one (fewer than 4 bytes) or nothing
  if (c < end) return ParseReason.SctpBadChunkLength;
  if ((flags & CheckFlags.L4Checksum) !== 0 && !sctpChecksumOk(buf, off, len)) return ParseReason.SctpBadChecksum;
  return ParseReason.Ok;
}
