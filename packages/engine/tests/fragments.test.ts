import t from 'tap';
import { packet, rd16, rd32 } from '@tunvs/packet';
import { FRAG_HOLD_BYTES, FRAG_OVERHEAD, Fragments } from '../src/fragments.js';
import { tunDirector, ip, VIP, CLIENT, RS } from './helpers.js';

const key = { protocol: 'udp' as const, addr: VIP, port: 53 };

/** A UDP datagram split in two fragments by hand (payload 16 + 16 bytes). */
function fragments(id: number): [Uint8Array, Uint8Array] {
  const whole = packet().ipv4({ src: CLIENT, dst: VIP, id }).udp({ sport: 5353, dport: 53 }).payload(new Uint8Array(24).fill(7)).build();
  // first: IP header + 8 UDP + 8 payload = 16 bytes of data, MF
  const first = packet().ipv4({ src: CLIENT, dst: VIP, id, mf: true, protocol: 17 }).payload(whole.slice(20, 36)).build();
  const second = packet().ipv4({ src: CLIENT, dst: VIP, id, fragOffset: 2, protocol: 17 }).payload(whole.slice(36)).build();
  return [first, second];
}

t.test('NAT: later fragments follow their flow (in order and out of order)', (t) => {
  const { d, link } = tunDirector();
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: RS[0]!, port: 5300, method: 'masq' });
  const [a, b] = fragments(77);
  link.receive(a);
  link.receive(b);
  const out = link.drain();
  t.equal(out.length, 2);
  for (const p of out) t.equal(rd32(p, 16) >>> 0, 0x0a0a010b, 'both fragments to the real server');
  t.equal(rd16(out[0]!, 22), 5300, 'first fragment carries the rewritten port');
  t.equal(d.counters.fragForwarded, 1);

  const [c, e] = fragments(78);
  link.receive(e); // the later fragment first: held
  t.equal(link.drain().length, 0, 'held until its first fragment');
  link.receive(c);
  const out2 = link.drain();
  t.equal(out2.length, 2, 'first fragment and the held one go out together');
  t.ok(out2.every((p) => rd32(p, 16) >>> 0 === 0x0a0a010b));
  t.end();
});

t.test('orphan fragments are dropped and counted after the timeout, memory bounded', (t) => {
  const { d, link, clock } = tunDirector();
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: RS[0]!, port: 53, method: 'masq' });
  for (let i = 0; i < 100; i++) link.receive(fragments(1000 + i)[1]);
  t.equal(link.drain().length, 0);
  t.ok(d.fragments.bytesHeld > 0 && d.fragments.bytesHeld <= 1 << 20);
  clock.now += 31_000;
  d.tick();
  t.equal(d.fragments.bytesHeld, 0, 'released');
  t.equal(d.counters.fragDropped, 100);
  t.end();
});

/** A later fragment (offset 8 bytes, no MF) of a UDP datagram from `src` with `id`. */
function later(src: string, id: number, payload = 16): Uint8Array {
  return packet().ipv4({ src, dst: VIP, id, fragOffset: 1, protocol: 17 }).payload(new Uint8Array(payload).fill(0xee)).build();
}

t.test('issue 13 item 14: an attacker fragment whatever its hash is never merged into another datagram', (t) => {
  const { d, link } = tunDirector();
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: RS[0]!, port: 5300, method: 'masq' });
  // the attacker sends early fragments of many datagrams: under any 4096-slot hash, some
  // land where the victim's datagram does
  const ATTACKER = '10.10.0.66';
  for (let id = 0; id < 20_000; id++) link.receive(later(ATTACKER, id, 8));
  t.equal(link.drain().length, 0, 'early fragments are held');
  const [first] = fragments(4242);
  link.receive(first);
  const out = link.drain();
  t.equal(out.length, 1, 'only the victim\'s first fragment goes out');
  t.ok(out.every((p) => ip(p).src === CLIENT), 'nothing of the attacker joins the victim\'s flow');
  t.equal(d.counters.fragForwarded, 0);
  t.end();
});

t.test('issue 13 item 14: held fragments are charged a per-fragment overhead (tiny ones cannot pile up)', (t) => {
  const { d, link } = tunDirector();
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: RS[0]!, port: 53, method: 'masq' });
  // 40 000 fragments of 8 bytes of one datagram: 28 bytes each on the wire (1.1 MB), many
  // times that in objects if each were counted by its bytes only
  for (let i = 0; i < 40_000; i++) {
    link.receive(packet().ipv4({ src: CLIENT, dst: VIP, id: 9, fragOffset: 1 + (i % 8000), mf: true, protocol: 17 }).payload(new Uint8Array(8)).build());
  }
  const held = d.fragments.counters.held;
  t.ok(held > 0, `${held} held`);
  t.ok(held * (28 + FRAG_OVERHEAD) <= FRAG_HOLD_BYTES, 'each held fragment counts its overhead against the cap');
  t.ok(held <= FRAG_HOLD_BYTES / 256, `at most one per 256 bytes of cap (${held})`);
  t.ok(d.fragments.bytesHeld <= FRAG_HOLD_BYTES, 'the cap holds');
  t.equal(d.fragments.counters.heldDropped, 40_000 - held, 'the rest is dropped and counted');
  t.end();
});

t.test('fragments of datagrams that differ only in protocol or id are kept apart', (t) => {
  const { d, link } = tunDirector();
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: RS[0]!, port: 5300, method: 'masq' });
  // same source, destination and id, other protocol (TCP): never released with the UDP one
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP, id: 500, fragOffset: 2, protocol: 6 }).payload(new Uint8Array(16)).build());
  link.receive(fragments(501)[1]); // another id
  const [a, b] = fragments(500);
  link.receive(a);
  t.equal(link.drain().length, 1, 'only the first fragment: nothing was held for this datagram');
  link.receive(b);
  t.equal(link.drain().length, 1, 'its own later fragment follows');
  t.equal(d.fragments.size, 3, 'three datagrams tracked');
  t.end();
});

t.test('the fragment table keeps every key reachable through removals (backward shift)', (t) => {
  const f = new Fragments();
  const c = { fragDropped: 0 };
  const buf = new Uint8Array(8);
  const src = (i: number): number => 0x0a000000 + (i % 7);
  // fill, expire half by age, then check every survivor is still found under its key
  for (let i = 0; i < 2000; i++) f.hold(src(i), 0x0a0000ff, i, 17, buf, 0, 8, i % 2 === 0 ? 0 : 20_000, c);
  t.equal(f.size, 2000);
  f.expire(31_000, c);
  t.equal(f.size, 1000);
  t.equal(c.fragDropped, 1000, 'expired fragments counted');
  let found = 0;
  let gone = 0;
  for (let i = 0; i < 2000; i++) {
    if (i % 2 === 1 && f.firstSeen(src(i), 0x0a0000ff, i, 17, 5, 21_000)?.length === 1) found++;
    if (i % 2 === 0 && f.lookup(src(i), 0x0a0000ff, i, 17) === -2) gone++;
  }
  t.equal(found, 1000, 'each survivor releases its own held fragment');
  t.equal(gone, 1000, 'expired ones are unknown again');
  t.equal(f.bytesHeld, 0);
  t.end();
});
