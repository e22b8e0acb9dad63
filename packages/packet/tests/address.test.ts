// Addresses (typed errors, never a crash), flow keys, pcap round trip, reason names.
import t from 'tap';
import {
  AddressError, AddressErrorCode, cidrContains, flowHash, flowHashOf, flowPorts, formatCidr, formatEndpoint, formatIpv4,
  formatMac, icmpEchoIdOf, isIpv4, macToNumber, numberToMac, packet, parseCidr, parseEndpoint, parseIpv4, parseMac,
  parsePcap, pcapBytes, LinkType, PcapError, ParseReason, reasonName, srcPortOf, dstPortOf, REASON_COUNT, l4Offset,
  tcpFlags, TcpFlag,
} from '../src/index.js';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return e instanceof AddressError ? `${e.code}: ${e.message}` : `other: ${String(e)}`;
  }
}

t.test('parseIpv4 / formatIpv4', (t) => {
  t.equal(parseIpv4('10.0.0.1'), 0x0a000001);
  t.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  t.equal(parseIpv4('0.0.0.0'), 0);
  t.equal(formatIpv4(0x0a000001), '10.0.0.1');
  t.equal(formatIpv4(0xffffffff), '255.255.255.255');
  t.equal(code(() => parseIpv4('::1')), `${AddressErrorCode.Ipv6Unsupported}: IPv6 is not supported yet ('::1')`);
  t.equal(code(() => parseIpv4('2001:db8::1')).split(':')[0], AddressErrorCode.Ipv6Unsupported);
  for (const bad of ['x', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', ' 1.2.3.4', '1.2.3.4/24', '', '1.2.3.-4']) {
    t.equal(code(() => parseIpv4(bad)), `${AddressErrorCode.InvalidIpv4}: invalid IPv4 address '${bad}'`, bad);
  }
  t.equal(code(() => parseIpv4(undefined as unknown as string)).split(':')[0], AddressErrorCode.InvalidIpv4);
  t.ok(isIpv4('1.2.3.4'));
  t.notOk(isIpv4('1.2.3'));
  t.end();
});

t.test('parseCidr / parseEndpoint', (t) => {
  t.same(parseCidr('10.0.0.0/24'), { addr: 0x0a000000, prefix: 24, mask: 0xffffff00, network: 0x0a000000 });
  t.same(parseCidr('10.0.0.7/24').network, 0x0a000000);
  t.same(parseCidr('10.0.0.7').prefix, 32);
  t.same(parseCidr('0.0.0.0/0').mask, 0);
  t.equal(formatCidr(parseCidr('192.168.1.9/16')), '192.168.0.0/16');
  t.ok(cidrContains(parseCidr('10.0.0.0/8'), parseIpv4('10.200.1.1')));
  t.notOk(cidrContains(parseCidr('10.0.0.0/8'), parseIpv4('11.0.0.1')));
  t.equal(code(() => parseCidr('10.0.0.0/33')).split(':')[0], AddressErrorCode.InvalidCidr);
  t.equal(code(() => parseCidr('10.0.0.0/')).split(':')[0], AddressErrorCode.InvalidCidr);
  t.equal(code(() => parseCidr('fe80::/64')).split(':')[0], AddressErrorCode.Ipv6Unsupported);
  t.same(parseEndpoint('1.2.3.4:80'), { addr: 0x01020304, port: 80 });
  t.same(parseEndpoint('1.2.3.4:0'), { addr: 0x01020304, port: 0 });
  t.equal(formatEndpoint(0x01020304, 443), '1.2.3.4:443');
  t.equal(code(() => parseEndpoint('[::1]:80')).split(':')[0], AddressErrorCode.Ipv6Unsupported);
  t.equal(code(() => parseEndpoint('1.2.3.4')).split(':')[0], AddressErrorCode.InvalidEndpoint);
  t.equal(code(() => parseEndpoint('1.2.3.4:65536')).split(':')[0], AddressErrorCode.InvalidPort);
  t.equal(code(() => parseEndpoint('1.2.3.4:http')).split(':')[0], AddressErrorCode.InvalidPort);
  t.equal(code(() => parseEndpoint('1.2.3:80')).split(':')[0], AddressErrorCode.InvalidIpv4);
  t.end();
});

t.test('MACs', (t) => {
  const m = parseMac('02:00:5e:10:00:01');
  t.same([...m], [2, 0, 0x5e, 0x10, 0, 1]);
  t.same([...parseMac('02-00-5E-10-00-01')], [...m]);
  t.equal(formatMac(m), '02:00:5e:10:00:01');
  t.equal(macToNumber(m), 0x02005e100001);
  t.same([...numberToMac(0x02005e100001)], [...m]);
  for (const bad of ['02:00:5e:10:00', '02:00:5e:10:00:01:02', 'zz:00:00:00:00:00', '02:00-5e:10:00:01', '']) {
    t.equal(code(() => parseMac(bad)).split(':')[0], AddressErrorCode.InvalidMac, bad);
  }
  t.end();
});

t.test('flow keys and port helpers', (t) => {
  const tcp = packet().ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).tcp({ sport: 1000, dport: 80 }).build();
  t.equal(flowPorts(tcp, 0), ((1000 << 16) | 80) >>> 0);
  t.equal(srcPortOf(tcp, 0), 1000);
  t.equal(dstPortOf(tcp, 0), 80);
  t.equal(l4Offset(tcp, 0), 20);
  t.equal(icmpEchoIdOf(tcp, 0), -1);
  const h = flowHash(6, 0x01010101, 1000, 0x02020202, 80);
  t.equal(flowHashOf(tcp, 0), h);
  t.ok(h >= 0 && h <= 0xffffffff && Number.isInteger(h));
  t.not(flowHash(6, 0x01010101, 1001, 0x02020202, 80), h);
  t.not(flowHash(17, 0x01010101, 1000, 0x02020202, 80), h);
  t.not(flowHash(6, 0x01010101, 1000, 0x02020202, 80, 1), h);
  const echo = packet().ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).icmp({ type: 8, id: 0x4242, seq: 1 }).build();
  t.equal(icmpEchoIdOf(echo, 0), 0x4242);
  t.equal(flowPorts(echo, 0), 0x42424242);
  const frag = packet().ipv4({ src: '1.1.1.1', dst: '2.2.2.2', fragOffset: 3, protocol: 6 }).payload(8).build();
  t.equal(flowPorts(frag, 0), 0);
  t.equal(l4Offset(frag, 0), -1);
  // buckets spread: 4096 flows over 256 buckets, none empty-ish
  const buckets = new Array<number>(256).fill(0);
  for (let i = 0; i < 4096; i++) buckets[flowHash(6, 0x0a000000 + i, 1024 + i, 0x0a0000ff, 80) & 255]!++;
  t.ok(Math.max(...buckets) < 40 && Math.min(...buckets) > 2, 'hash spreads');
  t.end();
});

