import t from 'tap';
import { Neighbours, NEIGH_STALE_MS } from '../src/neighbours.js';

/**
 * `lookup` answers from a cache of recent lookups in front of the address index. Whatever
 * happens to the entries (learning, eviction when full, expiry), it must answer exactly as
 * the index does: the slot holding the address's MAC, or -1.
 */
t.test('lookup agrees with the entries through learning, eviction and expiry', (t) => {
  const CAP = 8;
  const nb = new Neighbours(CAP);
  // 32 addresses that share one entry of the cache (10.0.k.k: the low byte mixed with the
  // next is 0 for all), 16 that have entries of their own, 16 above 2^31 (192.168.0.x)
  const addrs: number[] = [];
  for (let k = 0; k < 32; k++) addrs.push((0x0a000000 | (k << 8) | k) >>> 0);
  for (let i = 0; i < 16; i++) addrs.push((0x0a010100 + i) >>> 0);
  for (let i = 0; i < 16; i++) addrs.push((0xc0a80000 + i) >>> 0);
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const mac = new Uint8Array(6);
  let serial = 0;
  let now = 1000;
  let checks = 0;
  const check = (): void => {
    const listed = new Map(nb.entries(now).map((e) => [e.addr, e.mac]));
    for (const a of addrs) {
      const s = nb.lookup(a);
      const want = listed.get(a);
      if (want === undefined) {
        if (s !== -1) t.fail(`lookup(${a}) = ${s}, but it is not in the cache`);
      } else {
        const got = [...nb.macs.subarray(s * 6, s * 6 + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
        if (got !== want) t.fail(`lookup(${a}) = slot ${s} with ${got}, the entry has ${want}`);
      }
      checks++;
    }
  };
  for (let step = 0; step < 4000; step++) {
    const a = addrs[rnd(addrs.length)]!;
    const op = rnd(10);
    now += rnd(20_000);
    if (op < 6) {
      // learn: a new MAC each time, so that a stale slot shows
      serial++;
      mac[2] = serial >>> 24;
      mac[3] = serial >>> 16;
      mac[4] = serial >>> 8;
      mac[5] = serial;
      const s = nb.lookup(a);
      if (s >= 0) nb.update(s, mac, 0, true, now);
      else nb.create(a, mac, 0, now);
    } else if (op < 9) {
      nb.lookup(a);
    } else {
      nb.expire(now + rnd(2) * NEIGH_STALE_MS);
    }
    check();
  }
  t.ok(nb.counters.evicted > 100, `entries were evicted (${nb.counters.evicted})`);
  t.ok(nb.counters.expired > 100, `entries expired (${nb.counters.expired})`);
  t.equal(checks, 4000 * addrs.length, 'every address checked after every step');
  t.end();
});
