import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { packet, parseMac, formatMac, rd16, rd32, Ipv4Field } from '@tunvs/packet';
import { Director } from '../src/index.js';

// The hooks a VRRP instance uses on a TAP director: held addresses, a local protocol,
// datagrams and frames the director originates.

const MAC = parseMac('02:00:00:00:00:01');
const PEER_MAC = '02:00:00:00:00:09';
const VIP = '10.10.0.100';
const GW = '10.10.0.254';

function tapDirector(): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tap', 1500);
  const d = new Director({ links: [link], mac: MAC, addresses: [{ addr: '10.10.0.1', prefix: 24 }], now: () => 1000, timers: false });
  d.start();
  return { d, link };
}

const arpWhoHas = (target: string): Uint8Array =>
  packet().eth({ src: PEER_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: PEER_MAC, senderIp: '10.10.0.2', targetIp: target }).build();

const vrrpFrame = (dstMac: string, dst: string, ttl = 255): Uint8Array =>
  packet().eth({ src: PEER_MAC, dst: dstMac }).ipv4({ src: '10.10.0.2', dst, ttl, protocol: 112 }).payload(Uint8Array.of(0x21, 1, 100, 1, 0, 1, 0, 0, 10, 10, 0, 100)).build();

t.test('a standby address is neither answered nor announced; active it is, also without a service', (t) => {
  const { d, link } = tapDirector();
  d.setAddressActive(VIP, false);
  d.setAddressActive(GW, false);
  d.addService({ protocol: 'tcp', addr: VIP, port: 80 });
  t.equal(link.drain().length, 0, 'no gratuitous ARP for a standby VIP');
  for (const a of [VIP, GW]) {
    link.receive(arpWhoHas(a));
    t.equal(link.drain().length, 0, `no ARP reply for standby ${a}`);
  }
  link.receive(packet().eth({ src: PEER_MAC, dst: formatMac(MAC) }).ipv4({ src: '10.10.0.2', dst: VIP }).icmp({ type: 8, code: 0, id: 1, seq: 1 }).build());
  t.equal(link.drain().length, 0, 'no echo reply for a standby VIP');
  d.setAddressActive(VIP, true);
  d.setAddressActive(GW, true);
  for (const a of [VIP, GW]) {
    link.receive(arpWhoHas(a));
    const [r] = link.drain();
    t.ok(r, `ARP reply for active ${a}`);
    t.equal(rd16(r!, 14 + 6), 2);
    t.equal(formatMac(r!.subarray(14 + 8, 14 + 14)), '02:00:00:00:00:01');
  }
  d.releaseAddress(GW);
  link.receive(arpWhoHas(GW));
  t.equal(link.drain().length, 0, 'a released address that is not ours is not answered');
  t.end();
});

t.test('a local protocol receives multicast and unicast datagrams from the IP header', (t) => {
  const { d, link } = tapDirector();
  const got: Uint8Array[] = [];
  link.receive(vrrpFrame('01:00:5e:00:00:12', '224.0.0.18'));
  t.equal(d.counters.notForUs, 1, 'without a handler a multicast frame is not ours');
  d.onLocalProtocol(112, (dg) => got.push(dg));
  link.receive(vrrpFrame('01:00:5e:00:00:12', '224.0.0.18'));
  link.receive(vrrpFrame(formatMac(MAC), '10.10.0.1', 254));
  link.receive(vrrpFrame('01:00:5e:00:00:13', '224.0.0.19'));
  t.equal(got.length, 3);
  t.equal(got[0]![Ipv4Field.TTL], 255, 'TTL as received');
  t.equal(got[1]![Ipv4Field.TTL], 254);
  t.equal(got[0]![20], 0x21, 'the VRRP header follows the IP header');
  t.equal(got[0]!.length, 32);
  const before = d.counters.notForUs;
  link.receive(packet().eth({ src: PEER_MAC, dst: '01:00:5e:00:00:12' }).ipv4({ src: '10.10.0.2', dst: '224.0.0.18' }).udp({ sport: 1, dport: 2 }).build());
  t.equal(d.counters.notForUs, before + 1, 'multicast of another protocol is not ours');
  d.onLocalProtocol(112, null);
  link.receive(vrrpFrame(formatMac(MAC), '10.10.0.1'));
  t.equal(got.length, 3, 'handler removed');
  t.equal(d.counters.unsupportedProto, 1);
  t.end();
});

