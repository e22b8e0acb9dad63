/**
 * The hash functions the kernel's schedulers use, bit-exact:
 * - `hash32`: the generic `hash_32` of include/linux/hash.h (dh, sh, lblc, lblcr);
 * - `hsiphash32`: the 64-bit kernel's `hsiphash` (SipHash-1-3, result cut to 32 bits) of one
 *   32-bit word, done on 32-bit halves so that it costs no allocation (mh);
 * - `hsiphashBytes`: the same function over any byte string, in BigInt (tests, tools).
 */

/** `hash_32(x, bits)`: multiply by 0x61C88647 modulo 2^32 and keep the top `bits` bits. */
export function hash32(x: number, bits: number): number {
  return Math.imul(x, 0x61c88647) >>> (32 - bits);
}

/**
 * Fold an IPv6 address given as four 32-bit words (host order, most significant first) into
 * the 32-bit value the hashing schedulers use: the XOR of the words.
 */
export function foldIPv6(w0: number, w1: number, w2: number, w3: number): number {
  return (w0 ^ w1 ^ w2 ^ w3) >>> 0;
}

/** Bit length of a non-negative int (the kernel's `fls`): 0 -> 0, 1 -> 1, 255 -> 8. */
export function bitLength(x: number): number {
  return x <= 0 ? 0 : 32 - Math.clz32(x);
}

/** Greatest common divisor of two non-negative integers (gcd(a, 0) = a). */
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * A SipHash key prepared for `hsiphash32`: the four 64-bit state words after the key was
 * mixed in, as 32-bit halves.
 */
export interface HsipKey {
  readonly v0h: number;
  readonly v0l: number;
  readonly v1h: number;
  readonly v1l: number;
  readonly v2h: number;
  readonly v2l: number;
  readonly v3h: number;
  readonly v3l: number;
  /** v0 and v1 after the first step of the first round, which does not depend on the message */
  readonly r0h: number;
  readonly r0l: number;
  readonly r1h: number;
  readonly r1l: number;
}

const C0 = 0x736f6d6570736575n;
const C1 = 0x646f72616e646f6dn;
const C2 = 0x6c7967656e657261n;
const C3 = 0x7465646279746573n;
const M64 = 0xffffffffffffffffn;

/** Prepare a key from its two 64-bit words `k0`, `k1` (the kernel's `hsiphash_key_t` on 64-bit). */
export function hsipKey(k0: bigint, k1: bigint): HsipKey {
  const v0 = C0 ^ k0;
  const v1 = C1 ^ k1;
  const v2 = C2 ^ k0;
  const v3 = C3 ^ k1;
  const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;
  const lo = (v: bigint): number => Number(v & 0xffffffffn) | 0;
  const r0 = (v0 + v1) & M64;
  const r1 = rotl64(v1, 13n) ^ r0;
  const r0r = rotl64(r0, 32n);
  return {
    r0h: hi(r0r),
    r0l: lo(r0r),
    r1h: hi(r1),
    r1l: lo(r1),
    v0h: hi(v0),
    v0l: lo(v0),
    v1h: hi(v1),
    v1l: lo(v1),
    v2h: hi(v2),
    v2l: lo(v2),
    v3h: hi(v3),
    v3l: lo(v3),
  };
}

/**
 * `hsiphash(&v, 4, key)` on a 64-bit little-endian kernel: SipHash-1-3 of the four bytes of
 * `v`, result truncated to its low 32 bits. Returns an unsigned 32-bit number.
 */
