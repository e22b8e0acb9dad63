// Golden packets as commented hex, with the four tests per protocol: deconstruct
// (getters), construct (setters on a 0xa5 buffer), parse (bytes -> Repr), emit (Repr -> bytes).
// Checksums in these bytes were computed independently (Python, RFC 1071).
import { Proto } from '@tunvs/model';
import t from 'tap';
import {
  ArpOp, ArpView, EtherType, EthernetView, IcmpQuoteView, IcmpType, IcmpUnreachCode, IcmpView, Ipv4View,
  TcpFlag, TcpView, UdpView, emitArp, emitEthernet, emitIcmp, emitIpv4, emitTcp, emitUdp, parseArp, parseEthernet,
  parseIcmp, parseIpv4, parseIpv4Header, parseMac, parseTcp, parseUdp, CheckFlags, classifyFrame, FrameInfo,
  FrameKind, checkIcmpQuote, emitIcmpError, formatMac,
} from '../src/index.js';
import { a5, hex, toHex } from './helpers.js';

// ---- 1. Ethernet + 802.1Q + IPv4 + TCP SYN with an MSS option --------------------------
const TCP_SYN = hex(`
  02 00 00 00 00 02  02 00 00 00 00 01        # eth: dst, src
  81 00  a0 64  08 00                          # 802.1Q TPID, PCP 5 DEI 0 VID 100, IPv4
  45 00 00 2c  12 34 40 00  40 06 14 34        # ipv4: v4 ihl5, len 44, id 0x1234, DF, ttl 64, tcp, csum
  0a 00 00 01  0a 00 00 64                     # ipv4: 10.0.0.1 -> 10.0.0.100
  9c 40 00 50  01 02 03 04  00 00 00 00        # tcp: 40000 -> 80, seq 0x01020304, ack 0
  60 02 fa f0  e8 3a 00 00                     # tcp: doff 6, SYN, win 64240, csum, urg 0
  02 04 05 b4                                  # tcp option: MSS 1460
`);
const ETH_SRC = parseMac('02:00:00:00:00:01');
const ETH_DST = parseMac('02:00:00:00:00:02');
const SRC = 0x0a000001;
const DST = 0x0a000064;

t.test('ethernet+vlan: deconstruct', (t) => {
  const e = new EthernetView(TCP_SYN, 0, TCP_SYN.length);
  t.equal(formatMac(e.dstMac()), '02:00:00:00:00:02');
  t.equal(formatMac(e.srcMac()), '02:00:00:00:00:01');
  t.equal(e.src48, 0x020000000001);
  t.equal(e.etherType, EtherType.Vlan);
  t.ok(e.hasVlan);
  t.equal(e.vlanId, 100);
  t.equal(e.vlanPcp, 5);
  t.equal(e.vlanDei, false);
  t.equal(e.payloadType, EtherType.Ipv4);
  t.equal(e.headerLen, 18);
  t.equal(e.dstIsMulticast, false);
  t.end();
});

t.test('ethernet+vlan: construct, parse, emit', (t) => {
  const b = a5(18);
  const e = new EthernetView(b, 0, 18);
  e.setDstMac(ETH_DST);
  e.src48 = 0x020000000001;
  e.etherType = EtherType.Vlan;
  e.vlanTci = (5 << 13) | 100;
  e.payloadType = EtherType.Ipv4;
  t.equal(toHex(b), toHex(TCP_SYN.subarray(0, 18)));
  const repr = parseEthernet(TCP_SYN, 0, TCP_SYN.length);
  t.same(repr, { dst: ETH_DST, src: ETH_SRC, etherType: EtherType.Ipv4, vlan: { id: 100, pcp: 5, dei: false } });
  const out = a5(18);
  t.equal(emitEthernet(repr!, out, 0), 18);
  t.equal(toHex(out), toHex(TCP_SYN.subarray(0, 18)));
  t.equal(parseEthernet(TCP_SYN, 0, 17), null);
  t.end();
});