t.test('pcap: bytes round trip, big-endian/nano files, errors', (t) => {
  const a = packet().ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).udp({ sport: 1, dport: 2 }).build();
  const b = packet().ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).tcp({ sport: 1, dport: 2 }).payload(5).build();
  const bytes = pcapBytes([a, { data: b, time: 1700000000.25 }], LinkType.Raw);
  const f = parsePcap(bytes);
  t.equal(f.linktype, 101);
  t.equal(f.records.length, 2);
  t.same([...f.records[0]!.data], [...a]);
  t.same([...f.records[1]!.data], [...b]);
  t.equal(f.records[1]!.time, 1700000000.25);
  t.equal(f.records[1]!.origLen, b.length);
  // a big-endian nanosecond file
  const be = new Uint8Array(24 + 16 + 3);
  const dv = new DataView(be.buffer);
  dv.setUint32(0, 0xa1b23c4d);
  dv.setUint16(4, 2);
  dv.setUint16(6, 4);
  dv.setUint32(16, 65535);
  dv.setUint32(20, 1);
  dv.setUint32(24, 10);
  dv.setUint32(28, 500_000_000);
  dv.setUint32(32, 3);
  dv.setUint32(36, 60);
  be.set([7, 8, 9], 40);
  const g = parsePcap(be);
  t.equal(g.linktype, 1);
  t.equal(g.records[0]!.time, 10.5);
  t.equal(g.records[0]!.origLen, 60);
  t.same([...g.records[0]!.data], [7, 8, 9]);
  t.throws(() => parsePcap(new Uint8Array(10)), PcapError);
  t.throws(() => parsePcap(new Uint8Array(24)), { code: 'EBADMAGIC' });
  t.throws(() => parsePcap(bytes.subarray(0, bytes.length - 1)), { code: 'ETRUNCATED' });
  t.end();
});

t.test('reason names and builder flag letters', (t) => {
  t.equal(reasonName(ParseReason.Ok), 'ok');
  t.equal(reasonName(ParseReason.Ipv4BadIhl), 'ipv4-bad-ihl');
  t.equal(reasonName(ParseReason.Ipv4TotalLengthBeyondBuffer), 'ipv4-total-length-beyond-buffer');
  t.equal(reasonName(999), 'unknown-999');
  t.equal(REASON_COUNT, Object.keys(ParseReason).length);
  const names = new Set(Object.values(ParseReason).map(reasonName));
  t.equal(names.size, REASON_COUNT, 'names are unique');
  t.equal(tcpFlags('SA'), TcpFlag.SYN | TcpFlag.ACK);
  t.equal(tcpFlags('fpu'), TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG);
  t.throws(() => tcpFlags('Z'));
  t.end();
});
