/**
 * Software segmentation of GSO super-packets: what the kernel's `inet_gso_segment` does
 * with `tcp_gso_segment` (TSO) or `__udp_gso_segment` (USO), for the cases where the
 * director must put the segments into new packets itself (a tunnel: virtio_net_hdr has
 * no way to say "segment the inner packet, then encapsulate each").
 *
 * The super-packet is one IPv4 datagram, not a fragment, with a TCP or UDP header and a
 * payload longer than a segment. Segment `k` (from 0) carrying payload bytes
 * [from, from + len) is written as a complete packet:
 *
 * - IPv4: the original header, options included; total length of the segment; ID the
 *   original ID + k (mod 2^16), as `inet_gso_segment` does unless the socket asked for
 *   fixed IDs; DF and the rest as they were; the header checksum computed anew.
 * - TCP: the original header, options included; sequence number + `from`; FIN and PSH
 *   only on the last segment, CWR only on the first; the checksum computed in full
 *   (pseudo-header, header, payload), whatever the super-packet's field held (complete, or
 *   the pseudo-header sum of CHECKSUM_PARTIAL).
 * - UDP: the original header with the segment's length and its checksum computed in
 *   full (a computed 0 sent as 0xffff).
 */
import { Proto } from '@tunvs/model';
import { rd16, rd32, wr16, wr32 } from './bytes.js';
import { csumPartial, pseudoHeaderSum, udpWireChecksum } from './checksum.js';
import { Ipv4Field } from './ipv4.js';
import { TcpField, TcpFlag } from './tcp.js';
import { UdpField } from './udp.js';

const { TOTAL_LEN, IDENT, PROTOCOL, CHECKSUM: IP_CHECKSUM, SRC, DST } = Ipv4Field;
const TCP = Proto.TCP;
const UDP = Proto.UDP;
/** flags that stay on the last segment only, and the one that stays on the first only */
const LAST_ONLY = TcpFlag.FIN | TcpFlag.PSH;
const FIRST_ONLY = TcpFlag.CWR;

/**
 * Bytes of headers every segment of the super-packet at `src[ip]` starts with: the IPv4
 * header and the TCP header (with its options) or the UDP header. 0 when the packet is
 * neither TCP nor UDP. The packet is expected to have passed the classifier.
 */
export function gsoHeadersLen(src: Uint8Array, ip: number): number {
  const hl = (src[ip]! & 0xf) << 2;
  const proto = src[ip + PROTOCOL]!;
  if (proto === TCP) return hl + ((src[ip + hl + TcpField.DATA_OFF]! >>> 4) << 2);
  if (proto === UDP) return hl + UdpField.HEADER_LEN;
  return 0;
}

/**
 * Write at `out[o]` segment `index` of the TCP or UDP super-packet at `src[ip]`: its
 * headers (see the module comment) and `len` payload bytes starting `from` bytes into the
 * super-packet's payload. Returns the segment's length, or 0 when the packet is neither
 * TCP nor UDP. `out` may not overlap `src`.
 */
export function emitGsoSegment(src: Uint8Array, ip: number, from: number, len: number, index: number, out: Uint8Array, o: number): number {
  const hl = (src[ip]! & 0xf) << 2;
  const heads = gsoHeadersLen(src, ip);
  if (heads === 0) return 0;
  const proto = src[ip + PROTOCOL]!;
  const payload = rd16(src, ip + TOTAL_LEN) - heads;
  const total = heads + len;
  out.set(src.subarray(ip, ip + heads), o);
  out.set(src.subarray(ip + heads + from, ip + heads + from + len), o + heads);

  wr16(out, o + TOTAL_LEN, total);
  wr16(out, o + IDENT, rd16(src, ip + IDENT) + index);
  wr16(out, o + IP_CHECKSUM, 0);
  wr16(out, o + IP_CHECKSUM, ~csumPartial(out, o, hl) & 0xffff);

  const l4 = o + hl;
  const l4Len = total - hl;
  const pseudo = pseudoHeaderSum(rd32(src, ip + SRC), rd32(src, ip + DST), proto, l4Len);
  if (proto === TCP) {
    wr32(out, l4 + TcpField.SEQ, rd32(src, ip + hl + TcpField.SEQ) + from);
    let flags = out[l4 + TcpField.FLAGS]!;
    if (from + len < payload) flags &= ~LAST_ONLY;
    if (index > 0) flags &= ~FIRST_ONLY;
    out[l4 + TcpField.FLAGS] = flags;
    wr16(out, l4 + TcpField.CHECKSUM, 0);
    wr16(out, l4 + TcpField.CHECKSUM, ~csumPartial(out, l4, l4Len, pseudo) & 0xffff);
  } else {
    wr16(out, l4 + UdpField.LENGTH, l4Len);
    wr16(out, l4 + UdpField.CHECKSUM, 0);
    wr16(out, l4 + UdpField.CHECKSUM, udpWireChecksum(~csumPartial(out, l4, l4Len, pseudo) & 0xffff));
  }
  return total;
}
