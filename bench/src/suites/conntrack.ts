/**
 * conntrack: inserts, lookups and expiries per second of @tunvs/conntrack at 10k, 100k and
 * 1M entries, and bytes per entry (index included). The reference, measured in the same
 * run and interleaved, is a JS Map with numeric keys (client address * 65536 + client
 * port, a weaker key than the table's full 5-tuple) doing the same inserts and lookups.
 */
import { ConnTable } from '@tunvs/conntrack';
import { Dest, DestRegistry, Fwd } from '@tunvs/model';
import type { Suite } from '../suite.js';
import { log, permutation, si, table } from '../suite.js';

const TCP = 6;
/** Target of issue 18: lookups per second at 1M entries. */
export const CONNTRACK_TARGET_LOOKUPS = 10_000_000;
const VIP = 0x0a000001;

interface Keys {
  caddr: Int32Array;
  cport: Uint16Array;
  /** lookup order: a random permutation */
  order: Int32Array;
  /**
   * the keys of the lookups, already in lookup order (`caddr[order[k % n]]`...): read
   * sequentially, so that the harness's own key reads do not miss the cache and the figure
   * is the table's (the same arrays serve the table, the batches and the Map)
   */
  lookCaddr: Int32Array;
  lookCport: Uint16Array;
}

function makeKeys(n: number, seed: number, lookups: number): Keys {
  const caddr = new Int32Array(n);
  const cport = new Uint16Array(n);
  // unique (caddr, cport): 4096 ports per client address, clients spread over 172.16/12
  for (let i = 0; i < n; i++) {
    caddr[i] = (0xac100000 + Math.imul(i >>> 12, 2654435761 >>> 12)) | 0;
    cport[i] = 1024 + (i & 4095) * 15;
  }
  const order = permutation(n, seed);
  const lookCaddr = new Int32Array(lookups);
  const lookCport = new Uint16Array(lookups);
  for (let k = 0; k < lookups; k++) {
    const i = order[k % n]!;
    lookCaddr[k] = caddr[i]!;
    lookCport[k] = cport[i]!;
  }
  return { caddr, cport, order, lookCaddr, lookCport };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

interface Round {
  insert: number;
  lookup: number;
  batchLookup: number;
  expire: number;
  mapInsert: number;
  mapLookup: number;
  bytes: number;
  mapBytes: number;
}

let sink = 0;

/** Keys of one batch of lookups, gathered from the random order. */
const BATCH = 256;
const bProto = new Uint8Array(BATCH).fill(TCP);
const bCaddr = new Int32Array(BATCH);
const bCport = new Uint16Array(BATCH);
const bVaddr = new Int32Array(BATCH).fill(VIP);
const bVport = new Uint16Array(BATCH).fill(80);
const bOut = new Int32Array(BATCH);

function runTable(n: number, keys: Keys, lookups: number): Pick<Round, 'insert' | 'lookup' | 'batchLookup' | 'expire' | 'bytes'> {
  const registry = new DestRegistry();
  const dests = [0, 1, 2, 3].map((i) => new Dest(0xc0a80a01 + i, 80, { fwd: Fwd.MASQ }));
  for (const d of dests) registry.register(d);
  const ct = new ConnTable({ capacity: n, registry, seed: 12345 });
  const { caddr, cport, lookCaddr, lookCport } = keys;

  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    ct.create(TCP, caddr[i]!, cport[i]!, VIP, 80, 0xc0a80a01 + (i & 3), 80, dests[i & 3]!, 0, 0);
  }
  const insert = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  if (ct.size !== n) throw new Error(`inserted ${ct.size} of ${n}`);

  let acc = 0;
  t0 = process.hrtime.bigint();
  for (let k = 0; k < lookups; k++) acc += ct.lookupIn(TCP, lookCaddr[k]! >>> 0, lookCport[k]!, VIP, 80);
  const lookup = lookups / (Number(process.hrtime.bigint() - t0) / 1e9);
  sink += acc;

  // the same lookups in batches of 256 keys (lookupInBatch), the same random order
  acc = 0;
  let missed = 0;
  const batches = Math.floor(lookups / BATCH);
  t0 = process.hrtime.bigint();
  for (let b = 0, k = 0; b < batches; b++) {
    for (let j = 0; j < BATCH; j++, k++) {
      bCaddr[j] = lookCaddr[k]!;
      bCport[j] = lookCport[k]!;
    }
    ct.lookupInBatch(BATCH, bProto, bCaddr, bCport, bVaddr, bVport, bOut);
    for (let j = 0; j < BATCH; j++) {
      const r = bOut[j]!;
      if (r < 0) missed++;
      acc += r;
    }
  }
  const batchLookup = (batches * BATCH) / (Number(process.hrtime.bigint() - t0) / 1e9);
  if (missed > 0) throw new Error(`${missed} batched lookups missed`);
  sink += acc;

  // every entry still has its 3 s initial timeout: one tick at 3 s expires all of them
  t0 = process.hrtime.bigint();
  const removed = ct.tick(3000);
  const expire = removed / (Number(process.hrtime.bigint() - t0) / 1e9);
  if (removed !== n || ct.size !== 0) throw new Error(`expired ${removed} of ${n}`);
  return { insert, lookup, batchLookup, expire, bytes: ct.bytesPerEntry };
}

