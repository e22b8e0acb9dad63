/**
 * The master sync daemon (the kernel's ip_vs_sync_conn and its sender thread): for every
 * incoming packet the Director forwards, `conn(slot, now)` decides with the kernel's rules
 * (`ip_vs_sync_conn_needed`) whether the connection, and then its controlling template,
 * must be sent (the controller only after its child was queued). A chosen record is
 * written at once into the open message buffer, as the kernel writes into its current
 * `sync_buff`: buffers come from a pool of `maxlen`-byte buffers that is reused (a buffer
 * goes back to the pool when the transport's send completes), so neither the packet path
 * nor the sender allocates or copies per record or per message. A message closes when the
 * next record would not fit; a closed message is sent `sendDelayMs` after its first record
 * was written, or as soon as it closes if that is later (at once when 8 wait, the kernel's
 * IPVS_SYNC_WAKEUP_RATE); the open one when `flushMs` old.
 * At most `qlenMax` messages wait or are in flight (sync_qlen_max, in messages): a message
 * closed beyond that is dropped and its records counted (`queueFull`).
 */
import { totalmem } from 'node:os';
import type { ConnTable } from '@tunvs/conntrack';
import { SctpState, TcpState } from '@tunvs/conntrack';
import { ConnFlag, Proto } from '@tunvs/model';
import {
  SEQ_MASK, SYNC_DEFAULTS, SYNC_MAX_RECORDS, SyncWire, setV1RecordLength, syncRecordLength, syncRecordStart,
  writeSeqData, writeSeqOption, writeSyncHeader, writeV0Record, writeV1Record,
} from './wire.js';

const { TEMPLATE, ONE_PACKET } = ConnFlag;
const { ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT, TIME_WAIT } = TcpState;
/** TCP states in which a connection is synced at all */
const TCP_SYNC_STATES = (1 << ESTABLISHED) | (1 << FIN_WAIT) | (1 << CLOSE) | (1 << CLOSE_WAIT) | (1 << TIME_WAIT);
/** SCTP states in which an association is synced at all */
const SCTP_SYNC_STATES =
  (1 << SctpState.ESTABLISHED) | (1 << SctpState.SHUTDOWN_SENT) | (1 << SctpState.SHUTDOWN_RECEIVED) |
  (1 << SctpState.SHUTDOWN_ACK_SENT) | (1 << SctpState.CLOSED);
/** IPVS_SYNC_WAKEUP_RATE: this many closed messages are sent without waiting for sendDelayMs */
const WAKEUP_RATE = 8;
/** message buffers allocated up front (the pool grows to qlenMax + 1 under backlog, never shrinks) */
const PREALLOC = 16;

/** The sender's settings (sysctls and daemon options). */
export interface SyncMasterSettings {
  syncid: number;
  /** largest message in bytes (sync_maxlen) */
  maxlen: number;
  /** protocol version to send (sysctl sync_version): 1 (default) or 0 */
  version: number;
  /** sysctl sync_threshold, first value: the incoming packet that first syncs a connection */
  threshold: number;
  /** sysctl sync_threshold, second value (sync_period): re-sync every this many packets, 0 = once */
  period: number;
  /** sysctl sync_refresh_period in ms (0 = off) */
  refreshPeriodMs: number;
  /** sysctl sync_retries (0..3) */
  retries: number;
  /** sysctl sync_persist_mode: sync only the templates of persistent connections */
  persistMode: boolean;
  /**
   * sysctl sync_qlen_max: messages waiting to be sent or being sent, at most; a message
   * closed beyond it is dropped. Default as the kernel's: 1/32 of the memory's 4 KiB pages.
   */
  qlenMax: number;
  /** a partly filled message is sent when this old (ms) */
  flushMs: number;
  /** a closed message is sent this long after its first record (ms), or when it closes if later */
  sendDelayMs: number;
}

/** The master's counters. */
export interface SyncMasterCounters {
  /** records the rules chose to send (sent, waiting, or dropped) */
  queued: number;
  /** of those, dropped: the message queue was full (sync_qlen_max) or the record does not fit in maxlen */
  queueFull: number;
  /** messages and bytes handed to the transport */
  messages: number;
  bytes: number;
  /** messages the transport refused or failed to send */
  sendErrors: number;
}

