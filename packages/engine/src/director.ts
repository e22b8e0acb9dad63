/**
 * The Director: an LVS director on one packet device (a TUN or TAP Link, possibly several
 * queues of it).
 *
 *   Link batch -> parse -> (ARP) -> ICMP error of a tracked flow? -> connection lookup
 *     hit  -> state transition, counters -> the connection's forwarder
 *     miss -> service lookup -> persistence / scheduler -> new connection -> forwarder
 *   -> in-place rewrites go back in the receive slab, new packets (IPIP, ARP, ICMP) in the
 *      transmit slab; both written once per batch.
 *
 * TUN mode (layer 3): packets start with the IPv4 header; the kernel of the director's
 * host routes VIP traffic into the device and (policy routing) NAT replies too.
 * TAP mode (layer 2): the Director is a host on the segment: it owns addresses (DIPs and
 * the VIPs), answers ARP for them, resolves next hops by ARP and writes Ethernet frames.
 *
 * The per-packet path allocates nothing: views are index arithmetic on the slab, addresses
 * are numbers, the connection table is typed arrays, and the forwarder is picked by the
 * connection's method number from an array.
 */
import type { Link, PacketBatch } from '@tunvs/link';
import { allocBatch } from '@tunvs/link';
import { ConnFlag, Fwd, Proto, checkTimeouts } from '@tunvs/model';
import type {
  ConnInfo,
  DestSpec,
  DirectorControl,
  DirectorInfo,
  ServiceInfo,
  ServiceKey,
  ServiceSpec,
  Timeouts,
} from '@tunvs/model';
import type { Dest } from '@tunvs/model';
import {
  ARP_FRAME_LEN,
  ArpField,
  ArpOp,
  CheckFlags,
  EthField,
  EtherType,
  IcmpField,
  IcmpType,
  IcmpUnreachCode,
  IcmpTimeExceededCode,
  Ipv4Field,
  Ipv4Flag,
  ParseReason,
  TcpField,
  TcpFlag,
  UdpField,
  checkIpv4,
  csumPartial,
  emitArpReply,
  emitGratuitousArp,
  emitIcmpError,
  formatIpv4,
  parseIpv4 as parseAddr,
  rd16,
  rd32,
  wr16,
  wr32,
  copyMac,
  BROADCAST_MAC,
  decTtl,
  natRewriteDst,
  natRewriteSrc,
} from '@tunvs/packet';
import { ConnTable, DestCheck } from '@tunvs/conntrack';
import type { ConnTableSwitches } from '@tunvs/conntrack';
import { natInbound, natOutbound, natIcmpInbound, natIcmpOutbound } from '@tunvs/forwarder-nat';
import { ipipEncapsulate, IPIP_OVERHEAD } from '@tunvs/forwarder-ipip';
import { drRewrite } from '@tunvs/forwarder-dr';
import { localInbound } from '@tunvs/forwarder-local';
import { ServiceTable } from './services.js';
import { fail } from './errors.js';
import type { VirtualService } from './services.js';
import { SchedResult, scheduleFlow } from './schedule.js';
import type { FlowPacket } from './schedule.js';
import { Estimator, ESTIMATOR_PERIOD_MS } from './estimator.js';
import { DirectorCounters } from './counters.js';
import { Neighbours } from './neighbours.js';
import { Fragments } from './fragments.js';
import { MarkClassifier } from './marks.js';
import type { MarkRule } from './marks.js';

/** tunvs version, shown by `tunvsadm --version` and the listing header. */
export const TUNVS_VERSION = '0.1.0';

/** An address the Director owns on a TAP segment, with its on-link prefix. */
export interface OwnedAddress {
  /** dotted IPv4 */
  addr: string;
  /** prefix length of the on-link subnet (24 for 10.0.0.1/24) */
  prefix: number;
}

export interface DirectorOptions {
  /** the device (one Link per queue); all of one kind */
  links: Link[];
  /** connection table capacity (hard cap), default 262144 */
  connCapacity?: number;
  /** TAP: our MAC (6 bytes); required in TAP mode */
  mac?: Uint8Array;
  /** TAP: addresses we own (DIPs) with their on-link prefixes; VIPs are added by services */
  addresses?: OwnedAddress[];
  /** TAP: default gateway for destinations not on any on-link subnet */
  gateway?: string;
  /** source address for IPIP outer headers and ICMP errors; default: the first owned address, or the VIP */
  sourceAddress?: string;
  /** connection-table options (expire_nodest_conn, conn_reuse_mode, ...) */
  conntrack?: Partial<ConnTableSwitches>;
  /** sysctl pmtu_disc for tunnels (copy DF to the outer header), default true */
  pmtuDisc?: boolean;
  /** the clock, in milliseconds; default Date.now (tests pass a fake) */
  now?: () => number;
  /** start timers (estimator, expiry) on start(); default true. Tests call tick() themselves. */
  timers?: boolean;
  /** firewall-mark rules (the iptables MARK equivalent) */
  marks?: MarkRule[];
  /** called for events: service/dest changes, for logs */
  onEvent?: (ev: DirectorEvent) => void;
}

export type DirectorEvent =
  | { type: 'service-added' | 'service-edited' | 'service-deleted'; service: ServiceKey }
  | { type: 'dest-added' | 'dest-edited' | 'dest-deleted'; service: ServiceKey; dest: Pick<DestSpec, 'addr' | 'port'> }
  | { type: 'cleared' }
  | { type: 'timeouts'; timeouts: Timeouts };

/** Bytes of transmit slab per packet slot (room for a full MTU plus IPIP and Ethernet). */
const TX_SLOT = 1600;

/**
 * A transmit buffer for one link: in-place packets (offsets into the receive slab) and
 * generated packets (in our own slab).
 */
class TxQueue {
  readonly inplace: PacketBatch;
  readonly gen: PacketBatch;
  private genUsed = 0;

  constructor(maxBatch: number) {
    this.inplace = { buf: new Uint8Array(0), offsets: new Uint32Array(maxBatch * 2), lengths: new Uint32Array(maxBatch * 2), count: 0 };
    this.gen = allocBatch(maxBatch * 2, maxBatch * 2 * TX_SLOT + 65536 + 256);
  }

  /** Reserve `len` bytes in the generated slab; returns the offset or -1 when full. */
  reserve(len: number): number {
    const g = this.gen;
    if (g.count >= g.offsets.length || this.genUsed + len > g.buf.length) return -1;
    return this.genUsed;
  }

  /** Commit a generated packet written at `off` (from reserve). */
  commit(off: number, len: number): void {
    const g = this.gen;
    g.offsets[g.count] = off;
    g.lengths[g.count] = len;
    g.count++;
    this.genUsed = off + len;
  }

