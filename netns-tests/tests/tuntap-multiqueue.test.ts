// IFF_MULTI_QUEUE: two queues (two fds) of one TUN device; the kernel spreads flows over
// them by flow hash, so with many UDP flows both queues receive traffic.
import t from 'tap';
import { isRoot, openLab } from '../src/netns.js';

interface Stats {
  queues: { rxPackets: number; rxBatches: number }[];
}

t.test('multi-queue TUN: both queues receive', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'tt');
  const ns = lab.netns('mq');
  const child = lab.spawnNode(ns, 'fixtures/tuntap-responder.mjs', [
    JSON.stringify({ kind: 'tun', name: 'ttmq0', address: '10.76.0.1/24', queues: 2 }),
  ]);
  const ready = await child.json<{ queues: number }>((m) => m.ready === true);
  t.equal(ready.queues, 2, 'two queues opened');
  const details = lab.ip(ns, '-d link show dev ttmq0');
  t.match(details, /multi_queue/, 'the kernel reports a multi-queue device');
  t.match(details, /numqueues 2/, 'with two attached queues');

  // 64 flows: a fresh UDP socket (new source port) per datagram, several destination ports
  const flows = lab.exec(ns, 'bash', ['-c', 'for i in $(seq 1 64); do echo x > /dev/udp/10.76.0.2/$((7000 + i)); done'], {
    timeoutMs: 15_000,
  });
  t.equal(flows.status, 0, flows.stderr);
  // let the batches arrive
  let stats: Stats = { queues: [] };
  for (let i = 0; i < 20; i++) {
    stats = await child.request<Stats>({ op: 'stats' });
    const total = stats.queues.reduce((a, q) => a + q.rxPackets, 0);
    if (total >= 64) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const [q0, q1] = stats.queues;
  t.ok(q0!.rxPackets + q1!.rxPackets >= 64, `all datagrams read (${q0!.rxPackets} + ${q1!.rxPackets})`);
  t.ok(q0!.rxPackets > 0, `queue 0 received ${q0!.rxPackets}`);
  t.ok(q1!.rxPackets > 0, `queue 1 received ${q1!.rxPackets}`);
  t.equal(await child.stop(), 0);
});
