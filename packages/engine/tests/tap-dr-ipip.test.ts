import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { packet, parseMac, formatMac, rd16, rd32, Ipv4Field } from '@tunvs/packet';
import { Director } from '../src/index.js';

const MAC = parseMac('02:00:00:00:00:01');
const CLIENT_MAC = '02:00:00:00:00:02';
const RS_MAC = '02:00:00:00:00:11';
const VIP = '10.10.0.100';

function tapDirector(): { d: Director; link: MemoryLink; clock: { now: number } } {
  const link = new MemoryLink('tap', 1500);
  const clock = { now: 5_000_000 };
  const d = new Director({ links: [link], mac: MAC, addresses: [{ addr: '10.10.0.1', prefix: 24 }], now: () => clock.now, timers: false });
  d.start();
  return { d, link, clock };
}

const ethDst = (f: Uint8Array): string => formatMac(f.subarray(0, 6));
const ethType = (f: Uint8Array): number => rd16(f, 12);

t.test('TAP: answers ARP for its address and the VIP, announces the VIP', (t) => {
  const { d, link } = tapDirector();
  d.addService({ protocol: 'tcp', addr: VIP, port: 80 });
  const garp = link.drain();
  t.equal(garp.length, 1, 'gratuitous ARP for the new VIP');
  t.equal(ethType(garp[0]!), 0x0806);
  t.equal(rd32(garp[0]!, 14 + 24) >>> 0, 0x0a0a0064);
  for (const target of ['10.10.0.1', VIP]) {
    link.receive(packet().eth({ src: CLIENT_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: CLIENT_MAC, senderIp: '10.10.0.2', targetIp: target }).build());
    const [reply] = link.drain();
    t.ok(reply, `reply for ${target}`);
    t.equal(rd16(reply!, 14 + 6), 2, 'ARP reply');
    t.equal(formatMac(reply!.subarray(14 + 8, 14 + 14)), '02:00:00:00:00:01');
    t.equal(ethDst(reply!), CLIENT_MAC);
  }
  link.receive(packet().eth({ src: CLIENT_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: CLIENT_MAC, senderIp: '10.10.0.2', targetIp: '10.10.0.77' }).build());
  t.equal(link.drain().length, 0, 'no reply for an address we do not own');
  t.end();
});

t.test('TAP DR: resolves the real server by ARP, then rewrites only the MAC', (t) => {
  const { d, link } = tapDirector();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService(key);
  d.addDest(key, { addr: '10.10.0.11', port: 80, method: 'route' });
  link.drain();
  const syn = packet().eth({ src: CLIENT_MAC, dst: '02:00:00:00:00:01' }).ipv4({ src: '10.10.0.2', dst: VIP, ttl: 64 }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build();
  link.receive(syn);
  const [req] = link.drain();
  t.equal(ethType(req!), 0x0806, 'ARP request for the real server first');
  t.equal(rd32(req!, 14 + 24) >>> 0, 0x0a0a000b);
  // the real server answers; the queued SYN goes out
  link.receive(packet().eth({ src: RS_MAC, dst: '02:00:00:00:00:01' }).arp({ op: 2, senderMac: RS_MAC, senderIp: '10.10.0.11', targetMac: '02:00:00:00:00:01', targetIp: '10.10.0.1' }).build());
  const [out] = link.drain();
  t.ok(out, 'queued packet sent after resolution');
  t.equal(ethDst(out!), RS_MAC);
  t.equal(rd32(out!, 14 + Ipv4Field.DST) >>> 0, 0x0a0a0064, 'IP destination still the VIP');
  t.equal(out![14 + Ipv4Field.TTL], 63);
  // next packet goes straight out
  link.receive(packet().eth({ src: CLIENT_MAC, dst: '02:00:00:00:00:01' }).ipv4({ src: '10.10.0.2', dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'A' }).build());
  const [ack] = link.drain();
  t.equal(ethDst(ack!), RS_MAC);
  t.end();
});

t.test('TUN IPIP: outer header as the kernel writes it, DF too big -> frag needed', (t) => {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], sourceAddress: '10.10.1.1', timers: false, now: () => 1000 });
  d.start();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: '10.10.1.11', port: 80, method: 'tunnel' });
  link.receive(packet().ipv4({ src: '10.10.0.2', dst: VIP, ttl: 64, tos: 0x0b, df: true }).tcp({ sport: 1000, dport: 80, flags: 'S' }).build());
  const [o] = link.drain();
  t.equal(o![0], 0x45);
  t.equal(o![9], 4, 'protocol IPIP');
  t.equal(rd32(o!, 12) >>> 0, 0x0a0a0101, 'outer source = director');
  t.equal(rd32(o!, 16) >>> 0, 0x0a0a010b, 'outer destination = real server');
  t.equal(o![1], 0x0a, 'TOS: DSCP copied, CE became ECT(0)');
  t.equal(rd16(o!, 6), 0x4000, 'DF copied');
  t.equal(rd16(o!, 4), 0, 'ID 0 with DF');
  t.equal(o![8], 63, 'outer TTL = inner TTL after decrement');
  t.equal(o![20 + 8], 63, 'inner TTL decremented');
  t.equal(rd32(o!, 20 + 16) >>> 0, 0x0a0a0064, 'inner destination still the VIP');
  // a DF packet that would not fit with the 20-byte outer header
  const big = packet().ipv4({ src: '10.10.0.2', dst: VIP, df: true }).tcp({ sport: 1000, dport: 80, flags: 'A' }).payload(new Uint8Array(1500 - 40)).build();
  link.receive(big);
  const [icmp] = link.drain();
  t.equal(icmp![9], 1);
  t.equal(icmp![20], 3);
  t.equal(icmp![21], 4, 'fragmentation needed');
  t.equal(rd16(icmp!, 20 + 6), 1480, 'next-hop MTU = 1500 - 20');
  t.equal(d.counters.fragNeeded, 1);
  t.end();
});

