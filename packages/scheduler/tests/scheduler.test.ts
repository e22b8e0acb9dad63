import t from 'tap';
import fc from 'fast-check';
import { Dest, DestFlag, Service, ControlError } from '@tunvs/model';
import {
  bitLength,
  foldIPv6,
  gcd,
  hash32,
  hsipKey,
  hsiphash32,
  hsiphashBytes,
  lblcOverloaded,
  leastWeightedConn,
  newSchedPacket,
  overhead,
  productGreater,
  randomBelow,
  SchedulerRegistry,
  seededRandom,
  sedOverhead,
  UnknownSchedulerError,
} from '../src/index.js';
import type { SchedulerFactory } from '../src/index.js';

const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;

function dest(addr: string, weight: number, active = 0, inact = 0): Dest {
  const d = new Dest(ip(addr), 80, { weight });
  d.activeConns = active;
  d.inactConns = inact;
  return d;
}

t.test('hash_32 matches the reference examples (8 and 10 bits)', (t) => {
  const cases: [string, number, number][] = [
    ['192.168.1.10', 248, 995],
    ['10.0.0.1', 39, 159],
    ['10.0.0.2', 137, 550],
    ['172.16.0.5', 1, 5],
    ['1.2.3.4', 52, 209],
    ['255.255.255.255', 158, 632],
    ['0.0.0.0', 0, 0],
  ];
  for (const [a, h8, h10] of cases) {
    t.equal(hash32(ip(a), 8), h8, `${a} / 8`);
    t.equal(hash32(ip(a), 10), h10, `${a} / 10`);
  }
  // 2001:db8::1 folds to 0x20010db9 -> 63
  const f = foldIPv6(0x20010db8, 0, 0, 1);
  t.equal(f, 0x20010db9);
  t.equal(hash32(f, 8), 63);
  t.end();
});

t.test('hsiphash reproduces the kernel self-test vectors (key 00..0f)', (t) => {
  const k0 = 0x0706050403020100n;
  const k1 = 0x0f0e0d0c0b0a0908n;
  const want = [0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328];
  for (let len = 0; len < want.length; len++) {
    const msg = new Uint8Array(len).map((_, i) => i);
    t.equal(hsiphashBytes(msg, k0, k1), want[len], `length ${len}`);
  }
  // the one-word fast path agrees with the byte version on the 4-byte vector
  const key = hsipKey(k0, k1);
  t.equal(hsiphash32(0x03020100, key), want[4]);
  t.end();
});

t.test('mh keys give the reference values', (t) => {
  const key1 = hsipKey(2654435761n, 2654435761n);
  const key2 = hsipKey(2654446892n, 2654446892n);
  t.equal(hsiphash32(0, key1), 0x1d5a77c2);
  t.equal(hsiphash32(1, key1), 0x16ec66b2);
  t.equal(hsiphash32(0, key2), 0xf882433f);
  t.equal(hsiphash32(ip('192.168.1.10'), key1), 0xd5e959b6);
  t.end();
});

t.test('fast hsiphash32 equals the BigInt reference (property)', (t) => {
  const k0 = 2654435761n;
  const k1 = 0x0123456789abcdefn;
  const key = hsipKey(k0, k1);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
      const le = new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
      return hsiphash32(v, key) === hsiphashBytes(le, k0, k1);
    }),
    { seed: 42, numRuns: 500 },
  );
  t.end();
});

t.test('overhead: classic 256*A + I, 2026 257*A + I (the service\'s kernel); the 1.3 distinguishing example', (t) => {
  const x = dest('10.0.0.1', 1, 1, 0);
  const y = dest('10.0.0.2', 1, 0, 256);
  t.equal(overhead(x), 256, 'outside a service: classic');
  const classic = new Service({});
  classic.insertDest(y);
  classic.insertDest(x);
  t.equal(classic.kernel, 'classic', 'services default to classic');
  t.equal(overhead(x), 256);
  t.equal(overhead(y), 256);
  t.equal(leastWeightedConn([x, y]), x, 'classic tie keeps the first');
  const k2026 = new Service({ kernel: '2026' });
  k2026.insertDest(y);
  k2026.insertDest(x);
  t.equal(overhead(x), 257);
  t.equal(overhead(y), 256);
  t.equal(leastWeightedConn([x, y]), y);
  t.equal(sedOverhead(x), 2);
  t.end();
});

