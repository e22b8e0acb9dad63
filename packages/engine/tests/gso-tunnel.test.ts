// A GSO super-packet from a TUN link with a vnet header to a tunnel real server: the
// director reads gso_type and gso_size from the header, segments the packet and sends
// each segment encapsulated, every frame a plain (zero vnet header) packet within the MTU.
import t from 'tap';
import { MemoryLink, VNET_F, VNET_GSO, VNET_HDR, VNET_HDR_LEN } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import { CheckFlags, FrameInfo, classifyFrame, csumFold, packet, parseIpv4, pseudoHeaderSum, rd32, wr16 } from '@tunvs/packet';
import { Director } from '../src/index.js';
import { CLIENT, RS, VIP } from './helpers.js';

const KEY = { protocol: 'tcp' as const, addr: VIP, port: 80 };

function director(): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', 1500, 'mem0', VNET_HDR_LEN);
  const d = new Director({ links: [link], timers: false, now: () => 1000, sourceAddress: '10.10.1.1' });
  d.start();
  d.addService(KEY);
  d.addDest(KEY, { addr: RS[0]!, port: 80, method: 'tunnel' });
  return { d, link };
}

/** A frame with a vnet header: flags, gso_type, gso_size (and the checksum's place when partial). */
function withVnet(ip: Uint8Array, flags: number, gsoType: number, gsoSize: number): Uint8Array {
  const f = new Uint8Array(VNET_HDR_LEN + ip.length);
  const le16 = (o: number, v: number) => {
    f[o] = v & 0xff;
    f[o + 1] = v >>> 8;
  };
  f[VNET_HDR.FLAGS] = flags;
  f[VNET_HDR.GSO_TYPE] = gsoType;
  le16(VNET_HDR.HDR_LEN, 40);
  le16(VNET_HDR.GSO_SIZE, gsoSize);
  le16(VNET_HDR.CSUM_START, 20);
  le16(VNET_HDR.CSUM_OFFSET, 16);
  f.set(ip, VNET_HDR_LEN);
  return f;
}

/** A TCP super-packet client -> VIP with `n` payload bytes and a partial checksum. */
function superPacket(n: number): Uint8Array {
  const payload = new Uint8Array(n);
  for (let i = 0; i < n; i++) payload[i] = i & 0xff;
  const b = packet().ipv4({ src: CLIENT, dst: VIP, ttl: 64, df: true }).tcp({ sport: 40000, dport: 80, seq: 5000, flags: 'PA' }).payload(payload).build();
  wr16(b, 20 + 16, csumFold(pseudoHeaderSum(parseIpv4(CLIENT), parseIpv4(VIP), Proto.TCP, b.length - 20)));
  return b;
}

t.test('TSO super-packet to an IPIP real server: N segments, each encapsulated within the MTU, checksums valid', (t) => {
  const { d, link } = director();
  link.receive(withVnet(packet().ipv4({ src: CLIENT, dst: VIP, df: true }).tcp({ sport: 40000, dport: 80, seq: 4999, flags: 'S' }).build(), 0, VNET_GSO.NONE, 0));
  t.equal(link.drain().length, 1, 'the SYN tunnelled');
  link.receive(withVnet(superPacket(20000), VNET_F.NEEDS_CSUM, VNET_GSO.TCPV4, 1448));
  const out = link.drain();
  // 1500 - 20 (IPIP) - 20 (IP) - 20 (TCP) = 1440 < gso_size 1448
  t.equal(out.length, Math.ceil(20000 / 1440), '14 frames');
  let got = 0;
  out.forEach((f, k) => {
    t.same([...f.subarray(0, VNET_HDR_LEN)], new Array(VNET_HDR_LEN).fill(0), `#${k}: zero vnet header (no GSO, checksums done)`);
    const outer = new FrameInfo();
    t.equal(classifyFrame(f, VNET_HDR_LEN, f.length - VNET_HDR_LEN, 'tun', outer, CheckFlags.All), 0, `#${k}: outer valid`);
    t.ok(outer.ipTotalLen <= 1500, `#${k}: ${outer.ipTotalLen} bytes within the MTU`);
    t.equal(outer.proto, Proto.IPIP);
    t.equal(rd32(f, VNET_HDR_LEN + 16), parseIpv4(RS[0]!), `#${k}: to the real server`);
    const inner = new FrameInfo();
    t.equal(classifyFrame(f, outer.l4Off, outer.l4Len, 'tun', inner, CheckFlags.All), 0, `#${k}: inner valid, full TCP checksum`);
    t.equal(rd32(f, inner.l4Off + 4), 5000 + got, `#${k}: seq`);
    got += inner.l4Len - 20;
  });
  t.equal(got, 20000, 'every payload byte sent once');
  t.equal(d.counters.gsoBad, 0);
  t.equal(d.listServices()[0]!.dests[0]!.stats.conns, 1);
  t.end();
});

t.test('gso_size 0 in the vnet header: dropped, counted gsoBad', (t) => {
  const { d, link } = director();
  link.receive(withVnet(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40001, dport: 80, flags: 'S' }).build(), 0, VNET_GSO.NONE, 0));
  link.drain();
  const sp = superPacket(5000);
  wr16(sp, 20, 40001);
  wr16(sp, 20 + 16, csumFold(pseudoHeaderSum(parseIpv4(CLIENT), parseIpv4(VIP), Proto.TCP, sp.length - 20)));
  link.receive(withVnet(sp, VNET_F.NEEDS_CSUM, VNET_GSO.TCPV4, 0));
  t.equal(link.drain().length, 0, 'nothing sent');
  t.equal(d.counters.gsoBad, 1);
  t.equal(d.counters.snapshot()['gsoBad'], 1, 'listed with the other counters');
  t.end();
});

t.test('super-packets past the room of one batch: every segment not sent is counted txSlabFull', (t) => {
  const { d, link } = director();
  link.receive(withVnet(packet().ipv4({ src: CLIENT, dst: VIP, df: true }).tcp({ sport: 40000, dport: 80, seq: 4999, flags: 'S' }).build(), 0, VNET_GSO.NONE, 0));
  link.drain();
  // two super-packets of 60000 bytes in one batch, segmented by 100 bytes: 1200 frames,
  // more than the 512 a batch's transmit queue holds
  const sp = withVnet(superPacket(60000), VNET_F.NEEDS_CSUM, VNET_GSO.TCPV4, 100);
  const segments = 2 * (60000 / 100);
  link.receive(sp, sp);
  t.equal(d.counters.rxPackets, 3, 'both in the batch');
  const sent = link.drain().length;
  t.ok(sent > 0 && sent < segments, `some segments did not fit (${sent} sent)`);
  t.equal(sent + d.counters.txSlabFull, segments, 'each of the others counted txSlabFull, not only the first of each super-packet');
  t.end();
});
