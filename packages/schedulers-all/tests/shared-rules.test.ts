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
import type { LblcScheduler } from '@tunvs/scheduler-lblc';
import {
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
    const hashing = name === 'dh' || name === 'sh' || name === 'mh';
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
          const cached = name === 'lblc' ? (inst as LblcScheduler).lookup(p.daddr) : null;
          const r = inst.schedule(svc, pkt);
          const eligible = svc.dests.filter(
            (d) => d.weight > 0 && !d.overloaded && (name !== 'ovf' || d.activeConns <= d.weight),
          );
          if (r === null) {
            // sh with fallback probes every bucket; others without a hash must find one
            const mayMiss = (hashing && !(name === 'sh' && svcFlags & SvcFlag.SCHED1)) || false;
            if (eligible.length > 0 && !mayMiss) return false;
            continue;
          }
          if (!svc.dests.includes(r)) return false;
          if (r.weight === 0) return false;
          if (r.overloaded && !(name === 'lblc' && r === cached)) return false;
          if (name === 'ovf' && r.activeConns > r.weight) return false;
          // the connection opens: counters move as the conntrack would
          r.activeConns++;
        }
        return true;
      }),
      { seed: 42, numRuns: 150 },
    );
    t.end();
  });
}
