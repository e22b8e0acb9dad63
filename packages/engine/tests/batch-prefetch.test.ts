import t from 'tap';
import { packet } from '@tunvs/packet';
import { PREFETCH_GROUP, PREFETCH_MIN_ENTRIES } from '../src/index.js';
import { tunDirector, ip, VIP, CLIENT, RS } from './helpers.js';

/** Client address number `i` (10.10.2.x). */
function client(i: number): string {
  return `10.10.2.${i + 1}`;
}

/**
 * One batch of 100 frames (three pre-pass groups of 32 and a rest) in which connections are
 * created, used, answered and closed by later frames of the same batch, mixed with UDP,
 * ICMP, fragments, a truncated frame and packets of no connection.
 */
function batchFrames(): Uint8Array[] {
  const f: Uint8Array[] = [];
  const tcp = (i: number, flags: string, seq = 1): Uint8Array =>
    packet().ipv4({ src: client(i), dst: VIP, ttl: 64 }).tcp({ sport: 40000 + i, dport: 80, flags, seq }).build();
  const reply = (i: number, flags: string): Uint8Array =>
    packet().ipv4({ src: RS[0]!, dst: client(i), ttl: 64 }).tcp({ sport: 8080, dport: 40000 + i, flags }).build();
  for (let i = 0; i < 20; i++) f.push(tcp(i, 'S'));
  for (let i = 0; i < 20; i++) f.push(reply(i, 'SA'));
  for (let i = 0; i < 20; i++) f.push(tcp(i, i % 5 === 0 ? 'R' : 'A', 2));
  // an ACK of no connection (dropped: not a SYN), and one of another port
  f.push(tcp(50, 'A'));
  f.push(packet().ipv4({ src: client(51), dst: VIP }).tcp({ sport: 1, dport: 81, flags: 'S' }).build());
  // UDP: the first datagram creates the connection, the next ones find it, a reply
  for (let i = 0; i < 3; i++) f.push(packet().ipv4({ src: CLIENT, dst: VIP }).udp({ sport: 5000, dport: 53 }).payload('q' + i).build());
  f.push(packet().ipv4({ src: RS[0]!, dst: CLIENT }).udp({ sport: 53, dport: 5000 }).payload('a').build());
  // a fragmented UDP datagram of a new flow: the first fragment creates, the second follows
  const whole = packet().ipv4({ src: CLIENT, dst: VIP, id: 9 }).udp({ sport: 5353, dport: 53 }).payload(new Uint8Array(24).fill(7)).build();
  f.push(packet().ipv4({ src: CLIENT, dst: VIP, id: 9, mf: true, protocol: 17 }).payload(whole.slice(20, 36)).build());
  f.push(packet().ipv4({ src: CLIENT, dst: VIP, id: 9, fragOffset: 2, protocol: 17 }).payload(whole.slice(36)).build());
  // ping to the VIP and a truncated frame
  f.push(packet().ipv4({ src: CLIENT, dst: VIP }).icmp({ type: 8, code: 0, id: 7, seq: 1 }).build());
  f.push(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 7, dport: 80, flags: 'S' }).build().slice(0, 30));
  // more SYNs and their ACKs, to fill the last groups
  for (let i = 60; i < 68; i++) f.push(tcp(i, 'S'));
  for (let i = 60; i < 68; i++) f.push(tcp(i, 'A', 2));
  return f;
}

function run(prefetch: boolean, minEntries = 0): { d: ReturnType<typeof tunDirector>['d']; sent: Uint8Array[]; groups: number } {
  const { d, link } = tunDirector();
  d.prefetch = prefetch;
  d.prefetchMinEntries = minEntries; // 0: the pre-pass runs on this small table too
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr' });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: RS[0]!, port: 8080, method: 'masq' });
  d.addService({ protocol: 'udp', addr: VIP, port: 53, scheduler: 'rr' });
  d.addDest({ protocol: 'udp', addr: VIP, port: 53 }, { addr: RS[0]!, port: 53, method: 'masq' });
  // count the pre-pass's runs (a private part of the Director, reached for this test only)
  const dp = (d as unknown as { datapath: { prefetch: (...a: unknown[]) => void } }).datapath;
  const real = dp.prefetch.bind(dp);
  let groups = 0;
  dp.prefetch = (...a: unknown[]): void => {
    groups++;
    real(...a);
  };
  const frames = batchFrames();
  for (const fr of frames) t.ok(link.inject(fr));
  t.equal(link.deliver(), frames.length, 'one batch');
  return { d, sent: link.drain(), groups };
}

t.test('the batch pre-pass changes nothing: flows created, answered and closed within one batch', (t) => {
  const on = run(true);
  const off = run(false);
  t.equal(on.d.prefetch, true);
  t.throws(() => (on.d.prefetchMinEntries = -1), RangeError);
  t.equal(off.d.prefetch, false);
  t.equal(on.groups, Math.ceil(batchFrames().length / PREFETCH_GROUP), 'the pre-pass ran before every group');
  t.equal(off.groups, 0, 'and not at all when off');
  const small = run(true, PREFETCH_MIN_ENTRIES);
  t.equal(small.groups, 0, 'nor while the table is below prefetchMinEntries');
  t.same(small.d.counters.snapshot(), off.d.counters.snapshot());
  t.same(on.sent.map((p) => Buffer.from(p).toString('hex')), off.sent.map((p) => Buffer.from(p).toString('hex')), 'the same frames out, in the same order');
  t.same(on.d.counters.snapshot(), off.d.counters.snapshot(), 'the same counters');
  const strip = (d: typeof on.d): unknown => d.listConnections().map((c) => ({ ...c }));
  t.same(strip(on.d), strip(off.d), 'the same connections');
  t.same(on.d.listServices(), off.d.listServices(), 'the same service and server stats');

  // and what they are: later frames of the batch found the connections made by earlier ones
  const conns = on.d.listConnections();
  const tcp = conns.filter((c) => c.protocol === 'TCP');
  t.equal(tcp.length, 28, '20 + 8 TCP connections');
  const state = (port: number): string | undefined => tcp.find((c) => c.clientPort === port)?.state;
  t.equal(state(40001), 'ESTABLISHED', 'SYN, SYN-ACK, ACK in one batch');
  t.equal(state(40000), 'SYN_RECV', 'SYN, SYN-ACK, then a client RST: SYN_RECV stays (the input table)');
  t.equal(state(40060), 'ESTABLISHED', 'SYN then ACK in the last group');
  const s = on.d.counters.snapshot();
  t.equal(s.notSyn, 1, 'the ACK of no connection');
  t.equal(s.noService, 1, 'port 81');
  const udp = conns.filter((c) => c.protocol === 'UDP');
  t.equal(udp.length, 2, 'one UDP connection per flow, the fragmented one included');
  const svcs = on.d.listServices();
  const dns = svcs.find((x) => x.port === 53)!;
  t.equal(dns.stats.conns, 2);
  t.equal(dns.stats.inPkts, 4, '3 datagrams + the first fragment');
  t.equal(dns.stats.outPkts, 1);
  t.equal(svcs.find((x) => x.port === 80)!.stats.inPkts, 56, '20 SYN + 20 ACK/RST + 16 of the last group');
  const replies = on.sent.map((p) => ip(p)).filter((h) => h.src === VIP && h.proto === 6);
  t.equal(replies.length, 20, 'every SYN-ACK went out from the VIP');
  t.end();
});
