/**
 * The backup sync daemon (the kernel's ip_vs_process_message / ip_vs_proc_conn): received
 * datagrams are queued (copied, bounded) and decoded and applied in batches from
 * `setImmediate`, off the packet loop. Each record creates or refreshes a connection
 * entry with the kernel's flags (`SYNC` | the record's bits kept by the backup mask) and
 * timeout (the record's, or the state's for v0, 180 s for v0 templates); as the kernel's,
 * its incoming-packet count becomes this director's sync_threshold and its old_state the
 * record's state, so that after a takeover this director's master syncs it again on the
 * period's rhythm and does not re-send a closing state it got by sync. A TCP or SCTP
 * entry takes the record's state (its active/inactive counting with it), and a record
 * without a timeout the state's; a state beyond the protocol's is refused (counted). Nothing is
 * scheduled: the record's destination must exist in this director's services, else the
 * record is counted (`noDest`). A record never replaces or touches a connection this
 * director created itself, and a full table refuses records (counted) without evicting.
 */
import type { ConnTable } from '@tunvs/conntrack';
import { ConnFlag, Fwd, Proto } from '@tunvs/model';
import type { Dest } from '@tunvs/model';
import {
  SEQ_MASK, SYNC_BACKUP_MASK, SYNC_DEFAULTS, SyncRxCounters, decodeSyncMessage, newSyncRecord, syncRecordStateOk,
} from './wire.js';
import type { SyncRecord } from './wire.js';

const { SYNC, TEMPLATE, INACTIVE } = ConnFlag;

/** What the backup needs of a Director. */
export interface SyncBackupTarget {
  readonly conns: ConnTable;
  /** the destination a record names (service by fwmark or vaddr:vport, real server daddr:dport), or null */
  findDest(protocol: number, fwmark: number, vaddr: number, vport: number, daddr: number, dport: number, flags: number): Dest | null;
  /**
   * Keep a record's sequence data (in_seq then out_seq, `bits` its IN_SEQ/OUT_SEQ) for
   * connection `slot`: the application helper that rewrites its payload (FTP NAT) takes
   * it over. Returns false when no helper serves that connection (counted).
   */
  setSeq?(slot: number, bits: number, seq: Uint32Array): boolean;
}

/** What happened to the records the backup applied. */
export class SyncApplyCounters {
  /** new entries */
  created = 0;
  /** existing synced entries refreshed */
  updated = 0;
  /** inactive records naming another real server than the existing entry: stale, ignored */
  stale = 0;
  /** records for a connection this director created itself: left alone */
  localKept = 0;
  /** no service or real server matches the record */
  noDest = 0;
  /** the connection table was full */
  tableFull = 0;
  /** datagrams dropped because the receive queue was full */
  queueFull = 0;
  /** records whose sequence data (IN_SEQ/OUT_SEQ) an application helper took over */
  seqData = 0;
  /** records with sequence data for a connection no application helper serves here (ignored) */
  seqNoHelper = 0;
  /**
   * records handed to apply (not through this backup's decoder: a worker's, from the
   * thread that decoded them) whose protocol is not tracked or whose state is beyond the
   * protocol's: refused
   */
  badState = 0;
}

/** Where a backup's decoded records go when it does not apply them itself. */
export type SyncRecordSink = (r: SyncRecord, now: number) => void;

export interface SyncBackupSettings {
  /** 0 accepts every syncid */
  syncid: number;
  /**
   * sysctl sync_threshold, first value (this director's, shared with its master): the
   * incoming-packet count (in_pkts) every record gives its entry, new or existing
   */
  threshold: number;
  /** records applied per setImmediate step */
  batch: number;
  /** datagrams waiting at most */
  queueMax: number;
}

