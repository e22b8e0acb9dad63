/**
 * The scheduler lab against a live director (root): tunvsd in the lab (NAT on its TUN
 * device) runs a scheduler plug-in loaded from a root-owned file; a client makes HTTP
 * connections several at a time and UDP flows while tcpdump captures the TUN device
 * (packages/sched-lab/examples/lab-capture/make-capture.mjs). Then trace-from-pcap turns the
 * capture into a trace, and replaying it (with the same plug-in) decides, connection by
 * connection, what the live director decided: the same distribution the client saw.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, LAB_PREFIX } from './lab-util.js';

const root = process.getuid?.() === 0;
const work = `/run/tunvs-netns-test-schedlab-${process.pid}`;
const make = join(ROOT, 'packages/sched-lab/examples/lab-capture/make-capture.mjs');
const sched = join(ROOT, 'packages/sched-lab/dist/bin.js');
const tcpdump = spawnSync('tcpdump', ['--version']).status === 0;

t.test('a live capture of tunvsd with a plug-in scheduler replays to the same decisions', { skip: !root ? 'needs root' : !tcpdump ? 'tcpdump not installed' : false }, async (t) => {
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const plugins = join(work, 'plugins');
  mkdirSync(plugins, { recursive: true });
  chmodSync(work, 0o755);
  chmodSync(plugins, 0o755);
  const plugin = join(plugins, 'fewest-last.mjs');
  copyFileSync(join(ROOT, 'netns-tests/fixtures/sched-plugin.mjs'), plugin);
  chmodSync(plugin, 0o644);
  const out = join(work, 'out');
  const r = spawnSync(process.execPath, [make, '--out', out, '--scheduler', plugin, '--http', '24', '--parallel', '4', '--udp', '4'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TUNVS_LAB_PREFIX: LAB_PREFIX } });
  t.equal(r.status, 0, `make-capture: ${r.stderr}`);
  const client = JSON.parse(readFileSync(join(out, 'client.json'), 'utf8')) as { errors: number; servers: { name: string; ip: string }[]; http: { port: number; server: string }[]; udp: unknown[] };
  t.equal(client.errors, 0, 'every request answered');
  t.equal(client.http.length, 24);
  const trace = readFileSync(join(out, 'trace.jsonl'), 'utf8');
  t.match(trace.split('\n')[0], /"scheduler":"fewest-last"/, 'tunvsd ran the plug-in under its own name');
  t.equal(trace.split('\n').filter((l) => l.includes('"connect"')).length, 24, 'every connection in the capture');
  const rep = spawnSync(process.execPath, [sched, 'replay', '--plugin', plugin, join(out, 'trace.jsonl')], { encoding: 'utf8' });
  t.equal(rep.status, 0, rep.stderr);
  const live = readFileSync(join(out, 'live.jsonl'), 'utf8');
  t.notMatch(live, /null/, 'the capture shows every live decision');
  t.equal(rep.stdout, live, 'the replay decides as the live director, connection by connection');
  // the distribution, against what the client saw
  const name = new Map(client.servers.map((s) => [s.ip, s.name]));
  const got: Record<string, number> = {};
  for (const l of rep.stdout.trim().split('\n')) {
    const d = (JSON.parse(l) as { dest: string }).dest;
    const n = name.get(d.split(':')[0]!)!;
    got[n] = (got[n] ?? 0) + 1;
  }
  const saw: Record<string, number> = {};
  for (const h of client.http) saw[h.server] = (saw[h.server] ?? 0) + 1;
  t.same(got, saw, 'the distribution the client saw');
  const udp = spawnSync(process.execPath, [sched, 'replay', join(out, 'trace-udp.jsonl')], { encoding: 'utf8' });
  t.equal(udp.stdout, readFileSync(join(out, 'live-udp.jsonl'), 'utf8'), 'UDP flows too');
});
