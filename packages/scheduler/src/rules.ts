/**
 * Selection rules several schedulers share, written once so that they stay identical.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { kernelExtra, overheadWith, productGreater } from './overhead.js';

// DestFlag's bits as same-module constants: V8 loads an imported table's property at
// every use, once per destination in the loops below
const { OVERLOAD } = DestFlag;

/**
 * The weighted-least-connection rule (wlc, and lblc/lblcr when they pick a new server):
 * start at the first destination that is not OVERLOAD and has weight > 0, then let every
 * later non-OVERLOAD destination take over when `OH(cur) * w(d) > OH(d) * w(cur)`.
 * Ties keep the earlier one. Null when no destination qualifies.
 */
export function leastWeightedConn(dests: readonly Dest[]): Dest | null {
  const n = dests.length;
  let i = 0;
  let least: Dest | null = null;
  for (; i < n; i++) {
    const d = dests[i]!;
    if ((d.flags & OVERLOAD) === 0 && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  // every destination of the list belongs to one service: one kernel generation
  const extra = kernelExtra(least.service);
  let loh = overheadWith(least, extra);
  let lw = least.weight;
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if ((d.flags & OVERLOAD) !== 0) continue;
    const doh = overheadWith(d, extra);
    if (productGreater(loh, d.weight, doh, lw)) {
      least = d;
      loh = doh;
      lw = d.weight;
    }
  }
  return least;
}

/**
 * lblc/lblcr's own notion of "overloaded" (not the OVERLOAD flag): the destination has more
 * active connections than its weight *and* some destination of the service has fewer than
 * half its weight active (`2 * A(d) < w(d)`).
 */
export function lblcOverloaded(dest: Dest, svc: Service): boolean {
  if (dest.activeConns <= dest.weight) return false;
  const dests = svc.dests;
  for (let i = 0, n = dests.length; i < n; i++) {
    const d = dests[i]!;
    if (d.activeConns * 2 < d.weight) return true;
  }
  return false;
}

/** True when the destination may take a new connection in the common sense: weight > 0, no OVERLOAD. */
export function eligible(d: Dest): boolean {
  return d.weight > 0 && (d.flags & OVERLOAD) === 0;
}
