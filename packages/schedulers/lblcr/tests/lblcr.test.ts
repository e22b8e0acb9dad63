import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import { lblcrScheduler } from '../src/index.js';
import type { LblcrScheduler } from '../src/index.js';

const pkt = newSchedPacket();

function setup(weights: number[], expiration?: number) {
  const svc = new Service({});
  const ds = weights.map((w, i) => new Dest(0xc0000201 + i, 80, { weight: w }));
  for (let i = ds.length - 1; i >= 0; i--) svc.insertDest(ds[i]!);
  let now = 0;
  const opts = expiration === undefined ? { now: () => now } : { now: () => now, expiration };
  const s = lblcrScheduler.create(svc, opts) as LblcrScheduler;
  return { svc, ds, s, at: (ms: number) => (now = ms) };
}

t.test('a set grows when its least-loaded member is lblc-overloaded; new members at the front', (t) => {
  const { svc, ds, s } = setup([1, 4]);
  pkt.daddr = 0x0a000001;
  t.equal(s.schedule(svc, pkt), ds[0]);
  t.same(s.members(pkt.daddr), [ds[0]]);
  ds[0]!.activeConns = 2; // A > w(1) and B (0 active) below half -> overloaded
  t.equal(s.schedule(svc, pkt), ds[1]);
  t.same(s.members(pkt.daddr), [ds[1], ds[0]]);
  // the set's weighted least-loaded member is used while it is fine
  ds[1]!.activeConns = 1;
  t.equal(s.schedule(svc, pkt), ds[1]);
  t.end();
});

t.test('the cached path skips OVERLOADed and weight-0 members', (t) => {
  const { svc, ds, s } = setup([1, 1]);
  pkt.daddr = 0x0a000001;
  t.equal(s.schedule(svc, pkt), ds[0]);
  ds[0]!.flags |= DestFlag.OVERLOAD;
  t.equal(s.schedule(svc, pkt), ds[1], 'rescheduled and added');
  t.same(s.members(pkt.daddr), [ds[1], ds[0]]);
  ds[0]!.flags &= ~DestFlag.OVERLOAD;
  ds[1]!.weight = 0;
  t.equal(s.schedule(svc, pkt), ds[0]);
  t.end();
});

t.test('after the expiration an unchanged multi-member set drops its most loaded member', (t) => {
  const { svc, ds, s, at } = setup([1, 4], 60);
  pkt.daddr = 0x0a000001;
  s.schedule(svc, pkt);
  ds[0]!.activeConns = 2;
  s.schedule(svc, pkt); // set = [B, A], lastmod 0
  ds[0]!.activeConns = 0;
  at(60_000);
  s.schedule(svc, pkt);
  t.equal(s.members(pkt.daddr).length, 2, 'not yet: needs now > lastmod + expiration');
  at(60_001);
  ds[1]!.activeConns = 3;
  t.equal(s.schedule(svc, pkt), ds[0]);
  t.same(s.members(pkt.daddr), [ds[0]], 'B (3/4 > 0/1) was dropped');
  t.end();
});

t.test('GC full check drops old entries with their sets', (t) => {
  const { svc, s } = setup([1, 1], 600);
  pkt.daddr = 5;
  s.schedule(svc, pkt);
  t.equal(s.entries, 1);
  s.tick(30 * 60_000);
  t.equal(s.entries, 0);
  t.same(s.members(5), []);
  t.end();
});

t.test('property: picks are never weight 0 and never OVERLOADed; null only when none eligible', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ w: fc.integer({ min: 0, max: 4 }), a: fc.integer({ min: 0, max: 8 }), over: fc.boolean() }), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 30 }),
      (specs, addrs) => {
        const { svc, ds, s } = setup(specs.map((x) => x.w));
        ds.forEach((d, i) => {
          d.activeConns = specs[i]!.a;
          if (specs[i]!.over) d.flags |= DestFlag.OVERLOAD;
        });
        const any = ds.some((d) => d.weight > 0 && !d.overloaded);
        for (const a of addrs) {
          pkt.daddr = a;
          const r = s.schedule(svc, pkt);
          if (r === null ? any : r.weight === 0 || r.overloaded) return false;
          if (r) r.activeConns++;
        }
        return true;
      },
    ),
    { seed: 42, numRuns: 200 },
  );
  t.end();
});
