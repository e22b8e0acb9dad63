/**
 * Direct routing (ipvsadm `-g`, the default), the kernel's `ip_vs_dr_xmit`: the packet is
 * sent to the real server as the next hop (at layer 2, its MAC address) with its IP header
 * untouched but for the TTL; the real server owns the VIP on a loopback interface and
 * answers the client directly. ICMP errors from the client side go the same way; replies
 * and errors from the real server's side that happen to pass through the director are
 * routed on unchanged.
 *
 * A layer-3 (TUN) device cannot address a packet to a MAC: the method is refused there
 * when the destination is added.
 */
import { Fwd } from '@tunvs/model';
import type { ConnTable } from '@tunvs/conntrack';
import { mtuStep, nextHop, ttlStep } from '@tunvs/forwarder';
import type { Forwarder, LinkFacts, Packet, Xmit } from '@tunvs/forwarder';

/** Why direct routing cannot run on a TUN device. */
export const DR_NEEDS_L2 =
  'direct routing (-g) sends each packet to the real server\'s MAC address, which needs a layer-2 (TAP) device; ' +
  'this director runs on a TUN device (layer 3): use NAT (-m) or tunnelling (-i), or run the director on a TAP device';

/** The direct-routing method. */
export class DrouteForwarder implements Forwarder {
  readonly method: number = Fwd.DROUTE;
  readonly name: string = 'route';

  refuse(link: LinkFacts): string | null {
    return link.kind === 'tap' ? null : DR_NEEDS_L2;
  }

  inbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    // the real server is the next hop, whatever the route to the VIP says
    const rs = conns.daddr(slot);
    if (!ttlStep(x, p) || !mtuStep(x, p, x.mtu(rs))) return;
    x.send(p, rs);
  }

  outbound(x: Xmit, p: Packet): void {
    const hop = nextHop(x, p.info.dst);
    if (hop !== 0) x.send(p, hop);
  }

  icmpInbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    if (!ttlStep(x, p)) return;
    x.send(p, conns.daddr(slot));
  }

  icmpOutbound(x: Xmit, p: Packet): void {
    this.outbound(x, p);
  }
}
