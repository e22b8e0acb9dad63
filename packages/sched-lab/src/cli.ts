/**
 * The `tunvs-sched` command line:
 *
 *   tunvs-sched bench SCENARIO [options]        compare schedulers on a scenario
 *   tunvs-sched trace-from-pcap FILE --vip VIP:PORT [options]
 *   tunvs-sched replay [--capacity N] [--plugin MODULE] TRACE   (packages/replay)
 *   tunvs-sched check MODULE [--secure]         a plug-in against the shared rules
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runCli as runReplay } from '@tunvs/replay';
import type { CliIo } from '@tunvs/replay';
import { PluginError, builtinSchedulers, conformance, insecurePathReason, loadSchedulerPlugin } from '@tunvs/schedulers';
import { runBench } from './lab.js';
import { pcapToTrace, PcapTraceError } from './pcap-trace.js';
import { setProgressEnabled } from './report/progress.js';
import { mainTable, tableMarkdown, sweepTables } from './report/tables.js';
import { writeBenchReport, writeSweepReport } from './report/write.js';
import { loadScenario, resolveScenario, scaleTime, ScenarioError } from './scenario.js';
import type { Scenario } from './scenario.js';
import { parseSweep, runSweep } from './sweep.js';
import { loadTrace, TraceError } from './trace.js';

/** `tunvs-sched --help`. */
export const USAGE = `Usage: tunvs-sched bench SCENARIO [options]
       tunvs-sched trace-from-pcap CAPTURE --vip VIP:PORT [options]
       tunvs-sched replay [--capacity N] [--plugin MODULE]... TRACE
       tunvs-sched check MODULE [--secure]

bench: run every scheduler of SCENARIO (JSON or YAML) through the real service table,
scheduleFlow and connection table against simulated servers; write report.json,
report.md, SVG charts and report.html into the output directory, print the table.
  --out DIR            output directory (default ./sched-lab-results/NAME-seedSEED)
  --schedulers LIST    compare these built-ins instead (comma list, or "all")
  --plugin MODULE      add a plug-in scheduler (a .js module; repeatable)
  --seed N             override the scenario's seed
  --duration S         override the duration (events after it do not happen)
  --scale F            multiply every time of the scenario by F (a shorter run: --scale 0.25)
  --trace TRACE        arrivals from a replay trace (e.g. trace-from-pcap's) instead
  --sweep PARAM=VALUES run the scenario for each value; PARAM: rate, load, zipf, seed,
                       weights (8/16/24 per point), or a field path (servers.rs1.weight);
                       VALUES: comma list, ranges from:to:step
  --repeat N           sweeps: run each point with N seeds (seed, seed+1, ...) and average
  --json               print the report (or sweep) JSON on stdout instead of the table
  --no-progress        no progress bar
  Exit status: 0 done, 1 bad scenario/plug-in/trace, 2 usage, 3 a scheduler broke a shared rule.

trace-from-pcap: turn a capture (pcap or pcapng; Ethernet, raw IP/TUN, Linux cooked) into a
replay trace on stdout (connect / packet / close / advance lines).
  --vip VIP:PORT       the service (required)
  --proto tcp|udp      default tcp
  --scheduler NAME     start the trace with the service and ...
  --dest IP:PORT[@W]   ... its destinations, in this order (repeatable)
  --flags LIST         scheduler flags of that service (sh-port,...)
  --persistence S      persistence timeout of that service
  --udp-timeout S      UDP idle timeout (default 300)
  --live FILE          write what the live director decided, one {"n":K,"dest":...} per connect

replay: replay a JSON-lines trace; one {"n":K,"dest":"ip:port"} per connect (packages/replay);
  --plugin MODULE loads a plug-in scheduler first, so the trace's service can name it.

check: load MODULE as a scheduler plug-in and run the shared rules against it on random
services; --secure also applies tunvsd's rule (root-owned, writable by nobody else).
`;

