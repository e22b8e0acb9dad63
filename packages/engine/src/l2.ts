/**
 * Layer 2 of a director on one interface (TAP, AF_XDP, AF_PACKET): it is a host on the
 * segment. It owns its MAC, its addresses (DIPs, with their on-link prefixes) and the VIPs
 * placed on it; it answers ARP for them, announces a new VIP with a gratuitous ARP,
 * resolves next hops by ARP (its own neighbour cache, with a bounded queue of packets
 * waiting for an answer) and writes the Ethernet header of every frame it sends. A
 * Director with several interfaces has one L2 each; `Routes` picks the interface a next
 * hop is on and places the VIPs.
 */
import type { Link } from '@tunvs/link';
import {
  ARP_FRAME_LEN, ArpOp, ArpView, ETH_HEADER_LEN, EtherType, EthernetView, emitArpReply, emitArpRequest,
  emitGratuitousArp, parseIpv4, prefixToMask, readMac48, wordsOf,
} from '@tunvs/packet';
import type { Packet } from '@tunvs/forwarder';
import type { DirectorCounters } from './counters.js';
import { Neighbours } from './neighbours.js';
import type { Routes } from './routes.js';
import type { ServiceTable } from './services.js';
import type { TxQueue } from './txqueue.js';

/** An address the Director owns on a TAP segment, with its on-link prefix. */
export interface OwnedAddress {
  /** dotted IPv4 */
  addr: string;
  /** prefix length of the on-link subnet (24 for 10.0.0.1/24) */
  prefix: number;
}

/** 01:00:5e:00:00:00, the first MAC of the IPv4 groups (RFC 1112: their low 23 bits follow). */
const IPV4_GROUP_MAC48 = 0x01005e000000;
/** the same in the two words `isIpv4Multicast` reads: the first two bytes, and the top 9 bits of the last four */
const IPV4_GROUP_HI = Math.floor(IPV4_GROUP_MAC48 / 0x100000000);
const IPV4_GROUP_LO9 = (IPV4_GROUP_MAC48 % 0x100000000) >>> 23;

/** The transmit side L2 writes into (the batch's TapXmit). */
export interface L2Tx {
  readonly vnet: number;
  readonly tx: TxQueue;
  readonly now: number;
}

const ETH_IPV4 = EtherType.Ipv4;

export class L2 {
  /** the ARP cache */
  readonly neighbours = new Neighbours();
  /** our MAC's first two bytes and its last four (an int32), as `forUs` compares them */
  private readonly macHi: number;
  private readonly macLo: number;
  private readonly owned = new Set<number>();
  /** addresses a VRRP instance holds: answered (ARP, ping) only while active */
  private readonly heldActive = new Set<number>();
  private readonly heldStandby = new Set<number>();
  private readonly subnets: { net: number; mask: number; prefix: number }[] = [];
  private readonly eth = new EthernetView();
  private readonly arpView = new ArpView();
  /** the Director's routes over all its interfaces (set by the Director); null: this L2 alone */
  routes: Routes | null = null;
  /** this interface's index in `routes` */
  index = 0;
  /** the interface's name (logs, errors); '' for a Director's only interface */
  name = '';
  /** does this interface answer for VIPs on no subnet of the Director (the client side)? */
  offLinkVips = true;

