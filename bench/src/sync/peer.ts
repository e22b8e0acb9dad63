/**
 * One director of the `sync` suite, run by the suite inside its own network namespace
 * (`ip netns exec NS node bench/dist/sync/peer.js`), driven over the IPC channel: a real
 * Director (16 masquerading real servers behind 10.100.0.1:80, the same on both peers)
 * with its sync daemon on a veth, multicast over real UDP. Timestamps are
 * `process.hrtime.bigint()` (CLOCK_MONOTONIC, one clock for every process of the machine).
 *
 * Connections are driven as the Director's own packets: per connection the client's SYN,
 * ACK and a second ACK (the 3rd incoming packet is the one the kernel's rules sync at the
 * default sync_threshold 3), optionally a FIN and the last ACK.
 */
import { readFileSync } from 'node:fs';
import { Director } from '@tunvs/engine';
import type { PacketBatch } from '@tunvs/link';
import { CountingLink } from '../counting-link.js';
import { natRewriteSrc, packet } from '@tunvs/packet';
import { SyncDaemons } from '@tunvs/sync';
import type { SyncRole } from '@tunvs/sync';

const BATCH = 256;
const SLOT = 64;
const VIP = '10.100.0.1';
const VPORT = 80;
const NDEST = 16;

export const caddrOf = (i: number): number => (0xac100000 + (i >>> 6)) >>> 0;
export const cportOf = (i: number): number => 1024 + (i & 63) * 997;

/** The flows' client packets, one pool per step of the connection. */
const STEPS: Record<string, string> = { syn: 'S', ack: 'A', fin: 'FA' };
const templates = new Map<string, Uint8Array>();
for (const [k, f] of Object.entries(STEPS)) {
  templates.set(k, packet().ipv4({ src: '172.16.0.0', dst: VIP, ttl: 64 }).tcp({ sport: 1024, dport: VPORT, flags: f, seq: 1000, ack: 2000 }).build());
}

function buildPool(tpl: Uint8Array, n: number, first: number): Uint8Array {
  const pool = new Uint8Array(n * SLOT);
  for (let i = 0; i < n; i++) {
    pool.set(tpl, i * SLOT);
    natRewriteSrc(pool, i * SLOT, caddrOf(first + i), cportOf(first + i));
  }
  return pool;
}

function workBatch(len: number): PacketBatch {
  const b: PacketBatch = { buf: new Uint8Array(BATCH * SLOT), offsets: new Uint32Array(BATCH), lengths: new Uint32Array(BATCH), count: BATCH };
  for (let i = 0; i < BATCH; i++) {
    b.offsets[i] = i * SLOT;
    b.lengths[i] = len;
  }
  return b;
}

interface Peer {
  d: Director;
  link: CountingLink;
  clock: { now: number; real: boolean };
  sync: SyncDaemons | null;
}

function makeDirector(capacity: number, realClock: boolean): Peer {
  const link = new CountingLink();
  const clock = { now: 1_000_000, real: realClock };
  const d = new Director({ links: [link], connCapacity: capacity, now: () => (clock.real ? Date.now() : clock.now), timers: false, sourceAddress: '10.200.0.1' });
  d.addService({ protocol: 'tcp', addr: VIP, port: VPORT, scheduler: 'rr' });
  for (let i = 0; i < NDEST; i++) {
    d.addDest({ protocol: 'tcp', addr: VIP, port: VPORT }, { addr: `10.200.1.${i + 1}`, port: 8080, method: 'masq' });
  }
  return { d, link, clock, sync: null };
}

/** Drops the Director counted (anything but forwarded packets). */
function drops(d: Director): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.counters.snapshot())) if (k !== 'rxPackets' && k !== 'txPackets' && v > 0) out[k] = v;
  return out;
}

const nowNs = (): number => Number(process.hrtime.bigint());

