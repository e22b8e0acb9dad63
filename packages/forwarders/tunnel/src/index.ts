/**
 * Tunnelling (ipvsadm `-i`), the kernel's `ip_vs_tunnel_xmit`: the client's packet,
 * unchanged but for its TTL, is carried inside new headers from the director to the real
 * server. The forwarder is parameterised by its encapsulation (`Encap`), chosen per
 * destination (`--tun-type`): IPIP (protocol 4), GUE (UDP to the destination's
 * `--tun-port`, then a GUE header; `ipvs_gue_encap`) or GRE (protocol 47; `ipvs_gre_encap`).
 * The path MTU check subtracts each one's header bytes, as `__ip_vs_get_out_rt` does, and
 * drops (counted `tunnelMtuTooSmall`) when less than 68 bytes are left.
 *
 * The outer IPv4 header is the kernel's for every type: version 4, IHL 5; TOS = inner
 * DSCP, inner ECN with CE turned into ECT(0) (RFC 6040); DF copied from the inner packet
 * when pmtu_disc is on (the default), else 0; ID 0 when DF is set, else the director's
 * next ID; TTL = inner TTL (after its decrement); source = the director's address toward
 * the real server, destination = the real server.
 *
 * A packet whose L4 checksum is left to offload (vnet CHECKSUM_PARTIAL) has it completed
 * in the copy, as the device would have done, except under GUE remote checksum offload,
 * where it stays partial and the GUE option tells the real server where to finish it.
 *
 * A GSO super-packet (TSO, or USO: UDP_L4) is segmented in software first, as the kernel's
 * GSO would do after encapsulating (SKB_GSO_IPXIP4, which a vnet header cannot express):
 * each segment (`emitGsoSegment`: full checksums, IP ID + 1 per segment) carries
 * min(gso_size, what the tunnel's MTU leaves) payload bytes and is encapsulated on its
 * own. Counted drops: `gsoBad` (gso_size under 8, gso_type not the packet's protocol, or
 * not a byte of payload fits), `gsoUnsupported` (UFO).
 *
 * Replies of tunnelled connections do not come back through the director; those that do
 * (and ICMP errors from the real server's side) are routed on unchanged. ICMP errors from
 * the client side go through the tunnel like the flow's packets, without the MTU check
 * (the kernel does not send frag-needed for a relayed error).
 */
import { Fwd, Proto } from '@tunvs/model';
import type { ConnTable } from '@tunvs/conntrack';
import { Packet, mtuStep, nextHop, ttlStep } from '@tunvs/forwarder';
import type { Forwarder, LinkFacts, Xmit } from '@tunvs/forwarder';
import { VNET_GSO } from '@tunvs/link';
import {
  GreField, GueField, Ipv4Field, Ipv4Flag, UdpField, classifyIpv4, csumPartial, emitGsoSegment, flowHash, greHeaderLen, l4ChecksumField,
  gsoHeadersLen, pseudoHeaderSum, udpWireChecksum, wr16, wr32,
} from '@tunvs/packet';
import type { FrameInfo } from '@tunvs/packet';

/** An encapsulation: the headers put in front of the inner packet. */
export interface Encap {
  /** `--tun-type` word: ipip, gue, gre */
  readonly name: string;
  /** `tunnelKey` of the destination settings it implements */
  readonly key: number;
  /** bytes added in front of packet `p` (the outer IP header included): the MTU check subtracts them */
  overhead(p: Packet): number;
  /**
   * Write the encapsulated packet at `out[outOff]`: the outer headers, then the inner
   * packet (`p.info.ipTotalLen` bytes at `p.buf[p.info.l3Off]`). Returns its length, or 0
   * when it would exceed 65535 bytes. `out` may not overlap the inner packet.
   */
  encapsulate(p: Packet, out: Uint8Array, outOff: number, src: number, dst: number, pmtuDisc: boolean, id: number): number;
}

/** The smallest MTU left for the inner packet a tunnel accepts (IPv4's minimum; `__ip_vs_get_out_rt`). */
export const TUNNEL_MIN_MTU = 68;

