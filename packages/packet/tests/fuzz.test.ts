// Fuzz: 120,000 seeded random, truncated and bit-flipped frames through classifyFrame
// (and, when valid, the NAT rewrite, TTL decrement and ICMP error emitter). Nothing may
// throw; every verdict is OK or a named reason; the reasons are counted.
import { Proto } from '@tunvs/model';
import t from 'tap';
import {
  CheckFlags, FrameInfo, FrameKind, REASON_COUNT, classifyFrame, decTtl, emitIcmpError, flowHashOf,
  natRewriteDst, natRewriteSrc, packet, quoteOf, reasonName,
} from '../src/index.js';

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ip = { src: '10.0.0.1', dst: '10.0.0.2' };
const tcpPkt = packet().ipv4({ ...ip, df: true }).tcp({ sport: 1234, dport: 80, flags: 'PA', options: new Uint8Array([1, 1, 1, 0]) }).payload(30).build();
const seeds: { bytes: Uint8Array; layer: 'tun' | 'tap' }[] = [];
for (const eth of [false, true]) {
  for (const vlan of [false, true]) {
    if (!eth && vlan) continue;
    const mk = () => {
      const b = packet();
      if (eth) b.eth(vlan ? { vlan: 7 } : {});
      return b;
    };
    const layer = eth ? 'tap' : 'tun';
    seeds.push({ bytes: mk().ipv4(ip).tcp({ sport: 1, dport: 2, flags: 'S' }).build(), layer });
    seeds.push({ bytes: mk().ipv4({ ...ip, options: new Uint8Array([0x94, 4, 0, 0]) }).udp({ sport: 53, dport: 53 }).payload(12).build(), layer });
    seeds.push({ bytes: mk().ipv4(ip).udp({ sport: 9, dport: 9, checksum: false }).payload(3).build(), layer });
    seeds.push({ bytes: mk().ipv4(ip).icmp({ type: 8, id: 1, seq: 1 }).payload(16).build(), layer });
    seeds.push({ bytes: mk().ipv4(ip).icmp({ type: 3, code: 4, mtu: 1400 }).payload(quoteOf(tcpPkt)).build(), layer });
    seeds.push({ bytes: mk().ipv4({ ...ip, mf: true }).udp({ sport: 1, dport: 2, length: 1000 }).payload(40).build(), layer });
    seeds.push({ bytes: mk().ipv4({ ...ip, fragOffset: 100, protocol: Proto.TCP }).payload(40).build(), layer });
    seeds.push({ bytes: mk().ipv4({ ...ip, protocol: Proto.GRE }).payload(24).build(), layer });
    if (eth) seeds.push({ bytes: mk().arp({ senderIp: '10.0.0.1', targetIp: '10.0.0.2' }).build(), layer });
  }
}

t.test('every seed frame is valid', (t) => {
  for (const s of seeds) t.equal(reasonName(classifyFrame(s.bytes, 0, s.bytes.length, s.layer, undefined, CheckFlags.All)), 'ok');
  t.end();
});

t.test('120,000 mutated frames: none throws, each is OK or a named reason', (t) => {
  const rand = rng(0xc0ffee);
  const slab = new Uint8Array(4096);
  const out = new Uint8Array(256);
  const info = new FrameInfo();
  const counts = new Array<number>(REASON_COUNT).fill(0);
  let unknown = 0;
  let inconsistent = 0;
  const N = 120_000;
  for (let i = 0; i < N; i++) {
    const s = seeds[Math.floor(rand() * seeds.length)]!;
    const off = Math.floor(rand() * 64);
    let len = s.bytes.length;
    slab.set(s.bytes, off);
    const mode = rand();
    if (mode < 0.3) {
      len = Math.floor(rand() * (s.bytes.length + 1)); // truncated
    } else if (mode < 0.8) {
      const flips = 1 + Math.floor(rand() * 6); // bit flips
      for (let f = 0; f < flips; f++) slab[off + Math.floor(rand() * len)]! ^= 1 << Math.floor(rand() * 8);
    } else if (mode < 0.9) {
      len = Math.floor(rand() * 120); // random bytes, sometimes with a plausible first byte
      for (let k = 0; k < len; k++) slab[off + k] = Math.floor(rand() * 256);
      if (rand() < 0.5) slab[off] = 0x45;
    } else {
      const k = Math.floor(rand() * len); // one byte set to an extreme
      slab[off + k] = rand() < 0.5 ? 0 : 0xff;
    }
    const flags = rand() < 0.5 ? CheckFlags.None : CheckFlags.All;
    const layer = rand() < 0.9 ? s.layer : (s.layer === 'tap' ? 'tun' : 'tap');
    const r = classifyFrame(slab, off, len, layer, info, flags);
    if (r < 0 || r >= REASON_COUNT || reasonName(r).startsWith('unknown')) unknown++;
    counts[r] = (counts[r] ?? 0) + 1;
    if (r === 0 && info.kind === FrameKind.Ipv4) {
      if (info.l3Off + info.ipTotalLen > off + len) inconsistent++;
      if (info.l4Off >= 0 && info.l4Off + info.l4Len > off + len) inconsistent++;
      // the data path on a valid packet must not throw either
      flowHashOf(slab, info.l3Off);
      emitIcmpError(out, 0, slab, info.l3Off, info.ipTotalLen, 11, 0, 0x0a0000fe);
      natRewriteDst(slab, info.l3Off, 0x0a000063, 8080);
      natRewriteSrc(slab, info.l3Off, 0x0a000064, 8081);
      decTtl(slab, info.l3Off);
    }
  }
  t.equal(unknown, 0, 'no unnamed verdicts');
  t.equal(inconsistent, 0, 'valid frames have in-bounds offsets');
  const table: Record<string, number> = {};
  counts.forEach((c, i) => { if (c) table[reasonName(i)] = c; });
  t.comment(JSON.stringify(table));
  t.equal(counts.reduce((a, b) => a + b, 0), N);
  t.ok(counts[0]! > N / 20, 'a fair share stays valid');
  t.ok(Object.keys(table).length >= 15, `many distinct reasons seen (${Object.keys(table).length})`);
  t.end();
});

t.test('out-of-range offsets and lengths are refused, not thrown', (t) => {
  const b = new Uint8Array(40);
  t.not(classifyFrame(b, 30, 20, 'tun'), 0);
  t.not(classifyFrame(b, -1, 20, 'tap'), 0);
  t.not(classifyFrame(b, 0, -5, 'tun'), 0);
  t.not(classifyFrame(new Uint8Array(0), 0, 0, 'tap'), 0);
  t.end();
});
