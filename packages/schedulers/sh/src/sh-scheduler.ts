/**
 * sh — source hashing (the kernel's ip_vs_sh.c).
 *
 * A 256-bucket table maps the client's address (optionally plus its source port) to a real
 * server, so one client keeps landing on the same server without any connection state.
 * The table is filled by walking the destination list round and round, each destination
 * taking max(weight, 1) consecutive buckets, and is rebuilt on every add, delete and weight
 * edit. A packet uses bucket hash_32(port + saddr, 8); port is 0 unless the sh-port flag
 * (SCHED2) is set. If the bucket's server has weight 0 or is OVERLOADed the answer is none,
 * unless sh-fallback (SCHED1) is set: then further buckets are probed, starting at twice the
 * original bucket (mod 256), until an available server or an empty bucket turns up.
 */
import { DestFlag, Proto, SvcFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { hash32 } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** CONFIG_IP_VS_SH_TAB_BITS (default 8) */
export const SH_TAB_BITS = 8;
/** number of buckets (256) */
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;
const SH_TAB_MASK = SH_TAB_SIZE - 1;

/** The bucket for (addr, port) at probe offset `offset`: (offset + hash_32(port + addr, 8)) & 255. */
export function shHashKey(addr: number, port: number, offset: number): number {
  return (offset + hash32((port + addr) >>> 0, SH_TAB_BITS)) & SH_TAB_MASK;
}

function unavailable(d: Dest): boolean {
  return d.weight <= 0 || (d.flags & OVERLOAD) !== 0;
}

/** Per-service sh state: the bucket table. */
export class ShScheduler implements SchedulerInstance {
  /** bucket -> destination (null when the service has none) */
  readonly table: (Dest | null)[] = new Array<Dest | null>(SH_TAB_SIZE).fill(null);

  constructor(svc: Service) {
    this.assign(svc);
  }

  /** Walk the list cyclically, each destination filling max(weight, 1) buckets (`ip_vs_sh_reassign`). */
  assign(svc: Service): void {
    const dests = svc.dests;
    const n = dests.length;
    let p = 0;
    let count = 0;
    for (let i = 0; i < SH_TAB_SIZE; i++) {
      if (n === 0) {
        this.table[i] = null;
        continue;
      }
      const d = dests[p]!;
      this.table[i] = d;
      if (++count >= d.weight) {
        if (++p === n) p = 0;
        count = 0;
      }
    }
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const inverse = pkt.inverse;
    const addr = inverse ? pkt.daddr : pkt.saddr;
    let port = 0;
    if ((svc.flags & SvcFlag.SCHED2) !== 0) {
      const proto = pkt.protocol;
      if (proto === Proto.TCP || proto === Proto.UDP || proto === Proto.SCTP) port = inverse ? pkt.dport : pkt.sport;
    }
    const table = this.table;
    const h = shHashKey(addr, port, 0);
    const d = table[h]!;
    if (d === null) return null;
    if (!unavailable(d)) return d;
    if ((svc.flags & SvcFlag.SCHED1) === 0) return null;
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      const r = (offset + h) & SH_TAB_MASK;
      const e = table[shHashKey(addr, port, r)]!;
      if (e === null) return null;
      if (!unavailable(e)) return e;
    }
    return null;
  }

  addDest(svc: Service, _dest: Dest): void {
    this.assign(svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.assign(svc);
  }

  updDest(svc: Service, _dest: Dest): void {
    this.assign(svc);
  }

  done(): void {
    this.table.fill(null);
  }
}

/** The sh scheduler factory (`-s sh`; `-b sh-fallback,sh-port` = SvcFlag.SCHED1, SCHED2). */
export const shScheduler: SchedulerFactory = {
  name: 'sh',
  description: 'source hashing',
  create: (svc: Service): ShScheduler => new ShScheduler(svc),
};
