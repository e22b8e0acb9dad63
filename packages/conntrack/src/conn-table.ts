import { ConnFlag, DEFAULT_KERNEL, DestFlag, METHODS, Proto, protocolListing } from '@tunvs/model';
import type { DefenseSettings, Dest, DestRegistry, KernelMode, Timeouts } from '@tunvs/model';
import { DEFENSE_DEFAULTS, doubleCounters } from '@tunvs/model';
import { PAGE_BYTES, defenseLevelOff, dropThisPacket, updateDefenseLevel } from './defense.js';
import type { DefenseLevel } from './defense.js';
import {
  CONTROL_REARM_TIMEOUT,
  INITIAL_TIMEOUT,
  TCP_DEFAULT_TIMEOUTS,
  TCP_NEXT,
  TCP_NEXT_SECURE,
  TCP_STATE_COUNT,
  TCP_STATE_NAMES,
  TEMPLATE_STATE_NAMES,
  TcpDir,
  TcpState,
  TemplateState,
  UDP_DEFAULT_TIMEOUT,
  tcpEvent,
  tcpStateActive,
} from './tcp-states.js';
import { SCTP_DEFAULT_TIMEOUTS, SCTP_NEXT, SCTP_STATE_COUNT, SCTP_STATE_NAMES, SctpState } from './sctp-states.js';

// Imported tables read through same-module constants: V8 folds these, but loads the
// properties of an imported `as const` object on every call of a hot function.
const { NO_CPORT, TEMPLATE, REPLY_FROM_DEST, NOOUTPUT, INACTIVE, HASHED } = ConnFlag;
const AVAILABLE = DestFlag.AVAILABLE;
const { FWD_MASK, SYNC, ONE_PACKET } = ConnFlag;
/** The connection flags of each method (@tunvs/model's METHODS), by Fwd number, with INACTIVE. */
const METHOD_CONN_FLAGS = Int32Array.from({ length: FWD_MASK + 1 }, (_, fwd) => fwd | (METHODS[fwd]?.connFlags ?? 0) | INACTIVE);
const P_TCP = Proto.TCP;
const P_SCTP = Proto.SCTP;
const SCTP_ESTABLISHED = SctpState.ESTABLISHED;
const SCTP_EVENTS = SCTP_NEXT.length / (3 * SCTP_STATE_COUNT);
const { INPUT: DIR_INPUT, OUTPUT: DIR_OUTPUT, INPUT_ONLY: DIR_INPUT_ONLY } = TcpDir;
const { CLOSE: ST_CLOSE, ESTABLISHED: ST_ESTABLISHED } = TcpState;
/** The TCP states whose entry a new SYN always replaces (conn_reuse_mode non-zero), as bits. */
const TCP_REUSE_STATES = (1 << TcpState.TIME_WAIT) | (1 << ST_CLOSE);

/** Why an entry left the table (second argument of the `expired` hook). */
export const ExpireReason = {
  /** its timer ran out (`tick`) */
  TIMEOUT: 0,
  /** removed on request (`expire`, port reuse, expire_nodest_conn) */
  FORCED: 1,
  /** removed by the drop_entry defence, or as the unused parent of such an entry */
  DROPPED: 2,
} as const;

/** Result of `checkDest`: what the engine does with a packet of an existing entry. */
export const DestCheck = {
  /** the destination is available: use the entry */
  OK: 0,
  /** destination removed, expire_nodest_conn off: drop the packet, keep the entry */
  DROP: 1,
  /** destination removed, expire_nodest_conn on: the entry is gone, treat as new */
  EXPIRED: 2,
} as const;

/** Callbacks, set once (constructor or `setHooks`). They must not modify the table. */
export interface ConnHooks {
  /** a new entry (connection or template) was created */
  created?: (slot: number) => void;
  /** a TCP entry changed state (`prev` = old state); templates: became ASSURED */
  stateChanged?: (slot: number, prev: number) => void;
  /** an entry is about to be freed; its fields are still readable during the call */
  expired?: (slot: number, reason: number) => void;
}

/**
 * Kernel behaviour switches (sysctls); all mutable at run time through `table.options`.
 * The defence settings (DefenseSettings: drop_entry, drop_packet, secure_tcp modes 0..3,
 * amemthresh in pages, am_droprate) take effect at the next once-a-second update, or at
 * once through `setDefense`; automatic modes move between 1 and 2 (defense.ts).
 */
export interface ConnTableSwitches extends DefenseSettings {
  /** `conn_reuse_mode` bitmap, default 1 (3.7) */
  connReuseMode: number;
  /** `expire_nodest_conn`, default false (3.8) */
  expireNodestConn: boolean;
  /** `expire_quiescent_template`, default false (4.4) */
  expireQuiescentTemplate: boolean;
  /** the kernel generation whose OVERLOAD rules apply: classic (default) or 2026 (1.5) */
  kernel: KernelMode;
}

/** Options of `new ConnTable`. */
export interface ConnTableOptions {
  /** hard maximum of entries (connections + templates) */
  capacity: number;
  /** resolves the Int32 dest ids stored in the table */
  registry: DestRegistry;
  /** initial `--set tcp tcpfin udp` values in seconds (0/absent = default) */
  timeouts?: Partial<Timeouts>;
  /** kernel switches (defaults as the kernel's) */
  options?: Partial<ConnTableSwitches>;
  hooks?: ConnHooks;
  /** hash buckets (rounded up to a power of 2); default about the capacity (load <= 1.6) */
  buckets?: number;
  /** timer wheel slots (power of 2) */
  wheelSlots?: number;
  /** timer resolution in ms, default 8 */
  tickMs?: number;
  /** hash and drop_entry RNG seed; default random (hash flooding) */
  seed?: number;
}

/** One entry as the control plane lists it (`ipvsadm -L -c`). */
export interface ConnEntry {
  slot: number;
  /** protocol number, 0 for fwmark templates */
  protocol: number;
  /** 'TCP', 'UDP', 'SCTP', 'IP' (fwmark template) or 'IP_<n>' */
  protocolName: string;
  /** state name as ipvsadm prints it */
  state: string;
  /** seconds until expiry, truncated */
  expires: number;
  caddr: number;
  cport: number;
  vaddr: number;
  vport: number;
  daddr: number;
  dport: number;
  template: boolean;
  /** the mark of a fwmark template (protocol 0), else 0 */
  fwmark: number;
  /** ConnFlag bits */
  flags: number;
  destId: number;
  control: number;
  nControl: number;
  inPkts: number;
}

/** Counters of table events. */
export interface ConnCounters {
  inserts: number;
  /** creations refused because the table was full */
  refused: number;
  /** entries removed because their timer ran out */
  expired: number;
  /** entries removed on request (expire, reuse, nodest) */
  forced: number;
  /** entries removed by drop_entry */
  dropped: number;
  /** expiries postponed by 60 s because the entry still controlled children */
  rearmed: number;
  /** SYNs that found an old entry and asked for rescheduling (3.7) */
  reused: number;
  /** templates made unusable by `checkTemplate` */
  templatesInvalidated: number;
}

/**
 * The block of one entry: `WORDS` Int32 words, entry `s` at `s * WORDS`: every word a
 * lookup compares and an established packet reads or writes (its state, destination,
 * timer, timeout and packet count), so that a packet touches one block, not one line in
 * each of several arrays. The colder fields are separate arrays (struct of arrays).
 */
export const ConnLayout = {
  /** client address */
  CADDR: 0,
  /** virtual address (the mark of a fwmark template) */
  VADDR: 1,
  /** client port << 16 | virtual port */
  PORTS: 2,
  /** ConnFlag bits (low 15) | LIVE (bit 15) | state << 16 | protocol << 24 */
  META: 3,
  /** next slot in the hash chain (in the free list while the slot is free), -1 = end */
  NEXT: 4,
  /** destination (real server) address */
  DADDR: 5,
  /** destination id + 1 in the low 24 bits (0 = none) | forwarder index << 24 */
  DEST: 6,
  /** expiry tick (wrapping, compared by signed difference) */
  EXPIRES: 7,
  /** the current timeout in ms */
  TIMEOUT: 8,
  /** incoming packets (the sync threshold counts them) */
  INPKTS: 9,
  /** the parent's slot (persistence template or control connection), -1 = none */
  CONTROL: 10,
  /**
   * the real server's port << 16 | the children's count (n_control) in the low 16 bits,
   * which hold up to 65535; a parent with more keeps the rest aside (ConnDportWord)
   */
  DPORT_NCONTROL: 11,
  /** words per entry */
  WORDS: 12,
} as const;

/** Bit fields of the META word. */
export const ConnMeta = {
  /** the entry is in use */
  LIVE: 0x8000,
  /** the ConnFlag bits stored */
  FLAGS_MASK: 0x7fff,
  STATE_SHIFT: 16,
  /** the state, after the shift (bits 16-22) */
  STATE_MASK: 0x7f,
  /**
   * the entry's timer was moved later without moving the entry in the wheel: it is still
   * in the wheel slot of an earlier expiry, where the walk will meet it and move it
   */
  LATER: 0x800000,
  PROTO_SHIFT: 24,
} as const;

/** Bit fields of the DEST word. */
export const ConnDestWord = {
  /** destination id + 1 */
  ID_MASK: 0xffffff,
  /** the forwarder index (0..255) the engine bound to the connection */
  XMIT_SHIFT: 24,
} as const;

/** Bit fields of the DPORT_NCONTROL word. */
export const ConnDportWord = {
  /** the real server's port, after the shift */
  DPORT_SHIFT: 16,
  /**
   * the children's count (n_control); at this value further children are counted aside,
   * in a map by slot (a template with more than 65535 live children is rare), and the
   * low bits read as non-zero until all of those have gone
   */
  NCONTROL_MASK: 0xffff,
} as const;

/** Largest destination id the DEST word can hold. */
export const MAX_DEST_ID = ConnDestWord.ID_MASK - 1;

const { CADDR, VADDR, PORTS, META, NEXT, DADDR, DEST, EXPIRES, TIMEOUT, INPKTS, CONTROL, DPORT_NCONTROL, WORDS } = ConnLayout;
const { LIVE, FLAGS_MASK, STATE_SHIFT, STATE_MASK, LATER, PROTO_SHIFT } = ConnMeta;
/** how many groups `moveLater` remembers the end of (and timeouts it numbers) before it starts again */
const GROUP_HINTS = 65536;
const { ID_MASK, XMIT_SHIFT } = ConnDestWord;
const { DPORT_SHIFT, NCONTROL_MASK } = ConnDportWord;

