// A TUN device opened by @tunvs/tuntap in a fresh namespace, configured by ioctl from the
// addon; JS answers ICMP echo and `ping` gets its replies.
import t from 'tap';
import { fixturePath, isRoot, openLab } from '../src/netns.js';

interface Ready {
  ready: boolean;
  name: string;
  mtu: number;
}
interface Stats {
  queues: { rxPackets: number; txPackets: number; replied: number; txErrors: number }[];
}

t.test('TUN: configured by ioctl, JS answers ping', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'tt');
  const ns = lab.netns('tun');
  const child = lab.spawnNode(ns, 'fixtures/tuntap-responder.mjs', [
    JSON.stringify({ kind: 'tun', name: 'tttun0', address: '10.77.0.1/24', mtu: 1400 }),
  ]);
  const ready = await child.json<Ready>((m) => m.ready === true);
  t.equal(ready.name, 'tttun0');
  t.equal(ready.mtu, 1400, 'MTU set by SIOCSIFMTU and read back');

  // what the kernel sees, configured by the addon's ioctls
  const link = JSON.parse(lab.ip(ns, '-j addr show dev tttun0')) as {
    mtu: number;
    flags: string[];
    addr_info: { family: string; local: string; prefixlen: number }[];
  }[];
  t.equal(link[0]!.mtu, 1400);
  t.ok(link[0]!.flags.includes('UP'), 'interface is up');
  t.same(
    link[0]!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    ['10.77.0.1/24'],
    'address and prefix set by SIOCSIFADDR + SIOCSIFNETMASK',
  );

  // 10.77.0.2 is routed into the TUN; nobody but the JS answers it
  const ping = lab.exec(ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.77.0.2'], { timeoutMs: 15_000 });
  t.equal(ping.status, 0, `ping succeeds: ${ping.stdout.split('\n').slice(-3).join(' ')}`);
  t.match(ping.stdout, /3 packets transmitted, 3 received/);

  const stats = await child.request<Stats>({ op: 'stats' });
  const q = stats.queues[0]!;
  t.ok(q.replied >= 3, `JS replied to ${q.replied} echo requests`);
  t.ok(q.rxPackets >= 3, 'packets counted on receive');
  t.equal(q.txErrors, 0);
  t.equal(await child.stop(), 0, 'responder exits cleanly');
  // non-persistent: the device is gone once the fd is closed
  t.equal(lab.exec(ns, 'ip', ['link', 'show', 'tttun0']).status !== 0, true, 'device removed on close');
});

t.test('TUNSETPERSIST: a persistent device outlives its fd', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'tt');
  const ns = lab.netns('persist');
  const open = (opts: object): { ok: boolean; name?: string; message?: string } => {
    const r = lab.exec(ns, process.execPath, [fixturePath('fixtures/tuntap-try-open.mjs'), JSON.stringify(opts)]);
    return JSON.parse(r.stdout.trim() || '{"ok":false}') as { ok: boolean; name?: string };
  };
  t.same(open({ name: 'ttper0', persist: true }), { ok: true, name: 'ttper0' });
  t.equal(lab.exec(ns, 'ip', ['link', 'show', 'ttper0']).status, 0, 'still there after close');
  // attaching again works (and a TAP of the same name does not)
  const tap = open({ kind: 'tap', name: 'ttper0' });
  t.equal(tap.ok, false);
  t.match(tap.message, /TUNSETIFF failed: EINVAL/, String(tap.message));
  t.same(open({ name: 'ttper0', persist: false }), { ok: true, name: 'ttper0' });
  t.not(lab.exec(ns, 'ip', ['link', 'show', 'ttper0']).status, 0, 'gone once no longer persistent');
  // a kernel-chosen name
  const auto = open({});
  t.equal(auto.ok, true);
  t.match(auto.name, /^tun\d+$/, `kernel picked ${auto.name}`);
});
