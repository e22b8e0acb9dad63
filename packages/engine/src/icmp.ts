/**
 * ICMP into the director (the kernel's `ip_vs_in_icmp` / `ip_vs_out_icmp`): an error
 * (destination unreachable, source quench, time exceeded) that quotes a packet of a
 * tracked connection is handed to the connection's forwarder, which relays it like the
 * flow (NAT rewrites the outer address and the quote; DR and tunnels forward it to the
 * real server). Echo requests to an address the director answers for (TAP) get a reply.
 * Everything else ICMP is counted and left alone.
 *
 * An error about one of our own tunnel packets (a router between the director and a real
 * server quoting the outer IPIP, GUE or GRE packet) is answered to the client with a new
 * error of the same type and code quoting the client's packet; for fragmentation needed,
 * the MTU it reports is less the tunnel's headers (outer IP header + UDP/GUE or GRE), as
 * the kernel's `ip_vs_in_icmp` does since GUE/GRE (5.3).
 */

/** ip_rt_min_pmtu: a reported MTU under it is raised to it by the kernel's PMTU update. */
const MIN_PMTU = 552;
/** The smallest MTU a frag-needed about a tunnel packet is lowered to (68 + the headers). */
const MIN_MTU = 68;
import type { ConnTable } from '@tunvs/conntrack';
import { Packet } from '@tunvs/forwarder';
import { Fwd, Proto } from '@tunvs/model';
import {
  IcmpQuoteView, IcmpType, IcmpUnreachCode, Ipv4Field, Ipv4Flag, UdpField, echoReplyInPlace, parseGreHeader, parseGueHeader, rd16, rd32,
} from '@tunvs/packet';
import type { DirectorCounters } from './counters.js';
import type { ForwarderTable } from './forwarders.js';
import type { LinkXmit } from './xmit.js';

export class IcmpRelay {
  private readonly quote = new IcmpQuoteView();
  /** the client's packet quoted inside an error about a tunnel packet */
  private readonly inner = new Packet();

  constructor(
    private readonly conns: ConnTable,
    private readonly fwds: ForwarderTable,
    private readonly counters: DirectorCounters,
  ) {}

  /** An ICMP message (parsed, checksum verified) that is not a fragment. */
  input(x: LinkXmit, p: Packet): void {
    const info = p.info;
    const type = info.icmpType;
    if (type === IcmpType.EchoRequest && !info.fragment && x.answersFor(info.dst)) {
      this.echoReply(x, p);
      return;
    }
    if (info.quoteOff < 0 || (type !== IcmpType.DestUnreachable && type !== IcmpType.SourceQuench && type !== IcmpType.TimeExceeded)) {
      this.counters.icmpIgnored++;
      return;
    }
    const q = this.quote.reset(p.buf, info.quoteOff, info.quoteLen);
    const proto = q.protocol;
    if ((proto === Proto.IPIP || proto === Proto.UDP || proto === Proto.GRE) && this.tunnelError(x, p)) return;
    if (!q.hasL4Header || (proto !== Proto.TCP && proto !== Proto.UDP && proto !== Proto.SCTP)) {
      this.counters.icmpIgnored++;
      return;
    }
    const conns = this.conns;
    // From the client side it quotes our reply VIP:vport -> client: the inbound lookup, swapped.
    let slot = conns.lookupIn(proto, q.dst, q.dstPort, q.src, q.srcPort);
    if (slot >= 0) {
      const dest = conns.dest(slot);
      if (dest !== null && !dest.available) {
        this.counters.destUnavailable++;
        return;
      }
      this.counters.icmpRelayed++;
      conns.touch(slot, x.now);
      if (dest !== null) {
        dest.stats.inPkts++;
        dest.stats.inBytes += info.ipTotalLen;
      }
      this.fwds.at(conns.xmit(slot)).icmpInbound(x, p, conns, slot);
      return;
    }
    // From the real server's side it quotes client -> real server: the outbound lookup, swapped.
    slot = conns.lookupOut(proto, q.dst, q.dstPort, q.src, q.srcPort);
    if (slot >= 0) {
      this.counters.icmpRelayed++;
      conns.touch(slot, x.now);
      const dest = conns.dest(slot);
      if (dest !== null) {
        dest.stats.outPkts++;
        dest.stats.outBytes += info.ipTotalLen;
      }
      this.fwds.at(conns.xmit(slot)).icmpOutbound(x, p, conns, slot);
      return;
    }
    this.counters.icmpIgnored++;
  }

