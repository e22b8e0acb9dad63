import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import type { SchedulerInstance } from '@tunvs/scheduler';
import { foScheduler } from '../src/index.js';

const pkt = newSchedPacket();

/** list order as given (index 0 = head); names are letters */
function svcOf(specs: { w: number; a?: number; i?: number; over?: boolean }[]): { svc: Service; ds: Dest[] } {
  const svc = new Service({});
  const ds = specs.map((s, k) => {
    const d = new Dest(0x0a000001 + k, 80, { weight: s.w });
    d.activeConns = s.a ?? 0;
    d.inactConns = s.i ?? 0;
    if (s.over) d.flags |= DestFlag.OVERLOAD;
    return d;
  });
  for (let k = ds.length - 1; k >= 0; k--) svc.insertDest(ds[k]!);
  return { svc, ds };
}

/** Schedule k times, each pick opening one connection that stays active. */
function activeRun(inst: SchedulerInstance, svc: Service, names: string, k: number): string {
  let out = "";
  for (let j = 0; j < k; j++) {
    const d = inst.schedule(svc, pkt);
    if (!d) return out + "-";
    d.activeConns++;
    out += names[svc.dests.indexOf(d)];
  }
  return out;
}

const arbSpecs = fc.array(
  fc.record({
    w: fc.integer({ min: 0, max: 10 }),
    a: fc.integer({ min: 0, max: 50 }),
    i: fc.integer({ min: 0, max: 300 }),
    over: fc.boolean(),
  }),
  { minLength: 0, maxLength: 10 },
);

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