function runMap(n: number, keys: Keys, lookups: number): Pick<Round, 'mapInsert' | 'mapLookup' | 'mapBytes'> {
  const { caddr, cport, lookCaddr, lookCport } = keys;
  const before = process.memoryUsage().heapUsed;
  const m = new Map<number, number>();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) m.set((caddr[i]! >>> 0) * 65536 + cport[i]!, i);
  const mapInsert = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  const mapBytes = Math.max(0, process.memoryUsage().heapUsed - before) / n;
  let acc = 0;
  t0 = process.hrtime.bigint();
  for (let k = 0; k < lookups; k++) acc += m.get((lookCaddr[k]! >>> 0) * 65536 + lookCport[k]!) ?? -1;
  const mapLookup = lookups / (Number(process.hrtime.bigint() - t0) / 1e9);
  sink += acc;
  return { mapInsert, mapLookup, mapBytes };
}

/** The `conntrack` benchmark suite. */
export const suite: Suite = {
  name: 'conntrack',
  description: 'connection table: lookups, inserts, expiries per second and bytes per entry (vs a JS Map)',
  async run(opts) {
    const sizes = opts.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
    const rounds = opts.quick ? 2 : 3;
    const figures: Record<string, unknown> = {};
    const rows: (string | number)[][] = [
      ['entries', 'lookups/s one at a time', 'lookups/s batch 256', 'Map lookups/s', 'ratio', 'inserts/s', 'Map inserts/s', 'expiries/s', 'B/entry', 'Map B/entry'],
    ];
    for (const n of sizes) {
      const lookups = Math.max(2_000_000, 2 * n);
      const keys = makeKeys(n, n, lookups);
      // warm-up (JIT) on a small table
      const small = makeKeys(Math.min(n, 20_000), 7, 200_000);
      runTable(Math.min(n, 20_000), small, 200_000);
      runMap(Math.min(n, 20_000), small, 200_000);
      const rs: Round[] = [];
      for (let r = 0; r < rounds; r++) {
        // interleaved: table, then Map, in every round
        const a = runTable(n, keys, lookups);
        const b = runMap(n, keys, lookups);
        rs.push({ ...a, ...b });
      }
      const f = {
        lookups_per_s: Math.round(median(rs.map((r) => r.lookup))),
        batch_lookups_per_s: Math.round(median(rs.map((r) => r.batchLookup))),
        inserts_per_s: Math.round(median(rs.map((r) => r.insert))),
        expiries_per_s: Math.round(median(rs.map((r) => r.expire))),
        bytes_per_entry: Math.round(rs[0]!.bytes * 100) / 100,
        map_lookups_per_s: Math.round(median(rs.map((r) => r.mapLookup))),
        map_inserts_per_s: Math.round(median(rs.map((r) => r.mapInsert))),
        map_bytes_per_entry: Math.round(median(rs.map((r) => r.mapBytes)) * 10) / 10,
      };
      figures[String(n)] = f;
      rows.push([
        si(n, 0),
        si(f.lookups_per_s),
        si(f.batch_lookups_per_s),
        si(f.map_lookups_per_s),
        (f.lookups_per_s / f.map_lookups_per_s).toFixed(2) + 'x',
        si(f.inserts_per_s),
        si(f.map_inserts_per_s),
        si(f.expiries_per_s),
        f.bytes_per_entry,
        f.map_bytes_per_entry,
      ]);
      log(`  ${si(n, 0)} entries done (${rounds} interleaved rounds, medians)`);
    }
    log(table(rows));
    log('lookups in random order over all entries (keys gathered in that order beforehand, read sequentially); one at a time = lookupIn per key; batch 256 = lookupInBatch over 256 keys of the same order (bucket heads, then head entries, then lookups: the misses overlap); ratio = one at a time / Map');
    log('Map key = caddr*65536+cport (2 of the 5 key fields)');
    const big = figures[String(sizes[sizes.length - 1])] as { lookups_per_s: number; batch_lookups_per_s: number };
    log(`target (issue 18) at 1M entries: ${si(CONNTRACK_TARGET_LOOKUPS)} lookups/s; at ${si(sizes[sizes.length - 1]!, 0)}: one at a time ${(big.lookups_per_s / CONNTRACK_TARGET_LOOKUPS).toFixed(2)}x, batched ${(big.batch_lookups_per_s / CONNTRACK_TARGET_LOOKUPS).toFixed(2)}x`);
    if (sink === 42) log('');
    return figures;
  },
};
