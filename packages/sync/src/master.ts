/**
 * The master sync daemon (the kernel's ip_vs_sync_conn and its sender thread): for every
 * incoming packet the Director forwards, `conn(slot, now)` decides with the kernel's rules
 * (`ip_vs_sync_conn_needed`) whether the connection, and then its controlling template,
 * must be sent (the controller only after its child was queued); chosen records are encoded at once into a preallocated ring (no
 * allocation per packet). `flush` packs the ring into messages of at most `maxlen` bytes
 * and hands them to the transport: full messages `sendDelayMs` after they were queued, a
 * partly filled one when `flushMs` old, as the kernel's sender does.
 */
import type { ConnTable } from '@tunvs/conntrack';
import { TcpState } from '@tunvs/conntrack';
import { ConnFlag, Proto } from '@tunvs/model';
import { SYNC_DEFAULTS, SyncWire, SyncWriter, writeV1Record } from './wire.js';

const { TEMPLATE, ONE_PACKET } = ConnFlag;
const { ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT, TIME_WAIT } = TcpState;
/** TCP states in which a connection is synced at all */
const TCP_SYNC_STATES = (1 << ESTABLISHED) | (1 << FIN_WAIT) | (1 << CLOSE) | (1 << CLOSE_WAIT) | (1 << TIME_WAIT);
const REC = SyncWire.V1_RECORD;

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
  /** queue limit in records (sync_qlen_max analog): beyond it records are dropped and counted */
  qlenMax: number;
  /** a partly filled message is sent when this old (ms) */
  flushMs: number;
  /** queued full messages are sent this long after the first (ms) */
  sendDelayMs: number;
}

/** The master's counters. */
export interface SyncMasterCounters {
  /** records queued */
  queued: number;
  /** records dropped: the queue was full */
  queueFull: number;
  /** messages and bytes handed to the transport */
  messages: number;
  bytes: number;
  /** messages the transport refused */
  sendErrors: number;
}

/** Where messages go: `send` copies or consumes `buf[0, len)` before returning. */
export interface SyncSender {
  send(buf: Uint8Array, len: number): void;
}

export function defaultMasterSettings(): SyncMasterSettings {
  return {
    syncid: 0, maxlen: SYNC_DEFAULTS.maxlen, version: SYNC_DEFAULTS.version, threshold: SYNC_DEFAULTS.threshold,
    period: SYNC_DEFAULTS.period, refreshPeriodMs: SYNC_DEFAULTS.refreshPeriodMs, retries: SYNC_DEFAULTS.retries,
    persistMode: false, qlenMax: 65536, flushMs: SYNC_DEFAULTS.flushMs, sendDelayMs: SYNC_DEFAULTS.sendDelayMs,
  };
}

export class SyncMaster {
  readonly settings: SyncMasterSettings;
  readonly counters: SyncMasterCounters = { queued: 0, queueFull: 0, messages: 0, bytes: 0, sendErrors: 0 };
  // per connection slot (the kernel's cp->old_state, sync_endtime and its retry bits, template in_pkts)
  private readonly oldState: Uint8Array;
  private readonly endtime: Float64Array;
  private readonly retry: Uint8Array;
  private readonly tplPkts: Int32Array;
  // the ring of encoded records and the time each was queued
  private readonly ring: Uint8Array;
  private readonly queuedAt: Float64Array;
  private head = 0;
  private size = 0;
  private readonly writer: SyncWriter;
  private timer: NodeJS.Timeout | null = null;
  /** the armed timer waits for a partly filled message (flushMs), not for a full one */
  private timerForPartial = false;
  private readonly flushCb = (): void => {
    this.timer = null;
    this.flush(this.clock());
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
  ) {
    this.settings = { ...defaultMasterSettings(), ...settings };
    const cap = conns.capacity;
    this.oldState = new Uint8Array(cap);
    this.endtime = new Float64Array(cap);
    this.retry = new Uint8Array(cap);
    this.tplPkts = new Int32Array(cap);
    const q = Math.max(1, this.settings.qlenMax);
    this.ring = new Uint8Array(q * REC);
    this.queuedAt = new Float64Array(q);
    this.writer = new SyncWriter(this.settings.maxlen);
  }

  /** Records waiting in the queue. */
  get pending(): number {
    return this.size;
  }