interface Args {
  pos: string[];
  opt: Map<string, string[]>;
  flags: Set<string>;
}

const VALUE_OPTS = new Set(['--repeat', '--out', '--schedulers', '--plugin', '--seed', '--duration', '--scale', '--trace', '--sweep', '--vip', '--proto', '--scheduler', '--dest', '--flags', '--persistence', '--udp-timeout', '--live']);
const BOOL_OPTS = new Set(['--json', '--no-progress', '--secure', '-h', '--help']);

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { pos: [], opt: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const eq = x.startsWith('--') ? x.indexOf('=') : -1;
    const name = eq > 0 ? x.slice(0, eq) : x;
    if (VALUE_OPTS.has(name)) {
      const v = eq > 0 ? x.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      a.opt.set(name, [...(a.opt.get(name) ?? []), v]);
    } else if (BOOL_OPTS.has(x)) a.flags.add(x);
    else if (x.startsWith('-') && x !== '-') throw new UsageError(`unknown option '${x}'`);
    else a.pos.push(x);
  }
  return a;
}

function one(a: Args, k: string): string | undefined {
  const v = a.opt.get(k);
  if (v && v.length > 1) throw new UsageError(`${k} given twice`);
  return v?.[0];
}

function number(a: Args, k: string, check: (x: number) => boolean, what: string): number | undefined {
  const v = one(a, k);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`${k} needs ${what}, not '${v}'`);
  return n;
}

