/**
 * A Director that owns two layer-2 interfaces (`interfaces`), as DPDK owns NICs: a client
 * side (10.10.0.0/24, the VIP's subnet, a router 10.10.0.254 to other clients) and a
 * server side (10.10.1.0/24, the real servers), each with its own MAC, addresses and ARP
 * table. Every frame is checked for the link it leaves by.
 */
import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import type { Link } from '@tunvs/link';
import { formatIpv4, formatMac, packet, parseMac, rd16, rd32 } from '@tunvs/packet';
import { Director } from '../src/index.js';
import type { DirectorOptions } from '../src/index.js';

const C_MAC = '02:00:00:00:00:01';
const S_MAC = '02:00:00:00:01:01';
const CLIENT = '10.10.0.2';
const CLIENT_MAC = '02:00:00:00:00:02';
const ROUTER = '10.10.0.254';
const ROUTER_MAC = '02:00:00:00:00:fe';
const FAR_CLIENT = '192.0.2.7';
const VIP = '10.10.0.100';
const RS = '10.10.1.11';
const RS_MAC = '02:00:00:00:01:11';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };

interface Rig {
  d: Director;
  c: MemoryLink;
  s: MemoryLink;
}

function rig(extra: Partial<DirectorOptions> = {}, queues = 1): Rig & { cs: MemoryLink[]; ss: MemoryLink[] } {
  const cs = Array.from({ length: queues }, (_, i) => new MemoryLink('tap', 1500, `client${i}`));
  const ss = Array.from({ length: queues }, (_, i) => new MemoryLink('tap', 1500, `server${i}`));
  const d = new Director({
    interfaces: [
      { name: 'client', links: cs, mac: parseMac(C_MAC), addresses: [{ addr: '10.10.0.1', prefix: 24 }], gateway: ROUTER },
      { name: 'server', links: ss, mac: parseMac(S_MAC), addresses: [{ addr: '10.10.1.1', prefix: 24 }] },
    ],
    now: () => 1000,
    timers: false,
    ...extra,
  });
  d.start();
  return { d, c: cs[0]!, s: ss[0]!, cs, ss };
}

const ethDst = (f: Uint8Array): string => formatMac(f.subarray(0, 6));
const ethSrc = (f: Uint8Array): string => formatMac(f.subarray(6, 12));
const ethType = (f: Uint8Array): number => rd16(f, 12);
const ipSrc = (f: Uint8Array, at = 14): string => formatIpv4(rd32(f, at + 12));
const ipDst = (f: Uint8Array, at = 14): string => formatIpv4(rd32(f, at + 16));
const arpTarget = (f: Uint8Array): string => formatIpv4(rd32(f, 14 + 24));
const arpSender = (f: Uint8Array): string => formatIpv4(rd32(f, 14 + 14));

function arpRequest(senderMac: string, senderIp: string, targetIp: string): Uint8Array {
  return packet().eth({ src: senderMac, dst: BCAST }).arp({ op: 1, senderMac, senderIp, targetIp }).build();
}

/** Both neighbours make themselves known (an ARP request to us creates their entry), on their own side. */
function neighbours(r: Rig): void {
  r.c.receive(arpRequest(CLIENT_MAC, CLIENT, '10.10.0.1'));
  r.c.receive(arpRequest(ROUTER_MAC, ROUTER, '10.10.0.1'));
  r.s.receive(arpRequest(RS_MAC, RS, '10.10.1.1'));
  r.c.drain();
  r.s.drain();
}

function syn(src = CLIENT, sport = 40000, mac = CLIENT_MAC): Uint8Array {
  return packet().eth({ src: mac, dst: C_MAC }).ipv4({ src, dst: VIP, ttl: 64 }).tcp({ sport, dport: 80, flags: 'S' }).build();
}

