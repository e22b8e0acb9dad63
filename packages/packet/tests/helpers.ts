/** Test helpers: commented hex → bytes, bytes → hex, a 0xa5-filled buffer. */

/** Bytes from hex text; `#` starts a comment to the end of the line; whitespace ignored. */
export function hex(text: string): Uint8Array {
  const clean = text.split('\n').map((l) => l.replace(/#.*$/, '')).join('').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${clean}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Bytes as lowercase hex (for readable failure messages). */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** A buffer of `n` bytes all 0xa5, so a byte the code forgot to write shows up. */
export function a5(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}
