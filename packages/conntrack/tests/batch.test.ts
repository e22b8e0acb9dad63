import t from 'tap';
import { ConnFlag } from '@tunvs/model';
import { TcpFlag } from '../src/index.js';
import type { ConnTable } from '../src/index.js';
import { CLIENT, RS1, TCP, UDP, VIP, setup } from './helpers.js';

interface Keys {
  proto: Uint8Array;
  caddr: Int32Array;
  cport: Uint16Array;
  vaddr: Int32Array;
  vport: Uint16Array;
}

function keys(n: number): Keys {
  return { proto: new Uint8Array(n), caddr: new Int32Array(n), cport: new Uint16Array(n), vaddr: new Int32Array(n), vport: new Uint16Array(n) };
}

function oneAtATime(table: ConnTable, k: Keys, n: number): number[] {
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(table.lookupIn(k.proto[i]!, k.caddr[i]!, k.cport[i]!, k.vaddr[i]!, k.vport[i]!));
  return r;
}

function batched(table: ConnTable, k: Keys, n: number): number[] {
  const out = new Int32Array(n).fill(-7);
  table.lookupInBatch(n, k.proto, k.caddr, k.cport, k.vaddr, k.vport, out);
  return [...out];
}

/** Every field a listing shows, for "nothing changed" checks. */
function snapshot(table: ConnTable, now: number): string {
  return JSON.stringify([...table.entries(now)]) + JSON.stringify(table.counters);
}

t.test('lookupInBatch gives the results of lookupIn one at a time: hits, misses, expired entries, collisions', (t) => {
  // 16 buckets for ~900 live entries: long chains, every lookup walks collisions
  const { table, nat, dr } = setup({ capacity: 1200, buckets: 16 });
  let x = 12345;
  const rnd = (m: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % m;
  };
  const made: { proto: number; caddr: number; cport: number; vport: number; slot: number }[] = [];
  for (let i = 0; i < 1000; i++) {
    const proto = i % 3 === 0 ? UDP : TCP;
    const caddr = (CLIENT + rnd(50)) | 0;
    const cport = 1024 + rnd(2000);
    const vport = 80 + (i & 1);
    if (table.lookupIn(proto, caddr, cport, VIP, vport) >= 0) continue;
    const slot = table.create(proto, caddr, cport, VIP, vport, RS1, 8080, i & 1 ? nat : dr, 0, 0);
    made.push({ proto, caddr, cport, vport, slot });
  }
  // the first 100 get a packet at 1 s (TCP: established, 900 s), the rest expire at 3 s
  for (const m of made.slice(0, 100)) table.packet(m.slot, false, m.proto === TCP ? TcpFlag.ACK : 0, 1000);
  const before = table.size;
  table.tick(3500);
  t.ok(table.size < before && table.size >= 100, `entries expired (${before} -> ${table.size})`);

  const n = 700; // beyond the table's own 256-key scratch: it grows
  const k = keys(n);
  for (let i = 0; i < n; i++) {
    const m = made[rnd(2) === 0 ? rnd(100) : rnd(made.length)]!; // half of them live
    const kind = rnd(4);
    k.proto[i] = kind === 0 ? (m.proto === TCP ? UDP : TCP) : m.proto; // 0: wrong protocol
    k.caddr[i] = m.caddr;
    k.cport[i] = kind === 1 ? (m.cport + 1) & 0xffff : m.cport; // 1: other port, same chain or not
    k.vaddr[i] = kind === 2 ? VIP + 1 : VIP; // 2: other VIP, same bucket
    k.vport[i] = m.vport;
  }
  const a = batched(table, k, n);
  t.same(a, oneAtATime(table, k, n));
  t.ok(a.filter((s) => s >= 0).length > 20, 'some hits');
  t.ok(a.filter((s) => s < 0).length > 20, 'some misses');
  // entries that expired are not found by either
  const gone = made.slice(100).filter((m) => !table.isLive(m.slot) || table.caddr(m.slot) !== m.caddr >>> 0);
  t.ok(gone.length > 0);
  const g = keys(gone.length);
  gone.forEach((m, i) => {
    g.proto[i] = m.proto;
    g.caddr[i] = m.caddr;
    g.cport[i] = m.cport;
    g.vaddr[i] = VIP;
    g.vport[i] = m.vport;
  });
  t.same(batched(table, g, gone.length), oneAtATime(table, g, gone.length));
  t.ok(batched(table, g, gone.length).every((s) => s === -1), 'expired keys miss');
  t.end();
});

