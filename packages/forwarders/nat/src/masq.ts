/**
 * NAT (masquerading, ipvsadm `-m`), the kernel's `ip_vs_nat_xmit` and its reply side:
 *
 * - client -> real server: route to the real server, TTL, path MTU, destination :=
 *   real server address and port, send;
 * - real server -> client: source := VIP and virtual port (TTL untouched, as the kernel
 *   leaves it to the forwarding path), send toward the client;
 * - ICMP errors from the client side (they quote our reply VIP:vport -> client): outer
 *   destination := real server, quoted source := real server address and port;
 * - ICMP errors from the real server (they quote client -> real server): outer source :=
 *   VIP, quoted destination := VIP and virtual port;
 * - non-first fragments carry no ports: only the address changes (the rewrite functions
 *   know it from the fragment offset).
 *
 * IP and TCP/UDP checksums are updated incrementally (RFC 1624); a UDP checksum of 0
 * stays 0; SCTP's CRC32c is computed again over the packet after the port changes. With
 * a vnet header whose NEEDS_CSUM flag is set (CHECKSUM_PARTIAL), the L4
 * checksum field holds the folded pseudo-header sum, not a checksum of the segment: only
 * the address change is applied to it; the ports are not in the pseudo-header.
 */
import { Fwd } from '@tunvs/model';
import type { ConnTable } from '@tunvs/conntrack';
import { mtuFits, mtuStep, nextHop, ttlStep } from '@tunvs/forwarder';
import type { Forwarder, Packet, Xmit } from '@tunvs/forwarder';
import { l4ChecksumField, natForwardDstParsed, natRewriteDst, natRewriteQuoteDst, natRewriteQuoteSrc, natRewriteSrc, rd16, wr16 } from '@tunvs/packet';
import type { FrameInfo } from '@tunvs/packet';

/**
 * Rewrite the destination of a client -> real server packet (parsed into `info`) to
 * `daddr:dport`; `partial`: the L4 checksum is a partial (pseudo-header) sum.
 */
export function natInbound(buf: Uint8Array, info: FrameInfo, daddr: number, dport: number, partial = false): void {
  if (partial) partialInbound(buf, info, daddr, dport);
  else natRewriteDst(buf, info.l3Off, daddr, dport);
}

/** Rewrite the source of a real server -> client reply to `vaddr:vport`. */
export function natOutbound(buf: Uint8Array, info: FrameInfo, vaddr: number, vport: number, partial = false): void {
  if (partial) partialOutbound(buf, info, vaddr, vport);
  else natRewriteSrc(buf, info.l3Off, vaddr, vport);
}

function partialInbound(buf: Uint8Array, info: FrameInfo, daddr: number, dport: number): void {
  const f = l4ChecksumField(info);
  const sum = f < 0 ? 0 : movedPseudoSum(buf, info.l4Off + f, info.dst, daddr);
  natRewriteDst(buf, info.l3Off, daddr, dport);
  if (f >= 0) wr16(buf, info.l4Off + f, sum);
}

function partialOutbound(buf: Uint8Array, info: FrameInfo, vaddr: number, vport: number): void {
  const f = l4ChecksumField(info);
  const sum = f < 0 ? 0 : movedPseudoSum(buf, info.l4Off + f, info.src, vaddr);
  natRewriteSrc(buf, info.l3Off, vaddr, vport);
  if (f >= 0) wr16(buf, info.l4Off + f, sum);
}

/**
 * An ICMP error from the client side about a NAT connection (it quotes our reply
 * VIP:vport -> client): outer destination := `daddr`, quoted source := `daddr:dport`; the
 * IP, quoted-IP and ICMP checksums are fixed.
 */
export function natIcmpInbound(buf: Uint8Array, info: FrameInfo, daddr: number, dport: number): void {
  natRewriteDst(buf, info.l3Off, daddr, 0);
  natRewriteQuoteSrc(buf, info.l4Off, info.l4Len, daddr, dport);
}

/**
 * An ICMP error from a real server about a NAT connection (it quotes client -> real
 * server): outer source := `vaddr`, quoted destination := `vaddr:vport`.
 */
export function natIcmpOutbound(buf: Uint8Array, info: FrameInfo, vaddr: number, vport: number): void {
  natRewriteSrc(buf, info.l3Off, vaddr, 0);
  natRewriteQuoteDst(buf, info.l4Off, info.l4Len, vaddr, vport);
}

/**
 * A partial checksum field holds the folded pseudo-header sum S: the address moves from
 * `oldAddr` to `newAddr`, so S' = S - old + new (ones' complement). The full rewrite
 * treats the field as a real checksum; the caller writes S' back after it.
 */
function movedPseudoSum(buf: Uint8Array, field: number, oldAddr: number, newAddr: number): number {
  let s = rd16(buf, field) + (~oldAddr >>> 16 & 0xffff) + (~oldAddr & 0xffff) + (newAddr >>> 16) + (newAddr & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

/** The masquerading method. */
export class MasqForwarder implements Forwarder {
  readonly method: number = Fwd.MASQ;
  readonly name: string = 'masq';

  refuse(): string | null {
    return null;
  }

  inbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const daddr = conns.daddr(slot);
    const hop = nextHop(x, daddr);
    if (hop === 0) return;
    const info = p.info;
    const mtu = x.mtu(hop);
    if (info.ttl <= 1 || p.partialCsum || !mtuFits(p, mtu)) {
      // the steps one at a time: drops (their ICMP errors quote the packet with its TTL
      // already decremented), and a partial L4 checksum
      if (!ttlStep(x, p) || !mtuStep(x, p, mtu)) return;
      natInbound(p.buf, info, daddr, conns.dport(slot), p.partialCsum);
    } else {
      // the common case: TTL and destination in one IP checksum update
      natForwardDstParsed(p.buf, info, daddr, conns.dport(slot));
    }
    x.send(p, hop);
  }

  outbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const hop = nextHop(x, p.info.dst);
    if (hop === 0) return;
    natOutbound(p.buf, p.info, conns.vaddr(slot), conns.vport(slot), p.partialCsum);
    x.send(p, hop);
  }

  icmpInbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const daddr = conns.daddr(slot);
    const hop = nextHop(x, daddr);
    if (hop === 0 || !ttlStep(x, p)) return;
    natIcmpInbound(p.buf, p.info, daddr, conns.dport(slot));
    x.send(p, hop);
  }

  icmpOutbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const hop = nextHop(x, p.info.dst);
    if (hop === 0) return;
    natIcmpOutbound(p.buf, p.info, conns.vaddr(slot), conns.vport(slot));
    x.send(p, hop);
  }
}
