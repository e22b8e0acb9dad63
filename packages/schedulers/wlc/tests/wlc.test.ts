import t from 'tap';
import fc from 'fast-check';
import { activeRun, destSpecsArb, svcOf } from '@tunvs/scheduler/testing';
import type { DestSpecForTest } from '@tunvs/scheduler/testing';
import { newSchedPacket, overhead } from '@tunvs/scheduler';
import { wlcScheduler } from '../src/index.js';

const pkt = newSchedPacket();

const arbSpecs = destSpecsArb(fc) as fc.Arbitrary<DestSpecForTest[]>;

t.test('reference sequence: list C(1), B(2), A(3), connections stay active', (t) => {
  const { svc } = svcOf([{ w: 1 }, { w: 2 }, { w: 3 }]);
  t.equal(activeRun(wlcScheduler.create(svc), svc, 'CBA', 12), 'CBAABACBAABA');
  const eq = svcOf([{ w: 1 }, { w: 1 }, { w: 1 }]);
  t.equal(activeRun(wlcScheduler.create(eq.svc), eq.svc, 'CBA', 6), 'CBACBA');
  t.end();
});

t.test('OVERLOAD skipped, weight 0 never wins, none -> null', (t) => {
  const { svc, ds } = svcOf([{ w: 0 }, { w: 1, a: 5, over: true }, { w: 1, a: 9 }]);
  const wlc = wlcScheduler.create(svc);
  t.equal(wlc.schedule(svc, pkt), ds[2]);
  ds[2]!.weight = 0;
  t.equal(wlc.schedule(svc, pkt), null);
  t.end();
});

t.test('property: the pick minimises overhead/weight, earliest on ties', (t) => {
  fc.assert(
    fc.property(arbSpecs, (specs) => {
      const { svc, ds } = svcOf(specs);
      const r = wlcScheduler.create(svc).schedule(svc, pkt);
      const el = ds.filter((d) => d.weight > 0 && !d.overloaded);
      if (el.length === 0) return r === null;
      if (!r || !el.includes(r)) return false;
      // nobody strictly better, nobody equal earlier
      return el.every((d) => {
        const lhs = overhead(d) * r.weight;
        const rhs = overhead(r) * d.weight;
        return lhs > rhs || (lhs === rhs && ds.indexOf(d) >= ds.indexOf(r));
      });
    }),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});
