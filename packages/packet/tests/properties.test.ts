// fast-check properties: incremental checksum updates equal a full recompute, and
// parse(emit(x)) equals x for every Repr.
import { Proto } from '@tunvs/model';
import t from 'tap';
import fc from 'fast-check';
import {
  Ipv4View, TcpView, UdpView, IcmpView, checksum, csumPartial, csumFold, csumUpdate16, csumUpdate32,
  decTtl, emitArp, emitEthernet, ipv4HeaderCsumOk, emitIcmp, emitIpv4, emitTcp, emitUdp, natForwardDst, natForwardDstParsed, natRewriteDst, natRewriteSrc, packet,
  parseArp, parseEthernet, parseIcmp, parseIpv4Header, parseTcp, parseUdp, CheckFlags, FrameInfo, classifyFrame, rd16,
  natRewriteQuoteSrc, natRewriteQuoteDst, emitIcmpError, IcmpQuoteView,
} from '../src/index.js';
import type { ArpRepr, EthernetRepr, IcmpRepr, Ipv4Repr, TcpRepr, UdpRepr } from '../src/index.js';

const RUNS = { seed: 42, numRuns: 2000 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
const opts = (max: number) =>
  fc.integer({ min: 0, max }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 }));

/** Equal as ones' complement numbers (0 and 0xffff are both zero). */
function sameCsum(a: number, b: number): boolean {
  return a === b || ((a === 0 || a === 0xffff) && (b === 0 || b === 0xffff));
}

t.test('csumUpdate16/32 on arbitrary data equal a full recompute', (t) => {
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 4, maxLength: 64 }), fc.nat(), u32, fc.boolean(),
    (data, pos, nv, wide) => {
      const n = data.length & ~1;
      const before = checksum(data, 0, data.length);
      if (wide && n >= 4) {
        const p = (pos % ((n - 2) / 2)) * 2;
        const old = ((data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!) >>> 0;
        data[p] = nv >>> 24; data[p + 1] = nv >>> 16; data[p + 2] = nv >>> 8; data[p + 3] = nv;
        return sameCsum(csumUpdate32(before, old, nv), checksum(data, 0, data.length));
      }
      const p = (pos % (n / 2)) * 2;
      const old = rd16(data, p);
      data[p] = nv >>> 8; data[p + 1] = nv;
      return sameCsum(csumUpdate16(before, old, nv & 0xffff), checksum(data, 0, data.length));
    }), RUNS);
  t.end();
});

t.test('csumPartial over split ranges equals the whole', (t) => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(), (data, cut) => {
    const c = (cut % (data.length + 1)) & ~1;
    const whole = csumPartial(data, 0, data.length);
    const split = csumFold(csumPartial(data, 0, c) + csumPartial(data, c, data.length - c));
    return sameCsum(whole, split);
  }), RUNS);
  t.end();
});

interface Pkt { bytes: Uint8Array; proto: number; udpZero: boolean }

const pktArb: fc.Arbitrary<Pkt> = fc.record({
  proto: fc.constantFrom(Proto.TCP, Proto.UDP, Proto.ICMP),
  src: u32, dst: u32, sport: u16, dport: u16, ttl: fc.integer({ min: 1, max: 255 }), id: u16,
  payload: fc.uint8Array({ maxLength: 40 }), udpZero: fc.boolean(), ipOpts: opts(3).map((o) => o.fill(1)), tcpOpts: opts(3),
  seq: u32, flags: fc.integer({ min: 0, max: 0x1ff }),
}).map((r) => {
  const b = packet().ipv4({ src: r.src, dst: r.dst, ttl: r.ttl, id: r.id, options: r.ipOpts });
  if (r.proto === Proto.TCP) b.tcp({ sport: r.sport, dport: r.dport, seq: r.seq, flags: r.flags, options: r.tcpOpts });
  else if (r.proto === Proto.UDP) b.udp({ sport: r.sport, dport: r.dport, checksum: !r.udpZero });
  else b.icmp({ type: 8, id: r.sport, seq: r.dport });
  return { bytes: b.payload(r.payload).build(), proto: r.proto, udpZero: r.udpZero && r.proto === Proto.UDP };
});

