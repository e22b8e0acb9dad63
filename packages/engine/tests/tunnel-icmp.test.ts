/**
 * ICMP errors about our own tunnel packets (ip_vs_in_icmp's IPIP/UDP/GRE case): a router
 * between the director and a real server quotes the outer packet; the director tells the
 * client, quoting the client's packet, and for fragmentation needed reports the MTU less
 * that tunnel's headers: 20 IPIP, 32 GUE (+8 with the remote checksum option), 24 GRE,
 * 28 GRE with checksum.
 */
import t from 'tap';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import type { DestSpec } from '@tunvs/model';
import { IcmpType, IcmpUnreachCode, Ipv4Field, packet, parseIpv4, rd16, rd32, wr16 } from '@tunvs/packet';
import { CLIENT, VIP, RS } from './helpers.js';

const DIRECTOR = '10.10.1.1';
const ROUTER = '10.10.1.254';
const KEY = { protocol: 'tcp' as const, addr: VIP, port: 80 };

/** A director with one tunnel real server; returns it with the outer packet of a DF segment it tunnelled. */
function tunnelled(tun: Partial<DestSpec>, df = true, mtu = 1500, payload = 1200) {
  const link = new MemoryLink('tun', mtu);
  const d = new Director({ links: [link], now: () => 1_000_000, timers: false, sourceAddress: DIRECTOR });
  d.start();
  d.addService({ ...KEY, scheduler: 'rr' });
  d.addDest(KEY, { addr: RS[0]!, port: 80, method: 'tunnel', ...tun });
  const seg = packet().ipv4({ src: CLIENT, dst: VIP, ttl: 64, df }).tcp({ sport: 40000, dport: 80, flags: 'S' }).payload(new Uint8Array(payload)).build();
  link.receive(seg);
  const [outer] = link.drain();
  return { d, link, outer: outer! };
}

/** Frag-needed from the router to `to` about `quoted` (its first 548 bytes, as Linux quotes). */
function fragNeeded(quoted: Uint8Array, mtu: number, to = DIRECTOR, type: number = IcmpType.DestUnreachable, code: number = IcmpUnreachCode.FragNeeded): Uint8Array {
  return packet().ipv4({ src: ROUTER, dst: to }).icmp({ type, code, mtu }).payload(quoted.subarray(0, 548)).build();
}

/** The ICMP error the director sent: type, code, MTU, from, to, and the quoted packet's addresses. */
function answer(p: Uint8Array | undefined) {
  if (!p) return null;
  const hl = (p[0]! & 15) * 4;
  const q = hl + 8;
  return {
    from: rd32(p, Ipv4Field.SRC), to: rd32(p, Ipv4Field.DST), type: p[hl], code: p[hl + 1], mtu: rd16(p, hl + 6),
    quotedSrc: rd32(p, q + Ipv4Field.SRC), quotedDst: rd32(p, q + Ipv4Field.DST), quotedProto: p[q + Ipv4Field.PROTOCOL],
  };
}

const expected = (mtu: number, code: number = IcmpUnreachCode.FragNeeded) => ({
  from: parseIpv4(VIP), to: parseIpv4(CLIENT), type: IcmpType.DestUnreachable, code, mtu,
  quotedSrc: parseIpv4(CLIENT), quotedDst: parseIpv4(VIP), quotedProto: 6,
});

const cases: [string, Partial<DestSpec>, number, number][] = [
  ['ipip', {}, 4, 20],
  ['gue', { tunType: 'gue', tunPort: 6080 }, 17, 32],
  ['gue --tun-csum', { tunType: 'gue', tunPort: 6080, tunFlags: 'csum' }, 17, 32],
  ['gre', { tunType: 'gre' }, 47, 24],
  ['gre --tun-csum', { tunType: 'gre', tunFlags: 'csum' }, 47, 28],
];

