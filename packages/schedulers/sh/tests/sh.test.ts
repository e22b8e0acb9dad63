import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Proto, Service, SvcFlag } from '@tunvs/model';
import { newSchedPacket } from '@tunvs/scheduler';
import { shHashKey, shScheduler } from '../src/index.js';
import type { ShScheduler } from '../src/index.js';

const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
const pkt = newSchedPacket();
pkt.protocol = Proto.TCP;

/** weights in list order (index 0 = head) */
function setup(weights: number[], flags = 0) {
  const svc = new Service({ flags });
  const ds = weights.map((w, i) => new Dest(ip(`192.0.2.${i + 1}`), 80, { weight: w }));
  for (let i = ds.length - 1; i >= 0; i--) svc.insertDest(ds[i]!);
  return { svc, ds, sh: shScheduler.create(svc) as ShScheduler };
}

function counts(sh: ShScheduler, ds: Dest[]): number[] {
  return ds.map((d) => sh.table.filter((x) => x === d).length);
}

t.test('table build: max(weight, 1) consecutive buckets per destination', (t) => {
  let s = setup([1, 1, 1]);
  t.same(counts(s.sh, s.ds), [86, 85, 85]);
  t.equal(s.sh.table.slice(0, 6).map((d) => 'ABC'[s.ds.indexOf(d!)]).join(''), 'ABCABC');
  s = setup([3, 1, 0]);
  t.same(counts(s.sh, s.ds), [154, 51, 51]);
  t.equal(s.sh.table.slice(0, 10).map((d) => 'ABC'[s.ds.indexOf(d!)]).join(''), 'AAABCAAABC');
  s = setup([4, 3, 2]);
  t.same(counts(s.sh, s.ds), [116, 84, 56]);
  t.equal(s.sh.table.slice(0, 9).map((d) => 'ABC'[s.ds.indexOf(d!)]).join(''), 'AAAABBBCC');
  t.end();
});

t.test('hash keys from the reference', (t) => {
  t.equal(shHashKey(ip('192.168.1.10'), 0, 0), 248);
  t.equal(shHashKey(ip('192.168.1.10'), 12345, 0), 87);
  t.equal(shHashKey(ip('10.0.0.1'), 0, 0), 39);
  t.end();
});

t.test('table A1,B0: lookups, no fallback -> null, sh-fallback -> first probe 2h', (t) => {
  const s = setup([1, 0]);
  pkt.saddr = ip('192.168.1.10');
  t.equal(s.sh.schedule(s.svc, pkt), s.ds[0]);
  pkt.saddr = ip('10.0.0.1');
  t.equal(s.sh.table[39], s.ds[1]);
  t.equal(s.sh.schedule(s.svc, pkt), null, 'B has weight 0');
  const f = setup([1, 0], SvcFlag.SCHED1);
  t.equal(f.sh.table[78], f.ds[0]);
  t.equal(f.sh.schedule(f.svc, pkt), f.ds[0]);
  t.end();
});

t.test('sh-port hashes the source port (TCP/UDP/SCTP only); inverse uses daddr/dport', (t) => {
  const s = setup([1, 1, 1], SvcFlag.SCHED2);
  pkt.saddr = ip('192.168.1.10');
  pkt.sport = 12345;
  t.equal(s.sh.schedule(s.svc, pkt), s.sh.table[87]);
  pkt.protocol = Proto.ICMP;
  t.equal(s.sh.schedule(s.svc, pkt), s.sh.table[248]);
  pkt.protocol = Proto.TCP;
  pkt.inverse = true;
  pkt.daddr = ip('10.0.0.1');
  pkt.dport = 0;
  t.equal(s.sh.schedule(s.svc, pkt), s.sh.table[39]);
  pkt.inverse = false;
  pkt.sport = 0;
  t.end();
});

t.test('weight edits rebuild the table; OVERLOAD is unavailable; empty service -> null', (t) => {
  const s = setup([1, 1]);
  s.ds[0]!.weight = 3;
  s.sh.updDest(s.svc, s.ds[0]!);
  t.same(counts(s.sh, s.ds), [192, 64]);
  pkt.saddr = ip('192.168.1.10'); // bucket 248 -> position 248 % 4 = 0 -> A
  t.equal(s.sh.schedule(s.svc, pkt), s.ds[0]);
  s.ds[0]!.flags |= DestFlag.OVERLOAD;
  t.equal(s.sh.schedule(s.svc, pkt), null);
  const e = setup([]);
  t.equal(e.sh.schedule(e.svc, pkt), null);
  t.end();
});

t.test('property: with sh-fallback, null only when no destination is available', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ w: fc.integer({ min: 0, max: 4 }), over: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (specs, saddr) => {
        const s = setup(specs.map((x) => x.w), SvcFlag.SCHED1);
        s.ds.forEach((d, i) => specs[i]!.over && (d.flags |= DestFlag.OVERLOAD));
        pkt.saddr = saddr;
        const r = s.sh.schedule(s.svc, pkt);
        const any = s.ds.some((d) => d.weight > 0 && !d.overloaded);
        if (!any) return r === null;
        return r !== null && r.weight > 0 && !r.overloaded;
      },
    ),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});
