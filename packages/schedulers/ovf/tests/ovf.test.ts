import t from 'tap';
import fc from 'fast-check';
import { newSchedPacket } from '@tunvs/scheduler';
import { activeRun, destSpecsArb, svcOf } from '@tunvs/scheduler/testing';
import type { DestSpecForTest } from '@tunvs/scheduler/testing';
import { ovfScheduler } from '../src/index.js';

const pkt = newSchedPacket();

const arbSpecs = destSpecsArb(fc) as fc.Arbitrary<DestSpecForTest[]>;

t.test('heaviest server until its active connections exceed its weight, then overflow', (t) => {
  const { svc } = svcOf([{ w: 1 }, { w: 3 }]);
  // B takes 4 (A == w still eligible), then A takes 2, then nothing
  t.equal(activeRun(ovfScheduler.create(svc), svc, 'AB', 7), 'BBBBAA-');
  t.end();
});

t.test('inactive ignored, OVERLOAD and weight 0 skipped, ties first', (t) => {
  const { svc, ds } = svcOf([{ w: 2, i: 999 }, { w: 2 }, { w: 7, over: true }, { w: 0 }]);
  t.equal(ovfScheduler.create(svc).schedule(svc, pkt), ds[0]);
  t.end();
});

t.test('property: max weight among A <= w eligible, first of equals', (t) => {
  fc.assert(
    fc.property(arbSpecs, (specs) => {
      const { svc, ds } = svcOf(specs);
      const r = ovfScheduler.create(svc).schedule(svc, pkt);
      const el = ds.filter((d) => d.weight > 0 && !d.overloaded && d.activeConns <= d.weight);
      if (el.length === 0) return r === null;
      const max = Math.max(...el.map((d) => d.weight));
      return r === el.find((d) => d.weight === max);
    }),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});