/** The scenario with the command line's overrides applied. */
function withOverrides(sc: Scenario, a: Args): Scenario {
  let raw = structuredClone(sc.raw);
  let changed = false;
  const seed = number(a, '--seed', (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff, 'an integer 0..4294967295');
  if (seed !== undefined) {
    raw['seed'] = seed;
    changed = true;
  }
  const scale = number(a, '--scale', (x) => x > 0 && x <= 1000, 'a factor > 0');
  if (scale !== undefined) {
    raw = scaleTime(raw, scale);
    changed = true;
  }
  const duration = number(a, '--duration', (x) => x > 0, 'seconds > 0');
  if (duration !== undefined) {
    raw['duration'] = duration;
    raw['events'] = ((raw['events'] as { at: number }[] | undefined) ?? []).filter((e) => e.at <= duration);
    raw['phases'] = ((raw['phases'] as { from: number; to: number }[] | undefined) ?? []).filter((p) => p.to <= duration);
    changed = true;
  }
  const list = one(a, '--schedulers');
  const plugins = (a.opt.get('--plugin') ?? []).map((p) => ({ plugin: resolve(p) }));
  if (list !== undefined || plugins.length > 0) {
    const base: unknown[] = list !== undefined ? list.split(',').map((s) => s.trim()).filter(Boolean) : ((raw['schedulers'] as unknown[] | string | undefined) === undefined ? ['all'] : raw['schedulers'] === 'all' ? ['all'] : [...(raw['schedulers'] as unknown[])]);
    raw['schedulers'] = [...base, ...plugins];
    changed = true;
  }
  // the options that changed the scenario, named in its errors (`--schedulers wlc,nope`: schedulers[1]: ...)
  const notes = [seed !== undefined ? `--seed ${seed}` : '', scale !== undefined ? `--scale ${scale}` : '', duration !== undefined ? `--duration ${duration}` : '', list !== undefined ? `--schedulers ${list}` : '', ...plugins.map((p) => `--plugin ${p.plugin}`)].filter(Boolean);
  return changed ? resolveScenario(raw, notes.length ? `${sc.file} (${notes.join(', ')})` : sc.file) : sc;
}

async function bench(a: Args, io: CliIo): Promise<number> {
  if (a.pos.length !== 1) throw new UsageError('bench needs one SCENARIO file');
  const json = a.flags.has('--json');
  setProgressEnabled(!json && !a.flags.has('--no-progress'));
  const sc = withOverrides(loadScenario(a.pos[0]!), a);
  const tracePath = one(a, '--trace');
  const trace = tracePath !== undefined ? loadTrace(tracePath) : undefined;
  const sweepArg = one(a, '--sweep');
  const safe = sc.name.replace(/[^A-Za-z0-9_.-]+/g, '-');
  if (sweepArg !== undefined) {
    const spec = parseSweep(sweepArg);
    const out = one(a, '--out') ?? `sched-lab-results/${safe}-seed${sc.seed}-sweep-${spec.param.replace(/[^A-Za-z0-9_.-]+/g, '-')}`;
    const repeat = number(a, '--repeat', (x) => Number.isInteger(x) && x >= 1 && x <= 100, 'an integer 1..100') ?? 1;
    const { report, timing } = await runSweep(sc, spec, { repeat, ...(trace ? { trace } : {}) });
    const files = writeSweepReport(out, report, timing);
    if (json) io.stdout(JSON.stringify(report) + '\n');
    else {
      for (const t of sweepTables(report).slice(0, 1).concat(sweepTables(report).slice(-1))) io.stdout(tableMarkdown(t) + '\n\n');
      io.stdout(`${timing.connections.toLocaleString('en-US')} connections simulated in ${timing.seconds} s (${timing.connections_per_second.toLocaleString('en-US')}/s)\nreport: ${files.find((f) => f.endsWith('sweep.html'))}\n`);
    }
    return 0;
  }
  const out = one(a, '--out') ?? `sched-lab-results/${safe}-seed${sc.seed}`;
  const { report, timing } = await runBench(sc, trace ? { trace } : {});
  const files = writeBenchReport(out, report, timing);
  if (json) io.stdout(JSON.stringify(report) + '\n');
  else {
    io.stdout(tableMarkdown(mainTable(report)) + '\n\n');
    for (const w of report.warnings) io.stderr(`tunvs-sched: warning: ${w}\n`);
    io.stdout(`${timing.connections.toLocaleString('en-US')} connections simulated in ${timing.seconds} s (${timing.connections_per_second.toLocaleString('en-US')}/s)\nreport: ${files.find((f) => f.endsWith('report.html'))}\n`);
  }
  const broken = report.runs.filter((r) => r.rules.violations > 0);
  for (const r of broken) {
    const f = r.rules.first!;
    io.stderr(`tunvs-sched: ${r.label} broke the shared rule '${f.rule}' ${r.rules.violations} time(s); first at decision ${f.decision} (t=${f.time} s): ${f.message}\n`);
  }
  return broken.length > 0 ? 3 : 0;
}

function traceFromPcap(a: Args, io: CliIo): number {
  if (a.pos.length !== 1) throw new UsageError('trace-from-pcap needs one CAPTURE file');
  const vip = one(a, '--vip');
  if (vip === undefined) throw new UsageError('trace-from-pcap needs --vip VIP:PORT');
  const proto = one(a, '--proto') ?? 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') throw new UsageError(`--proto must be tcp or udp, not '${proto}'`);
  const scheduler = one(a, '--scheduler');
  // a plug-in's name is allowed (replay loads it with --plugin); anything else is said now
  if (scheduler !== undefined && !builtinSchedulers.some((f) => f.name === scheduler)) {
    io.stderr(`tunvs-sched: warning: --scheduler '${scheduler}' is not a built-in scheduler (${builtinSchedulers.map((f) => f.name).join(', ')}): replaying the trace needs --plugin with a scheduler of that name\n`);
  }
  const persistence = number(a, '--persistence', (x) => Number.isInteger(x) && x >= 0, 'seconds');
  const udpTimeout = number(a, '--udp-timeout', (x) => x > 0, 'seconds > 0');
  const flags = one(a, '--flags');
  const r = pcapToTrace(a.pos[0]!, {
    vip,
    proto,
    ...(scheduler !== undefined ? { scheduler } : {}),
    dests: a.opt.get('--dest') ?? [],
    ...(flags !== undefined ? { flags: flags.split(',').filter(Boolean) } : {}),
    ...(persistence !== undefined ? { persistence } : {}),
    ...(udpTimeout !== undefined ? { udpTimeout } : {}),
  });
  io.stdout(r.lines.join('\n') + (r.lines.length ? '\n' : ''));
  const livePath = one(a, '--live');
  if (livePath !== undefined) writeFileSync(livePath, r.live.map((d, n) => JSON.stringify({ n, dest: d })).join('\n') + (r.live.length ? '\n' : ''));
  const s = r.stats;
  const sk = Object.entries(s.skipped).map(([k, v]) => `${v} ${k}`).join(', ');
  io.stderr(`tunvs-sched: ${a.pos[0]} (${s.format}): ${s.records} frames, ${s.packets} of the service, ${s.connects} connects, ${s.closes} closes, ${s.resets} resets${sk ? `; skipped: ${sk}` : ''}\n`);
  if (livePath !== undefined) {
    const known = r.live.filter((x) => x !== null).length;
    if (known < r.live.length) io.stderr(`tunvs-sched: the capture shows the live decision of ${known} of ${r.live.length} connects (capture on the director's TUN device to see them all)\n`);
  }
  if (scheduler === undefined) io.stderr('tunvs-sched: no --scheduler/--dest: the trace has no service lines; put them in front before replaying it\n');
  return 0;
}

async function check(a: Args, io: CliIo): Promise<number> {
  if (a.pos.length !== 1) throw new UsageError('check needs one MODULE');
  const path = resolve(a.pos[0]!);
  if (a.flags.has('--secure')) {
    const why = insecurePathReason(path);
    if (why !== null) {
      io.stderr(`tunvs-sched: tunvsd would refuse it: ${why}\n`);
      return 1;
    }
  }
  const f = await loadSchedulerPlugin(path, { register: false });
  const c = conformance(f);
  if (c.failure) {
    const x = c.failure;
    io.stderr(`tunvs-sched: ${f.name}: decision ${x.decision} broke the shared rule '${x.rule}': it ${x.message}\n  service then: ${x.service}\n`);
    return 3;
  }
  io.stdout(`${f.name} (${f.description}): ${c.decisions} decisions on random services, every shared rule kept${a.flags.has('--secure') ? '; tunvsd may load it' : ''}\n`);
  return 0;
}

/** Run `tunvs-sched` with `argv` (without node and the script); resolves to the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined) {
    io.stderr(USAGE);
    return 2;
  }
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (cmd === 'replay') {
    // plug-ins first (registered under their names), then the replay itself
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--plugin' || argv[i]!.startsWith('--plugin=')) {
        const p = argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : argv[++i];
        if (p === undefined) {
          io.stderr('tunvs-sched: --plugin needs a value\n');
          return 2;
        }
        try {
          await loadSchedulerPlugin(resolve(p));
        } catch (e) {
          io.stderr(`tunvs-sched: ${(e as Error).message}\n`);
          return 1;
        }
      } else rest.push(argv[i]!);
    }
    return runReplay(rest, io);
  }
  try {
    const a = parseArgs(argv.slice(1));
    if (a.flags.has('-h') || a.flags.has('--help')) {
      io.stdout(USAGE);
      return 0;
    }
    switch (cmd) {
      case 'bench':
        return await bench(a, io);
      case 'trace-from-pcap':
        return traceFromPcap(a, io);
      case 'check':
        return await check(a, io);
      default:
        io.stderr(`tunvs-sched: unknown command '${cmd}'\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`tunvs-sched: ${e.message}\n(tunvs-sched --help for the usage)\n`);
      return 2;
    }
    if (e instanceof ScenarioError || e instanceof TraceError || e instanceof PluginError || e instanceof PcapTraceError) {
      io.stderr(`tunvs-sched: ${e.message}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException & { code?: string };
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.name === 'PcapError') {
      io.stderr(`tunvs-sched: ${err.message}\n`);
      return 1;
    }
    throw e;
  }
}