/**
 * Where messages go. `send` owns `buf[0, len)` until it calls `done` (once; at once or
 * later, with an error when the send failed); if `send` throws, `done` is not called and
 * the buffer is free again.
 */
export interface SyncSender {
  send(buf: Uint8Array, len: number, done: (err?: Error | null) => void): void;
}

/**
 * The sequence data of connection `slot` (an application helper's deltas, the kernel's
 * in_seq and out_seq): fills `out` with in_seq {init, delta, previous_delta} then out_seq,
 * returns the IN_SEQ/OUT_SEQ bits that are set (0: none, `out` untouched).
 */
export type SyncSeqSource = (slot: number, out: Uint32Array) => number;

/** sync_qlen_max's default: 1/32 of the memory's pages (ip_vs_sync_init's `totalram_pages() / 32`). */
export function defaultQlenMax(): number {
  return Math.max(1, Math.floor(totalmem() / 4096 / 32));
}

export function defaultMasterSettings(): SyncMasterSettings {
  return {
    syncid: 0, maxlen: SYNC_DEFAULTS.maxlen, version: SYNC_DEFAULTS.version, threshold: SYNC_DEFAULTS.threshold,
    period: SYNC_DEFAULTS.period, refreshPeriodMs: SYNC_DEFAULTS.refreshPeriodMs, retries: SYNC_DEFAULTS.retries,
    persistMode: false, qlenMax: defaultQlenMax(), flushMs: SYNC_DEFAULTS.flushMs, sendDelayMs: SYNC_DEFAULTS.sendDelayMs,
  };
}

/** One message buffer of the pool, with its completion callback (made once, with the buffer). */
interface MessageBuf {
  readonly buf: Uint8Array;
  /** bytes used: the header and the records (the last one unpadded) */
  len: number;
  count: number;
  /** when the first record was written (ms) */
  firstAt: number;
  readonly done: (err?: Error | null) => void;
}

export class SyncMaster {
  readonly settings: SyncMasterSettings;
  readonly counters: SyncMasterCounters = { queued: 0, queueFull: 0, messages: 0, bytes: 0, sendErrors: 0 };
  // per connection slot (the kernel's sync_endtime and its retry bits, template in_pkts);
  // old_state is the table's (ConnTable.oldState): a backup's records set it too, and it
  // outlives this master (a backup that takes over starts a new one)
  private readonly endtime: Float64Array;
  private readonly retry: Uint8Array;
  private readonly tplPkts: Int32Array;
  /** the message records are written into (null: none open) */
  private cur: MessageBuf | null = null;
  /** closed messages waiting to be sent, a ring of qlenMax */
  private ready: (MessageBuf | null)[];
  private readyHead = 0;
  private readySize = 0;
  /** messages handed to the transport, not completed yet */
  private inFlight = 0;
  /** free buffers, and how many exist */
  private readonly free: MessageBuf[] = [];
  private allocated = 0;
  /** records written and not yet handed to the transport */
  private waiting = 0;
  private readonly seqBuf = new Uint32Array(6);
  private headerLen: number;
  /** the shortest record (no options): a message with less room left closes at once */
  private minRecord: number;
  private timer: NodeJS.Timeout | null = null;
  /** the armed timer waits for a partly filled message (flushMs), not for closed ones */
  private timerForPartial = false;
  private immediate = false;
  private stopped = false;
  private readonly flushCb = (): void => {
    this.timer = null;
    this.flush(this.clock());
  };
  private readonly immediateCb = (): void => {
    this.immediate = false;
    if (!this.stopped) this.flush(this.clock());
  };