/** The destination id of a DEST word (-1 = none). */
function idOf(w: number): number {
  return (w & ID_MASK) - 1;
}

/**
 * Slot `s`, or 0 for -1 (no entry): the batch steps read slot 0's block for a -1 instead of
 * branching (a line read harmlessly, in cache after the first).
 */
function slotOrZero(s: number): number {
  return s & ~(s >> 31);
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The IPVS connection table: struct-of-arrays storage with a fixed capacity, a chained hash
 * keyed by (protocol, client address, client port) that serves both directions (as the
 * kernel's), the TCP/UDP state machine, a timer wheel driven by the caller's clock,
 * persistence templates and the per-destination counters. Per-packet methods take and
 * return numbers only and never allocate.
 *
 * Addresses are uint32 numbers (10.0.0.1 = 0x0a000001); times are milliseconds on any
 * monotonic clock the caller chooses (`now`).
 */
export class ConnTable {
  /** hard maximum of entries */
  readonly capacity: number;
  /** hash bucket count */
  readonly bucketCount: number;
  /** timer resolution in ms */
  readonly tickMs: number;
  /** kernel switches, mutable */
  readonly options: ConnTableSwitches;
  /** event counters */
  readonly counters: ConnCounters = {
    inserts: 0,
    refused: 0,
    expired: 0,
    forced: 0,
    dropped: 0,
    rearmed: 0,
    reused: 0,
    templatesInvalidated: 0,
  };

  private readonly registry: DestRegistry;
  private hooks: ConnHooks = {};

  // --- per-entry fields ---
  /**
   * the hot words of every entry, laid out as ConnLayout says, then (from `headBase`) the
   * hash index: one Int32Array for both, so that a lookup reads the pointer and length of
   * one typed array, not two (measured with `bench conntrack`, 1M entries: one-at-a-time
   * lookups about 13 % more per second, against the Map of the same runs, than with the
   * heads in an array of their own)
   */
  private readonly blk: Int32Array;
  /** children counted beyond NCONTROL_MASK, by the parent's slot (see ConnDportWord) */
  private readonly nControlAside = new Map<number, number>();
  /**
   * the state the connection-sync master last sent or a sync record gave (the kernel's
   * cp->old_state): a change from it to a closing state is synced at once
   */
  private readonly oldState_: Uint8Array;
  /** timer wheel doubly linked list */
  private readonly wnext_: Int32Array;
  private readonly wprev_: Int32Array;
  // --- index ---
  /** where the bucket heads start in `blk` (bucket `b`'s first slot, or -1, at `headBase + b`) */
  private readonly headBase: number;
  private readonly bucketMask: number;
  private readonly wheel_: Int32Array;
  private readonly wheelMask: number;

  private freeHead = -1;
  private count = 0;
  private noCportCount = 0;
  private readonly seed: number;
  private rng: number;
  private readonly dropCounters = new Int8Array(8);
  /**
   * The entry `moveLater` moved last into each group of entries due at one tick with one
   * timeout, by `groupKey`: the next of the group goes right after it, without a search.
   * A hint, checked before use (the entry may have fired, been re-armed or reused since);
   * cleared when it holds GROUP_HINTS keys.
   */
  private readonly groupEnd = new Map<number, number>();
  /** a small number per timeout value, for `groupKey` */
  private readonly timeoutIds = new Map<number, number>();
  /** entries `moveLater`'s searches passed (timer upkeep work: tests and benches) */
  private walkSteps = 0;
  /** last tick processed by the wheel; valid once `clockSet` */
  private cursor = 0;
  private clockSet = false;
  /** entry the wheel walk will visit next (kept valid if a hook unlinks it) */
  private walkNext = -1;
  private lastDefenseMs = Number.NEGATIVE_INFINITY;
  /** what the defence settings switched on at the last update */
  readonly defenseLevel: DefenseLevel = defenseLevelOff();
  /** the TCP transitions in use: TCP_NEXT, or TCP_NEXT_SECURE while secure_tcp is on */
  private tcpNext: Uint8Array = TCP_NEXT;
  /** `bytesPerEntry` / PAGE_BYTES, fixed at construction: free slots -> available pages */
  private readonly pagesPerEntry: number;

  /** per-state TCP timeouts (ms) and the UDP/other timeout */
  private readonly tcpTimeouts = new Uint32Array(TCP_STATE_COUNT);
  private udpTimeout = UDP_DEFAULT_TIMEOUT * 1000;
  /**
   * per-state SCTP timeouts (ms): the kernel's defaults; ipvsadm's `--set` has no SCTP
   * field, so nothing changes them
   */
  private readonly sctpTimeouts = Uint32Array.from(SCTP_DEFAULT_TIMEOUTS, (t) => t * 1000);

  constructor(opts: ConnTableOptions) {
    doubleCounters(this.counters);
    const cap = Math.floor(opts.capacity);
    if (!(cap >= 1 && cap <= 0x4000000)) throw new RangeError('capacity must be 1..2^26');
    this.capacity = cap;
    this.registry = opts.registry;
    this.tickMs = opts.tickMs ?? 8;
    if (!(this.tickMs > 0)) throw new RangeError('tickMs must be > 0');
    this.options = {
      connReuseMode: 1,
      expireNodestConn: false,
      expireQuiescentTemplate: false,
      ...DEFENSE_DEFAULTS,
      kernel: DEFAULT_KERNEL,
      ...opts.options,
    };
    if (opts.hooks) this.hooks = { ...opts.hooks };
    this.seed = (opts.seed ?? Math.floor(Math.random() * 0x100000000)) >>> 0;
    this.rng = this.seed || 0x9e3779b9;

    this.oldState_ = new Uint8Array(cap);
    this.wnext_ = new Int32Array(cap);
    this.wprev_ = new Int32Array(cap);

    // default: a power of 2 near the capacity, load factor at most 1.6 (memory target)
    let nb = nextPow2(Math.max(16, opts.buckets ?? cap));
    if (opts.buckets === undefined && nb > 16 && nb > cap * 1.25) nb >>>= 1;
    this.bucketCount = nb;
    this.bucketMask = this.bucketCount - 1;
    this.headBase = cap * WORDS;
    this.blk = new Int32Array(this.headBase + nb).fill(-1, this.headBase);
    const ws = nextPow2(opts.wheelSlots ?? Math.min(65536, Math.max(256, nextPow2(cap) >>> 4)));
    this.wheel_ = new Int32Array(ws).fill(-1);
    this.wheelMask = ws - 1;

    // free list in slot order
    for (let i = 0; i < cap - 1; i++) this.blk[(i * WORDS) + NEXT] = i + 1;
    this.blk[((cap - 1) * WORDS) + NEXT] = -1;
    this.freeHead = 0;

    for (let s = 0; s < TCP_STATE_COUNT; s++) this.tcpTimeouts[s] = TCP_DEFAULT_TIMEOUTS[s]! * 1000;
    if (opts.timeouts) this.setTimeouts(opts.timeouts);
    this.pagesPerEntry = this.bytesPerEntry / PAGE_BYTES;
    this.updateDefense();
  }

  /** Set the hooks (once; later calls replace them). */
  setHooks(hooks: ConnHooks): void {
    this.hooks = { ...hooks };
  }

  /** Entries the timer upkeep's searches have passed so far (moving a timer later: a measure of its work). */
  get timerWalkSteps(): number {
    return this.walkSteps;
  }

  /** Number of live entries (connections + templates). */
  get size(): number {
    return this.count;
  }

  /** Memory of all typed arrays (entries, hash index, wheel) divided by the capacity. */
  get bytesPerEntry(): number {
    return this.totalBytes / this.capacity;
  }

  /** Memory of all typed arrays in bytes. */
  get totalBytes(): number {
    let n = 0;
    for (const a of [
      this.blk,
      this.oldState_,
      this.wnext_,
      this.wprev_,
      this.wheel_,
    ])
      n += a.byteLength;
    return n;
  }

  // ------------------------------------------------------------------ timeouts

  /** `ipvsadm --set tcp tcpfin udp` in seconds; 0 or absent leaves a value unchanged. */
  setTimeouts(t: Partial<Timeouts>): void {
    const clamp = (s: number): number => Math.min(Math.floor(s * 1000), 0x7fffffff);
    if (t.tcp && t.tcp > 0) this.tcpTimeouts[ST_ESTABLISHED] = clamp(t.tcp);
    if (t.tcpfin && t.tcpfin > 0) this.tcpTimeouts[TcpState.FIN_WAIT] = clamp(t.tcpfin);
    if (t.udp && t.udp > 0) this.udpTimeout = clamp(t.udp);
  }

  /** The current `--set` values in seconds. */
  getTimeouts(): Timeouts {
    return {
      tcp: this.tcpTimeouts[ST_ESTABLISHED]! / 1000,
      tcpfin: this.tcpTimeouts[TcpState.FIN_WAIT]! / 1000,
      udp: this.udpTimeout / 1000,
    };
  }

  /** Timeout in ms that an SCTP state gets (the kernel's defaults). */
  sctpTimeout(state: number): number {
    return this.sctpTimeouts[state]!;
  }

  /** Timeout in ms that a TCP state gets (all states, including the fixed ones). */
  tcpTimeout(state: number): number {
    return this.tcpTimeouts[state]!;
  }

  // ------------------------------------------------------------------ hashing

  private bucket(proto: number, caddr: number, cport: number): number {
    let h = (caddr ^ this.seed) | 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h ^= (cport << 8) | proto;
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    h ^= h >>> 16;
    return h & this.bucketMask;
  }

  private hashIn(slot: number): void {
    const b = this.bucket(this.blk[(slot * WORDS) + META]! >>> PROTO_SHIFT, this.blk[(slot * WORDS) + CADDR]!, this.blk[(slot * WORDS) + PORTS]! >>> 16);
    this.blk[(slot * WORDS) + NEXT] = this.blk[this.headBase + b]!;
    this.blk[this.headBase + b] = slot;
    this.blk[(slot * WORDS) + META] = this.blk[(slot * WORDS) + META]! | HASHED;
  }

  private unhash(slot: number): void {
    const m = this.blk[(slot * WORDS) + META]!;
    if ((m & HASHED) === 0) return;
    const b = this.bucket(m >>> PROTO_SHIFT, this.blk[(slot * WORDS) + CADDR]!, this.blk[(slot * WORDS) + PORTS]! >>> 16);
    let i = this.blk[this.headBase + b]!;
    if (i === slot) {
      this.blk[this.headBase + b] = this.blk[(slot * WORDS) + NEXT]!;
    } else {
      while (i >= 0) {
        const n = this.blk[(i * WORDS) + NEXT]!;
        if (n === slot) {
          this.blk[(i * WORDS) + NEXT] = this.blk[(slot * WORDS) + NEXT]!;
          break;
        }
        i = n;
      }
    }
    this.blk[(slot * WORDS) + NEXT] = -1;
    this.blk[(slot * WORDS) + META] = m & ~HASHED;
  }

  // ------------------------------------------------------------------ lookups

  /**
   * Inbound lookup (client -> VIP packet): the live connection for this tuple, or -1.
   * Entries with NO_CPORT match only a zero client port; when nothing matches and such
   * entries exist, the lookup is retried with client port 0 (FTP passive data).
   */
  lookupIn(proto: number, caddr: number, cport: number, vaddr: number, vport: number): number {
    return this.lookupInBucket(this.bucket(proto, caddr | 0, cport), proto, caddr, cport, vaddr, vport);
  }

  /**
   * `lookupIn` with the key's bucket already known (`bucketOf(proto, caddr, cport)`, e.g.
   * from a batch pre-pass): the same result, without hashing the key a second time. The
   * bucket of a key never changes (it depends on the key and the table's seed only), so
   * one taken before entries were created or expired is still the key's.
   */
  lookupInBucket(bucket: number, proto: number, caddr: number, cport: number, vaddr: number, vport: number): number {
    const ca = caddr | 0;
    const va = vaddr | 0;
    const ports = (cport << 16) | vport;
    const pbits = proto << PROTO_SHIFT;
    const want = cport === 0 ? NO_CPORT : 0;
    const blk = this.blk;
    let i = blk[this.headBase + (bucket & this.bucketMask)]!;
    while (i >= 0) {
      const o = i * WORDS;
      if (blk[o + PORTS] === ports && blk[o + CADDR] === ca && blk[o + VADDR] === va) {
        const m = blk[o + META]!;
        if ((m & 0xff000000) === pbits && (m & NO_CPORT) === want) return i;
      }
      i = blk[o + NEXT]!;
    }
    return cport !== 0 && this.noCportCount > 0 ? this.lookupNoCport(proto, caddr, vaddr, vport) : -1;
  }

  // ------------------------------------------------------------------ batches
  //
  // At a million entries a lookup waits for main memory twice (the bucket head, then the
  // entry), and one lookup at a time the core cannot overlap those misses with the next
  // lookup's: its branches depend on the loaded words and its window is too short. A batch
  // first reads every key's bucket head (loads that depend on nothing loaded before them,
  // so the core issues them back to back), then every head entry's words, then the next
  // entry's where the head is another client's (a third of the keys of a full table),
  // then does the lookups on data that is in cache by then. The first steps change
  // nothing: they are a hint, and the lookups that follow give exactly the one-at-a-time
  // results.
  //
  // UNROLL: the steps' loops take four entries an iteration. In a loop, V8 checks a typed
  // array's map and loads its length and data pointer again for every access, and a loop
  // of one random read an iteration has few of its misses in flight at once (over 48 MiB,
  // 22-25 ns a read against 9.4-10.4 with four reads an iteration; most likely those
  // loads, cache hits, fill the core's load queue behind the oldest miss). The four reads
  // of an iteration share one set of them.

  /**
   * Step 1 of a batch: the first slot of the hash chain of a client (the inbound key's
   * `caddr:cport`; for a reply, its destination), or -1. Reading it brings the bucket into
   * cache; pass the results to `prefetch`.
   */
  bucketHead(proto: number, client: number, clientPort: number): number {
    return this.blk[this.headBase + this.bucket(proto, client | 0, clientPort & 0xffff)]!;
  }

  /**
   * The bucket of the inbound key `proto, client:clientPort` (for `lookupInBucket`, which
   * then skips the hash), and `headAt` its first slot: together the same as `bucketHead`.
   */
  bucketOf(proto: number, client: number, clientPort: number): number {
    return this.bucket(proto, client | 0, clientPort & 0xffff);
  }

  /** The first slot of bucket `b`'s hash chain, or -1 (reading it brings the bucket into cache). */
  headAt(b: number): number {
    return this.blk[this.headBase + (b & this.bucketMask)]!;
  }

  /**
   * Step 2 of a batch: read, for each of `slots[0, n)` that is >= 0, the line of the
   * entry's block that a lookup compares. Changes nothing; returns a value made of the
   * words read (keep it somewhere, so that the reads are not optimised away). The rest of
   * an established packet's block (its second line where the block spans two: the
   * timeout and the real server's port) is step 3's, with `warm`.
   */
  prefetch(slots: Int32Array, n: number): number {
    return this.readWord(slots, n, PORTS);
  }

  /**
   * Step 1's reads for buckets known already: `heads[k]` the first slot of bucket
   * `buckets[k]`'s chain, -1 where that is -1 (no bucket) or the chain is empty, for k
   * in `[0, n)`. The same as `headAt` for each.
   */
  headsAt(buckets: Int32Array, n: number, heads: Int32Array): void {
    const blk = this.blk;
    const hb = this.headBase;
    const mask = this.bucketMask;
    let k = 0;
    // see UNROLL; a -1 reads the last bucket (harmlessly) and gives -1
    for (; k + 4 <= n; k += 4) {
      const b0 = buckets[k]!;
      const b1 = buckets[k + 1]!;
      const b2 = buckets[k + 2]!;
      const b3 = buckets[k + 3]!;
      const h0 = blk[hb + (b0 & mask)]!;
      const h1 = blk[hb + (b1 & mask)]!;
      const h2 = blk[hb + (b2 & mask)]!;
      const h3 = blk[hb + (b3 & mask)]!;
      heads[k] = b0 >= 0 ? h0 : -1;
      heads[k + 1] = b1 >= 0 ? h1 : -1;
      heads[k + 2] = b2 >= 0 ? h2 : -1;
      heads[k + 3] = b3 >= 0 ? h3 : -1;
    }
    for (; k < n; k++) {
      const b = buckets[k]!;
      heads[k] = b >= 0 ? blk[hb + (b & mask)]! : -1;
    }
  }

  /**
   * Word `word` of the blocks of `slots[0, n)` read back to back, one line per entry (the
   * batch steps' reads, see UNROLL), summed (int32) only so that the reads are kept: a -1
   * reads slot 0's block in the unrolled loop (slotOrZero) and nothing in the rest.
   */
  private readWord(slots: Int32Array, n: number, word: number): number {
    const blk = this.blk;
    let acc = 0;
    let k = 0;
    // see UNROLL and slotOrZero
    for (; k + 4 <= n; k += 4) {
      const s0 = slots[k]!;
      const s1 = slots[k + 1]!;
      const s2 = slots[k + 2]!;
      const s3 = slots[k + 3]!;
      acc = (acc + blk[slotOrZero(s0) * WORDS + word]! + blk[slotOrZero(s1) * WORDS + word]!
        + blk[slotOrZero(s2) * WORDS + word]! + blk[slotOrZero(s3) * WORDS + word]!) | 0;
    }
    for (; k < n; k++) {
      const s = slots[k]!;
      if (s >= 0) acc = (acc + blk[(s * WORDS) + word]!) | 0;
    }
    return acc;
  }

  /**
   * Step 3 of a batch, after `prefetch(slots, n)`: where the head entry `slots[k]` (in
   * cache now) is not of the client `caddr[k]:cport[k]` whose bucket it heads, read the
   * hot block of the chain's next entry the same way, for all such keys back to back. At
   * the default load (about one entry per bucket) a third of the keys of a full table have
   * their entry further down the chain than its head; a lookup that reads it itself waits
   * for it alone. With `warm`, for a caller that goes on to account packets (`packet`, then
   * a forwarder that reads `dport`), also read the block's last word (the real server's
   * port; on the block's second line where it spans two, with the timeout) of the head
   * entry where it is the client's, else of the next entry (without waiting to compare
   * it). Over 1M flows in random order that took the engine's established packets from 3.4
   * to 4.6 Mpps, and 6.2 to 6.4 where the flows come in the order they were created (`npm
   * run bench -- fastpath`, one interleaved pair, when the port was an array of its own).
   * Overwrites `slots[0, n)` (with the next slots, in no order the caller can use); changes
   * nothing else; returns a value made of the words read, as `prefetch`.
   */
  prefetchNext(slots: Int32Array, caddr: Int32Array, cport: Uint16Array, n: number, warm = false): number {
    const blk = this.blk;
    let m = 0;
    let acc = 0;
    let k = 0;
    // see UNROLL: the four heads' key words read first, without a branch (slotOrZero),
    // then each head's next kept where the head is not the client's (m <= k: the writes
    // stay behind the reads)
    for (; k + 4 <= n; k += 4) {
      const s0 = slots[k]!;
      const s1 = slots[k + 1]!;
      const s2 = slots[k + 2]!;
      const s3 = slots[k + 3]!;
      const o0 = slotOrZero(s0) * WORDS;
      const o1 = slotOrZero(s1) * WORDS;
      const o2 = slotOrZero(s2) * WORDS;
      const o3 = slotOrZero(s3) * WORDS;
      // non-zero where the head is another client's
      const d0 = (blk[o0 + CADDR]! ^ caddr[k]!) | ((blk[o0 + PORTS]! >>> 16) ^ cport[k]!);
      const d1 = (blk[o1 + CADDR]! ^ caddr[k + 1]!) | ((blk[o1 + PORTS]! >>> 16) ^ cport[k + 1]!);
      const d2 = (blk[o2 + CADDR]! ^ caddr[k + 2]!) | ((blk[o2 + PORTS]! >>> 16) ^ cport[k + 2]!);
      const d3 = (blk[o3 + CADDR]! ^ caddr[k + 3]!) | ((blk[o3 + PORTS]! >>> 16) ^ cport[k + 3]!);
      if (s0 >= 0) {
        if (d0 !== 0) m = this.keepNext(slots, m, o0);
        else if (warm) acc = (acc + blk[o0 + DPORT_NCONTROL]!) | 0;
      }
      if (s1 >= 0) {
        if (d1 !== 0) m = this.keepNext(slots, m, o1);
        else if (warm) acc = (acc + blk[o1 + DPORT_NCONTROL]!) | 0;
      }
      if (s2 >= 0) {
        if (d2 !== 0) m = this.keepNext(slots, m, o2);
        else if (warm) acc = (acc + blk[o2 + DPORT_NCONTROL]!) | 0;
      }
      if (s3 >= 0) {
        if (d3 !== 0) m = this.keepNext(slots, m, o3);
        else if (warm) acc = (acc + blk[o3 + DPORT_NCONTROL]!) | 0;
      }
    }
    for (; k < n; k++) {
      const s = slots[k]!;
      if (s < 0) continue;
      const o = s * WORDS;
      if (blk[o + CADDR] !== caddr[k] || blk[o + PORTS]! >>> 16 !== cport[k]!) m = this.keepNext(slots, m, o);
      else if (warm) acc = (acc + blk[o + DPORT_NCONTROL]!) | 0;
    }
    acc = (acc + this.readWord(slots, m, PORTS)) | 0;
    if (warm) acc = (acc + this.readWord(slots, m, DPORT_NCONTROL)) | 0;
    return acc;
  }

  /** `prefetchNext`'s: the next slot of the block at `o`, at `slots[m]` if there is one; the new m. */
  private keepNext(slots: Int32Array, m: number, o: number): number {
    const next = this.blk[o + NEXT]!;
    if (next < 0) return m;
    slots[m] = next;
    return m + 1;
  }

  /** what `lookupInBatch` read before its lookups (kept so they are not dead loads) */
  private batchSink = 0;
  /** `lookupInBatch`'s bucket heads */
  private batchHeads = new Int32Array(256);
  /** `lookupInBatch`'s buckets (hashed once, for both the heads and the lookups) */
  private batchBuckets = new Int32Array(256);

  /**
   * `lookupIn` for `n` keys (`proto[k], caddr[k], cport[k], vaddr[k], vport[k]`), results
   * in `out[0, n)`: the same results as `n` calls of `lookupIn` in order, with the
   * memory reads of the batch overlapped (bucket heads, then head entries, then the
   * chains' second entries where the head is another client's, then the lookups).
   */
  lookupInBatch(
    n: number,
    proto: Uint8Array,
    caddr: Int32Array,
    cport: Uint16Array,
    vaddr: Int32Array,
    vport: Uint16Array,
    out: Int32Array,
  ): void {
    if (this.batchHeads.length < n) {
      this.batchHeads = new Int32Array(n);
      this.batchBuckets = new Int32Array(n);
    }
    const heads = this.batchHeads;
    const buckets = this.batchBuckets;
    for (let k = 0; k < n; k++) buckets[k] = this.bucket(proto[k]!, caddr[k]! | 0, cport[k]!);
    this.headsAt(buckets, n, heads);
    // step 2: the head entries' hot blocks; step 3: the chains' second entries where the
    // head is another client's
    let acc = this.prefetch(heads, n);
    acc = (acc + this.prefetchNext(heads, caddr, cport, n)) | 0;
    this.batchSink = (this.batchSink + acc) | 0;
    for (let k = 0; k < n; k++) out[k] = this.lookupInBucket(buckets[k]!, proto[k]!, caddr[k]!, cport[k]!, vaddr[k]!, vport[k]!);
  }

  /** The retry of `lookupIn` with client port 0 (FTP passive data entries). */
  private lookupNoCport(proto: number, caddr: number, vaddr: number, vport: number): number {
    return this.lookupIn(proto, caddr, 0, vaddr, vport);
  }

  /**
   * Outbound lookup (reply packet): `saddr:sport` is the packet's source (the real server
   * for entries whose method translates, REPLY_FROM_DEST: NAT and local; the VIP for
   * others), `daddr:dport` its destination (the client). Templates never match.
   */
  lookupOut(proto: number, saddr: number, sport: number, daddr: number, dport: number): number {
    const ca = daddr | 0;
    const sa = saddr | 0;
    const pbits = proto << PROTO_SHIFT;
    const blk = this.blk;
    let i = blk[this.headBase + this.bucket(proto, ca, dport)]!;
    while (i >= 0) {
      const o = i * WORDS;
      const p = blk[o + PORTS]!;
      if (p >>> 16 === dport && blk[o + CADDR] === ca) {
        const m = blk[o + META]!;
        if ((m & 0xff000000) === pbits && (m & TEMPLATE) === 0) {
          if ((m & REPLY_FROM_DEST) !== 0) {
            if (blk[o + DPORT_NCONTROL]! >>> DPORT_SHIFT === sport && blk[o + DADDR] === sa) return i;
          } else if ((p & 0xffff) === sport && blk[o + VADDR] === sa) return i;
        }
      }
      i = blk[o + NEXT]!;
    }
    return -1;
  }

  /**
   * Raw template lookup: `proto` 0 for fwmark templates, `caddr` already masked, `vaddr`
   * the VIP or the fwmark, `vport` the service port or 0. No validity check.
   */
  findTemplate(proto: number, caddr: number, vaddr: number, vport: number): number {
    const ca = caddr | 0;
    const va = vaddr | 0;
    const pbits = proto << PROTO_SHIFT;
    let i = this.blk[this.headBase + this.bucket(proto, ca, 0)]!;
    while (i >= 0) {
      if (this.blk[(i * WORDS) + PORTS] === vport && this.blk[(i * WORDS) + CADDR] === ca && this.blk[(i * WORDS) + VADDR] === va) {
        const m = this.blk[(i * WORDS) + META]!;
        if ((m & 0xff000000) === pbits && (m & TEMPLATE) !== 0) return i;
      }
      i = this.blk[(i * WORDS) + NEXT]!;
    }
    return -1;
  }

  /**
   * Template lookup with the kernel's validity rules (`ip_vs_check_template`): a template
   * whose destination is gone (or quiescent, with expireQuiescentTemplate) is invalidated
   * and -1 is returned, so the caller schedules anew and creates a fresh template.
   */
  lookupTemplate(proto: number, caddr: number, vaddr: number, vport: number): number {
    const t = this.findTemplate(proto, caddr, vaddr, vport);
    if (t < 0) return -1;
    return this.checkTemplate(t) ? t : -1;
  }

  /**
   * Validate a template; an unusable one gets cport 0, vport and dport 65535 (so it never
   * matches again) and is left to expire on its own timer. `cdest` (optional) must match.
   */
  checkTemplate(slot: number, cdest: Dest | null = null): boolean {
    const id = idOf(this.blk[(slot * WORDS) + DEST]!);
    const dest = id >= 0 ? this.registry.get(id) : null;
    if (
      dest !== null &&
      (dest.flags & AVAILABLE) !== 0 &&
      !(this.options.expireQuiescentTemplate && dest.weight === 0) &&
      (cdest === null || cdest === dest)
    )
      return true;
    if ((this.blk[(slot * WORDS) + PORTS]! & 0xffff) !== 0xffff) {
      // the hash key (proto, caddr, cport) does not change: cport is already 0
      this.blk[(slot * WORDS) + PORTS] = 0xffff;
      this.blk[(slot * WORDS) + DPORT_NCONTROL] = (0xffff << DPORT_SHIFT) | (this.blk[(slot * WORDS) + DPORT_NCONTROL]! & NCONTROL_MASK);
      this.counters.templatesInvalidated++;
    }
    return false;
  }

  // ------------------------------------------------------------------ creation

  private alloc(): number {
    const s = this.freeHead;
    if (s < 0) return -1;
    this.freeHead = this.blk[(s * WORDS) + NEXT]!;
    return s;
  }

  private initClock(now: number): void {
    if (!this.clockSet) {
      this.cursor = (Math.floor(now / this.tickMs) - 1) | 0;
      this.clockSet = true;
    }
  }

  /**
   * Create a connection entry bound to `dest` (null for bypass entries). The entry's flags
   * are `flags` | the destination's connection flags (its forwarding method, INACTIVE, and
   * NOOUTPUT for non-NAT methods). State 0, timeout 3 s until the first `packet()`.
   * `control` is the parent (persistence template or control connection), -1 for none;
   * a template parent's timer is restarted. Returns the slot, or -1 when the table is full.
   */
  create(
    proto: number,
    caddr: number,
    cport: number,
    vaddr: number,
    vport: number,
    daddr: number,
    dport: number,
    dest: Dest | null,
    flags: number,
    now: number,
    control = -1,
  ): number {
    const s = this.insert(proto, caddr, cport, vaddr, vport, daddr, dport, dest, flags & ~TEMPLATE, now);
    if (s < 0) return -1;
    if (control >= 0) {
      this.blk[(s * WORDS) + CONTROL] = control;
      this.addChild(control);
      if (this.blk[(control * WORDS) + META]! & TEMPLATE) this.rearm(control, now);
    }
    if (this.hooks.created) this.hooks.created(s);
    return s;
  }

  /**
   * Create a persistence template: key (proto, caddrMasked, 0, vaddr, vport) where `proto`
   * is 0 and `vaddr` the mark for fwmark services; `timeoutSec` is the service's
   * persistence timeout. Counted in the destination's persistConns.
   */
  createTemplate(
    proto: number,
    caddrMasked: number,
    vaddrOrFwmark: number,
    vport: number,
    daddr: number,
    dport: number,
    dest: Dest | null,
    timeoutSec: number,
    now: number,
  ): number {
    const s = this.insert(proto, caddrMasked, 0, vaddrOrFwmark, vport, daddr, dport, dest, TEMPLATE, now);
    if (s < 0) return -1;
    this.blk[(s * WORDS) + TIMEOUT] = Math.min(Math.floor(timeoutSec * 1000), 0x7fffffff);
    this.rearm(s, now);
    if (this.hooks.created) this.hooks.created(s);
    return s;
  }

  private insert(
    proto: number,
    caddr: number,
    cport: number,
    vaddr: number,
    vport: number,
    daddr: number,
    dport: number,
    dest: Dest | null,
    flags: number,
    now: number,
  ): number {
    const s = this.alloc();
    if (s < 0) {
      this.counters.refused++;
      return -1;
    }
    this.initClock(now);
    let f = flags & FLAGS_MASK & ~HASHED;
    // DEST word: no destination, the forwarder of the method in the flags (bypass)
    let destWord = (f & FWD_MASK) << XMIT_SHIFT;
    if (dest !== null) {
      const id = dest.id >= 0 && this.registry.get(dest.id) === dest ? dest.id : this.registry.register(dest);
      if (id > MAX_DEST_ID) throw new RangeError(`destination id ${id} beyond ${MAX_DEST_ID}`);
      const fwd = dest.fwd & FWD_MASK;
      // the kernel's dest->conn_flags: the method, its reply rules, INACTIVE
      let destFlags = METHOD_CONN_FLAGS[fwd]!;
      if (f & SYNC) {
        // a synced connection keeps its activity bit; the method comes from the destination
        if ((f & TEMPLATE) === 0) destFlags &= ~INACTIVE;
        f &= ~(FWD_MASK | NOOUTPUT | REPLY_FROM_DEST);
      }
      f |= destFlags;
      destWord = ((dest.xmit >= 0 ? dest.xmit : fwd) << XMIT_SHIFT) | (id + 1);
    }
    this.blk[(s * WORDS) + CADDR] = caddr | 0;
    this.blk[(s * WORDS) + VADDR] = vaddr | 0;
    this.blk[(s * WORDS) + PORTS] = ((cport & 0xffff) << 16) | (vport & 0xffff);
    this.blk[(s * WORDS) + META] = f | LIVE | ((proto & 0xff) << PROTO_SHIFT);
    this.blk[(s * WORDS) + DADDR] = daddr | 0;
    this.blk[(s * WORDS) + DEST] = destWord;
    this.blk[(s * WORDS) + TIMEOUT] = INITIAL_TIMEOUT * 1000;
    this.blk[(s * WORDS) + CONTROL] = -1;
    this.blk[(s * WORDS) + DPORT_NCONTROL] = (dport & 0xffff) << DPORT_SHIFT;
    this.blk[(s * WORDS) + INPKTS] = 0;
    this.oldState_[s] = 0;
    this.wnext_[s] = -1;
    this.wprev_[s] = -1;
    this.blk[(s * WORDS) + NEXT] = -1;
    if (f & NO_CPORT) this.noCportCount++;
    if ((f & ONE_PACKET) === 0) this.hashIn(s);
    this.count++;
    this.counters.inserts++;
    if (dest !== null) this.bind(dest, f);
    this.blk[(s * WORDS) + EXPIRES] = this.expiryTick(now, this.blk[(s * WORDS) + TIMEOUT]!);
    this.wheelLink(s);
    return s;
  }

  /** Fill in the client port of a NO_CPORT entry (FTP passive data) and re-hash it. */
  fillCport(slot: number, cport: number): void {
    const m = this.blk[(slot * WORDS) + META]!;
    if ((m & NO_CPORT) === 0) return;
    const hashed = (m & HASHED) !== 0;
    if (hashed) this.unhash(slot);
    this.blk[(slot * WORDS) + PORTS] = ((cport & 0xffff) << 16) | (this.blk[(slot * WORDS) + PORTS]! & 0xffff);
    this.blk[(slot * WORDS) + META] = this.blk[(slot * WORDS) + META]! & ~NO_CPORT;
    this.noCportCount--;
    if (hashed) this.hashIn(slot);
  }

  // ------------------------------------------------------------------ counters

  private bind(dest: Dest, f: number): void {
    dest.refCount++;
    if (f & TEMPLATE) {
      dest.persistConns++;
      if (this.options.kernel === 'classic') this.overloadAfterBind(dest);
      return;
    }
    if (f & INACTIVE) dest.inactConns++;
    else dest.activeConns++;
    if (this.options.kernel === 'classic') {
      this.overloadAfterBind(dest);
    } else if (dest.uThreshold !== 0 && dest.activeConns + dest.inactConns === dest.uThreshold) {
      dest.flags |= DestFlag.OVERLOAD;
    }
  }

  private overloadAfterBind(dest: Dest): void {
    if (dest.uThreshold !== 0 && dest.activeConns + dest.inactConns >= dest.uThreshold) {
      dest.flags |= DestFlag.OVERLOAD;
    }
  }

  private unbind(dest: Dest, f: number): void {
    if (f & TEMPLATE) {
      dest.persistConns--;
    } else if (f & INACTIVE) {
      dest.inactConns--;
    } else {
      dest.activeConns--;
    }
    const total = dest.activeConns + dest.inactConns;
    if (this.options.kernel === 'classic') {
      if (dest.lThreshold !== 0) {
        if (total < dest.lThreshold) dest.flags &= ~DestFlag.OVERLOAD;
      } else if (dest.uThreshold !== 0) {
        if (total * 4 < dest.uThreshold * 3) dest.flags &= ~DestFlag.OVERLOAD;
      } else {
        dest.flags &= ~DestFlag.OVERLOAD;
      }
    } else if ((f & TEMPLATE) === 0) {
      const u = dest.uThreshold;
      const low = dest.lThreshold !== 0 ? dest.lThreshold : u - (u >>> 2);
      if (total === low - 1) dest.flags &= ~DestFlag.OVERLOAD;
    }
    dest.refCount--;
  }

  // ------------------------------------------------------------------ packets

  /**
   * Account one packet of an entry: the state transition (TCP: `event` is the flags byte;
   * SCTP: the SctpEvent of its chunks, `sctpEvent()`; other protocols have one state and
   * ignore it), counters, ASSURED marking of the parent template, then the timer restart
   * with the (possibly new) state's timeout. `output` = server -> client. Returns the new
   * state.
   */
  packet(slot: number, output: boolean, event: number, now: number): number {
    const blk = this.blk;
    const o = slot * WORDS;
    let m = blk[o + META]!;
    const proto = m >>> PROTO_SHIFT;
    let timeout: number;
    if (proto === P_TCP || proto === P_SCTP) {
      const state = (m >>> STATE_SHIFT) & STATE_MASK;
      let dir: number = output ? DIR_OUTPUT : DIR_INPUT;
      if (m & NOOUTPUT) {
        if (output) m &= ~NOOUTPUT;
        else dir = DIR_INPUT_ONLY;
      }
      let next: number;
      let established: number;
      if (proto === P_TCP) {
        const ev = tcpEvent(event);
        next = ev < 0 ? ST_CLOSE : this.tcpNext[(dir * 4 + ev) * TCP_STATE_COUNT + state]!;
        established = ST_ESTABLISHED;
      } else {
        // the kernel's set_sctp_state (SctpDir numbers the directions as TcpDir does)
        next = SCTP_NEXT[(dir * SCTP_EVENTS + (event < SCTP_EVENTS ? event : 0)) * SCTP_STATE_COUNT + state]!;
        established = SCTP_ESTABLISHED;
      }
      if (next !== state) {
        const id = idOf(blk[o + DEST]!);
        if (id >= 0) {
          const dest = this.registry.get(id);
          if (dest !== null) {
            // ESTABLISHED is the only active state of both protocols' tables
            const active = proto === P_TCP ? tcpStateActive(next) : next === established;
            if ((m & INACTIVE) === 0 && !active) {
              dest.activeConns--;
              dest.inactConns++;
              m |= INACTIVE;
            } else if ((m & INACTIVE) !== 0 && active) {
              dest.activeConns++;
              dest.inactConns--;
              m &= ~INACTIVE;
            }
          }
        }
        m = (m & ~(STATE_MASK << STATE_SHIFT)) | (next << STATE_SHIFT);
        blk[o + META] = m;
        if (next === established) this.assure(blk[o + CONTROL]!);
        if (this.hooks.stateChanged) this.hooks.stateChanged(slot, state);
      } else {
        blk[o + META] = m;
      }
      timeout = proto === P_TCP ? this.tcpTimeouts[next]! : this.sctpTimeouts[next]!;
    } else {
      if (output) this.assure(blk[o + CONTROL]!);
      timeout = this.udpTimeout;
    }
    if (!output) blk[o + INPKTS] = (blk[o + INPKTS]! + 1) | 0;
    blk[o + TIMEOUT] = timeout;
    this.restart(slot, now, timeout);
    return (blk[o + META]! >>> STATE_SHIFT) & STATE_MASK;
  }

  /**
   * Put a TCP or SCTP entry in `state` as a transition would (counters, INACTIVE bit,
   * timeout, timer restart): for connections received by sync and for tests. Templates: 0 or 1.
   */
  setState(slot: number, state: number, now: number): void {
    let m = this.blk[(slot * WORDS) + META]!;
    const prev = (m >>> STATE_SHIFT) & STATE_MASK;
    if (m & TEMPLATE) {
      this.blk[(slot * WORDS) + META] = (m & ~(STATE_MASK << STATE_SHIFT)) | ((state & 1) << STATE_SHIFT);
      return;
    }
    const proto = m >>> PROTO_SHIFT;
    if (proto !== P_TCP && proto !== P_SCTP) return;
    if (state !== prev) {
      const dest = this.dest(slot);
      const active = proto === P_TCP ? tcpStateActive(state) : state === SCTP_ESTABLISHED;
      if ((m & INACTIVE) === 0 && !active) {
        if (dest) {
          dest.activeConns--;
          dest.inactConns++;
        }
        m |= INACTIVE;
      } else if ((m & INACTIVE) !== 0 && active) {
        if (dest) {
          dest.activeConns++;
          dest.inactConns--;
        }
        m &= ~INACTIVE;
      }
      this.blk[(slot * WORDS) + META] = (m & ~(STATE_MASK << STATE_SHIFT)) | (state << STATE_SHIFT);
    }
    this.blk[(slot * WORDS) + TIMEOUT] = proto === P_TCP ? this.tcpTimeouts[state]! : this.sctpTimeouts[state]!;
    this.restart(slot, now, this.blk[(slot * WORDS) + TIMEOUT]!);
  }

  /** Give an entry a timeout (ms) and restart its timer with it: entries received by sync. */
  setTimeout(slot: number, timeoutMs: number, now: number): void {
    this.blk[(slot * WORDS) + TIMEOUT] = Math.min(Math.max(0, Math.floor(timeoutMs)), 0x7fffffff);
    this.restart(slot, now, this.blk[(slot * WORDS) + TIMEOUT]!);
  }

  /**
   * Set an entry's count of incoming packets (the kernel's in_pkts): an entry a sync record
   * creates or refreshes gets the backup's sync_threshold.
   */
  setInPkts(slot: number, n: number): void {
    this.blk[(slot * WORDS) + INPKTS] = n | 0;
  }

  /**
   * The state connection sync last recorded for an entry (the kernel's old_state): the
   * master's when it sends the entry, a record's when a backup applies one; 0 for a new entry.
   */
  oldState(slot: number): number {
    return this.oldState_[slot]!;
  }

  setOldState(slot: number, state: number): void {
    this.oldState_[slot] = state;
  }

  /** Clear the SYNC flag: a synced entry this director now forwards becomes its own. */
  clearSync(slot: number): void {
    this.blk[(slot * WORDS) + META] = this.blk[(slot * WORDS) + META]! & ~SYNC;
  }

  /** Restart an entry's timer with its current timeout (e.g. a template reused). */
  touch(slot: number, now: number): void {
    this.rearm(slot, now);
  }

  private assure(parent: number): void {
    if (parent < 0) return;
    const m = this.blk[(parent * WORDS) + META]!;
    if ((m & TEMPLATE) !== 0 && ((m >>> STATE_SHIFT) & STATE_MASK) === TemplateState.NONE) {
      this.blk[(parent * WORDS) + META] = m | (TemplateState.ASSURED << STATE_SHIFT);
      if (this.hooks.stateChanged) this.hooks.stateChanged(parent, TemplateState.NONE);
    }
  }

  // ------------------------------------------------------------------ timer wheel

  private expiryTick(now: number, timeoutMs: number): number {
    // a batch's packets share one clock reading and mostly one timeout: the last answer
    // again, without the division
    if (now === this.expiryNow && timeoutMs === this.expiryTimeout) return this.expiryLast;
    const e = Math.ceil((now + timeoutMs) / this.tickMs) | 0;
    this.expiryNow = now;
    this.expiryTimeout = timeoutMs;
    this.expiryLast = e;
    return e;
  }
  /** `expiryTick`'s last question and answer */
  private expiryNow = Number.NaN;
  private expiryTimeout = -1;
  private expiryLast = 0;

  private rearm(slot: number, now: number): void {
    this.restart(slot, now, this.blk[(slot * WORDS) + TIMEOUT]!);
  }

  /**
   * (Re)arm an entry's timer, as the kernel's mod_timer: an entry whose expiry tick does
   * not change keeps its place; one due earlier moves to the head of its new wheel slot;
   * one due later (every packet of a busy connection) only gets its new expiry tick and
   * the LATER mark, and stays where it is until the walk of the wheel meets it there,
   * before it is due, and moves it (`moveLater`). Each slot's list is thus ordered by arm
   * time, most recent first, among the entries due at the same tick, and `tick` fires them
   * in that order: of the entries due at the same instant, the most recently armed goes
   * first, as in the kernel's timer wheel. A packet of an established connection then
   * writes its own block only, not its wheel neighbours'.
   */
  private restart(slot: number, now: number, timeoutMs: number): void {
    this.initClock(now);
    const exp = this.expiryTick(now, timeoutMs);
    const o = slot * WORDS;
    const cur = this.blk[o + EXPIRES]!;
    if (exp === cur) return;
    this.blk[o + EXPIRES] = exp;
    if (((exp - cur) | 0) > 0) {
      this.blk[o + META] = this.blk[o + META]! | LATER;
      return;
    }
    this.requeue(slot);
  }

  /** Unlink an entry from the wheel and link it at the head of its expiry's slot, unmarked. */
  private requeue(slot: number): void {
    this.blk[(slot * WORDS) + META] = this.blk[(slot * WORDS) + META]! & ~LATER;
    this.wheelUnlink(slot);
    this.wheelLink(slot);
  }

  /**
   * Move an entry marked LATER from where it waits to the wheel slot of its expiry tick
   * (not yet due: after the cursor), at the place its arm time gives it among the
   * entries due at the same tick. Those are in the list most recently armed first, and
   * for two entries due at the same tick the one armed later has the shorter timeout (to
   * the tick): it goes before the first of them whose timeout is longer than its own.
   * Entries armed in the same tick with the same timeout (their order of arming is not
   * recorded) keep the order in which they are moved, after those already there.
   *
   * The place is found by a walk of the slot's list for the first entry of its group (due
   * at that tick with that timeout) moved there; the next ones go right after the last one
   * moved (`groupEnd`). So a burst of moves costs one walk per group, not one per entry,
   * however the groups alternate: a client that re-arms its connections so that entries
   * of two timeouts, due at one tick, are moved in turn cannot make the walks quadratic.
   */
  private moveLater(slot: number): void {
    const blk = this.blk;
    const o = slot * WORDS;
    blk[o + META] = blk[o + META]! & ~LATER;
    this.wheelUnlink(slot);
    const exp = blk[o + EXPIRES]!;
    const to = blk[o + TIMEOUT]!;
    const w = exp & this.wheelMask;
    const key = this.groupKey(exp, to);
    const last = this.groupEnd.get(key) ?? -1;
    let prev = -1;
    let j: number;
    if (
      last >= 0 &&
      last !== slot &&
      blk[(last * WORDS) + EXPIRES] === exp &&
      blk[(last * WORDS) + TIMEOUT] === to &&
      (blk[(last * WORDS) + META]! & (LIVE | LATER)) === LIVE
    ) {
      // still where it was put: in slot w, after every entry due then with a timeout not
      // longer than its own, before those with a longer one
      prev = last;
      j = this.wnext_[last]!;
    } else {
      j = this.wheel_[w]!;
      while (j >= 0) {
        if (blk[(j * WORDS) + EXPIRES] === exp && blk[(j * WORDS) + TIMEOUT]! > to) break;
        this.walkSteps++;
        prev = j;
        j = this.wnext_[j]!;
      }
      if (this.groupEnd.size >= GROUP_HINTS) this.groupEnd.clear();
    }
    this.groupEnd.set(key, slot);
    this.wnext_[slot] = j;
    if (j >= 0) this.wprev_[j] = slot;
    if (prev >= 0) {
      this.wnext_[prev] = slot;
      this.wprev_[slot] = prev;
    } else {
      this.wheel_[w] = slot;
      this.wprev_[slot] = -1 - w;
    }
  }

  /** A number for the group of entries due at tick `exp` with timeout `to` (exact: no two groups share one). */
  private groupKey(exp: number, to: number): number {
    let id = this.timeoutIds.get(to);
    if (id === undefined) {
      if (this.timeoutIds.size >= GROUP_HINTS) {
        this.timeoutIds.clear();
        this.groupEnd.clear();
      }
      id = this.timeoutIds.size;
      this.timeoutIds.set(to, id);
    }
    // below 2^53: the tick as 32 bits, the timeout's number above them
    return id * 0x100000000 + (exp >>> 0);
  }

  /**
   * Move every entry marked LATER to the wheel slot of its expiry (before a jump of the
   * clock past ticks that the walk does not visit one by one).
   */
  private settleLater(): void {
    const later: number[] = [];
    for (let w = 0; w <= this.wheelMask; w++) {
      for (let i = this.wheel_[w]!; i >= 0; i = this.wnext_[i]!) {
        if ((this.blk[(i * WORDS) + META]! & LATER) !== 0) later.push(i);
      }
    }
    for (const i of later) {
      if (((this.blk[(i * WORDS) + EXPIRES]! - this.cursor) | 0) <= 0) {
        // due already: where the walk goes next
        this.requeue(i);
      } else {
        this.moveLater(i);
      }
    }
  }

  /**
   * Link an entry at the head of the wheel slot of its expiry tick. Every entry due at
   * one tick is thus in one slot, whatever the lap; an entry already due (expiry at or
   * before the tick being processed) goes to the next tick's slot, as an overdue kernel
   * timer fires at the next tick.
   */
  private wheelLink(slot: number): void {
    const exp = this.blk[(slot * WORDS) + EXPIRES]!;
    const w = ((exp - this.cursor) | 0) <= 0 ? (this.cursor + 1) & this.wheelMask : exp & this.wheelMask;
    const h = this.wheel_[w]!;
    this.wnext_[slot] = h;
    this.wprev_[slot] = -1 - w; // negative: head of wheel slot w
    if (h >= 0) this.wprev_[h] = slot;
    this.wheel_[w] = slot;
  }

  private wheelUnlink(slot: number): void {
    const n = this.wnext_[slot]!;
    const p = this.wprev_[slot]!;
    if (slot === this.walkNext) this.walkNext = n;
    if (p >= 0) this.wnext_[p] = n;
    else this.wheel_[-1 - p] = n;
    if (n >= 0) this.wprev_[n] = p;
    this.wnext_[slot] = -1;
    this.wprev_[slot] = -1;
  }

  /**
   * The first tick after the cursor at which some entry is due (the cursor + 1 when an
   * entry is overdue), or `limit` when none is due before it: lets a clock jump of more
   * than one lap of the wheel skip the ticks where nothing fires.
   */
  private nextDueTick(limit: number): number {
    let best = (limit - this.cursor) | 0;
    for (let w = 0; w <= this.wheelMask; w++) {
      for (let i = this.wheel_[w]!; i >= 0; i = this.wnext_[i]!) {
        const d = (this.blk[(i * WORDS) + EXPIRES]! - this.cursor) | 0;
        if (d < best) {
          if (d <= 1) return (this.cursor + 1) | 0;
          best = d;
        }
      }
    }
    return (this.cursor + best) | 0;
  }

  /**
   * Advance the clock to `now`: expire every entry whose timer ran out, tick by tick in
   * time order and, within a tick, the most recently armed first (entries still
   * controlling children get 60 s more, counted from their own expiry tick), update the
   * defence level once per second and run the drop_entry scan while it is on. Returns the
   * number of entries removed.
   */
  tick(now: number): number {
    this.initClock(now);
    const nowTick = Math.floor(now / this.tickMs) | 0;
    const nowBase = Math.floor(now / this.tickMs) * this.tickMs;
    const lap = this.wheelMask + 1;
    let removed = 0;
    let visited = 0;
    // one tick at a time, in order, so that entries fire by their exact instant; the
    // cursor is the tick being processed (an entry re-armed meanwhile links after it)
    while (((nowTick - this.cursor) | 0) > 0) {
      if (visited >= lap && ((nowTick - this.cursor) | 0) > lap) {
        // a clock jump of more than a lap: skip to the next tick where something is due
        visited = 0;
        this.settleLater();
        this.cursor = (this.nextDueTick(nowTick) - 1) | 0;
        continue;
      }
      const t = (this.cursor + 1) | 0;
      this.cursor = t;
      visited++;
      // the instant of tick t: the entries due there fire then, and a template kept for
      // its children is re-armed from it, not from `now`
      const at = Math.min(now, nowBase - ((nowTick - t) | 0) * this.tickMs);
      // the slot's list is in arm order, most recent first: fire in that order
      let i = this.wheel_[t & this.wheelMask]!;
      while (i >= 0) {
        this.walkNext = this.wnext_[i]!;
        if (((this.blk[(i * WORDS) + EXPIRES]! - t) | 0) <= 0) {
          if (this.expireEntry(i, at, ExpireReason.TIMEOUT)) removed++;
        } else if ((this.blk[(i * WORDS) + META]! & LATER) !== 0) {
          this.moveLater(i);
        }
        i = this.walkNext;
      }
      this.walkNext = -1;
    }
    if (now - this.lastDefenseMs >= 1000) {
      this.lastDefenseMs = now;
      removed += this.defense(now);
    }
    return removed;
  }

  // ------------------------------------------------------------------ expiry

  /**
   * The kernel's expiry of one entry. An entry that still controls children is kept and
   * re-armed with a 60 s timeout (permanently); otherwise it is unlinked, its destination
   * counters released, its parent's n_control decremented, and the slot freed.
   * Returns true when the entry was removed.
   */
  private expireEntry(slot: number, now: number, reason: number): boolean {
    if (this.nControl(slot) > 0) {
      this.blk[(slot * WORDS) + TIMEOUT] = CONTROL_REARM_TIMEOUT * 1000;
      this.blk[(slot * WORDS) + EXPIRES] = this.expiryTick(now, CONTROL_REARM_TIMEOUT * 1000);
      this.requeue(slot);
      this.counters.rearmed++;
      return false;
    }
    const m = this.blk[(slot * WORDS) + META]!;
    if (this.hooks.expired) this.hooks.expired(slot, reason);
    this.unhash(slot);
    this.wheelUnlink(slot);
    if (m & NO_CPORT) this.noCportCount--;
    const id = idOf(this.blk[(slot * WORDS) + DEST]!);
    if (id >= 0) {
      const dest = this.registry.get(id);
      if (dest !== null) this.unbind(dest, m);
    }
    const parent = this.blk[(slot * WORDS) + CONTROL]!;
    this.blk[(slot * WORDS) + META] = 0;
    this.blk[(slot * WORDS) + DEST] = 0;
    this.blk[(slot * WORDS) + CONTROL] = -1;
    this.blk[(slot * WORDS) + NEXT] = this.freeHead;
    this.freeHead = slot;
    this.count--;
    // the three counters on every call (each by 0 or 1): the first expiry of a reason not
    // met before (the first timeout, seconds into traffic, after port reuse's FORCED ones)
    // finds type feedback at every site instead of deoptimising the code that runs it
    const c = this.counters;
    c.expired += reason === ExpireReason.TIMEOUT ? 1 : 0;
    c.forced += reason === ExpireReason.FORCED ? 1 : 0;
    c.dropped += reason === ExpireReason.DROPPED ? 1 : 0;
    if (parent >= 0) {
      const left = this.dropChild(parent);
      if (reason === ExpireReason.DROPPED && left === 0) {
        // an unused parent goes too: a control connection, or a template never assured
        const pm = this.blk[(parent * WORDS) + META]!;
        if ((pm & TEMPLATE) === 0 || ((pm >>> STATE_SHIFT) & STATE_MASK) !== TemplateState.ASSURED) {
          this.expireEntry(parent, now, reason);
        }
      }
    }
    return true;
  }

  /**
   * Expire an entry now (the kernel's expire_now): removed unless it still controls
   * children, in which case it is re-armed for 60 s. Returns true when removed.
   */
  expire(slot: number, now: number): boolean {
    if (!this.isLive(slot)) return false;
    this.initClock(now);
    return this.expireEntry(slot, now, ExpireReason.FORCED);
  }

  /** True when `slot` holds a live entry. */
  isLive(slot: number): boolean {
    return slot >= 0 && slot < this.capacity && (this.blk[(slot * WORDS) + META]! & LIVE) !== 0;
  }

  // ------------------------------------------------------------------ kernel rules

  /**
   * Port reuse (3.7): call when a packet that may start a connection (a TCP segment with
   * SYN set, an SCTP packet whose first chunk is INIT) hits `slot`. Returns true when the
   * engine must schedule the packet as new; the old entry has then been expired (unless it
   * still controls children, which keeps it alive). As the kernel's (since its fix of
   * reuse with weight-0 servers): an entry with a controller (persistence, FTP data) is
   * never rescheduled; expire_nodest_conn with the destination at weight 0 reschedules
   * whatever conn_reuse_mode says; the state rules need conn_reuse_mode non-zero.
   */
  reuse(slot: number, now: number): boolean {
    if (this.blk[(slot * WORDS) + CONTROL]! >= 0) return false;
    const mode = this.options.connReuseMode;
    const m = this.blk[(slot * WORDS) + META]!;
    let resched = false;
    const id = idOf(this.blk[(slot * WORDS) + DEST]!);
    const dest = id >= 0 ? this.registry.get(id) : null;
    if (this.options.expireNodestConn && dest !== null && dest.weight === 0) {
      resched = true;
    } else if (mode !== 0) {
      const proto = m >>> PROTO_SHIFT;
      const state = (m >>> STATE_SHIFT) & STATE_MASK;
      if (proto === P_TCP) {
        // TIME_WAIT and CLOSE; FIN_WAIT too in mode 2 when no reply was seen. A set of
        // states tested with one shift: every comparison runs on every reuse, so none is
        // first met (a deoptimisation of the inlined path) when a SYN first finds another state
        let states = TCP_REUSE_STATES;
        if ((mode & 2) !== 0 && (m & NOOUTPUT) !== 0) states |= 1 << TcpState.FIN_WAIT;
        resched = ((states >>> state) & 1) !== 0;
      } else if (proto === P_SCTP) {
        resched = state === SctpState.CLOSED;
      }
    }
    if (!resched) return false;
    this.counters.reused++;
    if (this.nControl(slot) === 0) this.expire(slot, now);
    return true;
  }

  /**
   * Destination availability for a packet of an existing entry (3.8): OK, DROP (the
   * destination was removed; the entry lives on) or EXPIRED (expire_nodest_conn: the
   * entry was expired, handle the packet as if there were none).
   */
  checkDest(slot: number, now: number): number {
    const id = idOf(this.blk[(slot * WORDS) + DEST]!);
    if (id < 0) return DestCheck.OK;
    const dest = this.registry.get(id);
    if (dest === null || (dest.flags & AVAILABLE) !== 0) return DestCheck.OK;
    if (!this.options.expireNodestConn) return DestCheck.DROP;
    this.expire(slot, now);
    return DestCheck.EXPIRED;
  }

  /**
   * The expire_nodest_conn background flush: remove every entry whose destination is no
   * longer available (entries still controlling children are skipped; a parent left
   * without children goes too). Returns the number removed.
   */
  expireNodest(now: number): number {
    this.initClock(now);
    let n = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (!this.isLive(s)) continue;
      const id = idOf(this.blk[(s * WORDS) + DEST]!);
      const dest = id >= 0 ? this.registry.get(id) : null;
      if (dest === null || (dest.flags & AVAILABLE) !== 0) continue;
      if (this.nControl(s) > 0) continue;
      const parent = this.blk[(s * WORDS) + CONTROL]!;
      if (this.expireEntry(s, now, ExpireReason.FORCED)) n++;
      if (parent >= 0 && this.isLive(parent) && this.nControl(parent) === 0) {
        if (this.expireEntry(parent, now, ExpireReason.FORCED)) n++;
      }
    }
    return n;
  }

  private random(): number {
    // xorshift32, seeded: reproducible drop decisions
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x | 0;
    return x >>> 0;
  }

  /**
   * The once-a-second defence pass (the kernel's defense_work): update the defence level
   * from the free room, then, while drop_entry is on, one random scan of 1/32 of the
   * buckets. Returns the number of entries dropped.
   */
  defense(now: number): number {
    this.updateDefense();
    return this.defenseLevel.dropEntry ? this.randomDropEntry(now) : 0;
  }

  /**
   * Available memory as the defence sees it: the table's share that is free, in 4096-byte
   * pages (free slots times `bytesPerEntry`, the table's memory per entry).
   */
  availablePages(): number {
    return Math.floor((this.capacity - this.count) * this.pagesPerEntry);
  }

  /** Update the defence level now (update_defense_level); switches the TCP tables for secure_tcp. */
  updateDefense(): void {
    updateDefenseLevel(this.options, this.defenseLevel, this.availablePages());
    this.tcpNext = this.defenseLevel.secureTcp ? TCP_NEXT_SECURE : TCP_NEXT;
  }

  /**
   * Write defence settings (checked by the caller: @tunvs/model checkDefense) and update the
   * level at once, as a write of the kernel's sysctls does.
   */
  setDefense(d: Partial<DefenseSettings>): void {
    for (const k of Object.keys(d) as (keyof DefenseSettings)[]) {
      const v = d[k];
      if (v !== undefined) this.options[k] = v;
    }
    this.updateDefense();
  }

  /** The defence settings (modes as they stand after the last update). */
  getDefense(): DefenseSettings {
    const o = this.options;
    return { dropEntry: o.dropEntry, dropPacket: o.dropPacket, secureTcp: o.secureTcp, amemthresh: o.amemthresh, amDroprate: o.amDroprate };
  }

  /** drop_packet: true when this new connection is to be dropped before scheduling (ip_vs_todrop). */
  dropNewConnection(): boolean {
    return this.defenseLevel.dropRate !== 0 && dropThisPacket(this.defenseLevel);
  }

  /** One random drop_entry scan of 1/32 of the buckets (seeded RNG). */
  randomDropEntry(now: number): number {
    this.initClock(now);
    const nowTick = Math.floor(now / this.tickMs) | 0;
    const scans = Math.max(1, this.bucketCount >>> 5);
    let dropped = 0;
    for (let k = 0; k < scans; k++) {
      let i = this.blk[this.headBase + (this.random() & this.bucketMask)]!;
      while (i >= 0) {
        const next = this.blk[(i * WORDS) + NEXT]!;
        if (this.dropCandidate(i, nowTick)) {
          const before = this.count;
          this.expireEntry(i, now, ExpireReason.DROPPED);
          dropped += before - this.count;
          // the chain may have lost `next` (a dropped parent in the same bucket): restart
          if (!this.isLive(next)) break;
        }
        i = next;
      }
    }
    return dropped;
  }

  private dropCandidate(slot: number, nowTick: number): boolean {
    if (this.nControl(slot) > 0) return false;
    const m = this.blk[(slot * WORDS) + META]!;
    const state = (m >>> STATE_SHIFT) & STATE_MASK;
    if (m & TEMPLATE) return state !== TemplateState.ASSURED;
    const proto = m >>> PROTO_SHIFT;
    if (proto === P_TCP) {
      if (state === TcpState.SYN_RECV || state === TcpState.SYNACK) return true;
      if (state === ST_ESTABLISHED) return this.todrop(slot, nowTick);
      return false;
    }
    return this.todrop(slot, nowTick);
  }

  private todrop(slot: number, nowTick: number): boolean {
    // not before 60 s after the last packet
    const last = (this.blk[(slot * WORDS) + EXPIRES]! - Math.ceil(this.blk[(slot * WORDS) + TIMEOUT]! / this.tickMs)) | 0;
    if (((nowTick - last) | 0) < Math.floor(60000 / this.tickMs)) return false;
    const i = this.blk[(slot * WORDS) + INPKTS]!;
    if (i < 1 || i > 8) return false;
    const c = i - 1;
    if (--this.dropCounters[c]! > 0) return false;
    this.dropCounters[c] = i;
    return true;
  }

  // ------------------------------------------------------------------ getters

  /** Protocol number (0 for fwmark templates). */
  proto(slot: number): number {
    return this.blk[(slot * WORDS) + META]! >>> PROTO_SHIFT;
  }
  /** State number (TcpState for TCP, SctpState for SCTP, 0 for UDP, TemplateState for templates). */
  state(slot: number): number {
    return (this.blk[(slot * WORDS) + META]! >>> STATE_SHIFT) & STATE_MASK;
  }
  /** ConnFlag bits. */
  flags(slot: number): number {
    return this.blk[(slot * WORDS) + META]! & FLAGS_MASK;
  }
  /** Forwarding method (Fwd.*). */
  fwd(slot: number): number {
    return this.blk[(slot * WORDS) + META]! & ConnFlag.FWD_MASK;
  }
  /** True for persistence templates. */
  isTemplate(slot: number): boolean {
    return (this.blk[(slot * WORDS) + META]! & TEMPLATE) !== 0;
  }
  /** Client address. */
  caddr(slot: number): number {
    return this.blk[(slot * WORDS) + CADDR]! >>> 0;
  }
  /** Client port. */
  cport(slot: number): number {
    return this.blk[(slot * WORDS) + PORTS]! >>> 16;
  }
  /** Virtual address (the mark for fwmark templates). */
  vaddr(slot: number): number {
    return this.blk[(slot * WORDS) + VADDR]! >>> 0;
  }
  /** Virtual port. */
  vport(slot: number): number {
    return this.blk[(slot * WORDS) + PORTS]! & 0xffff;
  }
  /** Real server address. */
  daddr(slot: number): number {
    return this.blk[(slot * WORDS) + DADDR]! >>> 0;
  }
  /** Real server port. */
  dport(slot: number): number {
    return this.blk[(slot * WORDS) + DPORT_NCONTROL]! >>> DPORT_SHIFT;
  }
  /** Destination id in the registry, -1 for none. */
  destId(slot: number): number {
    return idOf(this.blk[(slot * WORDS) + DEST]!);
  }
  /**
   * The forwarder bound to the connection when it was created: an index into the engine's
   * forwarder table (the destination's `xmit`, or its method's own forwarder).
   */
  xmit(slot: number): number {
    return this.blk[(slot * WORDS) + DEST]! >>> XMIT_SHIFT;
  }
  /** The destination object, or null. */
  dest(slot: number): Dest | null {
    const id = idOf(this.blk[(slot * WORDS) + DEST]!);
    return id >= 0 ? this.registry.get(id) : null;
  }
  /** Parent slot (template or control connection), -1 for none. */
  control(slot: number): number {
    return this.blk[(slot * WORDS) + CONTROL]!;
  }
  /** Number of children this entry controls. */
  nControl(slot: number): number {
    const n = this.blk[(slot * WORDS) + DPORT_NCONTROL]! & NCONTROL_MASK;
    return n === NCONTROL_MASK ? n + (this.nControlAside.get(slot) ?? 0) : n;
  }

  /** One more child of `parent` (the kernel's n_control++). */
  private addChild(parent: number): void {
    const o = (parent * WORDS) + DPORT_NCONTROL;
    const w = this.blk[o]!;
    if ((w & NCONTROL_MASK) === NCONTROL_MASK) this.nControlAside.set(parent, (this.nControlAside.get(parent) ?? 0) + 1);
    else this.blk[o] = w + 1;
  }

  /** One child of `parent` less; returns how many are left. */
  private dropChild(parent: number): number {
    const o = (parent * WORDS) + DPORT_NCONTROL;
    const w = this.blk[o]!;
    const aside = (w & NCONTROL_MASK) === NCONTROL_MASK ? (this.nControlAside.get(parent) ?? 0) : 0;
    if (aside > 1) this.nControlAside.set(parent, aside - 1);
    else if (aside === 1) this.nControlAside.delete(parent);
    else this.blk[o] = w - 1;
    return (w & NCONTROL_MASK) + aside - 1;
  }
  /** Current timeout in ms. */
  timeout(slot: number): number {
    return this.blk[(slot * WORDS) + TIMEOUT]!;
  }
  /** Incoming packets seen (for sync thresholds and drop_entry). */
  inPkts(slot: number): number {
    return this.blk[(slot * WORDS) + INPKTS]!;
  }
  /** Milliseconds until the entry expires (at the timer's resolution), >= 0. */
  remainingMs(slot: number, now: number): number {
    const nowTick = Math.floor(now / this.tickMs);
    const d = (this.blk[(slot * WORDS) + EXPIRES]! - (nowTick | 0)) | 0;
    return Math.max(0, d * this.tickMs - (now - nowTick * this.tickMs));
  }

  /** State name as ipvsadm prints it. */
  stateName(slot: number): string {
    const m = this.blk[(slot * WORDS) + META]!;
    const st = (m >>> STATE_SHIFT) & STATE_MASK;
    if (m & TEMPLATE) return TEMPLATE_STATE_NAMES[st] ?? 'ERR!';
    const p = m >>> PROTO_SHIFT;
    if (p === P_TCP) return TCP_STATE_NAMES[st] ?? 'ERR!';
    if (p === Proto.UDP) return 'UDP';
    if (p === P_SCTP) return SCTP_STATE_NAMES[st] ?? 'ERR!';
    return p === 0 ? 'NONE' : 'ERR!';
  }

  /** Every live entry as a plain object (control plane; allocates). */
  *entries(now: number): IterableIterator<ConnEntry> {
    for (let s = 0; s < this.capacity; s++) {
      if (!this.isLive(s)) continue;
      const m = this.blk[(s * WORDS) + META]!;
      const proto = m >>> PROTO_SHIFT;
      const template = (m & TEMPLATE) !== 0;
      yield {
        slot: s,
        protocol: proto,
        protocolName: protocolListing(proto),
        state: this.stateName(s),
        expires: Math.floor(this.remainingMs(s, now) / 1000),
        caddr: this.caddr(s),
        cport: this.cport(s),
        vaddr: this.vaddr(s),
        vport: this.vport(s),
        daddr: this.daddr(s),
        dport: this.dport(s),
        template,
        fwmark: template && proto === 0 ? this.vaddr(s) : 0,
        flags: m & FLAGS_MASK,
        destId: idOf(this.blk[(s * WORDS) + DEST]!),
        control: this.blk[(s * WORDS) + CONTROL]!,
        nControl: this.nControl(s),
        inPkts: this.blk[(s * WORDS) + INPKTS]!,
      };
    }
  }
}

/**
 * Apply a threshold edit to a destination (`ipvsadm -e -x U -y L`) with the OVERLOAD rule
 * of the chosen kernel: classic clears OVERLOAD when the new upper threshold is 0 or
 * larger than the old one (never sets it); 2026 re-evaluates against the current count.
 */
export function editThresholds(dest: Dest, upper: number, lower: number, mode: KernelMode = DEFAULT_KERNEL): void {
  if (mode === 'classic') {
    if (upper === 0 || upper > dest.uThreshold) dest.flags &= ~DestFlag.OVERLOAD;
    dest.uThreshold = upper;
    dest.lThreshold = lower;
    return;
  }
  const changed = upper !== dest.uThreshold || lower !== dest.lThreshold;
  dest.uThreshold = upper;
  dest.lThreshold = lower;
  if (!changed) return;
  const total = dest.activeConns + dest.inactConns;
  const low = lower !== 0 ? lower : upper - (upper >>> 2);
  if (upper === 0) dest.flags &= ~DestFlag.OVERLOAD;
  else if (total >= upper) dest.flags |= DestFlag.OVERLOAD;
  else if (total < low) dest.flags &= ~DestFlag.OVERLOAD;
}