export function hsiphash32(v: number, key: HsipKey): number {
  let v0h = key.r0h;
  let v0l = key.r0l;
  let v1h = key.r1h;
  let v1l = key.r1l;
  let v2h = key.v2h;
  let v2l = key.v2l;
  // b = (length 4) << 56 | v, xored into v3 before the single compression round
  let v3h = key.v3h ^ 0x04000000;
  let v3l = key.v3l ^ v;
  let t: number;
  // 64-bit adds on 32-bit halves: the carry out of the low half is the top bit of
  // (a & b) | ((a | b) & ~sum); rotations by 32 are swaps of the halves.
  // round 1 (its first step, on key material only, is precomputed in the key)
  t = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v3h << 16) | (v3l >>> 16);
  v3l = (v3l << 16) | (v3h >>> 16);
  v3h = t;
  v3h ^= v2h;
  v3l ^= v2l;
  t = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~t)) >>> 31)) | 0;
  v0l = t;
  t = (v3h << 21) | (v3l >>> 11);
  v3l = (v3l << 21) | (v3h >>> 11);
  v3h = t;
  v3h ^= v0h;
  v3l ^= v0l;
  t = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v1h << 17) | (v1l >>> 15);
  v1l = (v1l << 17) | (v1h >>> 15);
  v1h = t;
  v1h ^= v2h;
  v1l ^= v2l;
  t = v2h;
  v2h = v2l;
  v2l = t;
  // end of the message block: v0 ^= b; finalisation: v2 ^= 0xff, three rounds
  v0h ^= 0x04000000;
  v0l ^= v;
  v2l ^= 0xff;
  // round 2
  t = (v0l + v1l) | 0;
  v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~t)) >>> 31)) | 0;
  v0l = t;
  t = (v1h << 13) | (v1l >>> 19);
  v1l = (v1l << 13) | (v1h >>> 19);
  v1h = t;
  v1h ^= v0h;
  v1l ^= v0l;
  t = v0h;
  v0h = v0l;
  v0l = t;
  t = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v3h << 16) | (v3l >>> 16);
  v3l = (v3l << 16) | (v3h >>> 16);
  v3h = t;
  v3h ^= v2h;
  v3l ^= v2l;
  t = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~t)) >>> 31)) | 0;
  v0l = t;
  t = (v3h << 21) | (v3l >>> 11);
  v3l = (v3l << 21) | (v3h >>> 11);
  v3h = t;
  v3h ^= v0h;
  v3l ^= v0l;
  t = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v1h << 17) | (v1l >>> 15);
  v1l = (v1l << 17) | (v1h >>> 15);
  v1h = t;
  v1h ^= v2h;
  v1l ^= v2l;
  t = v2h;
  v2h = v2l;
  v2l = t;
  // round 3
  t = (v0l + v1l) | 0;
  v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~t)) >>> 31)) | 0;
  v0l = t;
  t = (v1h << 13) | (v1l >>> 19);
  v1l = (v1l << 13) | (v1h >>> 19);
  v1h = t;
  v1h ^= v0h;
  v1l ^= v0l;
  t = v0h;
  v0h = v0l;
  v0l = t;
  t = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v3h << 16) | (v3l >>> 16);
  v3l = (v3l << 16) | (v3h >>> 16);
  v3h = t;
  v3h ^= v2h;
  v3l ^= v2l;
  t = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~t)) >>> 31)) | 0;
  v0l = t;
  t = (v3h << 21) | (v3l >>> 11);
  v3l = (v3l << 21) | (v3h >>> 11);
  v3h = t;
  v3h ^= v0h;
  v3l ^= v0l;
  t = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v1h << 17) | (v1l >>> 15);
  v1l = (v1l << 17) | (v1h >>> 15);
  v1h = t;
  v1h ^= v2h;
  v1l ^= v2l;
  t = v2h;
  v2h = v2l;
  v2l = t;
  // round 4
  t = (v0l + v1l) | 0;
  v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~t)) >>> 31)) | 0;
  v0l = t;
  t = (v1h << 13) | (v1l >>> 19);
  v1l = (v1l << 13) | (v1h >>> 19);
  v1h = t;
  v1h ^= v0h;
  v1l ^= v0l;
  t = v0h;
  v0h = v0l;
  v0l = t;
  t = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v3h << 16) | (v3l >>> 16);
  v3l = (v3l << 16) | (v3h >>> 16);
  v3h = t;
  v3h ^= v2h;
  v3l ^= v2l;
  t = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~t)) >>> 31)) | 0;
  v0l = t;
  t = (v3h << 21) | (v3l >>> 11);
  v3l = (v3l << 21) | (v3h >>> 11);
  v3h = t;
  v3h ^= v0h;
  v3l ^= v0l;
  t = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~t)) >>> 31)) | 0;
  v2l = t;
  t = (v1h << 17) | (v1l >>> 15);
  v1l = (v1l << 17) | (v1h >>> 15);
  v1h = t;
  v1h ^= v2h;
  v1l ^= v2l;
  t = v2h;
  v2h = v2l;
  v2l = t;
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}

function rotl64(x: bigint, n: bigint): bigint {
  return ((x << n) | (x >> (64n - n))) & M64;
}

/**
 * Reference `hsiphash` (64-bit kernel: SipHash-1-3, low 32 bits of the result) of any byte
 * string, in BigInt. Slow; for tests and tools.
 */
export function hsiphashBytes(data: Uint8Array, k0: bigint, k1: bigint): number {
  let v0 = C0 ^ k0;
  let v1 = C1 ^ k1;
  let v2 = C2 ^ k0;
  let v3 = C3 ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & M64;
    v1 = rotl64(v1, 13n) ^ v0;
    v0 = rotl64(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl64(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl64(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl64(v1, 17n) ^ v2;
    v2 = rotl64(v2, 32n);
  };
  const len = data.length;
  const full = len - (len % 8);
  for (let i = 0; i < full; i += 8) {
    let m = 0n;
    for (let j = 7; j >= 0; j--) m = (m << 8n) | BigInt(data[i + j]!);
    v3 ^= m;
    round();
    v0 ^= m;
  }
  let b = BigInt(len & 0xff) << 56n;
  for (let j = len - 1; j >= full; j--) b |= BigInt(data[j]!) << BigInt(8 * (j - full));
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}
