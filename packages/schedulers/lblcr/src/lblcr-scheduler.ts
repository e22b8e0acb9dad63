/**
 * lblcr — locality-based least connection with replication (the kernel's ip_vs_lblcr.c).
 *
 * Like lblc, a 1024-bucket table keyed by the packet's destination address keeps locality
 * for cache clusters, but each entry holds a *set* of servers rather than one, so a hot
 * address can be served by several caches. A request goes to the least loaded member of
 * its set (weighted, skipping OVERLOADed, weight-0 and removed servers). If there is none,
 * or that member is overloaded in lblc's sense (more active connections than its weight
 * while some server runs below half its weight), a server is picked from the whole service
 * by the wlc rule and added to the set (new members go to the front). When a set with more
 * than one member has not changed for `expiration` (default 24 h), its most loaded member
 * is dropped, so sets shrink again once demand falls.
 *
 * Every set member holds a reference to its server (`Dest.refCount`, the kernel's
 * ip_vs_dest_hold in ip_vs_dest_set_insert), released when it leaves the set: a deleted
 * server stays in the trash while a set names it, and `-a` of the same address:port
 * revives it, its set memberships working again.
 *
 * Garbage collection is lblc's: a run every 60 s (via `tick`), a full expiry every 30th
 * run, partial clean-up of 6-minute idle entries above 16384 entries; in 2026 mode no new
 * entries beyond 24576. Entries and set members live in pooled typed arrays.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { hash32, lblcOverloaded, leastWeightedConn, overhead, productGreater } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance, SchedulerOptions } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { AVAILABLE, OVERLOAD } = DestFlag;

/** CONFIG_IP_VS_LBLCR_TAB_BITS */
export const LBLCR_TAB_BITS = 10;
/** number of buckets (1024) */
export const LBLCR_TAB_SIZE = 1 << LBLCR_TAB_BITS;
const TAB_MASK = LBLCR_TAB_SIZE - 1;
/** garbage collector period, ms */
export const LBLCR_CHECK_INTERVAL = 60_000;
/** idle time after which the partial GC may drop an entry, ms */
export const LBLCR_ENTRY_TIMEOUT = 6 * 60_000;
/** every this many GC runs, a full expiry check */
export const LBLCR_COUNT_FOR_FULL_EXPIRATION = 30;
/** table size above which the partial GC works */
export const LBLCR_MAX_SIZE = 16 * 1024;
/** default expiration (sysctl lblcr_expiration), seconds */
export const LBLCR_EXPIRATION_DEFAULT = 24 * 60 * 60;

/** Per-service lblcr state: the locality table of destination sets. */
export class LblcrScheduler implements SchedulerInstance {
  private readonly clock: (() => number) | null;
  /** time of the last tick (used when no clock was given), ms */
  time: number;
  /** entry expiry and set shrink age, ms */
  readonly expiration: number;
  /** number of live entries */
  entries = 0;
  /** GC run counter */
  counter = 1;
  /** bucket where the next partial GC starts (after it) */
  rover = 0;
  /** when the next GC run is due, ms */
  nextCheck: number;

  private readonly heads = new Int32Array(LBLCR_TAB_SIZE).fill(-1);
  // entries
  private addr = new Uint32Array(64);
  private lastuse = new Float64Array(64);
  private lastmod = new Float64Array(64);
  private next = new Int32Array(64);
  private setHead = new Int32Array(64);
  private setSize = new Int32Array(64);
  private freeList = -1;
  private highWater = 0;
  // set members
  private elDest: (Dest | null)[] = new Array<Dest | null>(64).fill(null);
  private elNext = new Int32Array(64);
  private elFree = -1;
  private elHighWater = 0;