/** The smallest gso_size segmented: no stack sends less payload per segment; below it the header is refused (`gsoBad`). */
export const GSO_MIN_SIZE = 8;

/** Bytes the IPIP outer header adds. */
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
 * Copy the inner packet of `p` to `out[at]` and write the outer IPv4 header of an
 * `len`-byte packet with protocol `proto` at `out[outOff]` (its checksum included).
 * Completes a partial inner L4 checksum unless `keepPartial`.
 */
function outerIpv4(p: Packet, out: Uint8Array, outOff: number, at: number, len: number, proto: number, src: number, dst: number, pmtuDisc: boolean, id: number, keepPartial: boolean): void {
  const inBuf = p.buf;
  const info = p.info;
  const ip = info.l3Off;
  out.set(inBuf.subarray(ip, ip + info.ipTotalLen), at);
  if (p.partialCsum && !keepPartial) completeL4Csum(out, at, info);
  const df = pmtuDisc && info.df;
  out[outOff + Ipv4Field.VER_IHL] = 0x45;
  out[outOff + Ipv4Field.TOS] = outerTos(inBuf[ip + Ipv4Field.TOS]!);
  wr16(out, outOff + Ipv4Field.TOTAL_LEN, len);
  wr16(out, outOff + Ipv4Field.IDENT, df ? 0 : id & 0xffff);
  wr16(out, outOff + Ipv4Field.FLAGS_FRAG, df ? Ipv4Flag.DF : 0);
  // the inner TTL, already decremented
  out[outOff + Ipv4Field.TTL] = inBuf[ip + Ipv4Field.TTL]!;
  out[outOff + Ipv4Field.PROTOCOL] = proto;
  wr16(out, outOff + Ipv4Field.CHECKSUM, 0);
  wr32(out, outOff + Ipv4Field.SRC, src);
  wr32(out, outOff + Ipv4Field.DST, dst);
  wr16(out, outOff + Ipv4Field.CHECKSUM, ~csumPartial(out, outOff, Ipv4Field.HEADER_LEN) & 0xffff);
}

/**
 * Finish the partial L4 checksum of the inner packet copied to `buf[ip]`: the field holds
 * the pseudo-header sum; the ones' complement sum over the L4 bytes with it is the checksum.
 */
function completeL4Csum(buf: Uint8Array, ip: number, info: FrameInfo): void {
  const f = l4ChecksumField(info);
  if (f < 0) return;
  const l4 = ip + (info.l4Off - info.l3Off);
  const c = ~csumPartial(buf, l4, info.l4Len) & 0xffff;
  wr16(buf, l4 + f, info.proto === Proto.UDP ? udpWireChecksum(c) : c);
}

/** IPv4-in-IPv4 (protocol 4), RFC 2003. */
export const ipipEncap: Encap = {
  name: 'ipip',
  key: 0,
  overhead: () => IPIP_OVERHEAD,
  encapsulate(p, out, outOff, src, dst, pmtuDisc, id) {
    const len = p.info.ipTotalLen + IPIP_OVERHEAD;
    if (len > 0xffff || outOff + len > out.length) return 0;
    outerIpv4(p, out, outOff, outOff + IPIP_OVERHEAD, len, Proto.IPIP, src, dst, pmtuDisc, id, false);
    return len;
  },
};

/** The kernel's default local port range (net.ipv4.ip_local_port_range), GUE source ports. */
export const GUE_SPORT_MIN = 32768;
export const GUE_SPORT_MAX = 60999;

/**
 * The GUE source port of an inner packet, as the kernel's `udp_flow_src_port`: a flow
 * hash of the inner 5-tuple, its low half folded into the high half, scaled into
 * [min, max). (The kernel's flow hash is keyed by a boot-time secret; ours by `seed`.)
 */
export function gueSourcePort(info: FrameInfo, seed = 0): number {
  let h = flowHash(info.proto, info.src, info.srcPort, info.dst, info.dstPort, seed) >>> 0;
  h = (h ^ (h << 16)) >>> 0;
  return Math.floor((h * (GUE_SPORT_MAX - GUE_SPORT_MIN)) / 0x100000000) + GUE_SPORT_MIN;
}

