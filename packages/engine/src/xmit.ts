/**
 * The transmit side of one link, and the explicit context of the batch being handled:
 * the clock of the batch, the packet descriptor the parser fills, the transmit queue.
 * One per link, passed down the whole per-packet path (nothing per-batch lives in the
 * Director's fields). It implements the forwarders' `Xmit`: routes, MTU, ICMP errors
 * and sends, for a TUN link (IP packets into the device; the host routes them) or a TAP
 * link (Ethernet frames; next hops resolved by ARP in `L2`).
 */
import type { LinkFacts, Xmit } from '@tunvs/forwarder';
import { Packet } from '@tunvs/forwarder';
import type { Link, LinkKind } from '@tunvs/link';
import { vnetGsoSize, vnetGsoType, vnetNeedsCsum, vnetShiftStart } from '@tunvs/link';
import {
  CheckFlags, ETH_HEADER_LEN, EtherType, FrameKind, ICMP_ERROR_MAX_LEN, Ipv4Field, Ipv4View, classifyFrame, classifyIpv4, emitIcmpError,
  emitIpv4Fragment, ipv4FragmentPayload, rd32,
} from '@tunvs/packet';

const ARP = FrameKind.Arp;
import type { DirectorCounters } from './counters.js';
import type { L2 } from './l2.js';
import type { Routes } from './routes.js';
import type { ServiceTable } from './services.js';
import { TxQueue } from './txqueue.js';
import type { TxSlab } from './txqueue.js';

/** What every link's Xmit shares. */
export interface XmitShared {
  readonly counters: DirectorCounters;
  readonly table: ServiceTable;
  readonly pmtuDisc: boolean;
  /** IPv4 protocols handed to a local handler (VRRP): TAP admits their multicast frames */
  readonly local: ReadonlyMap<number, unknown>;
}

/** The Xmit of one link; the subclasses know the link layer. */
export abstract class LinkXmit implements Xmit {
  abstract readonly kind: LinkKind;
  /** what the parser verifies on this link (CheckFlags) */
  abstract readonly checks: number;
  /** the clock of the batch being handled (ms) */
  now = 0;
  /** between `begin` and `flush`: what is queued now leaves with the batch */
  inBatch = false;
  /** the descriptor of the frame being handled, re-pointed for every frame */
  readonly pkt = new Packet();
  /** bytes of vnet header in front of every packet of this link */
  readonly vnet: number;
  readonly tx: TxQueue;
  readonly genBuf: Uint8Array;
  /**
   * The transmit sides written with this link's batches: this one, and with several
   * interfaces queue i of each of the others (they share one transmit slab).
   */
  group: LinkXmit[] = [this];
  readonly counters: DirectorCounters;
  readonly pmtuDisc: boolean;
  /** bytes of link header in front of an IP packet */
  protected abstract readonly l2Len: number;
  private ipId = 0;

  constructor(
    readonly link: Link,
    protected readonly shared: XmitShared,
    /** the transmit slab, shared with the group's other links (default: its own) */
    slab?: TxSlab,
  ) {
    this.vnet = link.vnetHdrLen;
    this.tx = new TxQueue(256, slab);
    this.genBuf = this.tx.gen.buf;
    this.counters = shared.counters;
    this.pmtuDisc = shared.pmtuDisc;
  }

  /** Start a batch. */
  begin(now: number): void {
    this.now = now;
    this.inBatch = true;
  }

  /** Write what the batch queued; returns the packets the link took. */
  flush(rxBuf: Uint8Array): number {
    this.inBatch = false;
    return this.tx.flush(this.link, rxBuf);
  }

  /** Start a batch received on this link: on every transmit side it may leave by. */
  beginGroup(now: number): void {
    const g = this.group;
    for (let i = 0; i < g.length; i++) g[i]!.begin(now);
  }

  /** Write what the batch queued on every transmit side of the group; returns the packets the links took. */
  flushGroup(rxBuf: Uint8Array): number {
    const g = this.group;
    let n = 0;
    for (let i = 0; i < g.length; i++) n += g[i]!.flush(rxBuf);
    return n;
  }

  /** The facts forwarders are admitted by. */
  facts(): LinkFacts {
    return { kind: this.kind, source: this.source(0) };
  }

