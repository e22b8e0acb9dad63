/**
 * lblc — locality-based least connection (the kernel's ip_vs_lblc.c).
 *
 * Built for cache clusters: requests for the same destination address (the origin server a
 * transparent cache fronts, or the VIP) should keep going to the same real server, so that
 * server's cache stays warm. A table of 1024 buckets (hash_32 of the destination address)
 * remembers, per address, the server picked last. A cached server is reused while it is
 * still in the service, has weight > 0, and is not overloaded in lblc's own sense (more
 * active connections than its weight while some other server runs below half its weight).
 * Quirk kept from the kernel: the OVERLOAD *flag* is not checked on that cached path.
 * Otherwise a server is chosen by the wlc rule and the entry is (re)pointed at it.
 *
 * Each entry holds a reference to its server (`Dest.refCount`, the kernel's ip_vs_dest_hold),
 * released when the entry goes: a server deleted from the service stays in the trash while
 * the table still names it, and re-adding the same address:port revives it with its cached
 * entries working again.
 *
 * Entries record their last use. A garbage collector runs every 60 s (driven by `tick`):
 * every 30th run drops entries unused for `expiration` (default 24 h); in between, when the
 * table holds more than 16384 entries, it drops entries idle for 6 minutes, working through
 * buckets from a rotating position until enough are gone. In 2026 mode no new entries are
 * created once the table holds 24576.
 *
 * Entries live in pooled typed arrays (no allocation per decision once the pool is large
 * enough); times are milliseconds from `opts.now()` or the last `tick(now)`.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { hash32, lblcOverloaded, leastWeightedConn } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance, SchedulerOptions } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { AVAILABLE } = DestFlag;

/** CONFIG_IP_VS_LBLC_TAB_BITS */
export const LBLC_TAB_BITS = 10;
/** number of buckets (1024) */
export const LBLC_TAB_SIZE = 1 << LBLC_TAB_BITS;
const TAB_MASK = LBLC_TAB_SIZE - 1;
/** garbage collector period, ms */
export const LBLC_CHECK_INTERVAL = 60_000;
/** idle time after which the partial GC may drop an entry, ms */
export const LBLC_ENTRY_TIMEOUT = 6 * 60_000;
/** every this many GC runs, a full expiry check */
export const LBLC_COUNT_FOR_FULL_EXPIRATION = 30;
/** table size above which the partial GC works */
export const LBLC_MAX_SIZE = 16 * 1024;
/** default expiration (sysctl lblc_expiration), seconds */
export const LBLC_EXPIRATION_DEFAULT = 24 * 60 * 60;

/** Per-service lblc state: the locality table and its garbage collector. */
export class LblcScheduler implements SchedulerInstance {
  private readonly clock: (() => number) | null;
  /** time of the last tick (used when no clock was given), ms */
  time: number;
  /** full-expiry age, ms */
  readonly expiration: number;
  /** number of live entries */
  entries = 0;
  /** GC run counter (the kernel's `tbl->counter`) */
  counter = 1;
  /** bucket where the next partial GC starts (after it) */
  rover = 0;
  /** when the next GC run is due, ms */
  nextCheck: number;

  private readonly heads = new Int32Array(LBLC_TAB_SIZE).fill(-1);
  private addr = new Uint32Array(64);
  private lastuse = new Float64Array(64);
  private next = new Int32Array(64);
  private dest: (Dest | null)[] = new Array<Dest | null>(64).fill(null);
  private freeList = -1;
  private highWater = 0;

  constructor(_svc: Service, opts: SchedulerOptions = {}) {
    this.clock = opts.now ?? null;
    this.time = this.clock ? this.clock() : 0;
    this.expiration = (opts.expiration ?? LBLC_EXPIRATION_DEFAULT) * 1000;
    this.nextCheck = this.time + LBLC_CHECK_INTERVAL;
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const now = this.clock !== null ? this.clock() : this.time;
    const daddr = pkt.daddr >>> 0;
    const bucket = hash32(daddr, LBLC_TAB_BITS);
    let e = this.heads[bucket]!;
    while (e >= 0 && this.addr[e] !== daddr) e = this.next[e]!;
    if (e >= 0) {
      this.lastuse[e] = now;
      const d = this.dest[e]!;
      if ((d.flags & AVAILABLE) !== 0 && d.weight > 0 && !lblcOverloaded(d, svc)) return d;
    }
    const d = leastWeightedConn(svc.dests);
    if (d === null) return null;
    if (e >= 0) {
      if (this.dest[e] === d) return d;
      this.unlink(bucket, e);
    }
    if (svc.kernel === '2026' && this.entries >= (LBLC_MAX_SIZE * 3) / 2) return d;
    const n = this.alloc();
    this.addr[n] = daddr;
    this.dest[n] = d;
    d.refCount++;
    this.lastuse[n] = now;
    this.next[n] = this.heads[bucket]!;
    this.heads[bucket] = n;
    this.entries++;
    return d;
  }

