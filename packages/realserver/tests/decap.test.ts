import t from 'tap';
import fc from 'fast-check';
import { MemoryLink } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import { EtherType, Ipv4View, checksum, classifyIpv4, CheckFlags, FrameInfo, packet, parseIpv4, parseMac } from '@tunvs/packet';
import type { Ipv4Spec } from '@tunvs/packet';
import { Decapsulator, DecapDrop, captureFilter, decapCountersSnapshot, nftRuleset, nftTableName } from '../src/index.js';
import type { DecapCounters, DecapDropReason } from '../src/index.js';

const DIR = parseIpv4('10.10.1.1');
const RS = parseIpv4('10.10.1.11');
const CLIENT = parseIpv4('10.10.0.2');
const VIP = parseIpv4('10.10.0.100');
const RS_MAC = parseMac('02:00:0a:0a:01:0b');
const DIR_MAC = parseMac('02:00:0a:0a:01:01');
const data = new TextEncoder().encode('hello');

/** A UDP datagram (DF, like the old builders made them). */
function udpPacket(src: number, dst: number, sport: number, dport: number, payload: Uint8Array, ip: Partial<Ipv4Spec> = {}): Uint8Array {
  return packet().ipv4({ df: true, ...ip, src, dst }).udp({ sport, dport }).payload(payload).build();
}
/** A TCP SYN, window 64240. */
function tcpSynPacket(src: number, dst: number, sport: number, dport: number, seq: number, ip: Partial<Ipv4Spec> = {}): Uint8Array {
  return packet().ipv4({ df: true, ...ip, src, dst }).tcp({ sport, dport, seq, flags: 'S', window: 64240 }).build();
}
/** IPIP around `inner` (outer TTL = inner TTL, DF). */
function ipipEncap(inner: Uint8Array, src: number, dst: number, outer: Partial<Ipv4Spec> = {}): Uint8Array {
  return packet().ipv4({ ttl: inner[8] ?? 64, df: true, ...outer, src, dst, protocol: Proto.IPIP }).payload(inner).build();
}
/** GRE around `inner` (IPVS's header: no key or sequence; with `csum` the C bit and checksum, spoiled by `spoil`). */
function greEncap(inner: Uint8Array, src: number, dst: number, csum = false, spoil = 0): Uint8Array {
  const g = new Uint8Array(csum ? 8 : 4);
  g[0] = csum ? 0x80 : 0;
  g[2] = 0x08;
  if (csum) {
    const c = checksum(Uint8Array.from([...g, ...inner]), 0, g.length + inner.length) ^ spoil;
    g[4] = c >> 8;
    g[5] = c & 0xff;
  }
  return packet().ipv4({ ttl: inner[8] ?? 64, df: true, src, dst, protocol: Proto.GRE }).payload(Uint8Array.from([...g, ...inner])).build();
}
/** UDP to `port` carrying a GUE header (default: version 0, hlen 0, proto 4) and `inner`, with a UDP checksum. */
function gueEncap(inner: Uint8Array, src: number, dst: number, port: number, gue = Uint8Array.of(0, 4, 0, 0)): Uint8Array {
  return packet().ipv4({ ttl: inner[8] ?? 64, df: true, src, dst }).udp({ sport: 50000, dport: port }).payload(Uint8Array.from([...gue, ...inner])).build();
}
/** An Ethernet frame around an IP packet. */
function ethernetFrame(dst: Uint8Array, src: Uint8Array, payload: Uint8Array, etherType: number = EtherType.Ipv4): Uint8Array {
  return packet().eth({ dst, src, etherType }).payload(payload).build();
}
/** Recompute the IPv4 header checksum at the start of `p`. */
function fixIpv4Checksum(p: Uint8Array): Uint8Array {
  new Ipv4View(p, 0, p.length).fillChecksum();
  return p;
}
const headerOk = (p: Uint8Array): boolean => new Ipv4View(p, 0, p.length).verifyChecksum();

const inner = (): Uint8Array => udpPacket(CLIENT, VIP, 40000, 7, data, { ttl: 63 });
const frame = (ip: Uint8Array): Uint8Array => ethernetFrame(RS_MAC, DIR_MAC, ip);