t.test('ipv4: deconstruct', (t) => {
  const ip = new Ipv4View(TCP_SYN, 18, TCP_SYN.length - 18);
  t.equal(ip.version, 4);
  t.equal(ip.ihl, 5);
  t.equal(ip.headerLen, 20);
  t.equal(ip.tos, 0);
  t.equal(ip.totalLength, 44);
  t.equal(ip.id, 0x1234);
  t.equal(ip.df, true);
  t.equal(ip.mf, false);
  t.equal(ip.flags, 2);
  t.equal(ip.fragOffset, 0);
  t.equal(ip.isFragment, false);
  t.equal(ip.ttl, 64);
  t.equal(ip.protocol, Proto.TCP);
  t.equal(ip.checksum, 0x1434);
  t.equal(ip.src, SRC);
  t.equal(ip.dst, DST);
  t.equal(ip.payloadOff, 38);
  t.equal(ip.payloadLen, 24);
  t.ok(ip.verifyChecksum());
  t.equal(ip.computeChecksum(), 0x1434);
  t.end();
});

t.test('ipv4: construct', (t) => {
  const b = a5(20);
  const ip = new Ipv4View(b, 0, 20);
  ip.version = 4;
  ip.ihl = 5;
  ip.tos = 0;
  ip.totalLength = 44;
  ip.id = 0x1234;
  ip.flagsFrag = 0;
  ip.df = true;
  ip.ttl = 64;
  ip.protocol = Proto.TCP;
  ip.src = SRC;
  ip.dst = DST;
  ip.fillChecksum();
  t.equal(toHex(b), toHex(TCP_SYN.subarray(18, 38)));
  t.end();
});

t.test('ipv4: parse and emit', (t) => {
  const repr = parseIpv4Header(TCP_SYN, 18, TCP_SYN.length - 18);
  t.same(repr, {
    src: SRC, dst: DST, protocol: Proto.TCP, ttl: 64, tos: 0, id: 0x1234, df: true, mf: false, fragOffset: 0,
    payloadLength: 24,
  });
  const out = a5(20);
  t.equal(emitIpv4(repr!, out, 0), 20);
  t.equal(toHex(out), toHex(TCP_SYN.subarray(18, 38)));
  t.end();
});

t.test('tcp: deconstruct', (t) => {
  const tcp = new TcpView(TCP_SYN, 38, 24);
  t.equal(tcp.srcPort, 40000);
  t.equal(tcp.dstPort, 80);
  t.equal(tcp.seq, 0x01020304);
  t.equal(tcp.ack, 0);
  t.equal(tcp.dataOffset, 6);
  t.equal(tcp.headerLen, 24);
  t.equal(tcp.optionsLen, 4);
  t.equal(tcp.flags, TcpFlag.SYN);
  t.ok(tcp.hasFlags(TcpFlag.SYN));
  t.notOk(tcp.hasFlags(TcpFlag.SYN | TcpFlag.ACK));
  t.equal(tcp.window, 64240);
  t.equal(tcp.checksum, 0xe83a);
  t.equal(tcp.urgent, 0);
  t.equal(tcp.payloadLen, 0);
  t.ok(tcp.verifyChecksum(SRC, DST));
  t.equal(tcp.computeChecksum(SRC, DST), 0xe83a);
  t.end();
});

t.test('tcp: construct, parse, emit', (t) => {
  const b = a5(24);
  const tcp = new TcpView(b, 0, 24);
  tcp.srcPort = 40000;
  tcp.dstPort = 80;
  tcp.seq = 0x01020304;
  tcp.ack = 0;
  b[12] = 0;
  tcp.dataOffset = 6;
  tcp.flags = TcpFlag.SYN;
  tcp.window = 64240;
  tcp.urgent = 0;
  b.set([2, 4, 5, 0xb4], 20);
  tcp.fillChecksum(SRC, DST);
  t.equal(toHex(b), toHex(TCP_SYN.subarray(38)));
  const repr = parseTcp(TCP_SYN, 38, 24, CheckFlags.L4Checksum, SRC, DST);
  t.same(repr, {
    srcPort: 40000, dstPort: 80, seq: 0x01020304, ack: 0, flags: TcpFlag.SYN, window: 64240, urgent: 0,
    options: new Uint8Array([2, 4, 5, 0xb4]),
  });
  const out = a5(24);
  t.equal(emitTcp(repr!, out, 0, SRC, DST, 0), 24);
  t.equal(toHex(out), toHex(TCP_SYN.subarray(38)));
  t.end();
});

t.test('whole frame classifies as IPv4/TCP on tap', (t) => {
  const info = new FrameInfo();
  t.equal(classifyFrame(TCP_SYN, 0, TCP_SYN.length, 'tap', info, CheckFlags.All), 0);
  t.equal(info.kind, FrameKind.Ipv4);
  t.equal(info.vlanId, 100);
  t.equal(info.l3Off, 18);
  t.equal(info.l4Off, 38);
  t.equal(info.l4Len, 24);
  t.equal(info.proto, Proto.TCP);
  t.end();
});

