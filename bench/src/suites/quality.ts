/**
 * quality: how well each scheduler balances, simulated. Synthetic workloads go through the
 * real schedulers, the engine's ServiceTable and scheduleFlow, and the real ConnTable (so
 * active/inactive counters move as in the kernel), against simulated real servers of
 * unequal capacity: each server has `capacity x 8` workers, a connection waits in the
 * server's FIFO queue until a worker is free, is served for an exponential time (mean
 * 100 ms), then closes (TIME_WAIT: inactive) and later expires by the table's timers.
 *
 * Scenario (seeded, deterministic): Zipf clients at 70% of capacity, a flash crowd of new
 * clients at 200%, the fastest server failing (deleted; its connections reset) and
 * returning, then a fourth server added. Per scheduler: share per server, max/mean
 * capacity-normalised load over time, queueing on the slowest server, persistence.
 * Plus: flows moved by a server change for the hashing schedulers (dh, sh, mh, and mh
 * with a Maglev-paper-sized table), against the ideal.
 *
 * `quality --trace FILE` replays a user's trace (packages/replay format) and prints the
 * distribution instead.
 */
import { readFileSync } from 'node:fs';
import { ServiceTable, scheduleFlow } from '@tunvs/engine';
import type { FlowPacket, VirtualService } from '@tunvs/engine';
import { ConnTable, TcpFlag, TcpState } from '@tunvs/conntrack';
import { Dest, DestFlag, Proto, Service } from '@tunvs/model';
import { parseIpv4 } from '@tunvs/packet';
import { Replayer } from '@tunvs/replay';
import { getScheduler, newSchedPacket, schedulerNames } from '@tunvs/schedulers';
import type { SchedulerInstance } from '@tunvs/schedulers';
import type { Suite } from '../suite.js';
import { log, table } from '../suite.js';
import { progress } from '../report/progress.js';

const SEED = 20260901;
const VIP = '10.100.0.1';
const WORKERS_PER_UNIT = 8;
const MEAN_SERVICE_MS = 100;
const TICK_MS = 10;
const CLIENTS = 20_000;
const ZIPF_S = 1.0;

interface ServerDef {
  name: string;
  addr: string;
  capacity: number;
}
const SERVERS: ServerDef[] = [
  { name: 'rs1', addr: '10.200.1.1', capacity: 1 },
  { name: 'rs2', addr: '10.200.1.2', capacity: 2 },
  { name: 'rs3', addr: '10.200.1.3', capacity: 3 },
  { name: 'rs4', addr: '10.200.1.4', capacity: 2 },
];
/** units of capacity of rs1..rs3 (rs4 joins late) */
const BASE_UNITS = 6;
/** connections per second one unit of capacity serves */
const UNIT_RATE = (WORKERS_PER_UNIT * 1000) / MEAN_SERVICE_MS;

/** The scenario's events, in simulated seconds. */
const PHASES = { flashStart: 40, flashEnd: 50, fail: 70, back: 90, add: 100, end: 130 } as const;
const SCENARIO = [
  { t: 0, event: 'steady 70% (Zipf clients)' },
  { t: PHASES.flashStart, event: 'flash crowd 200%' },
  { t: PHASES.flashEnd, event: 'steady' },
  { t: PHASES.fail, event: 'rs3 fails (deleted)' },
  { t: PHASES.back, event: 'rs3 returns' },
  { t: PHASES.add, event: 'rs4 added' },
];

/** xorshift32 as a float in [0, 1). */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function zipfCdf(n: number, s: number): Float64Array {
  const c = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += 1 / Math.pow(i + 1, s);
    c[i] = acc;
  }
  for (let i = 0; i < n; i++) c[i]! /= acc;
  return c;
}

function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function poisson(r: () => number, mean: number): number {
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  for (;;) {
    p *= r();
    if (p <= l) return k;
    k++;
  }
}

interface Job {
  slot: number;
  gen: number;
  arrival: number;
  service: number;
  done: number;
}

interface SimServer {
  def: ServerDef;
  workers: number;
  queue: Job[];
  qHead: number;
  running: Job[];
  present: boolean;
  assigned: number;
  waitSum: number;
  waits: number;
  steadyWaitSum: number;
  steadyWaits: number;
  maxQueue: number;
}