export class SyncBackup {
  readonly settings: SyncBackupSettings;
  readonly rx = new SyncRxCounters();
  readonly applied = new SyncApplyCounters();
  private readonly queue: Uint8Array[] = [];
  private readonly rec = newSyncRecord();
  private scheduled = false;
  private stopped = false;
  private now = 0;
  private readonly sink: (r: SyncRecord) => void;
  private readonly step = (): void => {
    this.scheduled = false;
    this.drain(this.settings.batch);
  };

  private readonly target: SyncBackupTarget | null;

  /**
   * `target` is the Director the records are applied to; or a function that takes each
   * decoded record instead (`r` is reused: copy what it keeps), for a director whose
   * connection tables live elsewhere (tunvsd's worker threads: each record goes to the
   * worker that owns its flow, which applies it with its own SyncBackup's `apply`).
   */
  constructor(
    target: SyncBackupTarget | SyncRecordSink,
    settings: Partial<SyncBackupSettings> = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.settings = { syncid: 0, threshold: SYNC_DEFAULTS.threshold, batch: 4096, queueMax: 4096, ...settings };
    if (typeof target === 'function') {
      this.target = null;
      this.sink = (r) => target(r, this.now);
    } else {
      this.target = target;
      this.sink = (r) => this.apply(r, this.now);
    }
  }

  /** Change the sysctls of a running backup (sync_threshold): records applied from now on use them. */
  configure(next: Partial<Pick<SyncBackupSettings, 'threshold'>>): void {
    if (next.threshold !== undefined) this.settings.threshold = next.threshold;
  }

  /** Datagrams waiting. */
  get pending(): number {
    return this.queue.length;
  }