  mtu(_hop: number): number {
    return this.link.mtu;
  }

  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  reserve(len: number): number {
    const head = this.vnet + this.l2Len;
    const o = this.tx.reserve(head + len);
    if (o < 0) {
      this.counters.txSlabFull++;
      return -1;
    }
    if (this.vnet > 0) this.genBuf.fill(0, o, o + this.vnet);
    return o + head;
  }

  icmpError(p: Packet, type: number, code: number, mtu: number): void {
    const ip = this.reserve(ICMP_ERROR_MAX_LEN);
    if (ip < 0) return;
    const info = p.info;
    const n = emitIcmpError(this.genBuf, ip, p.buf, info.l3Off, info.ipTotalLen, type, code, this.icmpSource(p), mtu);
    if (n === 0) return;
    this.counters.icmpSent++;
    const hop = this.route(info.src);
    if (hop === 0) {
      this.counters.noRoute++;
      return;
    }
    this.sendNew(ip, n, hop);
  }

  /**
   * Where ICMP errors about `p` come from: its destination when that is an address we
   * answer for (a VIP: what a kernel director's icmp_send does for local addresses), else
   * our own address toward the sender.
   */
  private icmpSource(p: Packet): number {
    const dst = p.info.dst;
    if (this.shared.table.isVip(dst) || this.answersFor(dst)) return dst;
    return this.source(p.info.src) || dst;
  }

  /** Queue `buf[off, off+len)`: in place when it lies in the receive slab, else copied. */
  protected out(buf: Uint8Array, off: number, len: number, inRx: boolean): void {
    if (inRx) {
      if (!this.tx.push(off, len)) this.counters.txSlabFull++;
      return;
    }
    const o = this.tx.reserve(len);
    if (o < 0) {
      this.counters.txSlabFull++;
      return;
    }
    this.genBuf.set(buf.subarray(off, off + len), o);
    this.tx.commit(o, len);
  }

  /**
   * Parse the frame at `buf[off, off+len)` (its vnet header first) into `pkt.info`: 0 or
   * the ParseReason it is refused for. The link's layer decides where parsing starts.
   */
  abstract parse(buf: Uint8Array, off: number, len: number): number;
  abstract route(dst: number): number;
  abstract source(dst: number): number;
  abstract send(p: Packet, hop: number): void;
  /** Send the built packet `genBuf[ip, ip+len)` (it fits the link) to next hop `hop`. */
  protected abstract sendBuilt(ip: number, len: number, hop: number): void;

  /**
   * Send a packet the director built (from `reserve`). One longer than the link's MTU is
   * cut into fragments when its DF bit is clear, as ip_output's ip_fragment does for the
   * outer packet of a tunnel; with DF set (the path MTU check has already answered with
   * frag-needed, or it is a GSO super-packet) it goes out as it is.
   */
  sendNew(ip: number, len: number, hop: number): void {
    if (len > this.mtu(hop) && !this.ipView.reset(this.genBuf, ip, len).df) this.fragmentOut(ip, len, hop);
    else this.sendBuilt(ip, len, hop);
  }

  private readonly ipView = new Ipv4View();
  /** a copy of the datagram being cut (its reservation is reused for the fragments) */
  private scratch: Uint8Array | null = null;

  private fragmentOut(ip: number, len: number, hop: number): void {
    const hl = this.ipView.headerLen;
    const step = ipv4FragmentPayload(this.mtu(hop), hl);
    if (step === 0) {
      this.counters.fragNeeded++;
      return;
    }
    const scratch = (this.scratch ??= new Uint8Array(0x10000));
    scratch.set(this.genBuf.subarray(ip, ip + len), 0);
    const payload = len - hl;
    for (let from = 0; from < payload; from += step) {
      const n = Math.min(step, payload - from);
      const o = this.reserve(hl + n);
      if (o < 0) return;
      this.sendBuilt(o, emitIpv4Fragment(scratch, 0, from, n, this.genBuf, o), hop);
      this.counters.fragCreated++;
    }
  }
  /**
   * Point `p` at the parsed frame `buf[off, off+len)` and admit it at layer 2: false when
   * the link layer took it (ARP) or it is not addressed to us (counted).
   */
  abstract admit(p: Packet, buf: Uint8Array, off: number, len: number): boolean;
  /** Do we answer for `addr` ourselves (echo requests, ARP)? */
  abstract answersFor(addr: number): boolean;
  /** Point `p` at an IPv4 packet in the receive slab (its slot ends with the datagram) and read its vnet flags. */
  protected point(p: Packet, buf: Uint8Array, off: number): void {
    // the same slab frame after frame: not written again (a store with a write barrier)
    if (p.buf !== buf) p.buf = buf;
    p.off = off;
    p.len = p.info.l3Off - off + p.info.ipTotalLen;
    p.inRx = true;
    if (this.vnet > 0) {
      p.partialCsum = vnetNeedsCsum(buf, off);
      const t = vnetGsoType(buf, off);
      p.gsoType = t;
      if (t !== 0) p.gsoSize = vnetGsoSize(buf, off);
    } else {
      p.partialCsum = false;
      p.gsoType = 0;
    }
  }
}