interface SimResult {
  share: number[];
  rejected: number;
  max_over_mean_steady: number;
  max_over_mean_flash: number;
  max_over_mean_after_add: number;
  slowest_max_queue: number;
  slowest_mean_wait_ms: number;
  slowest_mean_wait_steady_ms: number;
  mean_wait_ms: number;
  mean_wait_steady_ms: number;
  p99_wait_ms: number;
  reset_by_failure: number;
  affinity: number;
  moved_on_fail: number | null;
  moved_on_return: number | null;
  moved_on_add: number | null;
  imbalance: number[];
}

const HASHING = new Set(['dh', 'sh', 'mh']);

/** One scheduler through the whole scenario. */
function simulate(scheduler: string, persistent: boolean, quick: boolean): SimResult {
  const r = rng(SEED);
  const svcTable = new ServiceTable();
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  const svc = svcTable.addService({ ...key, scheduler, ...(persistent ? { persistent: 300 } : {}) });
  const conns = new ConnTable({ capacity: 1 << 18, registry: svcTable.registry, seed: 7 });
  const gen = new Uint32Array(conns.capacity);
  conns.setHooks({ expired: (slot) => void (gen[slot] = (gen[slot]! + 1) >>> 0) });
  let now = 0;
  conns.tick(now);

  const servers: SimServer[] = SERVERS.map((def) => ({ def, workers: def.capacity * WORKERS_PER_UNIT, queue: [], qHead: 0, running: [], present: false, assigned: 0, waitSum: 0, waits: 0, steadyWaitSum: 0, steadyWaits: 0, maxQueue: 0 }));
  const byAddr = new Map<number, SimServer>();
  for (const s of servers) byAddr.set(parseIpv4(s.def.addr), s);
  const add = (s: SimServer): void => {
    svcTable.addDest(key, { addr: s.def.addr, port: 80, method: 'masq', weight: s.workers });
    s.present = true;
  };
  for (const s of servers.slice(0, 3)) add(s);

  const cdf = zipfCdf(CLIENTS, ZIPF_S);
  const pkt: FlowPacket = { protocol: Proto.TCP, saddr: 0, sport: 0, daddr: parseIpv4(VIP), dport: 80, inverse: false, fwmark: 0 };
  const sport = new Uint16Array(CLIENTS + 100_000);
  // per Zipf client: connections per server (affinity / persistence)
  const perClient = new Map<number, number[]>();
  const waits: number[] = [];
  let rejected = 0;
  let reset = 0;
  let total = 0;

  // flows moved by a change, measured on the 2000 heaviest clients with the scheduler itself
  const probe = (): (number | null)[] => {
    const out: (number | null)[] = [];
    const p = newSchedPacket();
    p.protocol = Proto.TCP;
    p.daddr = pkt.daddr;
    p.dport = 80;
    for (let c = 0; c < 2000; c++) {
      p.saddr = (0x0a000000 + c) >>> 0;
      p.sport = 40000;
      out.push(svc.sched.schedule(svc, p)?.addr ?? null);
    }
    return out;
  };
  const moved = (a: (number | null)[], b: (number | null)[]): number => {
    let m = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) m++;
    return Number((m / a.length).toFixed(4));
  };
  const hashing = HASHING.has(scheduler);
  let movedFail: number | null = null;
  let movedBack: number | null = null;
  let movedAdd: number | null = null;

  const imbalance: number[] = [];
  const end = (quick ? 0.5 : 1) * PHASES.end * 1000;
  const scale = quick ? 0.5 : 1;
  const ph = (s: number): number => s * 1000 * scale;
  let nextSample = 1000;
  let nextTick = 100;

  for (now = 0; now < end; now += TICK_MS) {
    // --- events
    if (now === ph(PHASES.fail)) {
      const before = hashing ? probe() : null;
      const s3 = servers[2]!;
      svcTable.deleteDest(key, { addr: s3.def.addr, port: 80 });
      s3.present = false;
      // its connections are reset: queued and running jobs lost
      for (const j of [...s3.queue.slice(s3.qHead), ...s3.running]) {
        if (gen[j.slot] === j.gen) conns.expire(j.slot, now);
        reset++;
      }
      s3.queue = [];
      s3.qHead = 0;
      s3.running = [];
      if (before) movedFail = moved(before, probe());
    }
    if (now === ph(PHASES.back)) {
      const before = hashing ? probe() : null;
      add(servers[2]!);
      if (before) movedBack = moved(before, probe());
    }
    if (now === ph(PHASES.add)) {
      const before = hashing ? probe() : null;
      add(servers[3]!);
      if (before) movedAdd = moved(before, probe());
    }
    // --- timers
    if (now >= nextTick) {
      conns.tick(now);
      svc.sched.tick?.(now);
      svcTable.purgeTrash();
      nextTick += 100;
    }
    // --- arrivals
    const flash = now >= ph(PHASES.flashStart) && now < ph(PHASES.flashEnd);
    const rate = (flash ? 2.0 : 0.7) * BASE_UNITS * UNIT_RATE; // per second
    const n = poisson(r, (rate * TICK_MS) / 1000);
    for (let a = 0; a < n; a++) {
      // flash crowd: new clients, uniform over 100k addresses; otherwise Zipf regulars
      const client = flash ? CLIENTS + Math.floor(r() * 100_000) : sampleCdf(cdf, r());
      pkt.saddr = (0x0a000000 + client) >>> 0;
      const sp = (sport[client] = sport[client]! + 1 || 1024);
      pkt.sport = 1024 + (sp % 60000);
      total++;
      const slot = scheduleFlow(conns, svc as VirtualService, pkt, now);
      if (slot < 0) {
        rejected++;
        continue;
      }
      // the SYN itself, as the Director's packet path does: SYN_RECV (active)
      conns.packet(slot, false, TcpFlag.SYN, now);
      const dest = conns.dest(slot);
      const srv = dest ? byAddr.get(dest.addr) : undefined;
      if (!srv) {
        rejected++;
        continue;
      }
      srv.assigned++;
      if (!flash) {
        let pc = perClient.get(client);
        if (!pc) perClient.set(client, (pc = [0, 0, 0, 0]));
        pc[servers.indexOf(srv)]!++;
      }
      srv.queue.push({ slot, gen: gen[slot]!, arrival: now, service: -MEAN_SERVICE_MS * Math.log(1 - r()), done: 0 });
    }
    // --- service
    for (const s of servers) {
      if (!s.present) continue;
      // completions
      if (s.running.length > 0) {
        let w = 0;
        for (const j of s.running) {
          if (j.done <= now) {
            if (gen[j.slot] === j.gen && conns.isLive(j.slot)) conns.setState(j.slot, TcpState.TIME_WAIT, now);
          } else s.running[w++] = j;
        }
        s.running.length = w;
      }
      while (s.running.length < s.workers && s.qHead < s.queue.length) {
        const j = s.queue[s.qHead++]!;
        if (gen[j.slot] !== j.gen) continue; // expired while queued (SYN_RECV timeout)
        const wait = now - j.arrival;
        s.waitSum += wait;
        s.waits++;
        waits.push(wait);
        if (j.arrival >= ph(10) && j.arrival < ph(PHASES.flashStart)) {
          s.steadyWaitSum += wait;
          s.steadyWaits++;
        }
        j.done = now + j.service;
        if (gen[j.slot] === j.gen && conns.isLive(j.slot)) conns.setState(j.slot, TcpState.ESTABLISHED, now);
        s.running.push(j);
      }
      if (s.qHead > 4096 && s.qHead * 2 > s.queue.length) {
        s.queue = s.queue.slice(s.qHead);
        s.qHead = 0;
      }
      const ql = s.queue.length - s.qHead;
      if (ql > s.maxQueue) s.maxQueue = ql;
    }
    // --- sample: capacity-normalised load (in service + queued) / workers
    if (now >= nextSample) {
      nextSample += 1000;
      let max = 0;
      let sum = 0;
      let k = 0;
      for (const s of servers) {
        if (!s.present) continue;
        const load = (s.running.length + s.queue.length - s.qHead) / s.workers;
        max = Math.max(max, load);
        sum += load;
        k++;
      }
      imbalance.push(sum > 0 ? Number((max / (sum / k)).toFixed(3)) : 1);
    }
  }
  const avg = (from: number, to: number): number => {
    const xs = imbalance.slice(Math.floor(from * scale), Math.floor(to * scale));
    return xs.length ? Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3)) : NaN;
  };
  waits.sort((a, b) => a - b);
  let aff = 0;
  let affN = 0;
  for (const pc of perClient.values()) {
    const t = pc[0]! + pc[1]! + pc[2]! + pc[3]!;
    if (t < 2) continue;
    aff += Math.max(...pc);
    affN += t;
  }
  const assigned = servers.reduce((a, s) => a + s.assigned, 0);
  const slow = servers[0]!;
  return {
    share: servers.map((s) => Number((s.assigned / Math.max(1, assigned)).toFixed(4))),
    rejected: Number((rejected / Math.max(1, total)).toFixed(4)),
    max_over_mean_steady: avg(10, PHASES.flashStart),
    max_over_mean_flash: avg(PHASES.flashStart, PHASES.flashEnd),
    max_over_mean_after_add: avg(PHASES.add + 5, PHASES.end),
    slowest_max_queue: slow.maxQueue,
    slowest_mean_wait_ms: Number((slow.waitSum / Math.max(1, slow.waits)).toFixed(1)),
    slowest_mean_wait_steady_ms: Number((slow.steadyWaitSum / Math.max(1, slow.steadyWaits)).toFixed(1)),
    mean_wait_steady_ms: Number((servers.reduce((a, s) => a + s.steadyWaitSum, 0) / Math.max(1, servers.reduce((a, s) => a + s.steadyWaits, 0))).toFixed(1)),
    mean_wait_ms: Number((waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length)).toFixed(1)),
    p99_wait_ms: waits.length ? waits[Math.floor(waits.length * 0.99)]! : 0,
    reset_by_failure: reset,
    affinity: Number((aff / Math.max(1, affN)).toFixed(4)),
    moved_on_fail: movedFail,
    moved_on_return: movedBack,
    moved_on_add: movedAdd,
    imbalance,
  };
}

