/**
 * tunvs-sched bench end to end: the same seed gives identical JSON; every scheduler runs;
 * a plug-in that picks a weight-0 server is reported with the number of the decision that
 * broke the rule (and the command exits 3); the report files are written (the HTML page
 * self-contained); --trace drives the servers from a trace; a sweep plots against its
 * parameter; the counters the schedulers saw moved as in the kernel.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario, loadTrace, parseScenario, resolveScenario, runBench, runSweep, parseSweep, scaleTime, writeBenchReport, writeSweepReport } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const bin = join(pkg, 'dist', 'bin.js');
const QUALITY = createRequire(import.meta.url).resolve('@tunvs/sched-lab/examples/quality.json');
const dir = mkdtempSync(join(tmpdir(), 'tunvs-schedlab-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** The quality scenario, shortened (the same story in a fifth of the time). */
function shortQuality(schedulers: unknown = 'all') {
  const q = loadScenario(QUALITY);
  const raw = scaleTime(q.raw, 0.2);
  raw['schedulers'] = schedulers;
  delete raw['disruption'];
  return resolveScenario(raw, QUALITY);
}

t.test('the same seed twice gives identical JSON; another seed does not', async (t) => {
  const sc = shortQuality(['wlc', 'twos', 'lblc', 'mh']);
  const a = await runBench(sc, { progress: false });
  const b = await runBench(sc, { progress: false });
  t.equal(JSON.stringify(b.report), JSON.stringify(a.report), 'identical');
  const other = resolveScenario({ ...sc.raw, seed: 5 }, QUALITY);
  const c = await runBench(other, { progress: false });
  t.not(JSON.stringify(c.report.runs), JSON.stringify(a.report.runs), 'seed 5 differs');
  // a few sanity figures of the simulation
  for (const r of a.report.runs) {
    t.equal(r.rules.violations, 0, `${r.label}: no rule broken`);
    t.equal(r.connections.attempted, a.report.runs[0]!.connections.attempted, `${r.label}: the same arrivals for every scheduler`);
    t.ok(r.requests.served > 0.9 * r.connections.scheduled, `${r.label}: requests served`);
    t.ok(r.connections.reset_by_failure > 0, `${r.label}: the failure reset connections`);
  }
  const wlc = a.report.runs[0]!;
  t.ok(Math.abs(wlc.share['rs3']! - wlc.capacity_share['rs3']!) < 0.05, 'wlc follows the capacity');
});

t.test('every built-in runs the quality story; ovf rejects, dh sends all to one server', async (t) => {
  const { report } = await runBench(shortQuality(), { progress: false });
  t.equal(report.runs.length, 14);
  const by = Object.fromEntries(report.runs.map((r) => [r.label, r]));
  t.ok(by['ovf']!.connections.rejected_share > 0.05, `ovf rejects ${by['ovf']!.connections.rejected_share}`);
  for (const n of ['wlc', 'sed', 'wrr']) t.equal(by[n]!.connections.rejected, 0, `${n} rejects nothing`);
  t.equal(Math.max(...Object.values(by['dh']!.share)), 1, 'dh hashes the one VIP: one server');
  t.ok(by['sed']!.load.max_over_mean < by['rr']!.load.max_over_mean, 'sed balances better than rr');
  t.ok(by['mh']!.affinity > 0.9 && by['sh']!.affinity > 0.9, 'the source hashes keep clients on their server');
  t.ok(report.runs.every((r) => r.events.length === 3));
  t.match(by['lblc']!.allowances[0], /cached server/);
});

