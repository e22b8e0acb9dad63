// Issue 13 item 12: an IPIP outer packet over the link MTU without DF is cut into
// fragments as ip_fragment does; with DF the path MTU check answers frag-needed.
import t from 'tap';
import type { Test } from 'tap';
import { MemoryLink } from '@tunvs/link';
import { FrameInfo, classifyIpv4, emitIpv4Fragment, formatIpv4, packet, parseIpv4Header } from '@tunvs/packet';
import type { Ipv4Repr } from '@tunvs/packet';
import { Director } from '../src/index.js';
import type { DirectorOptions } from '../src/index.js';

const VIP = '10.10.0.100';
const RS = '10.10.1.11';
const key = { protocol: 'udp' as const, addr: VIP, port: 53 };

function tunnelDirector(opts: Partial<DirectorOptions> = {}, mtu = 1500): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', mtu);
  const d = new Director({ links: [link], sourceAddress: '10.10.1.1', timers: false, now: () => 1000, ...opts });
  d.start();
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: RS, port: 53, method: 'tunnel' });
  return { d, link };
}

/** A client UDP datagram of `total` bytes (IP header included). */
function datagram(total: number, df: boolean): Uint8Array {
  return packet().ipv4({ src: '10.10.0.2', dst: VIP, ttl: 64, df, id: 0x1234 }).udp({ sport: 5353, dport: 53 })
    .payload(Uint8Array.from({ length: total - 28 }, (_, i) => i & 0xff)).build();
}

/** Reassemble fragments (parsed with @tunvs/packet) into one datagram: its header and payload. */
function reassemble(t: Test, frags: Uint8Array[]): { head: Ipv4Repr; payload: Uint8Array } {
  const parts = frags.map((f) => ({ f, h: parseIpv4Header(f, 0, f.length) }));
  for (const { h } of parts) t.ok(h, 'each fragment is a valid IPv4 packet (checksum verified)');
  const hs = parts.map((p) => p.h!);
  const id = hs[0]!.id;
  t.ok(hs.every((h) => h.id === id && h.src === hs[0]!.src && h.dst === hs[0]!.dst && h.protocol === 4), 'one datagram: same id, addresses, protocol 4');
  const end = Math.max(...hs.map((h) => h.fragOffset * 8 + h.payloadLength));
  const payload = new Uint8Array(end);
  const covered = new Uint8Array(end);
  for (const { f, h } of parts) {
    const at = h!.fragOffset * 8;
    payload.set(f.subarray(f.length - h!.payloadLength), at);
    covered.fill(1, at, at + h!.payloadLength);
    if (at + h!.payloadLength < end) t.ok(h!.mf && h!.payloadLength % 8 === 0, 'a fragment before the end has MF and a multiple of 8 bytes');
    else t.notOk(h!.mf, 'the last fragment has no MF');
  }
  t.ok(covered.every((c) => c === 1), 'the fragments cover the datagram without a hole');
  return { head: hs[0]!, payload };
}

t.test('a 1500-byte non-DF packet to an IPIP destination: the 1520-byte outer packet leaves in fragments', (t) => {
  const { d, link } = tunnelDirector();
  const inner = datagram(1500, false);
  link.receive(inner);
  const out = link.drain();
  t.equal(out.length, 2, 'two fragments');
  t.ok(out.every((f) => f.length <= 1500), 'each fits the link MTU');
  t.equal(out[0]!.length, 1500);
  const { head, payload } = reassemble(t, out);
  t.equal(formatIpv4(head.src), '10.10.1.1');
  t.equal(formatIpv4(head.dst), RS);
  t.notOk(head.df, 'outer DF clear (the inner packet had none)');
  t.equal(payload.length, 1500, 'the reassembled outer payload is the whole inner packet');
  const info = new FrameInfo();
  t.equal(classifyIpv4(payload, 0, payload.length, info, 0), 0, 'and it parses');
  t.equal(formatIpv4(info.dst), VIP, 'inner destination still the VIP');
  t.equal(info.ttl, 63, 'inner TTL decremented');
  t.same(payload.subarray(28), inner.subarray(28), 'inner payload unchanged');
  t.equal(d.counters.fragCreated, 2);
  t.end();
});

t.test('an outer packet far over the MTU (MTU 576): every fragment fits, the datagram reassembles', (t) => {
  const { link } = tunnelDirector({}, 576);
  link.receive(datagram(1400, false));
  const out = link.drain();
  t.equal(out.length, 3);
  t.ok(out.every((f) => f.length <= 576));
  const { payload } = reassemble(t, out);
  t.equal(payload.length, 1400);
  t.end();
});

t.test('DF set: frag-needed with the tunnel MTU; pmtu_disc off: DF not copied, fragmented', (t) => {
  const { d, link } = tunnelDirector();
  link.receive(datagram(1500, true));
  const [icmp] = link.drain();
  const h = parseIpv4Header(icmp!, 0, icmp!.length)!;
  t.equal(h.protocol, 1);
  t.same([icmp![20], icmp![21]], [3, 4], 'fragmentation needed');
  t.equal((icmp![26]! << 8) | icmp![27]!, 1480, 'next-hop MTU = 1500 - 20');
  t.equal(d.counters.fragCreated, 0);

  const off = tunnelDirector({ pmtuDisc: false });
  off.link.receive(datagram(1500, true));
  const out = off.link.drain();
  t.equal(out.length, 2, 'outer DF clear: fragmented');
  t.equal(reassemble(t, out).payload.length, 1500);
  t.end();
});

t.test('emitIpv4Fragment: offsets add to the datagram\'s own, uncopied options become NOPs after the first', (t) => {
  // a datagram that is itself a middle fragment (offset 100, MF) with a record-route option
  // (type 7, not copied) and a security option (type 130, copied)
  const opts = Uint8Array.of(7, 7, 4, 0, 0, 0, 0, 130, 4, 0, 0, 0);
  const d = packet().ipv4({ src: '1.1.1.1', dst: '2.2.2.2', id: 9, mf: true, fragOffset: 100, protocol: 17, options: opts }).payload(new Uint8Array(64).fill(5)).build();
  const hl = 32;
  const a = new Uint8Array(100);
  const b = new Uint8Array(100);
  const na = emitIpv4Fragment(d, 0, 0, 32, a, 0);
  const nb = emitIpv4Fragment(d, 0, 32, 32, b, 0);
  const ha = parseIpv4Header(a, 0, na)!;
  const hb = parseIpv4Header(b, 0, nb)!;
  t.same([ha.fragOffset, ha.mf, ha.payloadLength], [100, true, 32]);
  t.same([hb.fragOffset, hb.mf, hb.payloadLength], [104, true, 32], 'the original was not the last: MF stays');
  t.same([...a.subarray(20, hl)], [...opts], 'first fragment keeps every option');
  t.same([...b.subarray(20, hl)], [1, 1, 1, 1, 1, 1, 1, 130, 4, 0, 0, 0], 'record route (not copied) became NOPs');
  t.end();
});
