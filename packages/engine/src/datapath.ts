/**
 * The per-frame path (the kernel's ip_vs_core.c hooks): parse once, then
 *
 *   parse (classifyFrame; its IPv4 part on TUN) -> refused: counted by its reason
 *   ARP -> L2 | not for our MAC -> counted
 *   later fragment -> its first fragment's connection (FragmentPath)
 *   TCP/UDP/SCTP -> connection lookup, both directions
 *     hit  -> port reuse, destination check, state, counters -> the connection's forwarder
 *     miss -> service (fwmark, VIP:port) -> scheduling (TCP: a SYN; SCTP: an INIT chunk)
 *             -> new connection -> its forwarder
 *   ICMP -> IcmpRelay
 *   a protocol with a local handler (VRRP) -> a copy of the datagram to the handler
 *
 * Before a group of frames, the batch pre-pass (`prefetch`, a hint that changes nothing)
 * reads the connection-table lines of every frame of the group, so that their cache misses
 * overlap instead of each lookup waiting for its own.
 *
 * Every step gets the link's Xmit, the explicit context of the batch (its clock, the
 * frame's descriptor, the transmit queue). The forwarder is the one bound to the
 * connection when it was created; nothing here asks which method it is.
 */
import type { ConnTable } from '@tunvs/conntrack';
import { DestCheck, SctpChunk, sctpEvent } from '@tunvs/conntrack';
import type { Packet } from '@tunvs/forwarder';
import { ConnFlag, Proto } from '@tunvs/model';
import type { Dest } from '@tunvs/model';
import { EtherType, IcmpType, IcmpUnreachCode, Ipv4Flag, TcpFlag } from '@tunvs/packet';
import type { DirectorCounters } from './counters.js';
import type { FragmentPath } from './fragments.js';
import type { ForwarderTable } from './forwarders.js';
import type { IcmpRelay } from './icmp.js';
import type { MarkClassifier } from './marks.js';
import { SchedResult, scheduleFlow } from './schedule.js';
import type { FlowPacket } from './schedule.js';
import type { ServiceTable, VirtualService } from './services.js';
import type { LinkXmit } from './xmit.js';

// Imported tables read through same-module constants: V8 folds these, but loads the
// properties of an imported `as const` object on every call of a hot function.
const { TCP, UDP, ICMP, SCTP } = Proto;
const SCTP_INIT = SctpChunk.INIT;
const { SYN } = TcpFlag;
const DROP = DestCheck.DROP;
const MF = Ipv4Flag.MF;
const ONE_PACKET = ConnFlag.ONE_PACKET;
const ETH_IPV4 = EtherType.Ipv4;

/**
 * Frames per group of the batch pre-pass (`prefetch`): the connection-table lines of a
 * group are read together, then the group is processed while they are in cache.
 */
export const PREFETCH_GROUP = 32;
/**
 * Entries below which the pre-pass is skipped: a table this small (about 3 MiB of lines a
 * packet touches) stays in cache, and the pass would only add its own work.
 */
export const PREFETCH_MIN_ENTRIES = 65536;

/** Switches of the data path that may change at run time. */
export interface DatapathSettings {
  /** sysctl sloppy_tcp: create connections from any TCP segment, not only a SYN */
  sloppyTcp: boolean;
  /** run the batch pre-pass (`Datapath.prefetch`) before each group of frames */
  prefetch: boolean;
  /** ... while the connection table holds at least this many entries */
  prefetchMinEntries: number;
}

/**
 * The connection-sync hook (@tunvs/sync): told of every incoming packet the Director
 * forwarded (the kernel calls ip_vs_sync_conn there) and of every entry created. Numbers
 * only, no allocation.
 */
export interface SyncHook {
  inbound(slot: number, now: number): void;
  created(slot: number): void;
}

/** Receives the datagrams of an IPv4 protocol handled locally, a copy from the IP header (TTL as received, IP checksum verified). */
export type LocalHandler = (datagram: Uint8Array) => void;


/** What the connection's state machine takes from a packet: TCP's flags, SCTP's chunk event. */
function stateEvent(p: Packet): number {
  const info = p.info;
  return info.proto === SCTP ? sctpEvent(info.sctpChunk, info.sctpNextChunk) : info.tcpFlags;
}

export class Datapath {
  /** the sync daemons' hook, null when none runs */
  sync: SyncHook | null = null;
  /** the flow-creating packet as the scheduler sees it, re-filled per new flow */
  private readonly flowPkt: FlowPacket = { protocol: 0, saddr: 0, sport: 0, daddr: 0, dport: 0, inverse: false, fwmark: 0 };