t.test('ARP on each side: own addresses and the VIP on the client side only; GARP there', (t) => {
  const r = rig();
  r.d.addService(key);
  const garp = r.c.drain();
  t.equal(garp.length, 1, 'gratuitous ARP for the VIP on the client side');
  t.equal(arpTarget(garp[0]!), VIP);
  t.equal(ethSrc(garp[0]!), C_MAC);
  t.same(r.s.drain(), [], 'none on the server side (the VIP is not on its subnet)');

  const answer = (link: MemoryLink, other: MemoryLink, senderMac: string, senderIp: string, target: string): Uint8Array | undefined => {
    link.receive(arpRequest(senderMac, senderIp, target));
    t.same(other.drain(), [], `nothing on the other side for ${target}`);
    return link.drain()[0];
  };
  for (const target of ['10.10.0.1', VIP]) {
    const rep = answer(r.c, r.s, CLIENT_MAC, CLIENT, target);
    t.ok(rep, `client side answers for ${target}`);
    t.equal(rd16(rep!, 14 + 6), 2, 'an ARP reply');
    t.equal(formatMac(rep!.subarray(14 + 8, 14 + 14)), C_MAC, 'with the client side MAC');
    t.equal(ethDst(rep!), CLIENT_MAC);
  }
  const rep = answer(r.s, r.c, RS_MAC, RS, '10.10.1.1');
  t.ok(rep, 'server side answers for its address');
  t.equal(formatMac(rep!.subarray(14 + 8, 14 + 14)), S_MAC, 'with the server side MAC');
  // the wrong side
  t.notOk(answer(r.s, r.c, RS_MAC, RS, VIP), 'the server side does not answer for the VIP (its subnet is the client side)');
  t.notOk(answer(r.s, r.c, RS_MAC, RS, '10.10.0.1'), 'nor for the client side address');
  t.notOk(answer(r.c, r.s, CLIENT_MAC, CLIENT, '10.10.1.1'), 'the client side does not answer for the server side address');
  // a neighbour on the other side's subnet is not learnt here
  r.c.receive(arpRequest('02:00:00:00:00:99', '10.10.1.99', '10.10.0.1'));
  r.c.drain();
  t.equal(r.d.ifaces[0]!.neighbours.lookup(0x0a0a0163), -1, 'a sender of the server subnet is not learnt on the client side');
  t.equal(r.d.ifaces[1]!.neighbours.lookup(0x0a0a0163), -1);
  t.end();
});

t.test('a VIP on no subnet is answered on the first interface, or where `vips` says', (t) => {
  const far = { protocol: 'udp' as const, addr: '198.51.100.1', port: 53 };
  const r1 = rig();
  r1.d.addService(far);
  t.equal(r1.c.drain().length, 1, 'GARP on the client side');
  t.equal(r1.s.drain().length, 0);
  const cs = [new MemoryLink('tap', 1500)];
  const ss = [new MemoryLink('tap', 1500)];
  const d = new Director({
    interfaces: [
      { name: 'a', links: cs, mac: parseMac(C_MAC), addresses: [{ addr: '10.10.0.1', prefix: 24 }], vips: false },
      { name: 'b', links: ss, mac: parseMac(S_MAC), addresses: [{ addr: '10.10.1.1', prefix: 24 }], vips: true },
    ],
    now: () => 1000,
    timers: false,
  });
  d.start();
  d.addService(far);
  t.equal(cs[0]!.drain().length, 0);
  t.equal(ss[0]!.drain().length, 1, 'GARP where vips: true');
  ss[0]!.receive(arpRequest(RS_MAC, RS, far.addr));
  t.equal(ss[0]!.drain().length, 1, 'answered there');
  t.end();
});

