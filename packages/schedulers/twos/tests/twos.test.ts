import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import { twosScheduler } from '../src/index.js';

const pkt = newSchedPacket();

function setup(specs: { w: number; a?: number; over?: boolean }[]) {
  const svc = new Service({});
  const ds = specs.map((s, i) => {
    const d = new Dest(0xc0000201 + i, 80, { weight: s.w });
    d.activeConns = s.a ?? 0;
    if (s.over) d.flags |= DestFlag.OVERLOAD;
    return d;
  });
  for (let i = ds.length - 1; i >= 0; i--) svc.insertDest(ds[i]!);
  return { svc, ds };
}

/** A random source that yields r / (W + 1) for the given integers r. */
function scripted(values: number[], range: number): () => number {
  let i = 0;
  return () => (values[i++]! + 0.5) / range;
}

t.test('weighted draws over 0..W: r <= 0 after subtracting picks, lower weighted load wins', (t) => {
  // list A(w2, 3 active), B(w1, 0), C(w3, 1 active); W = 6, draws in 0..6
  const { svc, ds } = setup([{ w: 2, a: 3 }, { w: 1 }, { w: 3, a: 1 }]);
  const pick = (r1: number, r2: number) =>
    twosScheduler.create(svc, { random: scripted([r1, r2], 7) }).schedule(svc, pkt);
  // r = 0, 1, 2 -> A (A gets w + 1 = 3 outcomes); 3 -> B; 4, 5, 6 -> C
  t.equal(pick(0, 0), ds[0]);
  t.equal(pick(2, 2), ds[0]);
  t.equal(pick(3, 3), ds[1]);
  t.equal(pick(6, 6), ds[2]);
  // A (OH 768, w 2) vs B (OH 0, w 1): 1*768 > 2*0 -> B
  t.equal(pick(0, 3), ds[1]);
  // B vs A: choice2 = A only if 2*0 > 1*768: no -> B
  t.equal(pick(3, 0), ds[1]);
  // A vs C: 3*768 > 2*256 -> C
  t.equal(pick(1, 5), ds[2]);
  t.end();
});

t.test('OVERLOAD and weight 0 excluded from W and from the walk; none -> null', (t) => {
  const { svc, ds } = setup([{ w: 5, over: true }, { w: 0 }, { w: 1 }]);
  const tw = twosScheduler.create(svc, { seed: 1 });
  for (let i = 0; i < 20; i++) t.equal(tw.schedule(svc, pkt), ds[2]);
  ds[2]!.weight = 0;
  t.equal(tw.schedule(svc, pkt), null);
  t.end();
});

t.test('seeded runs are reproducible', (t) => {
  const { svc, ds } = setup([{ w: 1 }, { w: 2 }, { w: 3 }, { w: 4 }]);
  const run = (seed: number) => {
    const tw = twosScheduler.create(svc, { seed });
    return Array.from({ length: 50 }, () => ds.indexOf(tw.schedule(svc, pkt)!)).join('');
  };
  t.equal(run(99), run(99));
  t.not(run(99), run(100));
  t.end();
});

t.test('property: always an eligible destination; null only when none is eligible', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ w: fc.integer({ min: 0, max: 5 }), a: fc.integer({ min: 0, max: 20 }), over: fc.boolean() }), {
        minLength: 1,
        maxLength: 10,
      }),
      fc.integer(),
      (specs, seed) => {
        const { svc, ds } = setup(specs);
        const tw = twosScheduler.create(svc, { seed });
        const el = ds.filter((d) => d.weight > 0 && !d.overloaded);
        for (let i = 0; i < 10; i++) {
          const r = tw.schedule(svc, pkt);
          if (el.length === 0 ? r !== null : r === null || !el.includes(r)) return false;
        }
        return true;
      },
    ),
    { seed: 42, numRuns: 200 },
  );
  t.end();
});