interface DisruptionRow {
  servers: number;
  table?: number;
  moved_remove: number;
  ideal_remove: number;
  moved_add: number;
  ideal_add: number;
  max_over_mean: number;
  max_over_mean_slots?: number;
}

/** Flows moved when one of `n` servers is removed / one is added, on `keys` probe keys. */
function disruption(name: string, n: number, keys: Uint32Array, tableIndex?: number): DisruptionRow {
  const svc = new Service({ protocol: Proto.TCP, addr: parseIpv4(VIP), port: 80, schedName: name });
  const mk = (i: number): Dest => {
    const d = new Dest((0x0ac80000 + i * 3 + 1) >>> 0, 80, { weight: 1 });
    d.lastWeight = 1;
    d.flags |= DestFlag.AVAILABLE;
    return d;
  };
  const dests: Dest[] = [];
  for (let i = 0; i < n; i++) {
    const d = mk(i);
    dests.push(d);
    svc.insertDest(d);
  }
  const inst: SchedulerInstance = getScheduler(name).create(svc, tableIndex !== undefined ? { tableIndex } : {});
  const p = newSchedPacket();
  p.protocol = Proto.TCP;
  p.dport = 80;
  p.daddr = svc.addr;
  const map = (): (Dest | null)[] => {
    const out: (Dest | null)[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      if (name === 'dh') p.daddr = keys[i]!;
      else p.saddr = keys[i]!;
      out[i] = inst.schedule(svc, p);
    }
    return out;
  };
  const base = map();
  const counts = new Map<Dest | null, number>();
  for (const d of base) counts.set(d, (counts.get(d) ?? 0) + 1);
  const maxOverMean = Math.max(...dests.map((d) => counts.get(d) ?? 0)) / (keys.length / n);
  let slotBalance: number | undefined;
  const tbl = (inst as unknown as { table?: (Dest | null)[] }).table;
  if (name === 'mh' && Array.isArray(tbl)) {
    const sc = new Map<Dest | null, number>();
    for (const d of tbl) sc.set(d, (sc.get(d) ?? 0) + 1);
    slotBalance = Math.max(...dests.map((d) => sc.get(d) ?? 0)) / (tbl.length / n);
  }
  // remove one server from the middle of the list
  const victim = dests[n >> 1]!;
  svc.removeDest(victim);
  victim.flags &= ~DestFlag.AVAILABLE;
  inst.delDest?.(svc, victim);
  const afterRemove = map();
  let mr = 0;
  let onVictim = 0;
  for (let i = 0; i < keys.length; i++) {
    if (base[i] !== afterRemove[i]) mr++;
    if (base[i] === victim) onVictim++;
  }
  // put it back (so both measurements start from the same n servers), then add a new one
  svc.insertDest(victim);
  victim.flags |= DestFlag.AVAILABLE;
  inst.addDest?.(svc, victim);
  const restored = map();
  const extra = mk(n);
  svc.insertDest(extra);
  inst.addDest?.(svc, extra);
  const afterAdd = map();
  let ma = 0;
  let onNew = 0;
  for (let i = 0; i < keys.length; i++) {
    if (restored[i] !== afterAdd[i]) ma++;
    if (afterAdd[i] === extra) onNew++;
  }
  const f = (x: number): number => Number((x / keys.length).toFixed(4));
  return {
    servers: n,
    ...(name === 'mh' ? { table: (inst as unknown as { size: number }).size } : {}),
    moved_remove: f(mr),
    ideal_remove: f(onVictim),
    moved_add: f(ma),
    ideal_add: f(onNew),
    max_over_mean: Number(maxOverMean.toFixed(3)),
    ...(slotBalance !== undefined ? { max_over_mean_slots: Number(slotBalance.toFixed(3)) } : {}),
  };
}

