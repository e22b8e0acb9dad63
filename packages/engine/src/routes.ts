/**
 * The routing table of a layer-2 Director (TAP, AF_XDP, AF_PACKET): which of its
 * interfaces a next hop is on. Each interface (`L2`) has its own MAC, addresses, on-link
 * subnets and neighbour table; the routes are those subnets, longest prefix first, and
 * one default route (the Director's gateway, or the first interface's that has one),
 * as `ip route` would show them for a host with those addresses.
 *
 * The lookup is a scan of a few typed-array entries. `route` remembers the last answer,
 * so that `ifaceOf` on the hop it returned (the forwarders route, then send to that hop)
 * costs one comparison. With one interface, `ifaceOf` is always 0.
 *
 * It also places the addresses that are not one interface's own: a VIP (or an address
 * a VRRP instance holds) is answered, by ARP and gratuitous ARP, on the interface whose
 * subnet holds it; one on no subnet on the interfaces that take such VIPs (`vips`,
 * by default the first).
 */
import type { L2 } from './l2.js';

/** How many subnets a Director routes over, all interfaces together. */
export const MAX_SUBNETS = 256;

export class Routes {
  private readonly nets = new Uint32Array(MAX_SUBNETS);
  private readonly masks = new Uint32Array(MAX_SUBNETS);
  private readonly owners = new Uint8Array(MAX_SUBNETS);
  private count = 0;
  /** the default route's next hop (0 = none) and the interface it is on */
  private gw = 0;
  private gwIface = 0;
  /** the last answer of `route` */
  private lastHop = 0;
  private lastIface = 0;
  private readonly single: boolean;

  constructor(
    /** the interfaces, by index */
    readonly ifaces: readonly L2[],
    /** the Director's default gateway, 0 = the first interface's that has one */
    private readonly gateway: number,
  ) {
    this.single = ifaces.length === 1;
    this.rebuild();
  }

  /** Build the table again from the interfaces' subnets (after an address is added). */
  rebuild(): void {
    const all: { net: number; mask: number; len: number; iface: number }[] = [];
    this.ifaces.forEach((l, i) => {
      for (const s of l.subnetList()) all.push({ net: s.net, mask: s.mask, len: s.prefix, iface: i });
    });
    if (all.length > MAX_SUBNETS) throw new RangeError(`a Director routes over at most ${MAX_SUBNETS} subnets, got ${all.length}`);
    // longest prefix first; among equals the interface given first (a stable sort)
    all.sort((a, b) => b.len - a.len);
    all.forEach((s, i) => {
      this.nets[i] = s.net;
      this.masks[i] = s.mask;
      this.owners[i] = s.iface;
    });
    this.count = all.length;
    this.gw = 0;
    this.gwIface = 0;
    if (this.gateway !== 0) {
      this.gw = this.gateway;
      const on = this.onLink(this.gateway);
      this.gwIface = on < 0 ? 0 : on;
    } else {
      const i = this.ifaces.findIndex((l) => l.gateway !== 0);
      if (i >= 0) {
        this.gw = this.ifaces[i]!.gateway;
        this.gwIface = i;
      }
    }
    this.lastHop = 0;
  }

  /** The interface whose subnet (longest prefix) holds `addr`, or -1. */
  onLink(addr: number): number {
    const nets = this.nets;
    const masks = this.masks;
    for (let i = 0; i < this.count; i++) {
      if (((addr & masks[i]!) >>> 0) === nets[i]) return this.owners[i]!;
    }
    return -1;
  }

  /** Next hop toward `dst`: itself when on a subnet of ours, else the default gateway, else 0 (no route). */
  route(dst: number): number {
    const nets = this.nets;
    const masks = this.masks;
    for (let i = 0; i < this.count; i++) {
      if (((dst & masks[i]!) >>> 0) === nets[i]) {
        this.lastHop = dst;
        this.lastIface = this.owners[i]!;
        return dst;
      }
    }
    if (this.gw !== 0) {
      this.lastHop = this.gw;
      this.lastIface = this.gwIface;
    }
    return this.gw;
  }

  /** The interface next hop `hop` is reached on (a hop `route` gave, or any on-link address). */
  ifaceOf(hop: number): number {
    if (this.single) return 0;
    if (hop === this.lastHop) return this.lastIface;
    if (hop === this.gw) return this.gwIface;
    const i = this.onLink(hop);
    return i < 0 ? 0 : i;
  }

  /**
   * The interface that answers for `addr` when it is a VIP or held by VRRP: the one whose
   * subnet holds it, else the first that takes VIPs on no subnet; -1 for none.
   */
  placed(addr: number): number {
    if (this.single) return 0;
    const i = this.onLink(addr);
    if (i >= 0) return i;
    const l = this.ifaces;
    for (let k = 0; k < l.length; k++) if (l[k]!.offLinkVips) return k;
    return -1;
  }

  /** Does any interface own `addr` or answer for it (a VIP, an active VRRP address)? The host model of ping. */
  answers(addr: number): boolean {
    const l = this.ifaces;
    for (let i = 0; i < l.length; i++) if (l[i]!.isOurs(addr)) return true;
    return false;
  }
}
