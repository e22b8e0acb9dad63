/**
 * rr — round robin (the kernel's ip_vs_rr.c).
 *
 * A cursor remembers the destination picked last (or the list head before the first pick).
 * Each new connection goes to the next destination after the cursor, wrapping around at the
 * end of the list, that has a weight above zero and no OVERLOAD flag. The cursor's own
 * destination is looked at last, so a lone eligible server is picked again and again.
 * Weights only matter as "zero = skip". Because new destinations enter at the head of the
 * list, one added mid-cycle is reached only once the cursor wraps.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/** Per-service rr state: the cursor, kept both as an object and as its list index. */
export class RrScheduler implements SchedulerInstance {
  /** destination under the cursor; null = list head (nothing picked yet) */
  cursor: Dest | null = null;
  /** index of `cursor` in svc.dests, -1 for the head */
  private idx = -1;

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let c = this.idx;
    if (c >= 0 && dests[c] !== this.cursor) c = this.resync(dests);
    // From the head (c = -1): one pass over the list. Otherwise: after the cursor to the end,
    // then from the first element up to and including the cursor. Both are n steps.
    for (let k = 1; k <= n; k++) {
      let i = c + k;
      if (i >= n) i -= n;
      const d = dests[i]!;
      if ((d.flags & OVERLOAD) === 0 && d.weight > 0) {
        this.idx = i;
        this.cursor = d;
        return d;
      }
    }
    return null;
  }

  /** The new destination went to the head: the cursor's index moved by one. */
  addDest(svc: Service, _dest: Dest): void {
    if (this.cursor !== null) this.resync(svc.dests);
  }

  /** Deleting the destination under the cursor moves the cursor to the one before it. */
  delDest(svc: Service, dest: Dest): void {
    if (dest === this.cursor) {
      const i = Math.min(this.idx, svc.dests.length) - 1;
      this.idx = i;
      this.cursor = i >= 0 ? svc.dests[i]! : null;
    } else if (this.cursor !== null) {
      this.resync(svc.dests);
    }
  }

  /** Find the cursor's index again after the list changed behind our back. */
  private resync(dests: readonly Dest[]): number {
    const cur = this.cursor;
    let i = cur === null ? -1 : dests.indexOf(cur);
    if (i < 0 && cur !== null) {
      // the cursor's destination vanished without a delDest call: act as if deleted
      i = Math.min(this.idx, dests.length) - 1;
      this.cursor = i >= 0 ? dests[i]! : null;
    }
    this.idx = i;
    return i;
  }
}

/** The rr scheduler factory (`-s rr`). */
export const rrScheduler: SchedulerFactory = {
  name: 'rr',
  description: 'round robin',
  create: (_svc: Service): RrScheduler => new RrScheduler(),
};
