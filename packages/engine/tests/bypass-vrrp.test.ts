import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { packet, parseMac, formatMac, rd16, rd32 } from '@tunvs/packet';
import { Director } from '../src/index.js';

// VRRP's gate on a Director over a kernel-bypass link (AF_XDP / AF_PACKET): Ethernet frames
// with no vnet header, the Director doing ARP itself. A VIP held by a backup instance is
// neither answered (ARP, ping) nor forwarded as the Director's own; held by a master it is.

const MAC = parseMac('02:00:00:00:00:01');
const MASTER_MAC = '02:00:00:00:00:02';
const CLIENT_MAC = '02:00:00:00:00:50';
const RS_MAC = '02:00:00:00:00:30';
const VIP = '10.10.0.100';

function bypassDirector(): { d: Director; link: MemoryLink } {
  // what @tunvs/xdp's links are to the engine: layer 2, vnetHdrLen 0
  const link = new MemoryLink('tap', 1500, 'xd0', 0);
  const d = new Director({ links: [link], mac: MAC, addresses: [{ addr: '10.10.0.1', prefix: 24 }], now: () => 1000, timers: false });
  d.start();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService(key);
  d.addDest(key, { addr: '10.10.0.30', port: 80, method: 'route' });
  link.drain();
  return { d, link };
}

const whoHas = (target: string): Uint8Array =>
  packet().eth({ src: CLIENT_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: CLIENT_MAC, senderIp: '10.10.0.50', targetIp: target }).build();
const syn = (sport: number): Uint8Array =>
  packet().eth({ src: CLIENT_MAC, dst: formatMac(MAC) }).ipv4({ src: '10.10.0.50', dst: VIP }).tcp({ sport, dport: 80, flags: 'S' }).build();

t.test('backup: the VIP is silent and its traffic is not forwarded; master: answered, forwarded, announced', (t) => {
  const { d, link } = bypassDirector();
  // the service announced its VIP at once (before VRRP held it): what tunvsd avoids by
  // silencing the instance's VIPs before the services are applied
  d.setAddressActive(VIP, false);
  link.receive(whoHas(VIP));
  t.equal(link.drain().length, 0, 'no ARP reply as backup');
  const conns = d.conns.size;
  link.receive(syn(40000));
  t.equal(link.drain().length, 0, 'a SYN to the standby VIP (stale ARP of the client) is not forwarded');
  t.equal(d.conns.size, conns, 'no connection created');
  t.equal(d.counters.vrrpBackup, 1, 'counted as the backup\'s');
  t.equal(d.stats()['vrrpBackup'], 1, 'in the Director\'s stats');
  // the master's gratuitous ARP: the VIP is never learnt as a neighbour
  link.receive(packet().eth({ src: MASTER_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: MASTER_MAC, senderIp: VIP, targetIp: VIP }).build());
  t.equal(d.neighbours!.lookup(rd32(Uint8Array.of(10, 10, 0, 100), 0) >>> 0), -1, 'the master\'s VIP is not a neighbour');
  t.equal(link.drain().length, 0);

  // becomes master: answers ARP with its MAC, forwards to the real server
  d.setAddressActive(VIP, true);
  link.receive(whoHas(VIP));
  const [r] = link.drain();
  t.equal(rd16(r!, 12), 0x0806, 'an ARP reply');
  t.equal(rd16(r!, 14 + 6), 2);
  t.equal(formatMac(r!.subarray(14 + 8, 14 + 14)), formatMac(MAC), 'with the Director\'s MAC');
  link.receive(syn(40001));
  const [req] = link.drain();
  t.equal(rd16(req!, 12), 0x0806, 'the real server is asked for first');
  link.receive(packet().eth({ src: RS_MAC, dst: formatMac(MAC) }).arp({ op: 2, senderMac: RS_MAC, senderIp: '10.10.0.30', targetMac: formatMac(MAC), targetIp: '10.10.0.1' }).build());
  const [f] = link.drain();
  t.ok(f, 'the SYN is forwarded');
  t.equal(formatMac(f!.subarray(0, 6)), RS_MAC, 'to the real server (DR)');
  t.equal(d.counters.vrrpBackup, 1, 'not counted as the backup\'s');

  // back to backup: the connection of the master time is not served any more either
  d.setAddressActive(VIP, false);
  link.receive(packet().eth({ src: CLIENT_MAC, dst: formatMac(MAC) }).ipv4({ src: '10.10.0.50', dst: VIP }).tcp({ sport: 40001, dport: 80, flags: 'A' }).build());
  t.equal(link.drain().length, 0, 'an established flow\'s packet is not forwarded by the backup');
  t.equal(d.counters.vrrpBackup, 2);
  // released (no instance holds it): a service VIP is the Director's own again
  d.releaseAddress(VIP);
  link.receive(whoHas(VIP));
  t.equal(link.drain().length, 1, 'answered again once released');
  t.end();
});

t.test('the VRRP hooks work on the bypass link: gratuitous ARP and adverts from the Director', (t) => {
  const { d, link } = bypassDirector();
  const got: Uint8Array[] = [];
  d.onLocalProtocol(112, (dg) => got.push(dg));
  link.receive(packet().eth({ src: MASTER_MAC, dst: '01:00:5e:00:00:12' }).ipv4({ src: '10.10.0.2', dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(Uint8Array.of(0x21, 1, 100, 1, 0, 1, 0, 0, 10, 10, 0, 100)).build());
  t.equal(got.length, 1, 'a multicast advert reaches the handler');
  const advert = packet().ipv4({ src: '10.10.0.1', dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(new Uint8Array(12)).build();
  t.ok(d.sendDatagram(advert));
  const [a] = link.drain();
  t.equal(formatMac(a!.subarray(0, 6)), '01:00:5e:00:00:12', 'our advert to the group MAC');
  t.equal(formatMac(a!.subarray(6, 12)), formatMac(MAC));
  const garp = new Uint8Array(42);
  garp.set(parseMac('ff:ff:ff:ff:ff:ff'), 0);
  garp.set(MAC, 6);
  d.sendFrame(garp);
  t.same([...link.drain()[0]!], [...garp], 'a frame (gratuitous ARP) leaves as given, no vnet header');
  t.end();
});
