/**
 * A layer-2 link with a vnet header (TAP with IFF_VNET_HDR, AF_PACKET with PACKET_VNET_HDR):
 * a VLAN-tagged frame with a partial TCP checksum leaves untagged, and the header's offsets
 * from the frame start (csum_start, hdr_len) lose the tag's 4 bytes with it, so the kernel
 * finishes the checksum where it is.
 */
import t from 'tap';
import { MemoryLink, VNET_F, VNET_GSO, VNET_HDR_LEN, readVnetHeader } from '@tunvs/link';
import { csumPartial, packet, parseIpv4, parseMac, pseudoHeaderSum, rd16, rd32 } from '@tunvs/packet';
import { Director } from '../src/index.js';

const MAC = '02:00:00:00:00:01';
const CLIENT = '10.10.0.2';
const CLIENT_MAC = '02:00:00:00:00:02';
const RS = '10.10.0.11';
const RS_MAC = '02:00:00:00:00:11';
const VIP = '10.10.0.100';
const V = VNET_HDR_LEN;

/** `frame` behind a vnet header: flags, gso type, hdr_len, gso_size, csum_start, csum_offset */
function withVnet(frame: Uint8Array, h: number[] = [0, 0, 0, 0, 0, 0]): Uint8Array {
  const out = new Uint8Array(V + frame.length);
  out[0] = h[0]!;
  out[1] = h[1]!;
  for (let i = 2; i < 6; i++) {
    out[2 * (i - 1)] = h[i]! & 0xff;
    out[2 * (i - 1) + 1] = h[i]! >>> 8;
  }
  out.set(frame, V);
  return out;
}

t.test('a tagged frame with a partial checksum: untagged out, csum_start and hdr_len moved with the frame start', (t) => {
  const link = new MemoryLink('tap', 1500, 'v0', V);
  const d = new Director({ links: [link], mac: parseMac(MAC), addresses: [{ addr: '10.10.0.1', prefix: 24 }], now: () => 1000, timers: false });
  d.start();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService(key);
  d.addDest(key, { addr: RS, port: 8080, method: 'masq' });
  for (const [mac, ip] of [[CLIENT_MAC, CLIENT], [RS_MAC, RS]] as const) {
    link.receive(withVnet(packet().eth({ src: mac, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: mac, senderIp: ip, targetIp: '10.10.0.1' }).build()));
  }
  link.drain();

  const payload = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
  const f = packet().eth({ src: CLIENT_MAC, dst: MAC, vlan: 5 }).ipv4({ src: CLIENT, dst: VIP, ttl: 64 }).tcp({ sport: 40000, dport: 80, flags: 'S' }).payload(payload).build();
  const ip = 18; // Ethernet + tag
  const tcp = ip + 20;
  const segLen = f.length - tcp;
  // partial: the field holds the pseudo-header sum only, as a sender with checksum offload leaves it
  const ps = pseudoHeaderSum(parseIpv4(CLIENT), parseIpv4(VIP), 6, segLen);
  f[tcp + 16] = ps >>> 8;
  f[tcp + 17] = ps & 0xff;
  // a GSO frame too (one segment's worth is enough here): hdr_len counts the headers
  link.receive(withVnet(f, [VNET_F.NEEDS_CSUM, VNET_GSO.TCPV4, tcp + 20, 1448, tcp, 16]));
  const [out] = link.drain();
  t.ok(out, 'forwarded');
  const o = out!;
  t.equal(rd16(o, V + 12), 0x0800, 'the tag is gone');
  const h = readVnetHeader(o, 0);
  const oTcp = 14 + 20;
  t.same({ csumStart: h.csumStart, csumOffset: h.csumOffset, hdrLen: h.hdrLen, gsoSize: h.gsoSize, flags: h.flags }, { csumStart: oTcp, csumOffset: 16, hdrLen: oTcp + 20, gsoSize: 1448, flags: VNET_F.NEEDS_CSUM }, 'offsets from the new frame start');
  t.equal(rd32(o, V + 14 + 16), parseIpv4(RS), 'NAT to the real server');
  // what the kernel does with it: sum from csum_start to the end, store at csum_offset
  const start = V + h.csumStart;
  const c = ~csumPartial(o, start, o.length - start) & 0xffff;
  o[start + h.csumOffset] = c >>> 8;
  o[start + h.csumOffset + 1] = c & 0xff;
  const check = csumPartial(o, start, o.length - start, pseudoHeaderSum(rd32(o, V + 14 + 12), rd32(o, V + 14 + 16), 6, o.length - start));
  t.equal(check, 0xffff, 'the finished checksum verifies over the rewritten packet');
  t.end();
});
