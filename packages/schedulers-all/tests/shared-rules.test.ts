/**
 * The rules every scheduler shares, checked against every registered algorithm: never a
 * weight-0 destination; never an OVERLOADed one where the algorithm checks the flag (all but
 * lblc's cached entry); null only when no destination is eligible (except the hashing
 * schedulers, which have no or only partial fallback). Plus: the registry holds exactly the
 * ipvsadm `-s` names of the reference.
 */
import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Proto, SCHEDULER_NAMES, Service, SvcFlag } from '@tunvs/model';
import {
  conformance,
  DecisionRules,
  builtinSchedulers,
  getScheduler,
  newSchedPacket,
  registerScheduler,
  schedulerNames,
  UnknownSchedulerError,
} from '../src/index.js';

/** The fourteen schedulers of ipvs-semantics.md section 2 (2.1 rr .. 2.14 twos). */
const REFERENCE_NAMES = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'lblc', 'lblcr', 'dh', 'sh', 'mh', 'twos'];

t.test('completeness: every reference -s name is registered, and nothing else', (t) => {
  t.same([...schedulerNames()].sort(), [...REFERENCE_NAMES].sort());
  t.same([...schedulerNames()], [...SCHEDULER_NAMES], 'the registry holds the model\'s names, in its order');
  for (const n of REFERENCE_NAMES) t.equal(getScheduler(n).name, n);
  t.end();
});

t.test('registry errors: unknown names list the valid ones; duplicates and empty names refused', (t) => {
  try {
    getScheduler('wlcc');
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof UnknownSchedulerError);
    t.equal((e as UnknownSchedulerError).code, 'ENOENT');
    for (const n of REFERENCE_NAMES) t.match((e as Error).message, n);
  }
  t.throws(() => registerScheduler(builtinSchedulers[0]!), { code: 'EEXIST' });
  t.throws(() => registerScheduler({ ...builtinSchedulers[0]!, name: '' }), { code: 'EINVAL' });
  t.end();
});

interface Spec {
  w: number;
  a: number;
  i: number;
  over: boolean;
}

const arbSpecs = fc.array(
  fc.record({
    w: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 })),
    a: fc.integer({ min: 0, max: 12 }),
    i: fc.integer({ min: 0, max: 40 }),
    over: fc.boolean(),
  }),
  { minLength: 0, maxLength: 9 },
);
const arbPkts = fc.array(
  fc.record({ saddr: fc.integer({ min: 0, max: 0xffffffff }), sport: fc.integer({ min: 0, max: 65535 }), daddr: fc.integer({ min: 0, max: 31 }) }),
  { minLength: 1, maxLength: 25 },
);

/** Build a service by adds (kernel style), with counters and flags applied after. */
function build(name: string, specs: Spec[], svcFlags: number) {
  const svc = new Service({ flags: svcFlags, schedName: name });
  const inst = getScheduler(name).create(svc, { seed: 7, tableIndex: 8 });
  specs.forEach((s, k) => {
    const d = new Dest(0xc0000201 + k, 80, { weight: s.w });
    svc.insertDest(d);
    inst.addDest?.(svc, d);
  });
  svc.dests.forEach((d) => {
    const s = specs[svc.dests.length - 1 - svc.dests.indexOf(d)]!;
    d.activeConns = s.a;
    d.inactConns = s.i;
    if (s.over) d.flags |= DestFlag.OVERLOAD;
  });
  return { svc, inst };
}

for (const name of REFERENCE_NAMES) {
  t.test(`shared rules: ${name}`, (t) => {
    const rules = new DecisionRules(getScheduler(name));
    let broken = '';
    fc.assert(
      fc.property(arbSpecs, arbPkts, fc.integer({ min: 0, max: 3 }), (specs, pkts, flagBits) => {
        const svcFlags = (flagBits & 1 ? SvcFlag.SCHED1 : 0) | (flagBits & 2 ? SvcFlag.SCHED2 : 0);
        const { svc, inst } = build(name, specs, svcFlags);
        const pkt = newSchedPacket();
        pkt.protocol = Proto.TCP;
        pkt.dport = 80;
        for (const p of pkts) {
          pkt.saddr = p.saddr;
          pkt.sport = p.sport;
          pkt.daddr = p.daddr;
          rules.before(inst, svc, pkt);
          const r = inst.schedule(svc, pkt);
          const v = rules.check(svc, pkt, r);
          if (v) {
            broken = `${v.rule}: ${v.message}`;
            return false;
          }
          // the connection opens: counters move as the conntrack would
          if (r) r.activeConns++;
        }
        return true;
      }),
      { seed: 42, numRuns: 150 },
    );
    t.equal(broken, '', 'no rule broken');
    t.same(conformance(getScheduler(name)).failure, null, 'the conformance run a plug-in gets passes too');
    t.end();
  });
}