// ---- 2. IPv4 with an option (Router Alert) + UDP ---------------------------------------
const UDP_OPT = hex(`
  46 00 00 24  be ef 00 00  01 11 e2 79        # ipv4: ihl 6, len 36, id 0xbeef, no flags, ttl 1, udp, csum
  c0 a8 01 0a  c0 a8 01 01                     # ipv4: 192.168.1.10 -> 192.168.1.1
  94 04 00 00                                  # ipv4 option: router alert
  14 e9 00 35  00 0c 88 8b                     # udp: 5353 -> 53, len 12, csum
  70 69 6e 67                                  # payload "ping"
`);

t.test('ipv4 options + udp: deconstruct', (t) => {
  const ip = new Ipv4View(UDP_OPT, 0, UDP_OPT.length);
  t.equal(ip.ihl, 6);
  t.equal(ip.optionsLen, 4);
  t.equal(ip.flags, 0);
  t.equal(ip.ttl, 1);
  t.equal(ip.protocol, Proto.UDP);
  t.ok(ip.verifyChecksum());
  const udp = new UdpView(UDP_OPT, ip.payloadOff, ip.payloadLen);
  t.equal(udp.srcPort, 5353);
  t.equal(udp.dstPort, 53);
  t.equal(udp.length, 12);
  t.equal(udp.payloadLen, 4);
  t.equal(udp.checksum, 0x888b);
  t.ok(udp.verifyChecksum(ip.src, ip.dst));
  t.end();
});

t.test('ipv4 options + udp: construct', (t) => {
  const b = a5(36);
  const ip = new Ipv4View(b, 0, 36);
  b[0] = 0;
  ip.version = 4;
  ip.ihl = 6;
  ip.tos = 0;
  ip.totalLength = 36;
  ip.id = 0xbeef;
  ip.flagsFrag = 0;
  ip.ttl = 1;
  ip.protocol = Proto.UDP;
  ip.src = 0xc0a8010a;
  ip.dst = 0xc0a80101;
  b.set([0x94, 4, 0, 0], 20);
  ip.fillChecksum();
  const udp = new UdpView(b, 24, 12);
  udp.srcPort = 5353;
  udp.dstPort = 53;
  udp.length = 12;
  b.set([0x70, 0x69, 0x6e, 0x67], 32);
  udp.fillChecksum(ip.src, ip.dst);
  t.equal(toHex(b), toHex(UDP_OPT));
  t.end();
});

t.test('ipv4 options + udp: parse, emit', (t) => {
  const ipr = parseIpv4Header(UDP_OPT, 0, UDP_OPT.length);
  t.same(ipr, {
    src: 0xc0a8010a, dst: 0xc0a80101, protocol: 17, ttl: 1, tos: 0, id: 0xbeef, df: false, mf: false, fragOffset: 0,
    payloadLength: 12, options: new Uint8Array([0x94, 4, 0, 0]),
  });
  const ur = parseUdp(UDP_OPT, 24, 12, CheckFlags.L4Checksum, ipr!.src, ipr!.dst);
  t.same(ur, { srcPort: 5353, dstPort: 53, payloadLength: 4 });
  const out = a5(36);
  out.set([0x70, 0x69, 0x6e, 0x67], 32);
  emitUdp(ur!, out, 24, ipr!.src, ipr!.dst);
  emitIpv4(ipr!, out, 0);
  t.equal(toHex(out), toHex(UDP_OPT));
  t.equal(classifyFrame(UDP_OPT, 0, UDP_OPT.length, 'tun', undefined, CheckFlags.All), 0);
  t.end();
});

// ---- 3. ARP request on Ethernet ---------------------------------------------------------
const ARP_REQ = hex(`
  ff ff ff ff ff ff  02 00 00 00 00 01  08 06  # eth: broadcast <- 02::01, ARP
  00 01 08 00 06 04 00 01                      # arp: ethernet, ipv4, 6, 4, request
  02 00 00 00 00 01  0a 00 00 01               # arp: sender 02::01 10.0.0.1
  00 00 00 00 00 00  0a 00 00 64               # arp: target ?, 10.0.0.100
`);

