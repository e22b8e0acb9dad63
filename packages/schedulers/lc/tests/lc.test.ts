import t from 'tap';
import fc from 'fast-check';
import { activeRun, destSpecsArb, svcOf } from '@tunvs/scheduler/testing';
import type { DestSpecForTest } from '@tunvs/scheduler/testing';
import { DestFlag } from '@tunvs/model';
import { newSchedPacket, overhead } from '@tunvs/scheduler';
import { lcScheduler } from '../src/index.js';

const pkt = newSchedPacket();

const arbSpecs = destSpecsArb(fc) as fc.Arbitrary<DestSpecForTest[]>;

t.test('smallest overhead wins, ties -> first in list, weight ignored except 0', (t) => {
  const { svc, ds } = svcOf([{ w: 1, a: 1 }, { w: 9, a: 0, i: 300 }, { w: 1, a: 0, i: 256 }, { w: 0 }]);
  const lc = lcScheduler.create(svc);
  t.equal(lc.schedule(svc, pkt), ds[0], '256 vs 300 vs 256: first of the tied');
  ds[0]!.flags |= DestFlag.OVERLOAD;
  t.equal(lc.schedule(svc, pkt), ds[2]);
  t.end();
});

t.test('section 1.3 example: classic picks X, 2026 picks Y', (t) => {
  const { svc, ds } = svcOf([{ w: 1, a: 1 }, { w: 1, i: 256 }]);
  const lc = lcScheduler.create(svc);
  t.equal(lc.schedule(svc, pkt), ds[0]);
  const k = svcOf([{ w: 1, a: 1 }, { w: 1, i: 256 }], '2026');
  t.equal(lcScheduler.create(k.svc).schedule(k.svc, pkt), k.ds[1]);
  t.end();
});

t.test('with all-active connections and equal weights lc cycles C B A', (t) => {
  const { svc } = svcOf([{ w: 1 }, { w: 2 }, { w: 3 }]);
  t.equal(activeRun(lcScheduler.create(svc), svc, 'CBA', 6), 'CBACBA');
  t.end();
});

t.test('property: the pick has the minimal overhead and is the first such', (t) => {
  fc.assert(
    fc.property(arbSpecs, (specs) => {
      const { svc, ds } = svcOf(specs);
      const r = lcScheduler.create(svc).schedule(svc, pkt);
      const el = ds.filter((d) => d.weight > 0 && !d.overloaded);
      if (el.length === 0) return r === null;
      const min = Math.min(...el.map(overhead));
      return r === el.find((d) => overhead(d) === min);
    }),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});
