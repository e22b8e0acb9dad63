/**
 * The per-frame path (the kernel's ip_vs_core.c hooks): parse once, then
 *
 *   parse (classifyFrame) -> refused: counted by its reason
 *   ARP -> L2 | not for our MAC -> counted
 *   later fragment -> its first fragment's connection (FragmentPath)
 *   TCP/UDP -> connection lookup, both directions
 *     hit  -> port reuse, destination check, state, counters -> the connection's forwarder
 *     miss -> service (fwmark, VIP:port) -> scheduling -> new connection -> its forwarder
 *   ICMP -> IcmpRelay
 *
 * Every step gets the link's Xmit, the explicit context of the batch (its clock, the
 * frame's descriptor, the transmit queue). The forwarder is the one bound to the
 * connection when it was created; nothing here asks which method it is.
 */
import type { ConnTable } from '@tunvs/conntrack';
import { DestCheck } from '@tunvs/conntrack';
import type { Packet } from '@tunvs/forwarder';
import { vnetIsGso, vnetNeedsCsum } from '@tunvs/link';
import { ConnFlag, Proto } from '@tunvs/model';
import { FrameKind, IcmpType, IcmpUnreachCode, TcpFlag, classifyFrame } from '@tunvs/packet';
import type { DirectorCounters } from './counters.js';
import type { FragmentPath } from './fragments.js';
import type { ForwarderTable } from './forwarders.js';
import type { IcmpRelay } from './icmp.js';
import type { MarkClassifier } from './marks.js';
import { SchedResult, scheduleFlow } from './schedule.js';
import type { FlowPacket } from './schedule.js';
import type { ServiceTable, VirtualService } from './services.js';
import type { LinkXmit } from './xmit.js';

/** Switches of the data path that may change at run time. */
export interface DatapathSettings {
  /** sysctl sloppy_tcp: create connections from any TCP segment, not only a SYN */
  sloppyTcp: boolean;
}

/** SYN without ACK or RST: the segment that may open a connection. */
const SYN_MASK = TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST;

export class Datapath {
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
  ) {}

  /** One frame of the batch: `buf[off, off+len)`, received on the link of `x`. */
  receive(x: LinkXmit, buf: Uint8Array, off: number, len: number): void {
    this.counters.rxPackets++;
    const p = x.pkt;
    const info = p.info;
    const vnet = x.vnet;
    const r = classifyFrame(buf, off + vnet, len - vnet, x.kind, info, x.checks);
    if (r !== 0) {
      this.counters.malformed[r]++;
      return;
    }
    p.buf = buf;
    p.off = off;
    p.inRx = true;
    if (info.kind === FrameKind.Arp) {
      p.len = len;
      x.arp(p);
      return;
    }
    // the packet ends with its IP datagram (link padding trimmed)
    p.len = info.l3Off - off + info.ipTotalLen;
    if (!x.accepts(p)) {
      this.counters.notForUs++;
      return;
    }
    if (vnet > 0) {
      p.partialCsum = vnetNeedsCsum(buf, off);
      p.gso = vnetIsGso(buf, off);
    } else {
      p.partialCsum = false;
      p.gso = false;
    }
    if (info.l4Off < 0) {
      this.frags.later(x, p);
      return;
    }
    const proto = info.proto;
    if (proto === Proto.TCP || proto === Proto.UDP) {
      const slot = this.flow(x, p);
      if (info.mf) this.frags.firstSeen(x, p, slot);
      return;
    }
    if (proto === Proto.ICMP) {
      this.icmp.input(x, p);
      return;
    }
    this.counters.unsupportedProto++;
  }

  /**
   * A TCP/UDP packet: an existing connection (either direction) or a new flow. Returns
   * the connection's slot (fragment tracking), or -1 when none took the packet.
   */
  private flow(x: LinkXmit, p: Packet): number {
    const info = p.info;
    const conns = this.conns;
    const now = x.now;
    const proto = info.proto;
    let slot = conns.lookupIn(proto, info.src, info.srcPort, info.dst, info.dstPort);
    if (slot >= 0) {
      if (proto === Proto.TCP && (info.tcpFlags & SYN_MASK) === TcpFlag.SYN && conns.reuse(slot, now)) {
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
        this.inbound(x, p, slot);
        return slot;
      }
    } else {
      const out = conns.lookupOut(proto, info.src, info.srcPort, info.dst, info.dstPort);
      if (out >= 0) {
        this.outbound(x, p, out);
        return out;
      }
    }
    return this.newFlow(x, p);
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
    if (proto === Proto.TCP && (info.tcpFlags & SYN_MASK) !== TcpFlag.SYN && !this.settings.sloppyTcp) {
      this.counters.notSyn++;
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
    this.inbound(x, p, slot);
    if (this.conns.flags(slot) & ConnFlag.ONE_PACKET) {
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

  /** Client -> real server packet of connection `slot`. */
  private inbound(x: LinkXmit, p: Packet, slot: number): void {
    const conns = this.conns;
    conns.packet(slot, false, p.info.tcpFlags, x.now);
    const dest = conns.dest(slot);
    if (dest !== null) {
      const bytes = p.info.ipTotalLen;
      dest.stats.inPkts++;
      dest.stats.inBytes += bytes;
      const svc = dest.service;
      if (svc !== null) {
        svc.stats.inPkts++;
        svc.stats.inBytes += bytes;
      }
    }
    this.fwds.at(conns.xmit(slot)).inbound(x, p, conns, slot);
  }

  /** Real server -> client packet of connection `slot`. */
  private outbound(x: LinkXmit, p: Packet, slot: number): void {
    const conns = this.conns;
    conns.packet(slot, true, p.info.tcpFlags, x.now);
    const dest = conns.dest(slot);
    if (dest !== null) {
      const bytes = p.info.ipTotalLen;
      dest.stats.outPkts++;
      dest.stats.outBytes += bytes;
      const svc = dest.service;
      if (svc !== null) {
        svc.stats.outPkts++;
        svc.stats.outBytes += bytes;
      }
    }
    this.fwds.at(conns.xmit(slot)).outbound(x, p, conns, slot);
  }
}