  constructor(
    private readonly conns: ConnTable,
    private readonly sender: SyncSender,
    settings: Partial<SyncMasterSettings> = {},
    /** the fwmark a connection of (proto, vaddr, vport) carries (the mark rules), 0 = none */
    private readonly markOf: (proto: number, vaddr: number, vport: number) => number = () => 0,
    private readonly clock: () => number = Date.now,
    /** arm timers to flush by themselves (tests flush by hand) */
    private readonly autoFlush = true,
    /** the application helpers' sequence data (FTP NAT), null: none */
    private readonly seqOf: SyncSeqSource | null = null,
  ) {
    this.settings = { ...defaultMasterSettings(), ...settings };
    const cap = conns.capacity;
    this.endtime = new Float64Array(cap);
    this.retry = new Uint8Array(cap);
    this.tplPkts = new Int32Array(cap);
    const s = this.settings;
    s.qlenMax = Math.max(1, Math.floor(s.qlenMax));
    this.ready = new Array<MessageBuf | null>(s.qlenMax).fill(null);
    this.headerLen = s.version === 0 ? SyncWire.V0_HEADER : SyncWire.V1_HEADER;
    this.minRecord = syncRecordLength(s.version, false);
    for (let i = Math.min(PREALLOC, s.qlenMax + 1); i > 0; i--) this.free.push(this.newBuf());
  }

