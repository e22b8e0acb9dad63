// classifyFrame / classifyIpv4 against an oracle built from the separate checks (checkIpv4,
// checkTcp, checkUdp, checkIcmp) and the views: for builder-made packets and their
// mutations, the verdict is the one the checks give in order, and a valid packet's
// FrameInfo holds exactly what the views read. This pins the parser's fast path (a whole
// TCP/UDP datagram) to the full one.
import t from 'tap';
import fc from 'fast-check';
import { Proto } from '@tunvs/model';
import {
  CheckFlags, FrameInfo, FrameKind, IcmpView, Ipv4View, ParseReason, TcpView, UdpView, checkIcmp, checkIpv4, checkSctp, checkTcp, checkUdp,
  classifyIpv4, isIcmpError, packet, quoteOf, reasonName,
} from '../src/index.js';

/** The verdict the checks give, in classifyIpv4's order. */
function oracle(b: Uint8Array, flags: number): number {
  const r = checkIpv4(b, 0, b.length, flags);
  if (r !== 0) return r;
  const ip = new Ipv4View(b, 0, b.length);
  if (ip.fragOffset !== 0) return 0;
  const frag = ip.isFragment;
  const l4 = ip.headerLen;
  const len = ip.totalLength - l4;
  switch (ip.protocol) {
    case Proto.TCP:
      if (frag && len < 20) return ParseReason.FirstFragmentTruncated;
      return checkTcp(b, l4, len, frag ? 0 : flags, ip.src, ip.dst);
    case Proto.UDP:
      if (frag && len < 8) return ParseReason.FirstFragmentTruncated;
      return checkUdp(b, l4, len, frag ? 0 : flags, ip.src, ip.dst, frag);
    case Proto.SCTP:
      if (frag) return len < 16 ? ParseReason.FirstFragmentTruncated : 0;
      return checkSctp(b, l4, len, flags);
    case Proto.ICMP:
      if (len < 8) return frag ? ParseReason.FirstFragmentTruncated : ParseReason.IcmpTruncated;
      return checkIcmp(b, l4, len, flags, frag);
    default:
      return 0;
  }
}

const arbPacket = fc.record({
  proto: fc.constantFrom('tcp', 'udp', 'icmp', 'icmp-error', 'sctp', 'gre'),
  options: fc.boolean(),
  mf: fc.boolean(),
  fragOffset: fc.constantFrom(0, 0, 0, 7),
  df: fc.boolean(),
  ttl: fc.integer({ min: 0, max: 255 }),
  id: fc.integer({ min: 0, max: 0xffff }),
  src: fc.integer({ min: 0, max: 0xffffffff }),
  dst: fc.integer({ min: 0, max: 0xffffffff }),
  sport: fc.integer({ min: 0, max: 0xffff }),
  dport: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xff }),
  payload: fc.integer({ min: 0, max: 40 }),
  udpChecksum: fc.boolean(),
});

type Spec = typeof arbPacket extends fc.Arbitrary<infer T> ? T : never;

function build(s: Spec): Uint8Array {
  const b = packet().ipv4({
    src: s.src, dst: s.dst, ttl: s.ttl, id: s.id, df: s.df, mf: s.mf, fragOffset: s.fragOffset,
    ...(s.options ? { options: Uint8Array.of(1, 1, 1, 0) } : {}),
  });
  const inner = packet().ipv4({ src: s.dst, dst: s.src }).udp({ sport: s.dport, dport: s.sport }).payload(4).build();
  switch (s.proto) {
    case 'tcp':
      return b.tcp({ sport: s.sport, dport: s.dport, flags: s.flags }).payload(s.payload).build();
    case 'udp':
      return b.udp({ sport: s.sport, dport: s.dport, checksum: s.udpChecksum }).payload(s.payload).build();
    case 'icmp':
      return b.icmp({ type: 8, id: s.sport, seq: s.dport }).payload(s.payload).build();
    case 'icmp-error':
      return b.icmp({ type: 3, code: 3 }).payload(quoteOf(inner)).build();
    case 'sctp':
      return b.sctp({ sport: s.sport, dport: s.dport, vtag: s.id, chunks: [{ type: s.flags % 16, value: s.payload }, { type: 0, value: 3 }] }).build();
    default:
      return b.ipv4({ src: s.src, dst: s.dst, protocol: Proto.GRE, mf: s.mf, fragOffset: s.fragOffset }).payload(s.payload + 4).build();
  }
}

