import t from 'tap';
import fc from 'fast-check';
import { newSchedPacket } from '@tunvs/scheduler';
import { activeRun, destSpecsArb, svcOf } from '@tunvs/scheduler/testing';
import type { DestSpecForTest } from '@tunvs/scheduler/testing';
import { sedScheduler } from '../src/index.js';

const pkt = newSchedPacket();

const arbSpecs = destSpecsArb(fc) as fc.Arbitrary<DestSpecForTest[]>;

t.test('reference sequence: list C(1), B(2), A(3) -> A B A C B A A B A C B A', (t) => {
  const { svc } = svcOf([{ w: 1 }, { w: 2 }, { w: 3 }]);
  t.equal(activeRun(sedScheduler.create(svc), svc, 'CBA', 12), 'ABACBAABACBA');
  t.end();
});

t.test('inactive connections are ignored; OVERLOAD and weight 0 skipped', (t) => {
  const { svc, ds } = svcOf([{ w: 1, i: 1000 }, { w: 1, a: 1 }, { w: 0 }, { w: 5, over: true }]);
  const sed = sedScheduler.create(svc);
  t.equal(sed.schedule(svc, pkt), ds[0]);
  ds[0]!.weight = 0;
  ds[1]!.weight = 0;
  t.equal(sed.schedule(svc, pkt), null);
  t.end();
});

t.test('property: the pick minimises (A+1)/w, earliest on ties', (t) => {
  fc.assert(
    fc.property(arbSpecs, (specs) => {
      const { svc, ds } = svcOf(specs);
      const r = sedScheduler.create(svc).schedule(svc, pkt);
      const el = ds.filter((d) => d.weight > 0 && !d.overloaded);
      if (el.length === 0) return r === null;
      if (!r || !el.includes(r)) return false;
      return el.every((d) => {
        const lhs = (d.activeConns + 1) * r.weight;
        const rhs = (r.activeConns + 1) * d.weight;
        return lhs > rhs || (lhs === rhs && ds.indexOf(d) >= ds.indexOf(r));
      });
    }),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});
