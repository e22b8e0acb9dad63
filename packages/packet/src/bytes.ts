/**
 * Big-endian field access by byte indexing. These are tiny on purpose so that V8 inlines
 * them into the view accessors; no DataView and no Buffer.read* on the data path.
 * Out-of-range reads yield 0 after the `| 0`/`>>> 0` coercion instead of throwing.
 */

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