t.test('lookupInBatch: NO_CPORT retry, empty batch, batch of one', (t) => {
  const { table, nat } = setup();
  const s = table.create(TCP, CLIENT, 0, VIP, 2121, RS1, 2121, nat, ConnFlag.NO_CPORT, 0);
  const k = keys(3);
  k.proto.fill(TCP);
  k.caddr.fill(CLIENT);
  k.vaddr.fill(VIP);
  k.vport.fill(2121);
  k.cport.set([5000, 0, 5001]);
  t.same(batched(table, k, 3), [s, s, s], 'retried with client port 0, as lookupIn');
  const out = new Int32Array(1).fill(-7);
  table.lookupInBatch(0, k.proto, k.caddr, k.cport, k.vaddr, k.vport, out);
  t.equal(out[0], -7, 'n = 0 writes nothing');
  table.lookupInBatch(1, k.proto, k.caddr, k.cport, k.vaddr, k.vport, out);
  t.equal(out[0], s);
  t.end();
});

t.test('bucketHead + prefetch are a hint: they change nothing, and entries created or expired after them are seen', (t) => {
  const { table, nat } = setup({ capacity: 64, buckets: 16 });
  const a = table.create(TCP, CLIENT, 40000, VIP, 80, RS1, 8080, nat, 0, 0);
  const b = table.create(TCP, CLIENT, 40001, VIP, 80, RS1, 8080, nat, 0, 0);
  table.packet(a, false, TcpFlag.SYN, 10);
  const snap = snapshot(table, 20);
  const heads = new Int32Array(4);
  heads[0] = table.bucketHead(TCP, CLIENT, 40000);
  heads[1] = table.bucketHead(TCP, CLIENT, 40001);
  heads[2] = table.bucketHead(TCP, CLIENT, 40002); // not there yet
  heads[3] = -1;
  t.ok(heads[0]! >= 0 && heads[1]! >= 0, 'a bucket holding an entry has a head');
  t.equal(table.bucketHead(UDP, 0x01020304, 9), -1, 'an empty bucket has none');
  t.equal(typeof table.prefetch(heads, 4), 'number');
  t.equal(snapshot(table, 20), snap, 'the table is unchanged');
  // between the hint and the lookups: one key created, one expired (as packets of one batch do)
  const c = table.create(TCP, CLIENT, 40002, VIP, 80, RS1, 8080, nat, 0, 20);
  t.ok(table.expire(b, 20));
  t.equal(table.lookupIn(TCP, CLIENT, 40002, VIP, 80), c, 'created after the hint: found');
  t.equal(table.lookupIn(TCP, CLIENT, 40001, VIP, 80), -1, 'expired after the hint: gone');
  t.equal(table.lookupIn(TCP, CLIENT, 40000, VIP, 80), a);
  t.equal(table.lookupOut(TCP, RS1, 8080, CLIENT, 40000), a, 'replies hash on the client: same head');
  t.end();
});

t.test("prefetchNext reads the chain's next entry where the head is another client's, and changes nothing", (t) => {
  const { table, nat } = setup({ capacity: 64, buckets: 16 });
  // two clients of one bucket: the one created later heads the chain
  const port0 = 40000;
  let port1 = 40001;
  while (table.bucketOf(TCP, CLIENT, port1) !== table.bucketOf(TCP, CLIENT, port0)) port1++;
  const first = table.create(TCP, CLIENT, port0, VIP, 80, RS1, 8080, nat, 0, 0);
  const second = table.create(TCP, CLIENT, port1, VIP, 80, RS1, 8080, nat, 0, 0);
  const snap = snapshot(table, 20);
  const slots = Int32Array.of(table.bucketHead(TCP, CLIENT, port0), table.bucketHead(TCP, CLIENT, port1), -1);
  t.same([slots[0], slots[1]], [second, second], 'the later entry heads the chain');
  const caddr = Int32Array.of(CLIENT, CLIENT, CLIENT);
  const cport = Uint16Array.of(port0, port1, 9);
  t.equal(typeof table.prefetch(slots, 3), 'number');
  t.equal(typeof table.prefetchNext(slots, caddr, cport, 3), 'number');
  t.equal(slots[0], first, "the head is another client's: the next entry (the key's) was the one read");
  t.equal(snapshot(table, 20), snap, 'the table is unchanged');
  t.equal(table.lookupIn(TCP, CLIENT, port0, VIP, 80), first);
  t.equal(table.lookupIn(TCP, CLIENT, port1, VIP, 80), second);
  // with `warm` (the engine's pre-pass): the same slots left, the reads of the packet's other
  // lines (the key's entry: the head for port1, the next entry for port0) change nothing
  const again = Int32Array.of(second, second, -1);
  t.equal(typeof table.prefetchNext(again, caddr, cport, 3, true), 'number');
  t.equal(again[0], first, 'with warm: the same next entry');
  t.equal(snapshot(table, 20), snap, 'with warm: the table is unchanged');
  t.end();
});

