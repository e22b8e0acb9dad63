/**
 * Small statistics helpers for the report: percentiles (nearest rank) of a sample, and
 * rounding that keeps the JSON short and stable.
 */

/** Count, mean, p50, p99, p99.9 and max of a sample (milliseconds in the report). */
export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Round to `d` decimals (NaN and infinities become null in JSON, so keep them out). */
export function round(x: number, d = 4): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** The value of rank ceil(q * n) in a sorted sample (nearest-rank percentile). */
export function percentileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const k = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[k]!;
}

/** Summary of `values` (sorted in place). */
export function summarize(values: Float64Array, digits = 2): Summary {
  const n = values.length;
  if (n === 0) return { n: 0, mean: 0, p50: 0, p99: 0, p999: 0, max: 0 };
  values.sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  return {
    n,
    mean: round(sum / n, digits),
    p50: round(percentileSorted(values, 0.5), digits),
    p99: round(percentileSorted(values, 0.99), digits),
    p999: round(percentileSorted(values, 0.999), digits),
    max: round(values[n - 1]!, digits),
  };
}

/** A growable Float64Array. */
export class FloatList {
  data: Float64Array;
  length = 0;
  constructor(cap = 1024) {
    this.data = new Float64Array(cap);
  }
  push(x: number): void {
    if (this.length === this.data.length) {
      const b = new Float64Array(this.data.length * 2);
      b.set(this.data);
      this.data = b;
    }
    this.data[this.length++] = x;
  }
  /** A copy of the values. */
  values(): Float64Array {
    return this.data.slice(0, this.length);
  }
}