/** A capture link (Ethernet) wired to a TUN link through a Decapsulator. */
function rig(opts: { local?: number[]; vnet?: number; inKind?: 'tap' | 'tun' } = {}) {
  const cap = new MemoryLink(opts.inKind ?? 'tap', 1500, 'eth0');
  const tun = new MemoryLink('tun', 1500, 'tunvs-rs0', opts.vnet ?? 0);
  const d = new Decapsulator({ localAddrs: opts.local ?? [RS], guePorts: [6080] });
  d.attach(cap, tun);
  return { cap, tun, d };
}

function drops(c: DecapCounters): number {
  let n = 0;
  for (const k of Object.values(DecapDrop)) n += c[k];
  return n;
}

t.test('an IPIP frame comes out of the TUN as the exact inner packet', (t) => {
  const { cap, tun, d } = rig();
  const inPkt = inner();
  cap.receive(frame(ipipEncap(inPkt, DIR, RS)));
  const out = tun.drain();
  t.equal(out.length, 1);
  t.same([...out[0]!], [...inPkt]);
  t.equal(d.counters.rxPackets, 1);
  t.equal(d.counters.decapsulated, 1);
  t.equal(d.counters.txPackets, 1);
  t.equal(drops(d.counters), 0);
  t.end();
});

t.test('golden bytes: IPIP around a UDP datagram', (t) => {
  const hex =
    // outer: v4 ihl5, tos 0, len 53, id 0, DF, ttl 63, proto 4, cksum, 10.10.1.1 -> 10.10.1.11
    '45 00 0035 0000 4000 3f 04 25a6 0a0a0101 0a0a010b' +
    // inner: v4 ihl5, tos 0, len 33, id 0, DF, ttl 63, proto 17, cksum, 10.10.0.2 -> 10.10.0.100
    '45 00 0021 0000 4000 3f 11 2753 0a0a0002 0a0a0064' +
    // udp 40000 -> 7, len 13, no checksum, "rs!!\n"
    '9c40 0007 000d 0000 72 73 21 21 0a';
  const b = Uint8Array.from(Buffer.from(hex.replace(/ /g, ''), 'hex'));
  const { cap, tun, d } = rig({ inKind: 'tun' });
  cap.receive(b);
  const out = tun.drain();
  t.equal(d.counters.decapsulated, 1);
  t.same([...out[0]!], [...b.subarray(20)], 'the inner 33 bytes');
  t.ok(headerOk(out[0]!), 'inner header checksum valid');
  t.end();
});

t.test('a TCP SYN is decapsulated too; TTL and addresses untouched', (t) => {
  const { cap, tun } = rig();
  const syn = tcpSynPacket(CLIENT, VIP, 41000, 80, 12345, { ttl: 61 });
  cap.receive(frame(ipipEncap(syn, DIR, RS)));
  const out = tun.drain();
  t.same([...out[0]!], [...syn]);
  t.end();
});

t.test('Ethernet padding after the outer total length is ignored', (t) => {
  const { cap, tun } = rig();
  const inPkt = udpPacket(CLIENT, VIP, 1, 7, new Uint8Array(0));
  const f = frame(ipipEncap(inPkt, DIR, RS));
  const padded = new Uint8Array(f.length + 10);
  padded.set(f);
  cap.receive(padded);
  t.same([...tun.drain()[0]!], [...inPkt]);
  t.end();
});

t.test('an 802.1Q tag before IPv4 is skipped', (t) => {
  const { cap, tun } = rig();
  const ip = ipipEncap(inner(), DIR, RS);
  const f = new Uint8Array(18 + ip.length);
  f.set(RS_MAC, 0);
  f.set(DIR_MAC, 6);
  f.set([0x81, 0x00, 0x00, 0x0a, 0x08, 0x00], 12);
  f.set(ip, 18);
  cap.receive(f);
  t.equal(tun.drain().length, 1);
  t.end();
});

t.test('with a vnet header on the TUN, a zeroed header is written in front, in place', (t) => {
  const { cap, tun } = rig({ vnet: 10 });
  const inPkt = inner();
  cap.receive(frame(ipipEncap(inPkt, DIR, RS)));
  const out = tun.drain();
  t.equal(out.length, 1);
  t.same([...out[0]!.subarray(0, 10)], new Array(10).fill(0));
  t.same([...out[0]!.subarray(10)], [...inPkt]);
  t.end();
});

