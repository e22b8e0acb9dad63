/**
 * ICMP into the director (the kernel's `ip_vs_in_icmp` / `ip_vs_out_icmp`): an error
 * (destination unreachable, source quench, time exceeded) that quotes a packet of a
 * tracked connection is handed to the connection's forwarder, which relays it like the
 * flow (NAT rewrites the outer address and the quote; DR and tunnels forward it to the
 * real server). Echo requests to an address the director answers for (TAP) get a reply.
 * Everything else ICMP is counted and left alone.
 */
import type { ConnTable } from '@tunvs/conntrack';
import type { Packet } from '@tunvs/forwarder';
import { Proto } from '@tunvs/model';
import { IcmpQuoteView, IcmpType, echoReplyInPlace } from '@tunvs/packet';
import type { DirectorCounters } from './counters.js';
import type { ForwarderTable } from './forwarders.js';
import type { LinkXmit } from './xmit.js';

export class IcmpRelay {
  private readonly quote = new IcmpQuoteView();

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
