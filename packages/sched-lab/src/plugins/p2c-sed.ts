/**
 * An example scheduler plug-in, written in TypeScript and built by `tsc -b` with the rest
 * of the package (dist/plugins/p2c-sed.js): the power of two choices with the shortest
 * expected delay. Two eligible servers are drawn at random in proportion to their weights
 * and the one with the smaller (active + 1) / weight gets the connection; a sed that does
 * not herd all new connections onto one server.
 *
 *   npx tunvs-sched bench packages/sched-lab/examples/quality.json \
 *     --schedulers wlc,sed,twos --plugin packages/sched-lab/dist/plugins/p2c-sed.js
 *
 * It keeps the shared rules: never weight 0, never OVERLOAD, null only when no server is
 * eligible. The contract is in packages/scheduler/README.md.
 */
import { DestFlag } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { seededRandom } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance, SchedulerOptions } from '@tunvs/scheduler';

/** Per-service state: the random source. */
class P2cSed implements SchedulerInstance {
  private readonly random: () => number;

  constructor(opts: SchedulerOptions) {
    this.random = opts.random ?? seededRandom(opts.seed ?? 1);
  }

  /** A server drawn with probability weight / total among the eligible ones. */
  private draw(dests: readonly Dest[], total: number): Dest {
    let r = this.random() * total;
    let last: Dest | null = null;
    for (const d of dests) {
      if (d.weight <= 0 || (d.flags & DestFlag.OVERLOAD) !== 0) continue;
      last = d;
      r -= d.weight;
      if (r < 0) return d;
    }
    return last!;
  }

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    let total = 0;
    for (const d of svc.dests) if (d.weight > 0 && (d.flags & DestFlag.OVERLOAD) === 0) total += d.weight;
    if (total === 0) return null;
    const a = this.draw(svc.dests, total);
    const b = this.draw(svc.dests, total);
    // (A(a) + 1) / w(a) <= (A(b) + 1) / w(b), in integers
    return (a.activeConns + 1) * b.weight <= (b.activeConns + 1) * a.weight ? a : b;
  }
}

/** The plug-in's export: a SchedulerFactory named `scheduler`. */
export const scheduler: SchedulerFactory = {
  name: 'p2c-sed',
  description: 'power of two choices, shortest expected delay',
  create: (_svc: Service, opts: SchedulerOptions = {}): SchedulerInstance => new P2cSed(opts),
};
