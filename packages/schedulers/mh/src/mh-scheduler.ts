/**
 * mh — Maglev hashing (the kernel's ip_vs_mh.c, after Google's Maglev paper).
 *
 * A lookup table of prime size M (4093 by default) maps a hash of the client address
 * (optionally plus source port) to a real server. Each destination derives, from a hash of
 * its own address and port, a starting slot `offset` and a stride `skip`, which together
 * give it its own permutation of the slots. The table is filled in rounds over the list:
 * each destination claims its next still-free slot in its permutation, `turns` times per
 * round, where turns is its last non-zero weight divided by the gcd of the weights (scaled
 * down to at most 6 bits). The result spreads slots in proportion to weight, and adding or
 * removing one server moves only a few slots of the others.
 *
 * Hashes are the kernel's hsiphash (SipHash-1-3 on 64-bit) with fixed keys, so tables and
 * lookups match a kernel exactly. The table uses `lastWeight`, so quiescing a server
 * (weight 0) keeps the table and only makes that server unavailable at lookup time: without
 * mh-fallback (SCHED1) the answer is then none; with it, further slots are probed from
 * hashes with increasing offsets until an available server or an empty slot turns up.
 * mh-port (SCHED2) adds the source port to the hashed value.
 */
import { DestFlag, Proto, SvcFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { bitLength, gcd, hsipKey, hsiphash32 } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance, SchedulerOptions } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Table sizes selected by CONFIG_IP_VS_MH_TAB_INDEX 8..17 (index - 8). */
export const MH_PRIMES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
/** Default CONFIG_IP_VS_MH_TAB_INDEX (table size 4093). */
export const MH_TAB_INDEX_DEFAULT = 12;

/** hash1 key (offsets and lookups): both words 2654435761 */
export const MH_KEY1 = hsipKey(2654435761n, 2654435761n);
/** hash2 key (skips): both words 2654446892 */
export const MH_KEY2 = hsipKey(2654446892n, 2654446892n);

/** The kernel's `ip_vs_mh_hashkey` for IPv4: hsiphash of (offset + port + addr) mod 2^32. */
export function mhHashKey(addr: number, port: number, offset: number, key = MH_KEY1): number {
  return hsiphash32((offset + port + addr) >>> 0, key);
}

function unavailable(d: Dest): boolean {
  return d.weight <= 0 || (d.flags & OVERLOAD) !== 0;
}

/** Per-service mh state: the lookup table. */
export class MhScheduler implements SchedulerInstance {
  /** table size M (prime) */
  readonly size: number;
  /** CONFIG_IP_VS_MH_TAB_INDEX / 2: the weight precision in bits */
  readonly tabBits: number;
  /** slot -> destination */
  readonly table: (Dest | null)[];
  /** gcd of the positive last weights (0 = none) */
  gcd = 0;
  /** right shift applied to last_weight / gcd */
  rshift = 0;
  private readonly used: Uint8Array;

  constructor(svc: Service, opts: SchedulerOptions = {}) {
    const index = opts.tableIndex ?? MH_TAB_INDEX_DEFAULT;
    if (!Number.isInteger(index) || index < 8 || index > 17) {
      throw new RangeError(`mh tableIndex must be an integer 8..17, got ${index}`);
    }
    this.size = MH_PRIMES[index - 8]!;
    this.tabBits = index >> 1;
    this.table = Array.from({ length: this.size }, () => null);
    this.used = new Uint8Array(this.size);
    this.changed(svc);
  }

  /** Recompute gcd/shift and rebuild the table (`ip_vs_mh_dest_changed`). */
  changed(svc: Service): void {
    const dests = svc.dests;
    let g = 0;
    let mw = 0;
    for (const d of dests) {
      const lw = d.lastWeight;
      if (lw > 0) g = g > 0 ? gcd(lw, g) : lw;
      if (lw > mw) mw = lw;
    }
    this.gcd = g;
    this.rshift = g < 1 ? 0 : Math.max(bitLength(Math.trunc(mw / g)) - this.tabBits, 0);
    // more destinations than slots: the kernel refuses (EINVAL) and keeps the old table
    if (dests.length > this.size) return;
    this.populate(dests);
  }

  /** Fill every slot from the destinations' permutations (`ip_vs_mh_permutate` + `_populate`). */
  private populate(dests: readonly Dest[]): void {
    const M = this.size;
    const table = this.table;
    if (this.gcd < 1) {
      table.fill(null);
      return;
    }
    const n = dests.length;
    const skip = new Int32Array(n);
    const perm = new Int32Array(n);
    const turns = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      perm[i] = mhHashKey(d.addr, d.port, 0, MH_KEY1) % M;
      skip[i] = (mhHashKey(d.addr, d.port, 0, MH_KEY2) % (M - 1)) + 1;
      const lw = d.lastWeight;
      const t = Math.trunc(lw / this.gcd) >> this.rshift;
      turns[i] = t !== 0 ? t : lw !== 0 ? 1 : 0;
    }
    const used = this.used;
    used.fill(0);
    let filled = 0;
    let dt = 0;
    for (;;) {
      for (let i = 0; i < n; ) {
        if (turns[i]! < 1) {
          i++;
          continue;
        }
        let c = perm[i]!;
        while (used[c] !== 0) {
          c += skip[i]!;
          if (c >= M) c -= M;
        }
        perm[i] = c;
        used[c] = 1;
        table[c] = dests[i]!;
        if (++filled === M) return;
        if (++dt >= turns[i]!) {
          dt = 0;
          i++;
        }
      }
    }
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const inverse = pkt.inverse;
    const addr = inverse ? pkt.daddr : pkt.saddr;
    const flags = svc.flags;
    let port = 0;
    if ((flags & SvcFlag.SCHED2) !== 0) {
      const proto = pkt.protocol;
      if (proto === Proto.TCP || proto === Proto.UDP || proto === Proto.SCTP) port = inverse ? pkt.dport : pkt.sport;
    }
    const M = this.size;
    const table = this.table;
    const h = hsiphash32((port + addr) >>> 0, MH_KEY1);
    // h % M without a floating-point modulus (h is a uint32, M < 2^18: exact)
    const ihash = h - Math.floor(h / M) * M;
    const d = table[ihash]!;
    if (d === null) return null;
    if (!unavailable(d)) return d;
    if ((flags & SvcFlag.SCHED1) === 0) return null;
    for (let offset = 0; offset < M; offset++) {
      let r = offset + ihash;
      if (r >= M) r -= M;
      const e = table[hsiphash32((r + port + addr) >>> 0, MH_KEY1) % M]!; // rare path
      if (e === null) return null;
      if (!unavailable(e)) return e;
    }
    return null;
  }

  addDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  updDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  done(): void {
    this.table.fill(null);
  }
}

/** The mh scheduler factory (`-s mh`; `-b mh-fallback,mh-port` = SvcFlag.SCHED1, SCHED2). */
export const mhScheduler: SchedulerFactory = {
  name: 'mh',
  description: 'Maglev hashing',
  create: (svc: Service, opts?: SchedulerOptions): MhScheduler => new MhScheduler(svc, opts),
};
