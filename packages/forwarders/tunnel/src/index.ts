/**
 * Tunnelling (ipvsadm `-i`), the kernel's `ip_vs_tunnel_xmit`: the client's packet,
 * unchanged but for its TTL, is carried inside new headers from the director to the real
 * server. The forwarder is parameterised by its encapsulation (`Encap`): IPIP today; GUE
 * and GRE are further `Encap`s with their own header bytes, whose `overhead` the path MTU
 * check subtracts.
 *
 * IPIP builds the outer header as the kernel does: version 4, IHL 5; TOS = inner DSCP,
 * inner ECN with CE turned into ECT(0) (RFC 6040); DF copied from the inner packet when
 * pmtu_disc is on (the default), else 0; ID 0 when DF is set, else the director's next
 * ID; TTL = inner TTL (after its decrement); protocol 4; source = the director's address
 * toward the real server, destination = the real server.
 *
 * Replies of tunnelled connections do not come back through the director; those that do
 * (and ICMP errors from the real server's side) are routed on unchanged. ICMP errors from
 * the client side go through the tunnel like the flow's packets, without the MTU check
 * (the kernel does not send frag-needed for a relayed error).
 */
import { Fwd, Proto } from '@tunvs/model';
import type { ConnTable } from '@tunvs/conntrack';
import { mtuStep, nextHop, ttlStep } from '@tunvs/forwarder';
import type { Forwarder, LinkFacts, Packet, Xmit } from '@tunvs/forwarder';
import { Ipv4Field, Ipv4Flag, csumPartial, wr16, wr32 } from '@tunvs/packet';
import type { FrameInfo } from '@tunvs/packet';

/** An encapsulation: the headers put in front of the inner packet. */
export interface Encap {
  /** `--tun-type` word: ipip, gue, gre */
  readonly name: string;
  /** bytes added in front of the inner packet (the outer IP header included) */
  readonly overhead: number;
  /**
   * Write the encapsulated packet at `out[outOff]`: the outer headers, then the inner
   * packet (`info.ipTotalLen` bytes at `inBuf[info.l3Off]`). Returns its length, or 0 when
   * it would exceed 65535 bytes. `out` may not overlap the inner packet.
   */
  encapsulate(inBuf: Uint8Array, info: FrameInfo, out: Uint8Array, outOff: number, src: number, dst: number, pmtuDisc: boolean, id: number): number;
}

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

/** IPv4-in-IPv4 (protocol 4), RFC 2003. */
export const ipipEncap: Encap = {
  name: 'ipip',
  overhead: IPIP_OVERHEAD,
  encapsulate(inBuf, info, out, outOff, src, dst, pmtuDisc, id) {
    const ip = info.l3Off;
    const total = info.ipTotalLen;
    const len = total + IPIP_OVERHEAD;
    if (len > 0xffff || outOff + len > out.length) return 0;
    out.set(inBuf.subarray(ip, ip + total), outOff + IPIP_OVERHEAD);
    const df = pmtuDisc && info.df;
    out[outOff + Ipv4Field.VER_IHL] = 0x45;
    out[outOff + Ipv4Field.TOS] = outerTos(inBuf[ip + Ipv4Field.TOS]!);
    wr16(out, outOff + Ipv4Field.TOTAL_LEN, len);
    wr16(out, outOff + Ipv4Field.IDENT, df ? 0 : id & 0xffff);
    wr16(out, outOff + Ipv4Field.FLAGS_FRAG, df ? Ipv4Flag.DF : 0);
    // the inner TTL, already decremented
    out[outOff + Ipv4Field.TTL] = inBuf[ip + Ipv4Field.TTL]!;
    out[outOff + Ipv4Field.PROTOCOL] = Proto.IPIP;
    wr16(out, outOff + Ipv4Field.CHECKSUM, 0);
    wr32(out, outOff + Ipv4Field.SRC, src);
    wr32(out, outOff + Ipv4Field.DST, dst);
    wr16(out, outOff + Ipv4Field.CHECKSUM, ~csumPartial(out, outOff, Ipv4Field.HEADER_LEN) & 0xffff);
    return len;
  },
};

/** Why a director without an address of its own cannot tunnel. */
export const TUNNEL_NEEDS_SOURCE =
  'tunnelling (-i) needs an address of the director as the source of the outer header: ' +
  'give the director one (option sourceAddress; tunvsd: source_address; on TAP: addresses)';

/** The tunnelling method over one encapsulation. */
export class TunnelForwarder implements Forwarder {
  readonly method: number = Fwd.TUNNEL;
  readonly name: string;

  constructor(readonly encap: Encap = ipipEncap) {
    this.name = `tunnel/${encap.name}`;
  }

  refuse(link: LinkFacts): string | null {
    return link.source !== 0 ? null : TUNNEL_NEEDS_SOURCE;
  }

  inbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    this.encapsulate(x, p, conns.daddr(slot), true);
  }

  outbound(x: Xmit, p: Packet): void {
    const hop = nextHop(x, p.info.dst);
    if (hop !== 0) x.send(p, hop);
  }

  icmpInbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    this.encapsulate(x, p, conns.daddr(slot), false);
  }

  icmpOutbound(x: Xmit, p: Packet): void {
    this.outbound(x, p);
  }

  private encapsulate(x: Xmit, p: Packet, rs: number, checkMtu: boolean): void {
    const hop = nextHop(x, rs);
    if (hop === 0 || !ttlStep(x, p)) return;
    const e = this.encap;
    if (checkMtu && x.pmtuDisc && !mtuStep(x, p, x.mtu(hop) - e.overhead)) return;
    const ip = x.reserve(p.info.ipTotalLen + e.overhead);
    if (ip < 0) return;
    const n = e.encapsulate(p.buf, p.info, x.genBuf, ip, x.source(rs), rs, x.pmtuDisc, x.nextIpId());
    if (n === 0) {
      x.counters.encapTooBig++;
      return;
    }
    x.sendNew(ip, n, hop);
  }
}