  /** A datagram arrived: copy it into the queue; it is applied in a later step. */
  receive(buf: Uint8Array, len = buf.length): void {
    if (this.stopped) return;
    if (this.queue.length >= this.settings.queueMax) {
      this.applied.queueFull++;
      return;
    }
    this.queue.push(buf.slice(0, len));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.step);
    }
  }

  /** Apply queued datagrams until about `maxRecords` records were handled; returns the datagrams handled. */
  drain(maxRecords = Infinity): number {
    let n = 0;
    const start = this.rx.records;
    while (this.queue.length > 0 && this.rx.records - start < maxRecords) {
      const m = this.queue.shift()!;
      this.handle(m, m.length);
      n++;
    }
    if (this.queue.length > 0 && !this.scheduled && !this.stopped) {
      this.scheduled = true;
      setImmediate(this.step);
    }
    return n;
  }

  /** Decode and apply one datagram now. Returns its version, or -1 when refused. */
  handle(buf: Uint8Array, len = buf.length): number {
    this.now = this.clock();
    const v = decodeSyncMessage(buf, len, this.settings.syncid, this.rec, this.sink, this.rx);
    if (v >= 0) {
      this.lastVersion = v;
      this.lastMessageAt = this.now;
    }
    return v;
  }

  /** The version of the last accepted message (-1: none yet). */
  lastVersion = -1;
  /** When the last message was accepted (the daemon's clock, ms; 0: never). */
  lastMessageAt = 0;

  /** Stop: queued datagrams are discarded. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  /** ip_vs_proc_conn for one decoded record. */
  apply(r: SyncRecord, now: number): void {
    const t = this.target;
    if (t === null) throw new Error('this SyncBackup hands its records on: it has no table to apply them to');
    const c = t.conns;
    // the decoder checked this already; a record that came another way is checked again
    // rather than trusted (a state indexes the table's timeouts)
    if (syncRecordStateOk(r.protocol, r.flags, r.state) !== 1) {
      this.applied.badState++;
      return;
    }
    const flags = (r.flags & SYNC_BACKUP_MASK) | SYNC;
    const template = (flags & TEMPLATE) !== 0;
    let slot = template ? c.findTemplate(r.protocol, r.caddr, r.vaddr, r.vport) : c.lookupIn(r.protocol, r.caddr, r.cport, r.vaddr, r.vport);
    if (slot >= 0 && !template) {
      if ((c.flags(slot) & SYNC) === 0) {
        this.applied.localKept++;
        return;
      }
      if (c.daddr(slot) !== r.daddr || c.dport(slot) !== r.dport) {
        if ((flags & INACTIVE) !== 0 || !c.expire(slot, now)) {
          this.applied.stale++;
          return;
        }
        slot = -1;
      }
    }
    const timeoutMs = this.timeoutMs(r, template);
    if (slot >= 0) {
      this.refresh(slot, r, flags, timeoutMs, now);
      this.applied.updated++;
      return;
    }
    const dest = t.findDest(r.protocol, r.fwmark, r.vaddr, r.vport, r.daddr, r.dport, flags);
    if (dest === null) {
      this.applied.noDest++;
      return;
    }
    slot = template
      ? c.createTemplate(r.protocol, r.caddr, r.vaddr, r.vport, r.daddr, r.dport, dest, timeoutMs / 1000, now)
      : c.create(r.protocol, r.caddr, r.cport, r.vaddr, r.vport, r.daddr, r.dport, dest, flags, now, -1);
    if (slot < 0) {
      this.applied.tableFull++;
      return;
    }
    this.refresh(slot, r, flags, timeoutMs, now);
    this.applied.created++;
  }

  /**
   * Sequence data, packet count, state and timeout of a new or existing entry (the end of
   * ip_vs_proc_conn): in_pkts = sync_threshold, old_state = state.
   */
  private refresh(slot: number, r: SyncRecord, flags: number, timeoutMs: number, now: number): void {
    const c = this.target!.conns;
    const seqBits = flags & SEQ_MASK;
    if (r.hasSeq && seqBits !== 0) {
      if (this.target!.setSeq?.(slot, seqBits, r.seq)) this.applied.seqData++;
      else this.applied.seqNoHelper++;
    }
    c.setInPkts(slot, this.settings.threshold);
    if (c.isTemplate(slot) || r.protocol === Proto.TCP || r.protocol === Proto.SCTP) c.setState(slot, r.state, now);
    c.setOldState(slot, c.state(slot));
    c.setTimeout(slot, timeoutMs, now);
  }

  /** The record's timeout, or the state's (v0, or 0 sent), 180 s for templates. */
  private timeoutMs(r: SyncRecord, template: boolean): number {
    if (r.timeout > 0) return Math.min(r.timeout, 0x7fffffff / 1000) * 1000;
    if (template) return SYNC_DEFAULTS.templateTimeoutSec * 1000;
    const c = this.target!.conns;
    if (r.protocol === Proto.TCP) return c.tcpTimeout(r.state);
    if (r.protocol === Proto.SCTP) return c.sctpTimeout(r.state);
    return c.getTimeouts().udp * 1000;
  }
}

/** ip_vs_find_dest: the service by fwmark or address, then the real server by address and port. */
export function findSyncDest(
  find: (fwmark: number, proto: number, vaddr: number, vport: number) => { findDest(addr: number, port: number): Dest | undefined; dests: Dest[] } | null,
  protocol: number, fwmark: number, vaddr: number, vport: number, daddr: number, dport: number, flags: number,
): Dest | null {
  const template = (flags & TEMPLATE) !== 0;
  const mark = fwmark !== 0 ? fwmark : template && protocol === 0 ? vaddr : 0;
  const proto = protocol === 0 ? Proto.TCP : protocol;
  let svc = find(mark, proto, vaddr, vport);
  // an FTP template (port 0) belongs to the port-21 service
  if (svc === null && template && vport === 0) svc = find(mark, proto, vaddr, 21);
  if (svc === null) return null;
  let port = dport;
  if (mark !== 0 && (flags & ConnFlag.FWD_MASK) !== Fwd.MASQ) port = 0;
  const d = svc.findDest(daddr, port) ?? svc.findDest(daddr, port ^ dport);
  if (d) return d;
  if (template) return svc.dests.find((x) => x.addr === daddr) ?? null;
  return null;
}