  /** Queue an in-place packet of the receive slab. */
  push(off: number, len: number): boolean {
    const b = this.inplace;
    if (b.count >= b.offsets.length) return false;
    b.offsets[b.count] = off;
    b.lengths[b.count] = len;
    b.count++;
    return true;
  }

  flush(link: Link, rxBuf: Uint8Array): number {
    let n = 0;
    if (this.inplace.count > 0) {
      this.inplace.buf = rxBuf;
      n += link.writeBatch(this.inplace);
      this.inplace.count = 0;
    }
    if (this.gen.count > 0) {
      n += link.writeBatch(this.gen);
      this.gen.count = 0;
      this.genUsed = 0;
    }
    return n;
  }
}

/** The virtio_net_hdr flag meaning "the L4 checksum is partial (pseudo-header only)". */
const VNET_F_NEEDS_CSUM = 1;
/** offset of gso_type in virtio_net_hdr */
const VNET_GSO_TYPE = 1;

export class Director implements DirectorControl {
  readonly table: ServiceTable;
  readonly conns: ConnTable;
  readonly counters = new DirectorCounters();
  readonly neighbours = new Neighbours();
  readonly fragments: Fragments;
  readonly marks: MarkClassifier;
  readonly kind: 'tun' | 'tap';
  private readonly links: Link[];
  private readonly estimator = new Estimator();
  private readonly now: () => number;
  private readonly tx = new Map<Link, TxQueue>();
  private readonly pkt: FlowPacket = { protocol: 0, saddr: 0, sport: 0, daddr: 0, dport: 0, inverse: false, fwmark: 0 };
  /**
   * What checkIpv4 verifies: on TAP frames come from the wire, so the IP header checksum
   * is checked; on TUN they come from the host's stack, which verified it on receipt
   * (ip_rcv) before routing them into the device, so only lengths are checked.
   */
  private readonly ipCheck: number;
  /** sysctl sloppy_tcp: create connections from any TCP segment, not only SYN */
  sloppyTcp = false;
  private readonly mac: Uint8Array;
  private readonly owned = new Set<number>();
  private readonly subnets: { net: number; mask: number }[] = [];
  private readonly gateway: number;
  private srcAddr: number;
  private readonly pmtuDisc: boolean;
  private ipId = 1;
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private readonly useTimers: boolean;
  private readonly onEvent: (ev: DirectorEvent) => void;
  /** per-link state of the batch being processed */
  private curTx!: TxQueue;
  private curVnet = 0;
  private curNow = 0;
  /** set while forwarding packets that are not in the receive slab */
  private copyOut = false;
  /** TAP addresses a VRRP instance holds: answered (ARP, ping) only while active */
  private readonly heldActive = new Set<number>();
  private readonly heldStandby = new Set<number>();
  /** handlers of IPv4 protocols the Director does not forward (VRRP: 112), by number */
  private readonly localProto = new Map<number, (datagram: Uint8Array) => void>();

  /** forwarders by method number, for packets client -> real server */
  private readonly xmitIn: ((buf: Uint8Array, off: number, len: number, ipOff: number, slot: number) => void)[];

  constructor(opts: DirectorOptions) {
    if (opts.links.length === 0) throw new Error('a Director needs at least one link');
    this.links = opts.links;
    this.kind = opts.links[0]!.kind;
    this.ipCheck = this.kind === 'tap' ? CheckFlags.IpChecksum : CheckFlags.None;
    this.now = opts.now ?? Date.now;
    this.useTimers = opts.timers ?? true;
    this.onEvent = opts.onEvent ?? (() => {});
    this.pmtuDisc = opts.pmtuDisc ?? true;
    this.marks = new MarkClassifier(opts.marks ?? []);
    this.table = new ServiceTable({
      vipAdded: (vip) => this.announce(vip),
      destRemoved: (d) => this.onDestRemoved(d),
    });
    this.conns = new ConnTable({ capacity: opts.connCapacity ?? 262144, registry: this.table.registry, options: opts.conntrack });
    this.fragments = new Fragments();
    if (this.kind === 'tap') {
      if (!opts.mac || opts.mac.length !== 6) throw new Error('a TAP Director needs its MAC address (mac: 6 bytes)');
      this.mac = opts.mac;
    } else this.mac = new Uint8Array(6);
    for (const a of opts.addresses ?? []) this.addAddress(a);
    this.gateway = opts.gateway ? parseAddr(opts.gateway) : 0;
    this.srcAddr = opts.sourceAddress ? parseAddr(opts.sourceAddress) : 0;
    if (this.srcAddr === 0 && opts.addresses?.[0]) this.srcAddr = parseAddr(opts.addresses[0].addr);
    for (const l of this.links) this.tx.set(l, new TxQueue(256));
    this.xmitIn = [];
    this.xmitIn[Fwd.MASQ] = (b, o, l, ip, s) => this.xmitNat(b, o, l, ip, s);
    this.xmitIn[Fwd.LOCALNODE] = (b, o, l, ip, s) => this.xmitLocal(b, o, l, ip, s);
    this.xmitIn[Fwd.TUNNEL] = (b, o, l, ip, s) => this.xmitTunnel(b, o, l, ip, s);
    this.xmitIn[Fwd.DROUTE] = (b, o, l, ip, s) => this.xmitDr(b, o, l, ip, s);
    this.xmitIn[Fwd.BYPASS] = (b, o, l, ip) => this.xmitBypass(b, o, l, ip);
  }

  /** Add an address the Director owns (TAP: answers ARP for it, on-link prefix). */
  addAddress(a: OwnedAddress): void {
    const addr = parseAddr(a.addr);
    this.owned.add(addr);
    const mask = a.prefix === 0 ? 0 : (0xffffffff << (32 - a.prefix)) >>> 0;
    this.subnets.push({ net: (addr & mask) >>> 0, mask });
    if (this.srcAddr === 0) this.srcAddr = addr;
  }

  // --------------------------------------------------------------- lifecycle

