/**
 * Whether the batch pre-pass (Datapath.prefetch) pays for itself on the traffic of now.
 *
 * The pass issues every group's connection-table reads together so that their cache
 * misses overlap: over a table larger than the cache it is worth ~20 % (fastpath, 1M
 * flows). When the lines the traffic touches are in cache anyway (a hot working set in a
 * big table), it only adds its own work, a hash and a few loads per frame: ~6 % there.
 * The table's size does not say which case this is; the time per frame does.
 *
 * So, every PROBE_EVERY large batches, two batches in a row are timed, one with the pass
 * and one without; a moving average of each (ns per frame) decides, for the batches in
 * between, whether the pass runs. Either way every frame is handled alike (the pass is a
 * hint), so a wrong guess costs time, never a packet. Batches smaller than
 * PROBE_MIN_FRAMES are not timed (the clock's own cost and its jitter would be the figure)
 * and follow the current choice.
 */

/** Large batches between two probe pairs. */
export const PROBE_EVERY = 64;
/** The smallest batch that is timed. */
export const PROBE_MIN_FRAMES = 64;
/** Weight of a new probe in the moving averages. */
const ALPHA = 0.25;

export class PrefetchGate {
  /** whether batches that are not probes run the pass (on until probes say otherwise) */
  on = true;
  /** moving averages of ns per frame, with and without the pass (0: no probe yet) */
  nsWith = 0;
  nsWithout = 0;
  /** probe pairs completed */
  probes = 0;
  private countdown = PROBE_EVERY;
  /** the probe the next large batch is: 0 none, 1 with the pass, 2 without */
  private next = 0;

  /**
   * For a batch of `frames` frames: 0 when it is not a probe (run the pass iff `on`), 1 to
   * run it with the pass and time it, 2 to run it without and time it.
   */
  probe(frames: number): number {
    if (frames < PROBE_MIN_FRAMES) return 0;
    const p = this.next;
    if (p !== 0) {
      this.next = p === 1 ? 2 : 0;
      return p;
    }
    if (--this.countdown > 0) return 0;
    this.countdown = PROBE_EVERY;
    this.next = 2;
    return 1;
  }

  /** The time of a probe (`kind` from `probe`): `ns` for `frames` frames. */
  record(kind: number, ns: number, frames: number): void {
    const per = ns / frames;
    if (!(per > 0)) return;
    if (kind === 1) this.nsWith = this.nsWith === 0 ? per : this.nsWith + ALPHA * (per - this.nsWith);
    else {
      this.nsWithout = this.nsWithout === 0 ? per : this.nsWithout + ALPHA * (per - this.nsWithout);
      this.probes++;
    }
    if (this.nsWith > 0 && this.nsWithout > 0) this.on = this.nsWith <= this.nsWithout;
  }
}