t.test('lookupInBucket with a bucket taken before creations and expiries: the results of lookupIn', (t) => {
  const { table, nat } = setup({ capacity: 64, buckets: 16 });
  const a = table.create(TCP, CLIENT, 40000, VIP, 80, RS1, 8080, nat, 0, 0);
  const b = table.create(TCP, CLIENT, 40001, VIP, 80, RS1, 8080, nat, 0, 0);
  const ftp = table.create(TCP, CLIENT, 0, VIP, 2121, RS1, 2121, nat, ConnFlag.NO_CPORT, 0);
  // the buckets of a batch's keys, taken first (as the engine's pre-pass does)
  const ports = [40000, 40001, 40002, 5000, 0];
  const vports = [80, 80, 80, 2121, 2121];
  const buckets = ports.map((p) => table.bucketOf(TCP, CLIENT, p));
  for (let k = 0; k < ports.length; k++) {
    t.equal(table.headAt(buckets[k]!), table.bucketHead(TCP, CLIENT, ports[k]!), 'headAt(bucketOf) is bucketHead');
  }
  // then, between the pass and the lookups, one key created and one expired
  const c = table.create(TCP, CLIENT, 40002, VIP, 80, RS1, 8080, nat, 0, 20);
  t.ok(table.expire(b, 20));
  const got = ports.map((p, k) => table.lookupInBucket(buckets[k]!, TCP, CLIENT, p, VIP, vports[k]!));
  const want = ports.map((p, k) => table.lookupIn(TCP, CLIENT, p, VIP, vports[k]!));
  t.same(got, want, 'the same as lookupIn');
  t.same(got, [a, -1, c, ftp, ftp], 'found, expired, created after the pass, NO_CPORT retry, port 0');
  t.equal(table.lookupInBucket(table.bucketOf(UDP, CLIENT, 40000), UDP, CLIENT, 40000, VIP, 80), -1, 'another protocol misses');
  t.end();
});

t.test('the batch steps four keys at a time (headsAt, prefetch, prefetchNext): what one key at a time gives', (t) => {
  // 16 buckets, 300 entries: every head has a chain behind it
  const { table, nat } = setup({ capacity: 512, buckets: 16 });
  const ports: number[] = [];
  for (let p = 1000; p < 1300; p++) {
    table.create(TCP, CLIENT, p, VIP, 80, RS1, 8080, nat, 0, 0);
    ports.push(p);
  }
  const snap = snapshot(table, 20);
  // 11 keys: two iterations of four and three left; -1 buckets among them; the later
  // entries of a bucket head its chain, the earlier ones sit behind another client's head
  const pick = [1299, 1000, 1298, 1150, 1001, 1290, 1003, 1284, 1100, 1299, 1002];
  const n = pick.length;
  const buckets = Int32Array.from(pick, (p, k) => (k === 2 || k === 7 || k === 10 ? -1 : table.bucketOf(TCP, CLIENT, p)));
  const heads = new Int32Array(n).fill(-7);
  table.headsAt(buckets, n, heads);
  for (let k = 0; k < n; k++) {
    t.equal(heads[k], buckets[k]! < 0 ? -1 : table.headAt(buckets[k]!), `headsAt ${k}: headAt, -1 for no bucket`);
  }
  t.equal(typeof table.prefetch(heads, n), 'number');
  const caddr = new Int32Array(n).fill(CLIENT);
  const cport = Uint16Array.from(pick);
  // one key at a time: which heads are another client's, and their next entries
  const kept: number[] = [];
  for (let k = 0; k < n; k++) {
    const one = Int32Array.of(heads[k]!);
    table.prefetchNext(one, caddr.subarray(k, k + 1), cport.subarray(k, k + 1), 1);
    if (one[0] !== heads[k]) kept.push(one[0]!);
  }
  t.ok(kept.length >= 3 && kept.length < n - 3, `some heads are another client's (${kept.length} of ${n})`);
  for (const warm of [false, true]) {
    const slots = Int32Array.from(heads);
    table.prefetchNext(slots, caddr, cport, n, warm);
    t.same([...slots], [...kept, ...heads.subarray(kept.length)], `${warm ? 'warm: ' : ''}the next entries, in key order, then the heads left as they were`);
  }
  for (const p of kept) t.ok(p >= 0, 'a next entry is a slot');
  t.equal(snapshot(table, 20), snap, 'the table is unchanged');
  const k4 = keys(n);
  k4.proto.fill(TCP);
  k4.caddr.fill(CLIENT);
  k4.cport.set(pick);
  k4.vaddr.fill(VIP);
  k4.vport.fill(80);
  t.same(batched(table, k4, n), oneAtATime(table, k4, n), 'lookupInBatch over 11 keys: lookupIn one at a time');
  t.end();
});
