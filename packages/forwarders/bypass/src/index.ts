/**
 * Bypass (the kernel's `ip_vs_bypass_xmit`, for cache_bypass connections without a
 * destination): the packet is forwarded unchanged but for the TTL to its own
 * destination, and its replies likewise.
 */
import { Fwd } from '@tunvs/model';
import { mtuStep, nextHop, ttlStep } from '@tunvs/forwarder';
import type { Forwarder, Packet, Xmit } from '@tunvs/forwarder';

/** The bypass method. */
export class BypassForwarder implements Forwarder {
  readonly method: number = Fwd.BYPASS;
  readonly name: string = 'bypass';

  refuse(): string | null {
    return null;
  }

  inbound(x: Xmit, p: Packet): void {
    const hop = nextHop(x, p.info.dst);
    if (hop === 0 || !ttlStep(x, p) || !mtuStep(x, p, x.mtu(hop))) return;
    x.send(p, hop);
  }

  outbound(x: Xmit, p: Packet): void {
    const hop = nextHop(x, p.info.dst);
    if (hop !== 0) x.send(p, hop);
  }

  icmpInbound(x: Xmit, p: Packet): void {
    const hop = nextHop(x, p.info.dst);
    if (hop === 0 || !ttlStep(x, p)) return;
    x.send(p, hop);
  }

  icmpOutbound(x: Xmit, p: Packet): void {
    this.outbound(x, p);
  }
}
