/**
 * Masquerading with the FTP application helper (the kernel's ip_vs_ftp.c on top of
 * ip_vs_app.c). The engine binds this forwarder instead of plain masquerading to the
 * destinations of TCP NAT services whose port is one of the helper's ports (default 21),
 * so no other service pays for it. Per packet of such a destination's connections:
 *
 * - a control connection (virtual port among the helper's ports):
 *   - both ways, once a payload was resized: sequence numbers of the resized direction and
 *     acknowledgements of the other are shifted back into each side's numbering
 *     (`SeqAdjust`, with the previous delta for retransmissions), checksums fixed;
 *   - client -> server, ESTABLISHED: PASV/EPSV are noted; PORT/EPRT create the active
 *     data connection (client's announced address:port, VIP:vport-1, real server:dport-1,
 *     LISTEN, child of the control connection);
 *   - server -> client, after PASV/EPSV: "227 (...)" gets the VIP and the same port,
 *     "229 (|||port|)" loses its address; the passive data connection (client:0 ->
 *     VIP:port -> server:port, NO_CPORT, LISTEN, child of the control connection) is
 *     created; a length change is recorded for the sequence numbers;
 * - a data connection (any other port): the client port of a passive data connection is
 *   filled in on its first packet, then it is plain masquerading.
 *
 * Beyond the kernel: a retransmission of a rewritten 227/229 segment is rewritten again
 * (the kernel passes it unchanged once the mode went back to ACTIVE).
 */
import type { ConnTable } from '@tunvs/conntrack';
import { TcpState } from '@tunvs/conntrack';
import { mtuStep, nextHop, ttlStep } from '@tunvs/forwarder';
import type { Packet, Xmit } from '@tunvs/forwarder';
import { ConnFlag, Proto } from '@tunvs/model';
import { TcpField, checksum, csumUpdate32, pseudoHeaderSum, rd16, rd32, wr16, wr32 } from '@tunvs/packet';
import { FtpMatch, FtpMode, ftpClientCommand, parse227, parse229, replacementLength, writeReplacement } from './ftp-text.js';
import { natInbound, natOutbound, MasqForwarder } from './masq.js';
import { SeqAdjust } from './seq-adjust.js';

/** The module parameter's default (`modprobe ip_vs_ftp ports=21`). */
export const FTP_DEFAULT_PORTS: readonly number[] = [21];
/** IP_VS_APP_MAX_PORTS: the module takes up to 8 ports. */
export const FTP_MAX_PORTS = 8;

/** The helper's state of one control connection (`cp->app_data`, `in_seq`, `out_seq`). */
export class FtpConnState {
  mode: number = FtpMode.ACTIVE;
  /** client -> server resizes (the helper never resizes this way; kept for sync) */
  readonly inSeq = new SeqAdjust();
  /** server -> client resizes (227 rewrites) */
  readonly outSeq = new SeqAdjust();
}

/** Counters of the helper (named in the Director's statistics as ftp_*). */
export interface FtpCounters {
  /** 227/229 replies rewritten */
  rewrites: number;
  /** data connections created (active + passive) */
  dataConns: number;
  /** data connection not created: table full */
  dataRefused: number;
  /** a reply to rewrite was dropped: no room in the transmit slab */
  rewriteDropped: number;
}

const { NO_CPORT, IN_SEQ, OUT_SEQ } = ConnFlag;
const TCP = Proto.TCP;
const ESTABLISHED = TcpState.ESTABLISHED;
const LISTEN = TcpState.LISTEN;

export class FtpMasqForwarder extends MasqForwarder {
  override readonly name: string = 'masq+ftp';
  readonly counters: FtpCounters = { rewrites: 0, dataConns: 0, dataRefused: 0, rewriteDropped: 0 };
  /** 1 at the helper's ports */
  private readonly portMap = new Uint8Array(65536);
  private portList: number[] = [];
  /** control connection slot -> state (created on its first packet, dropped by `forget`) */
  private readonly states = new Map<number, FtpConnState>();
  private readonly m = new FtpMatch();

  constructor(ports: readonly number[] = FTP_DEFAULT_PORTS) {
    super();
    this.setPorts(ports);
  }

  /** The helper's ports (the module's `ports=`). */
  get ports(): readonly number[] {
    return this.portList;
  }

  /** Replace the helper's ports (1..65535, at most 8; checked by the caller). */
  setPorts(ports: readonly number[]): void {
    this.portMap.fill(0);
    for (const p of ports) this.portMap[p & 0xffff] = 1;
    this.portList = [...new Set(ports)];
  }

  /** Is `port` one of the helper's ports? */
  hasPort(port: number): boolean {
    return this.portMap[port & 0xffff] === 1;
  }

  /** Control connections with helper state. */
  get tracked(): number {
    return this.states.size;
  }