  /** Start reading the links and the periodic timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const link of this.links) link.onBatch((b) => this.processBatch(link, b));
    if (this.useTimers) {
      this.timers.push(setInterval(() => this.estimator.tick(), ESTIMATOR_PERIOD_MS));
      this.timers.push(setInterval(() => this.tick(), 250));
      for (const t of this.timers) t.unref();
    }
    for (const vip of this.table.vipList()) this.announce(vip);
  }

  /** Stop timers and close the links. */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const l of this.links) l.close();
    this.started = false;
  }

  /** Periodic work: connection expiry, neighbour upkeep, fragment expiry. */
  tick(now = this.now()): void {
    this.conns.tick(now);
    this.table.purgeTrash();
    // schedulers with time of their own (lblc/lblcr cache expiry)
    for (const svc of this.table.services) svc.sched.tick?.(now);
    this.fragments.expire(now, this.counters);
    if (this.kind === 'tap') {
      this.neighbours.expire(now);
      for (const addr of this.neighbours.pendingAddrs()) this.sendArpRequest(this.links[0]!, addr, now, true);
    }
  }

  /** Run the rate estimator once (tests; the timer does it every 2 s). */
  estimate(): void {
    this.estimator.tick();
  }

  // ------------------------------------------------------------- packet path

  /** Process one batch received on `link`. */
  processBatch(link: Link, batch: PacketBatch): void {
    const tx = this.tx.get(link)!;
    this.curTx = tx;
    this.curVnet = link.vnetHdrLen;
    this.curNow = this.now();
    const buf = batch.buf;
    const tap = this.kind === 'tap';
    for (let i = 0; i < batch.count; i++) {
      this.counters.rxPackets++;
      const off = batch.offsets[i]!;
      const len = batch.lengths[i]!;
      if (tap) this.frame(buf, off, len);
      else this.ipPacket(buf, off, len, off + this.curVnet);
    }
    this.counters.txPackets += tx.flush(link, buf);
  }

  private malformed(reason: number): void {
    this.counters.malformed[reason]++;
  }

  /** A TAP frame: Ethernet (+802.1Q) then ARP or IPv4. */
  private frame(buf: Uint8Array, off: number, len: number): void {
    const eth = off + this.curVnet;
    const end = off + len;
    if (end - eth < EthField.HEADER_LEN) return this.malformed(ParseReason.EthTruncated);
    let type = rd16(buf, eth + EthField.ETHERTYPE);
    let l3 = eth + EthField.HEADER_LEN;
    if (type === EtherType.Vlan) {
      if (end - eth < EthField.VLAN_HEADER_LEN) return this.malformed(ParseReason.VlanTruncated);
      type = rd16(buf, eth + EthField.VLAN_ETHERTYPE);
      l3 = eth + EthField.VLAN_HEADER_LEN;
    }
    if (type === EtherType.Arp) return this.arp(buf, eth, l3, end);
    if (type !== EtherType.Ipv4) {
      this.counters.notForUs++;
      return;
    }
    // Only frames for our MAC (or broadcast) are ours, and IPv4 multicast of a local protocol.
    if (!macIs(buf, eth + EthField.DST, this.mac) && !macIs(buf, eth + EthField.DST, BROADCAST_MAC)) {
      const multicast = buf[eth + EthField.DST] === 0x01 && buf[eth + EthField.DST + 1] === 0x00 && buf[eth + EthField.DST + 2] === 0x5e;
      if (!multicast || end - l3 < Ipv4Field.HEADER_LEN || !this.localProto.has(buf[l3 + Ipv4Field.PROTOCOL]!)) {
        this.counters.notForUs++;
        return;
      }
    }
    this.ipPacket(buf, off, len, l3);
  }

  /** An IPv4 packet at `ip` inside the packet slot [off, off+len). */
  private ipPacket(buf: Uint8Array, off: number, len: number, ip: number): void {
    const avail = off + len - ip;
    const reason = checkIpv4(buf, ip, avail, this.ipCheck);
    if (reason !== 0) return this.malformed(reason);
    const hl = (buf[ip]! & 0x0f) << 2;
    const total = rd16(buf, ip + Ipv4Field.TOTAL_LEN);
    // trim link padding: the packet ends at the IP total length
    len = ip - off + total;
    const proto = buf[ip + Ipv4Field.PROTOCOL]!;
    const saddr = rd32(buf, ip + Ipv4Field.SRC);
    const daddr = rd32(buf, ip + Ipv4Field.DST);
    const ff = rd16(buf, ip + Ipv4Field.FLAGS_FRAG);
    const fragOff = ff & Ipv4Flag.OffsetMask;
    const l4 = ip + hl;
    const l4len = total - hl;

    if (fragOff !== 0) return this.laterFragment(buf, off, len, ip, proto, saddr, daddr);

    if (proto === Proto.TCP || proto === Proto.UDP) {
      const min = proto === Proto.TCP ? TcpField.HEADER_LEN : UdpField.HEADER_LEN;
      if (l4len < min) return this.malformed(ff & Ipv4Flag.MF ? ParseReason.FirstFragmentTruncated : proto === Proto.TCP ? ParseReason.TcpTruncated : ParseReason.UdpTruncated);
      if (proto === Proto.TCP) {
        const doff = (buf[l4 + TcpField.DATA_OFF]! >>> 4) << 2;
        if (doff < TcpField.HEADER_LEN || (doff > l4len && !(ff & Ipv4Flag.MF))) return this.malformed(ParseReason.TcpBadDataOffset);
      } else {
        const ulen = rd16(buf, l4 + UdpField.LENGTH);
        if (ulen < UdpField.HEADER_LEN || (!(ff & Ipv4Flag.MF) && ulen > l4len)) return this.malformed(ParseReason.UdpBadLength);
      }
      const sport = rd16(buf, l4);
      const dport = rd16(buf, l4 + 2);
      const tcpFlags = proto === Proto.TCP ? buf[l4 + TcpField.FLAGS]! : 0;
      const slot = this.flow(buf, off, len, ip, proto, saddr, sport, daddr, dport, tcpFlags);
      if (ff & Ipv4Flag.MF) this.fragments.firstSeen(saddr, daddr, rd16(buf, ip + Ipv4Field.IDENT), proto, slot, this.curNow, (b, o, l, i) => this.forwardHeld(b, o, l, i, slot));
      return;
    }
    if (proto === Proto.ICMP) return this.icmp(buf, off, len, ip, hl, total, saddr, daddr);
    const local = this.localProto.get(proto);
    if (local) return local(buf.slice(ip, ip + total));
    this.counters.unsupportedProto++;
  }

  /**
   * A TCP/UDP packet: existing connection (either direction) or a new flow.
   * Returns the connection slot used (for fragment tracking), or -1.
   */
  private flow(
    buf: Uint8Array, off: number, len: number, ip: number, proto: number,
    saddr: number, sport: number, daddr: number, dport: number, tcpFlags: number,
  ): number {
    const conns = this.conns;
    const now = this.curNow;
    let slot = conns.lookupIn(proto, saddr, sport, daddr, dport);
    if (slot >= 0) {
      const isSyn = proto === Proto.TCP && (tcpFlags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN;
      if (isSyn && conns.reuse(slot, now)) {
        slot = -1;
      } else {
        const check = conns.checkDest(slot, now);
        if (check === DestCheck.DROP) {
          this.counters.destUnavailable++;
          return -1;
        }
        if (check === DestCheck.EXPIRED) slot = -1;
      }
      if (slot >= 0) {
        this.inbound(buf, off, len, ip, slot, tcpFlags);
        return slot;
      }
    } else {
      const out = conns.lookupOut(proto, saddr, sport, daddr, dport);
      if (out >= 0) {
        this.outbound(buf, off, len, ip, out, tcpFlags);
        return out;
      }
    }
    // A new flow: find the service.
    const fwmark = this.marks.size > 0 ? this.marks.classify(proto, daddr, dport) : 0;
    const svc = this.table.find(fwmark, proto, daddr, dport);
    if (svc === null) {
      this.counters.noService++;
      return -1;
    }
    if (proto === Proto.TCP && (tcpFlags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) !== TcpFlag.SYN && !this.sloppyTcp) {
      this.counters.notSyn++;
      return -1;
    }
    const p = this.pkt;
    p.protocol = proto;
    p.saddr = saddr;
    p.sport = sport;
    p.daddr = daddr;
    p.dport = dport;
    p.fwmark = fwmark;
    slot = scheduleFlow(conns, svc, p, now);
    if (slot < 0) {
      if (slot === SchedResult.NO_DEST) {
        this.counters.noDest++;
        this.leave(buf, ip, len - (ip - off), svc);
      } else if (slot === SchedResult.TABLE_FULL) this.counters.tableFull++;
      else this.counters.notScheduled++;
      return -1;
    }
    this.inbound(buf, off, len, ip, slot, tcpFlags);
    if (conns.flags(slot) & ConnFlag.ONE_PACKET) {
      conns.expire(slot, now);
      return -1;
    }
    return slot;
  }

  /** Client -> real server packet of connection `slot`. */
  private inbound(buf: Uint8Array, off: number, len: number, ip: number, slot: number, tcpFlags: number): void {
    const conns = this.conns;
    conns.packet(slot, false, tcpFlags, this.curNow);
    const dest = conns.dest(slot);
    const bytes = rd16(buf, ip + Ipv4Field.TOTAL_LEN);
    if (dest !== null) {
      dest.stats.inPkts++;
      dest.stats.inBytes += bytes;
      const svc = dest.service;
      if (svc) {
        svc.stats.inPkts++;
        svc.stats.inBytes += bytes;
      }
    }
    this.xmitIn[conns.fwd(slot)]!(buf, off, len, ip, slot);
  }

  /** Real server -> client packet of a NAT connection. */
  private outbound(buf: Uint8Array, off: number, len: number, ip: number, slot: number, tcpFlags: number): void {
    const conns = this.conns;
    conns.packet(slot, true, tcpFlags, this.curNow);
    const dest = conns.dest(slot);
    const bytes = rd16(buf, ip + Ipv4Field.TOTAL_LEN);
    if (dest !== null) {
      dest.stats.outPkts++;
      dest.stats.outBytes += bytes;
      const svc = dest.service;
      if (svc) {
        svc.stats.outPkts++;
        svc.stats.outBytes += bytes;
      }
    }
    const fwd = conns.fwd(slot);
    if (fwd === Fwd.MASQ || fwd === Fwd.LOCALNODE) {
      natOutbound(buf, ip, conns.vaddr(slot), conns.vport(slot), this.partialCsum(buf, off));
    }
    this.emitRouted(buf, off, len, ip, rd32(buf, ip + Ipv4Field.DST), false);
  }

  // ---------------------------------------------------------------- forwarders

  private xmitNat(buf: Uint8Array, off: number, len: number, ip: number, slot: number): void {
    if (!this.ttlOk(buf, off, len, ip)) return;
    const daddr = this.conns.daddr(slot);
    natInbound(buf, ip, daddr, this.conns.dport(slot), this.partialCsum(buf, off));
    this.emitRouted(buf, off, len, ip, daddr, false);
  }

  private xmitLocal(buf: Uint8Array, off: number, len: number, ip: number, slot: number): void {
    localInbound(buf, ip, this.conns.daddr(slot), this.conns.dport(slot), this.partialCsum(buf, off));
    this.emitRouted(buf, off, len, ip, this.conns.daddr(slot), false);
  }

  private xmitDr(buf: Uint8Array, off: number, len: number, ip: number, slot: number): void {
    if (this.kind !== 'tap') {
      // Direct routing needs layer 2; on TUN it cannot be done. Counted, not forwarded.
      this.counters.noRoute++;
      return;
    }
    if (!this.ttlOk(buf, off, len, ip)) return;
    const daddr = this.conns.daddr(slot);
    // the real server is the next hop, IP header untouched (but TTL)
    this.emitRouted(buf, off, len, ip, daddr, true, daddr);
  }

  private xmitBypass(buf: Uint8Array, off: number, len: number, ip: number): void {
    if (!this.ttlOk(buf, off, len, ip)) return;
    this.emitRouted(buf, off, len, ip, rd32(buf, ip + Ipv4Field.DST), false);
  }

  private xmitTunnel(buf: Uint8Array, off: number, len: number, ip: number, slot: number): void {
    if (!this.ttlOk(buf, off, len, ip)) return;
    const total = rd16(buf, ip + Ipv4Field.TOTAL_LEN);
    const link = this.links[0]!;
    const mtu = link.mtu - IPIP_OVERHEAD;
    const ff = rd16(buf, ip + Ipv4Field.FLAGS_FRAG);
    const gso = this.curVnet > 0 && buf[off + VNET_GSO_TYPE] !== 0;
    if (this.pmtuDisc && (ff & Ipv4Flag.DF) && total > mtu && !gso) {
      this.counters.fragNeeded++;
      this.sendIcmpError(buf, ip, total, IcmpType.DestUnreachable, IcmpUnreachCode.FragNeeded, mtu, rd32(buf, ip + Ipv4Field.DST));
      return;
    }
    const daddr = this.conns.daddr(slot);
    const tx = this.curTx;
    const l2 = this.kind === 'tap' ? EthField.HEADER_LEN : 0;
    const vnet = this.curVnet;
    const need = vnet + l2 + IPIP_OVERHEAD + total;
    const o = tx.reserve(need);
    if (o < 0) {
      this.counters.txSlabFull++;
      return;
    }
    const g = tx.gen.buf;
    if (vnet > 0) {
      g.fill(0, o, o + vnet);
    }
    const outerIp = o + vnet + l2;
    const id = this.nextIpId();
    const n = ipipEncapsulate(buf, ip, total, g, outerIp, this.srcAddr, daddr, this.pmtuDisc, id);
    if (n === 0) return;
    this.emitGenerated(o, outerIp, daddr, vnet + l2 + n);
  }

  private nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  /** Decrement TTL (IPVS does it for forwarded packets); false when it expired (ICMP sent). */
  private ttlOk(buf: Uint8Array, off: number, len: number, ip: number): boolean {
    if (buf[ip + Ipv4Field.TTL]! <= 1) {
      this.counters.ttlExceeded++;
      const total = rd16(buf, ip + Ipv4Field.TOTAL_LEN);
      this.sendIcmpError(buf, ip, total, IcmpType.TimeExceeded, IcmpTimeExceededCode.TtlExceeded, 0, this.srcAddr || rd32(buf, ip + Ipv4Field.DST));
      return false;
    }
    decTtl(buf, ip);
    void off;
    void len;
    return true;
  }

  /** With a vnet header: is the L4 checksum partial (NEEDS_CSUM)? */
  private partialCsum(buf: Uint8Array, off: number): boolean {
    return this.curVnet > 0 && (buf[off]! & VNET_F_NEEDS_CSUM) !== 0;
  }

  /**
   * Send a packet of the receive slab (rewritten in place) toward `dst`. On TAP the
   * Ethernet header is rewritten for the next hop (`nextHop` given for DR).
   */
  private emitRouted(buf: Uint8Array, off: number, len: number, ip: number, dst: number, _dr: boolean, nextHop = 0): void {
    if (this.kind === 'tun') {
      this.pushOut(buf, off, len);
      return;
    }
    const hop = nextHop !== 0 ? nextHop : this.nextHop(dst);
    if (hop === 0) {
      this.counters.noRoute++;
      return;
    }
    const eth = ip - EthField.HEADER_LEN;
    // Frames with a VLAN tag are re-emitted untagged: shift is not needed because we
    // write the Ethernet header just before the IP header.
    if (eth < off + this.curVnet) {
      this.counters.noRoute++;
      return;
    }
    const slotN = this.neighbours.lookup(hop);
    if (slotN < 0) {
      this.queueForArp(buf, eth, off + len - eth, hop);
      return;
    }
    drRewrite(buf, eth, this.neighbours.macs, slotN * 6, this.mac);
    wr16(buf, eth + EthField.ETHERTYPE, EtherType.Ipv4);
    if (this.neighbours.needsProbe(slotN, this.curNow)) {
      this.neighbours.probedAt(slotN, this.curNow);
      this.sendArpRequest(this.links[0]!, hop, this.curNow, false);
    }
    const start = this.curVnet > 0 ? eth - this.curVnet : eth;
    if (this.curVnet > 0 && start !== off) buf.copyWithin(start, off, off + this.curVnet);
    this.pushOut(buf, start, off + len - start);
  }

  /** Queue a finished packet: in place in the receive slab, or copied when it lives elsewhere. */
  private pushOut(buf: Uint8Array, off: number, len: number): void {
    if (!this.copyOut) {
      if (!this.curTx.push(off, len)) this.counters.txSlabFull++;
      return;
    }
    const o = this.curTx.reserve(len);
    if (o < 0) {
      this.counters.txSlabFull++;
      return;
    }
    this.curTx.gen.buf.set(buf.subarray(off, off + len), o);
    this.curTx.commit(o, len);
  }

  /** Forward a fragment that was held in its own buffer until its first fragment came. */
  private forwardHeld(buf: Uint8Array, off: number, len: number, ip: number, slot: number): void {
    this.copyOut = true;
    try {
      this.forwardFragment(buf, off, len, off + ip, slot);
    } finally {
      this.copyOut = false;
    }
  }

  /** Send a packet already built in the transmit slab at [o, o+len), IP header at ip. */
  private emitGenerated(o: number, ip: number, dst: number, len: number): void {
    const tx = this.curTx;
    if (this.kind === 'tun') {
      tx.commit(o, len);
      return;
    }
    const hop = this.nextHop(dst);
    if (hop === 0) {
      this.counters.noRoute++;
      return;
    }
    const eth = ip - EthField.HEADER_LEN;
    const g = tx.gen.buf;
    const slotN = this.neighbours.lookup(hop);
    if (slotN < 0) {
      this.queueForArp(g, eth, len - (eth - o), hop);
      return;
    }
    drRewrite(g, eth, this.neighbours.macs, slotN * 6, this.mac);
    wr16(g, eth + EthField.ETHERTYPE, EtherType.Ipv4);
    tx.commit(o, len);
  }

  /** Next hop for `dst` on the TAP segment: itself when on-link, else the gateway, else 0. */
  private nextHop(dst: number): number {
    const s = this.subnets;
    for (let i = 0; i < s.length; i++) {
      const n = s[i]!;
      if (((dst & n.mask) >>> 0) === n.net) return dst;
    }
    return this.gateway;
  }

  private queueForArp(buf: Uint8Array, eth: number, frameLen: number, hop: number): void {
    this.counters.arpQueued++;
    // keep the vnet header out of the queue: queued frames are re-sent with a zero header
    if (this.neighbours.enqueue(hop, buf, eth, frameLen, this.curNow)) {
      this.sendArpRequest(this.links[0]!, hop, this.curNow, false);
    }
  }

  // ------------------------------------------------------------------- ARP (TAP)

  private arp(buf: Uint8Array, eth: number, a: number, end: number): void {
    if (end - a < ArpField.LEN) return this.malformed(ParseReason.ArpTruncated);
    if (rd16(buf, a + ArpField.HTYPE) !== 1 || rd16(buf, a + ArpField.PTYPE) !== EtherType.Ipv4 || buf[a + ArpField.HLEN] !== 6 || buf[a + ArpField.PLEN] !== 4) {
      return this.malformed(ParseReason.ArpUnsupported);
    }
    const op = rd16(buf, a + ArpField.OPER);
    const spa = rd32(buf, a + ArpField.SPA);
    const tpa = rd32(buf, a + ArpField.TPA);
    const now = this.curNow;
    // Learn the sender when it is on one of our subnets (not for our own announcements).
    if (spa !== 0 && !this.owned.has(spa) && !this.table.isVip(spa) && !this.heldStandby.has(spa) && this.nextHop(spa) === spa) {
      this.neighbours.learn(spa, buf, a + ArpField.SHA, now);
      const waiting = this.neighbours.takePending(spa);
      if (waiting.length > 0) this.flushPending(spa, waiting);
    }
    if (op === ArpOp.Request && this.answers(tpa) && spa !== tpa) {
      const o = this.curTx.reserve(this.curVnet + ARP_FRAME_LEN);
      if (o < 0) {
        this.counters.txSlabFull++;
        return;
      }
      const g = this.curTx.gen.buf;
      if (this.curVnet > 0) g.fill(0, o, o + this.curVnet);
      emitArpReply(g, o + this.curVnet, buf, a, this.mac);
      this.curTx.commit(o, this.curVnet + ARP_FRAME_LEN);
      this.counters.arpReplies++;
    }
    void eth;
  }

  private flushPending(addr: number, frames: Uint8Array[]): void {
    const slotN = this.neighbours.lookup(addr);
    if (slotN < 0) return;
    for (const f of frames) {
      const o = this.curTx.reserve(this.curVnet + f.length);
      if (o < 0) {
        this.counters.txSlabFull++;
        continue;
      }
      const g = this.curTx.gen.buf;
      if (this.curVnet > 0) g.fill(0, o, o + this.curVnet);
      g.set(f, o + this.curVnet);
      copyMac(this.neighbours.macs, slotN * 6, g, o + this.curVnet + EthField.DST);
      // the source too: a frame queued on the receive path still carries the sender's MAC,
      // which would teach a bridge that the client sits behind this port
      copyMac(this.mac, 0, g, o + this.curVnet + EthField.SRC);
      wr16(g, o + this.curVnet + EthField.ETHERTYPE, EtherType.Ipv4); // (generated ICMP errors had none yet)
      this.curTx.commit(o, this.curVnet + f.length);
    }
  }

  /** Broadcast an ARP request for `addr` (outside a batch when `direct`). */
  private sendArpRequest(link: Link, addr: number, now: number, direct: boolean): void {
    if (this.kind !== 'tap') return;
    const vnet = link.vnetHdrLen;
    const frame = new Uint8Array(vnet + ARP_FRAME_LEN);
    const f = vnet;
    copyMac(BROADCAST_MAC, 0, frame, f + EthField.DST);
    copyMac(this.mac, 0, frame, f + EthField.SRC);
    wr16(frame, f + EthField.ETHERTYPE, EtherType.Arp);
    const a = f + EthField.HEADER_LEN;
    wr16(frame, a + ArpField.HTYPE, 1);
    wr16(frame, a + ArpField.PTYPE, EtherType.Ipv4);
    frame[a + ArpField.HLEN] = 6;
    frame[a + ArpField.PLEN] = 4;
    wr16(frame, a + ArpField.OPER, ArpOp.Request);
    copyMac(this.mac, 0, frame, a + ArpField.SHA);
    wr32(frame, a + ArpField.SPA, this.sourceFor(addr));
    wr32(frame, a + ArpField.TPA, addr);
    this.neighbours.counters.requestsSent++;
    void now;
    if (direct) {
      writeOne(link, frame);
      return;
    }
    const o = this.curTx.reserve(frame.length);
    if (o < 0) return;
    this.curTx.gen.buf.set(frame, o);
    this.curTx.commit(o, frame.length);
  }

  /** Our address on the subnet of `addr` (ARP sender address), or the first we own. */
  private sourceFor(addr: number): number {
    for (const a of this.owned) {
      for (const s of this.subnets) {
        if (((a & s.mask) >>> 0) === s.net && ((addr & s.mask) >>> 0) === s.net) return a;
      }
    }
    return this.srcAddr;
  }

  /** Gratuitous ARP for a new VIP (TAP), sent at once on every link. */
  private announce(vip: number): void {
    if (this.kind !== 'tap' || !this.started || this.heldStandby.has(vip)) return;
    for (const link of this.links.slice(0, 1)) {
      const vnet = link.vnetHdrLen;
      const frame = new Uint8Array(vnet + ARP_FRAME_LEN);
      emitGratuitousArp(frame, vnet, this.mac, vip);
      writeOne(link, frame);
    }
  }

  // ------------------------------------------------- VRRP on TAP (the host side of VIPs)

  /** Does the Director answer ARP and ping for `addr` (TAP)? */
  private answers(addr: number): boolean {
    if (this.heldStandby.has(addr)) return false;
    return this.owned.has(addr) || this.table.isVip(addr) || this.heldActive.has(addr);
  }

  /**
   * Put an address under a VRRP instance's control (TAP): while standby (backup) the
   * Director neither answers ARP or ping for it nor announces it, even when it is a VIP
   * of a virtual service; while active (master) it answers for it like an owned address,
   * also when no virtual service uses it (a real servers' gateway VIP). Announcing the
   * change (gratuitous ARP) is the caller's: VRRP has its own GARP timing.
   */
  setAddressActive(addr: string, active: boolean): void {
    const a = parseAddr(addr);
    if (active) {
      this.heldStandby.delete(a);
      this.heldActive.add(a);
    } else {
      this.heldActive.delete(a);
      this.heldStandby.add(a);
    }
  }

  /** Release an address from VRRP control (back to the Director's own rules). */
  releaseAddress(addr: string): void {
    const a = parseAddr(addr);
    this.heldActive.delete(a);
    this.heldStandby.delete(a);
  }

  /**
   * Receive IPv4 datagrams of `protocol` (TAP) addressed to our MAC, broadcast, or an IPv4
   * multicast MAC: the handler gets a copy of the datagram from its IP header (TTL intact,
   * IP checksum already verified). `null` removes the handler.
   */
  onLocalProtocol(protocol: number, handler: ((datagram: Uint8Array) => void) | null): void {
    if (handler) this.localProto.set(protocol, handler);
    else this.localProto.delete(protocol);
  }

  /**
   * Send an IPv4 datagram the Director originates (TAP), outside the packet path: to an
   * IPv4 multicast group's MAC, or to the next hop's MAC from the neighbour table. When
   * the next hop is not resolved yet, an ARP request goes out instead and false is
   * returned (the caller sends again later, as VRRP does with its next advert).
   */
  sendDatagram(datagram: Uint8Array): boolean {
    if (this.kind !== 'tap') throw new Error('sendDatagram is for a TAP Director');
    const link = this.links[0]!;
    const vnet = link.vnetHdrLen;
    const dst = rd32(datagram, Ipv4Field.DST);
    const frame = new Uint8Array(vnet + EthField.HEADER_LEN + datagram.length);
    const eth = vnet;
    if (dst >>> 28 === 0xe) {
      frame.set([0x01, 0x00, 0x5e, (dst >>> 16) & 0x7f, (dst >>> 8) & 0xff, dst & 0xff], eth + EthField.DST);
    } else {
      const hop = this.nextHop(dst);
      if (hop === 0) {
        this.counters.noRoute++;
        return false;
      }
      const slotN = this.neighbours.lookup(hop);
      if (slotN < 0) {
        this.sendArpRequest(link, hop, this.now(), true);
        return false;
      }
      copyMac(this.neighbours.macs, slotN * 6, frame, eth + EthField.DST);
    }
    copyMac(this.mac, 0, frame, eth + EthField.SRC);
    wr16(frame, eth + EthField.ETHERTYPE, EtherType.Ipv4);
    frame.set(datagram, eth + EthField.HEADER_LEN);
    writeOne(link, frame);
    this.counters.txPackets++;
    return true;
  }

  /** Send one Ethernet frame as given (TAP; VRRP's gratuitous ARP) on the first link. */
  sendFrame(frame: Uint8Array): void {
    if (this.kind !== 'tap') throw new Error('sendFrame is for a TAP Director');
    const link = this.links[0]!;
    if (link.vnetHdrLen === 0) writeOne(link, frame);
    else {
      const f = new Uint8Array(link.vnetHdrLen + frame.length);
      f.set(frame, link.vnetHdrLen);
      writeOne(link, f);
    }
    this.counters.txPackets++;
  }

  /** The Director's MAC address (TAP). */
  get macAddress(): Uint8Array {
    return this.mac;
  }

  // -------------------------------------------------------------------- ICMP

  private icmp(buf: Uint8Array, off: number, len: number, ip: number, hl: number, total: number, saddr: number, daddr: number): void {
    const ic = ip + hl;
    const icLen = total - hl;
    if (icLen < IcmpField.HEADER_LEN) return this.malformed(ParseReason.IcmpTruncated);
    const type = buf[ic]!;
    if (type === IcmpType.EchoRequest && this.kind === 'tap' && this.answers(daddr)) {
      return this.echoReply(buf, off, len, ip, hl, total, saddr, daddr);
    }
    if (type !== IcmpType.DestUnreachable && type !== IcmpType.SourceQuench && type !== IcmpType.TimeExceeded) {
      this.counters.icmpIgnored++;
      return;
    }
    // The quoted header: IP header (+ at least 8 bytes of L4 for ports).
    const q = ic + IcmpField.HEADER_LEN;
    const qAvail = total - hl - IcmpField.HEADER_LEN;
    if (qAvail < Ipv4Field.HEADER_LEN || buf[q]! >>> 4 !== 4) return this.malformed(ParseReason.IcmpQuoteTruncated);
    const qhl = (buf[q]! & 0x0f) << 2;
    if (qhl < Ipv4Field.HEADER_LEN || qAvail < qhl + 8) return this.malformed(ParseReason.IcmpQuoteTruncated);
    if (csumPartial(buf, ic, icLen) !== 0xffff) return this.malformed(ParseReason.IcmpBadChecksum);
    const qproto = buf[q + Ipv4Field.PROTOCOL]!;
    if ((rd16(buf, q + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.OffsetMask) !== 0 || (qproto !== Proto.TCP && qproto !== Proto.UDP)) {
      this.counters.icmpIgnored++;
      return;
    }
    const qs = rd32(buf, q + Ipv4Field.SRC);
    const qd = rd32(buf, q + Ipv4Field.DST);
    const ql4 = q + qhl;
    const qsp = rd16(buf, ql4);
    const qdp = rd16(buf, ql4 + 2);
    const conns = this.conns;
    // From the client side: quotes our reply VIP:vport -> client. Inbound lookup, swapped.
    let slot = conns.lookupIn(qproto, qd, qdp, qs, qsp);
    if (slot >= 0) {
      const dest = conns.dest(slot);
      if (dest === null || !dest.available) {
        this.counters.destUnavailable++;
        return;
      }
      this.counters.icmpRelayed++;
      conns.touch(slot, this.curNow);
      dest.stats.inPkts++;
      dest.stats.inBytes += total;
      const fwd = conns.fwd(slot);
      if (fwd === Fwd.MASQ || fwd === Fwd.LOCALNODE) {
        if (!this.ttlOk(buf, off, len, ip)) return;
        natIcmpInbound(buf, ip, conns.daddr(slot), conns.dport(slot));
        this.emitRouted(buf, off, len, ip, conns.daddr(slot), false);
      } else {
        this.xmitIn[fwd]!(buf, off, len, ip, slot);
      }
      return;
    }
    // From a real server: quotes client -> RS. Outbound lookup, swapped.
    slot = conns.lookupOut(qproto, qd, qdp, qs, qsp);
    if (slot >= 0) {
      this.counters.icmpRelayed++;
      conns.touch(slot, this.curNow);
      const dest = conns.dest(slot);
      if (dest) {
        dest.stats.outPkts++;
        dest.stats.outBytes += total;
      }
      const fwd = conns.fwd(slot);
      if (fwd === Fwd.MASQ || fwd === Fwd.LOCALNODE) natIcmpOutbound(buf, ip, conns.vaddr(slot), conns.vport(slot));
      this.emitRouted(buf, off, len, ip, rd32(buf, ip + Ipv4Field.DST), false);
      return;
    }
    void saddr;
    this.counters.icmpIgnored++;
  }

  /** Answer an echo request to an address we own (TAP), in place. */
  private echoReply(buf: Uint8Array, off: number, len: number, ip: number, hl: number, total: number, saddr: number, daddr: number): void {
    const ic = ip + hl;
    if (csumPartial(buf, ic, total - hl) !== 0xffff) return this.malformed(ParseReason.IcmpBadChecksum);
    wr32(buf, ip + Ipv4Field.SRC, daddr);
    wr32(buf, ip + Ipv4Field.DST, saddr);
    buf[ip + Ipv4Field.TTL] = 64;
    wr16(buf, ip + Ipv4Field.CHECKSUM, 0);
    wr16(buf, ip + Ipv4Field.CHECKSUM, ~csumPartial(buf, ip, hl) & 0xffff);
    buf[ic] = IcmpType.EchoReply;
    wr16(buf, ic + IcmpField.CHECKSUM, 0);
    wr16(buf, ic + IcmpField.CHECKSUM, ~csumPartial(buf, ic, total - hl) & 0xffff);
    this.counters.icmpSent++;
    this.emitRouted(buf, off, len, ip, saddr, false);
  }

  /** Build an ICMP error quoting the packet at `ip` and send it toward its source. */
  private sendIcmpError(buf: Uint8Array, ip: number, total: number, type: number, code: number, mtu: number, src: number): void {
    const tx = this.curTx;
    const l2 = this.kind === 'tap' ? EthField.HEADER_LEN : 0;
    const vnet = this.curVnet;
    const o = tx.reserve(vnet + l2 + 20 + 8 + 60 + 8);
    if (o < 0) {
      this.counters.txSlabFull++;
      return;
    }
    const g = tx.gen.buf;
    if (vnet > 0) g.fill(0, o, o + vnet);
    const outIp = o + vnet + l2;
    const n = emitIcmpError(g, outIp, buf, ip, total, type, code, src, mtu);
    if (n === 0) return;
    this.counters.icmpSent++;
    this.emitGenerated(o, outIp, rd32(buf, ip + Ipv4Field.SRC), vnet + l2 + n);
  }

  /** No destination (ip_vs_leave): ICMP port unreachable to the client, unless FTP rules say pass. */
  private leave(buf: Uint8Array, ip: number, avail: number, svc: VirtualService): void {
    const proto = buf[ip + Ipv4Field.PROTOCOL]!;
    const hl = (buf[ip]! & 0x0f) << 2;
    const dport = rd16(buf, ip + hl + 2);
    if (svc.port === 21 && dport !== 21) return;
    void proto;
    void avail;
    this.sendIcmpError(buf, ip, rd16(buf, ip + Ipv4Field.TOTAL_LEN), IcmpType.DestUnreachable, IcmpUnreachCode.Port, 0, rd32(buf, ip + Ipv4Field.DST));
  }

  // --------------------------------------------------------------- fragments

  private laterFragment(buf: Uint8Array, off: number, len: number, ip: number, proto: number, saddr: number, daddr: number): void {
    const id = rd16(buf, ip + Ipv4Field.IDENT);
    const slot = this.fragments.lookup(saddr, daddr, id, proto);
    if (slot === -2) {
      // first fragment not seen yet: hold a copy (bounded)
      this.fragments.hold(saddr, daddr, id, proto, buf, off, len, ip - off, this.curNow, this.counters);
      return;
    }
    if (slot < 0) {
      this.counters.fragDropped++;
      return;
    }
    this.forwardFragment(buf, off, len, ip, slot);
  }

  /** Forward a non-first fragment like its flow: addresses only (no L4 header here). */
  private forwardFragment(buf: Uint8Array, off: number, len: number, ip: number, slot: number): void {
    const conns = this.conns;
    if (slot < 0 || !conns.isLive(slot)) {
      this.counters.fragDropped++;
      return;
    }
    this.counters.fragForwarded++;
    const saddr = rd32(buf, ip + Ipv4Field.SRC);
    const fwd = conns.fwd(slot);
    const fromClient = saddr === conns.caddr(slot);
    if (!fromClient) {
      // reply fragment of a NAT connection: source := VIP
      // a non-first fragment has no ports: only the address (and IP checksum) changes
      if (fwd === Fwd.MASQ || fwd === Fwd.LOCALNODE) natRewriteSrc(buf, ip, conns.vaddr(slot), 0);
      this.emitRouted(buf, off, len, ip, rd32(buf, ip + Ipv4Field.DST), false);
      return;
    }
    if (fwd === Fwd.MASQ || fwd === Fwd.LOCALNODE) {
      if (!this.ttlOk(buf, off, len, ip)) return;
      natRewriteDst(buf, ip, conns.daddr(slot), 0);
      this.emitRouted(buf, off, len, ip, conns.daddr(slot), false);
      return;
    }
    this.xmitIn[fwd]!(buf, off, len, ip, slot);
  }

  // ------------------------------------------------------------ housekeeping

  private onDestRemoved(_dest: Dest): void {
    // expire_nodest_conn: the kernel's background flush of entries whose destination left
    if (this.conns.options.expireNodestConn) this.conns.expireNodest(this.now());
  }

  // ---------------------------------------------------------- DirectorControl

  addService(spec: ServiceSpec): void {
    const svc = this.table.addService(spec);
    this.estimator.add(svc.stats);
    this.onEvent({ type: 'service-added', service: keyOf(spec) });
  }

  editService(spec: ServiceSpec): void {
    this.table.editService(spec);
    this.onEvent({ type: 'service-edited', service: keyOf(spec) });
  }

  deleteService(key: ServiceKey): void {
    const svc = this.table.lookup(key, 'deleteService');
    this.table.deleteService(key);
    if (svc) this.estimator.remove(svc.stats);
    this.onEvent({ type: 'service-deleted', service: keyOf(key) });
  }

  clear(): void {
    for (const s of this.table.services) this.estimator.remove(s.stats);
    this.table.clear();
    this.onEvent({ type: 'cleared' });
  }

  addDest(key: ServiceKey, dest: DestSpec): void {
    const d = this.table.addDest(key, dest);
    this.estimator.add(d.stats);
    this.onEvent({ type: 'dest-added', service: keyOf(key), dest: { addr: dest.addr, port: dest.port } });
  }

  editDest(key: ServiceKey, dest: DestSpec): void {
    this.table.editDest(key, dest);
    this.onEvent({ type: 'dest-edited', service: keyOf(key), dest: { addr: dest.addr, port: dest.port } });
  }

  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    this.table.deleteDest(key, dest);
    this.onEvent({ type: 'dest-deleted', service: keyOf(key), dest: { addr: dest.addr, port: dest.port } });
  }

  zero(key?: ServiceKey): void {
    this.table.zero(key);
    const list = key && (key.fwmark || key.addr) ? [this.table.lookup(key)!] : this.table.services;
    for (const s of list) {
      this.estimator.reset(s.stats);
      for (const d of s.dests) this.estimator.reset(d.stats);
    }
  }

  listServices(): ServiceInfo[] {
    return this.table.services.map((s) => ServiceTable.serviceInfo(s));
  }

  getService(key: ServiceKey): ServiceInfo {
    const s = this.table.lookup(key, 'getService');
    if (!s) fail('ESRCH', 'getService', 'No such service');
    return ServiceTable.serviceInfo(s);
  }

  listConnections(): ConnInfo[] {
    return [...this.connections()];
  }

  /** The connection table read lazily (the control socket streams it in chunks). */
  *connections(): IterableIterator<ConnInfo> {
    for (const e of this.conns.entries(this.now())) {
      yield {
        protocol: e.protocolName,
        clientAddr: formatIpv4(e.caddr >>> 0),
        clientPort: e.cport,
        virtualAddr: e.template && e.protocol === 0 ? formatIpv4(e.vaddr >>> 0) : formatIpv4(e.vaddr >>> 0),
        virtualPort: e.vport,
        destAddr: formatIpv4(e.daddr >>> 0),
        destPort: e.dport,
        state: e.state,
        expires: e.expires,
        template: e.template,
        fwmark: e.fwmark,
      };
    }
  }

  setTimeouts(t: Partial<Timeouts>): void {
    this.conns.setTimeouts(checkTimeouts(t, 'setTimeouts'));
    this.onEvent({ type: 'timeouts', timeouts: this.conns.getTimeouts() });
  }

  getTimeouts(): Timeouts {
    return this.conns.getTimeouts();
  }

  info(): DirectorInfo {
    // like ipvsadm's (size=N): the connection hash's bucket count
    return { version: TUNVS_VERSION, connTableSize: this.conns.bucketCount };
  }

  /** Named counters of the Director, its table and its links. */
  stats(): Record<string, number> {
    const out: Record<string, number> = { ...this.counters.snapshot() };
    for (const [k, v] of Object.entries(this.conns.counters)) out['conntrack.' + k] = v as number;
    out['conntrack.size'] = this.conns.size;
    for (const [k, v] of Object.entries(this.neighbours.counters)) out['neigh.' + k] = v;
    this.links.forEach((l, i) => {
      for (const [k, v] of Object.entries(l.counters)) out[`link${i}.${k}`] = v;
    });
    return out;
  }
}

function keyOf(k: ServiceKey): ServiceKey {
  return k.fwmark ? { fwmark: k.fwmark } : { protocol: k.protocol, addr: k.addr, port: k.port };
}

function macIs(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return (
    buf[off] === mac[0] && buf[off + 1] === mac[1] && buf[off + 2] === mac[2] &&
    buf[off + 3] === mac[3] && buf[off + 4] === mac[4] && buf[off + 5] === mac[5]
  );
}

function writeOne(link: Link, frame: Uint8Array): void {
  link.writeBatch({ buf: frame, offsets: Uint32Array.of(0), lengths: Uint32Array.of(frame.length), count: 1 });
}


export { formatIpv4 };