/** Build a malformed frame by editing a valid one, then (optionally) fix the checksums. */
function mutate(edit: (outer: Uint8Array, innerHdr: Uint8Array) => void, fix = true): Uint8Array {
  const f = frame(ipipEncap(inner(), DIR, RS));
  const outer = f.subarray(14);
  const hl = (outer[0]! & 15) * 4;
  edit(outer, outer.subarray(hl));
  if (fix) fixIpv4Checksum(outer);
  return f;
}

/** A drop: the counter it lands in, and for parser drops the reason (`outer.<reason>` / `inner.<reason>`). */
type Drop = DecapDropReason | `outer.${string}` | `inner.${string}`;

const cases: Array<[string, () => Uint8Array, Drop]> = [
  ['a runt frame', () => new Uint8Array(10), 'outer.eth-truncated'],
  ['an Ethernet frame with 10 bytes of IPv4', () => frame(new Uint8Array(10)), 'outer.ipv4-truncated'],
  ['an ARP frame', () => packet().eth({ dst: RS_MAC, src: DIR_MAC }).arp({ senderIp: DIR, targetIp: RS }).build(), DecapDrop.notIpv4],
  ['an IPv6 frame', () => ethernetFrame(RS_MAC, DIR_MAC, new Uint8Array(40), EtherType.Ipv6), 'outer.ipv6-unsupported'],
  ['outer version 5', () => mutate((o) => (o[0] = 0x55)), 'outer.ipv4-bad-version'],
  ['outer IHL 4', () => mutate((o) => (o[0] = 0x44), false), 'outer.ipv4-bad-ihl'],
  ['outer IHL beyond the packet', () => {
    const f = frame(ipipEncap(new Uint8Array(0), DIR, RS)).subarray(0, 14 + 20);
    f[14] = 0x4f;
    return f;
  }, 'outer.ipv4-header-truncated'],
  ['outer total length too big', () => mutate((o) => { o[2] = 0x05; o[3] = 0xdc; }), 'outer.ipv4-total-length-beyond-buffer'],
  ['outer total length below the header', () => mutate((o) => { o[2] = 0; o[3] = 19; }), 'outer.ipv4-total-length-short'],
  ['a bad outer checksum', () => mutate((o) => (o[10] = o[10]! ^ 0xff), false), 'outer.ipv4-bad-checksum'],
  ['outer protocol 99', () => mutate((o) => (o[9] = 99)), DecapDrop.notIpip],
  ['protocol 47 whose GRE flags are not IPVS\'s', () => mutate((o) => (o[9] = Proto.GRE)), DecapDrop.badGre],
  ['GRE with a bad checksum', () => frame(greEncap(inner(), DIR, RS, true, 1)), DecapDrop.badChecksum],
  ['GRE carrying another protocol', () => frame(packet().ipv4({ src: DIR, dst: RS, protocol: Proto.GRE }).payload(Uint8Array.from([0, 0, 0x86, 0xdd, ...inner()])).build()), DecapDrop.badGre],
  ['GUE version 1', () => frame(gueEncap(inner(), DIR, RS, 6080, Uint8Array.of(0x40, 4, 0, 0))), DecapDrop.badGue],
  ['a GUE control message', () => frame(gueEncap(inner(), DIR, RS, 6080, Uint8Array.of(0x20, 4, 0, 0))), DecapDrop.badGue],
  ['GUE with unknown flags', () => frame(gueEncap(inner(), DIR, RS, 6080, Uint8Array.of(0, 4, 0x80, 0))), DecapDrop.badGue],
  ['GUE with a bad UDP checksum', () => {
    const f = frame(gueEncap(inner(), DIR, RS, 6080));
    f[14 + 20 + 6] ^= 0x55;
    return f;
  }, DecapDrop.badChecksum],
  ['UDP to a port that is not a GUE port', () => frame(gueEncap(inner(), DIR, RS, 6081)), DecapDrop.notIpip],
  ['an outer fragment (MF)', () => mutate((o) => (o[6] = 0x20)), DecapDrop.fragment],
  ['an outer fragment (offset)', () => mutate((o) => { o[6] = 0; o[7] = 8; }), DecapDrop.fragment],
  ['another destination', () => frame(ipipEncap(inner(), DIR, RS + 1)), DecapDrop.notForUs],
  ['an inner packet under 20 bytes', () => frame(ipipEncap(new Uint8Array(12).fill(0x45), DIR, RS)), 'inner.ipv4-truncated'],
  ['inner version 6', () => mutate((_o, i) => (i[0] = 0x60)), 'inner.ipv6-unsupported'],
  ['inner IHL 3', () => mutate((_o, i) => (i[0] = 0x43)), 'inner.ipv4-bad-ihl'],
  ['inner IHL beyond the payload', () => frame(ipipEncap(Uint8Array.from([0x4f, ...new Array(23).fill(0)]), DIR, RS)), 'inner.ipv4-header-truncated'],
  ['inner total length too big', () => mutate((_o, i) => { i[2] = 0x04; i[3] = 0; }), 'inner.ipv4-total-length-beyond-buffer'],
  ['outer CE over a not-ECT inner packet', () => mutate((o) => (o[1] = 3)), DecapDrop.ecnDrop],
];