  /** The helper state of control connection `slot` (undefined before its first packet). */
  stateOf(slot: number): FtpConnState | undefined {
    return this.states.get(slot);
  }

  /** Connection `slot` left the table: its helper state goes (a reused slot starts clean). */
  forget(slot: number): void {
    this.states.delete(slot);
  }

  /**
   * The sequence data of control connection `slot` for connection sync (the kernel's
   * in_seq and out_seq): `out` gets in_seq {init, delta, previous_delta} then out_seq as
   * 32-bit words; returns the IN_SEQ/OUT_SEQ bits of the directions that were resized
   * (0: none, `out` untouched).
   */
  seqData(slot: number, out: Uint32Array): number {
    const st = this.states.get(slot);
    if (st === undefined) return 0;
    const bits = (st.inSeq.set ? IN_SEQ : 0) | (st.outSeq.set ? OUT_SEQ : 0);
    if (bits === 0) return 0;
    writeSeq(out, 0, st.inSeq);
    writeSeq(out, 3, st.outSeq);
    return bits;
  }

  /**
   * Take over a synced connection's sequence data (a backup director receiving the
   * master's in_seq/out_seq, `bits` its IN_SEQ/OUT_SEQ): kept when `slot` is a control
   * connection of the helper, so that after a failover this director shifts its seq/ack
   * as the master did. Returns false (nothing kept) for any other connection.
   */
  loadSeqData(conns: ConnTable, slot: number, bits: number, seq: ArrayLike<number>): boolean {
    const st = this.control(conns, slot);
    if (st === null) return false;
    if (bits & IN_SEQ) st.inSeq.load(seq[0]!, seq[1]!, seq[2]!);
    if (bits & OUT_SEQ) st.outSeq.load(seq[3]!, seq[4]!, seq[5]!);
    return true;
  }

  private control(conns: ConnTable, slot: number): FtpConnState | null {
    if (this.portMap[conns.vport(slot)] !== 1 || conns.proto(slot) !== TCP) return null;
    let st = this.states.get(slot);
    if (st === undefined) {
      st = new FtpConnState();
      this.states.set(slot, st);
    }
    return st;
  }

