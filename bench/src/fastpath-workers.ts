/**
 * fastpath worker scaling: one Director per worker thread, as tunvsd `workers N` runs them,
 * over the same frames in process. The flows (established TCP ACKs, 64 B, batches of 256)
 * are split between the workers by the steering program's own client hash (`slotOf` of
 * @tunvs/xdp, the function the XDP program computes), so each worker gets exactly the
 * flows the link would give it. One worker over all the flows is the reference; two workers
 * run at the same time, each over its share, and their packet rates add. Rounds interleave
 * one and two workers; the figure is the ratio of the medians. A third group, two workers
 * each pinned to a CPU of its own (as tunvsd's `cpus` pins them), runs in the same rounds
 * when the process may use two CPUs or more.
 *
 * Each worker builds its frames and its table itself (SYN then first ACK for every flow, as
 * the fastpath suite does), then on `go` runs its batches for a fixed time: restore the
 * slab from the pristine copy, `processBatch`, repeat. The copy is in both sides of the ratio.
 */
import { loadavg } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Director } from '@tunvs/engine';
import type { PacketBatch } from '@tunvs/link';
import { CountingLink } from './counting-link.js';
import { natRewriteSrc, packet } from '@tunvs/packet';
import { slotOf } from '@tunvs/xdp';
import { formatCpuList, pinThread, threadCpus } from '@tunvs/hostnet';

const BATCH = 256;
const SLOT = 64;
const PKT_LEN = 64;
const VIP = '10.100.0.1';

/** What one worker is given. */
interface Job {
  fastpathWorker: true;
  flows: number;
  slot: number;
  slots: number;
  /** pin the worker's thread to this CPU first (tunvsd `cpus`) */
  cpu?: number;
}

/** A worker's answer to `go`. */
export interface RunResult {
  packets: number;
  seconds: number;
}

const caddrOf = (i: number): number => (0xac100000 + (i >>> 6)) >>> 0;
const cportOf = (i: number): number => 1024 + (i & 63) * 997;

function workerBody(job: Job): void {
  const port = parentPort!;
  // before the table and frames exist, as a tunvsd worker pins itself before its table
  if (job.cpu !== undefined) pinThread([job.cpu]);
  // this worker's flows: those the link's hash sends to its slot
  const mine: number[] = [];
  for (let i = 0; i < job.flows; i++) if (slotOf(caddrOf(i), cportOf(i), job.slots) === job.slot) mine.push(i);
  const n = mine.length - (mine.length % BATCH);
  const build = (flags: 'S' | 'A'): Uint8Array => {
    const b = packet().ipv4({ src: '172.16.0.0', dst: VIP, ttl: 64 }).tcp({ sport: 1024, dport: 80, flags, seq: 1000, ack: flags === 'A' ? 2000 : 0 });
    const tpl = (flags === 'A' ? b.payload(new Uint8Array(PKT_LEN - 40)) : b).build();
    const pool = new Uint8Array(n * SLOT);
    for (let k = 0; k < n; k++) {
      pool.set(tpl, k * SLOT);
      natRewriteSrc(pool, k * SLOT, caddrOf(mine[k]!), cportOf(mine[k]!));
    }
    return pool;
  };
  const syn = build('S');
  const ack = build('A');
  const link = new CountingLink();
  const d = new Director({ links: [link], connCapacity: n + (n >>> 3), timers: false, sourceAddress: '10.200.0.1' });
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'wlc' });
  for (let i = 0; i < 16; i++) d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: `10.200.1.${i + 1}`, port: 8080, method: 'masq', weight: 1 + (i % 4) });
  const work: PacketBatch = { buf: new Uint8Array(BATCH * SLOT), offsets: new Uint32Array(BATCH), lengths: new Uint32Array(BATCH), count: BATCH };
  for (let i = 0; i < BATCH; i++) work.offsets[i] = i * SLOT;
  const nb = n / BATCH;
  const pass = (pool: Uint8Array, len: number): void => {
    work.lengths.fill(len);
    for (let k = 0; k < nb; k++) {
      work.buf.set(pool.subarray(k * BATCH * SLOT, (k + 1) * BATCH * SLOT));
      d.processBatch(link, work);
    }
  };
  pass(syn, 40);
  pass(ack, PKT_LEN);
  if (d.conns.size !== n) throw new Error(`worker ${job.slot}: ${d.conns.size} connections for ${n} flows`);
  const views: Uint8Array[] = [];
  for (let k = 0; k < nb; k++) views.push(ack.subarray(k * BATCH * SLOT, (k + 1) * BATCH * SLOT));
  work.lengths.fill(PKT_LEN);
  let k = 0;
  const run = (ms: number): RunResult => {
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(Math.round(ms * 1e6));
    let packets = 0;
    let now = t0;
    while (now < end) {
      for (let r = 0; r < 16; r++) {
        k = k + 1 === nb ? 0 : k + 1;
        work.buf.set(views[k]!);
        d.processBatch(link, work);
      }
      packets += 16 * BATCH;
      now = process.hrtime.bigint();
    }
    return { packets, seconds: Number(now - t0) / 1e9 };
  };
  run(200); // warm-up (JIT)
  port.on('message', (m: { go?: number; stop?: true }) => {
    if (m.stop) {
      port.close();
      return;
    }
    if (m.go !== undefined) {
      const r = run(m.go);
      const dropped = d.counters.snapshot();
      if (dropped.noService || dropped.notSyn || dropped.tableFull) throw new Error(`worker ${job.slot} dropped packets: ${JSON.stringify(dropped)}`);
      port.postMessage(r);
    }
  });
  port.postMessage({ ready: n });
}