/** Checks every checksum of an IPv4 packet against a full recompute (exact values). */
function allChecksumsExact(p: Pkt): boolean {
  const ip = new Ipv4View(p.bytes, 0, p.bytes.length);
  if (ip.checksum !== ip.computeChecksum() || !ip.verifyChecksum()) return false;
  if (p.proto === Proto.TCP) {
    const v = new TcpView(p.bytes, ip.payloadOff, ip.payloadLen);
    return v.checksum === v.computeChecksum(ip.src, ip.dst) && v.verifyChecksum(ip.src, ip.dst);
  }
  if (p.proto === Proto.UDP) {
    const v = new UdpView(p.bytes, ip.payloadOff, ip.payloadLen);
    if (p.udpZero) return v.checksum === 0;
    return v.checksum === v.computeChecksum(ip.src, ip.dst) && v.verifyChecksum(ip.src, ip.dst);
  }
  const v = new IcmpView(p.bytes, ip.payloadOff, ip.payloadLen);
  return v.verifyChecksum();
}

t.test('natRewriteDst/Src keep IP and L4 checksums exactly right (UDP zero stays zero)', (t) => {
  fc.assert(fc.property(pktArb, u32, u16, fc.boolean(), (p, a, port, dst) => {
    if (!allChecksumsExact(p)) return false;
    const ported = dst ? natRewriteDst(p.bytes, 0, a, port) : natRewriteSrc(p.bytes, 0, a, port);
    const ip = new Ipv4View(p.bytes, 0, p.bytes.length);
    if ((dst ? ip.dst : ip.src) !== a) return false;
    if (p.proto !== Proto.ICMP) {
      if (ported !== 1) return false;
      const portNow = rd16(p.bytes, ip.payloadOff + (dst ? 2 : 0));
      if (portNow !== port) return false;
    } else if (ported !== 0) return false;
    return allChecksumsExact(p) && classifyFrame(p.bytes, 0, p.bytes.length, 'tun', undefined, CheckFlags.All) === 0;
  }), RUNS);
  t.end();
});

t.test('view setters with checksum fixing equal a full recompute', (t) => {
  fc.assert(fc.property(pktArb, u32, u32, u16, u16, u8, (p, a1, a2, p1, p2, ttl) => {
    const ip = new Ipv4View(p.bytes, 0, p.bytes.length);
    ip.setSrcAddrFixL4(a1);
    ip.setDstAddrFixL4(a2);
    ip.setTtlCsum(ttl);
    if (p.proto === Proto.TCP) {
      const v = new TcpView(p.bytes, ip.payloadOff, ip.payloadLen);
      v.setSrcPortCsum(p1);
      v.setDstPortCsum(p2);
    } else if (p.proto === Proto.UDP) {
      const v = new UdpView(p.bytes, ip.payloadOff, ip.payloadLen);
      v.setSrcPortCsum(p1);
      v.setDstPortCsum(p2);
    } else {
      new IcmpView(p.bytes, ip.payloadOff, ip.payloadLen).setIdCsum(p1);
    }
    return ip.src === a1 && ip.dst === a2 && ip.ttl === ttl && allChecksumsExact(p);
  }), RUNS);
  t.end();
});

t.test('decTtl keeps the header checksum exactly right', (t) => {
  fc.assert(fc.property(pktArb, (p) => {
    const ip = new Ipv4View(p.bytes, 0, p.bytes.length);
    const before = ip.ttl;
    let n = 0;
    while (decTtl(p.bytes, 0) >= 0) {
      n++;
      if (ip.checksum !== ip.computeChecksum()) return false;
    }
    return n === before && ip.ttl === 0 && decTtl(p.bytes, 0) === -1 && allChecksumsExact(p);
  }), { seed: 42, numRuns: 300 });
  t.end();
});

t.test('UDP: a computed zero checksum is sent as 0xffff, also after a rewrite', (t) => {
  // Find a datagram whose checksum computes to 0 by choosing the payload word.
  const base = packet().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ sport: 1, dport: 2 }).payload(2).build();
  const v = new UdpView(base, 20, 10);
  v.checksum = 0;
  base[28] = 0; base[29] = 0;
  const sum = csumPartial(base, 20, 10, (0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 10));
  // choose the payload word w so that sum + w = 0xffff
  const w = (0xffff - sum) & 0xffff;
  base[28] = w >>> 8; base[29] = w;
  v.fillChecksum(0x0a000001, 0x0a000002);
  t.equal(v.checksum, 0xffff);
  t.ok(v.verifyChecksum(0x0a000001, 0x0a000002));
  // rewriting back and forth keeps exactness
  natRewriteDst(base, 0, 0x0a000003, 2);
  t.equal(v.checksum, v.computeChecksum(0x0a000001, 0x0a000003));
  natRewriteDst(base, 0, 0x0a000002, 2);
  t.equal(v.checksum, 0xffff);
  t.end();
});