  constructor(
    private readonly conns: ConnTable,
    private readonly table: ServiceTable,
    private readonly fwds: ForwarderTable,
    private readonly marks: MarkClassifier,
    private readonly icmp: IcmpRelay,
    private readonly frags: FragmentPath,
    private readonly counters: DirectorCounters,
    private readonly settings: DatapathSettings,
    /** handlers of IPv4 protocols the director does not forward (VRRP: 112), by number */
    private readonly local: ReadonlyMap<number, LocalHandler>,
  ) {}

  /** the bucket head of each frame of the group (of the inbound key: client address and port as the source), -1 for none */
  private readonly heads = new Int32Array(PREFETCH_GROUP);
  /** the inbound key's source address and port of each frame of the group (by index in the group) */
  private readonly keyAddr = new Int32Array(PREFETCH_GROUP);
  private readonly keyPort = new Uint16Array(PREFETCH_GROUP);
  /**
   * the connection-table bucket of the inbound key of each frame of the group (by its
   * index in the group), -1 for a frame the pre-pass skipped: its lookup (`receive`'s
   * `bucket`) reuses it instead of hashing the key again
   */
  readonly buckets = new Int32Array(PREFETCH_GROUP);
  /** what the pre-pass read (kept, so that its reads are not optimised away) */
  private prefetched = 0;

  /**
   * The batch pre-pass over frames `[from, to)` (at most PREFETCH_GROUP): for every
   * TCP/UDP/SCTP frame, read its bucket head and the head entry's block, the line its
   * inbound lookup compares, and where that entry is another client's, the next entry's,
   * then the rest of what an established packet touches: the block's last word (the
   * real server's port, on the block's second line where it spans two, with the timeout;
   * `ConnTable.prefetchNext` with `warm`; a reply's bucket, the destination's, is not
   * read: a second hash per frame, left out to keep the pass cheap on cache-hot traffic),
   * all frames' reads issued back to back so that their cache misses overlap (a lookup at a
   * time waits for each). A hint only: it changes nothing, reads the frame's addresses and
   * ports where an unfragmented IPv4 datagram has them (no checks: `receive` does them),
   * and the lookups of `receive` then give what they give without it, also for
   * connections created or expired by earlier frames of the same batch. Each frame's
   * bucket is kept (`buckets`) for its inbound lookup, which then does not hash the key
   * again: the pass reads the key from the very bytes `receive` parses (frames of a batch
   * do not overlap, and handling one writes only its own bytes), and a key's bucket
   * depends on nothing else.
   */
  prefetch(x: LinkXmit, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, from: number, to: number): void {
    const conns = this.conns;
    const heads = this.heads;
    const buckets = this.buckets;
    const tap = x.kind === 'tap';
    const vnet = x.vnet;
    // three tight loops, not one: the buckets (the frames' bytes are in cache), then the
    // heads, then the entries, so that each loop's loads are all in flight at once (a loop
    // that also parses and hashes keeps only a few frames' loads in the core's window).
    // In-process A/B, 1M flows: over the whole table +10 %, with the clock running +17 %,
    // cache-hot -2 %.
    const n = to - from;
    for (let i = 0; i < n; i++) buckets[i] = this.frameBucket(buf, offsets[from + i]! + vnet, offsets[from + i]! + lengths[from + i]!, tap, i);
    // by the frame's index, -1 where the pass skipped it (the reads below take it for no entry)
    conns.headsAt(buckets, n, heads);
    let acc = conns.prefetch(heads, n);
    // and the chains' second entries where the head is another client's, and the lines of
    // the entry an established packet touches besides the one compared
    acc = (acc + conns.prefetchNext(heads, this.keyAddr, this.keyPort, n, true)) | 0;
    this.prefetched = (this.prefetched + acc) | 0;
  }

  /**
   * The pre-pass's part of one frame `buf[off, end)` (after its vnet header), the `i`th
   * of the group: the connection-table bucket of its inbound key, or -1 when it is not an
   * unfragmented (first-fragment) IPv4 TCP/UDP/SCTP datagram with its ports in the frame;
   * the key's source address and port go to `keyAddr[i]`, `keyPort[i]`.
   */
  private frameBucket(buf: Uint8Array, off: number, end: number, tap: boolean, i: number): number {
    let l3 = off;
    if (tap) {
      if (off + 14 > end || ((buf[off + 12]! << 8) | buf[off + 13]!) !== ETH_IPV4) return -1;
      l3 = off + 14;
    }
    // an IPv4 header, and the ports after it
    if (l3 + 20 > end) return -1;
    const v = buf[l3]!;
    const l4 = l3 + ((v & 0xf) << 2);
    const proto = buf[l3 + 9]!;
    // IPv4, ports in the frame, a first fragment (offset 0), a protocol with ports
    if (v >>> 4 !== 4 || l4 + 4 > end || ((buf[l3 + 6]! & 0x1f) | buf[l3 + 7]!) !== 0) return -1;
    if (proto !== TCP && proto !== UDP && proto !== SCTP) return -1;
    const sport = (buf[l4]! << 8) | buf[l4 + 1]!;
    const src = (buf[l3 + 12]! << 24) | (buf[l3 + 13]! << 16) | (buf[l3 + 14]! << 8) | buf[l3 + 15]!;
    this.keyAddr[i] = src;
    this.keyPort[i] = sport;
    return this.conns.bucketOf(proto, src, sport);
  }

