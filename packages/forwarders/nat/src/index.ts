/**
 * NAT (masquerading, ipvsadm `-m`): client -> real server packets get the real server's
 * address and port as destination; replies get the VIP and virtual port as source. IP and
 * TCP/UDP checksums are updated incrementally (RFC 1624); a UDP checksum of 0 stays 0.
 *
 * With a vnet header whose NEEDS_CSUM flag is set (GSO/partial checksums from the kernel),
 * the L4 checksum field holds only the folded pseudo-header sum, not a complemented
 * checksum of the segment: then only the address change is applied to it, and the port
 * change is left to whoever completes the checksum (the kernel or the NIC).
 */
import { Proto } from '@tunvs/model';
import { natRewriteDst, natRewriteSrc, natRewriteQuoteDst, natRewriteQuoteSrc, Ipv4Field, rd16, rd32, wr16 } from '@tunvs/packet';

/** Rewrite the destination of a client -> real server packet. */
export function natInbound(buf: Uint8Array, ip: number, daddr: number, dport: number, partial = false): void {
  if (!partial) {
    natRewriteDst(buf, ip, daddr, dport);
    return;
  }
  partialRewrite(buf, ip, daddr, dport, Ipv4Field.DST, 2);
}

/** Rewrite the source of a real server -> client reply (source := VIP:vport). */
export function natOutbound(buf: Uint8Array, ip: number, vaddr: number, vport: number, partial = false): void {
  if (!partial) {
    natRewriteSrc(buf, ip, vaddr, vport);
    return;
  }
  partialRewrite(buf, ip, vaddr, vport, Ipv4Field.SRC, 0);
}

/**
 * An ICMP error from the client side about a NAT connection (it quotes our reply
 * VIP:vport -> client): outer destination := real server, quoted source := real server
 * address and port; the IP, quoted-IP and ICMP checksums are fixed.
 */
export function natIcmpInbound(buf: Uint8Array, ip: number, daddr: number, dport: number): void {
  natRewriteDst(buf, ip, daddr, 0);
  const hl = (buf[ip]! & 0x0f) << 2;
  natRewriteQuoteSrc(buf, ip + hl, rd16(buf, ip + Ipv4Field.TOTAL_LEN) - hl, daddr, dport);
}

/**
 * An ICMP error from a real server about a NAT connection (it quotes client -> real
 * server): outer source := VIP, quoted destination := VIP:vport.
 */
export function natIcmpOutbound(buf: Uint8Array, ip: number, vaddr: number, vport: number): void {
  natRewriteSrc(buf, ip, vaddr, 0);
  const hl = (buf[ip]! & 0x0f) << 2;
  natRewriteQuoteDst(buf, ip + hl, rd16(buf, ip + Ipv4Field.TOTAL_LEN) - hl, vaddr, vport);
}

/** Offset of the L4 checksum field from the L4 header, or -1. */
function l4CsumField(proto: number): number {
  return proto === Proto.TCP ? 16 : proto === Proto.UDP ? 6 : -1;
}

function partialRewrite(buf: Uint8Array, ip: number, addr: number, port: number, addrField: number, portField: number): void {
  const proto = buf[ip + Ipv4Field.PROTOCOL]!;
  const l4 = ip + ((buf[ip]! & 0x0f) << 2);
  const f = l4CsumField(proto);
  if (f < 0) {
    natRewriteDst(buf, ip, addr, port);
    return;
  }
  const oldAddr = rd32(buf, ip + addrField);
  const pseudo = rd16(buf, l4 + f);
  if (addrField === Ipv4Field.DST) natRewriteDst(buf, ip, addr, port);
  else natRewriteSrc(buf, ip, addr, port);
  // field holds the folded pseudo-header sum S: S' = S - old + new (ones' complement)
  let s = pseudo + (~oldAddr >>> 16 & 0xffff) + (~oldAddr & 0xffff) + (addr >>> 16) + (addr & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  wr16(buf, l4 + f, s);
  void portField;
}
