/**
 * Scheduler decisions per second for every IPVS algorithm with 4, 16 and 256 destinations
 * (weights 1..5, realistic active/inactive counters), and the Maglev table build time for
 * 16, 256 and 1000 destinations. A no-op scheduler measured in the same run is the
 * reference for the loop's own cost.
 */
import { Dest, Proto, Service } from '@tunvs/model';
import { getScheduler, newSchedPacket, schedulerNames } from '@tunvs/schedulers';
import type { SchedulerInstance } from '@tunvs/schedulers';
import type { Suite } from '../suite.js';
import { log, si, table } from '../suite.js';

const SIZES = [4, 16, 256] as const;
const MH_SIZES = [16, 256, 1000] as const;
const NPKT = 4096;

/** xorshift32, for reproducible workloads */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function makeService(name: string, n: number, seed: number): Service {
  const r = rng(seed);
  const svc = new Service({ protocol: Proto.TCP, addr: 0x0a640001, port: 80, schedName: name });
  for (let i = 0; i < n; i++) {
    const d = new Dest(0x0a000001 + i * 7, 80, { weight: 1 + (r() % 5) });
    d.activeConns = r() % 200;
    d.inactConns = r() % 2000;
    svc.insertDest(d);
  }
  return svc;
}

/** Decisions per second: the median of `rounds` timed rounds of `iters` decisions each. */
function measure(inst: SchedulerInstance, svc: Service, saddr: Uint32Array, sport: Uint16Array, daddr: Uint32Array, ms: number): number {
  const pkt = newSchedPacket();
  pkt.protocol = Proto.TCP;
  pkt.dport = 80;
  // A fresh copy of the loop per measurement (as benchmark.js compiles each test), so that
  // every scheduler gets its own inline caches instead of one megamorphic call site.
  const loop = new Function(
    'inst',
    'svc',
    'pkt',
    'saddr',
    'sport',
    'daddr',
    'iters',
    `let hits = 0;
     for (let i = 0; i < iters; i++) {
       const k = i & ${NPKT - 1};
       pkt.saddr = saddr[k];
       pkt.sport = sport[k];
       pkt.daddr = daddr[k];
       if (inst.schedule(svc, pkt) !== null) hits++;
     }
     return hits;`,
  ) as (...a: unknown[]) => number;
  let sink = 0;
  const run = (iters: number): number => {
    const t0 = process.hrtime.bigint();
    sink += loop(inst, svc, pkt, saddr, sport, daddr, iters);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  // calibrate to about ms/3 per round, after a warm-up
  let iters = 20_000;
  run(iters);
  for (;;) {
    const s = run(iters);
    if (s > ms / 3000 / 2 || iters > 1e8) {
      iters = Math.max(10_000, Math.round((iters * ms) / 3000 / s));
      break;
    }
    iters *= 4;
  }
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) rates.push(iters / run(iters));
  rates.sort((a, b) => a - b);
  if (sink < 0) log(sink);
  return Math.round(rates[1]!);
}

export const suite: Suite = {
  name: 'schedulers',
  description: 'decisions/s per IPVS scheduler (4/16/256 destinations) and mh table build time',
  async run(opts) {
    const ms = opts.quick ? 60 : 240;
    const r = rng(12345);
    const saddr = new Uint32Array(NPKT);
    const sport = new Uint16Array(NPKT);
    const daddr = new Uint32Array(NPKT);
    for (let i = 0; i < NPKT; i++) {
      saddr[i] = r();
      sport[i] = 1024 + (r() % 60000);
      daddr[i] = 0x0a640000 + (r() % 1024); // 1024 origin addresses for lblc/lblcr
    }

    const decisions: Record<string, Record<string, number>> = {};
    // reference: a scheduler that does nothing, in the same loop
    const noop: SchedulerInstance = { schedule: (s) => s.dests[0] ?? null };
    decisions['noop (loop reference)'] = {};
    for (const n of SIZES) decisions['noop (loop reference)'][n] = measure(noop, makeService('noop', n, n), saddr, sport, daddr, ms);

    // `npm run bench -- schedulers mh dh` measures only the named schedulers
    const only = opts.args.length > 0 ? opts.args : schedulerNames();
    for (const name of only) {
      decisions[name] = {};
      for (const n of SIZES) {
        const svc = makeService(name, n, n);
        const inst = getScheduler(name).create(svc, { seed: 1, now: () => 0 });
        decisions[name][n] = measure(inst, svc, saddr, sport, daddr, ms);
      }
    }
    const rows: (string | number)[][] = [['scheduler', ...SIZES.map((n) => `${n} dests`)]];
    for (const [name, byN] of Object.entries(decisions)) rows.push([name, ...SIZES.map((n) => si(byN[n]!) + '/s')]);
    log(table(rows));

    const mhBuild: Record<string, number> = {};
    const mh = getScheduler('mh');
    for (const n of MH_SIZES) {
      const svc = makeService('mh', n, 99);
      const times: number[] = [];
      const reps = opts.quick ? 5 : 15;
      for (let i = 0; i < reps + 2; i++) {
        const t0 = process.hrtime.bigint();
        mh.create(svc);
        const dt = Number(process.hrtime.bigint() - t0) / 1e6;
        if (i >= 2) times.push(dt);
      }
      times.sort((a, b) => a - b);
      mhBuild[n] = Number(times[times.length >> 1]!.toFixed(3));
    }
    log('\nmh table build (M = 4093), median ms:');
    log(table([['dests', ...MH_SIZES.map(String)], ['ms', ...MH_SIZES.map((n) => mhBuild[n]!)]]));

    const { ['noop (loop reference)']: reference, ...perAlg } = decisions;
    return { decisions_per_s: perAlg, loop_reference_per_s: reference, mh_build_ms: mhBuild };
  },
};