t.test("a plug-in picking a weight-0 server is reported with the decision number", async (t) => {
  const scen = join(dir, 'w0.json');
  writeFileSync(
    scen,
    JSON.stringify({
      name: 'weight0',
      seed: 1,
      duration: 5,
      servers: [
        { name: 'a', capacity: 1 },
        { name: 'b', capacity: 1 },
        { name: 'c', capacity: 1, weight: 0 },
      ],
      clients: { rate: 20, count: 100 },
      schedulers: ['wlc', { plugin: join(here, 'fixtures', 'weight0-plugin.mjs') }],
    }),
  );
  const { report } = await runBench(loadScenario(scen), { progress: false });
  const p = report.runs[1]!;
  t.equal(p.scheduler, 'weight0-at-10');
  t.equal(p.rules.violations, 1);
  t.match(p.rules.first, { decision: 10, rule: 'weight-0', message: /picked 10\.200\.1\.3:80 \(weight 0/ });
  t.equal(report.runs[0]!.rules.violations, 0, 'wlc keeps the rules');
  t.equal(report.conformance['weight0-at-10']!.failure!.rule, 'weight-0', 'the conformance run catches it too');
  // the command line says so and exits 3
  const r = spawnSync(process.execPath, [bin, 'bench', scen, '--out', join(dir, 'w0'), '--no-progress'], { encoding: 'utf8' });
  t.equal(r.status, 3, r.stderr);
  t.match(r.stderr, /weight0-at-10 broke the shared rule 'weight-0' 1 time\(s\); first at decision 10 /);
  t.match(readFileSync(join(dir, 'w0', 'report.md'), 'utf8'), /decision 10 at [\d.]+ s: picked 10\.200\.1\.3:80/);
});

t.test('report files: JSON, Markdown, SVG charts, one self-contained HTML page', async (t) => {
  const sc = shortQuality(['wlc', 'sh']);
  const { report, timing } = await runBench(sc, { progress: false });
  const out = join(dir, 'rep');
  const files = writeBenchReport(out, report, timing).map((f) => f.slice(out.length + 1));
  for (const f of ['report.json', 'report.md', 'report.html', 'timing.json', 'share.svg', 'imbalance.svg', 'wait.svg', 'wait-slowest.svg', 'rejected.svg', 'moved.svg']) t.ok(files.includes(f), f);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  t.match(html, /<svg /);
  t.equal((html.match(/<svg /g) ?? []).length, 6, 'the six charts inline');
  t.notMatch(html, /(src|href)="(https?:)?\/\//, 'nothing loaded from elsewhere');
  t.notMatch(html, /<script/);
  t.same(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')), JSON.parse(JSON.stringify(report)));
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  t.match(md, /\| wlc \| /);
  t.match(md, /## Flows moved at server events/);
  t.match(md, /connections\/s\./);
});

t.test('--trace: the trace drives the arrivals, its service lines are reported as not used', async (t) => {
  const trace = join(dir, 'trace.jsonl');
  const lines = ['{"op":"service","scheduler":"rr","proto":"tcp","vip":"10.100.0.1","port":80}', '{"op":"add","dest":"10.200.1.1:80"}'];
  for (let i = 0; i < 200; i++) {
    lines.push(JSON.stringify({ op: 'connect', client: `192.0.2.${i % 50}:${40000 + i}` }));
    if (i >= 10) lines.push(JSON.stringify({ op: 'close', n: i - 10 }));
    lines.push('{"op":"advance","seconds":0.05}');
  }
  writeFileSync(trace, lines.join('\n') + '\n');
  const tr = loadTrace(trace);
  t.equal(tr.connects, 200);
  t.equal(tr.clients, 50);
  t.same(tr.unused, { service: 1, add: 1 });
  const { report } = await runBench(shortQuality(['wlc', 'rr']), { progress: false, trace: tr });
  t.equal(report.runs[0]!.connections.attempted, 200);
  t.equal(report.scenario.duration, 11);
  t.match(report.warnings[0], /not used by the simulation: 1 'service', 1 'add'/);
  t.ok(report.runs[0]!.affinity >= 0, 'clients come back');
});

t.test('a sweep: each figure against the parameter, the best scheduler, crossovers', async (t) => {
  const sc = parseScenario(
    JSON.stringify({
      name: 'sweep',
      seed: 3,
      duration: 20,
      servers: [{ name: 'a', capacity: 1 }, { name: 'b', capacity: 3 }],
      clients: { load: 0.5, count: 2000 },
      schedulers: ['rr', 'wlc', 'sed'],
    }),
    'sweep.json',
  );
  const spec = parseSweep('load=0.3:0.9:0.3');
  t.same(spec.values, [0.3, 0.6, 0.9]);
  const { report } = await runSweep(sc, spec, { progress: false });
  t.equal(report.metrics[0]!.key, 'wait_p99_ms');
  t.equal(report.metrics[0]!.values['rr']!.length, 3);
  t.ok(report.metrics[0]!.values['rr']![2]! > report.metrics[0]!.values['rr']![0]!, 'rr waits grow with the load');
  t.notMatch(report.metrics[0]!.best[2]!, /rr/, 'at 0.9 a least-connection scheduler is best');
  t.equal(report.metrics.find((m) => m.key === 'rejected_pct')!.best[0], 'all equal', 'nobody rejects: a tie');
  const files = writeSweepReport(join(dir, 'sw'), report);
  t.ok(files.some((f) => f.endsWith('sweep-wait-p99-ms.svg')));
  t.ok(existsSync(join(dir, 'sw', 'sweep.html')));
  const w = await runSweep(sc, parseSweep('weights=1/3,1/1'), { progress: false });
  t.equal(w.report.values.length, 2);
  t.throws(() => parseSweep('load'), /PARAM=VALUES/);
  await t.rejects(runSweep(sc, parseSweep('weights=1/2/3,1/1/1'), { progress: false }), /3 weights for 2 servers/);
  await t.rejects(runSweep(sc, parseSweep('clients.nothing=1,2'), { progress: false }), /unknown field/);
});

t.test("the service's scheduler flags go to the schedulers that take them; the others are named in a warning", async (t) => {
  const sc = parseScenario(JSON.stringify({ seed: 1, duration: 3, service: { flags: ['sh-port'] }, servers: [{ name: 'a' }, { name: 'b' }], clients: { rate: 50, count: 100 }, schedulers: ['wlc', 'sh'] }), 'flags.json');
  const { report } = await runBench(sc, { progress: false });
  t.same(report.runs.map((r) => r.flags), [[], ['sh-port']]);
  t.same(report.warnings, ["wlc: the flags sh-port are not wlc's; it runs without them"]);
});
