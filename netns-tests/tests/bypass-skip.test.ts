/**
 * The tests of tunvsd on kernel-bypass links (fixtures/bypass-lab.ts) where no such link
 * opens: each is skipped with tap's skip and the reason, none fails. Shown by running them
 * as root without CAP_NET_RAW (capsh --drop), which both AF_XDP and AF_PACKET sockets need,
 * so the probe of each file is refused for every kind. Also the skip decision itself
 * (gateOf) for a probe where only some kinds open.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gateOf } from '../fixtures/bypass-lab.js';
import { isRoot, NETNS_TESTS_DIR } from '../src/netns.js';

const FILES = ['daemon-xdp', 'daemon-two-interfaces', 'daemon-workers', 'daemon-workers-sync'].map((f) => join(NETNS_TESTS_DIR, 'tests', `${f}.test.ts`));
const ROOT = join(NETNS_TESTS_DIR, '..');
const TAP = join(ROOT, 'node_modules/tap/dist/esm/run.mjs');
const CAPSH = ['/usr/sbin/capsh', '/sbin/capsh', '/usr/bin/capsh'].find((p) => existsSync(p));

t.test('the skip decision from a probe', async (t) => {
  const none = gateOf({ open: [], refused: ['xdp: EPERM x', 'packet: EPERM y'] }, ['xdp', 'packet']);
  t.match(none.skip, /^neither AF_XDP nor AF_PACKET opens here: no kernel-bypass link to run on \(xdp: EPERM x; packet: EPERM y\)$/);
  t.same(none.open, []);

  const packetOnly = gateOf({ open: ['packet'], refused: ['xdp: no XDP here'] }, ['xdp', 'packet']);
  t.equal(packetOnly.skip, false, 'a test of both kinds runs where one opens');
  t.same(packetOnly.open, ['packet']);
  t.equal(packetOnly.why('xdp'), 'AF_XDP does not open here (no XDP here)', 'its pass on the other is skipped with the reason');
  t.equal(packetOnly.why('packet'), false);

  const xdpOnlyTest = gateOf({ open: ['packet'], refused: ['xdp: no XDP here'] }, ['xdp']);
  t.equal(xdpOnlyTest.skip, 'AF_XDP does not open here: no kernel-bypass link to run on (xdp: no XDP here)', 'a test of AF_XDP alone is skipped where only AF_PACKET opens');
  t.match(xdpOnlyTest.why('packet'), /not what this test needs/);

  const notRoot = gateOf(null, ['xdp', 'packet']);
  t.equal(notRoot.skip, 'needs root');
  t.equal(notRoot.why('xdp'), 'needs root');

  const both = gateOf({ open: ['xdp', 'packet'], refused: [] }, ['xdp', 'packet']);
  t.equal(both.skip, false);
  t.same(both.open, ['xdp', 'packet']);
});

const skip = !isRoot() ? 'needs root' : CAPSH === undefined && 'needs capsh (libcap2-bin) to drop CAP_NET_RAW';

t.test('without CAP_NET_RAW (no AF_XDP, no AF_PACKET): the bypass-link tests skip with the reason, none fails', { skip }, async (t) => {
  // a tap run of its own: none of this run's TAP_* settings
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP')));
  const cmd = ['exec', process.execPath, TAP, '--reporter=tap', '--jobs=1', ...FILES].map((a) => `'${a}'`).join(' ');
  const r = spawnSync(CAPSH!, ['--drop=cap_net_raw', '--', '-c', cmd], { cwd: ROOT, env, encoding: 'utf8', timeout: 180_000 });
  t.equal(r.status, 0, `the run passes ${r.stderr.slice(-400)}`);
  t.notMatch(r.stdout, /^\s*not ok/m, 'nothing failed');
  for (const f of FILES) {
    const name = f.slice(f.lastIndexOf('/') + 1);
    const block = r.stdout.split(/^# Subtest: /m).find((c) => c.split('\n', 1)[0]!.endsWith(`/${name}`)) ?? '';
    t.match(block, /^ {4}ok 1 - .* # SKIP (neither AF_XDP nor AF_PACKET opens|AF_XDP does not open) here: no kernel-bypass link to run on \(xdp: socket\(AF_XDP\) failed: EPERM/m, `${name}: skipped with the probe's reason`);
  }
});