  /**
   * One frame of the batch: `buf[off, off+len)`, received on the link of `x` (the caller
   * counts it in rxPackets). `bucket`: the connection-table bucket the pre-pass found for
   * the frame's inbound key (`buckets[i]`, read from these very bytes), or -1 to hash it.
   */
  receive(x: LinkXmit, buf: Uint8Array, off: number, len: number, bucket = -1): void {
    const r = x.parse(buf, off, len);
    if (r !== 0) {
      this.counters.malformed[r]++;
      return;
    }
    const p = x.pkt;
    if (!x.admit(p, buf, off, len)) return;
    const info = p.info;
    const proto = info.proto;
    if (info.l4Off >= 0 && (proto === TCP || proto === UDP || proto === SCTP)) {
      const slot = this.flow(x, p, bucket);
      if ((info.fragWord & MF) !== 0) this.frags.firstSeen(x, p, slot);
    } else {
      this.notFlow(x, p);
    }
  }

  /** A packet without ports to look up: a later fragment, ICMP, another protocol. */
  private notFlow(x: LinkXmit, p: Packet): void {
    if (p.info.l4Off < 0) this.frags.later(x, p);
    else if (p.info.proto === ICMP) this.icmp.input(x, p);
    else this.localInput(p);
  }

  /** Another protocol: its local handler's (a whole datagram, not a fragment), else counted. */
  private localInput(p: Packet): void {
    const info = p.info;
    const handler = this.local.size > 0 ? this.local.get(info.proto) : undefined;
    if (handler === undefined || info.fragment) {
      this.counters.unsupportedProto++;
      return;
    }
    handler(p.buf.slice(info.l3Off, info.l3Off + info.ipTotalLen));
  }

  /**
   * A TCP/UDP packet: an existing connection (either direction) or a new flow. Returns
   * the connection's slot (fragment tracking), or -1 when none took the packet. The
   * common case (a packet of a known connection whose destination is there) stays here;
   * the rest is in functions of its own.
   */
  private flow(x: LinkXmit, p: Packet, bucket: number): number {
    const info = p.info;
    const conns = this.conns;
    // the addresses as int32 (what the lookups compare anyway): a uint32 of 2^31 or more
    // is a double, which a call the compiler does not inline would get boxed
    const src = info.src | 0;
    const dst = info.dst | 0;
    const slot =
      bucket >= 0
        ? conns.lookupInBucket(bucket, info.proto, src, info.srcPort, dst, info.dstPort)
        : conns.lookupIn(info.proto, src, info.srcPort, dst, info.dstPort);
    if (slot < 0) return this.replyOrNew(x, p);
    // the kernel's is_new_conn: a TCP segment with SYN set (whatever else is: SYN+ACK,
    // SYN+RST too), an SCTP packet whose first chunk is INIT
    if ((info.tcpFlags & SYN) !== 0 && info.proto === TCP) return this.synOnExisting(x, p, slot);
    if (info.sctpChunk === SCTP_INIT) return this.synOnExisting(x, p, slot);
    const dest = conns.dest(slot);
    if (dest !== null && !dest.available) return this.destGone(x, p, slot);
    this.inbound(x, p, slot, dest);
    return slot;
  }

  /**
   * A SYN (SCTP: an INIT) that hits a connection: port reuse may expire it and schedule
   * anew (conn_reuse_mode, expire_nodest_conn with a weight-0 server); a SYN+RST then finds
   * no connection and is not scheduled (counted notSyn).
   */
  private synOnExisting(x: LinkXmit, p: Packet, slot: number): number {
    if (this.conns.reuse(slot, x.now)) return this.newFlow(x, p);
    const dest = this.conns.dest(slot);
    if (dest !== null && !dest.available) return this.destGone(x, p, slot);
    this.inbound(x, p, slot, dest);
    return slot;
  }

