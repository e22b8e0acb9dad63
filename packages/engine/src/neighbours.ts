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
/** Unresolved packets kept per address (the kernel's unres_qlen is 101 packets / 212992 bytes). */
export const NEIGH_QUEUE_PER_ADDR = 64;
/** Bytes of unresolved packets kept in all. */
export const NEIGH_QUEUE_BYTES = 256 * 1024;

export interface NeighbourCounters {
  learned: number;
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

export class Neighbours {
  readonly macs: Uint8Array;
  private readonly confirmed: Float64Array;
  private readonly probed: Float64Array;
  private readonly addrs: Uint32Array;
  private readonly index = new Map<number, number>();
  private readonly free: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private pendingBytes = 0;
  readonly counters: NeighbourCounters = { learned: 0, requestsSent: 0, queued: 0, queueDropped: 0, expired: 0 };

  constructor(readonly capacity = 4096) {
    this.macs = new Uint8Array(capacity * 6);
    this.confirmed = new Float64Array(capacity);
    this.probed = new Float64Array(capacity);
    this.addrs = new Uint32Array(capacity);
    for (let i = capacity - 1; i >= 0; i--) this.free.push(i);
  }

  /** Slot of `addr` (its MAC is at macs[slot*6]), or -1 when unknown. */
  lookup(addr: number): number {
    const s = this.index.get(addr);
    return s === undefined ? -1 : s;
  }

  /** Does the entry need a refresh probe (older than NEIGH_REACHABLE_MS, not probed lately)? */
  needsProbe(slot: number, now: number): boolean {
    return now - this.confirmed[slot]! > NEIGH_REACHABLE_MS && now - this.probed[slot]! > NEIGH_PROBE_INTERVAL_MS;
  }

  /** Note that a probe was sent for `slot`. */
  probedAt(slot: number, now: number): void {
    this.probed[slot] = now;
  }

  /** Learn or confirm `addr` at the MAC in `src[off..off+6)`. Returns the slot, -1 if full. */
  learn(addr: number, src: Uint8Array, off: number, now: number): number {
    let slot = this.index.get(addr);
    if (slot === undefined) {
      if (this.free.length === 0) this.evictOldest();
      const s = this.free.pop();
      if (s === undefined) return -1;
      slot = s;
      this.index.set(addr, slot);
      this.addrs[slot] = addr;
      this.counters.learned++;
    }
    this.macs.set(src.subarray(off, off + 6), slot * 6);
    this.confirmed[slot] = now;
    return slot;
  }

  private evictOldest(): void {
    let oldest = -1;
    let t = Infinity;
    for (const s of this.index.values()) {
      if (this.confirmed[s]! < t) {
        t = this.confirmed[s]!;
        oldest = s;
      }
    }
    if (oldest >= 0) this.forget(oldest);
  }

  private forget(slot: number): void {
    this.index.delete(this.addrs[slot]!);
    this.free.push(slot);
    this.counters.expired++;
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
    for (const s of [...this.index.values()]) {
      if (now - this.confirmed[s]! > NEIGH_STALE_MS) this.forget(s);
    }
    for (const [addr, p] of this.pending) {
      if (now - p.firstQueued > 3_000) {
        this.counters.queueDropped += p.pkts.length;
        for (const x of p.pkts) this.pendingBytes -= x.length;
        this.pending.delete(addr);
        this.probeTimes.delete(addr);
      }
    }
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
