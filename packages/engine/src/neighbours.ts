/**
 * The neighbour (ARP) cache of a director on a TAP link: IPv4 address -> MAC, with
 * timeouts, and a bounded queue of packets waiting for resolution.
 *
 * MACs live in one Uint8Array (6 bytes a slot); the address -> slot index is a numeric
 * Map. Lookups are per packet, so they allocate nothing; learning and queueing (rare)
 * may.
 */

/** How long an entry is trusted after it was last confirmed by the neighbour. */
export const NEIGH_REACHABLE_MS = 30_000;
/** An entry not confirmed for this long is forgotten. */
export const NEIGH_STALE_MS = 300_000;
/** At most one ARP request per address per this interval. */
export const NEIGH_PROBE_INTERVAL_MS = 1_000;
/**
 * After an entry's address was set, other addresses announced for it are ignored this
 * long (Linux's neigh locktime, 1 s for ARP): of several back-to-back answers the first
 * one wins.
 */
export const NEIGH_LOCKTIME_MS = 1_000;
/** Unresolved packets kept per address (the kernel's unres_qlen is 101 packets / 212992 bytes). */
export const NEIGH_QUEUE_PER_ADDR = 64;
/** Bytes of unresolved packets kept in all. */
export const NEIGH_QUEUE_BYTES = 256 * 1024;

export interface NeighbourCounters {
  learned: number;
  /** existing entries given another address */
  changed: number;
  /** other addresses announced inside the locktime, ignored */
  locked: number;
  /** entries forgotten to make room (the least recently confirmed) */
  evicted: number;
  requestsSent: number;
  queued: number;
  /** packets dropped because the queue was full or resolution failed */
  queueDropped: number;
  expired: number;
}

interface Pending {
  pkts: Uint8Array[];
  firstQueued: number;
}

const NONE = -1;
/** Entries of the cache of recent lookups in front of the address index (a power of two). */
const RECENT = 256;

/** The recent-lookups entry of `addr`: its low bits mixed with the next byte's. */
function recentOf(addr: number): number {
  return (addr ^ (addr >>> 8)) & (RECENT - 1);
}

/**
 * Entries live in slots of typed arrays; a doubly linked list through the slots keeps them
 * in order of last confirmation (head: the oldest), so eviction and expiry take the head,
 * never scan.
 */
export class Neighbours {
  readonly macs: Uint8Array;
  /** `macs` as words (the Ethernet header of every frame sent copies a MAC from it) */
  readonly macWords: DataView;
  private readonly confirmed: Float64Array;
  /** when the entry's address was last set (the locktime runs from here) */
  private readonly updated: Float64Array;
  private readonly probed: Float64Array;
  /** when the packet path last sent a frame to the entry (`touch`) */
  private readonly used: Float64Array;
  private readonly addrs: Uint32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = NONE;
  private tail = NONE;
  private readonly index = new Map<number, number>();
  /**
   * A direct-mapped cache of recent lookups in front of `index` (the packet path asks for
   * the next hop of every frame, and a director has few): the address (exactly as asked:
   * the same equality as the Map's), and its slot or -1 for an empty entry. Only hits are
   * kept; `forget` clears the entry of the address it removes.
   */
  private readonly recentAddr = new Float64Array(RECENT);
  private readonly recentSlot = new Int32Array(RECENT).fill(NONE);
  private readonly free: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private pendingBytes = 0;
  readonly counters: NeighbourCounters = {
    learned: 0, changed: 0, locked: 0, evicted: 0, requestsSent: 0, queued: 0, queueDropped: 0, expired: 0,
  };

  constructor(readonly capacity = 4096) {
    this.macs = new Uint8Array(capacity * 6);
    this.macWords = new DataView(this.macs.buffer);
    this.confirmed = new Float64Array(capacity);
    this.updated = new Float64Array(capacity);
    this.probed = new Float64Array(capacity);
    this.used = new Float64Array(capacity);
    this.addrs = new Uint32Array(capacity);
    this.prev = new Int32Array(capacity).fill(NONE);
    this.next = new Int32Array(capacity).fill(NONE);
    for (let i = capacity - 1; i >= 0; i--) this.free.push(i);
  }

