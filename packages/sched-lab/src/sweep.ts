/**
 * `tunvs-sched bench SCENARIO --sweep PARAM=VALUES`: the scenario run at every value of one
 * parameter, each scheduler at each point, and a few figures plotted against the parameter
 * (p99 wait against the load, say), with the points where one scheduler overtakes another.
 *
 * PARAM is `rate` (connections/s), `load` (share of capacity), `zipf`, `seed`,
 * `weights` (one value per server, `8/16/24`), or any field by its path
 * (`clients.persistentShare`, `servers.rs1.weight`, `servers.rs2.service.mean`).
 * VALUES is a comma list whose numeric items may be ranges `from:to:step`.
 */
import { resolveScenario, ScenarioError } from './scenario.js';
import type { Scenario } from './scenario.js';
import { runBench } from './lab.js';
import type { BenchTiming } from './lab.js';
import { progress } from './report/progress.js';
import type { RunResult } from './sim.js';
import { round } from './stats.js';
import type { TraceWorkload } from './trace.js';

/** A parameter and its values. */
export interface SweepSpec {
  param: string;
  values: (number | string)[];
}

/** One figure against the parameter, per scheduler (lower is better). */
export interface SweepMetric {
  key: string;
  title: string;
  values: Record<string, number[]>;
  /** the best scheduler at each point ("a=b" for a tie, "all equal") */
  best: string[];
}

/** What a sweep found; written as sweep.json. */
export interface SweepReport {
  tool: 'tunvs-sched sweep';
  scenario: string;
  seed: number;
  param: string;
  values: (number | string)[];
  /** runs per point (seeds seed, seed + 1, ...); the figures are their means */
  repeat: number;
  metrics: SweepMetric[];
  /** "sed overtakes wlc between load=0.8 and load=0.9 (p99 wait ms)" */
  crossovers: string[];
}

const METRICS: { key: string; title: string; get: (r: RunResult) => number }[] = [
  { key: 'wait_p99_ms', title: 'p99 wait ms', get: (r) => r.wait_ms.p99 },
  { key: 'wait_p999_ms', title: 'p99.9 wait ms', get: (r) => r.wait_ms.p999 },
  { key: 'slowest_wait_p99_ms', title: 'slowest server p99 wait ms', get: (r) => r.slowest.wait_ms.p99 },
  { key: 'max_over_mean', title: 'max/mean load', get: (r) => r.load.max_over_mean },
  { key: 'rejected_pct', title: 'rejected %', get: (r) => round(r.connections.rejected_share * 100, 3) },
  { key: 'share_error', title: 'share error', get: (r) => r.share_error },
];

/** The figures a sweep can plot (the first is the main one). */
export const SWEEP_METRICS = METRICS.map((m) => m.key);

function expand(item: string, what: string): number[] {
  const parts = item.split(':');
  const nums = parts.map(Number);
  if (nums.some((x) => !Number.isFinite(x)) || parts.some((p) => p.trim() === '')) throw new ScenarioError(`--sweep: '${item}' is not a number or a range from:to:step (${what})`);
  if (parts.length === 1) return nums;
  if (parts.length !== 3 || !(nums[2]! > 0) || nums[1]! < nums[0]!) throw new ScenarioError(`--sweep: a range is from:to:step with step > 0 and to >= from, not '${item}'`);
  const out: number[] = [];
  const [a, b, s] = nums as [number, number, number];
  const n = Math.floor((b - a) / s + 1e-9);
  if (n > 1000) throw new ScenarioError(`--sweep: '${item}' has more than 1000 points`);
  for (let k = 0; k <= n; k++) out.push(round(a + k * s, 9));
  return out;
}

/** Parse `--sweep PARAM=VALUES`. */
export function parseSweep(arg: string): SweepSpec {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ScenarioError(`--sweep needs PARAM=VALUES (e.g. load=0.5:1.0:0.1 or weights=8/16/24,16/16/16), not '${arg}'`);
  const param = arg.slice(0, eq).trim();
  const items = arg.slice(eq + 1).split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new ScenarioError(`--sweep ${param}: no values`);
  const values: (number | string)[] = [];
  for (const it of items) {
    if (param === 'weights') {
      if (!/^\d+(\/\d+)*$/.test(it)) throw new ScenarioError(`--sweep weights: '${it}' is not one weight per server like 8/16/24`);
      values.push(it);
    } else values.push(...expand(it, param));
  }
  if (values.length < 2) throw new ScenarioError(`--sweep ${param}: give at least two values`);
  return { param, values };
}

type Obj = Record<string, unknown>;

/** The raw scenario with PARAM set to `value`. */
export function applySweep(raw: Obj, param: string, value: number | string): Obj {
  const c = structuredClone(raw);
  const clients = (c['clients'] ??= {}) as Obj;
  switch (param) {
    case 'rate':
      clients['rate'] = value;
      delete clients['load'];
      return c;
    case 'load':
      clients['load'] = value;
      delete clients['rate'];
      return c;
    case 'zipf':
      clients['zipf'] = value;
      return c;
    case 'seed':
      c['seed'] = value;
      return c;
    case 'weights': {
      const ws = String(value).split('/').map(Number);
      const servers = c['servers'];
      if (!Array.isArray(servers) || servers.length !== ws.length) throw new ScenarioError(`--sweep weights: '${value}' has ${ws.length} weights for ${Array.isArray(servers) ? servers.length : 0} servers`);
      servers.forEach((s: Obj, i) => (s['weight'] = ws[i]));
      return c;
    }
  }
  // a field by its path; list elements by their `name` or index
  const segs = param.split('.');
  let o: unknown = c;
  for (let i = 0; i < segs.length - 1; i++) {
    const k = segs[i]!;
    let next: unknown;
    if (Array.isArray(o)) next = /^\d+$/.test(k) ? o[Number(k)] : o.find((x: Obj) => x && x['name'] === k);
    else if (o && typeof o === 'object') {
      const obj = o as Obj;
      if (obj[k] === undefined && i < segs.length - 1) obj[k] = {};
      next = obj[k];
    }
    if (next === undefined || next === null || typeof next !== 'object') throw new ScenarioError(`--sweep: no field '${segs.slice(0, i + 1).join('.')}' in the scenario (sweepable: rate, load, zipf, seed, weights, or a field path like servers.rs1.weight)`);
    o = next;
  }
  const last = segs[segs.length - 1]!;
  if (Array.isArray(o) || o === null || typeof o !== 'object') throw new ScenarioError(`--sweep: '${param}' does not name a field`);
  (o as Obj)[last] = value;
  return c;
}

