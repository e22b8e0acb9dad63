import t from 'tap';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JIT_ENV, JIT_FLAGS } from '../src/index.js';

// tuneJit acts once per process (V8's flags are the process's): each case runs in a node
// of its own, on the built module
const jitModule = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../dist/jit.js')).href;

/** Run module `lines` (the built jit module imported as `m` first) in a node of its own; TUNVS_JIT only as `env` says. */
function inNode(lines: string[], env: Record<string, string>, nodeArgs: string[] = []): { code: number | null; out: string; err: string } {
  const script = [`const m = await import(${JSON.stringify(jitModule)});`, ...lines].join('\n');
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!(JIT_ENV in env)) delete e[JIT_ENV];
  const r = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { env: e, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tuneIn(env: Record<string, string>, nodeArgs: string[] = []): { code: number | null; out: string; err: string } {
  return inNode(
    [
      'let a;',
      'try { a = m.tuneJit(); } catch (e) { console.error(e.message); process.exit(3); }',
      'console.log(JSON.stringify({ a, same: a === m.tuneJit(), after: m.jitTuning() }));',
    ],
    env,
    nodeArgs,
  );
}

t.test('tuneJit raises the inlining budgets once, and says so', async (t) => {
  const r = tuneIn({});
  t.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { a: { flags: string[]; source: string }; same: boolean; after: unknown };
  t.same(j.a.flags, JIT_FLAGS);
  t.match(j.a.source, /tuned/);
  t.ok(j.same, 'a second call changes nothing and answers the same');
  t.same(j.after, j.a, 'jitTuning() tells what was done');
  t.same(JSON.parse(tuneIn({ [JIT_ENV]: 'tuned' }).out).a.flags, JIT_FLAGS, `${JIT_ENV}=tuned is the default`);
});

t.test(`${JIT_ENV}=default keeps V8's budgets`, async (t) => {
  const r = tuneIn({ [JIT_ENV]: 'default' });
  t.equal(r.code, 0, r.err);
  t.same(JSON.parse(r.out).a, { flags: [], source: `${JIT_ENV}=default` });
});

t.test("flags on node's command line win, and are reported", async (t) => {
  const r = tuneIn({}, ['--max_inlined_bytecode_size_cumulative=2000']);
  t.equal(r.code, 0, r.err);
  t.same(JSON.parse(r.out).a, { flags: ['--max_inlined_bytecode_size_cumulative=2000'], source: "given on node's command line" });
});

t.test("a feedback flag on node's command line wins too, with or without its no-", async (t) => {
  for (const flag of ['--lazy-feedback-allocation', '--no-lazy_feedback_allocation']) {
    const r = tuneIn({}, [flag]);
    t.equal(r.code, 0, r.err);
    t.same(JSON.parse(r.out).a, { flags: [flag], source: "given on node's command line" }, flag);
  }
});

// A director's first frames are kept in type feedback: the bench's tunvsd met the sh
// service's first flows while scheduleFlow had no feedback vector yet, and the measured
// iperf's first SYN deoptimised the rr-only code ("wrong map"). The same shape in plain
// JavaScript: a call site meets A, then B twice in its first calls, then A two million
// times (optimised), then B again.
function firstCallsIn(env: Record<string, string>): { code: number | null; deopts: string[]; err: string } {
  const lines = [
    'm.tuneJit();',
    'class A { constructor() { this.x = 1; } m() { return this.x; } }',
    'class B { constructor() { this.t = [1]; } m() { return this.t[0]; } }',
    'function pick(o) { return o.m(); }',
    'function flows(o, k) { let s = 0; for (let i = 0; i < k; i++) s += pick(o); return s; }',
    'const a = new A(), b = new B();',
    'pick(a); pick(b); pick(b);',
    'for (let i = 0; i < 20000; i++) flows(a, 100);',
    // the A-only code is in place before B comes (TurboFan compiles on another thread)
    '%WaitForBackgroundOptimization();',
    "console.log('B again');",
    'flows(b, 1);',
  ];
  const r = inNode(lines, env, ['--allow-natives-syntax', '--trace-deopt']);
  const after = r.out.slice(r.out.indexOf('B again'));
  return { code: r.code, deopts: after.split('\n').filter((l) => /reason: wrong map.*JSFunction (flows|pick) /.test(l)), err: r.err };
}

t.test('a call site keeps the maps of its first calls (no lazy feedback allocation)', async (t) => {
  const tuned = firstCallsIn({});
  t.equal(tuned.code, 0, tuned.err);
  t.same(tuned.deopts, [], 'tuned: B meets code that knows it');
  const dflt = firstCallsIn({ [JIT_ENV]: 'default' });
  t.equal(dflt.code, 0, dflt.err);
  t.ok(dflt.deopts.length > 0, "V8's default forgets the first calls: B deoptimises the A-only code (the check can fail)");
});

t.test(`another value of ${JIT_ENV} is refused, naming it`, async (t) => {
  const r = tuneIn({ [JIT_ENV]: 'fast' });
  t.equal(r.code, 3);
  t.match(r.err, `${JIT_ENV} must be 'tuned' or 'default', not 'fast'`);
});

// doubleCounters: the totals the data path bumps keep their objects' map when they pass
// 2^31 (a map change would deoptimise the per-packet path mid-traffic); checked with V8's
// own %HaveSameMap, in a node of its own, on the built modules
t.test('counters past 2^31 keep their map (double fields from the start)', async (t) => {
  const dist = (pkg: string, file: string): string =>
    JSON.stringify(pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), `../../${pkg}/dist/${file}`)).href);
  const script = [
    `const { Stats } = await import(${dist('model', 'index.js')});`,
    `const { DirectorCounters } = await import(${dist('engine', 'counters.js')});`,
    `const { newLinkCounters } = await import(${dist('link', 'index.js')});`,
    `const { ConnTable } = await import(${dist('conntrack', 'index.js')});`,
    `const { DestRegistry } = await import(${dist('model', 'index.js')});`,
    'class Plain { n = 0; }',
    'const kinds = {',
    "  Stats: [() => new Stats(), 'inBytes'],",
    "  DirectorCounters: [() => new DirectorCounters(), 'rxPackets'],",
    "  LinkCounters: [() => newLinkCounters(), 'rxBytes'],",
    "  ConnCounters: [() => new ConnTable({ capacity: 16, registry: new DestRegistry() }).counters, 'inserts'],",
    "  Plain: [() => new Plain(), 'n'],",
    '};',
    'const out = {};',
    'for (const [name, [make, field]] of Object.entries(kinds)) {',
    '  const a = make(), b = make();',
    '  a[field] += 2 ** 31 + 1;',
    '  out[name] = { same: %HaveSameMap(a, b), value: a[field], fresh: make()[field] };',
    '}',
    'console.log(JSON.stringify(out));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, { same: boolean; value: number; fresh: number }>;
  for (const k of ['Stats', 'DirectorCounters', 'LinkCounters', 'ConnCounters']) {
    t.same(j[k], { same: true, value: 2 ** 31 + 1, fresh: 0 }, `${k}: same map past 2^31, values kept`);
  }
  t.equal(j.Plain!.same, false, 'a counter that started as a small integer changes its map (the check can fail)');
});
