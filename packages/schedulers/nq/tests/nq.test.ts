import t from 'tap';
import fc from 'fast-check';
import { DestFlag } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import { activeRun, destSpecsArb, svcOf } from '@tunvs/scheduler/testing';
import type { DestSpecForTest } from '@tunvs/scheduler/testing';
import { nqScheduler } from '../src/index.js';

const pkt = newSchedPacket();

const arbSpecs = destSpecsArb(fc) as fc.Arbitrary<DestSpecForTest[]>;

t.test('reference sequence: list C(1), B(2), A(3) -> C B A A B A A B A C B A', (t) => {
  const { svc } = svcOf([{ w: 1 }, { w: 2 }, { w: 3 }]);
  t.equal(activeRun(nqScheduler.create(svc), svc, 'CBA', 12), 'CBAABAABACBA');
  t.end();
});

t.test('an idle server wins at once, even a light one; weight-0 idle servers do not', (t) => {
  const { svc, ds } = svcOf([{ w: 0 }, { w: 9, a: 1 }, { w: 1, i: 50 }, { w: 1 }]);
  const nq = nqScheduler.create(svc);
  t.equal(nq.schedule(svc, pkt), ds[2]);
  ds[2]!.flags |= DestFlag.OVERLOAD;
  t.equal(nq.schedule(svc, pkt), ds[3]);
  t.end();
});

t.test('property: first idle eligible server, else the sed choice', (t) => {
  fc.assert(
    fc.property(arbSpecs, (specs) => {
      const { svc, ds } = svcOf(specs);
      const r = nqScheduler.create(svc).schedule(svc, pkt);
      const el = ds.filter((d) => d.weight > 0 && !d.overloaded);
      if (el.length === 0) return r === null;
      const idle = el.find((d) => d.activeConns === 0);
      if (idle) return r === idle;
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