  constructor(
    /** our MAC (6 bytes) */
    readonly mac: Uint8Array,
    /** VIPs are ours too */
    private readonly table: ServiceTable,
    private readonly counters: DirectorCounters,
    /** the link ARP requests outside a batch go out on */
    private readonly link: Link,
    /** next hop for destinations on no on-link subnet, 0 = none */
    readonly gateway: number,
    /** the address used when no owned address shares a subnet with the peer */
    public srcAddr: number,
  ) {
    this.macHi = (mac[0]! << 8) | mac[1]!;
    this.macLo = (mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!;
  }

  /** Own an address with its on-link prefix (answers ARP for it). */
  addAddress(a: OwnedAddress): void {
    const addr = parseIpv4(a.addr);
    this.owned.add(addr);
    const mask = prefixToMask(a.prefix);
    const net = (addr & mask) >>> 0;
    if (!this.subnets.some((s) => s.net === net && s.mask === mask)) this.subnets.push({ net, mask, prefix: a.prefix });
    if (this.srcAddr === 0) this.srcAddr = addr;
    this.routes?.rebuild();
  }

  /** The on-link subnets of this interface (for `Routes`). */
  subnetList(): readonly { net: number; mask: number; prefix: number }[] {
    return this.subnets;
  }

  /**
   * True for an address this interface answers ARP for: one of its own addresses, or a
   * VIP or an address a VRRP instance holds as master that is placed on this interface
   * (`Routes.placed`); never one held as backup.
   */
  owns(addr: number): boolean {
    if (!this.isOurs(addr)) return false;
    return this.owned.has(addr) || this.routes === null || this.routes.placed(addr) === this.index;
  }

  /**
   * True for an address this director answers for, wherever it is placed: an owned
   * address, a VIP or an address a VRRP instance holds as master; never one it holds as
   * backup.
   */
  isOurs(addr: number): boolean {
    if (this.heldStandby.size > 0 && this.heldStandby.has(addr)) return false;
    return this.owned.has(addr) || this.table.isVip(addr) || this.heldActive.has(addr);
  }

  /** One of this interface's own addresses (not a VIP)? */
  hasAddress(addr: number): boolean {
    return this.owned.has(addr);
  }

  /**
   * Is `addr` held by a VRRP instance in standby (backup)? Its traffic is the master's:
   * the Director neither answers for it nor forwards it as its own. One size test when no
   * address is held standby (the packet path asks for every frame).
   */
  standby(addr: number): boolean {
    return this.heldStandby.size > 0 && this.heldStandby.has(addr);
  }

  /** Ours in any state (never learnt as a neighbour): owned, a VIP, or held by VRRP. */
  private mine(addr: number): boolean {
    return this.owned.has(addr) || this.table.isVip(addr) || this.heldActive.has(addr) || this.heldStandby.has(addr);
  }

  /**
   * Put an address under a VRRP instance's control: while standby (backup) it is neither
   * answered (ARP, ping) nor announced, even when it is the VIP of a virtual service;
   * while active (master) it is answered like an owned address, also when no virtual
   * service uses it (a real servers' gateway VIP). Announcing a change is the caller's
   * (VRRP has its own gratuitous ARP timing).
   */
  hold(addr: number, active: boolean): void {
    if (active) {
      this.heldStandby.delete(addr);
      this.heldActive.add(addr);
    } else {
      this.heldActive.delete(addr);
      this.heldStandby.add(addr);
    }
  }

  /** Give an address back from VRRP control (to the rules above). */
  release(addr: number): void {
    this.heldActive.delete(addr);
    this.heldStandby.delete(addr);
  }

  /** Next hop for `dst`: itself when on-link, else the gateway, else 0 (no route). */
  route(dst: number): number {
    const s = this.subnets;
    for (let i = 0; i < s.length; i++) {
      const n = s[i]!;
      if (((dst & n.mask) >>> 0) === n.net) return dst;
    }
    return this.gateway;
  }

  /** Our address on the subnet of `addr` (ARP and tunnel source), or the default one. */
  sourceFor(addr: number): number {
    for (const a of this.owned) {
      for (const s of this.subnets) {
        if (((a & s.mask) >>> 0) === s.net && ((addr & s.mask) >>> 0) === s.net) return a;
      }
    }
    return this.srcAddr;
  }

  /** Is the frame whose Ethernet header is at `buf[eth]` addressed to our MAC (or broadcast)? */
  forUs(buf: Uint8Array, eth: number): boolean {
    // in two words, not as one 48-bit number (a double a call would box per frame); the
    // parser left a whole Ethernet header at `eth`
    const w = wordsOf(buf);
    const hi = w.getUint16(eth);
    const lo = w.getInt32(eth + 2);
    return (hi === this.macHi && lo === this.macLo) || (hi === 0xffff && lo === -1);
  }

  /** Is the destination MAC of the frame at `buf[eth]` an IPv4 multicast one (01:00:5e, RFC 1112)? */
  isIpv4Multicast(buf: Uint8Array, eth: number): boolean {
    // the same two words as `forUs`: 01:00 and 5e with the next bit clear
    const w = wordsOf(buf);
    return w.getUint16(eth) === IPV4_GROUP_HI && w.getUint32(eth + 2) >>> 23 === IPV4_GROUP_LO9;
  }

  // -------------------------------------------------------------------- output

  /**
   * Give the IP packet whose Ethernet header goes at `buf[eth]` (the frame ends at `end`)
   * the MAC of next hop `hop`. Returns false when the hop is not resolved yet: the frame
   * was queued for ARP (and a request sent), the caller sends nothing.
   */
  resolve(x: L2Tx, buf: Uint8Array, eth: number, end: number, hop: number): boolean {
    const n = this.neighbours.lookup(hop);
    if (n < 0) {
      this.counters.arpQueued++;
      // the vnet header stays out of the queue: queued frames are sent with a zero one
      if (this.neighbours.enqueue(hop, buf, eth, end - eth, x.now)) this.request(x, hop);
      return false;
    }
    // the Ethernet header in five words (`eth` is the start of a frame we built or
    // received whole)
    const w = wordsOf(buf);
    const macs = this.neighbours.macWords;
    const m = n * 6;
    w.setInt32(eth, macs.getInt32(m));
    w.setUint16(eth + 4, macs.getUint16(m + 4));
    w.setUint16(eth + 6, this.macHi);
    w.setInt32(eth + 8, this.macLo);
    w.setUint16(eth + 12, ETH_IPV4);
    // an entry past its reachable time is probed again by the tick (`tick`)
    this.neighbours.touch(n, x.now);
    return true;
  }

  /**
   * Give the IP datagram whose Ethernet header goes at `buf[eth]` the MAC of IPv4 group
   * `group` (01:00:5e and the group's low 23 bits, RFC 1112) and ours as source.
   */
  groupHeader(buf: Uint8Array, eth: number, group: number): void {
    const e = this.eth.reset(buf, eth, ETH_HEADER_LEN);
    e.dst48 = IPV4_GROUP_MAC48 + (group & 0x7fffff);
    e.setSrcMac(this.mac);
    e.etherType = EtherType.Ipv4;
  }

  // ----------------------------------------------------------------------- ARP

  /**
   * An ARP packet received: learn from it as Linux's arp_process does, answer requests
   * for our addresses.
   *
   * - A request for one of our addresses creates or updates the sender's entry.
   * - Any other ARP only updates an entry that exists, or resolves an address we asked
   *   for ourselves (Linux's INCOMPLETE entry): unsolicited ARP never creates entries
   *   (arp_accept off), so a stranger cannot plant itself as a real server.
   * - An update to another MAC inside the locktime is ignored (the first answer wins),
   *   unless it is a gratuitous ARP (sender = target; for a reply, its target MAC is the
   *   sender's too), which Linux always takes for an existing entry.
   */
  arpInput(x: L2Tx, p: Packet): void {
    const a = this.arpView.reset(p.buf, p.info.l3Off, p.len - (p.info.l3Off - p.off));
    const spa = a.senderIp;
    const tpa = a.targetIp;
    const op = a.op;
    const toUs = op === ArpOp.Request && spa !== tpa && this.owns(tpa);
    // learn only senders on one of our subnets (never one of our addresses, held by VRRP
    // or active, nor DAD probes)
    if (spa !== 0 && !this.mine(spa) && this.route(spa) === spa) this.learnFrom(x, a, spa, tpa, op, toUs);
    if (toUs) {
      const f = this.reserveFrame(x, ARP_FRAME_LEN);
      if (f < 0) return;
      emitArpReply(x.tx.gen.buf, f, p.buf, p.info.l3Off, this.mac);
      x.tx.commit(f - x.vnet, x.vnet + ARP_FRAME_LEN);
      this.counters.arpReplies++;
    }
  }

  private learnFrom(x: L2Tx, a: ArpView, spa: number, tpa: number, op: number, toUs: boolean): void {
    const nb = this.neighbours;
    const buf = a.buf;
    const sha = a.senderMacOff;
    const n = nb.lookup(spa);
    if (n >= 0) {
      const garp = spa === tpa && (op !== ArpOp.Reply || readMac48(buf, a.targetMacOff) === readMac48(buf, sha));
      nb.update(n, buf, sha, toUs || garp, x.now);
      return;
    }
    if (!toUs && !nb.awaiting(spa)) return;
    nb.create(spa, buf, sha, x.now);
    const waiting = nb.takePending(spa);
    if (waiting.length > 0) this.flushPending(x, spa, waiting);
  }

  /** Room for a frame of `len` bytes in the batch's transmit slab, after a zeroed vnet header: its offset, or -1 (counted). */
  private reserveFrame(x: L2Tx, len: number): number {
    const o = x.tx.reserve(x.vnet + len);
    if (o < 0) {
      this.counters.txSlabFull++;
      return -1;
    }
    if (x.vnet > 0) x.tx.gen.buf.fill(0, o, o + x.vnet);
    return o + x.vnet;
  }

  private flushPending(x: L2Tx, addr: number, frames: Uint8Array[]): void {
    for (const frame of frames) {
      const f = this.reserveFrame(x, frame.length);
      if (f < 0) continue;
      const g = x.tx.gen.buf;
      g.set(frame, f);
      this.resolve(x, g, f, f + frame.length, addr);
      x.tx.commit(f - x.vnet, x.vnet + frame.length);
    }
  }

  /** Broadcast an ARP request for `addr` within a batch (`x`) or at once on the link. */
  request(x: L2Tx | null, addr: number): void {
    this.neighbours.counters.requestsSent++;
    const src = this.sourceFor(addr);
    if (x === null) {
      const vnet = this.link.vnetHdrLen;
      const frame = new Uint8Array(vnet + ARP_FRAME_LEN);
      emitArpRequest(frame, vnet, this.mac, src, addr);
      writeOne(this.link, frame);
      return;
    }
    const f = this.reserveFrame(x, ARP_FRAME_LEN);
    if (f < 0) return;
    emitArpRequest(x.tx.gen.buf, f, this.mac, src, addr);
    x.tx.commit(f - x.vnet, x.vnet + ARP_FRAME_LEN);
  }

  /** Gratuitous ARP for a new VIP, sent at once (not for one a VRRP backup holds, nor one placed on another interface). */
  announce(vip: number): void {
    if (this.heldStandby.has(vip)) return;
    if (this.routes !== null && this.routes.placed(vip) !== this.index) return;
    const vnet = this.link.vnetHdrLen;
    const frame = new Uint8Array(vnet + ARP_FRAME_LEN);
    emitGratuitousArp(frame, vnet, this.mac, vip);
    writeOne(this.link, frame);
  }

  /** Periodic upkeep: forget stale neighbours, ask again for unresolved ones and for stale ones in use. */
  tick(now: number): void {
    this.neighbours.expire(now);
    for (const addr of this.neighbours.pendingAddrs()) this.request(null, addr);
    for (const addr of this.neighbours.refreshes(now)) this.request(null, addr);
  }
}

/** Write one frame outside a batch (rare: timers, announcements). */
function writeOne(link: Link, frame: Uint8Array): void {
  link.writeBatch({ buf: frame, offsets: Uint32Array.of(0), lengths: Uint32Array.of(frame.length), count: 1 });
}