/** A TUN link: IP packets; the host routes whatever we write, so every route is "into the device". */
export class TunXmit extends LinkXmit {
  readonly kind = 'tun' as const;
  /** the host's stack verified the IP header checksum before routing the packet into the device (ip_rcv) */
  readonly checks = CheckFlags.IcmpChecksum;
  protected readonly l2Len = 0;

  constructor(
    link: Link,
    shared: XmitShared,
    /** the director's address (tunnel outer source), 0 = none configured */
    private readonly srcAddr: number,
  ) {
    super(link, shared);
    // what classifyFrame says of every frame of a TUN link, set once
    const info = this.pkt.info;
    info.etherType = EtherType.Ipv4;
    info.vlanId = -1;
    info.l2Off = -1;
  }

  parse(buf: Uint8Array, off: number, len: number): number {
    // a TUN packet starts with its IPv4 header: classifyFrame's IPv4 part, directly
    return classifyIpv4(buf, off + this.vnet, len - this.vnet, this.pkt.info, this.checks);
  }

  route(dst: number): number {
    return dst;
  }

  source(_dst: number): number {
    return this.srcAddr;
  }

  send(p: Packet, _hop: number): void {
    this.out(p.buf, p.off, p.len, p.inRx);
  }

  protected sendBuilt(ip: number, len: number, _hop: number): void {
    this.tx.commit(ip - this.vnet, this.vnet + len);
  }

  admit(p: Packet, buf: Uint8Array, off: number, _len: number): boolean {
    this.point(p, buf, off);
    return true;
  }

  answersFor(_addr: number): boolean {
    // the host answers for its own addresses; the VIPs are routed into the device
    return false;
  }

}

/**
 * A layer-2 link (TAP, AF_XDP, AF_PACKET): Ethernet frames; the director is a host on
 * the segment (see L2). Frames are received and ARP answered on the link's own interface
 * (`l2`); what leaves goes out on the interface of its next hop (`Routes`), through that
 * interface's transmit side of the same group (`peers`).
 */
export class TapXmit extends LinkXmit {
  readonly kind = 'tap' as const;
  /** frames come from the wire: the IP header checksum is checked */
  readonly checks = CheckFlags.IpChecksum | CheckFlags.IcmpChecksum;
  protected readonly l2Len = ETH_HEADER_LEN;
  /** the transmit side of each interface (by its index in `routes`) for this link's batches; [this] with one interface */
  peers: TapXmit[] = [this];

  constructor(
    link: Link,
    shared: XmitShared,
    /** the interface this link belongs to */
    readonly l2: L2,
    /** the routes over all the Director's interfaces */
    private readonly routes: Routes,
    slab?: TxSlab,
  ) {
    super(link, shared, slab);
  }

  /** The transmit side next hop `hop` is reached by. */
  private egress(hop: number): TapXmit {
    const p = this.peers;
    return p.length === 1 ? this : p[this.routes.ifaceOf(hop)]!;
  }

  parse(buf: Uint8Array, off: number, len: number): number {
    return classifyFrame(buf, off + this.vnet, len - this.vnet, 'tap', this.pkt.info, this.checks);
  }

  route(dst: number): number {
    return this.routes.route(dst);
  }

  override mtu(hop: number): number {
    return this.egress(hop).link.mtu;
  }

  source(dst: number): number {
    if (this.peers.length === 1) return this.l2.sourceFor(dst);
    // our address on the interface toward `dst`
    return this.egress(this.routes.route(dst)).l2.sourceFor(dst);
  }

