import t from 'tap';
import { packet, rd16, rd32 } from '@tunvs/packet';
import { tunDirector, VIP, CLIENT, RS } from './helpers.js';

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
