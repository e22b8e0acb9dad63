/**
 * Local delivery: the real server is a service on the director's own host. A userspace
 * director hands packets to its host's stack by writing them back into the device with
 * the destination rewritten to the local service's address and port (the destination's
 * address, one of the host's own); the packet is delivered, not forwarded, so neither the
 * TTL nor the path MTU is touched. Replies from that service come back through the device
 * (policy routing: `ip rule add from ADDR lookup <table with default dev TUN>`) and are
 * un-NATed like NAT replies. So this is NAT toward a local address, its own method so
 * that listings say `Local`.
 */
import { Fwd } from '@tunvs/model';
import type { ConnTable } from '@tunvs/conntrack';
import { nextHop } from '@tunvs/forwarder';
import type { Packet, Xmit } from '@tunvs/forwarder';
import { MasqForwarder, natIcmpInbound, natInbound } from '@tunvs/forwarder-nat';

/** The local-delivery method. */
export class LocalForwarder extends MasqForwarder {
  override readonly method: number = Fwd.LOCALNODE;
  override readonly name: string = 'local';

  override inbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const daddr = conns.daddr(slot);
    const hop = nextHop(x, daddr);
    if (hop === 0) return;
    natInbound(p.buf, p.info, daddr, conns.dport(slot), p.partialCsum);
    x.send(p, hop);
  }

  override icmpInbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const daddr = conns.daddr(slot);
    const hop = nextHop(x, daddr);
    if (hop === 0) return;
    natIcmpInbound(p.buf, p.info, daddr, conns.dport(slot));
    x.send(p, hop);
  }
}