  send(p: Packet, hop: number): void {
    const e = this.egress(hop);
    // the Ethernet header goes right before the IP header (a VLAN tag is dropped)
    const eth = p.info.l3Off - ETH_HEADER_LEN;
    const end = p.off + p.len;
    if (!e.l2.resolve(e, p.buf, eth, end, hop)) return;
    const start = eth - this.vnet;
    if (this.vnet > 0 && start !== p.off) {
      // the header moves with the frame's start, and its offsets lose the tag's bytes
      p.buf.copyWithin(start, p.off, p.off + this.vnet);
      vnetShiftStart(p.buf, start, start - p.off);
    }
    e.out(p.buf, start, end - start, p.inRx);
  }

  protected sendBuilt(ip: number, len: number, hop: number): void {
    // the group's links share the transmit slab: built here, it leaves by any of them
    const e = this.egress(hop);
    const eth = ip - ETH_HEADER_LEN;
    if (!e.l2.resolve(e, this.genBuf, eth, ip + len, hop)) return;
    e.tx.commit(eth - this.vnet, this.vnet + ETH_HEADER_LEN + len);
  }

  admit(p: Packet, buf: Uint8Array, off: number, len: number): boolean {
    if (p.info.kind === ARP) {
      p.buf = buf;
      p.off = off;
      p.len = len;
      p.inRx = true;
      this.l2.arpInput(this, p);
      return false;
    }
    const l2Off = p.info.l2Off;
    // ours: our MAC, broadcast, and IPv4 multicast of a protocol handled locally (VRRP)
    if (!this.l2.forUs(buf, l2Off) && !(this.shared.local.has(p.info.proto) && this.l2.isIpv4Multicast(buf, l2Off))) {
      this.counters.notForUs++;
      return false;
    }
    // an address a VRRP backup holds is the master's: a frame that still reaches us (a
    // client's stale ARP entry, a flooding switch) is not forwarded as ours
    if (this.l2.standby(p.info.dst)) {
      this.counters.vrrpBackup++;
      return false;
    }
    this.point(p, buf, off);
    return true;
  }

  answersFor(addr: number): boolean {
    // ping: any address of the director, whichever interface it came in on (as Linux)
    return this.peers.length === 1 ? this.l2.owns(addr) : this.routes.answers(addr);
  }

  // ------------------------------------------ what the director originates (VRRP)

  /**
   * Queue an IPv4 datagram the director originates (from its IP header): to its group's
   * MAC when the destination is multicast, else to the next hop's. False when it was not
   * queued: no route, no room (both counted), or the next hop not resolved yet (an ARP
   * request went out instead; the datagram is not kept, the caller sends again later).
   */
  originate(datagram: Uint8Array): boolean {
    const len = datagram.length;
    const dst = rd32(datagram, Ipv4Field.DST);
    const group = dst >>> 28 === 0xe;
    let hop = 0;
    if (!group) {
      hop = this.route(dst);
      if (hop === 0) {
        this.counters.noRoute++;
        return false;
      }
      const e = this.egress(hop);
      if (e.l2.neighbours.lookup(hop) < 0) {
        if (e.l2.neighbours.solicit(hop, e.now)) e.l2.request(e, hop);
        return false;
      }
    }
    const ip = this.reserve(len);
    if (ip < 0) return false;
    this.genBuf.set(datagram, ip);
    if (!group) {
      this.sendNew(ip, len, hop);
      return true;
    }
    const eth = ip - ETH_HEADER_LEN;
    this.l2.groupHeader(this.genBuf, eth, dst);
    this.tx.commit(eth - this.vnet, this.vnet + ETH_HEADER_LEN + len);
    return true;
  }

  /** Queue an Ethernet frame the director originates, as given (VRRP's gratuitous ARP). */
  originateFrame(frame: Uint8Array): void {
    const o = this.tx.reserve(this.vnet + frame.length);
    if (o < 0) {
      this.counters.txSlabFull++;
      return;
    }
    if (this.vnet > 0) this.genBuf.fill(0, o, o + this.vnet);
    this.genBuf.set(frame, o + this.vnet);
    this.tx.commit(o, this.vnet + frame.length);
  }

}