const FLAGS = [CheckFlags.None, CheckFlags.IpChecksum, CheckFlags.IcmpChecksum, CheckFlags.IpChecksum | CheckFlags.IcmpChecksum, CheckFlags.All];

t.test('verdicts: classifyIpv4 gives what the checks give, for packets and their mutations', (t) => {
  const info = new FrameInfo();
  fc.assert(
    fc.property(arbPacket, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat(), fc.constantFrom(...FLAGS), (s, edits, cut, flags) => {
      let b = build(s);
      for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
      if (cut % 4 === 0) b = b.slice(0, cut % (b.length + 1));
      const want = oracle(b, flags);
      const got = classifyIpv4(b, 0, b.length, info, flags);
      if (got !== want) throw new Error(`classify ${reasonName(got)}, checks ${reasonName(want)}`);
      return (got === 0) === (info.kind === FrameKind.Ipv4);
    }),
    { seed: 12, numRuns: 20000 },
  );
  t.end();
});

t.test('fields: a valid packet\'s FrameInfo holds what the views read', (t) => {
  const info = new FrameInfo();
  fc.assert(
    fc.property(arbPacket, (s) => {
      const b = build(s);
      if (classifyIpv4(b, 0, b.length, info, CheckFlags.All) !== 0) return true;
      const ip = new Ipv4View(b, 0, b.length);
      const same = (a: unknown, c: unknown, what: string): void => {
        if (a !== c) throw new Error(`${what}: ${String(a)} != ${String(c)}`);
      };
      same(info.kind, FrameKind.Ipv4, 'kind');
      same(info.l3Off, 0, 'l3Off');
      same(info.ipHeaderLen, ip.headerLen, 'ipHeaderLen');
      same(info.ipTotalLen, ip.totalLength, 'ipTotalLen');
      same(info.proto, ip.protocol, 'proto');
      same(info.src, ip.src, 'src');
      same(info.dst, ip.dst, 'dst');
      same(info.ipId, ip.id, 'ipId');
      same(info.ttl, ip.ttl, 'ttl');
      same(info.fragWord, ip.flagsFrag, 'fragWord');
      same(info.df, ip.df, 'df');
      same(info.mf, ip.mf, 'mf');
      same(info.fragment, ip.isFragment, 'fragment');
      if (ip.fragOffset !== 0) {
        same(info.l4Off, -1, 'l4Off of a later fragment');
        return true;
      }
      same(info.l4Off, ip.headerLen, 'l4Off');
      same(info.l4Len, ip.payloadLen, 'l4Len');
      if (ip.protocol === Proto.TCP) {
        const v = new TcpView(b, info.l4Off, info.l4Len);
        same(info.srcPort, v.srcPort, 'tcp srcPort');
        same(info.dstPort, v.dstPort, 'tcp dstPort');
        same(info.tcpFlags, v.flags & 0xff, 'tcpFlags');
      } else if (ip.protocol === Proto.UDP) {
        const v = new UdpView(b, info.l4Off, info.l4Len);
        same(info.srcPort, v.srcPort, 'udp srcPort');
        same(info.dstPort, v.dstPort, 'udp dstPort');
        same(info.tcpFlags, 0, 'tcpFlags of udp');
      } else if (ip.protocol === Proto.SCTP) {
        same(info.srcPort, (b[info.l4Off]! << 8) | b[info.l4Off + 1]!, 'sctp srcPort');
        same(info.dstPort, (b[info.l4Off + 2]! << 8) | b[info.l4Off + 3]!, 'sctp dstPort');
        same(info.sctpChunk, b[info.l4Off + 12], 'sctpChunk');
      } else {
        same(info.srcPort, 0, 'no ports');
      }
      if (ip.protocol === Proto.ICMP) {
        const v = new IcmpView(b, info.l4Off, info.l4Len);
        same(info.icmpType, v.type, 'icmpType');
        same(info.icmpCode, v.code, 'icmpCode');
        if (isIcmpError(v.type) && !info.fragment) {
          same(info.quoteOff, v.dataOff, 'quoteOff');
          same(info.quoteLen, v.dataLen, 'quoteLen');
        } else same(info.quoteOff, -1, 'no quote');
      } else {
        same(info.icmpType, -1, 'not icmp');
        same(info.quoteOff, -1, 'no quote');
      }
      return true;
    }),
    { seed: 13, numRuns: 5000 },
  );
  t.end();
});