t.test('NAT across the interfaces: in on the client side, out on the server side, replies back', (t) => {
  const r = rig();
  r.d.addService(key);
  r.d.addDest(key, { addr: RS, port: 8080, method: 'masq' });
  r.c.drain();
  r.c.receive(syn());
  t.same(r.c.drain(), [], 'nothing back on the client side yet');
  const [req] = r.s.drain();
  t.equal(ethType(req!), 0x0806, 'ARP request for the real server on the server side');
  t.equal(arpTarget(req!), RS);
  t.equal(arpSender(req!), '10.10.1.1', 'from the server side address');
  t.equal(ethSrc(req!), S_MAC, 'and MAC');
  r.s.receive(packet().eth({ src: RS_MAC, dst: S_MAC }).arp({ op: 2, senderMac: RS_MAC, senderIp: RS, targetMac: S_MAC, targetIp: '10.10.1.1' }).build());
  const [fwd] = r.s.drain();
  t.ok(fwd, 'the queued SYN leaves on the server side once resolved');
  t.equal(ethDst(fwd!), RS_MAC);
  t.equal(ethSrc(fwd!), S_MAC);
  t.equal(ipDst(fwd!), RS);
  t.equal(rd16(fwd!, 14 + 20 + 2), 8080, 'port rewritten');
  // the client is learnt from its ARP request on the client side; the reply goes back there
  r.c.receive(arpRequest(CLIENT_MAC, CLIENT, VIP));
  r.c.drain();
  r.s.receive(packet().eth({ src: RS_MAC, dst: S_MAC }).ipv4({ src: RS, dst: CLIENT }).tcp({ sport: 8080, dport: 40000, flags: 'SA' }).build());
  t.same(r.s.drain(), [], 'the reply does not go back out on the server side');
  const [back] = r.c.drain();
  t.ok(back, 'the reply leaves on the client side');
  t.equal(ethSrc(back!), C_MAC);
  t.equal(ethDst(back!), CLIENT_MAC);
  t.equal(ipSrc(back!), VIP, 'from the VIP');
  t.equal(rd16(back!, 14 + 20), 80);
  // one batch on the client side whose packets leave by both interfaces: a segment of
  // the flow (server side) and a ping of the VIP (client side), in place from one slab
  r.c.receive(
    packet().eth({ src: CLIENT_MAC, dst: C_MAC }).ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'A' }).build(),
    packet().eth({ src: CLIENT_MAC, dst: C_MAC }).ipv4({ src: CLIENT, dst: VIP }).icmp({ type: 8, code: 0, id: 1, seq: 1 }).build(),
  );
  const [ack] = r.s.drain();
  t.equal(ipDst(ack!), RS, 'the ACK to the real server');
  const [echo] = r.c.drain();
  t.equal(echo![14 + 20], 0, 'the echo reply to the client');
  t.equal(ipSrc(echo!), VIP);
  t.end();
});

t.test('NAT and UDP for a client behind the client side router; the router resolved on its side', (t) => {
  const r = rig();
  const u = { protocol: 'udp' as const, addr: VIP, port: 53 };
  r.d.addService(u);
  r.d.addDest(u, { addr: RS, port: 53, method: 'masq' });
  neighbours(r);
  r.c.receive(packet().eth({ src: ROUTER_MAC, dst: C_MAC }).ipv4({ src: FAR_CLIENT, dst: VIP, ttl: 60 }).udp({ sport: 5353, dport: 53 }).payload('q').build());
  const [q] = r.s.drain();
  t.equal(ipDst(q!), RS);
  t.equal(q![14 + 8], 59, 'TTL decremented');
  r.s.receive(packet().eth({ src: RS_MAC, dst: S_MAC }).ipv4({ src: RS, dst: FAR_CLIENT }).udp({ sport: 53, dport: 5353 }).payload('a').build());
  const [a] = r.c.drain();
  t.equal(ethDst(a!), ROUTER_MAC, 'to the client side gateway');
  t.equal(ipSrc(a!), VIP);
  t.equal(ipDst(a!), FAR_CLIENT);
  t.end();
});

t.test('DR across the interfaces: to the real server\'s MAC on the server side, the VIP kept', (t) => {
  const r = rig();
  r.d.addService(key);
  r.d.addDest(key, { addr: RS, port: 80, method: 'route' });
  neighbours(r);
  r.c.receive(syn());
  const [out] = r.s.drain();
  t.equal(ethDst(out!), RS_MAC);
  t.equal(ethSrc(out!), S_MAC);
  t.equal(ipDst(out!), VIP, 'IP destination still the VIP');
  t.equal(out![14 + 8], 63);
  t.same(r.c.drain(), []);
  t.end();
});

t.test('IPIP across the interfaces: outer source is the server side address', (t) => {
  const r = rig();
  r.d.addService(key);
  r.d.addDest(key, { addr: RS, port: 80, method: 'tunnel' });
  neighbours(r);
  r.c.receive(syn(FAR_CLIENT, 41000, ROUTER_MAC));
  const [o] = r.s.drain();
  t.equal(ethDst(o!), RS_MAC);
  t.equal(o![14 + 9], 4, 'protocol IPIP');
  t.equal(ipSrc(o!), '10.10.1.1', 'outer source: our address toward the real server');
  t.equal(ipDst(o!), RS);
  t.equal(ipDst(o!, 34), VIP, 'inner destination the VIP');
  t.equal(ipSrc(o!, 34), FAR_CLIENT);
  t.same(r.c.drain(), []);
  // an ICMP error to the client (frag needed for a DF packet too big for the tunnel) leaves on the client side
  r.c.receive(packet().eth({ src: ROUTER_MAC, dst: C_MAC }).ipv4({ src: FAR_CLIENT, dst: VIP, df: true }).tcp({ sport: 41000, dport: 80, flags: 'A' }).payload(new Uint8Array(1460)).build());
  t.same(r.s.drain(), []);
  const [icmp] = r.c.drain();
  t.equal(ethDst(icmp!), ROUTER_MAC, 'via the router on the client side');
  t.equal(icmp![14 + 20], 3);
  t.equal(icmp![14 + 21], 4, 'fragmentation needed');
  t.equal(rd16(icmp!, 14 + 20 + 6), 1480);
  t.end();
});

