import t from 'tap';
import fc from 'fast-check';
import { Dest, Proto, Service, SvcFlag } from '@tunvs/model';
import { hsiphashBytes, newSchedPacket } from '@tunvs/scheduler';
import { MH_KEY2, mhHashKey, mhScheduler } from '../src/index.js';
import type { MhScheduler } from '../src/index.js';

const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
const pkt = newSchedPacket();
pkt.protocol = Proto.TCP;

/** addresses in list order (index 0 = head), port 80 */
function setup(addrs: string[], weights: number[] = addrs.map(() => 1), flags = 0) {
  const svc = new Service({ flags });
  const ds = addrs.map((a, i) => new Dest(ip(a), 80, { weight: weights[i] }));
  for (let i = ds.length - 1; i >= 0; i--) svc.insertDest(ds[i]!);
  return { svc, ds, mh: mhScheduler.create(svc) as MhScheduler };
}

const ABC = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const count = (mh: MhScheduler, d: Dest): number => mh.table.filter((x) => x === d).length;

t.test('worked example: offsets, skips, slot counts, first 20 slots', (t) => {
  const { mh, ds } = setup(ABC);
  t.equal(mh.size, 4093);
  const M = 4093;
  const os = ds.map((d) => [mhHashKey(d.addr, 80, 0) % M, (mhHashKey(d.addr, 80, 0, MH_KEY2) % (M - 1)) + 1]);
  t.same(os, [
    [3167, 700],
    [1231, 3544],
    [1631, 3453],
  ]);
  t.same(ds.map((d) => count(mh, d)), [1365, 1364, 1364]);
  t.equal(mh.table.slice(0, 20).map((d) => 'ABC'[ds.indexOf(d!)]).join(''), 'ABBCCABCCAABBAACBBAA');
  t.end();
});

t.test('worked lookups, mh-fallback and mh-port', (t) => {
  const { svc, ds, mh } = setup(ABC);
  const cases: [string, number][] = [
    ['192.168.1.10', 0],
    ['192.168.1.11', 0],
    ['10.1.2.3', 0],
    ['172.16.0.5', 2],
  ];
  for (const [a, pos] of cases) {
    pkt.saddr = ip(a);
    t.equal(mh.schedule(svc, pkt), ds[pos], a);
  }
  t.equal(mhHashKey(ip('192.168.1.10'), 0, 0), 0xd5e959b6);
  // C quiesced: the table keeps C (last_weight), lookups find it unavailable
  ds[2]!.weight = 0;
  mh.updDest(svc, ds[2]!);
  t.equal(count(mh, ds[2]!), 1364);
  pkt.saddr = ip('172.16.0.5');
  t.equal(mh.schedule(svc, pkt), null, 'no fallback');
  svc.flags |= SvcFlag.SCHED1;
  t.equal(mhHashKey(ip('172.16.0.5'), 0, 82) % 4093, 2852);
  t.equal(mh.schedule(svc, pkt), ds[0], 'fallback probe r = 82 -> slot 2852 -> A');
  svc.flags = SvcFlag.SCHED2;
  ds[2]!.weight = 1;
  pkt.saddr = ip('192.168.1.10');
  pkt.sport = 12345;
  t.equal(mh.schedule(svc, pkt), ds[2], 'mh-port -> slot 1391 -> C');
  t.equal(mh.table[1391], ds[2]);
  pkt.sport = 0;
  t.end();
});

t.test('weights 2:1 and adding a fourth destination at the head', (t) => {
  const w = setup(ABC.slice(0, 2), [2, 1]);
  t.same(w.ds.map((d) => count(w.mh, d)), [2729, 1364]);
  const { svc, ds, mh } = setup(ABC);
  const before = mh.table.slice();
  const d = new Dest(ip('10.0.0.4'), 80);
  svc.insertDest(d);
  mh.addDest(svc, d);
  t.equal(count(mh, d), 1024);
  let moved = 0;
  for (let i = 0; i < mh.size; i++) if (mh.table[i] !== d && mh.table[i] !== before[i]) moved++;
  t.equal(moved, 10);
  // removing it again restores the old table exactly
  svc.removeDest(d);
  mh.delDest(svc, d);
  t.same(mh.table, before);
  t.ok(ds.every((x) => count(mh, x) > 0));
  t.end();
});

t.test('no destinations / all last weights 0 -> empty table -> null; table index option', (t) => {
  const e = setup([]);
  t.ok(e.mh.table.every((x) => x === null));
  t.equal(e.mh.schedule(e.svc, pkt), null);
  const z = setup(ABC, [0, 0, 0]);
  t.ok(z.mh.table.every((x) => x === null));
  const small = mhScheduler.create(e.svc, { tableIndex: 8 }) as MhScheduler;
  t.equal(small.size, 251);
  t.throws(() => mhScheduler.create(e.svc, { tableIndex: 18 }), RangeError);
  t.end();
});

t.test('property: the table is full, shares follow weights, hashes match the BigInt reference', (t) => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 0xfffffffe }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 12, maxLength: 12 }),
      (addrs, weights) => {
        const svc = new Service({});
        const ds = addrs.map((a, i) => new Dest(a, 80, { weight: weights[i]! }));
        for (const d of ds) svc.insertDest(d);
        const mh = mhScheduler.create(svc, { tableIndex: 8 }) as MhScheduler;
        if (mh.table.some((x) => x === null)) return false;
        const total = ds.reduce((s, d) => s + d.weight, 0);
        for (const d of ds) {
          const share = count(mh, d) / mh.size;
          if (Math.abs(share - d.weight / total) > 0.02 + 1 / ds.length) return false;
        }
        const v = addrs[0]!;
        const le = new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
        return mhHashKey(v, 0, 0) === hsiphashBytes(le, 2654435761n, 2654435761n);
      },
    ),
    { seed: 42, numRuns: 100 },
  );
  t.end();
});
