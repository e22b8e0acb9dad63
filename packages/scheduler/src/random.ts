/**
 * A small deterministic random source (mulberry32) for schedulers that draw random numbers
 * (twos), so that tests and replays can seed it. Not cryptographic.
 */

/** A function returning floats in [0, 1), seeded: the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let s = seed | 0;
  return (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in 0..n-1 from a [0, 1) source (n >= 1). */
export function randomBelow(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
