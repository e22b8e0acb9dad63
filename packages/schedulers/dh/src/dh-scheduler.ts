/**
 * dh — destination hashing (the kernel's ip_vs_dh.c).
 *
 * A static 256-bucket table maps the packet's destination address to a real server: bucket
 * i holds the destination at list position i mod n (weights are ignored), and a packet uses
 * bucket hash_32(daddr, 8). The table is rebuilt when destinations are added or removed,
 * not when a weight is edited. If the bucket's server is gone, has weight 0 or is OVERLOADed
 * there is no fallback: the answer is none. Useful for caches keyed by origin server.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { hash32 } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { AVAILABLE, OVERLOAD } = DestFlag;

/** CONFIG_IP_VS_DH_TAB_BITS */
export const DH_TAB_BITS = 8;
/** number of buckets (256) */
export const DH_TAB_SIZE = 1 << DH_TAB_BITS;

/** Per-service dh state: the bucket table. */
export class DhScheduler implements SchedulerInstance {
  /** bucket -> destination (null when the service has none) */
  readonly table: (Dest | null)[] = new Array<Dest | null>(DH_TAB_SIZE).fill(null);

  constructor(svc: Service) {
    this.assign(svc);
  }

  /** Fill bucket i with list position i mod n (`ip_vs_dh_reassign`). */
  assign(svc: Service): void {
    const dests = svc.dests;
    const n = dests.length;
    for (let i = 0, p = 0; i < DH_TAB_SIZE; i++) {
      if (n === 0) {
        this.table[i] = null;
        continue;
      }
      this.table[i] = dests[p]!;
      if (++p === n) p = 0;
    }
  }

  schedule(_svc: Service, pkt: SchedPacket): Dest | null {
    const d = this.table[hash32(pkt.daddr, DH_TAB_BITS)]!;
    if (d === null || (d.flags & AVAILABLE) === 0 || d.weight <= 0 || (d.flags & OVERLOAD) !== 0) {
      return null;
    }
    return d;
  }

  addDest(svc: Service, _dest: Dest): void {
    this.assign(svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.assign(svc);
  }

  done(): void {
    this.table.fill(null);
  }
}

/** The dh scheduler factory (`-s dh`). */
export const dhScheduler: SchedulerFactory = {
  name: 'dh',
  description: 'destination hashing',
  create: (svc: Service): DhScheduler => new DhScheduler(svc),
};