/** `quality --trace FILE`: replay a user's trace and print the distribution. */
function runTrace(file: string): Record<string, unknown> {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const r = new Replayer();
  const per = new Map<string, number>();
  let connects = 0;
  let unscheduled = 0;
  text.split('\n').forEach((line, i) => {
    const d = r.line(line, i + 1);
    if (!d) return;
    connects++;
    if (d.dest === null) unscheduled++;
    else per.set(d.dest, (per.get(d.dest) ?? 0) + 1);
  });
  const scheduled = connects - unscheduled;
  const dests = [...per.entries()].sort((a, b) => b[1] - a[1]);
  const mean = scheduled / Math.max(1, dests.length);
  log(table([['destination', 'connections', 'share', 'vs mean'], ...dests.map(([d, c]) => [d, c, ((100 * c) / Math.max(1, scheduled)).toFixed(1) + '%', (c / mean).toFixed(2)])]));
  log(`${connects} connects, ${unscheduled} not scheduled; max/mean ${dests.length ? (dests[0]![1] / mean).toFixed(3) : '-'}`);
  return {
    trace: file,
    connects,
    unscheduled,
    per_dest: Object.fromEntries(dests),
    max_over_mean: dests.length ? Number((dests[0]![1] / mean).toFixed(4)) : null,
  };
}