t.test('productGreater is exact beyond 2^53', (t) => {
  t.equal(productGreater(3, 4, 2, 6), false);
  t.equal(productGreater(3, 5, 2, 7), true);
  const big = 0x7fffffff;
  t.equal(productGreater(big, big, big, big - 1), true);
  t.equal(productGreater(big, big - 1, big, big), false);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0x7fffffff }),
      fc.integer({ min: 0, max: 0x7fffffff }),
      fc.integer({ min: 0, max: 0x7fffffff }),
      fc.integer({ min: 0, max: 0x7fffffff }),
      (a, b, c, d) => productGreater(a, b, c, d) === BigInt(a) * BigInt(b) > BigInt(c) * BigInt(d),
    ),
    { seed: 42, numRuns: 300 },
  );
  t.end();
});

t.test('wlc rule: skips OVERLOAD, never starts at weight 0, ties keep the earlier', (t) => {
  const a = dest('10.0.0.1', 0, 0, 0);
  const b = dest('10.0.0.2', 2, 4, 0);
  const c = dest('10.0.0.3', 1, 2, 0);
  const d = dest('10.0.0.4', 5, 0, 0);
  d.flags |= DestFlag.OVERLOAD;
  t.equal(leastWeightedConn([a, b, c, d]), b, 'b and c tie at 512/unit: b first');
  t.equal(leastWeightedConn([a]), null);
  t.equal(leastWeightedConn([]), null);
  t.end();
});

t.test('lblc overload test', (t) => {
  const svc = new Service({});
  const a = dest('10.0.0.1', 2, 3);
  const b = dest('10.0.0.2', 4, 2);
  svc.insertDest(b);
  svc.insertDest(a);
  t.equal(lblcOverloaded(a, svc), false, 'nobody is below half its weight');
  b.activeConns = 1;
  t.equal(lblcOverloaded(a, svc), true);
  t.equal(lblcOverloaded(b, svc), false, 'A <= w is never overloaded');
  t.end();
});

t.test('gcd, bitLength, seeded random', (t) => {
  t.equal(gcd(12, 18), 6);
  t.equal(gcd(7, 0), 7);
  t.equal(bitLength(0), 0);
  t.equal(bitLength(1), 1);
  t.equal(bitLength(255), 8);
  t.equal(bitLength(256), 9);
  const r1 = seededRandom(7);
  const r2 = seededRandom(7);
  const s1 = Array.from({ length: 5 }, () => r1());
  t.same(s1, Array.from({ length: 5 }, () => r2()));
  t.ok(s1.every((x) => x >= 0 && x < 1));
  const counts = [0, 0, 0];
  const r3 = seededRandom(1);
  for (let i = 0; i < 3000; i++) counts[randomBelow(r3, 3)]!++;
  t.ok(counts.every((c) => c > 900 && c < 1100), `roughly uniform: ${counts.join(',')}`);
  t.end();
});

t.test('registry: lookup, duplicate and empty names, unknown names list the valid ones', (t) => {
  const f = (name: string): SchedulerFactory => ({ name, description: name, create: () => ({ schedule: () => null }) });
  const reg = new SchedulerRegistry([f('rr'), f('wlc')]);
  t.same(reg.names(), ['rr', 'wlc']);
  t.equal(reg.get('rr').name, 'rr');
  t.ok(reg.has('wlc'));
  t.throws(() => reg.register(f('rr')), { code: 'EEXIST' });
  t.throws(() => reg.register(f('')), { code: 'EINVAL' });
  try {
    reg.get('nope');
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof UnknownSchedulerError);
    t.ok(e instanceof ControlError);
    t.equal((e as ControlError).code, 'ENOENT');
    t.match((e as Error).message, /nope.*rr, wlc/);
  }
  const p = newSchedPacket();
  t.same(p, { protocol: 0, saddr: 0, sport: 0, daddr: 0, dport: 0, inverse: false });
  t.end();
});
