// A PcapLink on one end of a veth pair: it captures what the peer sends, and a frame it
// injects reaches the peer (which answers it).
import t from 'tap';
import { isRoot, openLab, delay } from '../src/netns.js';

interface Frame {
  len: number;
  type: number;
  proto?: number;
  src?: string;
  dst?: string;
  icmpType?: number;
  icmpId?: number;
  dport?: number;
  payload?: string;
}
interface Captured {
  frames: Frame[];
  batches: number;
  counters: { rxPackets: number; rxBatches: number; txPackets: number; txErrors: number };
}

t.test('pcap link: capture from a veth peer and inject a frame it receives', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'tt');
  const a = lab.netns('pcapa');
  const b = lab.netns('pcapb');
  lab.veth(
    { name: 'ttpa0', ns: a, address: '10.73.0.1/24', mac: '02:00:00:00:73:01' },
    { name: 'ttpb0', ns: b, address: '10.73.0.2/24', mac: '02:00:00:00:73:02' },
  );
  const agent = lab.spawnNode(a, 'fixtures/pcap-agent.mjs', [
    JSON.stringify({ iface: 'ttpa0', filter: 'icmp or udp port 9999', inboundOnly: true }),
  ]);
  const ready = await agent.json<{ kind: string; mac: string; mtu: number }>((m) => m.ready === true);
  t.equal(ready.kind, 'tap', 'an Ethernet interface is a tap-kind link');
  t.equal(ready.mac, '02:00:00:00:73:01', 'the interface MAC from sysfs');
  t.equal(ready.mtu, 1500);

  // capture: the peer sends three UDP datagrams to port 9999
  const sent = lab.exec(b, 'bash', ['-c', 'for i in 1 2 3; do echo -n "hello$i" > /dev/udp/10.73.0.1/9999; done']);
  t.equal(sent.status, 0, sent.stderr);
  let cap: Captured = { frames: [], batches: 0, counters: { rxPackets: 0, rxBatches: 0, txPackets: 0, txErrors: 0 } };
  for (let i = 0; i < 30; i++) {
    cap = await agent.request<Captured>({ op: 'captured' });
    if (cap.frames.filter((f) => f.dport === 9999).length >= 3) break;
    await delay(100);
  }
  const udp = cap.frames.filter((f) => f.dport === 9999);
  t.same(
    udp.map((f) => f.payload),
    ['hello1', 'hello2', 'hello3'],
    'the three datagrams were captured, in order',
  );
  t.ok(udp.every((f) => f.src === '10.73.0.2' && f.dst === '10.73.0.1'), 'from the peer');
  t.ok(cap.counters.rxBatches >= 1 && cap.counters.rxBatches <= cap.counters.rxPackets, 'delivered in batches');

  // inject: an ICMP echo request to the peer; the peer's kernel answers it
  const r = await agent.request<{ ok: boolean }>({
    op: 'echo',
    dstMac: '02:00:00:00:73:02',
    srcAddr: '10.73.0.1',
    dstAddr: '10.73.0.2',
    id: 0x7301,
  });
  t.equal(r.ok, true, 'frame injected');
  let reply: Frame | undefined;
  for (let i = 0; i < 30 && !reply; i++) {
    await delay(100);
    cap = await agent.request<Captured>({ op: 'captured' });
    reply = cap.frames.find((f) => f.proto === 1 && f.icmpType === 0 && f.icmpId === 0x7301);
  }
  t.ok(reply, 'the peer received the injected echo request and replied');
  t.equal(reply?.src, '10.73.0.2');
  t.equal(cap.counters.txPackets, 1);
  const inEchos = lab.exec(b, 'nstat', ['-az', 'IcmpInEchos']).stdout;
  t.match(inEchos, /IcmpInEchos\s+1\b/, 'the peer counted one echo request');

  // an oversized frame is refused with a clear error
  const big = await agent.request<{ ok: boolean; name: string; code: string; message: string }>({ op: 'big' });
  t.equal(big.ok, false);
  t.equal(big.name, 'PcapError');
  t.equal(big.code, 'EMSGSIZE');
  t.match(big.message, /frame of 9000 bytes is larger than the MTU 1500/);
  // once closed, a send says so (not the last send's error again)
  await agent.request({ op: 'close' });
  t.match(await agent.request<{ ok: boolean; code: string; message: string }>({ op: 'big' }), { ok: false, code: 'EBADF', message: /is closed/ });
  t.equal(await agent.stop(), 0);
});

t.test('pcap link: a missing interface is a clear error', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'tt');
  const a = lab.netns('pcapx');
  const agent = lab.spawnNode(a, 'fixtures/pcap-agent.mjs', [JSON.stringify({ iface: 'ttnosuch0' })]);
  const code = await agent.wait(10_000);
  t.not(code, 0, 'the agent fails');
  t.match(agent.stderr, /PcapError: pcap open on ttnosuch0 failed/, 'with a PcapError naming the interface');
});