  /** Slot of `addr` (its MAC is at macs[slot*6]), or -1 when unknown. */
  lookup(addr: number): number {
    const h = recentOf(addr);
    const c = this.recentSlot[h]!;
    if (c !== NONE && this.recentAddr[h] === addr) return c;
    const s = this.index.get(addr);
    if (s === undefined) return NONE;
    this.recentAddr[h] = addr;
    this.recentSlot[h] = s;
    return s;
  }

  /** Entries in the cache. */
  get size(): number {
    return this.index.size;
  }

  /** Is a request of ours for `addr` unanswered (Linux: an INCOMPLETE entry)? */
  awaiting(addr: number): boolean {
    return this.probeTimes.has(addr);
  }

  /** The packet path sent a frame to entry `slot` at `now` (one store: `refreshes` reads it). */
  touch(slot: number, now: number): void {
    this.used[slot] = now;
  }

  /**
   * The addresses to probe again now (periodic upkeep): entries the packet path used in
   * the last NEIGH_PROBE_INTERVAL_MS, more than NEIGH_REACHABLE_MS after they were last
   * confirmed (Linux: a STALE entry in use goes to DELAY, then PROBE), and not probed in
   * the last NEIGH_PROBE_INTERVAL_MS: a probe a second while traffic goes to an
   * unconfirmed neighbour, none once it stops. Each is marked probed. The list is in order
   * of confirmation, so only the entries past NEIGH_REACHABLE_MS are visited.
   *
   * The probe is sent from the tick, not from the packet that found the entry stale: a
   * branch the packet path first takes 30 s into its life deoptimised the inlined path
   * there (V8's log: `needsProbe` and the request it sends), and twelve of its functions
   * were compiled again in the middle of traffic (100-200 ms of the director's CPU each
   * for the largest, by `--trace-opt`).
   */
  refreshes(now: number): number[] {
    const out: number[] = [];
    for (let s = this.head; s !== NONE && now - this.confirmed[s]! > NEIGH_REACHABLE_MS; s = this.next[s]!) {
      const used = this.used[s]!;
      if (used - this.confirmed[s]! > NEIGH_REACHABLE_MS && now - used <= NEIGH_PROBE_INTERVAL_MS && now - this.probed[s]! > NEIGH_PROBE_INTERVAL_MS) {
        this.probed[s] = now;
        out.push(this.addrs[s]!);
      }
    }
    return out;
  }

  /**
   * A new entry for `addr` (not in the cache) at the MAC in `src[off..off+6)`; when the
   * cache is full the least recently confirmed entry makes room. Returns the slot.
   */
  create(addr: number, src: Uint8Array, off: number, now: number): number {
    let s = this.free.pop();
    if (s === undefined) {
      s = this.head;
      this.forget(s);
      this.counters.evicted++;
      this.free.pop();
    }
    this.index.set(addr, s);
    this.addrs[s] = addr;
    this.macs.set(src.subarray(off, off + 6), s * 6);
    this.updated[s] = now;
    this.confirmed[s] = now;
    this.probed[s] = 0;
    this.used[s] = 0;
    this.append(s);
    this.counters.learned++;
    return s;
  }

  /**
   * The neighbour of entry `slot` spoke with the MAC in `src[off..off+6)`. The same MAC
   * confirms the entry. Another MAC replaces it when `override` (a request to us, a
   * gratuitous ARP) or the locktime has passed since the address was set; else it is
   * ignored (counted). Returns whether the entry now holds that MAC.
   */
  update(slot: number, src: Uint8Array, off: number, override: boolean, now: number): boolean {
    const m = slot * 6;
    const macs = this.macs;
    let same = true;
    for (let i = 0; i < 6; i++) if (macs[m + i] !== src[off + i]) same = false;
    if (!same) {
      if (!override && now - this.updated[slot]! < NEIGH_LOCKTIME_MS) {
        this.counters.locked++;
        return false;
      }
      macs.set(src.subarray(off, off + 6), m);
      this.updated[slot] = now;
      this.counters.changed++;
    }
    this.confirmed[slot] = now;
    this.unlink(slot);
    this.append(slot);
    return true;
  }