t.test('arp: deconstruct, construct, parse, emit', (t) => {
  const a = new ArpView(ARP_REQ, 14, 28);
  t.equal(a.htype, 1);
  t.equal(a.ptype, 0x0800);
  t.equal(a.hlen, 6);
  t.equal(a.plen, 4);
  t.equal(a.op, ArpOp.Request);
  t.equal(formatMac(a.senderMac()), '02:00:00:00:00:01');
  t.equal(a.senderIp, SRC);
  t.equal(formatMac(a.targetMac()), '00:00:00:00:00:00');
  t.equal(a.targetIp, DST);

  const b = a5(28);
  const w = new ArpView(b, 0, 28);
  w.htype = 1;
  w.ptype = 0x0800;
  w.hlen = 6;
  w.plen = 4;
  w.op = ArpOp.Request;
  w.setSenderMac(ETH_SRC);
  w.senderIp = SRC;
  w.setTargetMac(new Uint8Array(6));
  w.targetIp = DST;
  t.equal(toHex(b), toHex(ARP_REQ.subarray(14)));

  const repr = parseArp(ARP_REQ, 14, 28);
  t.same(repr, { op: 1, senderMac: ETH_SRC, senderIp: SRC, targetMac: new Uint8Array(6), targetIp: DST });
  const out = a5(28);
  t.equal(emitArp(repr!, out, 0), 28);
  t.equal(toHex(out), toHex(ARP_REQ.subarray(14)));
  const info = new FrameInfo();
  t.equal(classifyFrame(ARP_REQ, 0, ARP_REQ.length, 'tap', info), 0);
  t.equal(info.kind, FrameKind.Arp);
  t.equal(info.l3Off, 14);
  t.end();
});

// ---- 4. ICMP echo request ---------------------------------------------------------------
const ECHO = hex(`
  45 00 00 24  00 00 40 00  3f 01 7f b7        # ipv4: len 36, DF, ttl 63, icmp, csum
  ac 10 00 02  08 08 08 08                     # ipv4: 172.16.0.2 -> 8.8.8.8
  08 00 4a 36  1c 2d 00 07                     # icmp: echo request, csum, id 0x1c2d, seq 7
  61 62 63 64 65 66 67 68                      # data "abcdefgh"
`);

t.test('icmp echo: deconstruct, construct, parse, emit', (t) => {
  const ic = new IcmpView(ECHO, 20, 16);
  t.equal(ic.type, IcmpType.EchoRequest);
  t.equal(ic.code, 0);
  t.equal(ic.checksum, 0x4a36);
  t.equal(ic.id, 0x1c2d);
  t.equal(ic.seq, 7);
  t.ok(ic.isEcho);
  t.notOk(ic.isError);
  t.equal(ic.dataLen, 8);
  t.ok(ic.verifyChecksum());

  const b = a5(16);
  const w = new IcmpView(b, 0, 16);
  w.type = 8;
  w.code = 0;
  w.id = 0x1c2d;
  w.seq = 7;
  b.set(ECHO.subarray(28), 8);
  w.fillChecksum();
  t.equal(toHex(b), toHex(ECHO.subarray(20)));

  const repr = parseIcmp(ECHO, 20, 16, CheckFlags.L4Checksum);
  t.same(repr, { type: 8, code: 0, rest: 0x1c2d0007 });
  const out = a5(16);
  out.set(ECHO.subarray(28), 8);
  emitIcmp(repr!, out, 0, 8);
  t.equal(toHex(out), toHex(ECHO.subarray(20)));
  t.equal(classifyFrame(ECHO, 0, ECHO.length, 'tun', undefined, CheckFlags.All), 0);
  t.end();
});

// ---- 5. ICMP fragmentation needed, quoting an IPv4/UDP packet --------------------------
const FRAG_NEEDED = hex(`
  45 c0 00 38  00 00 00 00  40 01 5b f2        # ipv4: tos 0xc0, len 56, ttl 64, icmp, csum
  0a 09 09 09  0a 01 01 01                     # ipv4: 10.9.9.9 -> 10.1.1.1
  03 04 03 00  00 00 05 78                     # icmp: dest unreachable / frag needed, csum, MTU 1400
  45 00 05 dc  00 01 40 00  40 11 1e 0b        # quote ipv4: len 1500, id 1, DF, ttl 64, udp, csum
  0a 01 01 01  0a 02 02 02                     # quote ipv4: 10.1.1.1 -> 10.2.2.2
  30 39 12 b5  05 c8 ab cd                     # quote udp: 12345 -> 4789, len 1480, csum
`);