  /** The destination cached for `daddr`, or null (for tests and tools). */
  lookup(daddr: number): Dest | null {
    let e = this.heads[hash32(daddr >>> 0, LBLC_TAB_BITS)]!;
    while (e >= 0 && this.addr[e] !== daddr >>> 0) e = this.next[e]!;
    return e >= 0 ? this.dest[e]! : null;
  }

  /** Advance the clock and run the 60-second garbage collection runs that fell due. */
  tick(now?: number): void {
    const t = now ?? (this.clock !== null ? this.clock() : this.time);
    this.time = t;
    let runs = 0;
    while (t >= this.nextCheck && runs < 2 * LBLC_COUNT_FOR_FULL_EXPIRATION) {
      this.checkExpire(this.nextCheck);
      this.nextCheck += LBLC_CHECK_INTERVAL;
      runs++;
    }
    if (t >= this.nextCheck) this.nextCheck = t + LBLC_CHECK_INTERVAL;
  }

  /** One GC run at time `now` (`ip_vs_lblc_check_expire`). */
  private checkExpire(now: number): void {
    if (this.counter % LBLC_COUNT_FOR_FULL_EXPIRATION === 0) {
      this.sweep(now, this.expiration, Infinity);
      this.counter = 1;
      return;
    }
    if (this.entries <= LBLC_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.entries - LBLC_MAX_SIZE) * 4) / 3);
    if (goal > LBLC_MAX_SIZE / 2) goal = LBLC_MAX_SIZE / 2;
    this.sweep(now, LBLC_ENTRY_TIMEOUT, goal);
  }

  /**
   * Walk buckets after `rover`, deleting entries idle for `age` ms or more, until `goal`
   * deletions were made (checked after each bucket) or every bucket was visited.
   */
  private sweep(now: number, age: number, goal: number): void {
    let j = this.rover;
    for (let i = 0; i < LBLC_TAB_SIZE; i++) {
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

  private unlink(bucket: number, e: number): void {
    let p = this.heads[bucket]!;
    if (p === e) this.heads[bucket] = this.next[e]!;
    else {
      while (this.next[p] !== e) p = this.next[p]!;
      this.next[p] = this.next[e]!;
    }
    this.release(e);
  }

  private release(e: number): void {
    this.dest[e]!.refCount--;
    this.dest[e] = null;
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
    if (this.highWater === this.addr.length) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    const cap = this.addr.length * 2;
    const a = new Uint32Array(cap);
    a.set(this.addr);
    this.addr = a;
    const l = new Float64Array(cap);
    l.set(this.lastuse);
    this.lastuse = l;
    const nx = new Int32Array(cap);
    nx.set(this.next);
    this.next = nx;
    const d = new Array<Dest | null>(cap).fill(null);
    for (let i = 0; i < this.dest.length; i++) d[i] = this.dest[i]!;
    this.dest = d;
  }

  /** Drop every entry (`ip_vs_lblc_flush`). */
  done(): void {
    for (let e = 0; e < this.highWater; e++) {
      const d = this.dest[e];
      if (d) d.refCount--;
    }
    this.heads.fill(-1);
    this.dest.fill(null);
    this.entries = 0;
    this.freeList = -1;
    this.highWater = 0;
  }
}

/** The lblc scheduler factory (`-s lblc`). */
export const lblcScheduler: SchedulerFactory = {
  name: 'lblc',
  description: 'locality-based least-connection',
  create: (svc: Service, opts?: SchedulerOptions): LblcScheduler => new LblcScheduler(svc, opts),
};