if (!isMainThread && (workerData as Job | null)?.fastpathWorker) workerBody(workerData as Job);

/** A group of workers running together. */
class Group {
  private constructor(private readonly workers: Worker[], readonly flows: number[]) {}

  static async start(flows: number, slots: number, cpus?: readonly number[]): Promise<Group> {
    const ws: Worker[] = [];
    const ready: Promise<number>[] = [];
    for (let slot = 0; slot < slots; slot++) {
      const job: Job = { fastpathWorker: true, flows, slot, slots, ...(cpus ? { cpu: cpus[slot]! } : {}) };
      const w = new Worker(new URL(import.meta.url), { workerData: job });
      ws.push(w);
      ready.push(
        new Promise((resolve, reject) => {
          w.once('error', reject);
          w.once('message', (m: { ready: number }) => resolve(m.ready));
        }),
      );
    }
    return new Group(ws, await Promise.all(ready));
  }

  /**
   * Run every worker for `ms` at once: the summed packet rate, and the CPU the process got
   * meanwhile (cores = CPU seconds per wall second; the main thread only waits).
   */
  async run(ms: number): Promise<{ pps: number; perWorker: number[]; cores: number; packetsPerCpuS: number }> {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const rs = await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<RunResult>((resolve, reject) => {
            w.once('error', reject);
            w.once('message', (m: RunResult) => resolve(m));
            w.postMessage({ go: ms });
          }),
      ),
    );
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const perWorker = rs.map((r) => r.packets / r.seconds);
    const packets = rs.reduce((a, r) => a + r.packets, 0);
    return { pps: perWorker.reduce((a, b) => a + b, 0), perWorker, cores: cpu / wall, packetsPerCpuS: packets / cpu };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export interface ScalingResult {
  flows: number;
  one_worker_mpps: number;
  two_workers_mpps: number;
  ratio: number;
  target: number;
  rounds: { one: number[]; two: number[]; pinned: number[] };
  /**
   * two workers each pinned to a CPU of its own (`pinned_cpus`, worker i on the i-th), in
   * the same rounds; null when the process may use one CPU only
   */
  two_workers_pinned_mpps: number | null;
  /** pinned over unpinned two workers (medians) */
  pinned_ratio: number | null;
  pinned_cpus: string | null;
  /** flows per worker in the two-worker group (the hash's split) */
  split: number[];
  /** each worker's Mpps in the median two-worker round */
  two_workers_each_mpps: number[];
  /** CPU cores the process got while running (CPU s / wall s), median per group: below 2 for two workers = the machine was busy */
  cores: { one: number; two: number; pinned: number | null };
  /** packets per CPU second, median per group: the per-core cost, independent of how many cores were free */
  mpps_per_cpu: { one: number; two: number };
  /**
   * two workers' packets per CPU second over one worker's: whether a worker loses speed by
   * having a sibling (shared caches, memory bandwidth); the ratio above is bounded by this
   * times the cores the two workers got
   */
  ratio_per_cpu: number;
  /** the machine's 1-minute load average before the run */
  loadavg: number;
}

