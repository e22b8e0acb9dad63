import t from 'tap';
import { packet, rd16, pseudoHeaderSum, csumPartial, Ipv4Field } from '@tunvs/packet';
import { tunDirector, ip, VIP, CLIENT, RS } from './helpers.js';

/** Verify the TCP/UDP checksum of a TUN packet. */
function l4Ok(p: Uint8Array): boolean {
  const hl = (p[0]! & 15) * 4;
  const total = rd16(p, Ipv4Field.TOTAL_LEN);
  const src = (p[12]! << 24 | p[13]! << 16 | p[14]! << 8 | p[15]!) >>> 0;
  const dst = (p[16]! << 24 | p[17]! << 16 | p[18]! << 8 | p[19]!) >>> 0;
  return csumPartial(p, hl, total - hl, pseudoHeaderSum(src, dst, p[9]!, total - hl)) === 0xffff;
}

t.test('NAT over TUN: SYN rewritten to the real server, reply rewritten to the VIP', (t) => {
  const { d, link } = tunDirector();
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr' });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: RS[0]!, port: 8080, method: 'masq' });
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP, ttl: 64 }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build());
  const [syn] = link.drain();
  t.ok(syn, 'the SYN was forwarded');
  const h = ip(syn!);
  t.equal(h.dst, RS[0]);
  t.equal(h.dport, 8080);
  t.equal(h.src, CLIENT);
  t.equal(h.ttl, 63, 'TTL decremented once');
  t.ok(h.csumOk, 'IP checksum');
  t.ok(l4Ok(syn!), 'TCP checksum');
  // reply from the real server
  link.receive(packet().ipv4({ src: RS[0]!, dst: CLIENT }).tcp({ sport: 8080, dport: 40000, flags: 'SA' }).build());
  const [synack] = link.drain();
  const r = ip(synack!);
  t.equal(r.src, VIP);
  t.equal(r.sport, 80);
  t.ok(r.csumOk);
  t.ok(l4Ok(synack!));
  const svc = d.listServices()[0]!;
  t.equal(svc.stats.conns, 1);
  t.equal(svc.stats.inPkts, 1);
  t.equal(svc.stats.outPkts, 1);
  t.equal(svc.dests[0]!.activeConns, 1);
  const conns = d.listConnections();
  t.equal(conns.length, 1);
  t.equal(conns[0]!.state, 'SYN_RECV');
  t.end();
});

t.test('UDP NAT keeps a zero checksum zero, and counts inactive', (t) => {
  const { d, link } = tunDirector();
  d.addService({ protocol: 'udp', addr: VIP, port: 53, scheduler: 'rr' });
  d.addDest({ protocol: 'udp', addr: VIP, port: 53 }, { addr: RS[1]!, port: 53, method: 'masq' });
  const p = packet().ipv4({ src: CLIENT, dst: VIP }).udp({ sport: 5000, dport: 53, checksum: 0 }).payload('hello').build();
  link.receive(p);
  const [out] = link.drain();
  t.equal(ip(out!).dst, RS[1]);
  t.equal(rd16(out!, 20 + 6), 0, 'UDP checksum stays 0');
  t.equal(d.listServices()[0]!.dests[0]!.inactConns, 1);
  t.end();
});

t.test('wrr 3:2:1 distribution over 600 connections', (t) => {
  const { d, link } = tunDirector();
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'wrr' });
  RS.forEach((a, i) => d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: a, port: 80, method: 'masq', weight: 3 - i }));
  const counts = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 10000 + i, dport: 80, flags: 'S' }).build());
    for (const o of link.drain()) counts.set(ip(o).dst, (counts.get(ip(o).dst) ?? 0) + 1);
  }
  t.same([counts.get(RS[0]!), counts.get(RS[1]!), counts.get(RS[2]!)], [300, 200, 100]);
  t.end();
});

