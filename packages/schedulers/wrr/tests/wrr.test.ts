import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service } from '@tunvs/model';
import { gcd, newSchedPacket } from '@tunvs/scheduler';
import { wrrScheduler } from '../src/index.js';
import type { WrrScheduler } from '../src/index.js';

const pkt = newSchedPacket();
const LETTERS = 'ABCDEFGHIJKLMNOP';

/**
 * Destinations with `weights` in *list order* (index 0 = head = A).
 * byAdds: create the service empty and add them one by one (last in list first), as ipvsadm;
 * otherwise the scheduler is created on the filled service.
 */
function setup(weights: number[], byAdds: boolean) {
  const svc = new Service({});
  const dests = weights.map((w, i) => new Dest(0x0a000001 + i, 80, { weight: w }));
  let wrr: WrrScheduler;
  if (byAdds) {
    wrr = wrrScheduler.create(svc) as WrrScheduler;
    for (let i = dests.length - 1; i >= 0; i--) {
      svc.insertDest(dests[i]!);
      wrr.addDest(svc, dests[i]!);
    }
  } else {
    for (let i = dests.length - 1; i >= 0; i--) svc.insertDest(dests[i]!);
    wrr = wrrScheduler.create(svc) as WrrScheduler;
  }
  const picks = (k: number): string =>
    Array.from({ length: k }, () => {
      const d = wrr.schedule(svc, pkt);
      return d ? LETTERS[dests.indexOf(d)]! : '-';
    }).join('');
  return { svc, wrr, dests, picks };
}

const table: [number[], string][] = [
  [[4, 3, 2], 'AABABCABC'],
  [[5, 1, 1], 'AAAAABC'],
  [[4, 2], 'AAB'],
  [[6, 4, 2], 'AABABC'],
  [[3, 0, 1], 'AAAC'],
  [[100, 50], 'AAB'],
  [[1, 1, 1], 'ABC'],
];

t.test('worked cycles from the reference (scheduler created on a filled service: cw = mw)', (t) => {
  for (const [w, cycle] of table) {
    const { picks } = setup(w, false);
    t.equal(picks(cycle.length * 3), cycle.repeat(3), `weights ${w.join(',')}`);
  }
  t.end();
});

t.test('built by adds one at a time: a first round at cw = 1, then the cycle', (t) => {
  const { picks, wrr } = setup([4, 3, 2], true);
  t.equal(wrr.cw, 1);
  t.equal(wrr.mw, 4);
  t.equal(picks(3 + 18), 'ABC' + 'AABABCABC'.repeat(2));
  for (const [w, cycle] of table) {
    const s = setup(w, true);
    const first = w.map((x, i) => (x > 0 ? LETTERS[i] : '')).join('');
    t.equal(s.picks(first.length + cycle.length * 2), first + cycle.repeat(2), `adds ${w.join(',')}`);
  }
  t.end();
});

t.test('dest_changed: cursor to head, cw kept / clamped / rounded to the gcd grid', (t) => {
  const { svc, wrr, dests, picks } = setup([4, 3, 2], false);
  t.equal(picks(2), 'AA');
  t.equal(wrr.cw, 3);
  dests[0]!.weight = 2; // edit A: max 3, gcd 1
  wrr.updDest(svc, dests[0]!);
  t.equal(wrr.mw, 3);
  t.equal(wrr.cw, 3, 'cw kept');
  t.equal(picks(1), 'B');
  // weights 4, 2 -> di 2, mw 3; a cw of 3 is rounded: (3/2)*2+1 = 3; a cw of 2 -> 3
  const s = setup([8, 4], false);
  s.wrr.cw = 2;
  s.dests[0]!.weight = 4;
  s.dests[1]!.weight = 2;
  s.wrr.updDest(s.svc, s.dests[0]!);
  t.equal(s.wrr.di, 2);
  t.equal(s.wrr.mw, 3);
  t.equal(s.wrr.cw, 3);
  // all weights 0 -> mw 0 -> none
  for (const d of dests) d.weight = 0;
  wrr.updDest(svc, dests[0]!);
  t.equal(wrr.mw, 0);
  t.equal(picks(1), '-');
  t.end();
});

t.test('OVERLOAD is skipped; all overloaded -> null, then recovers', (t) => {
  const { dests, picks } = setup([4, 3, 2], false);
  dests[0]!.flags |= DestFlag.OVERLOAD;
  t.equal(picks(7), 'BBCBC' + 'BB');
  for (const d of dests) d.flags |= DestFlag.OVERLOAD;
  t.equal(picks(2), '--');
  for (const d of dests) d.flags &= ~DestFlag.OVERLOAD;
  t.equal(picks(1).length, 1);
  t.notOk(picks(9).includes('-'));
  t.end();
});

t.test('property: one cycle gives every destination weight/gcd picks, in list order per round', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }), (weights) => {
      const { dests, wrr, svc } = setup(weights, false);
      const pos = weights.filter((w) => w > 0);
      if (pos.length === 0) return wrr.schedule(svc, pkt) === null;
      const g = pos.reduce((a, b) => gcd(a, b));
      const len = pos.reduce((a, b) => a + b / g, 0);
      const counts = new Map<Dest, number>();
      for (let i = 0; i < len; i++) {
        const d = wrr.schedule(svc, pkt)!;
        if (d.weight === 0) return false;
        counts.set(d, (counts.get(d) ?? 0) + 1);
      }
      return dests.every((d) => (counts.get(d) ?? 0) === d.weight / g);
    }),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});
