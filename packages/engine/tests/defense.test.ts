import t from 'tap';
import { packet } from '@tunvs/packet';
import { tunDirector, ip, VIP, RS } from './helpers.js';
import type { DefenseSettings } from '@tunvs/model';

/**
 * A SYN flood at twice the table's capacity (spoofed sources, never answered), then a new
 * client 3 s later: with drop_entry the half-open entries are thinned and it gets through;
 * without, the full table refuses it until the flood's entries expire (60 s).
 */
function floodThenClient(defense: Partial<DefenseSettings>): { forwarded: boolean; dropped: number; tableFull: number } {
  const { d, link, clock } = tunDirector({ connCapacity: 1024 });
  d.setDefense(defense);
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr' });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: RS[0]!, port: 80, method: 'masq' });
  for (let i = 0; i < 2048; i++) {
    const src = `172.16.${(i >> 8) & 255}.${i & 255}`;
    link.receive(packet().ipv4({ src, dst: VIP }).tcp({ sport: 1024 + i, dport: 80, flags: 'S' }).build());
    if (i % 256 === 255) {
      clock.now += 100;
      d.tick();
    }
  }
  link.drain();
  for (let s = 0; s < 3; s++) {
    clock.now += 1000;
    d.tick();
  }
  link.receive(packet().ipv4({ src: '192.0.2.7', dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build());
  const out = link.drain();
  const forwarded = out.some((p) => ip(p).src === '192.0.2.7' && ip(p).dst === RS[0]);
  return { forwarded, dropped: d.conns.counters.dropped, tableFull: d.counters.tableFull };
}

t.test('SYN flood at 2x capacity: drop_entry lets a new client in', (t) => {
  const off = floodThenClient({});
  t.equal(off.dropped, 0);
  t.ok(off.tableFull > 1024, 'the flood filled the table');
  t.notOk(off.forwarded, 'defence off: the new client is locked out');

  const always = floodThenClient({ dropEntry: 3 });
  t.ok(always.dropped > 0, `drop_entry 3 dropped ${always.dropped} half-open entries`);
  t.ok(always.forwarded, 'drop_entry 3: the new client gets through');

  // automatic: 1024 slots are about 15 pages; amemthresh 8 arms it at half full
  const auto = floodThenClient({ dropEntry: 1, amemthresh: 8 });
  t.ok(auto.dropped > 0);
  t.ok(auto.forwarded, 'drop_entry 1 (automatic): the new client gets through');
  t.end();
});

t.test('drop_packet: the director refuses a share of new connections while low on room', (t) => {
  const { d, link } = tunDirector({ connCapacity: 1024 });
  d.setDefense({ dropPacket: 3, amDroprate: 4 });
  t.same(d.getDefense(), { dropEntry: 0, dropPacket: 3, secureTcp: 0, amemthresh: 1024, amDroprate: 4 });
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr' });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: RS[0]!, port: 80, method: 'masq' });
  for (let i = 0; i < 100; i++) link.receive(packet().ipv4({ src: '192.0.2.9', dst: VIP }).tcp({ sport: 2000 + i, dport: 80, flags: 'S' }).build());
  t.equal(link.drain().length, 75, 'one new connection in 4 dropped');
  t.equal(d.counters.defenseDrop, 25);
  t.throws(() => d.setDefense({ dropPacket: 4 }), /invalid drop_packet mode/);
  t.end();
});

t.test('secure_tcp on the data path: a client ACK leaves a NAT entry half-open', (t) => {
  const { d, link } = tunDirector();
  d.setDefense({ secureTcp: 3 });
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr' });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: RS[0]!, port: 80, method: 'masq' });
  link.receive(packet().ipv4({ src: '192.0.2.9', dst: VIP }).tcp({ sport: 5555, dport: 80, flags: 'S' }).build());
  link.receive(packet().ipv4({ src: '192.0.2.9', dst: VIP }).tcp({ sport: 5555, dport: 80, flags: 'A' }).build());
  t.equal(d.listConnections()[0]!.state, 'SYN_RECV');
  d.setDefense({ secureTcp: 0 });
  link.receive(packet().ipv4({ src: '192.0.2.9', dst: VIP }).tcp({ sport: 5555, dport: 80, flags: 'A' }).build());
  t.equal(d.listConnections()[0]!.state, 'ESTABLISHED', 'normal tables again');
  t.end();
});
