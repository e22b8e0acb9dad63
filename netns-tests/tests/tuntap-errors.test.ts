// Bad use gives clear, typed errors and no crash: opening without privileges, a name that
// is too long, a packet over the MTU, configuring a missing interface.
import t from 'tap';
import { openTun, setMtu, TunTapError } from '@tunvs/tuntap';
import { fixturePath, isRoot, openLab } from '../src/netns.js';

interface Outcome {
  ok: boolean;
  name?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  message?: string;
}

function outcome(stdout: string): Outcome {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line || '{"ok":false,"message":"no output"}') as Outcome;
}

const skip = !isRoot() && 'needs root';

t.test('opening without CAP_NET_ADMIN: TUNSETIFF EPERM', { skip }, async (t) => {
  const lab = openLab(t, 'tt');
  const ns = lab.netns('eperm');
  const script = fixturePath('fixtures/tuntap-try-open.mjs');
  // root, but with CAP_NET_ADMIN removed from the bounding and inheritable sets
  const r = lab.exec(ns, 'setpriv', ['--bounding-set=-net_admin', '--inh-caps=-net_admin', process.execPath, script, '{"name":"tterr0"}']);
  const o = outcome(r.stdout);
  t.equal(r.status, 0, `the process did not crash ${r.stderr}`);
  t.equal(o.ok, false);
  t.equal(o.name, 'TunTapError');
  t.equal(o.code, 'EPERM');
  t.equal(o.errno, 1);
  t.equal(o.syscall, 'TUNSETIFF');
  t.match(o.message, /^TUNSETIFF failed: EPERM \(needs CAP_NET_ADMIN\)/, String(o.message));
  t.not(lab.exec(ns, 'ip', ['link', 'show', 'tterr0']).status, 0, 'no device was created');

  const m = outcome(
    lab.exec(ns, 'setpriv', ['--bounding-set=-net_admin', '--inh-caps=-net_admin', process.execPath, script, '{"setMtu":"lo"}']).stdout,
  );
  t.equal(m.code, 'EPERM');
  t.match(m.message, /^SIOCSIFMTU failed: EPERM \(needs CAP_NET_ADMIN\), setting the MTU of lo to 1400/, String(m.message));
});

t.test('opening as an unprivileged user: a clear error', { skip }, async (t) => {
  const lab = openLab(t, 'tt');
  const ns = lab.netns('nobody');
  const script = fixturePath('fixtures/tuntap-try-open.mjs');
  const r = lab.exec(ns, 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script, '{"name":"tterr1"}']);
  const o = outcome(r.stdout);
  t.equal(r.status, 0, `the process did not crash ${r.stderr}`);
  t.equal(o.ok, false);
  t.equal(o.name, 'TunTapError');
  // /dev/net/tun may be 0666 (then TUNSETIFF says EPERM) or 0660 (then open says EACCES)
  t.ok(o.code === 'EPERM' || o.code === 'EACCES', `code ${o.code}`);
  t.match(o.message, /needs CAP_NET_ADMIN|no permission to open \/dev\/net\/tun/, String(o.message));
});

t.test('a name longer than 15 bytes is refused before any syscall', async (t) => {
  const err = t.throws(() => openTun({ name: 'tt-name-too-long0' })) as TunTapError;
  t.ok(err instanceof TunTapError);
  t.equal(err.code, 'ENAMETOOLONG');
  t.match(err.message, /^interface name too long \(max 15 bytes\)/);
  t.throws(() => setMtu('abcdefghijklmnopq', 1400), { code: 'ENAMETOOLONG' });
});

t.test('configuring a missing interface says so', { skip }, async (t) => {
  const lab = openLab(t, 'tt');
  const ns = lab.netns('nodev');
  const script = fixturePath('fixtures/tuntap-try-open.mjs');
  const o = outcome(lab.exec(ns, process.execPath, [script, '{"setMtu":"ttnosuch0"}']).stdout);
  t.equal(o.code, 'ENODEV');
  t.match(o.message, /SIOCSIFMTU failed: ENODEV \(no such interface in this network namespace\)/, String(o.message));
});

t.test('writing a packet over the MTU: an EMSGSIZE error, counted, no crash', { skip }, async (t) => {
  const lab = openLab(t, 'tt');
  const ns = lab.netns('mtu');
  const child = lab.spawnNode(ns, 'fixtures/tuntap-responder.mjs', [
    JSON.stringify({ kind: 'tun', name: 'ttmtu0', address: '10.74.0.1/24', mtu: 1500 }),
  ]);
  await child.json((m) => m.ready === true);
  const r = await child.request<Outcome & { ok: boolean }>({ op: 'send', len: 9000 });
  t.equal(r.ok, false);
  t.equal(r.name, 'TunTapError');
  t.equal(r.code, 'EMSGSIZE');
  t.equal(r.syscall, 'write');
  t.equal(r.message, 'packet of 9000 bytes is larger than the MTU 1500');
  const stats = await child.request<{ queues: { txErrors: number }[] }>({ op: 'stats' });
  t.equal(stats.queues[0]!.txErrors, 1, 'counted in txErrors');
  // still alive and answering
  const ping = lab.exec(ns, 'ping', ['-c', '1', '-W', '2', '10.74.0.2']);
  t.equal(ping.status, 0, 'the responder still answers ping');
  // once the device is closed, a send says so (not that the kernel's queue is full)
  await child.request({ op: 'close' });
  t.match(await child.request<Outcome & { ok: boolean }>({ op: 'send', len: 100 }), { ok: false, code: 'EBADF', message: 'queue 0 of ttmtu0 is closed' });
  t.equal(await child.stop(), 0);
});