/** Run the connections [first, first + n) (n a multiple of BATCH) through `p`, steps in order, batch by batch. */
class Driver {
  private readonly pools = new Map<string, Uint8Array>();
  private readonly batch = workBatch(40);
  constructor(
    readonly n: number,
    readonly first: number,
    readonly steps: string[],
  ) {
    for (const s of new Set(steps)) this.pools.set(s, buildPool(templates.get(s)!, n, first));
  }
  /** Connections [from, from + count) (count <= BATCH): all of their steps, one batch per step. */
  run(p: Peer, from: number, count = BATCH): void {
    const off = from * SLOT;
    this.batch.count = count;
    for (const s of this.steps) {
      this.batch.buf.set(this.pools.get(s)!.subarray(off, off + count * SLOT));
      p.d.processBatch(p.link, this.batch);
    }
  }
  /** The slab restore copies alone (the reference subtracted from gross figures). */
  copyOnly(b: number): void {
    const off = b * BATCH * SLOT;
    for (const s of this.steps) this.batch.buf.set(this.pools.get(s)!.subarray(off, off + BATCH * SLOT));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}

/** Interface counters from /sys (of this namespace). */
function ifStats(ifname: string): { txBytes: number; txPackets: number; rxBytes: number; rxPackets: number } {
  const r = (f: string): number => Number(readFileSync(`/sys/class/net/${ifname}/statistics/${f}`, 'utf8').trim());
  return { txBytes: r('tx_bytes'), txPackets: r('tx_packets'), rxBytes: r('rx_bytes'), rxPackets: r('rx_packets') };
}

interface Cmd {
  cmd: string;
  id: number;
  [k: string]: unknown;
}

const IFNAME = process.env.SYNC_IF ?? 'veth0';
const SYNCID = 7;
let main: Peer | null = null;
/** backup: hrtime (ns) at which each connection (key caddr:cport) was created by a sync record */
const createdAt = new Map<string, number>();

function listing(p: Peer): string[] {
  const now = Date.now();
  return [...p.d.conns.entries(now)].map((c) => `${c.protocol} ${c.caddr}:${c.cport} ${c.vaddr}:${c.vport} ${c.daddr}:${c.dport} ${c.state} ${c.template}`).sort();
}

async function startSync(p: Peer, role: SyncRole): Promise<SyncDaemons> {
  // the daemons' clock is the Director's (the overhead rounds run a clock of their own)
  const s = new SyncDaemons(p.d, { clock: () => (p.clock.real ? Date.now() : p.clock.now) });
  await s.start(role, { ifname: IFNAME, syncid: SYNCID });
  p.sync = s;
  return s;
}

/**
 * Master overhead: two Directors in this process, one with the master daemon attached,
 * one without, the same connections; interleaved timed rounds. `steps` ['syn'] is the
 * fastpath suite's new flow; ['syn','ack','ack'] a connection that gets synced.
 */
async function overhead(c: Cmd): Promise<Record<string, unknown>> {
  const steps = c.steps as string[];
  const rounds = c.rounds as number;
  const ms = c.ms as number;
  const N = 65_536;
  const drv = new Driver(N, 1 << 22, steps);
  const nb = N / BATCH;
  const plain = makeDirector(N * 2, false);
  const synced = makeDirector(N * 2, false);
  const s = await startSync(synced, 'master');
  const m = s.masterDaemon!;
  // the sender runs as in tunvsd: from the event loop (its 20 ms timer, or at once when 8
  // messages wait), here at the loop's yields between runs of 16 batches
  const mk = (p: Peer, flush: boolean): { fn: () => void; expNs: number; conns: number } => {
    let j = 0;
    const st = {
      expNs: 0,
      conns: 0,
      fn: (): void => {
        drv.run(p, j * BATCH);
        st.conns += BATCH;
        if (++j === nb) {
          j = 0;
          const e0 = nowNs();
          p.clock.now += 3_600_000;
          p.d.tick();
          if (flush) m.flush(p.clock.now, true);
          st.expNs += nowNs() - e0;
          if (p.d.conns.size !== 0) throw new Error(`${p.d.conns.size} connections left after expiry`);
        }
      },
    };
    return st;
  };
  const a = mk(plain, false);
  const b = mk(synced, true);
  let jc = 0;
  const copy = (): void => {
    drv.copyOnly(jc);
    jc = jc + 1 === nb ? 0 : jc + 1;
  };
  // as on a real link, where each batch arrives in its own event-loop callback, the loop
  // yields to the event loop between runs of 16 batches (both Directors alike): the
  // transport's send completions run there and return the master's message buffers
  const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));
  // wall time, and this process's CPU time (user + system: the sends' kernel work included,
  // the time other processes of the shared machine take excluded)
  const timed = async (fn: () => void, st?: { expNs: number; conns: number }): Promise<{ ns: number; cpuNs: number }> => {
    const e0 = st?.expNs ?? 0;
    const c0 = st?.conns ?? 0;
    let n = 0;
    const cpu0 = process.cpuUsage();
    const t0 = nowNs();
    const end = t0 + ms * 1e6;
    let t = t0;
    while (t < end) {
      for (let k = 0; k < 16; k++) fn();
      n += 16;
      await yieldLoop();
      t = nowNs();
    }
    const cpu = process.cpuUsage(cpu0);
    const conns = st ? st.conns - c0 : n * BATCH;
    const exp = st ? st.expNs - e0 : 0;
    return { ns: (t - t0 - exp) / conns, cpuNs: ((cpu.user + cpu.system) * 1000 - exp) / conns };
  };
  // warm up: two passes each
  for (let w = 0; w < nb * 2; w++) {
    a.fn();
    b.fn();
    copy();
    if ((w & 15) === 15) await yieldLoop();
  }
  const q0 = m.counters.queued;
  const msg0 = m.counters.messages;
  const tx0 = ifStats(IFNAME);
  const res = { plainNs: [] as number[], syncNs: [] as number[], copyNs: [] as number[], plainCpu: [] as number[], syncCpu: [] as number[], copyCpu: [] as number[] };
  const add = (r: { ns: number; cpuNs: number }, wall: number[], cpu: number[]): void => {
    wall.push(r.ns);
    cpu.push(r.cpuNs);
  };
  for (let r = 0; r < rounds; r++) {
    add(await timed(copy), res.copyNs, res.copyCpu);
    // alternate which goes first
    if (r % 2 === 0) {
      add(await timed(a.fn, a), res.plainNs, res.plainCpu);
      add(await timed(b.fn, b), res.syncNs, res.syncCpu);
    } else {
      add(await timed(b.fn, b), res.syncNs, res.syncCpu);
      add(await timed(a.fn, a), res.plainNs, res.plainCpu);
    }
    // let the sockets' sends complete between rounds
    await new Promise((r2) => setTimeout(r2, 20));
  }
  let profile: unknown;
  const copyNs = median(res.copyNs);
  const plainNet = median(res.plainNs) - copyNs;
  const syncNet = median(res.syncNs) - copyNs;
  if (c.profile && syncNet > plainNet * 1.1) profile = await profileLoop(b.fn, 1500);
  const dr = { plain: drops(plain.d), synced: drops(synced.d) };
  const out = {
    steps,
    rounds,
    copy_ns_per_conn: copyNs,
    plain_ns_per_conn: res.plainNs,
    sync_ns_per_conn: res.syncNs,
    plain_net_per_s: 1e9 / plainNet,
    sync_net_per_s: 1e9 / syncNet,
    plain_cpu_ns_per_conn: res.plainCpu,
    sync_cpu_ns_per_conn: res.syncCpu,
    plain_cpu_net_per_s: 1e9 / (median(res.plainCpu) - median(res.copyCpu)),
    sync_cpu_net_per_s: 1e9 / (median(res.syncCpu) - median(res.copyCpu)),
    plain_gross_per_s: 1e9 / median(res.plainNs),
    sync_gross_per_s: 1e9 / median(res.syncNs),
    records_queued: m.counters.queued - q0,
    messages_sent: m.counters.messages - msg0,
    queue_full: m.counters.queueFull,
    send_errors: m.counters.sendErrors,
    message_buffers: m.buffers,
    if_tx_packets: ifStats(IFNAME).txPackets - tx0.txPackets,
    drops: dr,
    profile,
  };
  s.stop();
  return out;
}