t.test('quoted-datagram rewrites keep the inner IP, inner UDP and ICMP checksums right', (t) => {
  fc.assert(fc.property(u32, u32, u16, u16, u32, u16, fc.boolean(), fc.boolean(), (s, d, sp, dp, na, np, useSrc, udp) => {
    const orig = udp
      ? packet().ipv4({ src: s, dst: d }).udp({ sport: sp, dport: dp }).payload(20).build()
      : packet().ipv4({ src: s, dst: d }).tcp({ sport: sp, dport: dp }).payload(20).build();
    const out = new Uint8Array(100);
    const n = emitIcmpError(out, 0, orig, 0, orig.length, 3, 3, 0x01020304);
    if (n === 0) return true; // broadcast/multicast sources get no error
    const r = useSrc ? natRewriteQuoteSrc(out, 20, n - 20, na, np) : natRewriteQuoteDst(out, 20, n - 20, na, np);
    const q = new IcmpQuoteView(out, 28, n - 28);
    if (r !== 1 || (useSrc ? q.src : q.dst) !== na || (useSrc ? q.srcPort : q.dstPort) !== np) return false;
    if (!q.verifyChecksum() || !new IcmpView(out, 20, n - 20).verifyChecksum()) return false;
    if (udp) {
      // the quoted UDP checksum must equal what the rewritten full datagram would carry
      const full = orig.slice();
      (useSrc ? natRewriteSrc : natRewriteDst)(full, 0, na, np);
      return rd16(out, 28 + 20 + 6) === rd16(full, 26);
    }
    return true;
  }), { seed: 42, numRuns: 1000 });
  t.end();
});

// ---- parse(emit(x)) == x ------------------------------------------------------------------
t.test('ethernet: parse(emit(x)) == x', (t) => {
  const arb = fc.record({
    dst: mac, src: mac, etherType: u16.filter((x) => x !== 0x8100 && x !== 0x88a8),
    vlan: fc.option(fc.record({ id: fc.integer({ min: 0, max: 4095 }), pcp: fc.integer({ min: 0, max: 7 }), dei: fc.boolean() }), { nil: undefined }),
  }).map((r) => {
    const x: EthernetRepr = { dst: r.dst, src: r.src, etherType: r.etherType };
    if (r.vlan) x.vlan = r.vlan;
    return x;
  });
  fc.assert(fc.property(arb, (x) => {
    const b = new Uint8Array(18);
    const n = emitEthernet(x, b, 0);
    t.same(parseEthernet(b, 0, n), x);
    return true;
  }), { seed: 42, numRuns: 300 });
  t.end();
});

t.test('arp: parse(emit(x)) == x', (t) => {
  const arb: fc.Arbitrary<ArpRepr> = fc.record({ op: fc.constantFrom(1, 2), senderMac: mac, senderIp: u32, targetMac: mac, targetIp: u32 });
  fc.assert(fc.property(arb, (x) => {
    const b = new Uint8Array(28);
    emitArp(x, b, 0);
    t.same(parseArp(b, 0, 28), x);
    return true;
  }), { seed: 42, numRuns: 300 });
  t.end();
});

t.test('ipv4: parse(emit(x)) == x', (t) => {
  const arb = fc.record({
    src: u32, dst: u32, protocol: u8, ttl: u8, tos: u8, id: u16, df: fc.boolean(), mf: fc.boolean(),
    fragOffset: fc.integer({ min: 0, max: 0x1fff }), payloadLength: fc.integer({ min: 0, max: 100 }),
    options: fc.option(fc.integer({ min: 1, max: 10 }).map((n) => new Uint8Array(n * 4).fill(1)), { nil: undefined }),
  }).filter((r) => r.fragOffset * 8 + r.payloadLength <= 0xffff).map((r) => {
    const { options, ...rest } = r;
    const x: Ipv4Repr = rest;
    if (options) x.options = options; // NOP-filled options are well-formed
    return x;
  });
  fc.assert(fc.property(arb, (x) => {
    const b = new Uint8Array(60 + x.payloadLength);
    emitIpv4(x, b, 0);
    t.same(parseIpv4Header(b, 0, b.length), x);
    return true;
  }), { seed: 42, numRuns: 500 });
  t.end();
});

t.test('tcp: parse(emit(x)) == x, and the emitted checksum verifies', (t) => {
  const arb = fc.record({
    srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 0x1ff }), window: u16, urgent: u16,
    options: fc.option(fc.integer({ min: 1, max: 10 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 })), { nil: undefined }),
  }).map((r) => {
    const { options, ...rest } = r;
    const x: TcpRepr = rest;
    if (options) x.options = options;
    return x;
  });
  fc.assert(fc.property(arb, u32, u32, fc.uint8Array({ maxLength: 30 }), (x, s, d, data) => {
    const hl = 20 + (x.options?.length ?? 0);
    const b = new Uint8Array(hl + data.length);
    b.set(data, hl);
    emitTcp(x, b, 0, s, d, data.length);
    t.same(parseTcp(b, 0, b.length, CheckFlags.L4Checksum, s, d), x);
    return true;
  }), { seed: 42, numRuns: 500 });
  t.end();
});

