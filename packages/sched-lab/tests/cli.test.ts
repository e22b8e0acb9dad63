// tunvs-sched's command line: replay (packages/replay), usage and exit codes of every
// command; in process through runCli (the bin itself is started twice).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { runCli } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const bin = join(pkg, 'dist', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'tunvs-sched-cli-'));
const replayExamples = resolve(pkg, '..', 'replay', 'examples');
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** The bin in a process of its own. */
function binRun(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The command line in this process. */
async function sched(args: string[], input?: string) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (x) => (out += x), stderr: (x) => (err += x), stdin: Readable.from([input ?? '']) });
  return { code, out, err };
}

const head = [
  '{"op":"service","scheduler":"rr","proto":"tcp","vip":"10.0.0.100","port":80}',
  '{"op":"add","dest":"10.0.1.1:80"}',
  '{"op":"connect","client":"192.0.2.7:40001"}',
];

t.test('replays a file and stdin', async (t) => {
  const r = binRun(['replay', join(replayExamples, 'wlc.jsonl')]);
  t.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  t.equal(lines.length, 11);
  t.same(JSON.parse(lines[0]!), { n: 0, dest: '10.0.1.3:80' });
  const s = await sched(['replay', '-'], head.join('\n') + '\n\n');
  t.equal(s.code, 0, s.err);
  t.equal(s.out, '{"n":0,"dest":"10.0.1.1:80"}\n');
});

t.test('a malformed line: its number on stderr, exit 1, earlier decisions printed', async (t) => {
  const cases: [string, RegExp][] = [
    ['{"op":"connect","client":', /bad JSON/],
    ['{"op":"teleport"}', /unknown op 'teleport'/],
    ['{"op":"connect"}', /missing field 'client'/],
    ['{"op":"connect","client":"192.0.2.999:1"}', /192\.0\.2\.999/],
    ['{"op":"service","scheduler":"xyz","proto":"tcp","vip":"10.0.0.1","port":80}', /Scheduler not found: 'xyz'/],
  ];
  for (const [bad, re] of cases) {
    const f = join(dir, 'bad.jsonl');
    writeFileSync(f, [...head, bad, head[2]].join('\n') + '\n');
    const r = await sched(['replay', f]);
    t.equal(r.code, 1, bad);
    t.match(r.err, new RegExp(`^tunvs-sched: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: `), bad);
    t.match(r.err, re, bad);
    t.equal(r.out, '{"n":0,"dest":"10.0.1.1:80"}\n', 'decisions before the bad line are printed');
  }
});

t.test('usage and exit codes', async (t) => {
  const h = await sched(['--help']);
  t.equal(h.code, 0);
  t.match(h.out, /tunvs-sched replay \[--capacity N\] \[--plugin MODULE\]... TRACE/);
  t.match(h.out, /tunvs-sched bench SCENARIO/);
  t.match(h.out, /tunvs-sched trace-from-pcap CAPTURE --vip VIP:PORT/);
  t.equal((await sched(['frobnicate'])).code, 2, 'unknown subcommand');
  t.equal((await sched([])).code, 2, 'no subcommand');
  t.equal((await sched(['replay'])).code, 2, 'no trace');
  t.equal((await sched(['replay', '--bogus', 'x'])).code, 2, 'unknown option');
  const missing = await sched(['replay', join(dir, 'nope.jsonl')]);
  t.equal(missing.code, 1);
  t.match(missing.err, /ENOENT|no such file/);
  const cap = await sched(['replay', '--capacity', '1', '-'], head.concat(['{"op":"connect","client":"192.0.2.7:40002"}']).join('\n'));
  t.equal(cap.code, 1, 'table full is an error');
  t.match(cap.err, /:4: connection table full/);
});

t.test('bench, trace-from-pcap and check: usage errors exit 2, bad input exits 1 with a sentence', async (t) => {
  t.equal((await sched(['bench'])).code, 2);
  t.match((await sched(['bench', 'x.json', '--seed'])).err, /--seed needs a value/);
  t.match((await sched(['bench', 'x.json', '--frobnicate'])).err, /unknown option '--frobnicate'/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"duration": 10,\n "servers": [{"name": "a", "capacity": 0}], "clients": {"rate": 1}}');
  const r = await sched(['bench', bad, '--no-progress']);
  t.equal(r.code, 1);
  t.match(r.err, /bad\.json:2: servers\[0\]\.capacity: must be a number > 0/);
  t.match((await sched(['bench', join(dir, 'none.json')])).err, /cannot read/);
  t.equal((await sched(['trace-from-pcap', 'x.pcap'])).code, 2, '--vip is required');
  t.match((await sched(['trace-from-pcap', join(dir, 'none.pcap'), '--vip', '10.0.0.1:80'])).err, /ENOENT|no such file/);
  t.match((await sched(['trace-from-pcap', 'x.pcap', '--vip', '10.0.0.1:80', '--proto', 'icmp'])).err, /--proto must be tcp or udp/);
  // an option's bad value is blamed on the option, not on the scenario file alone
  const sn = await sched(['bench', join(pkg, 'examples', 'steady.json'), '--schedulers', 'wlc,nope', '--no-progress']);
  t.equal(sn.code, 1);
  t.match(sn.err, /steady\.json \(--schedulers wlc,nope\)(:\d+)?: schedulers\[1\]: unknown scheduler 'nope'/);
  t.match((await sched(['trace-from-pcap', join(dir, 'none.pcap'), '--vip', '10.0.0.1:80', '--scheduler', 'nope'])).err, /warning: --scheduler 'nope' is not a built-in scheduler .*needs --plugin/);
  const plug = join(dir, 'plug.ts');
  writeFileSync(plug, 'export {}');
  const c = await sched(['check', plug]);
  t.equal(c.code, 1);
  t.match(c.err, /TypeScript; compile it first/);
  const w0 = await sched(['check', join(here, 'fixtures', 'weight0-plugin.mjs')]);
  t.equal(w0.code, 3);
  t.match(w0.err, /weight0-at-10: decision \d+ broke the shared rule 'weight-0'/);
  const ok = await sched(['check', join(pkg, 'dist', 'plugins', 'p2c-sed.js')]);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /p2c-sed .*every shared rule kept/);
});

t.test('replay --plugin: a trace whose service names a plug-in scheduler', async (t) => {
  const trace = ['{"op":"service","scheduler":"p2c-sed","proto":"tcp","vip":"10.0.0.100","port":80}', '{"op":"add","dest":"10.0.1.1:80"}', '{"op":"add","dest":"10.0.1.2:80","weight":0}', '{"op":"connect","client":"192.0.2.7:40001"}'].join('\n');
  const r = binRun(['replay', '--plugin', join(pkg, 'dist', 'plugins', 'p2c-sed.js'), '-'], trace);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, '{"n":0,"dest":"10.0.1.1:80"}\n');
  const no = binRun(['replay', '-'], trace);
  t.equal(no.code, 1);
  t.match(no.err, /Scheduler not found: 'p2c-sed'/);
});
