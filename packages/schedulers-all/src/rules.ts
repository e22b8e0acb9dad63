/**
 * The shared rules every scheduler decision must keep, written once and applied to the
 * built-in schedulers (tests), to plug-ins (the scheduler lab checks every decision of a
 * run; tunvsd checks a plug-in before it uses it):
 *
 *   1. never a destination with weight 0 (quiesced: no new connections);
 *   2. never a destination with the OVERLOAD flag (upper threshold reached), except
 *      where the kernel's own algorithm allows it: lblc reuses its cached server for an
 *      address without looking at the flag (ip_vs_lblc.c);
 *   3. null (no destination: ip_vs_leave) only when no destination is eligible, except
 *      for the kernel's hashing schedulers, which look at one bucket (dh, sh without
 *      sh-fallback) or may run out of probes (mh);
 *   4. only a destination of the service.
 *
 * "Eligible" is weight > 0 and no OVERLOAD; for ovf also active connections <= weight (its
 * own budget). The allowances belong to the built-in factories (matched by identity):
 * a plug-in gets the rules without exceptions.
 */
import { Dest, DestFlag, Service, SvcFlag } from '@tunvs/model';
import { newSchedPacket, seededRandom } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';
import { formatIpv4 } from '@tunvs/packet';
import { dhScheduler } from '@tunvs/scheduler-dh';
import { shScheduler } from '@tunvs/scheduler-sh';
import { mhScheduler } from '@tunvs/scheduler-mh';
import { lblcScheduler } from '@tunvs/scheduler-lblc';
import { ovfScheduler } from '@tunvs/scheduler-ovf';

/** The rule a decision broke: a shared rule, or `threw` (the scheduler threw, which the lab counts as a broken rule). */
export type RuleName = 'weight-0' | 'overloaded' | 'null-while-eligible' | 'not-in-service' | 'threw';

/** One broken rule: which, and a sentence naming the destination(s). */
export interface RuleViolation {
  rule: RuleName;
  message: string;
}

/** What the kernel's code of one built-in scheduler allows beyond the shared rules. */
interface KernelAllowance {
  /** a sentence for reports */
  text: string;
  /** the pick may carry OVERLOAD when it is the entry cached for the packet's address (lblc) */
  overloadedCachedPick?: boolean;
  /** null may come while destinations are eligible (svc flags decide, e.g. sh-fallback) */
  nullWhileEligible?: (svcFlags: number) => boolean;
  /** active connections above the weight make a destination ineligible (ovf) */
  activeBudget?: boolean;
}

const ALLOWANCES = new Map<SchedulerFactory, KernelAllowance>([
  [lblcScheduler, { text: 'lblc may reuse its cached server for an address although it is OVERLOADed (ip_vs_lblc.c does not test the flag there)', overloadedCachedPick: true }],
  [dhScheduler, { text: 'dh looks at one bucket only: null although another server is eligible', nullWhileEligible: () => true }],
  [shScheduler, { text: 'sh without sh-fallback looks at one bucket only: null although another server is eligible', nullWhileEligible: (f) => (f & SvcFlag.SCHED1) === 0 }],
  [mhScheduler, { text: 'mh looks at one slot (and with mh-fallback at a bounded probe sequence): null although a server is eligible', nullWhileEligible: () => true }],
  [ovfScheduler, { text: 'ovf counts a server with more active connections than its weight as not eligible', activeBudget: true }],
]);

/** "10.0.0.3:80 (weight 0, OVERLOAD, 5 active, 2 inactive)". */
export function describeDest(d: Dest): string {
  const bits = [`weight ${d.weight}`];
  if ((d.flags & DestFlag.OVERLOAD) !== 0) bits.push('OVERLOAD');
  bits.push(`${d.activeConns} active`, `${d.inactConns} inactive`);
  return `${formatIpv4(d.addr)}:${d.port} (${bits.join(', ')})`;
}

/**
 * Checks the decisions of one scheduler instance. Call `before` just ahead of
 * `schedule()` (it remembers what an allowance needs, e.g. lblc's cached entry), then
 * `check` with the pick.
 */
export class DecisionRules {
  private readonly allowance: KernelAllowance | undefined;
  private cached: Dest | null = null;

  constructor(readonly factory: SchedulerFactory) {
    this.allowance = ALLOWANCES.get(factory);
  }

  /** The kernel exceptions that apply to this scheduler (empty for plug-ins). */
  get allowances(): string[] {
    return this.allowance ? [this.allowance.text] : [];
  }

  /** Whether `d` may take a new connection under the shared rules (and ovf's budget). */
  eligible(d: Dest): boolean {
    if (d.weight <= 0 || (d.flags & DestFlag.OVERLOAD) !== 0) return false;
    return !(this.allowance?.activeBudget && d.activeConns > d.weight);
  }

  /** Call just before `inst.schedule(svc, pkt)`. */
  before(inst: SchedulerInstance, _svc: Service, pkt: SchedPacket): void {
    this.cached = null;
    if (this.allowance?.overloadedCachedPick) {
      const look = (inst as { lookup?: (daddr: number) => Dest | null }).lookup;
      if (typeof look === 'function') this.cached = look.call(inst, pkt.daddr);
    }
  }