  constructor(_svc: Service, opts: SchedulerOptions = {}) {
    this.clock = opts.now ?? null;
    this.time = this.clock ? this.clock() : 0;
    this.expiration = (opts.expiration ?? LBLCR_EXPIRATION_DEFAULT) * 1000;
    this.nextCheck = this.time + LBLCR_CHECK_INTERVAL;
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const now = this.clock !== null ? this.clock() : this.time;
    const daddr = pkt.daddr >>> 0;
    const bucket = hash32(daddr, LBLCR_TAB_BITS);
    let e = this.heads[bucket]!;
    while (e >= 0 && this.addr[e] !== daddr) e = this.next[e]!;
    if (e >= 0) {
      this.lastuse[e] = now;
      const m = this.setMin(e);
      if (this.setSize[e]! > 1 && now > this.lastmod[e]! + this.expiration) {
        const mx = this.setMax(e);
        if (mx !== null) this.erase(e, mx, now);
      }
      if (m !== null && !lblcOverloaded(m, svc)) return m;
      const d = leastWeightedConn(svc.dests);
      if (d === null) return null;
      this.insert(e, d, true, now);
      return d;
    }
    const d = leastWeightedConn(svc.dests);
    if (d === null) return null;
    if (svc.kernel === '2026' && this.entries >= (LBLCR_MAX_SIZE * 3) / 2) return d;
    const n = this.alloc();
    this.addr[n] = daddr;
    this.lastuse[n] = now;
    this.lastmod[n] = now;
    this.setHead[n] = -1;
    this.setSize[n] = 0;
    this.next[n] = this.heads[bucket]!;
    this.heads[bucket] = n;
    this.entries++;
    this.insert(n, d, false, now);
    return d;
  }

  /** Members of the set cached for `daddr`, front first (empty when none; for tests and tools). */
  members(daddr: number): Dest[] {
    let e = this.heads[hash32(daddr >>> 0, LBLCR_TAB_BITS)]!;
    while (e >= 0 && this.addr[e] !== daddr >>> 0) e = this.next[e]!;
    const out: Dest[] = [];
    if (e < 0) return out;
    for (let x = this.setHead[e]!; x >= 0; x = this.elNext[x]!) out.push(this.elDest[x]!);
    return out;
  }

  /** Weighted least-loaded member that is AVAILABLE, not OVERLOAD and has weight > 0 (`ip_vs_dest_set_min`). */
  private setMin(e: number): Dest | null {
    let x = this.setHead[e]!;
    let least: Dest | null = null;
    for (; x >= 0; x = this.elNext[x]!) {
      const d = this.elDest[x]!;
      if ((d.flags & OVERLOAD) !== 0) continue;
      if (d.weight > 0 && (d.flags & AVAILABLE) !== 0) {
        least = d;
        break;
      }
    }
    if (least === null) return null;
    let loh = overhead(least);
    let lw = least.weight;
    for (x = this.elNext[x]!; x >= 0; x = this.elNext[x]!) {
      const d = this.elDest[x]!;
      if ((d.flags & OVERLOAD) !== 0) continue;
      const doh = overhead(d);
      if (productGreater(loh, d.weight, doh, lw) && (d.flags & AVAILABLE) !== 0) {
        least = d;
        loh = doh;
        lw = d.weight;
      }
    }
    return least;
  }

  /** Weighted most-loaded member with weight > 0 (`ip_vs_dest_set_max`; OVERLOAD not considered). */
  private setMax(e: number): Dest | null {
    let x = this.setHead[e]!;
    let most: Dest | null = null;
    for (; x >= 0; x = this.elNext[x]!) {
      const d = this.elDest[x]!;
      if (d.weight > 0) {
        most = d;
        break;
      }
    }
    if (most === null) return null;
    let moh = overhead(most);
    let mw = most.weight;
    for (x = this.elNext[x]!; x >= 0; x = this.elNext[x]!) {
      const d = this.elDest[x]!;
      const doh = overhead(d);
      if (productGreater(doh, mw, moh, d.weight) && d.weight > 0) {
        most = d;
        moh = doh;
        mw = d.weight;
      }
    }
    return most;
  }

  /** Add `d` at the front of entry `e`'s set (unless `check` finds it already there). */
  private insert(e: number, d: Dest, check: boolean, now: number): void {
    if (check) {
      for (let x = this.setHead[e]!; x >= 0; x = this.elNext[x]!) if (this.elDest[x] === d) return;
    }
    const x = this.elAlloc();
    this.elDest[x] = d;
    d.refCount++;
    this.elNext[x] = this.setHead[e]!;
    this.setHead[e] = x;
    this.setSize[e]!++;
    this.lastmod[e] = now;
  }

  /** Remove `d` from entry `e`'s set. */
  private erase(e: number, d: Dest, now: number): void {
    let prev = -1;
    for (let x = this.setHead[e]!; x >= 0; prev = x, x = this.elNext[x]!) {
      if (this.elDest[x] !== d) continue;
      this.setSize[e]!--;
      this.lastmod[e] = now;
      if (prev < 0) this.setHead[e] = this.elNext[x]!;
      else this.elNext[prev] = this.elNext[x]!;
      this.elRelease(x);
      return;
    }
  }

