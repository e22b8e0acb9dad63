/**
 * Load measures shared by the counting schedulers, with the kernel's integer semantics.
 *
 * The classic overhead (kernels up to mid-2026) is `activeconns * 256 + inactconns`; the
 * 2026 fixes count `activeconns * 256 + totalconns`, i.e. `257 * active + inactive`. Which
 * one applies is the destination's service's `kernel` (the Director's `kernel` option,
 * carried by its ServiceTable to every service); a destination outside any service
 * counts the classic way.
 */
import type { Dest, Service } from '@tunvs/model';

/**
 * `ip_vs_dest_conn_overhead`: active * 256 + inactive (classic) or + total (2026, when the
 * destination's service has `kernel: '2026'`), as the kernel's 32-bit int.
 */
export function overhead(d: Dest): number {
  return overheadWith(d, kernelExtra(d.service));
}

/** 1 when `svc` follows the 2026 rules (the overhead counts active connections 257 times), else 0. */
export function kernelExtra(svc: Service | null): number {
  return svc !== null && svc.kernel === '2026' ? 1 : 0;
}

/** `overhead` with the service's `kernelExtra` already known (loops over a service's destinations). */
export function overheadWith(d: Dest, extra: number): number {
  const a = d.activeConns;
  return ((a << 8) + d.inactConns + extra * a) | 0;
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