async function profileLoop(fn: () => void, ms: number): Promise<unknown> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const end = Date.now() + ms;
    while (Date.now() < end) {
      for (let i = 0; i < 16; i++) fn();
      await new Promise((r) => setImmediate(r));
    }
    const { profile } = (await session.post('Profiler.stop')) as { profile: unknown };
    return profile;
  } finally {
    session.disconnect();
  }
}

/**
 * Paced connections on the master with the real clock: `rate` connections/s for `seconds`,
 * in batches every `tickMs`; returns each connection's insert time (ns) and the bytes the
 * master sent (its own count and the interface's).
 */
async function paced(c: Cmd): Promise<Record<string, unknown>> {
  const p = main!;
  const m = p.sync!.masterDaemon!;
  const rate = c.rate as number;
  const seconds = c.seconds as number;
  const steps = c.steps as string[];
  const first = c.first as number;
  const total = Math.ceil((rate * seconds) / BATCH) * BATCH;
  const drv = new Driver(total, first, steps);
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const inserted = new Float64Array(total);
  const c0 = { ...m.counters };
  const tx0 = ifStats(IFNAME);
  const t0 = nowNs();
  let done = 0;
  while (done < total) {
    // catch up to the schedule (the event loop may be late)
    const due = Math.min(total, Math.floor(((nowNs() - t0) / 1e9) * rate) + perTick);
    while (done < due) {
      const n = Math.min(due - done, BATCH);
      drv.run(p, done, n);
      const t = nowNs();
      for (let k = 0; k < n; k++) inserted[done + k] = t;
      done += n;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  const t1 = nowNs();
  // let the sender send what is due (full messages within 20 ms, the rest within 2 s)
  const settle = c.settleMs as number;
  await new Promise((r) => setTimeout(r, settle));
  const tx1 = ifStats(IFNAME);
  const cn = m.counters;
  return {
    conns: total,
    first,
    wall_s: (t1 - t0) / 1e9,
    inserted: Array.from(inserted),
    records: cn.queued - c0.queued,
    messages: cn.messages - c0.messages,
    payload_bytes: cn.bytes - c0.bytes,
    queue_full: cn.queueFull - c0.queueFull,
    send_errors: cn.sendErrors - c0.sendErrors,
    if_tx_packets: tx1.txPackets - tx0.txPackets,
    if_tx_bytes: tx1.txBytes - tx0.txBytes,
    pending_after: m.pending,
    drops: drops(p.d),
  };
}

/** 10k (or `n`) connections as fast as the master takes them. */
async function burst(c: Cmd): Promise<Record<string, unknown>> {
  const p = main!;
  const m = p.sync!.masterDaemon!;
  const n = c.n as number;
  const drv = new Driver(Math.ceil(n / BATCH) * BATCH, c.first as number, ['syn', 'ack', 'ack']);
  const c0 = { ...m.counters };
  const t0 = nowNs();
  for (let done = 0; done < n; done += BATCH) drv.run(p, done, Math.min(BATCH, n - done));
  const t1 = nowNs();
  await new Promise((r) => setTimeout(r, c.settleMs as number));
  return { t0, t1, records: m.counters.queued - c0.queued, messages: m.counters.messages - c0.messages, size: p.d.conns.size };
}

async function handle(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'overhead':
      return overhead(c);
    case 'start': {
      main = makeDirector(c.capacity as number, true);
      const s = await startSync(main, c.role as SyncRole);
      if (c.role === 'backup') {
        const b = s.backupDaemon!;
        const apply = b.apply.bind(b);
        b.apply = (r, now) => {
          const before = b.applied.created;
          apply(r, now);
          if (b.applied.created !== before) createdAt.set(`${r.caddr}:${r.cport}`, nowNs());
        };
      }
      return { ok: true };
    }
    case 'paced':
      return paced(c);
    case 'burst':
      return burst(c);
    case 'created': {
      const keys = c.keys as string[];
      return { at: keys.map((k) => createdAt.get(k) ?? -1), count: createdAt.size };
    }
    case 'state': {
      const p = main!;
      const s = p.sync!;
      return { size: p.d.conns.size, lastCreated: Math.max(0, ...createdAt.values()), stats: s.stats(), listing: c.listing ? listing(p) : undefined, ifs: ifStats(IFNAME) };
    }
    case 'exit':
      main?.sync?.stop();
      setTimeout(() => process.exit(0), 10);
      return { ok: true };
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

process.on('message', (msg: Cmd) => {
  handle(msg).then(
    (r) => process.send!({ id: msg.id, ok: true, result: r }),
    (e: unknown) => process.send!({ id: msg.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));
