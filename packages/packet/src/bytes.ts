/**
 * Big-endian field access by byte indexing. These are tiny on purpose so that V8 inlines
 * them into the view accessors; no Buffer.read* on the data path. Out-of-range reads yield
 * 0 after the `| 0`/`>>> 0` coercion instead of throwing.
 *
 * The one exception is `wordsOf`: where a frame's path reads or writes several whole words
 * at once (the IP header checksum, the Ethernet header) its caller checks the bounds and
 * goes through a DataView, 5 accesses instead of 20 to 26 bounds-checked bytes.
 */

/** The buffers `wordsOf` last answered for (the newest first), and their DataViews. */
let wordsBuf0: Uint8Array = new Uint8Array(0);
let words0 = new DataView(wordsBuf0.buffer);
let wordsBuf1: Uint8Array = wordsBuf0;
let words1 = words0;

/**
 * A DataView over the bytes of `b`, at the same offsets. Its accesses throw out of range
 * (the caller checks the bounds first). The views of the last two buffers asked about are
 * kept: a batch's frames alternate between its receive buffer and its transmit slab, so
 * the data path allocates one only when a link hands it another buffer.
 */
export function wordsOf(b: Uint8Array): DataView {
  if (b === wordsBuf0) return words0;
  if (b === wordsBuf1) return words1;
  wordsBuf1 = wordsBuf0;
  words1 = words0;
  wordsBuf0 = b;
  words0 = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return words0;
}

/** Read a big-endian uint16 at `off`. */
export function rd16(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) & 0xffff;
}

/** Write a big-endian uint16 at `off` (the value is truncated to 16 bits). */
export function wr16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

/** Read a big-endian uint32 at `off` as a non-negative number. */
export function rd32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Write a big-endian uint32 at `off` (the value is truncated to 32 bits). */
export function wr32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** A shared empty buffer that fresh views point at until `reset`. */
export const EMPTY: Uint8Array = new Uint8Array(0);
