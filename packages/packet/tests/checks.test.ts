// One named reason per kind of bad input, built with the builder's overrides; fragments.
import { Proto } from '@tunvs/model';
import t from 'tap';
import {
  CheckFlags, FrameInfo, FrameKind, ParseReason, classifyFrame, checkIpv4, natRewriteDst, packet, reasonName, Ipv4View,
  TcpView, parseIpv4,
} from '../src/index.js';

const ip = { src: '10.0.0.1', dst: '10.0.0.2' };
function why(b: Uint8Array, layer: 'tun' | 'tap' = 'tun', flags: number = CheckFlags.All, len = b.length): string {
  return reasonName(classifyFrame(b, 0, len, layer, undefined, flags));
}

t.test('each malformation gets its reason', (t) => {
  const good = packet().ipv4(ip).tcp({ sport: 1, dport: 2 }).payload(4).build();
  t.equal(why(good), 'ok');
  t.equal(why(good, 'tun', CheckFlags.All, 19), 'ipv4-truncated');
  const v6 = good.slice(); v6[0] = 0x65;
  t.equal(why(v6), 'ipv6-unsupported');
  const v5 = good.slice(); v5[0] = 0x55;
  t.equal(why(v5), 'ipv4-bad-version');
  const ihl4 = good.slice(); ihl4[0] = 0x44;
  t.equal(why(ihl4), 'ipv4-bad-ihl');
  const ihlBig = good.slice(); ihlBig[0] = 0x4f;
  t.equal(why(ihlBig, 'tun', CheckFlags.None, 40), 'ipv4-header-truncated');
  t.equal(why(packet().ipv4({ ...ip, totalLength: 100 }).tcp({ sport: 1, dport: 2 }).build()), 'ipv4-total-length-beyond-buffer');
  t.equal(why(packet().ipv4({ ...ip, totalLength: 19 }).tcp({ sport: 1, dport: 2 }).build()), 'ipv4-total-length-short');
  t.equal(why(packet().ipv4({ ...ip, checksum: 1 }).tcp({ sport: 1, dport: 2 }).build()), 'ipv4-bad-checksum');
  t.equal(why(packet().ipv4({ ...ip, checksum: 1 }).tcp({ sport: 1, dport: 2 }).build(), 'tun', CheckFlags.None), 'ok');
  t.equal(why(packet().ipv4({ ...ip, options: new Uint8Array([0x07, 9, 0, 0]) }).udp({ sport: 1, dport: 2 }).build()), 'ipv4-bad-options');
  t.equal(why(packet().ipv4({ ...ip, options: new Uint8Array([0x07, 1, 0, 0]) }).udp({ sport: 1, dport: 2 }).build()), 'ipv4-bad-options');
  t.equal(why(packet().ipv4({ ...ip, options: new Uint8Array([1, 1, 0, 0x55]) }).udp({ sport: 1, dport: 2 }).build()), 'ok');
  t.equal(why(packet().ipv4({ ...ip, fragOffset: 0x1fff, protocol: 17 }).payload(16).build()), 'ipv4-fragment-too-large');
  t.equal(why(packet().ipv4({ ...ip, protocol: Proto.TCP }).payload(10).build()), 'tcp-truncated');
  const doff = packet().ipv4(ip).tcp({ sport: 1, dport: 2 }).build();
  new TcpView(doff, 20, 20).dataOffset = 4;
  t.equal(why(doff, 'tun', CheckFlags.IpChecksum), 'tcp-bad-data-offset');
  new TcpView(doff, 20, 20).dataOffset = 6;
  t.equal(why(doff, 'tun', CheckFlags.IpChecksum), 'tcp-bad-data-offset');
  t.equal(why(packet().ipv4(ip).tcp({ sport: 1, dport: 2, checksum: 5 }).build()), 'tcp-bad-checksum');
  t.equal(why(packet().ipv4(ip).tcp({ sport: 1, dport: 2, checksum: 5 }).build(), 'tun', CheckFlags.IpChecksum), 'ok');
  t.equal(why(packet().ipv4({ ...ip, protocol: Proto.UDP }).payload(7).build()), 'udp-truncated');
  t.equal(why(packet().ipv4(ip).udp({ sport: 1, dport: 2, length: 7 }).build()), 'udp-bad-length');
  t.equal(why(packet().ipv4(ip).udp({ sport: 1, dport: 2, length: 20 }).payload(4).build()), 'udp-bad-length');
  t.equal(why(packet().ipv4(ip).udp({ sport: 1, dport: 2, length: 10 }).payload(4).build(), 'tun', CheckFlags.IpChecksum), 'ok');
  t.equal(why(packet().ipv4(ip).udp({ sport: 1, dport: 2, checksum: 7 }).build()), 'udp-bad-checksum');
  t.equal(why(packet().ipv4(ip).udp({ sport: 1, dport: 2, checksum: false }).build()), 'ok');
  t.equal(why(packet().ipv4({ ...ip, protocol: Proto.ICMP }).payload(7).build()), 'icmp-truncated');
  t.equal(why(packet().ipv4(ip).icmp({ type: 8, checksum: 3 }).build()), 'icmp-bad-checksum');
  t.equal(why(packet().ipv4(ip).icmp({ type: 3, code: 3 }).payload(19).build()), 'icmp-quote-truncated');
  const quote = packet().ipv4(ip).udp({ sport: 1, dport: 2 }).build();
  t.equal(why(packet().ipv4(ip).icmp({ type: 3, code: 3 }).payload(quote).build()), 'ok');
  t.equal(why(packet().ipv4(ip).icmp({ type: 3, code: 3 }).payload(quote.subarray(0, 27)).build()), 'icmp-quote-truncated');
  const badQ = quote.slice(); badQ[0] = 0x60;
  t.equal(why(packet().ipv4(ip).icmp({ type: 11 }).payload(badQ).build()), 'icmp-quote-bad');
  t.end();
});