t.test('no destination: ICMP port unreachable to the client', (t) => {
  const { d, link } = tunDirector();
  d.addService({ protocol: 'tcp', addr: VIP, port: 80 });
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1234, dport: 80, flags: 'S' }).build());
  const [icmp] = link.drain();
  t.ok(icmp);
  const h = ip(icmp!);
  t.equal(h.proto, 1);
  t.equal(h.dst, CLIENT);
  t.equal(icmp![20], 3, 'type 3');
  t.equal(icmp![21], 3, 'code 3');
  t.equal(d.counters.noDest, 1);
  t.end();
});

t.test('a mid-stream segment of an unknown flow is dropped and counted', (t) => {
  const { d, link } = tunDirector();
  d.addService({ protocol: 'tcp', addr: VIP, port: 80 });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: RS[0]!, port: 80, method: 'masq' });
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1234, dport: 80, flags: 'A' }).build());
  t.equal(link.drain().length, 0);
  t.equal(d.counters.notSyn, 1);
  // tcp_conn_schedule: a SYN+ACK may open one (active FTP), a SYN+RST may not
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1235, dport: 80, flags: 'SR' }).build());
  t.equal(link.drain().length, 0, 'SYN+RST dropped');
  t.equal(d.counters.notSyn, 2);
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1236, dport: 80, flags: 'SA' }).build());
  t.equal(link.drain().length, 1, 'SYN+ACK scheduled, as the kernel does');
  t.end();
});

t.test('sloppy_tcp: a mid-stream segment opens a connection (to the persistent server), a RST never does', (t) => {
  const { d, link } = tunDirector();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService({ ...key, scheduler: 'rr', persistent: 300 });
  for (const rs of RS) d.addDest(key, { addr: rs, port: 80, method: 'masq' });
  // the client's first connection makes its template
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1000, dport: 80, flags: 'S' }).build());
  const first = ip(link.drain()[0]!).dst;
  d.sloppyTcp = true;
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1001, dport: 80, flags: 'R' }).build());
  t.equal(link.drain().length, 0, 'a RST of an unknown flow is dropped');
  t.equal(d.counters.notSyn, 1, 'and counted as for a segment without SYN');
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1002, dport: 80, flags: 'PA' }).build());
  const out = link.drain();
  t.equal(out.length, 1, 'the ACK of an unknown flow is forwarded');
  t.equal(ip(out[0]!).dst, first, 'to the real server of the client\'s template');
  const c = [...d.connections()].find((x) => x.clientPort === 1002);
  t.equal(c?.state, 'ESTABLISHED', 'NONE + ACK: ESTABLISHED, as the kernel\'s table');
  d.sloppyTcp = false;
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1003, dport: 80, flags: 'A' }).build());
  t.equal(link.drain().length, 0, 'off again: dropped');
  t.equal(d.counters.notSyn, 2);
  t.end();
});

t.test('weight 0: established connections continue, new ones avoid it', (t) => {
  const { d, link } = tunDirector();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: RS[0]!, port: 80, method: 'masq' });
  d.addDest(key, { addr: RS[1]!, port: 80, method: 'masq' });
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 5000, dport: 80, flags: 'S' }).build());
  const first = ip(link.drain()[0]!).dst;
  d.editDest(key, { addr: first, port: 80, method: 'masq', weight: 0 });
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 5000, dport: 80, flags: 'A' }).build());
  t.equal(ip(link.drain()[0]!).dst, first, 'the established flow still reaches it');
  for (let i = 0; i < 5; i++) {
    link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 6000 + i, dport: 80, flags: 'S' }).build());
    t.not(ip(link.drain()[0]!).dst, first, 'new flows avoid it');
  }
  d.deleteDest(key, { addr: first, port: 80 });
  link.receive(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 5000, dport: 80, flags: 'A' }).build());
  t.equal(link.drain().length, 0, 'removed destination: packets dropped (expire_nodest_conn=0)');
  t.equal(d.counters.destUnavailable, 1);
  t.end();
});