t.test('icmp frag-needed: deconstruct with the quote view', (t) => {
  const ic = new IcmpView(FRAG_NEEDED, 20, 36);
  t.equal(ic.type, IcmpType.DestUnreachable);
  t.equal(ic.code, IcmpUnreachCode.FragNeeded);
  t.equal(ic.nextHopMtu, 1400);
  t.ok(ic.isError);
  t.ok(ic.verifyChecksum());
  t.equal(checkIcmpQuote(FRAG_NEEDED, ic.dataOff, ic.dataLen), 0);
  const q = new IcmpQuoteView(FRAG_NEEDED, ic.dataOff, ic.dataLen);
  t.equal(q.src, 0x0a010101);
  t.equal(q.dst, 0x0a020202);
  t.equal(q.protocol, Proto.UDP);
  t.equal(q.totalLength, 1500);
  t.ok(q.verifyChecksum());
  t.equal(q.srcPort, 12345);
  t.equal(q.dstPort, 4789);
  t.same(parseIcmp(FRAG_NEEDED, 20, 36, CheckFlags.L4Checksum), { type: 3, code: 4, rest: 1400 });
  t.equal(classifyFrame(FRAG_NEEDED, 0, FRAG_NEEDED.length, 'tun', undefined, CheckFlags.All), 0);
  t.end();
});

t.test('icmp frag-needed: emitIcmpError builds the golden bytes', (t) => {
  // the original: the quoted header + 8 bytes + the rest of a 1500-byte datagram
  const orig = new Uint8Array(1500);
  orig.set(FRAG_NEEDED.subarray(28));
  const out = a5(100);
  const n = emitIcmpError(out, 0, orig, 0, orig.length, IcmpType.DestUnreachable, IcmpUnreachCode.FragNeeded,
    parseIpv4('10.9.9.9'), 1400, 64);
  t.equal(n, FRAG_NEEDED.length);
  t.equal(toHex(out.subarray(0, n)), toHex(FRAG_NEEDED));
  t.end();
});

t.test('icmp errors are not sent about errors, later fragments or broadcast sources', (t) => {
  const out = new Uint8Array(100);
  // an ICMP error about an ICMP error
  t.equal(emitIcmpError(out, 0, FRAG_NEEDED, 0, FRAG_NEEDED.length, 11, 0, 1), 0);
  // but about an echo it is fine
  t.equal(emitIcmpError(out, 0, ECHO, 0, ECHO.length, 11, 0, 1), 56);
  const frag = ECHO.slice();
  new Ipv4View(frag, 0, frag.length).fragOffset = 1;
  t.equal(emitIcmpError(out, 0, frag, 0, frag.length, 11, 0, 1), 0);
  const bcast = ECHO.slice();
  new Ipv4View(bcast, 0, bcast.length).src = 0xffffffff;
  t.equal(emitIcmpError(out, 0, bcast, 0, bcast.length, 3, 3, 1), 0);
  t.equal(emitIcmpError(out, 0, ECHO, 0, 10, 3, 3, 1), 0);
  t.end();
});

// ---- 6. ICMP time exceeded built by emitIcmpError, checked field by field ---------------
t.test('icmp time exceeded about a TCP packet', (t) => {
  const ip = TCP_SYN.subarray(18);
  const out = a5(100);
  const n = emitIcmpError(out, 0, ip, 0, ip.length, IcmpType.TimeExceeded, 0, 0x0a000101);
  t.equal(n, 20 + 8 + 28);
  const v = new Ipv4View(out, 0, n);
  t.equal(v.dst, SRC);
  t.equal(v.src, 0x0a000101);
  t.equal(v.protocol, Proto.ICMP);
  t.equal(v.totalLength, n);
  t.ok(v.verifyChecksum());
  const ic = new IcmpView(out, 20, n - 20);
  t.equal(ic.type, 11);
  t.equal(ic.rest, 0);
  t.ok(ic.verifyChecksum());
  t.equal(toHex(out.subarray(28, n)), toHex(ip.subarray(0, 28)));
  const q = new IcmpQuoteView(out, 28, n - 28);
  t.equal(q.srcPort, 40000);
  t.equal(q.dstPort, 80);
  t.equal(classifyFrame(out, 0, n, 'tun', undefined, CheckFlags.All), 0);
  t.end();
});