  /**
   * An error about an outer tunnel packet we sent (quoted: our address -> a real server,
   * IPIP, UDP to a GUE port, or GRE). Returns false when the quote is not one (a UDP
   * quote then goes the ordinary way). The connection is found from the client's packet
   * inside (the unswapped inbound lookup) and must be tunnelled to that real server with
   * that type (and GUE port): the kernel's `ip_vs_find_tunnel` check, made on the
   * connection's own destination.
   */
  private tunnelError(x: LinkXmit, p: Packet): boolean {
    const info = p.info;
    const buf = p.buf;
    const o = info.quoteOff;
    const end = o + info.quoteLen;
    const osrc = rd32(buf, o + Ipv4Field.SRC);
    const odst = rd32(buf, o + Ipv4Field.DST);
    const oproto = buf[o + Ipv4Field.PROTOCOL]!;
    // sent by us (to one of our addresses, the one we use toward that real server); a
    // non-first fragment has no UDP/GRE header
    if (osrc !== info.dst || x.source(odst) !== osrc) return false;
    if ((rd16(buf, o + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.OffsetMask) !== 0) return false;
    const at = o + ((buf[o]! & 0xf) << 2);
    let type = 0;
    let port = 0;
    let ulen = 0;
    if (oproto === Proto.UDP) {
      // version 0, data (not control), carrying IPv4
      const g = at + UdpField.HEADER_LEN;
      const hl = g < end ? parseGueHeader(buf, g, end - g) : -1;
      if (hl < 0) return false;
      type = 1;
      port = rd16(buf, at + UdpField.DST_PORT);
      ulen = UdpField.HEADER_LEN + hl;
    } else if (oproto === Proto.GRE) {
      // version 0, no flag but C, IPv4 inside (the quote is cut short: no checksum check)
      const hl = parseGreHeader(buf, at, end - at, false);
      if (hl < 0) return false;
      type = 2;
      ulen = hl;
    }
    const ip = at + ulen;
    if (ip + Ipv4Field.HEADER_LEN > end || buf[ip]! >> 4 !== 4) return false;
    const ihl = (buf[ip]! & 0xf) << 2;
    const iproto = buf[ip + Ipv4Field.PROTOCOL]!;
    if (ihl < Ipv4Field.HEADER_LEN || ip + ihl + 4 > end || (iproto !== Proto.TCP && iproto !== Proto.UDP)) return false;
    const isrc = rd32(buf, ip + Ipv4Field.SRC);
    const idst = rd32(buf, ip + Ipv4Field.DST);
    const conns = this.conns;
    const slot = conns.lookupIn(iproto, isrc, rd16(buf, ip + ihl), idst, rd16(buf, ip + ihl + 2));
    const dest = slot >= 0 ? conns.dest(slot) : null;
    if (dest === null || dest.fwd !== Fwd.TUNNEL || dest.addr !== odst || dest.tunType !== type || (type === 1 && dest.tunPort !== port)) {
      if (oproto === Proto.UDP) return false;
      this.counters.icmpIgnored++;
      return true;
    }
    const icmpType = info.icmpType;
    const code = info.icmpCode;
    let mtu = 0;
    if (icmpType === IcmpType.DestUnreachable && code === IcmpUnreachCode.FragNeeded) {
      // the client does not do PMTU discovery: nothing to tell it
      if ((rd16(buf, ip + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.DF) === 0) {
        this.counters.icmpIgnored++;
        return true;
      }
      // the path MTU toward the real server after the kernel's update with the reported
      // value (raised to ip_rt_min_pmtu, never above the route's), less our headers
      const route = x.mtu(x.route(odst));
      const reported = rd16(buf, info.l4Off + 6);
      mtu = Math.min(route, Math.max(reported, MIN_PMTU));
      const headers = ip - o;
      if (mtu > MIN_MTU + headers) mtu -= headers;
    }
    this.counters.icmpRelayed++;
    dest.stats.outPkts++;
    dest.stats.outBytes += info.ipTotalLen;
    const q = this.inner;
    q.buf = buf;
    q.off = ip;
    q.len = end - ip;
    q.info.l3Off = ip;
    q.info.ipTotalLen = end - ip;
    q.info.src = isrc;
    q.info.dst = idst;
    x.icmpError(q, icmpType, code, mtu);
    return true;
  }

  /** Answer an echo request to one of our addresses, in place. */
  private echoReply(x: LinkXmit, p: Packet): void {
    const hop = x.route(p.info.src);
    if (hop === 0) {
      this.counters.noRoute++;
      return;
    }
    echoReplyInPlace(p.buf, p.info.l3Off);
    this.counters.icmpSent++;
    x.send(p, hop);
  }
}