/** Bytes of UDP + GUE header without options. */
const GUE_BASE = UdpField.HEADER_LEN + GueField.HEADER_LEN;
/** Bytes the remote checksum option adds (private flags + start/offset). */
const GUE_REMCSUM = GueField.LEN_PRIV + GueField.PLEN_REMCSUM;

/** Checksum mode of a GUE or GRE destination (IP_VS_TUNNEL_ENCAP_FLAG_* bits). */
export const TunFlag = { CSUM: 1, REMCSUM: 2 } as const;

/**
 * GUE over UDP to `port` (`ipvs_gue_encap` + `udp_set_csum`): UDP source port from the
 * inner flow hash, UDP checksum 0 unless `flags` asks for one (csum or remcsum); a 4-byte
 * GUE header (version 0, data, proto 4). With remcsum and a partial inner checksum, the
 * private flags (REMCSUM) and the checksum start/offset option follow (hlen 2).
 */
export function gueEncap(port: number, flags: number, seed = 0): Encap {
  const checked = (flags & (TunFlag.CSUM | TunFlag.REMCSUM)) !== 0;
  const remcsum = (flags & TunFlag.REMCSUM) !== 0;
  const opts = (p: Packet): number => (remcsum && p.partialCsum && l4ChecksumField(p.info) >= 0 ? GUE_REMCSUM : 0);
  return {
    name: 'gue',
    key: tunnelKey(1, port, flags),
    overhead: (p) => IPIP_OVERHEAD + GUE_BASE + opts(p),
    encapsulate(p, out, outOff, src, dst, pmtuDisc, id) {
      const info = p.info;
      const optlen = opts(p);
      const hdr = IPIP_OVERHEAD + GUE_BASE + optlen;
      const len = info.ipTotalLen + hdr;
      if (len > 0xffff || outOff + len > out.length) return 0;
      outerIpv4(p, out, outOff, outOff + hdr, len, Proto.UDP, src, dst, pmtuDisc, id, optlen > 0);
      const u = outOff + IPIP_OVERHEAD;
      const g = u + UdpField.HEADER_LEN;
      out[g + GueField.VER_C_HLEN] = optlen >> 2;
      out[g + GueField.PROTO] = Proto.IPIP;
      wr16(out, g + GueField.FLAGS, optlen > 0 ? GueField.FLAG_PRIV : 0);
      if (optlen > 0) {
        // start and end of the inner checksum coverage, from the inner IP header
        const start = info.l4Off - info.l3Off;
        wr32(out, g + GueField.HEADER_LEN, GueField.PFLAG_REMCSUM);
        wr16(out, g + GueField.HEADER_LEN + GueField.LEN_PRIV, start);
        wr16(out, g + GueField.HEADER_LEN + GueField.LEN_PRIV + 2, start + l4ChecksumField(info));
      }
      const udpLen = len - IPIP_OVERHEAD;
      wr16(out, u + UdpField.SRC_PORT, gueSourcePort(info, seed));
      wr16(out, u + UdpField.DST_PORT, port);
      wr16(out, u + UdpField.LENGTH, udpLen);
      wr16(out, u + UdpField.CHECKSUM, 0);
      if (checked) {
        const c = ~csumPartial(out, u, udpLen, pseudoHeaderSum(src, dst, Proto.UDP, udpLen)) & 0xffff;
        wr16(out, u + UdpField.CHECKSUM, udpWireChecksum(c));
      }
      return len;
    },
  };
}

/**
 * GRE (`ipvs_gre_encap`, `gre_build_header`): version 0, protocol 0x0800, no key, no
 * sequence; with the csum flag the C bit and the checksum over GRE header and payload.
 */
