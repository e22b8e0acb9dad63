// GSO super-packets through the tunnel forwarder: segmented in software before
// encapsulation, every outer packet within the path MTU, inner and outer checksums valid,
// the inner payloads together the original; what cannot be segmented is dropped, counted.
import t from 'tap';
import type { Test } from 'tap';
import { Packet } from '@tunvs/forwarder';
import { hexBytes, hexOf, runFixture } from '@tunvs/forwarder/testing';
import type { Fixture, FixtureConn } from '@tunvs/forwarder/testing';
import { VNET_GSO } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import { CheckFlags, FrameInfo, TcpFlag, classifyFrame, csumFold, csumPartial, packet, parseIpv4, pseudoHeaderSum, rd16, rd32, wr16 } from '@tunvs/packet';
import { TunFlag, TunnelForwarder, encapOf } from '../src/index.js';
import { TUNNEL_CONN } from './fixtures.js';

const CLIENT = '192.0.2.10';
const VIP = '198.51.100.1';
const SEQ = 1000;

function data(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + (i >>> 8)) & 0xff;
  return b;
}

/** A TCP super-packet client -> VIP with `n` payload bytes, its checksum partial (pseudo-header sum only). */
function tcpSuper(n: number, flags = 'PA'): Uint8Array {
  const b = packet().ipv4({ src: CLIENT, dst: VIP, ttl: 64, df: true, id: 100 }).tcp({ sport: 40000, dport: 80, seq: SEQ, ack: 1, flags })
    .payload(data(n)).build();
  wr16(b, 20 + 16, csumFold(pseudoHeaderSum(parseIpv4(CLIENT), parseIpv4(VIP), Proto.TCP, b.length - 20)));
  return b;
}

function udpSuper(n: number): Uint8Array {
  return packet().ipv4({ src: CLIENT, dst: VIP, ttl: 64, id: 100 }).udp({ sport: 40000, dport: 80 }).payload(data(n)).build();
}

const gso = (input: Uint8Array, extra: Partial<Fixture> = {}): Fixture => ({
  name: 'gso', op: 'inbound', input: hexOf(input), output: [], gso: true, partialCsum: true, ...extra,
});

type Tunnel = NonNullable<FixtureConn['tunnel']>;
const TUNNELS: [string, Tunnel][] = [
  ['ipip', { type: 0 }],
  ['gue', { type: 1, port: 6080 }],
  ['gue csum', { type: 1, port: 6080, flags: TunFlag.CSUM }],
  ['gue remcsum', { type: 1, port: 6080, flags: TunFlag.REMCSUM }],
  ['gre', { type: 2 }],
  ['gre csum', { type: 2, flags: TunFlag.CSUM }],
];

/** The outer packets' checks and their inner packets (every checksum verified from scratch). */
function unwrap(t: Test, out: string[], tunnel: Tunnel, mtu: number): { inner: Uint8Array[]; info: FrameInfo[] } {
  const hdr = encapOf(tunnel.type, tunnel.port ?? 0, tunnel.flags ?? 0).overhead(new Packet());
  const inner: Uint8Array[] = [];
  const info: FrameInfo[] = [];
  out.forEach((hex, k) => {
    const b = hexBytes(hex);
    t.ok(b.length <= mtu, `#${k}: ${b.length} bytes, within the MTU ${mtu}`);
    const o = new FrameInfo();
    t.equal(classifyFrame(b, 0, b.length, 'tun', o, CheckFlags.All), 0, `#${k}: the outer packet is valid (IP and UDP checksums)`);
    if (tunnel.type === 2 && (tunnel.flags ?? 0) & TunFlag.CSUM) t.equal(csumPartial(b, 20, b.length - 20), 0xffff, `#${k}: GRE checksum`);
    const i = new FrameInfo();
    const p = b.subarray(hdr);
    t.equal(classifyFrame(p, 0, p.length, 'tun', i, CheckFlags.All), 0, `#${k}: the inner segment is valid (IP and full TCP/UDP checksums)`);
    inner.push(p);
    info.push(i);
  });
  return { inner, info };
}

for (const [name, tunnel] of TUNNELS) {
  t.test(`${name}: a TCP super-packet leaves as encapsulated segments within the MTU`, (t) => {
    const conn = { ...TUNNEL_CONN, tunnel };
    const sp = tcpSuper(5000, 'FPAC');
    const r = runFixture(new TunnelForwarder(), gso(sp, { gsoSize: 1448 }), conn);
    t.same(r.counters, { ...r.counters, gsoBad: 0, gsoUnsupported: 0, encapTooBig: 0, fragNeeded: 0, txSlabFull: 0 }, 'no drop');
    const hdr = encapOf(tunnel.type, tunnel.port ?? 0, tunnel.flags ?? 0).overhead(new Packet());
    // min(gso_size 1448, 1500 - tunnel headers - 40)
    const mss = Math.min(1448, 1500 - hdr - 40);
    t.equal(r.output.length, Math.ceil(5000 / mss), `${Math.ceil(5000 / mss)} segments of ${mss}`);
    const { inner, info } = unwrap(t, r.output, tunnel, 1500);
    const all: number[] = [];
    inner.forEach((s, k) => {
      const i = info[k]!;
      t.equal(rd32(s, 20 + 4), SEQ + k * mss, `#${k}: seq`);
      t.equal(i.ipId, 100 + k, `#${k}: inner IP ID`);
      t.equal(i.ttl, 63, `#${k}: inner TTL decremented once`);
      const last = k === inner.length - 1;
      t.equal((i.tcpFlags & (TcpFlag.FIN | TcpFlag.PSH)) !== 0, last, `#${k}: FIN/PSH only on the last`);
      t.equal((i.tcpFlags & TcpFlag.CWR) !== 0, k === 0, `#${k}: CWR only on the first`);
      all.push(...s.subarray(40));
    });
    t.same(all, [...data(5000)], 'the inner payloads together are the original');
    t.end();
  });
}

