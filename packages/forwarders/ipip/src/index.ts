/**
 * IPIP tunnelling (ipvsadm `-i`): the client's packet, unchanged but for its TTL
 * (decremented by the caller), is carried inside a new IPv4 header from the director to
 * the real server, as the kernel's ip_vs_tunnel_xmit builds it:
 *   version 4, IHL 5; TOS = inner DSCP, inner ECN with CE turned into ECT(0) (RFC 6040);
 *   DF copied from the inner packet when pmtu_disc is on (the default), else 0;
 *   ID 0 when DF is set, else the next per-destination ID; TTL = inner TTL; protocol 4;
 *   source = the director's address toward the real server, destination = the real server.
 */
import { Proto } from '@tunvs/model';
import { Ipv4Field, Ipv4Flag, csumPartial, rd16, wr16, wr32 } from '@tunvs/packet';

/** Bytes the outer header adds. */
export const IPIP_OVERHEAD = Ipv4Field.HEADER_LEN;

/** ECN bits of the TOS byte. */
const ECN_MASK = 0x03;
const ECN_CE = 0x03;
const ECN_ECT0 = 0x02;

/** The outer TOS for an inner TOS (RFC 6040 normal mode: CE becomes ECT(0)). */
export function outerTos(innerTos: number): number {
  return (innerTos & ECN_MASK) === ECN_CE ? (innerTos & ~ECN_MASK & 0xff) | ECN_ECT0 : innerTos;
}

/**
 * Write the encapsulated packet at `out[outOff]`: outer header then the `total` bytes of
 * the inner packet at `inBuf[ip]`. Returns the outer packet length, or 0 when it would
 * exceed 65535 bytes. `out` may not overlap the inner packet.
 */
export function ipipEncapsulate(
  inBuf: Uint8Array, ip: number, total: number, out: Uint8Array, outOff: number,
  src: number, dst: number, pmtuDisc: boolean, id: number,
): number {
  const len = total + IPIP_OVERHEAD;
  if (len > 0xffff || outOff + len > out.length) return 0;
  out.set(inBuf.subarray(ip, ip + total), outOff + IPIP_OVERHEAD);
  const df = pmtuDisc && (rd16(inBuf, ip + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.DF) !== 0;
  out[outOff] = 0x45;
  out[outOff + Ipv4Field.TOS] = outerTos(inBuf[ip + Ipv4Field.TOS]!);
  wr16(out, outOff + Ipv4Field.TOTAL_LEN, len);
  wr16(out, outOff + Ipv4Field.IDENT, df ? 0 : id & 0xffff);
  wr16(out, outOff + Ipv4Field.FLAGS_FRAG, df ? Ipv4Flag.DF : 0);
  out[outOff + Ipv4Field.TTL] = inBuf[ip + Ipv4Field.TTL]!;
  out[outOff + Ipv4Field.PROTOCOL] = Proto.IPIP;
  wr16(out, outOff + Ipv4Field.CHECKSUM, 0);
  wr32(out, outOff + Ipv4Field.SRC, src);
  wr32(out, outOff + Ipv4Field.DST, dst);
  wr16(out, outOff + Ipv4Field.CHECKSUM, ~csumPartial(out, outOff, Ipv4Field.HEADER_LEN) & 0xffff);
  return len;
}

/**
 * The reverse, for real servers: check the outer header of an IPIP packet at `buf[ip]`
 * (`avail` bytes) and return the offset of the inner packet, or -1 when it is not a sane
 * IPIP packet (version, IHL, lengths, protocol 4, a non-fragment).
 */
export function ipipInnerOffset(buf: Uint8Array, ip: number, avail: number): number {
  if (avail < Ipv4Field.HEADER_LEN * 2) return -1;
  const vi = buf[ip]!;
  const hl = (vi & 0x0f) << 2;
  if (vi >>> 4 !== 4 || hl < Ipv4Field.HEADER_LEN) return -1;
  const total = rd16(buf, ip + Ipv4Field.TOTAL_LEN);
  if (total > avail || total < hl + Ipv4Field.HEADER_LEN) return -1;
  if (buf[ip + Ipv4Field.PROTOCOL] !== Proto.IPIP) return -1;
  if ((rd16(buf, ip + Ipv4Field.FLAGS_FRAG) & (Ipv4Flag.MF | Ipv4Flag.OffsetMask)) !== 0) return -1;
  const inner = ip + hl;
  if (buf[inner]! >>> 4 !== 4) return -1;
  if (rd16(buf, inner + Ipv4Field.TOTAL_LEN) > total - hl) return -1;
  return inner;
}
