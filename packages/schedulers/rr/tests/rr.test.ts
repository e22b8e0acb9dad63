import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import { rrScheduler } from '../src/index.js';
import type { RrScheduler } from '../src/index.js';

const pkt = newSchedPacket();

/** Service created empty, then destinations added one by one as ipvsadm -a does. */
function setup(names: string[], weights: number[] = names.map(() => 1)) {
  const svc = new Service({});
  const rr = rrScheduler.create(svc) as RrScheduler;
  const byName = new Map<string, Dest>();
  names.forEach((n, i) => {
    const d = new Dest(0x0a000001 + i, 80, { weight: weights[i] });
    byName.set(n, d);
    svc.insertDest(d);
    rr.addDest(svc, d);
  });
  const nameOf = new Map([...byName].map(([k, v]) => [v, k]));
  const picks = (k: number): string =>
    Array.from({ length: k }, () => {
      const d = rr.schedule(svc, pkt);
      return d ? nameOf.get(d)! : '-';
    }).join('');
  return { svc, rr, byName, picks, nameOf };
}

t.test('added A, B, C -> list order C, B, A -> C B A C B A', (t) => {
  const { picks } = setup(['A', 'B', 'C']);
  t.equal(picks(6), 'CBACBA');
  t.end();
});

t.test('a destination added mid-cycle is reached only after the wrap', (t) => {
  const { svc, rr, byName, picks } = setup(['A', 'B', 'C']);
  t.equal(picks(2), 'CB');
  const d = new Dest(0x0a0000ff, 80);
  svc.insertDest(d);
  rr.addDest(svc, d);
  byName.set('D', d);
  const nameOf = new Map([...byName].map(([k, v]) => [v, k]));
  const seq = Array.from({ length: 5 }, () => nameOf.get(rr.schedule(svc, pkt)!)).join('');
  t.equal(seq, 'ADCBA');
  t.end();
});

t.test('deleting the cursor destination: the next pick is the one that followed it', (t) => {
  const { svc, rr, byName, picks } = setup(['A', 'B', 'C']);
  t.equal(picks(2), 'CB');
  const b = byName.get('B')!;
  svc.removeDest(b);
  b.flags &= ~DestFlag.AVAILABLE;
  rr.delDest(svc, b);
  t.equal(picks(3), 'ACA');
  // deleting the head cursor goes back to the list head
  const { svc: s2, rr: r2, byName: n2, picks: p2 } = setup(['A', 'B', 'C']);
  t.equal(p2(1), 'C');
  const c = n2.get('C')!;
  s2.removeDest(c);
  r2.delDest(s2, c);
  t.equal(p2(3), 'BAB');
  t.end();
});

t.test('weight 0 and OVERLOAD are skipped; a lone eligible server repeats; none -> null', (t) => {
  const { byName, picks } = setup(['A', 'B', 'C'], [1, 0, 1]);
  t.equal(picks(4), 'CACA');
  byName.get('C')!.flags |= DestFlag.OVERLOAD;
  t.equal(picks(3), 'AAA');
  byName.get('A')!.weight = 0;
  t.equal(picks(2), '--');
  t.end();
});

t.test('empty service -> null', (t) => {
  const svc = new Service({});
  t.equal(rrScheduler.create(svc).schedule(svc, pkt), null);
  t.end();
});

t.test('property: every n picks visit each eligible destination exactly once', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ w: fc.integer({ min: 0, max: 3 }), over: fc.boolean() }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 20 }),
      (specs, warm) => {
        const { svc, rr } = setup(specs.map((_, i) => `d${i}`), specs.map((s) => s.w));
        svc.dests.forEach((d, i) => {
          if (specs[i]!.over) d.flags |= DestFlag.OVERLOAD;
        });
        const eligible = svc.dests.filter((d) => d.weight > 0 && !d.overloaded);
        for (let i = 0; i < warm; i++) rr.schedule(svc, pkt);
        const seen = new Map<Dest, number>();
        for (let i = 0; i < eligible.length; i++) {
          const d = rr.schedule(svc, pkt);
          if (!d) return false;
          seen.set(d, (seen.get(d) ?? 0) + 1);
        }
        if (eligible.length === 0) return rr.schedule(svc, pkt) === null;
        return seen.size === eligible.length && [...seen.values()].every((c) => c === 1);
      },
    ),
    { seed: 42, numRuns: 200 },
  );
  t.end();
});
