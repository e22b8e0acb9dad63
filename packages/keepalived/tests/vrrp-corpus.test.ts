// VRRP configurations judged by the real keepalived 2.2.7 and by tunvs: both run inside a
// network namespace that has exactly the interfaces the corpus names (eth0, eth1, lo), since
// keepalived checks `interface` against the host. valid-* must be accepted by both,
// invalid-* refused by both, with the same exit code (0/4/5/6).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, 'vrrp-corpus');
const compare = resolve(here, '../../../scripts/vrrp-config-compare.mjs');
const SAMPLES = '/work/shared/corpus/keepalived/samples';
const files = readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const haveKeepalived = spawnSync('keepalived', ['--version']).status === 0;
const skip = !haveKeepalived ? 'keepalived not installed' : !root ? 'needs root (a network namespace with eth0 and eth1)' : false;

function ip(...a: string[]): void {
  const r = spawnSync('ip', a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
}

t.test('keepalived and tunvs agree on the VRRP corpus', { skip }, (t) => {
  t.ok(files.filter((f) => f.startsWith('valid-')).length >= 15, 'valid configurations');
  t.ok(files.filter((f) => f.startsWith('invalid-')).length >= 15, 'invalid configurations');
  const ns = `lvr-kc-${process.pid}`;
  spawnSync('ip', ['netns', 'del', ns]);
  ip('netns', 'add', ns);
  t.teardown(() => void spawnSync('ip', ['netns', 'del', ns]));
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  for (const [a, b, addr] of [['eth0', 'peer0', '10.99.0.1/24'], ['eth1', 'peer1', '10.98.0.1/24']] as const) {
    ip('-n', ns, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ip('-n', ns, 'addr', 'add', addr, 'dev', a);
    ip('-n', ns, 'link', 'set', a, 'up');
    ip('-n', ns, 'link', 'set', b, 'up');
  }
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, compare, '--json', dir], { encoding: 'utf8', timeout: 120_000 });
  const out = JSON.parse(r.stdout) as { total: number; agree: number; disagreements: { file: string; keepalived: unknown; ours: unknown; kmsg: string[]; omsg: string[] }[]; unsupported: { file: string; omsg: string[] }[]; codes: { file: string; keepalived: unknown; ours: unknown }[] };
  t.equal(out.total, files.length, 'every file compared');
  for (const d of out.disagreements) t.fail(`${d.file}: keepalived ${String(d.keepalived)} (${d.kmsg[0] ?? ''}) / tunvs ${String(d.ours)} (${d.omsg[0] ?? ''})`);
  t.same(out.unsupported.map((u) => u.file), [], 'the corpus uses nothing tunvs refuses as not supported');
  t.equal(out.agree, files.length, 'same exit code on every file');
  // and the names say what keepalived says
  for (const c of out.codes) {
    const f = c.file.split('/').pop()!;
    t.equal(c.keepalived === 0, f.startsWith('valid-'), `${f}: keepalived exit ${String(c.keepalived)}`);
  }
  // keepalived's own sample configurations that have VRRP (not copied here: read in place)
  if (existsSync(SAMPLES)) {
    const rs = spawnSync('ip', ['netns', 'exec', ns, process.execPath, compare, '--json', '--vrrp-only', SAMPLES], { encoding: 'utf8', timeout: 120_000 });
    const so = JSON.parse(rs.stdout) as typeof out;
    t.ok(so.total >= 10, `${so.total} keepalived sample configurations with VRRP`);
    for (const d of so.disagreements) t.fail(`${d.file}: keepalived ${String(d.keepalived)} (${d.kmsg[0] ?? ''}) / tunvs ${String(d.ours)} (${d.omsg[0] ?? ''})`);
    // what tunvsd would not start with (AH, virtual_rules, ...) is refused by its config-test,
    // every error saying "not supported by tunvs"; the rest agree with keepalived
    for (const u of so.unsupported) t.comment(`${u.file.split('/').pop()}: refused by tunvs as not supported: ${u.omsg.join(' | ')}`);
    t.ok(so.unsupported.length <= 4, `few samples use what tunvs does not support (${so.unsupported.length})`);
    t.equal(so.agree + so.unsupported.length, so.total, 'same verdict on every other keepalived sample');
  } else t.comment(`${SAMPLES} is not here: keepalived's samples not compared`);
  t.end();
});