/** The scenario at one point of the sweep (checked; errors name the parameter). */
export function scenarioAt(sc: Scenario, param: string, value: number | string): Scenario {
  const raw = applySweep(sc.raw, param, value);
  try {
    return resolveScenario(raw, `${sc.file} with ${param}=${value}`);
  } catch (e) {
    throw e instanceof ScenarioError ? e : new ScenarioError(String(e));
  }
}

/** Run the sweep: every value, every scheduler. */
export async function runSweep(sc: Scenario, spec: SweepSpec, opts: { progress?: boolean; trace?: TraceWorkload; repeat?: number } = {}): Promise<{ report: SweepReport; timing: BenchTiming }> {
  const repeat = opts.repeat ?? 1;
  // check every point before the long part
  const points = spec.values.map((v) => scenarioAt(sc, spec.param, v));
  let labels: string[] = [];
  const values: Record<string, Record<string, number[]>> = {};
  for (const m of METRICS) values[m.key] = {};
  const bar = opts.progress ?? true ? progress(`sweep ${spec.param}: ${spec.values.length} points`, points.length * sc.schedulers.length * repeat) : { tick: () => {}, stop: () => {} };
  let connections = 0;
  let seconds = 0;
  const perRun: BenchTiming['per_run'] = {};
  try {
    for (let i = 0; i < points.length; i++) {
      const sums = new Map<string, number[]>();
      for (let k = 0; k < repeat; k++) {
        // repeats: the same point with the seeds seed, seed + 1, ...
        const p = k === 0 ? points[i]! : resolveScenario({ ...points[i]!.raw, seed: (points[i]!.seed + k) >>> 0 }, points[i]!.file);
        const { report, timing } = await runBench(p, { progress: false, onRun: () => bar.tick(), ...(opts.trace ? { trace: opts.trace } : {}) });
        connections += timing.connections;
        seconds += timing.seconds;
        for (const [key, v] of Object.entries(timing.per_run)) perRun[`${spec.param}=${spec.values[i]}${repeat > 1 ? ` seed+${k}` : ''} ${key}`] = v;
        if (i === 0 && k === 0) labels = report.runs.map((r) => r.label);
        for (const r of report.runs) {
          const acc = sums.get(r.label) ?? METRICS.map(() => 0);
          METRICS.forEach((m, j) => (acc[j]! += m.get(r)));
          sums.set(r.label, acc);
        }
      }
      for (const [label, acc] of sums) METRICS.forEach((m, j) => (values[m.key]![label] ??= []).push(round(acc[j]! / repeat, 4)));
    }
  } finally {
    bar.stop();
  }
  const metrics: SweepMetric[] = METRICS.map((m) => {
    const vs = values[m.key]!;
    const best = spec.values.map((_, i) => {
      const bv = Math.min(...labels.map((l) => vs[l]![i]!));
      const ties = labels.filter((l) => vs[l]![i] === bv);
      return ties.length === labels.length && labels.length > 1 ? 'all equal' : ties.join('=');
    });
    return { key: m.key, title: m.title, values: vs, best };
  });
  const report: SweepReport = {
    tool: 'tunvs-sched sweep',
    scenario: sc.name,
    seed: sc.seed,
    param: spec.param,
    values: spec.values,
    repeat,
    metrics,
    crossovers: crossovers(spec, metrics[0]!, labels),
  };
  return { report, timing: { seconds: round(seconds, 3), connections, connections_per_second: Math.round(connections / Math.max(seconds, 1e-9)), per_run: perRun } };
}

/**
 * Where one scheduler gets better than another for good: a pair is reported once, at the
 * last change of their order, when the better one stays better at every later point
 * (among the schedulers that are in the best three somewhere).
 */
function crossovers(spec: SweepSpec, m: SweepMetric, labels: string[]): string[] {
  const out: string[] = [];
  const n = spec.values.length;
  const top = new Set<string>();
  for (let i = 0; i < n; i++) {
    const ranked = [...labels].sort((a, b) => m.values[a]![i]! - m.values[b]![i]!);
    for (const l of ranked.slice(0, 3)) top.add(l);
  }
  const lead = labels.filter((l) => top.has(l));
  for (const a of lead) {
    for (const b of lead) {
      if (a === b) continue;
      const va = m.values[a]!;
      const vb = m.values[b]!;
      // a is better from point k on, and was worse at k - 1
      let k = n;
      while (k > 0 && va[k - 1]! < vb[k - 1]!) k--;
      if (k === n || k === 0 || !(va[k - 1]! > vb[k - 1]!)) continue;
      out.push(`${a} overtakes ${b} between ${spec.param}=${spec.values[k - 1]} and ${spec.param}=${spec.values[k]} (${m.title})`);
    }
  }
  return out;
}
