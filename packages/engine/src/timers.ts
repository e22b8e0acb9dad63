/**
 * The director's periodic work, ticked from the event loop (never a timer per
 * connection): connection expiry (the table's timer wheel), the trash of removed
 * destinations, the schedulers' own clocks (lblc/lblcr), fragment expiry, the neighbour
 * cache (TAP), and the rate estimator every 2 s.
 */
import type { ConnTable } from '@tunvs/conntrack';
import type { DirectorCounters } from './counters.js';
import { ESTIMATOR_PERIOD_MS } from './estimator.js';
import type { Estimator } from './estimator.js';
import type { Fragments } from './fragments.js';
import type { L2 } from './l2.js';
import type { ServiceTable } from './services.js';

/** How often the expiry work runs. */
export const TICK_MS = 250;

export class Timers {
  private handles: NodeJS.Timeout[] = [];

  constructor(
    private readonly conns: ConnTable,
    private readonly table: ServiceTable,
    private readonly fragments: Fragments,
    private readonly estimator: Estimator,
    private readonly counters: DirectorCounters,
    /** the interfaces' layer 2 (TAP), [] on TUN */
    private readonly l2s: readonly L2[],
    private readonly now: () => number,
  ) {}

  /** Start the intervals (unref'd: they never keep the process alive). */
  start(): void {
    if (this.handles.length > 0) return;
    this.handles.push(setInterval(() => this.estimator.tick(), ESTIMATOR_PERIOD_MS));
    this.handles.push(setInterval(() => this.tick(this.now()), TICK_MS));
    for (const h of this.handles) h.unref();
  }

  /** Stop the intervals. */
  stop(): void {
    for (const h of this.handles) clearInterval(h);
    this.handles = [];
  }

  /** The periodic work, at time `now`. */
  tick(now: number): void {
    this.conns.tick(now);
    this.table.purgeTrash();
    for (const svc of this.table.services) svc.sched.tick?.(now);
    this.fragments.expire(now, this.counters);
    for (const l2 of this.l2s) l2.tick(now);
  }
}
