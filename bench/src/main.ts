#!/usr/bin/env node
/**
 * `npm run bench` runs every suite; `npm run bench -- <suite> [--json] [--quick]` runs one.
 * Suites live in `src/suites/<name>.ts`, each exporting `suite` (see suite.ts).
 * After a run the report (report.json, report.md, SVG charts) goes to
 * `bench/results/<run-id>/` (`--out DIR` elsewhere, `--no-report` for none).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeHugePages, hugePagesDecided, hugePagesEnv, thpMode } from '@tunvs/daemon';
import { JIT_ENV, tuneJit } from '@tunvs/engine';
import { machineInfo } from './machine.js';
import type { Suite } from './suite.js';
import { log } from './suite.js';
import { makeRunId, setProgressEnabled, writeReport } from './report/index.js';

const here = dirname(fileURLToPath(import.meta.url));

async function loadSuites(): Promise<Map<string, Suite>> {
  const dir = join(here, 'suites');
  const out = new Map<string, Suite>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.js')) continue;
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { suite?: Suite };
    if (mod.suite) out.set(mod.suite.name, mod.suite);
  }
  return out;
}

const USAGE = `usage: npm run bench -- [SUITE] [--json] [--quick] [--out DIR] [--no-report] [suite options]

  --json       print the figures as one JSON object on stdout (no progress bars)
  --quick      shorter runs (smoke checks)
  --out DIR    write the report there (default bench/results/<run-id>)
  --no-report  write no report
  --no-huge-pages  do not ask glibc for transparent huge pages (by default the bench
               restarts itself with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 when the kernel's
               THP mode is madvise; children such as tunvsd inherit it)
  --no-jit-tuning  keep V8's inlining budgets and lazy feedback allocation (by default the
               bench sets them as tunvsd does, @tunvs/engine's tuneJit; with this flag
               children such as tunvsd get TUNVS_JIT=default too)
  suite options (after the suite name), e.g. quality --trace FILE

suites:`;

/** Flags main.ts consumes (the value-taking ones with their value); the rest go to the suite. */
function splitArgs(argv: string[]): { flags: Set<string>; out?: string; rest: string[] } {
  const flags = new Set<string>();
  const rest: string[] = [];
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out') out = argv[++i];
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a === '--json' || a === '--quick' || a === '--no-report' || a === '--no-huge-pages' || a === '--no-jit-tuning' || a === '--help' || a === '-h') flags.add(a);
    else rest.push(a);
  }
  return { flags, out, rest };
}

/**
 * Connection tables of a million entries are filled faster, and the fast path over them
 * runs faster, on huge pages (fewer TLB misses; see @tunvs/daemon's huge-pages.ts, and
 * `--no-huge-pages` to compare). glibc reads its tunables only at start, so
 * the bench restarts itself once with the tunable, unless it is already decided in the
 * environment or `--no-huge-pages` is given. Returns the child's exit code, or null when no
 * restart is needed.
 */
function relaunchWithHugePages(argv: string[], flags: Set<string>): number | null {
  if (flags.has('--no-huge-pages') || flags.has('--help') || flags.has('-h')) return null;
  if (hugePagesDecided() || thpMode() !== 'madvise') return null;
  const script = process.argv[1];
  if (!script) return null;
  const r = spawnSync(process.execPath, [...process.execArgv, script, ...argv], { stdio: 'inherit', env: hugePagesEnv() });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { flags, out, rest } = splitArgs(argv);
  const relaunched = relaunchWithHugePages(argv, flags);
  if (relaunched !== null) return relaunched;
  // the Director's per-packet path as tunvsd runs it (children inherit the choice)
  if (flags.has('--no-jit-tuning')) process.env[JIT_ENV] = 'default';
  const jit = tuneJit();
  const json = flags.has('--json');
  const quick = flags.has('--quick');
  setProgressEnabled(!json);
  const suites = await loadSuites();
  if (flags.has('--help') || flags.has('-h')) {
    log(USAGE);
    for (const s of suites.values()) log(`  ${s.name.padEnd(12)} ${s.description}`);
    return 0;
  }
  // the suite name is the first argument that is not an option
  const nameIdx = rest.findIndex((a) => !a.startsWith('-'));
  const name = nameIdx >= 0 ? rest[nameIdx] : undefined;
  const suiteArgs = nameIdx >= 0 ? rest.slice(nameIdx + 1) : rest;
  const selected = name ? [suites.get(name)] : [...suites.values()];
  if (name && !selected[0]) {
    log(`unknown suite "${name}"; known: ${[...suites.keys()].join(', ')}`);
    return 2;
  }
  const machine = machineInfo();
  const started = new Date();
  const runId = makeRunId(started, name ?? 'all');
  log(`run ${runId}; machine: ${machine.cpus} x ${machine.cpuModel}, kernel ${machine.kernel}, node ${machine.node}`);
  log(`memory: ${machine.hugePages}`);
  log(`jit: ${jit.flags.length > 0 ? jit.flags.join(' ') : "V8's defaults"} (${jit.source})`);
  const results: Record<string, Record<string, unknown>> = {};
  const errors: Record<string, string> = {};
  for (const s of selected as Suite[]) {
    if (s.needsRoot && process.getuid && process.getuid() !== 0) {
      log(`${s.name}: needs root, skipped`);
      continue;
    }
    log(`\n== ${s.name}: ${s.description}`);
    try {
      results[s.name] = await s.run({ json, quick, args: suiteArgs });
    } catch (err) {
      // one suite failing must not lose the others' figures when running them all
      if (name) throw err;
      errors[s.name] = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${s.name} FAILED: ${errors[s.name]}`);
    }
  }
  log(`memory at the end: ${describeHugePages()}`);
  if (!flags.has('--no-report') && Object.keys(results).length + Object.keys(errors).length > 0) {
    const dir = out ?? join(here, '..', 'results', runId);
    const command = ['node', 'bench/dist/main.js', ...argv].join(' ');
    const files = writeReport(dir, { runId, date: started.toISOString(), command, machine, suites: results, errors });
    log(`\nreport: ${files.find((f) => f.endsWith('report.md'))} (${files.length} files)`);
  }
  if (json) {
    const res = name ? { ...(results[name] as object), machine, runId } : { machine, runId, suites: results, errors };
    process.stdout.write(JSON.stringify(res) + '\n');
  }
  return Object.keys(errors).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