  /** A connection entry was created in `slot`: its sync state starts afresh. */
  created(slot: number): void {
    this.oldState[slot] = 0;
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
    const timeout = c.timeout(slot);
    const orig = this.endtime[slot]!;
    const n = now + timeout;
    if ((flags & TEMPLATE) === 0) {
      if (s.persistMode && c.control(slot) >= 0 && c.isTemplate(c.control(slot))) return false;
      if (c.proto(slot) === Proto.TCP) {
        const st = c.state(slot);
        if (((1 << st) & TCP_SYNC_STATES) === 0) return false;
        // a change to a closing state is sent at once; ESTABLISHED goes through the tests below
        if (st !== this.oldState[slot] && st !== ESTABLISHED) return this.set(slot, n, 0);
      }
    }
    const r = this.tests(slot, flags, pkts, n, orig, timeout, now);
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
    this.oldState[slot] = this.conns.state(slot);
    this.endtime[slot] = n;
    this.retry[slot] = retries;
    return true;
  }

  /** Encode the entry in `slot` into the ring (dropped and counted when full). */
  private enqueue(slot: number, now: number): void {
    const cap = this.queuedAt.length;
    if (this.size >= cap) {
      this.counters.queueFull++;
      return;
    }
    const c = this.conns;
    const i = (this.head + this.size) % cap;
    const proto = c.proto(slot);
    const vaddr = c.vaddr(slot);
    const vport = c.vport(slot);
    const template = c.isTemplate(slot);
    const fwmark = template && proto === 0 ? vaddr : this.markOf(proto, vaddr, vport);
    writeV1Record(
      this.ring, i * REC, proto, c.flags(slot), c.state(slot), c.cport(slot), vport, c.dport(slot), fwmark,
      Math.floor(c.timeout(slot) / 1000), c.caddr(slot), vaddr, c.daddr(slot),
    );
    this.queuedAt[i] = now;
    this.size++;
    this.counters.queued++;
    if (!this.autoFlush) return;
    if (this.timer === null) this.arm(this.settings.sendDelayMs, false);
    else if (this.timerForPartial && this.size >= this.recordsPerMessage) {
      // a message just filled up: it goes out sendDelayMs from now, as the kernel queues a
      // full buffer for its sender at once, not when the partial flush (2 s) is due
      clearTimeout(this.timer);
      this.arm(this.settings.sendDelayMs, false);
    }
  }

  private arm(ms: number, partial: boolean): void {
    this.timer = setTimeout(this.flushCb, Math.max(1, ms));
    this.timer.unref();
    this.timerForPartial = partial;
  }

  /** Records that fit in one message of the configured version. */
  get recordsPerMessage(): number {
    const s = this.settings;
    const hdr = s.version === 0 ? SyncWire.V0_HEADER : SyncWire.V1_HEADER;
    const rec = s.version === 0 ? SyncWire.V0_RECORD : REC;
    return Math.max(0, Math.min(255, Math.floor((s.maxlen - hdr) / rec)));
  }

  /**
   * Send what is due: every full message, and the partly filled rest when its oldest
   * record waited `flushMs` (or `force`). Returns the messages sent.
   */
  flush(now: number, force = false): number {
    const per = this.recordsPerMessage;
    if (per === 0) {
      this.counters.queueFull += this.size;
      this.size = 0;
      return 0;
    }
    let sent = 0;
    while (this.size >= per || (this.size > 0 && (force || now - this.queuedAt[this.head]! >= this.settings.flushMs))) {
      this.sendOne(Math.min(per, this.size));
      sent++;
    }
    if (this.autoFlush && this.size > 0 && this.timer === null) {
      this.arm(this.queuedAt[this.head]! + this.settings.flushMs - now, true);
    }
    return sent;
  }

  private sendOne(n: number): void {
    const w = this.writer;
    const cap = this.queuedAt.length;
    w.begin(this.settings.version, this.settings.syncid);
    for (let k = 0; k < n; k++) {
      w.addEncoded(this.ring, this.head * REC);
      this.head = (this.head + 1) % cap;
      this.size--;
    }
    const len = w.finish();
    try {
      this.sender.send(w.buf, len);
      this.counters.messages++;
      this.counters.bytes += len;
    } catch {
      this.counters.sendErrors++;
    }
  }

  /** Stop the flush timer; queued records are sent first when `drain`. */
  stop(drain = true): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (drain) this.flush(this.clock(), true);
  }
}