  /** The connection's destination was removed: drop (counted), or expire it and treat the packet as new (expire_nodest_conn). */
  private destGone(x: LinkXmit, p: Packet, slot: number): number {
    if (this.conns.checkDest(slot, x.now) === DROP) {
      this.counters.destUnavailable++;
      return -1;
    }
    return this.newFlow(x, p);
  }

  /** No inbound connection: a reply of one, or a new flow. */
  private replyOrNew(x: LinkXmit, p: Packet): number {
    const info = p.info;
    const out = this.conns.lookupOut(info.proto, info.src, info.srcPort, info.dst, info.dstPort);
    if (out < 0) return this.newFlow(x, p);
    this.outbound(x, p, out);
    return out;
  }

  /** No connection: find the service, schedule, create the connection, forward. */
  private newFlow(x: LinkXmit, p: Packet): number {
    const info = p.info;
    const proto = info.proto;
    const fwmark = this.marks.size > 0 ? this.marks.classify(proto, info.dst, info.dstPort) : 0;
    const svc = this.table.find(fwmark, proto, info.dst, info.dstPort);
    if (svc === null) {
      this.counters.noService++;
      return -1;
    }
    // tcp_conn_schedule: never a RST; a SYN (SYN+ACK too: active FTP), or with sloppy_tcp
    // any other segment
    if (proto === TCP && ((info.tcpFlags & TcpFlag.RST) !== 0 || ((info.tcpFlags & SYN) === 0 && !this.settings.sloppyTcp))) {
      this.counters.notSyn++;
      return -1;
    }
    // sctp_conn_schedule: only an INIT chunk opens an association (the kernel leaves the
    // rest to the local stack, which a director on a TUN/TAP link does not have: counted)
    if (proto === SCTP && info.sctpChunk !== SCTP_INIT) {
      this.counters.notInit++;
      return -1;
    }
    // drop_packet: refuse a share of new connections while the table runs out of room
    if (this.conns.dropNewConnection()) {
      this.counters.defenseDrop++;
      return -1;
    }
    const f = this.flowPkt;
    f.protocol = proto;
    f.saddr = info.src;
    f.sport = info.srcPort;
    f.daddr = info.dst;
    f.dport = info.dstPort;
    f.fwmark = fwmark;
    const slot = scheduleFlow(this.conns, svc, f, x.now);
    if (slot < 0) {
      if (slot === SchedResult.NO_DEST) {
        this.counters.noDest++;
        this.leave(x, p, svc);
      } else if (slot === SchedResult.TABLE_FULL) this.counters.tableFull++;
      else this.counters.notScheduled++;
      return -1;
    }
    this.inbound(x, p, slot, this.conns.dest(slot));
    if (this.conns.flags(slot) & ONE_PACKET) {
      this.conns.expire(slot, x.now);
      return -1;
    }
    return slot;
  }

  /** No destination (ip_vs_leave): ICMP port unreachable to the client, unless FTP data. */
  private leave(x: LinkXmit, p: Packet, svc: VirtualService): void {
    if (svc.port === 21 && p.info.dstPort !== 21) return;
    x.icmpError(p, IcmpType.DestUnreachable, IcmpUnreachCode.Port, 0);
  }

  /** Client -> real server packet of connection `slot` (whose destination is `dest`). */
  private inbound(x: LinkXmit, p: Packet, slot: number, dest: Dest | null): void {
    const conns = this.conns;
    conns.packet(slot, false, stateEvent(p), x.now);
    if (dest !== null) {
      const bytes = p.info.ipTotalLen;
      const ds = dest.stats;
      ds.inPkts++;
      ds.inBytes += bytes;
      const svc = dest.service;
      if (svc !== null) {
        const ss = svc.stats;
        ss.inPkts++;
        ss.inBytes += bytes;
      }
    }
    this.fwds.at(conns.xmit(slot)).inbound(x, p, conns, slot);
    if (this.sync !== null) this.sync.inbound(slot, x.now);
  }

  /** Real server -> client packet of connection `slot`. */
  private outbound(x: LinkXmit, p: Packet, slot: number): void {
    const conns = this.conns;
    conns.packet(slot, true, stateEvent(p), x.now);
    const dest = conns.dest(slot);
    if (dest !== null) {
      const bytes = p.info.ipTotalLen;
      const ds = dest.stats;
      ds.outPkts++;
      ds.outBytes += bytes;
      const svc = dest.service;
      if (svc !== null) {
        const ss = svc.stats;
        ss.outPkts++;
        ss.outBytes += bytes;
      }
    }
    this.fwds.at(conns.xmit(slot)).outbound(x, p, conns, slot);
  }
}