for (const [name, make, drop] of cases) {
  t.test(`drops ${name} and counts ${drop}`, (t) => {
    const { cap, tun, d } = rig();
    cap.receive(make());
    t.equal(tun.drain().length, 0, 'nothing written');
    const snap = decapCountersSnapshot(d.counters);
    t.equal(snap[drop], 1, drop);
    if (drop.startsWith('outer.')) t.equal(d.counters.outerMalformed, 1, 'counted as an outer parse drop');
    if (drop.startsWith('inner.')) t.equal(d.counters.innerMalformed, 1, 'counted as an inner parse drop');
    t.equal(drops(d.counters), 1, 'exactly one drop counted');
    t.equal(d.counters.decapsulated, 0);
    t.end();
  });
}

t.test('outer CE marks an ECT inner packet CE and keeps its checksum valid', (t) => {
  const { cap, tun, d } = rig();
  const inPkt = udpPacket(CLIENT, VIP, 1, 7, data, { tos: 0x02 }); // ECT(0)
  cap.receive(frame(ipipEncap(inPkt, DIR, RS, { tos: 0x03 })));
  const out = tun.drain()[0]!;
  t.equal(out[1]! & 3, 3, 'inner is CE');
  t.ok(headerOk(out), 'inner header checksum valid');
  t.equal(d.counters.ecnMarked, 1);
  // CE inner stays as is; ECT outer (not CE) changes nothing.
  const ce = udpPacket(CLIENT, VIP, 1, 7, data, { tos: 0x03 });
  const ect = udpPacket(CLIENT, VIP, 1, 7, data, { tos: 0x01 });
  cap.receive(frame(ipipEncap(ce, DIR, RS, { tos: 0x03 })), frame(ipipEncap(ect, DIR, RS, { tos: 0x02 })));
  const [a, b] = tun.drain();
  t.same([...a!], [...ce]);
  t.same([...b!], [...ect]);
  t.end();
});

t.test('a mixed batch: good packets go out in one write, bad ones are counted', (t) => {
  const { cap, tun, d } = rig();
  const good = frame(ipipEncap(inner(), DIR, RS));
  const bad = mutate((o) => (o[9] = 99));
  cap.receive(good, bad, good, bad, good);
  t.equal(tun.drain().length, 3);
  t.equal(d.counters.rxPackets, 5);
  t.equal(d.counters.decapsulated, 3);
  t.equal(d.counters.notIpip, 2);
  t.equal(tun.counters.txPackets, 3);
  t.end();
});

t.test('a full TUN queue is counted as txDropped', (t) => {
  const { cap, tun, d } = rig();
  tun.txBudget = 1;
  const good = frame(ipipEncap(inner(), DIR, RS));
  cap.receive(good, good, good);
  t.equal(d.counters.decapsulated, 3);
  t.equal(d.counters.txPackets, 1);
  t.equal(d.counters.txDropped, 2);
  t.end();
});

t.test('no local addresses: any outer destination is accepted', (t) => {
  const { cap, tun } = rig({ local: [] });
  cap.receive(frame(ipipEncap(inner(), DIR, parseIpv4('192.0.2.1'))));
  t.equal(tun.drain().length, 1);
  t.end();
});