t.test('udp: parse(emit(x)) == x, and the emitted checksum verifies', (t) => {
  fc.assert(fc.property(u16, u16, u32, u32, fc.uint8Array({ maxLength: 30 }), fc.boolean(), (sp, dp, s, d, data, cs) => {
    const x: UdpRepr = { srcPort: sp, dstPort: dp, payloadLength: data.length };
    const b = new Uint8Array(8 + data.length);
    b.set(data, 8);
    emitUdp(x, b, 0, s, d, cs);
    if (!cs && rd16(b, 6) !== 0) return false;
    if (cs && rd16(b, 6) === 0) return false;
    t.same(parseUdp(b, 0, b.length, CheckFlags.L4Checksum, s, d), x);
    return true;
  }), { seed: 42, numRuns: 500 });
  t.end();
});

t.test('icmp: parse(emit(x)) == x', (t) => {
  const arb: fc.Arbitrary<IcmpRepr> = fc.record({ type: fc.constantFrom(0, 8, 13, 14), code: u8, rest: u32 });
  fc.assert(fc.property(arb, fc.uint8Array({ maxLength: 30 }), (x, data) => {
    const b = new Uint8Array(8 + data.length);
    b.set(data, 8);
    emitIcmp(x, b, 0, data.length);
    t.same(parseIcmp(b, 0, b.length, CheckFlags.L4Checksum), x);
    return true;
  }), { seed: 42, numRuns: 300 });
  t.end();
});

/** The packet of `p` as `decTtl` then `natRewriteDst` leave it (the two updates one after the other). */
function stepwise(p: Pkt, a: number, port: number): Uint8Array {
  const b = p.bytes.slice();
  decTtl(b, 0);
  natRewriteDst(b, 0, a, port);
  return b;
}

/** The packet with the IP identification that gives header checksum `want` (full recompute), or null. */
function withIpChecksum(p: Pkt, want: number): Pkt | null {
  for (let id = 0; id <= 0xffff; id++) {
    const b = p.bytes.slice();
    const v = new Ipv4View(b, 0, b.length);
    v.id = id;
    v.fillChecksum();
    if (v.checksum === want) return { ...p, bytes: b };
  }
  return null;
}

