/**
 * The contract of a benchmark suite: `bench/src/suites/<name>.ts` exports `suite`.
 * `run` prints human-readable progress and tables to stderr (so that `--json` output on
 * stdout stays one clean JSON object) and returns the figures.
 */
export interface SuiteOptions {
  /** print one JSON object of the figures on stdout */
  json: boolean;
  /** shorter runs (CI smoke checks) */
  quick: boolean;
  /** the rest of the command line after the suite name */
  args: string[];
}

export interface Suite {
  name: string;
  description: string;
  /** needs root (network namespaces, TUN devices) */
  needsRoot?: boolean;
  run(opts: SuiteOptions): Promise<Record<string, unknown>>;
}

/** Log to stderr (stdout is reserved for --json). */
export function log(...parts: unknown[]): void {
  process.stderr.write(parts.map(String).join(' ') + '\n');
}

/** Format a table of rows (first row = header) with right-aligned columns after the first. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/**
 * The numbers 0..n-1 in a random order, the same for the same seed (Fisher-Yates driven
 * by xorshift32).
 */
export function permutation(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let x = seed | 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** A number with an SI suffix for tables: 12345678 -> "12.35M". */
export function si(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(digits) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(digits) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(digits) + 'k';
  return n.toFixed(digits);
}