export const WORKER_SCALING_TARGET = 1.6;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * One worker against two over the same `flows` (split by the link's hash), `rounds`
 * interleaved rounds of `ms` each.
 */
export async function workerScaling(flows: number, rounds: number, ms: number, log: (s: string) => void): Promise<ScalingResult> {
  const one = await Group.start(flows, 1);
  const two = await Group.start(flows, 2);
  const allowed = threadCpus();
  const pinCpus = allowed.length >= 2 ? allowed.slice(0, 2) : null;
  const pinned = pinCpus ? await Group.start(flows, 2, pinCpus) : null;
  try {
    log(`worker scaling: ${flows} flows; one worker holds ${one.flows[0]}, two hold ${two.flows.join(' + ')} (split by the steering hash)`);
    const load = loadavg()[0]!;
    const g1: { pps: number; cores: number; packetsPerCpuS: number }[] = [];
    const r2: { pps: number; perWorker: number[]; cores: number; packetsPerCpuS: number }[] = [];
    const rp: { pps: number; cores: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      g1.push(await one.run(ms));
      r2.push(await two.run(ms));
      if (pinned) rp.push(await pinned.run(ms));
    }
    const mp = pinned ? median(rp.map((x) => x.pps)) : null;
    const r1 = g1.map((x) => x.pps);
    const m1 = median(r1);
    const m2 = median(r2.map((x) => x.pps));
    const mid = r2.find((x) => x.pps === m2)!;
    return {
      flows,
      one_worker_mpps: Number((m1 / 1e6).toFixed(3)),
      two_workers_mpps: Number((m2 / 1e6).toFixed(3)),
      ratio: Number((m2 / m1).toFixed(3)),
      target: WORKER_SCALING_TARGET,
      two_workers_pinned_mpps: mp === null ? null : Number((mp / 1e6).toFixed(3)),
      pinned_ratio: mp === null ? null : Number((mp / m2).toFixed(3)),
      pinned_cpus: pinCpus ? formatCpuList(pinCpus) : null,
      rounds: { one: r1.map((x) => Number((x / 1e6).toFixed(3))), two: r2.map((x) => Number((x.pps / 1e6).toFixed(3))), pinned: rp.map((x) => Number((x.pps / 1e6).toFixed(3))) },
      split: two.flows,
      two_workers_each_mpps: mid.perWorker.map((x) => Number((x / 1e6).toFixed(3))),
      cores: { one: Number(median(g1.map((x) => x.cores)).toFixed(2)), two: Number(median(r2.map((x) => x.cores)).toFixed(2)), pinned: pinned ? Number(median(rp.map((x) => x.cores)).toFixed(2)) : null },
      mpps_per_cpu: { one: Number((median(g1.map((x) => x.packetsPerCpuS)) / 1e6).toFixed(3)), two: Number((median(r2.map((x) => x.packetsPerCpuS)) / 1e6).toFixed(3)) },
      ratio_per_cpu: Number((median(r2.map((x) => x.packetsPerCpuS)) / median(g1.map((x) => x.packetsPerCpuS))).toFixed(3)),
      loadavg: Number(load.toFixed(2)),
    };
  } finally {
    await one.stop();
    await two.stop();
    await pinned?.stop();
  }
}
