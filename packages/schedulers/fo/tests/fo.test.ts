import t from 'tap';
import fc from 'fast-check';
import { DestFlag } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import { activeRun, destSpecsArb, svcOf } from '@tunvs/scheduler/testing';
import type { DestSpecForTest } from '@tunvs/scheduler/testing';
import { foScheduler } from '../src/index.js';

const pkt = newSchedPacket();

const arbSpecs = destSpecsArb(fc) as fc.Arbitrary<DestSpecForTest[]>;

void activeRun;

t.test('highest weight wins, first on ties; overload fails over', (t) => {
  const { svc, ds } = svcOf([{ w: 2 }, { w: 5, a: 100 }, { w: 5 }, { w: 0 }]);
  const fo = foScheduler.create(svc);
  t.equal(fo.schedule(svc, pkt), ds[1]);
  ds[1]!.flags |= DestFlag.OVERLOAD;
  t.equal(fo.schedule(svc, pkt), ds[2]);
  ds[2]!.weight = 0;
  t.equal(fo.schedule(svc, pkt), ds[0]);
  ds[0]!.weight = 0;
  t.equal(fo.schedule(svc, pkt), null);
  t.end();
});

t.test('property: max weight among eligible, first of equals', (t) => {
  fc.assert(
    fc.property(arbSpecs, (specs) => {
      const { svc, ds } = svcOf(specs);
      const r = foScheduler.create(svc).schedule(svc, pkt);
      const el = ds.filter((d) => d.weight > 0 && !d.overloaded);
      if (el.length === 0) return r === null;
      const max = Math.max(...el.map((d) => d.weight));
      return r === el.find((d) => d.weight === max);
    }),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});