  private append(s: number): void {
    this.prev[s] = this.tail;
    this.next[s] = NONE;
    if (this.tail !== NONE) this.next[this.tail] = s;
    else this.head = s;
    this.tail = s;
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
    this.prev[s] = NONE;
    this.next[s] = NONE;
  }

  private forget(slot: number): void {
    this.unlink(slot);
    const addr = this.addrs[slot]!;
    this.index.delete(addr);
    const h = recentOf(addr);
    if (this.recentAddr[h] === addr) this.recentSlot[h] = NONE;
    this.free.push(slot);
  }

  /**
   * Queue a copy of a packet for `addr` until it resolves. Returns true when an ARP
   * request should be sent now (first packet, or the last request is a second old).
   */
  enqueue(addr: number, buf: Uint8Array, off: number, len: number, now: number): boolean {
    let p = this.pending.get(addr);
    if (!p) {
      p = { pkts: [], firstQueued: now };
      this.pending.set(addr, p);
    }
    if (p.pkts.length >= NEIGH_QUEUE_PER_ADDR || this.pendingBytes + len > NEIGH_QUEUE_BYTES) {
      this.counters.queueDropped++;
    } else {
      p.pkts.push(buf.slice(off, off + len));
      this.pendingBytes += len;
      this.counters.queued++;
    }
    const last = this.probeTimes.get(addr) ?? -Infinity;
    if (now - last >= NEIGH_PROBE_INTERVAL_MS) {
      this.probeTimes.set(addr, now);
      return true;
    }
    return false;
  }
  private readonly probeTimes = new Map<number, number>();

  /**
   * A request of ours for `addr` with nothing queued (a datagram the director originates,
   * e.g. a VRRP advertisement, is not kept): returns true when the request should go now
   * (none in the last second). The answer then creates the entry, as for a queued packet.
   */
  solicit(addr: number, now: number): boolean {
    const last = this.probeTimes.get(addr) ?? -Infinity;
    if (now - last < NEIGH_PROBE_INTERVAL_MS) return false;
    this.probeTimes.set(addr, now);
    return true;
  }

  /** Take the packets waiting for `addr` (now resolved). */
  takePending(addr: number): Uint8Array[] {
    const p = this.pending.get(addr);
    if (!p) return [];
    this.pending.delete(addr);
    this.probeTimes.delete(addr);
    for (const x of p.pkts) this.pendingBytes -= x.length;
    return p.pkts;
  }

  /** Addresses with packets waiting (for re-probing). */
  pendingAddrs(): number[] {
    return [...this.pending.keys()];
  }

  /** Periodic upkeep: drop stale entries and queues that waited over 3 s. */
  expire(now: number): void {
    // the list is in order of confirmation: the stale ones are at its head
    while (this.head !== NONE && now - this.confirmed[this.head]! > NEIGH_STALE_MS) {
      this.forget(this.head);
      this.counters.expired++;
    }
    for (const [addr, p] of this.pending) {
      if (now - p.firstQueued > 3_000) {
        this.counters.queueDropped += p.pkts.length;
        for (const x of p.pkts) this.pendingBytes -= x.length;
        this.pending.delete(addr);
        this.probeTimes.delete(addr);
      }
    }
    // requests with nothing queued (solicit) that went unanswered
    for (const [addr, t] of this.probeTimes) if (now - t > 3_000 && !this.pending.has(addr)) this.probeTimes.delete(addr);
  }

  /** Entries for listings: address, MAC string, age in ms. */
  entries(now: number): { addr: number; mac: string; ageMs: number }[] {
    const out: { addr: number; mac: string; ageMs: number }[] = [];
    for (const [addr, s] of this.index) {
      const m = [...this.macs.subarray(s * 6, s * 6 + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
      out.push({ addr, mac: m, ageMs: now - this.confirmed[s]! });
    }
    return out;
  }
}