/** The `quality` benchmark suite. */
export const suite: Suite = {
  name: 'quality',
  description: 'Scheduler quality: simulated unequal servers, Zipf/flash crowd/failure/add; balance, queueing, persistence, disruption',
  async run(opts) {
    const ti = opts.args.indexOf('--trace');
    if (ti >= 0) {
      const file = opts.args[ti + 1];
      if (!file) throw new Error('quality --trace FILE: missing FILE');
      return runTrace(file);
    }
    const t0 = Date.now();
    const names = schedulerNames();
    const results: Record<string, SimResult & { persistence: number }> = {};
    const pb = progress('simulating schedulers', names.length * 2);
    for (const name of names) {
      const sim = simulate(name, false, opts.quick);
      pb.tick();
      const pers = simulate(name, true, opts.quick);
      pb.tick();
      results[name] = { ...sim, persistence: pers.affinity };
    }
    pb.stop();
    log(`servers: ${SERVERS.map((s) => `${s.name} ${s.capacity}x (${s.capacity * WORKERS_PER_UNIT} workers)`).join(', ')}; ${UNIT_RATE} conn/s per unit; weights = workers`);
    log(`scenario: ${SCENARIO.map((e) => `${e.t}s ${e.event}`).join('; ')}${opts.quick ? ' (quick: times halved)' : ''}`);
    log(table([
      ['scheduler', 'share rs1/rs2/rs3/rs4', 'rejected', 'max/mean steady', 'flash', 'after add', 'rs1 maxQ', 'rs1 wait ms', 'steady: rs1 wait', 'all wait', 'mean wait', 'p99 wait', 'affinity', 'persist', 'moved fail/back/add'],
      ...names.map((n) => {
        const x = results[n]!;
        return [n, x.share.map((s) => (s * 100).toFixed(0)).join('/'), (x.rejected * 100).toFixed(1) + '%', x.max_over_mean_steady, x.max_over_mean_flash, x.max_over_mean_after_add, x.slowest_max_queue, x.slowest_mean_wait_ms, x.slowest_mean_wait_steady_ms, x.mean_wait_steady_ms, x.mean_wait_ms, x.p99_wait_ms.toFixed(0), x.affinity, x.persistence, x.moved_on_fail === null ? '-' : `${x.moved_on_fail}/${x.moved_on_return}/${x.moved_on_add}`];
      }),
    ]));

    // disruption of the hashing schedulers
    const nkeys = opts.quick ? 20_000 : 100_000;
    const keys = new Uint32Array(nkeys);
    const r = rng(SEED + 1);
    for (let i = 0; i < nkeys; i++) keys[i] = Math.floor(r() * 4294967296) >>> 0;
    const sizes = opts.quick ? [10, 100] : [10, 100, 1000];
    const dis: Record<string, DisruptionRow[]> = { dh: [], sh: [], mh: [], 'mh M=65521': [] };
    const pd = progress('disruption (dh/sh/mh)', sizes.length * 4);
    for (const n of sizes) {
      dis['dh']!.push(disruption('dh', n, keys));
      pd.tick();
      dis['sh']!.push(disruption('sh', n, keys));
      pd.tick();
      dis['mh']!.push(disruption('mh', n, keys));
      pd.tick();
      dis['mh M=65521']!.push(disruption('mh', n, keys, 16));
      pd.tick();
    }
    pd.stop();
    log(table([
      ['hash', 'servers', 'M', 'remove: moved', 'ideal', 'add: moved', 'ideal', 'max/mean keys', 'max/mean slots'],
      ...Object.entries(dis).flatMap(([k, rows]) => rows.map((x) => [k, x.servers, x.table ?? '-', x.moved_remove, x.ideal_remove, x.moved_add, x.ideal_add, x.max_over_mean, x.max_over_mean_slots ?? '-'])),
    ]));
    const maglevNote =
      'Maglev (Eisenbud et al., NSDI 2016) uses M = 65537 and reports near-perfect balance (every backend gets floor or ceil of M/N slots; ' +
      'Karger/Rendezvous needed 29.7%/49.5% over-provisioning at 1000 backends) and disruption that grows with the share of failed backends, ' +
      'smaller for larger M. Our mh follows the kernel (ip_vs_mh): M = 4093 by default (CONFIG_IP_VS_MH_TAB_INDEX 12); ' +
      'the "mh M=65521" rows use the kernel table size closest to the paper\'s 65537 (CONFIG_IP_VS_MH_TAB_INDEX 16). ' +
      'dh and sh use the kernel\'s 256-bucket tables (rebuilt round-robin on every change), so they move many more flows than the ideal and cannot balance more than 256 servers.';
    log(maglevNote);
    const seconds = (Date.now() - t0) / 1000;
    log(`quality suite: ${seconds.toFixed(1)} s`);
    const times = results[names[0]!]!.imbalance.map((_, i) => (i + 1) * (opts.quick ? 0.5 : 1));
    // imbalance series in simulated seconds (quick runs compress the timeline by 2)
    return {
      seed: SEED,
      servers: SERVERS.map((s) => ({ name: s.name, addr: s.addr, capacity: s.capacity, workers: s.capacity * WORKERS_PER_UNIT })),
      scenario: SCENARIO.map((e) => ({ t: e.t * (opts.quick ? 0.5 : 1), event: e.event })),
      model: { mean_service_ms: MEAN_SERVICE_MS, workers_per_unit: WORKERS_PER_UNIT, clients: CLIENTS, zipf_s: ZIPF_S, tick_ms: TICK_MS, weights: 'workers (8/16/24/16)' },
      times,
      schedulers: results,
      disruption: dis,
      maglev_note: maglevNote,
      seconds: Number(seconds.toFixed(1)),
    };
  },
};