t.test('property: random bytes never throw and every packet is accounted for', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 120 }), { minLength: 1, maxLength: 20 }), fc.boolean(), (pkts, eth) => {
      const { cap, d } = rig({ inKind: eth ? 'tap' : 'tun', local: [] });
      for (const p of pkts) cap.inject(p);
      cap.deliver();
      return d.counters.rxPackets === pkts.length && d.counters.decapsulated + drops(d.counters) === pkts.length;
    }),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});

t.test('property: any valid UDP inner packet round-trips byte for byte', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 1400 }),
      fc.integer({ min: 1, max: 65535 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xfc }),
      (payload, sport, src, tos) => {
        const { cap, tun } = rig();
        const inPkt = udpPacket(src, VIP, sport, 7, payload, { tos });
        cap.receive(frame(ipipEncap(inPkt, DIR, RS)));
        const out = tun.drain();
        return out.length === 1 && Buffer.compare(out[0]!, inPkt) === 0;
      },
    ),
    { seed: 42, numRuns: 200 },
  );
  t.end();
});

t.test('the nftables rule drops IPIP on input on the interface only', (t) => {
  t.equal(nftTableName('eth0'), 'tunvs_rs_eth0');
  t.equal(nftTableName('veth-a.1'), 'tunvs_rs_veth_a_1');
  const r = nftRuleset('eth0');
  t.match(r, /table ip tunvs_rs_eth0 \{\}\ndelete table ip tunvs_rs_eth0\n/);
  t.match(r, /type filter hook input priority filter; policy accept;/);
  t.match(r, /iifname "eth0" ip protocol 4 counter drop/);
  t.match(r, /iifname "eth0" ip protocol 47 counter drop/);
  t.notMatch(r, /udp dport/, 'no GUE port, no UDP rule');
  t.match(nftRuleset('eth0', [6080, 6081]), /iifname "eth0" udp dport \{ 6080, 6081 \} counter drop/);
  t.equal(captureFilter([6080]), 'ip proto 4 or ip proto 47 or (udp dst port 6080)');
  t.end();
});

t.test('GRE and GUE frames come out of the TUN as the exact inner packet, counted by type', (t) => {
  const { cap, tun, d } = rig();
  const inPkt = inner();
  cap.receive(frame(greEncap(inPkt, DIR, RS)), frame(greEncap(inPkt, DIR, RS, true)), frame(gueEncap(inPkt, DIR, RS, 6080)));
  const out = tun.drain();
  t.equal(out.length, 3);
  for (const o of out) t.same([...o], [...inPkt]);
  t.equal(d.counters.gre, 2);
  t.equal(d.counters.gue, 1);
  t.equal(d.counters.ipip, 0);
  t.equal(drops(d.counters), 0);
  t.end();
});

t.test('GUE remote checksum offload: the inner TCP checksum is finished from the option', (t) => {
  const { cap, tun, d } = rig();
  const syn = tcpSynPacket(CLIENT, VIP, 40000, 80, 1, { ttl: 63 });
  const partial = Uint8Array.from(syn);
  // the director left the pseudo-header sum (not complemented) in the field
  const ps = (CLIENT >>> 16) + (CLIENT & 0xffff) + (VIP >>> 16) + (VIP & 0xffff) + 6 + (syn.length - 20);
  const folded = (ps & 0xffff) + (ps >>> 16);
  partial[36] = folded >> 8;
  partial[37] = folded & 0xff;
  const gue = Uint8Array.of(2, 4, 0, 1, 0x80, 0, 0, 0, 0, 20, 0, 36);
  cap.receive(frame(gueEncap(partial, DIR, RS, 6080, gue)));
  const out = tun.drain();
  t.equal(out.length, 1);
  t.same([...out[0]!], [...syn], 'the checksum is the one of the complete packet');
  t.equal(classifyIpv4(out[0]!, 0, out[0]!.length, new FrameInfo(), CheckFlags.All), 0, 'it verifies');
  t.equal(d.counters.gue, 1);
  // an option pointing elsewhere than the TCP checksum is refused
  cap.receive(frame(gueEncap(partial, DIR, RS, 6080, Uint8Array.of(2, 4, 0, 1, 0x80, 0, 0, 0, 0, 20, 0, 30))));
  t.equal(tun.drain().length, 0);
  t.equal(d.counters.badGue, 1);
  t.end();
});