  /** The rule `pick` breaks, or null when the decision keeps every rule. */
  check(svc: Service, _pkt: SchedPacket, pick: Dest | null): RuleViolation | null {
    if (pick === null) {
      if (this.allowance?.nullWhileEligible?.(svc.flags)) return null;
      const ok = svc.dests.filter((d) => this.eligible(d));
      if (ok.length === 0) return null;
      return { rule: 'null-while-eligible', message: `returned no destination although ${ok.map(describeDest).join(', ')} ${ok.length === 1 ? 'is' : 'are'} eligible` };
    }
    if (!svc.dests.includes(pick)) {
      return { rule: 'not-in-service', message: `picked ${describeDest(pick)}, which is not a destination of the service` };
    }
    if (pick.weight <= 0) return { rule: 'weight-0', message: `picked ${describeDest(pick)}: weight 0 takes no new connections` };
    if ((pick.flags & DestFlag.OVERLOAD) !== 0 && !(this.allowance?.overloadedCachedPick && pick === this.cached)) {
      return { rule: 'overloaded', message: `picked ${describeDest(pick)}, which is OVERLOADed (upper threshold ${pick.uThreshold} reached)` };
    }
    if (this.allowance?.activeBudget && pick.activeConns > pick.weight) {
      return { rule: 'overloaded', message: `picked ${describeDest(pick)}, over its own budget of ${pick.weight} active connections` };
    }
    return null;
  }
}

/** The first rule a conformance run saw broken: which decision, and the service then. */
export interface ConformanceFailure extends RuleViolation {
  /** 1-based number of the decision (call of schedule()) that broke it */
  decision: number;
  /** the destinations in list order just before that decision */
  service: string;
  /** flags of the service (sh-fallback etc.) as numbers */
  svcFlags: number;
}

/** Result of `conformance`. */
export interface ConformanceResult {
  decisions: number;
  failure: ConformanceFailure | null;
}

/**
 * Run `factory` against many small random services (0..9 destinations, weights 0..6, some
 * OVERLOADed, random counters and scheduler flags) and random packets, opening a
 * connection on every pick, and check every decision with the shared rules. Deterministic
 * for a seed. Stops at the first broken rule.
 */
export function conformance(factory: SchedulerFactory, opts: { seed?: number; services?: number; decisions?: number } = {}): ConformanceResult {
  const r = seededRandom(opts.seed ?? 20260917);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const services = opts.services ?? 200;
  const perService = opts.decisions ?? 25;
  const rules = new DecisionRules(factory);
  const pkt = newSchedPacket();
  let decision = 0;
  let state = 'no destinations';
  let svcFlags = 0;
  try {
    return run();
  } catch (e) {
    // a throw from the scheduler (create, addDest, updDest, schedule): a broken rule, at the decision it was making
    return { decisions: decision + 1, failure: { rule: 'threw', message: `threw ${e instanceof Error ? e.message : String(e)}`, decision: decision + 1, service: state, svcFlags } };
  }

  function run(): ConformanceResult {
    for (let s = 0; s < services; s++) {
      svcFlags = (r() < 0.5 ? SvcFlag.SCHED1 : 0) | (r() < 0.5 ? SvcFlag.SCHED2 : 0);
      state = 'no destinations';
      const svc = new Service({ protocol: 6, addr: 0x0a640001, port: 80, flags: svcFlags, schedName: factory.name });
      const inst = factory.create(svc, { seed: s + 1, tableIndex: 8 });
      const n = int(0, 9);
      for (let k = 0; k < n; k++) {
        const d = new Dest((0xc0000201 + k) >>> 0, 80, { weight: r() < 0.25 ? 0 : int(1, 6) });
        svc.insertDest(d);
        inst.addDest?.(svc, d);
      }
      for (const d of svc.dests) {
        d.activeConns = int(0, 12);
        d.inactConns = int(0, 40);
        if (r() < 0.3) d.flags |= DestFlag.OVERLOAD;
      }
      for (let k = 0; k < perService; k++) {
        // now and then a weight edit, as ipvsadm -e would do
        if (svc.dests.length > 0 && r() < 0.1) {
          const d = svc.dests[int(0, svc.dests.length - 1)]!;
          d.weight = r() < 0.5 ? 0 : int(1, 6);
          if (d.weight > 0) d.lastWeight = d.weight;
          inst.updDest?.(svc, d);
        }
        pkt.protocol = 6;
        pkt.saddr = Math.floor(r() * 4294967296) >>> 0;
        pkt.sport = int(1024, 65535);
        pkt.daddr = int(0, 31);
        pkt.dport = 80;
        state = svc.dests.map(describeDest).join(', ') || 'no destinations';
        rules.before(inst, svc, pkt);
        const pick = inst.schedule(svc, pkt);
        decision++;
        const v = rules.check(svc, pkt, pick);
        if (v) return { decisions: decision, failure: { ...v, decision, service: state, svcFlags } };
        if (pick) pick.activeConns++;
      }
      inst.done?.();
    }
    return { decisions: decision, failure: null };
  }
}
