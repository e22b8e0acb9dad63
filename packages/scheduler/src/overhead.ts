/**
 * Load measures shared by the counting schedulers, with the kernel's integer semantics.
 *
 * The classic overhead (kernels up to mid-2026) is `activeconns * 256 + inactconns`; the
 * 2026 fixes count `activeconns * 256 + totalconns`, i.e. `257 * active + inactive`. The
 * mode is module-wide (like a kernel build) and defaults to classic.
 */
import type { Dest } from '@tunvs/model';

/** Which kernel generation to mimic where the 2026 fixes changed behaviour. */
export type KernelMode = 'classic' | '2026';

let mode: KernelMode = 'classic';
/** 0 for classic, 1 for 2026: the extra multiple of activeconns in the overhead */
let extraActive = 0;

/** Select the classic (default) or 2026 overhead formula and lblc/lblcr cache limit. */
export function setKernelMode(m: KernelMode): void {
  if (m !== 'classic' && m !== '2026') throw new TypeError(`unknown kernel mode "${String(m)}"`);
  mode = m;
  extraActive = m === '2026' ? 1 : 0;
}

/** The current kernel mode. */
export function kernelMode(): KernelMode {
  return mode;
}

/**
 * `ip_vs_dest_conn_overhead`: active * 256 + inactive (classic) or + total (2026), as the
 * kernel's 32-bit int.
 */
export function overhead(d: Dest): number {
  const a = d.activeConns;
  return ((a << 8) + d.inactConns + extraActive * a) | 0;
}

/** sed/nq overhead: activeconns + 1 (inactive connections ignored). */
export function sedOverhead(d: Dest): number {
  return (d.activeConns + 1) | 0;
}

/**
 * Exact `(s64)a * b > (s64)c * d` for 32-bit ints. Doubles are exact below 2^53; beyond that
 * (absurd counters times huge weights) the comparison falls back to BigInt.
 */
export function productGreater(a: number, b: number, c: number, d: number): boolean {
  const p = a * b;
  const q = c * d;
  if (p < 9007199254740992 && p > -9007199254740992 && q < 9007199254740992 && q > -9007199254740992) {
    return p > q;
  }
  return BigInt(a) * BigInt(b) > BigInt(c) * BigInt(d);
}