t.test('ethernet-level reasons', (t) => {
  const f = packet().eth().ipv4(ip).udp({ sport: 1, dport: 2 }).build();
  t.equal(why(f, 'tap'), 'ok');
  t.equal(why(f, 'tap', CheckFlags.All, 13), 'eth-truncated');
  const tagged = packet().eth({ vlan: 5 }).ipv4(ip).udp({ sport: 1, dport: 2 }).build();
  t.equal(why(tagged, 'tap'), 'ok');
  t.equal(why(tagged, 'tap', CheckFlags.All, 17), 'vlan-truncated');
  t.equal(why(packet().eth({ etherType: 0x86dd }).payload(40).build(), 'tap'), 'ipv6-unsupported');
  t.equal(why(packet().eth({ etherType: 0x88cc }).payload(40).build(), 'tap'), 'ether-type-unsupported');
  const arp = packet().eth().arp({ senderIp: '1.1.1.1', targetIp: '1.1.1.2' }).build();
  t.equal(why(arp, 'tap'), 'ok');
  t.equal(why(arp, 'tap', CheckFlags.All, 41), 'arp-truncated');
  const arp2 = arp.slice(); arp2[14 + 5] = 16;
  t.equal(why(arp2, 'tap'), 'arp-unsupported');
  // IP after the frame is shorter than the buffer: Ethernet padding is fine
  const padded = new Uint8Array(f.length + 20);
  padded.set(f);
  t.equal(why(padded, 'tap'), 'ok');
  t.end();
});

t.test('fragments: valid IPv4, L4 only in the first one', (t) => {
  const info = new FrameInfo();
  const first = packet().ipv4({ ...ip, mf: true, id: 9 }).udp({ sport: 1, dport: 2, length: 3000 }).payload(64).build();
  t.equal(classifyFrame(first, 0, first.length, 'tun', info, CheckFlags.All), 0);
  t.equal(info.fragment, true);
  t.equal(info.l4Off, 20);
  const later = packet().ipv4({ ...ip, fragOffset: 9, id: 9, protocol: Proto.UDP }).payload(5).build();
  t.equal(classifyFrame(later, 0, later.length, 'tun', info, CheckFlags.All), 0);
  t.equal(info.kind, FrameKind.Ipv4);
  t.equal(info.fragment, true);
  t.equal(info.l4Off, -1);
  t.equal(why(packet().ipv4({ ...ip, mf: true, protocol: Proto.TCP }).payload(8).build()), 'first-fragment-truncated');
  t.equal(why(packet().ipv4({ ...ip, mf: true, protocol: Proto.UDP }).payload(4).build()), 'first-fragment-truncated');
  t.equal(why(packet().ipv4({ ...ip, mf: true, protocol: Proto.ICMP }).payload(4).build()), 'first-fragment-truncated');
  // NAT on a later fragment rewrites the address only, keeping the header checksum right
  const before = later.slice();
  t.equal(natRewriteDst(later, 0, parseIpv4('10.9.9.9'), 99), 0);
  const v = new Ipv4View(later, 0, later.length);
  t.ok(v.verifyChecksum());
  t.same([...later.subarray(20)], [...before.subarray(20)], 'payload untouched');
  t.equal(checkIpv4(later, 0, later.length), ParseReason.Ok);
  t.end();
});

t.test('icmp echo and other protocols pass NAT with L4 untouched', (t) => {
  const echo = packet().ipv4(ip).icmp({ type: 8, id: 5, seq: 6 }).payload(8).build();
  const before = echo.slice();
  t.equal(natRewriteDst(echo, 0, parseIpv4('10.1.1.1'), 80), 0);
  t.same([...echo.subarray(20)], [...before.subarray(20)]);
  t.equal(why(echo), 'ok');
  t.end();
});
