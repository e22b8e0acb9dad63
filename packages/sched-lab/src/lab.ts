/**
 * `tunvs-sched bench`: every scheduler entry of a scenario through the simulation, the
 * plug-ins loaded and checked, and the results gathered into one report object (the JSON
 * the report files are made from). Deterministic for a seed: the report holds no clock
 * readings; how long the run took is returned apart (`timing`).
 */
import { getScheduler, loadSchedulerPlugin, conformance } from '@tunvs/schedulers';
import type { ConformanceResult, SchedulerFactory } from '@tunvs/schedulers';
import { disruptionTable, HASHING, MAGLEV_NOTE } from './disruption.js';
import type { DisruptionRow } from './disruption.js';
import { progress } from './report/progress.js';
import type { Progress } from './report/progress.js';
import { meanRequests, ScenarioError, serverRate } from './scenario.js';
import type { EventAction, Scenario, SchedulerEntry } from './scenario.js';
import { flagsFor, sampleTimes, simulate } from './sim.js';
import type { RunResult } from './sim.js';
import { round } from './stats.js';
import type { TraceWorkload } from './trace.js';

/** The scenario as the report shows it. */
export interface ScenarioSummary {
  name: string;
  description: string;
  file: string;
  seed: number;
  duration: number;
  service: Scenario['service'];
  servers: {
    name: string;
    addr: string;
    port: number;
    capacity: number;
    workers: number;
    weight: number;
    upper: number;
    lower: number;
    service: string;
    present: boolean;
    /** connections per second it completes when always busy */
    capacity_cps: number;
  }[];
  events: { at: number; server: string; action: EventAction; weight?: number; upper?: number; lower?: number; inhibit?: boolean }[];
  clients: {
    count: number;
    zipf: number;
    rate_cps: number;
    load: number | null;
    curve: [number, number][];
    bursts: { at: number; duration: number; rate_cps: number; load: number | null; clients: number }[];
    ports: string;
    persistent_share: number;
    requests: string;
    think: string;
    duration: string | null;
    mean_requests_per_connection: number;
  };
  phases: Scenario['phases'];
  sample_every: number;
}

/** Everything `tunvs-sched bench` found; written as report.json. */
export interface BenchReport {
  tool: 'tunvs-sched bench';
  scenario: ScenarioSummary;
  /** sample times (s) of the load series */
  times: number[];
  runs: RunResult[];
  /** plug-ins: their conformance run (random services, every decision checked) */
  conformance: Record<string, ConformanceResult>;
  disruption: Record<string, DisruptionRow[]> | null;
  disruption_note: string | null;
  trace: { file: string; connects: number; clients: number; span: number; unused: Record<string, number> } | null;
  warnings: string[];
}

/** How long the runs took (not part of the deterministic report). */
export interface BenchTiming {
  seconds: number;
  connections: number;
  connections_per_second: number;
  per_run: Record<string, { seconds: number; connections: number; connections_per_second: number }>;
}

/** Options of `runBench`. */
export interface BenchOptions {
  /** arrivals from this trace instead of the scenario's clients */
  trace?: TraceWorkload;
  /** show a progress bar (default: when stderr is a terminal) */
  progress?: boolean;
  /** label of the bar */
  label?: string;
  /** called after each run (for callers with their own progress) */
  onRun?: (r: RunResult) => void;
}

/** The scenario's summary for the report. */
export function summarizeScenario(sc: Scenario): ScenarioSummary {
  const c = sc.clients;
  return {
    name: sc.name,
    description: sc.description,
    file: sc.file,
    seed: sc.seed,
    duration: sc.duration,
    service: sc.service,
    servers: sc.servers.map((s) => ({
      name: s.name,
      addr: s.addr,
      port: s.port,
      capacity: s.capacity,
      workers: s.workers,
      weight: s.weight,
      upper: s.upper,
      lower: s.lower,
      service: s.service.describe(),
      present: s.present,
      capacity_cps: round(serverRate(s, c), 2),
    })),
    events: sc.events.map((e) => ({ at: e.at, server: sc.servers[e.server]!.name, action: e.action, ...(e.weight !== undefined ? { weight: e.weight } : {}), ...(e.upper !== undefined ? { upper: e.upper, lower: e.lower } : {}), ...(e.inhibit ? { inhibit: true } : {}) })),
    clients: {
      count: c.count,
      zipf: c.zipf,
      rate_cps: round(c.rate, 2),
      load: c.load,
      curve: c.curve,
      bursts: c.bursts.map((b) => ({ at: b.at, duration: b.duration, rate_cps: round(b.rate, 2), load: b.load, clients: b.clients })),
      ports: c.ports,
      persistent_share: c.persistentShare,
      requests: c.requests.describe(),
      think: c.think.describe(),
      duration: c.duration ? c.duration.describe() : null,
      mean_requests_per_connection: round(meanRequests(c), 3),
    },
    phases: sc.phases,
    sample_every: sc.sim.sampleEvery,
  };
}

function factoryName(e: SchedulerEntry, factories: SchedulerFactory[], entries: SchedulerEntry[]): string {
  return factories[entries.indexOf(e)]!.name;
}