t.test('natForwardDst and natForwardDstParsed (TTL and destination in one IP checksum update) equal decTtl + natRewriteDst and a full recompute', (t) => {
  const check = (p: Pkt, a: number, port: number): boolean => {
    const want = stepwise(p, a, port);
    const ttl = p.bytes[8]!;
    // natForwardDstParsed, from what the parser found, writes the very same bytes
    const parsed = p.bytes.slice();
    const info = new FrameInfo();
    if (classifyFrame(parsed, 0, parsed.length, 'tun', info) !== 0) return false;
    const rp = natForwardDstParsed(parsed, info, a, port);
    const r = natForwardDst(p.bytes, 0, a, port);
    if (rp !== r) return false;
    for (let i = 0; i < want.length; i++) if (parsed[i] !== want[i]) return false;
    if (r !== (p.proto === Proto.ICMP ? 0 : 1)) return false;
    if (p.bytes[8] !== ttl - 1 || new Ipv4View(p.bytes, 0, p.bytes.length).dst !== a) return false;
    for (let i = 0; i < want.length; i++) if (want[i] !== p.bytes[i]) return false;
    return allChecksumsExact(p) && classifyFrame(p.bytes, 0, p.bytes.length, 'tun', undefined, CheckFlags.All) === 0;
  };
  fc.assert(fc.property(pktArb, u32, u16, (p, a, port) => allChecksumsExact(p) && check(p, a, port)), RUNS);
  // addresses at the edges (all ones, zero) and every TTL from 1 up
  fc.assert(fc.property(pktArb, fc.constantFrom(0, 0xffffffff, 0x0000ffff, 0xffff0000), fc.constantFrom(0, 0xffff), (p, a, port) => check(p, a, port)), RUNS);
  // IP header checksums of 0x0000 and 0xffff, before and after: found by the identification
  const base = packet().ipv4({ src: '172.16.0.9', dst: '10.100.0.1', ttl: 64 }).tcp({ sport: 1024, dport: 80, flags: 'A' }).build();
  const udp0 = packet().ipv4({ src: '172.16.0.9', dst: '10.100.0.1', ttl: 2 }).udp({ sport: 53, dport: 53, checksum: false }).build();
  const udp = packet().ipv4({ src: '172.16.0.9', dst: '10.100.0.1', ttl: 9 }).udp({ sport: 53, dport: 53 }).payload(new Uint8Array([1, 2, 3])).build();
  for (const [bytes, proto, udpZero] of [[base, Proto.TCP, false], [udp0, Proto.UDP, true], [udp, Proto.UDP, false]] as const) {
    const p: Pkt = { bytes, proto, udpZero };
    const zero = withIpChecksum(p, 0);
    t.ok(zero, 'a header with checksum 0x0000');
    if (zero) {
      t.ok(check({ ...zero, bytes: zero.bytes.slice() }, 0x0a000002, 8080), 'checksum 0x0000 in');
      // 0xffff is the other zero of ones' complement: the same header, still valid
      const ff = { ...zero, bytes: zero.bytes.slice() };
      ff.bytes[10] = 0xff;
      ff.bytes[11] = 0xff;
      const want = stepwise(ff, 0x0a000002, 8080);
      natForwardDst(ff.bytes, 0, 0x0a000002, 8080);
      t.same(ff.bytes, want, 'checksum 0xffff in: as the two steps');
      t.ok(new Ipv4View(ff.bytes, 0, ff.bytes.length).verifyChecksum(), 'checksum 0xffff in: valid after');
    }
    // a result of 0x0000: search the new address
    let hit = 0;
    for (let a = 0x0a000000; a < 0x0a010000 && hit === 0; a++) {
      const b = p.bytes.slice();
      natForwardDst(b, 0, a, 8080);
      if (b[10] === 0 && b[11] === 0) {
        hit = a;
        t.ok(check({ ...p, bytes: p.bytes.slice() }, a, 8080), 'checksum 0x0000 out');
      }
    }
    t.not(hit, 0, 'an address giving checksum 0x0000');
  }
  // UDP: a checksum of 0 stays 0; a computed 0 goes out as 0xffff
  let udpFfff = 0;
  for (let port = 0; port <= 0xffff && udpFfff === 0; port++) {
    const b = udp.slice();
    natForwardDst(b, 0, 0x0a000002, port);
    if (b[26] === 0xff && b[27] === 0xff) udpFfff = port;
  }
  t.not(udpFfff, 0, 'a port giving a computed UDP checksum of 0 (sent as 0xffff)');
  t.ok(check({ bytes: udp.slice(), proto: Proto.UDP, udpZero: false }, 0x0a000002, udpFfff), 'UDP checksum 0xffff out');
  const z = udp0.slice();
  natForwardDst(z, 0, 0x0a000002, 8080);
  t.equal((z[26]! << 8) | z[27]!, 0, 'UDP checksum 0 stays 0');
  // TTL 0: nothing changes
  const dead = base.slice();
  dead[8] = 0;
  new Ipv4View(dead, 0, dead.length).setTtlCsum(0);
  const before = dead.slice();
  t.equal(natForwardDst(dead, 0, 0x0a000002, 8080), -1);
  t.same(dead, before, 'TTL 0: left alone');
  t.end();
});

t.test('ipv4HeaderCsumOk (words through wordsOf) agrees with a byte-wise sum, at any offset of any view', (t) => {
  // several buffers in turn, views with a byte offset into a larger one, headers at odd
  // offsets, near the end and beyond it, with options, valid and corrupted
  const big = new Uint8Array(4096);
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.integer({ min: 0, max: 3 }), fc.nat(), fc.integer({ min: 0, max: 15 }),
    fc.boolean(), fc.integer({ min: 0, max: 63 }),
    (data, where, offSeed, ihl, fix, viewOff) => {
      const b = where === 0 ? data : where === 1 ? new Uint8Array(data) : big.subarray(viewOff, viewOff + data.length);
      if (where >= 2) b.set(data);
      const off = data.length === 0 ? 0 : offSeed % (data.length + 4);
      const hl = ihl * 4;
      // make the header's checksum right where the whole header is in the buffer, so that
      // both answers occur
      if (fix && off + Math.max(hl, 20) <= b.length) {
        b[off + 10] = 0;
        b[off + 11] = 0;
        const c = checksum(b, off, Math.max(hl, 20));
        b[off + 10] = c >>> 8;
        b[off + 11] = c & 0xff;
      }
      let s = 0;
      for (let i = off; i < off + Math.max(hl, 20); i += 2) s += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
      const want = csumFold(s) === 0xffff;
      return ipv4HeaderCsumOk(b, off, hl) === want;
    },
  ), RUNS);
  t.end();
});