export function greEncap(flags: number): Encap {
  const csum = (flags & TunFlag.CSUM) !== 0;
  const hl = greHeaderLen(csum);
  return {
    name: 'gre',
    key: tunnelKey(2, 0, flags),
    overhead: () => IPIP_OVERHEAD + hl,
    encapsulate(p, out, outOff, src, dst, pmtuDisc, id) {
      const len = p.info.ipTotalLen + IPIP_OVERHEAD + hl;
      if (len > 0xffff || outOff + len > out.length) return 0;
      outerIpv4(p, out, outOff, outOff + IPIP_OVERHEAD + hl, len, Proto.GRE, src, dst, pmtuDisc, id, false);
      const g = outOff + IPIP_OVERHEAD;
      wr16(out, g + GreField.FLAGS_VER, csum ? GreField.FLAG_CSUM : 0);
      wr16(out, g + GreField.PROTO, GreField.PROTO_IPV4);
      if (csum) {
        wr32(out, g + GreField.CHECKSUM, 0);
        wr16(out, g + GreField.CHECKSUM, ~csumPartial(out, g, len - IPIP_OVERHEAD) & 0xffff);
      }
      return len;
    },
  };
}

/** One number for a destination's tunnel settings (type 0 ipip 1 gue 2 gre, port, checksum flag bits). */
export function tunnelKey(tunType: number, tunPort: number, tunFlags: number): number {
  return tunType * 0x40000 + (tunFlags & 3) * 0x10000 + (tunType === 1 ? tunPort & 0xffff : 0);
}

const encaps = new Map<number, Encap>([[0, ipipEncap]]);

/** The encapsulation of a destination's `--tun-type` (kernel number: 0 ipip, 1 gue, 2 gre), made once per setting. */
export function encapOf(tunType: number, tunPort: number, tunFlags: number): Encap {
  const k = tunnelKey(tunType, tunPort, tunFlags);
  let e = encaps.get(k);
  if (e === undefined) {
    e = tunType === 1 ? gueEncap(tunPort, tunFlags) : tunType === 2 ? greEncap(tunFlags) : ipipEncap;
    encaps.set(k, e);
  }
  return e;
}

/** Why a director without an address of its own cannot tunnel. */
export const TUNNEL_NEEDS_SOURCE =
  'tunnelling (-i) needs an address of the director as the source of the outer header: ' +
  'give the director one (option sourceAddress; tunvsd: source_address; on TAP: addresses)';

/**
 * The tunnelling method. As the kernel's `ip_vs_tunnel_xmit` reads `cp->dest->tun_type`
 * for every packet, the encapsulation follows the connection's destination as it is now
 * (an edit of `--tun-type` applies to its existing connections too); `encap` is used for
 * connections without a destination and is the one expected (no map lookup) otherwise.
 */
export class TunnelForwarder implements Forwarder {
  readonly method: number = Fwd.TUNNEL;
  readonly name: string;
  /** where each segment of a GSO super-packet is built (allocated at the first one) */
  private segment: Packet | null = null;

  constructor(readonly encap: Encap = ipipEncap) {
    this.name = `tunnel/${encap.name}`;
  }

  refuse(link: LinkFacts): string | null {
    return link.source !== 0 ? null : TUNNEL_NEEDS_SOURCE;
  }

  inbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    this.encapsulate(x, p, conns.daddr(slot), true, this.encapFor(conns, slot));
  }

  /** The encapsulation of the connection's destination. */
  private encapFor(conns: ConnTable, slot: number): Encap {
    const d = conns.dest(slot);
    if (d === null) return this.encap;
    const k = tunnelKey(d.tunType, d.tunPort, d.tunFlags);
    return k === this.encap.key ? this.encap : encapOf(d.tunType, d.tunPort, d.tunFlags);
  }

  outbound(x: Xmit, p: Packet): void {
    const hop = nextHop(x, p.info.dst);
    if (hop !== 0) x.send(p, hop);
  }

  icmpInbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    this.encapsulate(x, p, conns.daddr(slot), false, this.encapFor(conns, slot));
  }

  icmpOutbound(x: Xmit, p: Packet): void {
    this.outbound(x, p);
  }

  private encapsulate(x: Xmit, p: Packet, rs: number, checkMtu: boolean, e: Encap): void {
    const hop = nextHop(x, rs);
    if (hop === 0 || !ttlStep(x, p)) return;
    if (p.gso) {
      this.encapsulateSegments(x, p, rs, hop, e);
      return;
    }
    const overhead = e.overhead(p);
    const mtu = x.mtu(hop) - overhead;
    // the kernel refuses a tunnel whose MTU is below IPv4's minimum, whatever pmtu_disc says
    // (and for relayed ICMP errors too: the route lookup fails before any of them is sent)
    if (mtu < TUNNEL_MIN_MTU) {
      x.counters.tunnelMtuTooSmall++;
      return;
    }
    if (checkMtu && x.pmtuDisc && !mtuStep(x, p, mtu)) return;
    const ip = x.reserve(p.info.ipTotalLen + overhead);
    if (ip < 0) return;
    const n = e.encapsulate(p, x.genBuf, ip, x.source(rs), rs, x.pmtuDisc, x.nextIpId());
    if (n === 0) {
      x.counters.encapTooBig++;
      return;
    }
    x.sendNew(ip, n, hop);
  }

  /**
   * Segment the GSO super-packet `p` (TTL already decremented) and send each segment
   * through the tunnel to `rs` via `hop`.
   */
  private encapsulateSegments(x: Xmit, p: Packet, rs: number, hop: number, e: Encap): void {
    const info = p.info;
    const type = p.gsoType & ~VNET_GSO.ECN;
    if (type === VNET_GSO.UDP) {
      x.counters.gsoUnsupported++;
      return;
    }
    const fits = type === VNET_GSO.TCPV4 ? info.proto === Proto.TCP : type === VNET_GSO.UDP_L4 && info.proto === Proto.UDP;
    if (!fits || info.fragment || info.l4Off < 0 || p.gsoSize < GSO_MIN_SIZE) {
      x.counters.gsoBad++;
      return;
    }
    const s = this.segmentScratch();
    // segments leave with complete checksums: no remote checksum offload option
    const overhead = e.overhead(s);
    const mtu = x.mtu(hop) - overhead;
    if (mtu < TUNNEL_MIN_MTU) {
      x.counters.tunnelMtuTooSmall++;
      return;
    }
    const ip = info.l3Off;
    const heads = gsoHeadersLen(p.buf, ip);
    const size = Math.min(p.gsoSize, mtu - heads);
    if (size < 1) {
      x.counters.gsoBad++;
      return;
    }
    const payload = info.ipTotalLen - heads;
    const src = x.source(rs);
    const sb = s.buf;
    // at least one segment, even for a super-packet without payload
    for (let from = 0, k = 0; k === 0 || from < payload; k++) {
      const n = Math.min(size, payload - from);
      const len = emitGsoSegment(p.buf, ip, from, n, k, sb, 0);
      // what the encapsulation reads of its inner packet: offsets, addresses, ports, DF
      // (a segment of a packet the classifier passed passes too)
      if (classifyIpv4(sb, 0, len, s.info, 0) !== 0) {
        x.counters.gsoBad++;
        return;
      }
      s.len = len;
      const o = x.reserve(len + overhead);
      if (o < 0) {
        // no room left in this batch: the segments after this one are lost with it, each
        // counted as this one was (`reserve`), so the counter says how many were not sent
        x.counters.txSlabFull += Math.ceil((payload - from - n) / size);
        return;
      }
      const m = e.encapsulate(s, x.genBuf, o, src, rs, x.pmtuDisc, x.nextIpId());
      if (m === 0) {
        x.counters.encapTooBig++;
        return;
      }
      x.sendNew(o, m, hop);
      from += n;
    }
  }

  /** The segment scratch packet: a 64 KiB buffer of its own, complete checksums, no GSO. */
  private segmentScratch(): Packet {
    let s = this.segment;
    if (s === null) {
      s = new Packet();
      s.buf = new Uint8Array(0x10000);
      s.inRx = false;
      this.segment = s;
    }
    return s;
  }
}
