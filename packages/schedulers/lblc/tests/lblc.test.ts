import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import { LBLC_MAX_SIZE, lblcScheduler } from '../src/index.js';
import type { LblcScheduler } from '../src/index.js';

const pkt = newSchedPacket();

function setup(weights: number[]) {
  const svc = new Service({});
  const ds = weights.map((w, i) => new Dest(0xc0000201 + i, 80, { weight: w }));
  for (let i = ds.length - 1; i >= 0; i--) svc.insertDest(ds[i]!);
  let now = 0;
  const lblc = lblcScheduler.create(svc, { now: () => now }) as LblcScheduler;
  return { svc, ds, lblc, at: (ms: number) => (now = ms) };
}

t.test('first pick by wlc, then the cached server for the same daddr', (t) => {
  const { svc, ds, lblc } = setup([1, 1]);
  pkt.daddr = 0x0a000001;
  t.equal(lblc.schedule(svc, pkt), ds[0]);
  ds[0]!.activeConns = 1; // wlc would now prefer B; the cache keeps A (A <= w)
  t.equal(lblc.schedule(svc, pkt), ds[0]);
  pkt.daddr = 0x0a000002;
  t.equal(lblc.schedule(svc, pkt), ds[1], 'another address is scheduled afresh');
  t.equal(lblc.entries, 2);
  t.end();
});

t.test('quirk: the cached path ignores the OVERLOAD flag, but not weight 0 or removal', (t) => {
  const { svc, ds, lblc } = setup([1, 1]);
  pkt.daddr = 0x0a000001;
  t.equal(lblc.schedule(svc, pkt), ds[0]);
  ds[0]!.flags |= DestFlag.OVERLOAD;
  t.equal(lblc.schedule(svc, pkt), ds[0], 'OVERLOAD flag not checked for the cached entry');
  ds[0]!.flags &= ~DestFlag.OVERLOAD;
  ds[0]!.weight = 0;
  t.equal(lblc.schedule(svc, pkt), ds[1], 'weight 0 -> rescheduled, entry replaced');
  t.equal(lblc.lookup(0x0a000001), ds[1]);
  ds[0]!.weight = 1;
  ds[1]!.flags &= ~DestFlag.AVAILABLE;
  ds[1]!.activeConns = 5;
  t.equal(lblc.schedule(svc, pkt), ds[0], 'removed (not AVAILABLE) -> rescheduled');
  t.equal(lblc.entries, 1);
  t.end();
});

t.test('lblc overload: A > w while another server is below half its weight', (t) => {
  const { svc, ds, lblc } = setup([1, 4]);
  pkt.daddr = 0x0a000001;
  t.equal(lblc.schedule(svc, pkt), ds[0]);
  ds[0]!.activeConns = 2;
  ds[1]!.activeConns = 2; // 2*2 < 4 is false: nobody below half -> keep A
  t.equal(lblc.schedule(svc, pkt), ds[0]);
  ds[1]!.activeConns = 1; // 2 < 4 -> A is lblc-overloaded -> wlc picks B
  t.equal(lblc.schedule(svc, pkt), ds[1]);
  t.equal(lblc.lookup(0x0a000001), ds[1]);
  t.end();
});

t.test('GC: full expiry every 30th run drops entries older than the expiration', (t) => {
  const svc = new Service({});
  const d = new Dest(1, 80);
  svc.insertDest(d);
  const lblc = lblcScheduler.create(svc, { expiration: 3600 }) as LblcScheduler;
  pkt.daddr = 7;
  lblc.schedule(svc, pkt); // lastuse 0
  lblc.tick(10 * 60_000);
  pkt.daddr = 8;
  lblc.schedule(svc, pkt); // lastuse 10 min
  t.equal(lblc.entries, 2);
  // runs at 1..29 min only count; the run at 30 min is the full check: nothing is 1 h old yet
  lblc.tick(30 * 60_000);
  t.equal(lblc.counter, 1);
  t.equal(lblc.entries, 2);
  // next full check at 60 min: entry 7 (lastuse 0) is exactly 1 h old -> dropped; 8 stays
  lblc.tick(59 * 60_000);
  t.equal(lblc.entries, 2);
  lblc.tick(60 * 60_000);
  t.equal(lblc.entries, 1);
  t.equal(lblc.lookup(7), null);
  t.equal(lblc.lookup(8), d);
  t.end();
});

t.test('GC: above max_size, the partial run drops 6-minute idle entries up to the goal', (t) => {
  const svc = new Service({});
  const d = new Dest(1, 80);
  svc.insertDest(d);
  const lblc = lblcScheduler.create(svc) as LblcScheduler;
  const n = LBLC_MAX_SIZE + 300;
  for (let i = 0; i < n; i++) {
    pkt.daddr = 0x0b000000 + i;
    lblc.schedule(svc, pkt);
  }
  t.equal(lblc.entries, n);
  lblc.tick(60_000); // entries only 1 min old: nothing to drop
  t.equal(lblc.entries, n);
  lblc.tick(7 * 60_000);
  // goal = 300 * 4 / 3 = 400, checked after each bucket: at least 400 gone, far from all
  t.ok(lblc.entries <= n - 400 && lblc.entries > n - 600, `entries ${lblc.entries}`);
  t.end();
});

t.test('2026 mode: no new entries at 1.5 x max_size, the chosen server is still used', (t) => {
  const svc = new Service({ kernel: '2026' });
  const d = new Dest(1, 80);
  svc.insertDest(d);
  const lblc = lblcScheduler.create(svc) as LblcScheduler;
  const cap = (LBLC_MAX_SIZE * 3) / 2;
  for (let i = 0; i < cap + 10; i++) {
    pkt.daddr = 0x0c000000 + i;
    if (lblc.schedule(svc, pkt) !== d) t.fail('no dest');
  }
  t.equal(lblc.entries, cap);
  t.end();
});

t.test('property: a repeated daddr with unchanged counters keeps its server', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
      (weights, addrs) => {
        const { svc, lblc } = setup(weights);
        for (const a of addrs) {
          pkt.daddr = a;
          const first = lblc.schedule(svc, pkt);
          const again = lblc.schedule(svc, pkt);
          if (first !== again) return false;
          if (first && first.weight === 0) return false;
          if (!first && weights.some((w) => w > 0)) return false;
        }
        return true;
      },
    ),
    { seed: 42, numRuns: 200 },
  );
  t.end();
});