  /**
   * Change the sysctls of a running master, as writing them does in the kernel: the
   * sending rules apply from the next packet on. A new version or queue length first sends
   * what is written (the open message and the queue, in the old format), then messages are
   * made the new way. The per-connection sync state is kept.
   */
  configure(next: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>): void {
    const s = this.settings;
    const version = next.version ?? s.version;
    const qlenMax = Math.max(1, Math.floor(next.qlenMax ?? s.qlenMax));
    if (version !== s.version || qlenMax !== s.qlenMax) {
      if (!this.stopped) {
        // the queued messages, then the open one past the queue limit: nothing written is lost
        this.flush(this.clock());
        const m = this.cur;
        if (m !== null) {
          this.cur = null;
          writeSyncHeader(m.buf, s.version, s.syncid, m.count, m.len);
          this.sendOne(m);
        }
      }
      this.ready = new Array<MessageBuf | null>(qlenMax).fill(null);
      this.readyHead = 0;
      this.readySize = 0;
      this.headerLen = version === 0 ? SyncWire.V0_HEADER : SyncWire.V1_HEADER;
      this.minRecord = syncRecordLength(version, false);
    }
    for (const [k, v] of Object.entries(next)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
    s.version = version;
    s.qlenMax = qlenMax;
  }

  /** Records written into messages and not yet handed to the transport. */
  get pending(): number {
    return this.waiting;
  }

  /** Message buffers in the pool (free, open, waiting or in flight). */
  get buffers(): number {
    return this.allocated;
  }

  /** A connection entry was created in `slot`: its sync state starts afresh (old_state: the table's, 0). */
  created(slot: number): void {
    this.endtime[slot] = 0;
    this.retry[slot] = 0;
    this.tplPkts[slot] = 0;
  }

  /**
   * An incoming packet of `slot` was forwarded (ip_vs_sync_conn): sync it if the rules
   * say so, then walk to its controller (template: its own packet count; control
   * connection: the threshold) and test that too.
   */
  conn(slot: number, now: number): void {
    const c = this.conns;
    const s = this.settings;
    let cur = slot;
    let pkts: number;
    if ((c.flags(cur) & ONE_PACKET) !== 0) {
      if (s.version === 0) return;
    } else {
      pkts = c.inPkts(cur);
      // the controller is visited only after its child was queued
      if (!this.needed(cur, pkts, now)) return;
      this.enqueue(cur, now);
    }
    for (let depth = 0; depth < 4; depth++) {
      const parent = c.control(cur);
      if (parent < 0 || !c.isLive(parent)) return;
      cur = parent;
      pkts = c.isTemplate(cur) ? ++this.tplPkts[cur]! : s.threshold;
      if (!this.needed(cur, pkts, now)) return;
      this.enqueue(cur, now);
    }
  }

  /** ip_vs_sync_conn_needed, with times in ms. */
  private needed(slot: number, pkts: number, now: number): boolean {
    const c = this.conns;
    const s = this.settings;
    const flags = c.flags(slot);
    if ((flags & TEMPLATE) === 0) {
      if (s.persistMode && c.control(slot) >= 0 && c.isTemplate(c.control(slot))) return false;
      const proto = c.proto(slot);
      if (proto === Proto.TCP || proto === Proto.SCTP) {
        const st = c.state(slot);
        const tcp = proto === Proto.TCP;
        if (((1 << st) & (tcp ? TCP_SYNC_STATES : SCTP_SYNC_STATES)) === 0) return false;
        // a change to a closing state is sent at once; ESTABLISHED goes through the tests below
        if (st !== c.oldState(slot) && st !== (tcp ? ESTABLISHED : SctpState.ESTABLISHED)) return this.set(slot, now + c.timeout(slot), 0);
      }
    }
    const timeout = c.timeout(slot);
    const n = now + timeout;
    const r = this.tests(slot, flags, pkts, n, this.endtime[slot]!, timeout, now);
    if (r < 0) return false;
    return this.set(slot, n, r);
  }

  /** Steps 4 and 5 of the rule: -1 = not now, else the retry count to record. */
  private tests(slot: number, flags: number, pkts: number, n: number, orig: number, timeout: number, now: number): number {
    const s = this.settings;
    let retries = 0;
    if (s.refreshPeriodMs > 0) {
      const minDiff = Math.max(timeout / 2, 10000);
      if (Math.abs(n - orig) < Math.min(s.refreshPeriodMs, minDiff)) {
        const r = this.retry[slot]!;
        if (r >= s.retries) return -1;
        if (now < orig - timeout + s.refreshPeriodMs / 8) return -1;
        retries = r + 1;
      }
    }
    if (s.period > 0) {
      if ((flags & TEMPLATE) === 0 && pkts % s.period !== s.threshold) return -1;
    } else if (s.refreshPeriodMs === 0 && pkts !== s.threshold) return -1;
    return retries;
  }

  private set(slot: number, n: number, retries: number): true {
    this.conns.setOldState(slot, this.conns.state(slot));
    this.endtime[slot] = n;
    this.retry[slot] = retries;
    return true;
  }

  private newBuf(): MessageBuf {
    const m: MessageBuf = {
      buf: new Uint8Array(this.settings.maxlen), len: 0, count: 0, firstAt: 0,
      done: (err) => this.completed(m, err),
    };
    this.allocated++;
    return m;
  }

  /** A buffer for a new message: from the pool, or a new one while the pool is below qlenMax + 1. */
  private open(now: number): MessageBuf {
    const m = this.free.pop() ?? this.newBuf();
    m.len = this.headerLen;
    m.count = 0;
    m.firstAt = now;
    this.cur = m;
    return m;
  }

  /** Write the entry in `slot` into the open message (a new one when it does not fit). */
  private enqueue(slot: number, now: number): void {
    const c = this.conns;
    const s = this.settings;
    this.counters.queued++;
    let flags = c.flags(slot);
    let seqBits = 0;
    if (this.seqOf !== null) {
      seqBits = this.seqOf(slot, this.seqBuf) & SEQ_MASK;
      flags = (flags & ~SEQ_MASK) | seqBits;
    }
    const v0 = s.version === 0;
    const len = syncRecordLength(s.version, seqBits !== 0);
    if (this.headerLen + len > s.maxlen) {
      this.counters.queueFull++;
      return;
    }
    let m = this.cur;
    let at = 0;
    if (m !== null) {
      at = syncRecordStart(s.version, m.len);
      if (at + len > s.maxlen) {
        this.close(m);
        m = null;
      }
    }
    if (m === null) {
      m = this.open(now);
      at = this.headerLen;
    }
    const b = m.buf;
    // padding after the previous record: the buffer is reused, zero it
    for (let p = m.len; p < at; p++) b[p] = 0;
    const proto = c.proto(slot);
    const vaddr = c.vaddr(slot);
    const vport = c.vport(slot);
    if (v0) {
      writeV0Record(b, at, proto, flags, c.state(slot), c.cport(slot), vport, c.dport(slot), c.caddr(slot), vaddr, c.daddr(slot));
      if (seqBits !== 0) writeSeqData(b, at + SyncWire.V0_RECORD, this.seqBuf);
    } else {
      const fwmark = c.isTemplate(slot) && proto === 0 ? vaddr : this.markOf(proto, vaddr, vport);
      writeV1Record(
        b, at, proto, flags, c.state(slot), c.cport(slot), vport, c.dport(slot), fwmark,
        Math.floor(c.timeout(slot) / 1000), c.caddr(slot), vaddr, c.daddr(slot),
      );
      if (seqBits !== 0) {
        writeSeqOption(b, at + SyncWire.V1_RECORD, this.seqBuf);
        setV1RecordLength(b, at, len);
      }
    }
    m.len = at + len;
    m.count++;
    this.waiting++;
    // no room for another record: close it now rather than when the next record comes
    if (m.count >= SYNC_MAX_RECORDS || syncRecordStart(s.version, m.len) + this.minRecord > s.maxlen) this.close(m);
    else if (this.autoFlush && m.count === 1 && this.timer === null) this.arm(s.flushMs, true);
  }

  /** The open message is complete: queue it for sending, or drop it when qlenMax messages wait already. */
  private close(m: MessageBuf): void {
    this.cur = null;
    const s = this.settings;
    writeSyncHeader(m.buf, s.version, s.syncid, m.count, m.len);
    if (this.readySize + this.inFlight >= s.qlenMax) {
      this.counters.queueFull += m.count;
      this.waiting -= m.count;
      this.free.push(m);
      return;
    }
    this.ready[(this.readyHead + this.readySize) % s.qlenMax] = m;
    this.readySize++;
    if (!this.autoFlush) return;
    if (this.readySize >= WAKEUP_RATE) {
      if (!this.immediate) {
        this.immediate = true;
        setImmediate(this.immediateCb);
      }
    } else if (this.timer === null || this.timerForPartial) {
      // sendDelayMs after the oldest waiting message's first record (at once if that passed)
      if (this.timer !== null) clearTimeout(this.timer);
      this.arm(this.ready[this.readyHead]!.firstAt + s.sendDelayMs - this.clock(), false);
    }
  }

  private arm(ms: number, partial: boolean): void {
    this.timer = setTimeout(this.flushCb, Math.max(1, ms));
    this.timer.unref();
    this.timerForPartial = partial;
  }

  /** Records that fit in one message of the configured version (records without options). */
  get recordsPerMessage(): number {
    const s = this.settings;
    let n = 0;
    let end = this.headerLen;
    while (n < SYNC_MAX_RECORDS && syncRecordStart(s.version, end) + this.minRecord <= s.maxlen) {
      end = syncRecordStart(s.version, end) + this.minRecord;
      n++;
    }
    return n;
  }

  /**
   * Send what is due: every closed message, and the open one when its first record waited
   * `flushMs` (or `force`). Returns the messages handed to the transport.
   */
  flush(now: number, force = false): number {
    // the closed messages first: the open one then finds room in the queue (closing it
    // first would drop it when qlenMax messages wait)
    let sent = this.sendReady();
    const m = this.cur;
    if (m !== null && (force || now - m.firstAt >= this.settings.flushMs)) {
      this.close(m);
      sent += this.sendReady();
    }
    const open = this.cur;
    if (this.autoFlush && !this.stopped && open !== null && this.timer === null) {
      this.arm(open.firstAt + this.settings.flushMs - now, true);
    }
    return sent;
  }

  /** Hand every closed message to the transport; returns how many. */
  private sendReady(): number {
    let sent = 0;
    const q = this.settings.qlenMax;
    while (this.readySize > 0) {
      const r = this.ready[this.readyHead]!;
      this.ready[this.readyHead] = null;
      this.readyHead = (this.readyHead + 1) % q;
      this.readySize--;
      this.sendOne(r);
      sent++;
    }
    return sent;
  }

  private sendOne(m: MessageBuf): void {
    this.waiting -= m.count;
    this.inFlight++;
    try {
      this.sender.send(m.buf, m.len, m.done);
    } catch {
      this.inFlight--;
      this.counters.sendErrors++;
      this.free.push(m);
      return;
    }
    this.counters.messages++;
    this.counters.bytes += m.len;
    this.lastSentAt = this.clock();
  }

  /** The transport is done with `m`: back to the pool. */
  private completed(m: MessageBuf, err: Error | null | undefined): void {
    this.inFlight--;
    if (err) this.counters.sendErrors++;
    this.free.push(m);
  }

  /** When the last message was sent (the daemon's clock, ms; 0: never). */
  lastSentAt = 0;

  /** Stop the timers; what is queued is sent first when `drain`. */
  stop(drain = true): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (drain) this.flush(this.clock(), true);
    this.stopped = true;
  }
}