t.test('a smaller gso_size than the tunnel leaves room for is kept', (t) => {
  const r = runFixture(new TunnelForwarder(), gso(tcpSuper(3000), { gsoSize: 1000 }), TUNNEL_CONN);
  t.equal(r.output.length, 3);
  const { inner } = unwrap(t, r.output, { type: 0 }, 1500);
  t.same(inner.map((s) => rd16(s, 2)), [1040, 1040, 1040]);
  t.end();
});

t.test('a narrow path: segments sized to the path MTU', (t) => {
  const r = runFixture(new TunnelForwarder(), gso(tcpSuper(3000), { gsoSize: 1448, mtu: 576 }), TUNNEL_CONN);
  // 576 - 20 (IPIP) - 40 = 516 payload bytes each
  t.equal(r.output.length, Math.ceil(3000 / 516));
  unwrap(t, r.output, { type: 0 }, 576);
  t.end();
});

t.test('one segment under GUE remote checksum offload: complete, without the option', (t) => {
  const tunnel: Tunnel = { type: 1, port: 6080, flags: TunFlag.REMCSUM };
  const sp = tcpSuper(800, 'A');
  const r = runFixture(new TunnelForwarder(), gso(sp, { gsoSize: 1448 }), { ...TUNNEL_CONN, tunnel });
  t.equal(r.output.length, 1);
  // a segment's checksum is complete: GUE without the remcsum option (hlen 0), 32 bytes of headers
  const { inner } = unwrap(t, r.output, tunnel, 1500);
  t.equal(hexBytes(r.output[0]!).length, 32 + sp.length, 'outer headers without the option');
  const expect = sp.slice();
  expect[8] = 63;
  wr16(expect, 10, 0);
  wr16(expect, 10, ~csumPartial(expect, 0, 20) & 0xffff);
  wr16(expect, 20 + 16, 0);
  wr16(expect, 20 + 16, ~csumPartial(expect, 20, sp.length - 20, pseudoHeaderSum(parseIpv4(CLIENT), parseIpv4(VIP), Proto.TCP, sp.length - 20)) & 0xffff);
  t.same([...inner[0]!], [...expect], 'the packet itself: TTL decremented, full TCP checksum');
  t.end();
});

t.test('UDP GSO (USO): datagrams of gso_size', (t) => {
  const conn: FixtureConn = { ...TUNNEL_CONN, protocol: 'udp' };
  const r = runFixture(new TunnelForwarder(), gso(udpSuper(3000), { gsoSize: 1200, partialCsum: false }), conn);
  t.equal(r.output.length, 3);
  const { inner } = unwrap(t, r.output, { type: 0 }, 1500);
  t.same(inner.map((s) => rd16(s, 20 + 4)), [1208, 1208, 608], 'UDP lengths');
  t.end();
});

t.test('what cannot be segmented is dropped and counted', (t) => {
  const fwd = new TunnelForwarder();
  const udp: FixtureConn = { ...TUNNEL_CONN, protocol: 'udp' };
  const cases: [string, Fixture, FixtureConn, Partial<Record<'gsoBad' | 'gsoUnsupported', number>>][] = [
    ['gso_size 0', gso(tcpSuper(3000), { gsoSize: 0 }), TUNNEL_CONN, { gsoBad: 1 }],
    ['gso_size 7', gso(tcpSuper(3000), { gsoSize: 7 }), TUNNEL_CONN, { gsoBad: 1 }],
    ['TCPV4 on a UDP packet', gso(udpSuper(3000), { gsoType: VNET_GSO.TCPV4, partialCsum: false }), udp, { gsoBad: 1 }],
    ['UDP_L4 on a TCP packet', gso(tcpSuper(3000), { gsoType: VNET_GSO.UDP_L4 }), TUNNEL_CONN, { gsoBad: 1 }],
    ['UFO', gso(udpSuper(3000), { gsoType: VNET_GSO.UDP, partialCsum: false }), udp, { gsoUnsupported: 1 }],
  ];
  for (const [what, f, conn, moved] of cases) {
    const r = runFixture(fwd, f, conn);
    t.same(r.output, [], `${what}: nothing sent`);
    t.same({ gsoBad: r.counters.gsoBad, gsoUnsupported: r.counters.gsoUnsupported }, { gsoBad: 0, gsoUnsupported: 0, ...moved }, `${what}: counted`);
  }
  // the ECN bit does not change the type
  const ecn = runFixture(fwd, gso(tcpSuper(3000), { gsoType: VNET_GSO.TCPV4 | VNET_GSO.ECN }), TUNNEL_CONN);
  t.equal(ecn.output.length, 3, 'TCPV4 | ECN is segmented');
  t.end();
});
