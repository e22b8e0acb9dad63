import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service } from '@tunvs/model';
import { hash32, newSchedPacket } from '@tunvs/scheduler';
import { dhScheduler } from '../src/index.js';
import type { DhScheduler } from '../src/index.js';

const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
const pkt = newSchedPacket();

function setup(n: number) {
  const svc = new Service({});
  const ds = Array.from({ length: n }, (_, i) => new Dest(ip(`192.0.2.${i + 1}`), 80));
  for (let i = n - 1; i >= 0; i--) svc.insertDest(ds[i]!);
  return { svc, ds, dh: dhScheduler.create(svc) as DhScheduler };
}

t.test('reference examples with 3 destinations (list positions)', (t) => {
  const { svc, ds, dh } = setup(3);
  const cases: [string, number][] = [
    ['10.0.0.1', 0],
    ['10.0.0.2', 2],
    ['192.168.1.10', 2],
    ['172.16.0.5', 1],
  ];
  for (const [a, pos] of cases) {
    pkt.daddr = ip(a);
    t.equal(dh.schedule(svc, pkt), ds[pos], a);
  }
  t.end();
});

t.test('unavailable bucket -> null (no fallback); weight edits do not rebuild; adds do', (t) => {
  const { svc, ds, dh } = setup(3);
  pkt.daddr = ip('10.0.0.1');
  ds[0]!.weight = 0;
  t.equal('updDest' in dh, false, 'dh has no edit hook: weight edits keep the table');
  t.equal(dh.schedule(svc, pkt), null);
  ds[0]!.weight = 1;
  ds[0]!.flags |= DestFlag.OVERLOAD;
  t.equal(dh.schedule(svc, pkt), null);
  ds[0]!.flags &= ~DestFlag.OVERLOAD;
  ds[0]!.flags &= ~DestFlag.AVAILABLE;
  t.equal(dh.schedule(svc, pkt), null);
  ds[0]!.flags |= DestFlag.AVAILABLE;
  const d = new Dest(ip('192.0.2.99'), 80);
  svc.insertDest(d);
  dh.addDest(svc, d);
  t.equal(dh.table[39], svc.dests[39 % 4]);
  svc.removeDest(d);
  dh.delDest(svc, d);
  t.equal(dh.table[39], ds[0]);
  t.end();
});

t.test('empty service -> empty table -> null', (t) => {
  const { svc, dh } = setup(0);
  t.ok(dh.table.every((x) => x === null));
  t.equal(dh.schedule(svc, pkt), null);
  t.end();
});

t.test('property: bucket i holds list position i mod n; lookup = table[hash_32(daddr, 8)]', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 0xffffffff }), (n, daddr) => {
      const { svc, ds, dh } = setup(n);
      if (!dh.table.every((d, i) => d === ds[i % n])) return false;
      pkt.daddr = daddr;
      return dh.schedule(svc, pkt) === ds[hash32(daddr, 8) % n];
    }),
    { seed: 42, numRuns: 200 },
  );
  t.end();
});