t.test('a frame that arrives on the wrong side', (t) => {
  const r = rig();
  r.d.addService(key);
  r.d.addDest(key, { addr: RS, port: 8080, method: 'masq' });
  neighbours(r);
  // to the server side's MAC but on the client side's wire: not ours there
  const before = r.d.counters.notForUs;
  r.c.receive(packet().eth({ src: CLIENT_MAC, dst: S_MAC }).ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40001, dport: 80, flags: 'S' }).build());
  t.equal(r.d.counters.notForUs, before + 1, 'counted notForUs');
  t.same(r.s.drain(), []);
  t.same(r.c.drain(), []);
  // and a client side frame on the server side, to the client side's MAC
  r.s.receive(packet().eth({ src: RS_MAC, dst: C_MAC }).ipv4({ src: RS, dst: CLIENT }).tcp({ sport: 8080, dport: 40001, flags: 'SA' }).build());
  t.equal(r.d.counters.notForUs, before + 2);
  t.same(r.c.drain(), []);
  t.end();
});

t.test('queue i of each interface transmits for queue i of the other', (t) => {
  const r = rig({}, 2);
  r.d.addService(key);
  r.d.addDest(key, { addr: RS, port: 80, method: 'tunnel' });
  neighbours(r);
  for (const l of [...r.cs, ...r.ss]) l.drain();
  r.cs[1]!.receive(syn());
  t.equal(r.ss[1]!.drain().length, 1, 'built on queue 1 of the client side, sent on queue 1 of the server side');
  t.equal(r.ss[0]!.drain().length, 0);
  t.end();
});

t.test('the interfaces option refuses what does not combine, naming it', (t) => {
  const mac = parseMac(C_MAC);
  const tap = (): Link => new MemoryLink('tap', 1500);
  t.throws(() => new Director({ links: [tap()], interfaces: [{ name: 'a', links: [tap()], mac }] }), /links belong inside each interface/);
  t.throws(() => new Director({ interfaces: [{ name: 'a', links: [new MemoryLink('tun', 1500, 'tun0')], mac }] }), /link tun0 is a TUN device/);
  t.throws(() => new Director({ interfaces: [{ name: 'a', links: [tap()], mac }, { name: 'a', links: [tap()], mac }] }), /'a' is given twice/);
  t.throws(() => new Director({ interfaces: [{ name: 'a', links: [tap()], mac }, { name: 'b', links: [tap(), tap()], mac }] }), /every interface needs as many queues/);
  t.throws(() => new Director({ interfaces: [{ name: 'a', links: [tap()], mac: new Uint8Array(3) }] }), /needs its MAC/);
  const r = rig();
  t.throws(() => r.d.addAddress({ addr: '10.10.2.1', prefix: 24 }, 'nope'), /no interface 'nope'/);
  r.d.addAddress({ addr: '10.10.2.1', prefix: 24 }, 'server');
  r.s.receive(arpRequest('02:00:00:00:02:22', '10.10.2.22', '10.10.2.1'));
  t.equal(r.s.drain().length, 1, 'an address added on the server side is answered there');
  t.end();
});

t.test('one interface given with `interfaces` behaves as the links form', (t) => {
  const link = new MemoryLink('tap', 1500);
  const d = new Director({ interfaces: [{ name: 'only', links: [link], mac: parseMac(C_MAC), addresses: [{ addr: '10.10.0.1', prefix: 24 }, { addr: '10.10.1.1', prefix: 24 }] }], now: () => 1000, timers: false });
  d.start();
  d.addService(key);
  d.addDest(key, { addr: RS, port: 8080, method: 'masq' });
  link.receive(arpRequest(RS_MAC, RS, '10.10.1.1'), arpRequest(CLIENT_MAC, CLIENT, '10.10.0.1'));
  link.drain();
  link.receive(syn());
  const [fwd] = link.drain();
  t.equal(ethDst(fwd!), RS_MAC);
  t.equal(d.stats()['neigh.requestsSent'] ?? 0, 0);
  t.end();
});