for (const [name, tun, proto, headers] of cases) {
  t.test(`${name}: frag-needed about the outer packet reaches the client, MTU less ${headers}`, (t) => {
    const { d, link, outer } = tunnelled(tun);
    t.equal(outer[Ipv4Field.PROTOCOL], proto, `the outer packet is protocol ${proto}`);
    link.receive(fragNeeded(outer, 1400));
    const [e] = link.drain();
    t.same(answer(e), expected(1400 - headers), 'type 3 code 4 from the VIP, quoting client -> VIP');
    t.equal(d.counters.icmpRelayed, 1);
    t.equal(d.counters.icmpSent, 1);
    t.equal(d.listServices()[0]!.dests[0]!.stats.outPkts, 1, 'counted as an outgoing packet of the real server');
    // under ip_rt_min_pmtu: 552
    link.receive(fragNeeded(outer, 300));
    t.same(answer(link.drain()[0]), expected(552 - headers), 'a tiny MTU counts as 552, as the kernel raises it');
    // other errors: same type and code, no MTU
    link.receive(fragNeeded(outer, 0, DIRECTOR, IcmpType.DestUnreachable, 1));
    t.same(answer(link.drain()[0]), expected(0, 1), 'host unreachable passed on as it is');
    // a reported MTU above the route's: the route's
    const narrow = tunnelled(tun, true, 1450);
    narrow.link.receive(fragNeeded(narrow.outer, 1480));
    t.same(answer(narrow.link.drain()[0]), expected(1450 - headers), 'never above the path MTU we know');
    t.end();
  });
}

t.test('a client without DF hears nothing; the MTU is lowered only while 68 bytes stay', (t) => {
  const nodf = tunnelled({ tunType: 'gre', tunFlags: 'csum' }, false);
  nodf.link.receive(fragNeeded(nodf.outer, 1400));
  t.same(nodf.link.drain(), [], 'no DF: nothing to say');
  t.equal(nodf.d.counters.icmpIgnored, 1);
  // a route MTU of 88 for IPIP (68 left): 88 is not above 68 + 20, so it goes out as it is
  const small = tunnelled({}, true, 88, 0);
  t.ok(small.outer, 'a SYN fits the 88-byte path');
  small.link.receive(fragNeeded(small.outer, 88));
  t.same(answer(small.link.drain()[0]), expected(88), 'not lowered under 68');
  const above = tunnelled({}, true, 89, 0);
  above.link.receive(fragNeeded(above.outer, 89));
  t.same(answer(above.link.drain()[0]), expected(69), '89 is: 69');
  t.end();
});

t.test('errors that are not about our tunnel are left alone', (t) => {
  const gue = tunnelled({ tunType: 'gue', tunPort: 6080 });
  // another port than the real server's tun-port
  const other = Uint8Array.from(gue.outer);
  wr16(other, 20 + 2, 6081);
  gue.link.receive(fragNeeded(other, 1400));
  t.same(gue.link.drain(), [], 'UDP to another port: not our GUE');
  // a GUE control message
  const ctl = Uint8Array.from(gue.outer);
  ctl[28] = 0x20;
  gue.link.receive(fragNeeded(ctl, 1400));
  t.same(gue.link.drain(), [], 'GUE control: not ours');
  // addressed to another host than our tunnel source
  gue.link.receive(fragNeeded(gue.outer, 1400, '10.10.1.9'));
  t.same(gue.link.drain(), [], 'not to our address');
  t.equal(gue.d.counters.icmpSent, 0);
  // the real server is GRE now: an error quoting a GUE packet no longer matches it
  gue.d.editDest(KEY, { addr: RS[0]!, port: 80, method: 'tunnel', tunType: 'gre' });
  gue.link.receive(fragNeeded(gue.outer, 1400));
  t.same(gue.link.drain(), [], 'the destination is GRE now');
  // GRE with a key bit is not ours
  const gre = tunnelled({ tunType: 'gre' });
  const keyed = Uint8Array.from(gre.outer);
  keyed[20] = 0x20;
  gre.link.receive(fragNeeded(keyed, 1400));
  t.same(gre.link.drain(), [], 'GRE with K: not ours');
  t.equal(gre.d.counters.icmpIgnored, 1);
  t.end();
});