t.test('persistence: the same client goes to the same server; templates listed', (t) => {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], timers: false, now: () => 1000 });
  d.start();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService({ ...key, scheduler: 'rr', persistent: 300 });
  for (const a of ['10.10.1.11', '10.10.1.12', '10.10.1.13']) d.addDest(key, { addr: a, port: 80, method: 'masq' });
  const seen = new Set<number>();
  for (let i = 0; i < 10; i++) {
    link.receive(packet().ipv4({ src: '10.10.0.2', dst: VIP }).tcp({ sport: 3000 + i, dport: 80, flags: 'S' }).build());
    seen.add(rd32(link.drain()[0]!, 16));
  }
  t.equal(seen.size, 1, 'one real server for one client');
  const tmpl = d.listConnections().filter((c) => c.template);
  t.equal(tmpl.length, 1);
  t.equal(tmpl[0]!.state, 'NONE');
  t.equal(d.listServices()[0]!.dests.reduce((n, x) => n + x.persistConns, 0), 1);
  t.end();
});

t.test('TAP NAT: the director is the gateway of both subnets', (t) => {
  const link = new MemoryLink('tap', 1500);
  const d = new Director({
    links: [link],
    mac: MAC,
    addresses: [{ addr: '10.10.0.1', prefix: 24 }, { addr: '10.10.1.1', prefix: 24 }],
    timers: false,
    now: () => 1000,
  });
  d.start();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService(key);
  d.addDest(key, { addr: '10.10.1.11', port: 8080, method: 'masq' });
  // both neighbours announce themselves
  link.receive(packet().eth({ src: RS_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: RS_MAC, senderIp: '10.10.1.11', targetIp: '10.10.1.1' }).build());
  link.receive(packet().eth({ src: CLIENT_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: CLIENT_MAC, senderIp: '10.10.0.2', targetIp: '10.10.0.1' }).build());
  link.drain();
  link.receive(packet().eth({ src: CLIENT_MAC, dst: '02:00:00:00:00:01' }).ipv4({ src: '10.10.0.2', dst: VIP }).tcp({ sport: 1111, dport: 80, flags: 'S' }).build());
  const [fwd] = link.drain();
  t.equal(ethDst(fwd!), RS_MAC, 'to the real server on its subnet');
  t.equal(rd32(fwd!, 14 + 16) >>> 0, 0x0a0a010b);
  t.equal(rd16(fwd!, 14 + 20 + 2), 8080);
  link.receive(packet().eth({ src: RS_MAC, dst: '02:00:00:00:00:01' }).ipv4({ src: '10.10.1.11', dst: '10.10.0.2' }).tcp({ sport: 8080, dport: 1111, flags: 'SA' }).build());
  const [back] = link.drain();
  t.equal(ethDst(back!), CLIENT_MAC, 'reply to the client');
  t.equal(rd32(back!, 14 + 12) >>> 0, 0x0a0a0064, 'source = VIP');
  t.equal(rd16(back!, 14 + 20), 80);
  t.end();
});