  /** Advance the clock and run the 60-second garbage collection runs that fell due. */
  tick(now?: number): void {
    const t = now ?? (this.clock !== null ? this.clock() : this.time);
    this.time = t;
    let runs = 0;
    while (t >= this.nextCheck && runs < 2 * LBLCR_COUNT_FOR_FULL_EXPIRATION) {
      this.checkExpire(this.nextCheck);
      this.nextCheck += LBLCR_CHECK_INTERVAL;
      runs++;
    }
    if (t >= this.nextCheck) this.nextCheck = t + LBLCR_CHECK_INTERVAL;
  }

  private checkExpire(now: number): void {
    if (this.counter % LBLCR_COUNT_FOR_FULL_EXPIRATION === 0) {
      this.sweep(now, this.expiration, Infinity);
      this.counter = 1;
      return;
    }
    if (this.entries <= LBLCR_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.entries - LBLCR_MAX_SIZE) * 4) / 3);
    if (goal > LBLCR_MAX_SIZE / 2) goal = LBLCR_MAX_SIZE / 2;
    this.sweep(now, LBLCR_ENTRY_TIMEOUT, goal);
  }

  private sweep(now: number, age: number, goal: number): void {
    let j = this.rover;
    for (let i = 0; i < LBLCR_TAB_SIZE; i++) {
      j = (j + 1) & TAB_MASK;
      let prev = -1;
      let e = this.heads[j]!;
      while (e >= 0) {
        const nx = this.next[e]!;
        if (now < this.lastuse[e]! + age) {
          prev = e;
        } else {
          if (prev < 0) this.heads[j] = nx;
          else this.next[prev] = nx;
          this.release(e);
          goal--;
        }
        e = nx;
      }
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  private release(e: number): void {
    for (let x = this.setHead[e]!; x >= 0; ) {
      const nx = this.elNext[x]!;
      this.elRelease(x);
      x = nx;
    }
    this.setHead[e] = -1;
    this.setSize[e] = 0;
    this.next[e] = this.freeList;
    this.freeList = e;
    this.entries--;
  }

  private alloc(): number {
    if (this.freeList >= 0) {
      const e = this.freeList;
      this.freeList = this.next[e]!;
      return e;
    }
    if (this.highWater === this.addr.length) {
      const cap = this.addr.length * 2;
      this.addr = grownU32(this.addr, cap);
      this.lastuse = grownF64(this.lastuse, cap);
      this.lastmod = grownF64(this.lastmod, cap);
      this.next = grownI32(this.next, cap);
      this.setHead = grownI32(this.setHead, cap);
      this.setSize = grownI32(this.setSize, cap);
    }
    return this.highWater++;
  }

  private elAlloc(): number {
    if (this.elFree >= 0) {
      const x = this.elFree;
      this.elFree = this.elNext[x]!;
      return x;
    }
    if (this.elHighWater === this.elNext.length) {
      const cap = this.elNext.length * 2;
      this.elNext = grownI32(this.elNext, cap);
      const d = new Array<Dest | null>(cap).fill(null);
      for (let i = 0; i < this.elDest.length; i++) d[i] = this.elDest[i]!;
      this.elDest = d;
    }
    return this.elHighWater++;
  }

  private elRelease(x: number): void {
    this.elDest[x]!.refCount--;
    this.elDest[x] = null;
    this.elNext[x] = this.elFree;
    this.elFree = x;
  }

  /** Drop every entry (`ip_vs_lblcr_flush`). */
  done(): void {
    for (let x = 0; x < this.elHighWater; x++) {
      const d = this.elDest[x];
      if (d) d.refCount--;
    }
    this.heads.fill(-1);
    this.elDest.fill(null);
    this.entries = 0;
    this.freeList = -1;
    this.highWater = 0;
    this.elFree = -1;
    this.elHighWater = 0;
  }
}

function grownU32(a: Uint32Array, cap: number) {
  const b = new Uint32Array(cap);
  b.set(a);
  return b;
}
function grownI32(a: Int32Array, cap: number) {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}
function grownF64(a: Float64Array, cap: number) {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}

/** The lblcr scheduler factory (`-s lblcr`). */
export const lblcrScheduler: SchedulerFactory = {
  name: 'lblcr',
  description: 'locality-based least-connection with replication',
  create: (svc: Service, opts?: SchedulerOptions): LblcrScheduler => new LblcrScheduler(svc, opts),
};