/** The factory of an entry: a built-in by name, or its plug-in module loaded (and registered). */
export async function factoryOf(entry: SchedulerEntry): Promise<SchedulerFactory> {
  if (entry.plugin !== null) return loadSchedulerPlugin(entry.plugin);
  return getScheduler(entry.scheduler!);
}

/** Run every scheduler entry of `sc`; returns the report and how long it took. */
export async function runBench(sc0: Scenario, opts: BenchOptions = {}): Promise<{ report: BenchReport; timing: BenchTiming }> {
  let sc = sc0;
  const warnings: string[] = [];
  if (opts.trace) {
    const tr = opts.trace;
    const duration = Math.max(1, Math.ceil(tr.span - 1e-6) + 1);
    sc = { ...sc, duration, events: sc.events.filter((e) => e.at < duration), phases: sc.phases.filter((p) => p.from < duration) };
    const unused = Object.entries(tr.unused).map(([k, v]) => `${v} '${k}'`);
    if (unused.length > 0) warnings.push(`${tr.file}: not used by the simulation: ${unused.join(', ')} lines (the scenario's service and servers are simulated; connection states follow the simulation)`);
    if (sc.events.length < sc0.events.length) warnings.push(`${sc0.events.length - sc.events.length} scenario event(s) after the end of the trace (${duration} s) do not happen`);
  }
  const factories: SchedulerFactory[] = [];
  for (const e of sc.schedulers) factories.push(await factoryOf(e));
  // plug-ins without a label take their scheduler's name
  const labels = new Set<string>();
  const entries = sc.schedulers.map((e, i) => {
    const label = e.label !== '' ? e.label : factories[i]!.name;
    if (labels.has(label)) throw new ScenarioError(`${sc.file}: two schedulers to compare are called '${label}' (give one a "label")`);
    labels.add(label);
    return { ...e, label };
  });
  sc = { ...sc, schedulers: entries };
  // flags of the service that a scheduler does not take (ipvsadm would refuse sh-port on wlc)
  for (const e of entries) {
    const asked = e.flags.length > 0 ? e.flags : sc.service.flags;
    const used = flagsFor(sc, e, factoryName(e, factories, entries));
    const dropped = asked.filter((f) => !used.includes(f));
    if (dropped.length > 0) warnings.push(`${e.label}: the flags ${dropped.join(', ')} are not ${e.scheduler ?? 'this scheduler'}'s; it runs without them`);
  }
  const conf: Record<string, ConformanceResult> = {};
  sc.schedulers.forEach((e, i) => {
    if (e.plugin !== null) conf[e.label] = conformance(factories[i]!);
  });
  const withBar = opts.progress ?? true;
  const total = Math.ceil(sc.duration) * sc.schedulers.length;
  const bar: Progress = withBar ? progress(opts.label ?? `${sc.name}: ${sc.schedulers.length} schedulers`, total) : { tick: () => {}, stop: () => {} };
  const runs: RunResult[] = [];
  const perRun: BenchTiming['per_run'] = {};
  const t0 = process.hrtime.bigint();
  let connections = 0;
  try {
    sc.schedulers.forEach((entry, i) => {
      let shown = 0;
      const t1 = process.hrtime.bigint();
      const r = simulate(sc, entry, {
        factory: factories[i]!,
        ...(opts.trace ? { arrivals: opts.trace.arrivals() } : {}),
        onProgress: (s) => {
          const whole = Math.floor(s);
          if (whole > shown) {
            bar.tick(whole - shown);
            shown = whole;
          }
        },
      });
      bar.tick(Math.ceil(sc.duration) - shown);
      const secs = Number(process.hrtime.bigint() - t1) / 1e9;
      connections += r.connections.attempted;
      perRun[entry.label] = { seconds: round(secs, 3), connections: r.connections.attempted, connections_per_second: Math.round(r.connections.attempted / Math.max(secs, 1e-9)) };
      runs.push(r);
      opts.onRun?.(r);
      if (r.connections.table_full > 0) warnings.push(`${entry.label}: the connection table was full ${r.connections.table_full} times (raise conntrack.capacity)`);
    });
  } finally {
    bar.stop();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let disruption: BenchReport['disruption'] = null;
  if (sc.disruption && sc.schedulers.some((e) => (HASHING as readonly string[]).includes(e.scheduler ?? ''))) {
    disruption = disruptionTable(sc.disruption.servers, sc.disruption.keys, (sc.seed + 1) >>> 0);
  }
  const report: BenchReport = {
    tool: 'tunvs-sched bench',
    scenario: summarizeScenario(sc),
    times: sampleTimes(sc),
    runs,
    conformance: conf,
    disruption,
    disruption_note: disruption ? MAGLEV_NOTE : null,
    trace: opts.trace ? { file: opts.trace.file, connects: opts.trace.connects, clients: opts.trace.clients, span: round(opts.trace.span, 3), unused: opts.trace.unused } : null,
    warnings,
  };
  return {
    report,
    timing: { seconds: round(seconds, 3), connections, connections_per_second: Math.round(connections / Math.max(seconds, 1e-9)), per_run: perRun },
  };
}