t.test('sendDatagram: multicast MAC for a group, ARP first for an unresolved unicast next hop', (t) => {
  const { d, link } = tapDirector();
  const dg = packet().ipv4({ src: '10.10.0.1', dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(new Uint8Array(12)).build();
  t.ok(d.sendDatagram(dg));
  const [m] = link.drain();
  t.equal(formatMac(m!.subarray(0, 6)), '01:00:5e:00:00:12');
  t.equal(formatMac(m!.subarray(6, 12)), '02:00:00:00:00:01');
  t.equal(rd16(m!, 12), 0x0800);
  t.same([...m!.subarray(14)], [...dg], 'datagram unchanged');
  const uni = packet().ipv4({ src: '10.10.0.1', dst: '10.10.0.2', ttl: 255, protocol: 112 }).payload(new Uint8Array(12)).build();
  t.notOk(d.sendDatagram(uni), 'not resolved yet');
  const [req] = link.drain();
  t.equal(rd16(req!, 12), 0x0806, 'ARP request instead');
  t.equal(rd32(req!, 14 + 24) >>> 0, 0x0a0a0002);
  link.receive(packet().eth({ src: PEER_MAC, dst: formatMac(MAC) }).arp({ op: 2, senderMac: PEER_MAC, senderIp: '10.10.0.2', targetMac: formatMac(MAC), targetIp: '10.10.0.1' }).build());
  link.drain();
  t.ok(d.sendDatagram(uni));
  const [u] = link.drain();
  t.equal(formatMac(u!.subarray(0, 6)), PEER_MAC);
  const off = packet().ipv4({ src: '10.10.0.1', dst: '192.0.2.1', protocol: 112 }).payload(new Uint8Array(12)).build();
  t.notOk(d.sendDatagram(off), 'no route off the segment without a gateway');
  const frame = new Uint8Array(42).fill(7);
  d.sendFrame(frame);
  t.same([...link.drain()[0]!], [...frame], 'a frame goes out as given');
  t.end();
});

t.test('a packet held for ARP leaves with the director MAC as source (DR, bridges learn from it)', (t) => {
  const { d, link } = tapDirector();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService(key);
  d.addDest(key, { addr: '10.10.0.30', port: 80, method: 'route' });
  link.drain();
  link.receive(packet().eth({ src: '02:00:00:00:00:50', dst: formatMac(MAC) }).ipv4({ src: '10.10.0.50', dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build());
  t.equal(rd16(link.drain()[0]!, 12), 0x0806, 'ARP request first');
  link.receive(packet().eth({ src: PEER_MAC, dst: formatMac(MAC) }).arp({ op: 2, senderMac: PEER_MAC, senderIp: '10.10.0.30', targetMac: formatMac(MAC), targetIp: '10.10.0.1' }).build());
  const [syn] = link.drain();
  t.equal(formatMac(syn!.subarray(0, 6)), PEER_MAC, 'to the real server');
  t.equal(formatMac(syn!.subarray(6, 12)), formatMac(MAC), 'from the director, not the client');
  t.equal(rd16(syn!, 12), 0x0800);
  t.end();
});

t.test('a datagram sent from a local handler leaves with the batch being handled', (t) => {
  const { d, link } = tapDirector();
  const reply = packet().ipv4({ src: '10.10.0.1', dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(new Uint8Array(12)).build();
  let sent = 0;
  d.onLocalProtocol(112, () => {
    t.ok(d.sendDatagram(reply));
    sent++;
    t.equal(link.drain().length, 0, 'not written before the batch ends');
  });
  const tx = d.counters.txPackets;
  link.receive(vrrpFrame('01:00:5e:00:00:12', '224.0.0.18'));
  t.equal(sent, 1);
  const out = link.drain();
  t.equal(out.length, 1, 'written with the batch');
  t.same([...out[0]!.subarray(14)], [...reply]);
  t.equal(d.counters.txPackets, tx + 1, 'counted once');
  t.end();
});

t.test('a standby address is not learnt as a neighbour from the master\'s ARP', (t) => {
  const { d, link } = tapDirector();
  d.setAddressActive(VIP, false);
  link.receive(packet().eth({ src: PEER_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: PEER_MAC, senderIp: VIP, targetIp: VIP }).build());
  t.equal(d.neighbours!.lookup(0x0a0a0064), -1, 'the VIP is ours to take over, not a neighbour');
  t.equal(link.drain().length, 0);
  t.end();
});

t.test('the hooks are TAP-only', (t) => {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], timers: false });
  t.throws(() => d.sendFrame(new Uint8Array(42)));
  t.throws(() => d.sendDatagram(new Uint8Array(20)));
  t.end();
});