t.test('the rules catch each kind of broken decision, with the sentence naming the server', (t) => {
  const mk = (w: number, over = false): Dest => {
    const d = new Dest(0x0a000001 + w, 80, { weight: w });
    if (over) d.flags |= DestFlag.OVERLOAD;
    return d;
  };
  const plugin = { name: 'pick', description: 'test', create: () => ({ schedule: () => null }) };
  const rules = new DecisionRules(plugin);
  t.same(rules.allowances, [], 'a plug-in gets no kernel allowance');
  const svc = new Service({});
  const zero = mk(0);
  const over = mk(3, true);
  const ok = mk(2);
  for (const d of [zero, over, ok]) svc.insertDest(d);
  const pkt = newSchedPacket();
  t.match(rules.check(svc, pkt, zero), { rule: 'weight-0', message: /10\.0\.0\.1:80 \(weight 0/ });
  t.match(rules.check(svc, pkt, over), { rule: 'overloaded', message: /OVERLOAD/ });
  t.match(rules.check(svc, pkt, null), { rule: 'null-while-eligible', message: /10\.0\.0\.3:80 \(weight 2/ });
  t.match(rules.check(svc, pkt, mk(7)), { rule: 'not-in-service' });
  t.equal(rules.check(svc, pkt, ok), null);
  // the kernel's allowances are the built-ins' only
  const sh = new DecisionRules(getScheduler('sh'));
  t.equal(sh.check(svc, pkt, null), null, 'sh without sh-fallback may miss');
  svc.flags |= SvcFlag.SCHED1;
  t.match(sh.check(svc, pkt, null), { rule: 'null-while-eligible' }, 'with sh-fallback it may not');
  const lblc = getScheduler('lblc');
  const lr = new DecisionRules(lblc);
  t.match(lr.check(svc, pkt, over), { rule: 'overloaded' }, 'lblc: an OVERLOADed pick that is not its cached entry');
  t.end();
});

t.test('conformance finds a plug-in that picks weight 0, with the decision number', (t) => {
  // picks the first destination on its 5th call, whatever its weight
  let calls = 0;
  const bad = {
    name: 'bad',
    description: 'breaks rule 1 on the fifth call',
    create: () => ({
      schedule: (svc: Service) => {
        calls++;
        const zero = svc.dests.find((d) => d.weight === 0);
        if (calls >= 5 && zero) return zero;
        return svc.dests.find((d) => d.weight > 0 && !d.overloaded) ?? null;
      },
    }),
  };
  const r = conformance(bad);
  t.ok(r.failure, 'a failure is reported');
  t.equal(r.failure!.rule, 'weight-0');
  t.ok(r.failure!.decision >= 5, `at decision ${r.failure!.decision}`);
  t.equal(r.failure!.decision, r.decisions, 'the run stops at the broken decision');
  t.match(r.failure!.service, /weight 0/);
  t.end();
});

t.test('conformance reports a plug-in that throws as the rule "threw", at its decision (it used to throw itself)', (t) => {
  let calls = 0;
  const thrower = {
    name: 'thrower',
    description: 'throws on its 7th call',
    create: () => ({
      schedule: (svc: Service) => {
        if (++calls === 7) throw new Error('boom');
        return svc.dests.find((d) => d.weight > 0 && !d.overloaded) ?? null;
      },
    }),
  };
  const r = conformance(thrower);
  t.match(r.failure, { rule: 'threw', message: 'threw boom', decision: 7 });
  t.equal(r.decisions, 7, 'the run stops there');
  const early = conformance({ name: 'early', description: 'throws in create', create: () => { throw new Error('no'); } });
  t.match(early.failure, { rule: 'threw', message: 'threw no', decision: 1 });
  t.end();
});