  override inbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const st = this.control(conns, slot);
    if (st === null) {
      if (conns.flags(slot) & NO_CPORT) conns.fillCport(slot, p.info.srcPort);
      super.inbound(x, p, conns, slot);
      return;
    }
    const daddr = conns.daddr(slot);
    const hop = nextHop(x, daddr);
    if (hop === 0 || !ttlStep(x, p) || !mtuStep(x, p, x.mtu(hop))) return;
    const info = p.info;
    fixSeqAck(p, st.inSeq, st.outSeq);
    if (conns.state(slot) === ESTABLISHED) this.clientText(p, conns, slot, st, x);
    natInbound(p.buf, info, daddr, conns.dport(slot), p.partialCsum);
    x.send(p, hop);
  }

  override outbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void {
    const st = this.control(conns, slot);
    if (st === null) {
      super.outbound(x, p, conns, slot);
      return;
    }
    const info = p.info;
    const hop = nextHop(x, info.dst);
    if (hop === 0) return;
    const seq0 = rd32(p.buf, info.l4Off + TcpField.SEQ);
    fixSeqAck(p, st.outSeq, st.inSeq);
    natOutbound(p.buf, info, conns.vaddr(slot), conns.vport(slot), p.partialCsum);
    // a reply is awaited, or this is a retransmission of the segment rewritten last
    const again = st.outSeq.set && seq0 === st.outSeq.init;
    if (conns.state(slot) === ESTABLISHED && (st.mode === FtpMode.PASV || st.mode === FtpMode.EPSV || again)) {
      if (this.serverReply(x, p, conns, slot, st, seq0, hop, again)) return;
    }
    x.send(p, hop);
  }

  /** Client text: note PASV/EPSV, create the active data connection for PORT/EPRT. */
  private clientText(p: Packet, conns: ConnTable, slot: number, st: FtpConnState, x: Xmit): void {
    const info = p.info;
    const pay = payloadOff(p);
    const end = info.l3Off + info.ipTotalLen;
    if (pay < 0 || pay >= end) return;
    const m = this.m;
    const cmd = ftpClientCommand(p.buf, pay, end, m);
    if (cmd === FtpMode.PASV || cmd === FtpMode.EPSV) {
      st.mode = cmd;
    } else if (cmd === FtpMode.PORT || cmd === FtpMode.EPRT) {
      st.mode = FtpMode.ACTIVE;
      const vaddr = conns.vaddr(slot);
      const vport = (conns.vport(slot) - 1) & 0xffff;
      if (conns.lookupIn(TCP, m.addr, m.port, vaddr, vport) >= 0) return;
      const n = conns.create(TCP, m.addr, m.port, vaddr, vport, conns.daddr(slot), (conns.dport(slot) - 1) & 0xffff,
        conns.dest(slot), 0, x.now, slot);
      this.listen(conns, n, x.now);
    }
  }

  /**
   * The server's 227/229 after PASV/EPSV: rewrite it and create the passive data
   * connection. Returns true when the packet was sent (or dropped) here.
   */
  private serverReply(x: Xmit, p: Packet, conns: ConnTable, slot: number, st: FtpConnState, seq0: number, hop: number, again: boolean): boolean {
    const info = p.info;
    const buf = p.buf;
    const pay = payloadOff(p);
    const end = info.l3Off + info.ipTotalLen;
    if (pay < 0 || pay >= end) return false;
    const m = this.m;
    let extended: boolean;
    if ((st.mode === FtpMode.PASV || again) && parse227(buf, pay, end, m)) extended = false;
    else if ((st.mode === FtpMode.EPSV || again) && parse229(buf, pay, end, m)) extended = true;
    else return false;
    const from = extended && m.addr === 0 ? conns.daddr(slot) : m.addr;
    const port = m.port;
    const caddr = conns.caddr(slot);
    const vaddr = conns.vaddr(slot);
    if (conns.lookupOut(TCP, from, port, caddr, 0) < 0) {
      const n = conns.create(TCP, caddr, 0, vaddr, port, from, port, conns.dest(slot), NO_CPORT, x.now, slot);
      this.listen(conns, n, x.now);
    }
    // the new text: the VIP and the same port (227), or no address (229)
    const oldLen = m.end - m.start;
    const newLen = replacementLength(extended, vaddr, port);
    const diff = newLen - oldLen;
    const ipOff = info.l3Off;
    const total = info.ipTotalLen + diff;
    const ip = x.reserve(total);
    if (ip < 0) {
      this.counters.rewriteDropped++;
      return true; // dropped: the server retransmits
    }
    const g = x.genBuf;
    const head = m.start - ipOff;
    g.set(buf.subarray(ipOff, m.start), ip);
    writeReplacement(g, ip + head, extended, vaddr, port);
    g.set(buf.subarray(m.end, ipOff + info.ipTotalLen), ip + head + newLen);
    const hl = info.ipHeaderLen;
    wr16(g, ip + 2, total);
    wr16(g, ip + 10, 0);
    wr16(g, ip + 10, checksum(g, ip, hl));
    const l4 = ip + hl;
    const l4Len = total - hl;
    wr16(g, l4 + TcpField.CHECKSUM, 0);
    wr16(g, l4 + TcpField.CHECKSUM, checksum(g, l4, l4Len, pseudoHeaderSum(vaddr, info.dst, TCP, l4Len)));
    st.outSeq.update(seq0, diff);
    st.mode = FtpMode.ACTIVE;
    this.counters.rewrites++;
    x.sendNew(ip, total, hop);
    return true;
  }

  /** A new data connection waits in LISTEN (120 s), as `ip_vs_tcp_conn_listen`. */
  private listen(conns: ConnTable, n: number, now: number): void {
    if (n < 0) {
      this.counters.dataRefused++;
      return;
    }
    conns.setState(n, LISTEN, now);
    this.counters.dataConns++;
  }
}

/** One direction's adjustment as three words at `out[i, i+3)`. */
function writeSeq(out: Uint32Array, i: number, a: SeqAdjust): void {
  out[i] = a.init >>> 0;
  out[i + 1] = a.delta >>> 0;
  out[i + 2] = a.previous >>> 0;
}

/** Offset of the TCP payload of `p`, -1 when the data offset is below 5 words. */
function payloadOff(p: Packet): number {
  const l4 = p.info.l4Off;
  const doff = p.buf[l4 + TcpField.DATA_OFF]! >>> 4;
  return doff < 5 ? -1 : l4 + doff * 4;
}

/**
 * Shift the sequence number by this direction's adjustment and the acknowledgement by the
 * other direction's; the checksum follows (a partial checksum holds only the pseudo-header
 * and stays).
 */
function fixSeqAck(p: Packet, mine: SeqAdjust, other: SeqAdjust): void {
  if (!mine.active && !other.active) return;
  const buf = p.buf;
  const l4 = p.info.l4Off;
  const c = l4 + TcpField.CHECKSUM;
  if (mine.active) {
    const old = rd32(buf, l4 + TcpField.SEQ);
    const v = mine.seq(old);
    wr32(buf, l4 + TcpField.SEQ, v);
    if (!p.partialCsum) wr16(buf, c, csumUpdate32(rd16(buf, c), old, v));
  }
  if (other.active && (p.info.tcpFlags & 0x10) !== 0) {
    const old = rd32(buf, l4 + TcpField.ACK);
    const v = other.ack(old);
    wr32(buf, l4 + TcpField.ACK, v);
    if (!p.partialCsum) wr16(buf, c, csumUpdate32(rd16(buf, c), old, v));
  }
}
