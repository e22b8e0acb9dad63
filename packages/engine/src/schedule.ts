/**
 * Scheduling a new flow (the kernel's `ip_vs_schedule` and `ip_vs_sched_persist`):
 * decide whether the packet may create a connection for the service, consult or create
 * the persistence template, ask the scheduler, and create the connection entry.
 *
 * Used by the Director's packet path and by `tunvs-sched replay`, so that both take the
 * same decisions. No allocation: the packet is described by a reused SchedPacket.
 */
import { ConnFlag, Proto, SvcFlag } from '@tunvs/model';
import type { Dest } from '@tunvs/model';
import type { ConnTable } from '@tunvs/conntrack';
import type { SchedPacket } from '@tunvs/scheduler';
import type { VirtualService } from './services.js';

/** Outcome codes of `scheduleFlow` when no connection was created. */
export const SchedResult = {
  /** the packet may not create a connection for this service (kernel: no scheduling) */
  IGNORE: -1,
  /** the scheduler found no destination (ip_vs_leave: ICMP port unreachable) */
  NO_DEST: -2,
  /** the connection table is full */
  TABLE_FULL: -3,
} as const;

/** A flow-creating packet, plus its fwmark (0 = none). */
export interface FlowPacket extends SchedPacket {
  fwmark: number;
}

/**
 * Schedule `pkt` on `svc` and create its connection. Returns the new connection's slot,
 * or a negative SchedResult code. `onePacket` connections (UDP with -o) are created like
 * others; the caller expires them after forwarding.
 */
export function scheduleFlow(conns: ConnTable, svc: VirtualService, pkt: FlowPacket, now: number): number {
  // A packet from client port 20 (FTP data) is never scheduled, whatever its protocol.
  if (pkt.sport === 20) return SchedResult.IGNORE;
  const onePacket = (svc.flags & SvcFlag.ONEPACKET) !== 0 && pkt.protocol === Proto.UDP;
  if (svc.flags & SvcFlag.PERSISTENT) return schedulePersist(conns, svc, pkt, now, onePacket);

  // Non-persistent: a packet to another port than the service's (port-0 or FTP-data
  // fallback) is only scheduled for fwmark services.
  if (svc.fwmark === 0 && pkt.dport !== svc.port) return SchedResult.IGNORE;
  const dest = svc.sched.schedule(svc, pkt);
  if (dest === null) return SchedResult.NO_DEST;
  const dport = dest.port !== 0 ? dest.port : pkt.dport;
  const flags = onePacket ? ConnFlag.ONE_PACKET : 0;
  const slot = conns.create(pkt.protocol, pkt.saddr, pkt.sport, pkt.daddr, pkt.dport, dest.addr, dport, dest, flags, now, -1);
  if (slot < 0) return SchedResult.TABLE_FULL;
  countNewConn(svc, dest);
  return slot;
}

function countNewConn(svc: VirtualService, dest: Dest): void {
  svc.stats.conns++;
  dest.stats.conns++;
}

function schedulePersist(conns: ConnTable, svc: VirtualService, pkt: FlowPacket, now: number, onePacket: boolean): number {
  const snet = (pkt.saddr & svc.netmask) >>> 0;
  let tProto: number;
  let tVaddr: number;
  let tVport: number;
  if (pkt.dport === svc.port && svc.port !== 21) {
    tProto = pkt.protocol;
    tVaddr = pkt.daddr;
    tVport = svc.port;
  } else if (pkt.dport === svc.port) {
    // FTP control: template port 0 so data connections share it
    tProto = pkt.protocol;
    tVaddr = pkt.daddr;
    tVport = 0;
  } else if (svc.fwmark !== 0) {
    tProto = 0;
    tVaddr = svc.fwmark;
    tVport = 0;
  } else {
    // port-0 service, or FTP data reaching the port-21 service
    tProto = pkt.protocol;
    tVaddr = pkt.daddr;
    tVport = 0;
  }

  let tmpl = conns.lookupTemplate(tProto, snet, tVaddr, tVport);
  let dest: Dest | null;
  if (tmpl >= 0) {
    dest = conns.dest(tmpl);
    if (dest === null) return SchedResult.NO_DEST;
  } else {
    dest = svc.sched.schedule(svc, pkt);
    if (dest === null) return SchedResult.NO_DEST;
    const tDport = tVport === 0 ? 0 : dest.port;
    tmpl = conns.createTemplate(tProto, snet, tVaddr, tVport, dest.addr, tDport, dest, svc.timeout, now);
    if (tmpl < 0) return SchedResult.TABLE_FULL;
  }
  const dport = pkt.dport === svc.port && dest.port !== 0 ? dest.port : pkt.dport;
  const flags = onePacket ? ConnFlag.ONE_PACKET : 0;
  // creating a child re-arms the template's timer (persistence counts from the last connection)
  const slot = conns.create(pkt.protocol, pkt.saddr, pkt.sport, pkt.daddr, pkt.dport, dest.addr, dport, dest, flags, now, tmpl);
  if (slot < 0) return SchedResult.TABLE_FULL;
  countNewConn(svc, dest);
  return slot;
}
