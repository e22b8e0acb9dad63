/**
 * fastpath: packets per second through the real Director's per-packet path (parse ->
 * connection lookup -> state/timer update -> NAT rewrite -> stats -> transmit queue) with
 * a 1M-flow connection table, and new flows per second (service lookup + schedule +
 * connection insert + NAT) for every scheduler. benchmark.js, one operation = one batch of
 * 256 packets handed to `director.processBatch` on a counting in-memory Link.
 *
 * The Director rewrites packets in place, so before every batch the working slab is
 * restored from a pristine copy (`Uint8Array.set`, 16 KiB). That copy is measured alone in
 * the same run and subtracted (both the gross and the net figures are reported). New-flow
 * runs expire the table (clock jump + tick) whenever the SYN pool is used up; the expiry
 * time is measured with hrtime and subtracted too. The reference, measured interleaved,
 * is the bare @tunvs/packet loop (classifyFrame + decTtl + natRewriteDst: the Director's parse
 * and rewrite without its tables) on the same slabs.
 */
import Benchmark from 'benchmark';
import { Session } from 'node:inspector/promises';
import { availableParallelism } from 'node:os';
import { Director } from '@tunvs/engine';
import type { PacketBatch } from '@tunvs/link';
import { CountingLink } from '../counting-link.js';
import { CheckFlags, FrameInfo, classifyFrame, decTtl, natRewriteDst, natRewriteSrc, packet, parseIpv4, parseMac } from '@tunvs/packet';
import { schedulerNames } from '@tunvs/schedulers';
import type { Suite } from '../suite.js';
import { log, permutation, si, table } from '../suite.js';
import { progress } from '../report/progress.js';
import { workerScaling } from '../fastpath-workers.js';
import type { ScalingResult } from '../fastpath-workers.js';

const BATCH = 256;
const SLOT = 64;
const PKT_LEN = 64;
const SYN_LEN = 40;
const VIP = '10.100.0.1';
const VPORT = 80;
const NDEST = 16;

/**
 * Targets of issue 18 (one core): established ACKs with the flows spread over a 1M-entry
 * table, established ACKs of one cache-hot slab of 256 flows, new flows per scheduler.
 */
export const FASTPATH_TARGETS = { established_mpps: 5, established_hot_mpps: 10, new_flows_per_s: 2_000_000 } as const;

/** Client address and port of flow `i` (unique per flow, 64 ports per address). */
function caddrOf(i: number): number {
  return (0xac100000 + (i >>> 6)) >>> 0;
}
function cportOf(i: number): number {
  return 1024 + (i & 63) * 997;
}

/**
 * `n` packets (n a multiple of BATCH) from `template`, flow i's source patched in, `slot`
 * bytes apart; the IP header starts `ip` bytes into the template (14 behind Ethernet).
 */
function buildPool(template: Uint8Array, n: number, first = 0, slot = SLOT, ip = 0): Uint8Array {
  const pool = new Uint8Array(n * slot);
  for (let i = 0; i < n; i++) {
    const off = i * slot;
    pool.set(template, off);
    natRewriteSrc(pool, off + ip, caddrOf(first + i), cportOf(first + i));
  }
  return pool;
}

/**
 * A copy of `pool` with its `slot`-byte packets in a random order (Fisher-Yates, a fixed
 * seed): the same flows, their packets no longer in the order the flows were created.
 */
function shuffledPool(pool: Uint8Array, slot = SLOT): Uint8Array {
  const order = permutation(pool.length / slot, 0x2545f491);
  const out = new Uint8Array(pool.length);
  for (let i = 0; i < order.length; i++) {
    const from = order[i]! * slot;
    out.set(pool.subarray(from, from + slot), i * slot);
  }
  return out;
}

/** The pool cut into one view per batch (allocated once, up front). */
function batchViews(pool: Uint8Array, slot = SLOT): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < pool.length; o += BATCH * slot) out.push(pool.subarray(o, o + BATCH * slot));
  return out;
}

function workBatch(len: number, slot = SLOT): PacketBatch {
  const b: PacketBatch = { buf: new Uint8Array(BATCH * slot), offsets: new Uint32Array(BATCH), lengths: new Uint32Array(BATCH), count: BATCH };
  for (let i = 0; i < BATCH; i++) {
    b.offsets[i] = i * slot;
    b.lengths[i] = len;
  }
  return b;
}

/** Every batch of `views` through the Director once, in `b` (the SYNs, then the first ACKs, of a populate). */
function feed(d: Director, link: CountingLink, b: PacketBatch, views: Uint8Array[], each?: () => void): void {
  for (const v of views) {
    b.buf.set(v);
    d.processBatch(link, b);
    each?.();
  }
}

/**
 * The measured loops over `views` in `work`: `spread` takes the next batch each call,
 * `hot` the first one always, `copy` and `copyHot` are their slab restores alone
 * (subtracted); `calls` counts the Director's batches, to check what the link was given.
 */
function slabLoops(d: Director, link: CountingLink, work: PacketBatch, views: Uint8Array[]): { spread: () => void; hot: () => void; copy: () => void; copyHot: () => void; calls: () => number } {
  const nb = views.length;
  let k = 0;
  let calls = 0;
  return {
    spread: (): void => {
      k = k + 1 === nb ? 0 : k + 1;
      work.buf.set(views[k]!);
      d.processBatch(link, work);
      calls++;
    },
    hot: (): void => {
      work.buf.set(views[0]!);
      d.processBatch(link, work);
      calls++;
    },
    copy: (): void => {
      k = k + 1 === nb ? 0 : k + 1;
      work.buf.set(views[k]!);
      sink ^= work.buf[k & 1023]!;
    },
    copyHot: (): void => {
      work.buf.set(views[0]!);
      sink ^= work.buf[calls & 1023]!;
    },
    calls: () => calls,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function makeDirector(scheduler: string, capacity: number): { d: Director; link: CountingLink; clock: { now: number } } {
  const link = new CountingLink();
  const clock = { now: 1_000_000 };
  const d = new Director({ links: [link], connCapacity: capacity, now: () => clock.now, timers: false, sourceAddress: '10.200.0.1' });
  d.addService({ protocol: 'tcp', addr: VIP, port: VPORT, scheduler });
  // ovf sends to a server until its active connections exceed its weight: give it room
  const scale = scheduler === 'ovf' ? 1_000_000 : 1;
  for (let i = 0; i < NDEST; i++) {
    d.addDest({ protocol: 'tcp', addr: VIP, port: VPORT }, { addr: `10.200.1.${i + 1}`, port: 8080, method: 'masq', weight: (1 + (i % 4)) * scale });
  }
  return { d, link, clock };
}

/** Drops the Director counted (anything but forwarded packets), for sanity checks. */
function drops(d: Director): Record<string, number> {
  const s = d.counters.snapshot();
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) if (k !== 'rxPackets' && k !== 'txPackets' && v > 0) out[k] = v;
  return out;
}

let sink = 0;

/** hz of one benchmark.js run of `fn`. */
function bench(name: string, fn: () => void, maxTime: number): number {
  const b = new Benchmark(name, fn, { maxTime, minSamples: 5 });
  b.run({ async: false });
  if (b.error) throw b.error;
  return b.hz;
}

/** Top `n` functions by self time of a V8 CPU profile. */
export function topFunctions(profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[] }, n = 5): { fn: string; where: string; selfPct: number }[] {
  let total = 0;
  const byFn = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const cf = node.callFrame;
    const file = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(packages|bench)\//, '$1/');
    const key = `${cf.functionName || '(anonymous)'}\t${file}:${cf.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
  }
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, h]) => {
      const [fn, where] = k.split('\t') as [string, string];
      return { fn, where, selfPct: Number(((100 * h) / Math.max(1, total)).toFixed(1)) };
    });
}

/** Profile `fn` run in a loop for about `ms` milliseconds (in-process, like `node --cpu-prof`). */
async function profileLoop(fn: () => void, ms: number): Promise<ReturnType<typeof topFunctions>> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const end = Date.now() + ms;
    while (Date.now() < end) for (let i = 0; i < 64; i++) fn();
    const { profile } = (await session.post('Profiler.stop')) as { profile: Parameters<typeof topFunctions>[0] };
    return topFunctions(profile, 5);
  } finally {
    session.disconnect();
  }
}

/**
 * One worker against two (fastpath-workers.ts): the same established flows, split by the
 * steering hash, each worker a Director in a thread of its own.
 */
async function scaling(quick: boolean): Promise<ScalingResult> {
  const r = await workerScaling(quick ? 65_536 : 262_144, quick ? 3 : 5, quick ? 500 : 1500, log);
  log(table([
    ['established ACKs, 64 B, batch 256, in worker threads', 'Mpps (median)', 'rounds'],
    ['one worker, every flow', r.one_worker_mpps.toFixed(2), r.rounds.one.map((x) => x.toFixed(2)).join(' ')],
    [`two workers (${r.split.join(' + ')} flows), summed`, r.two_workers_mpps.toFixed(2), r.rounds.two.map((x) => x.toFixed(2)).join(' ')],
    ...(r.two_workers_pinned_mpps === null ? [] : [[`the same, pinned to CPUs ${r.pinned_cpus} (tunvsd cpus)`, r.two_workers_pinned_mpps.toFixed(2), r.rounds.pinned.map((x) => x.toFixed(2)).join(' ')]]),
  ]));
  log(`two workers / one worker: ${r.ratio.toFixed(2)}x (target ${r.target}x); each worker in the median round: ${r.two_workers_each_mpps.map((x) => x.toFixed(2)).join(' / ')} Mpps`);
  if (r.pinned_ratio !== null) log(`two workers pinned / unpinned: ${r.pinned_ratio.toFixed(2)}x (cores the pinned pair got: ${r.cores.pinned})`);
  else log('two workers pinned: not run (this process may use one CPU only)');
  log(`cores the process got: ${r.cores.one} (one worker), ${r.cores.two} (two); Mpps per CPU second: ${r.mpps_per_cpu.one} / ${r.mpps_per_cpu.two} (${r.ratio_per_cpu}x); load average before: ${r.loadavg} on ${availableParallelism()} cores`);
  return r;
}

const L2_MAC = '02:00:0a:c8:00:01';
const L2_GW = '10.150.0.254';
const L2_GW_MAC = '02:00:0a:96:00:fe';
const ETH_SLOT = 128;

/**
 * The layer-2 path (what TAP, AF_XDP and AF_PACKET links run: the Ethernet header, the IP
 * header checksum check of frames from the wire, our-MAC check, the neighbour lookup and
 * the Ethernet rewrite) on the same ACKs in Ethernet frames: `flows` flows rotating, one
 * cache-hot slab, and the TUN Director's cache-hot loop again in the same rounds for the
 * ratio. Clients behind a gateway, the 16 real servers on the director's subnet, every
 * neighbour resolved by ARP first.
 */
function layer2(flows: number, tunHot: () => void, tunCopyHot: () => void, rounds: number, maxTime: number): Record<string, unknown> {
  const link = new CountingLink('tap');
  const clock = { now: 1_000_000 };
  const d = new Director({
    links: [link], connCapacity: flows + (flows >>> 3), now: () => clock.now, timers: false, mac: parseMac(L2_MAC),
    addresses: [{ addr: '10.200.0.1', prefix: 16 }, { addr: '10.150.0.1', prefix: 24 }], gateway: L2_GW,
  });
  d.start();
  d.addService({ protocol: 'tcp', addr: VIP, port: VPORT, scheduler: 'wlc' });
  for (let i = 0; i < NDEST; i++) d.addDest({ protocol: 'tcp', addr: VIP, port: VPORT }, { addr: `10.200.1.${i + 1}`, port: 8080, method: 'masq', weight: 1 + (i % 4) });
  // the gateway and the servers ask for the director's addresses: their entries are learned
  const asks: [string, string, string][] = [[L2_GW_MAC, L2_GW, '10.150.0.1']];
  for (let i = 0; i < NDEST; i++) asks.push([`02:00:0a:c8:01:${(i + 1).toString(16).padStart(2, '0')}`, `10.200.1.${i + 1}`, '10.200.0.1']);
  const arp: PacketBatch = { buf: new Uint8Array(asks.length * ETH_SLOT), offsets: new Uint32Array(asks.length), lengths: new Uint32Array(asks.length), count: asks.length };
  asks.forEach(([mac, ip, target], i) => {
    const f = packet().eth({ src: mac, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: mac, senderIp: ip, targetIp: target }).build();
    arp.buf.set(f, i * ETH_SLOT);
    arp.offsets[i] = i * ETH_SLOT;
    arp.lengths[i] = f.length;
  });
  d.processBatch(link, arp);
  const frame = (flags: string, len: number): Uint8Array =>
    packet().eth({ src: L2_GW_MAC, dst: L2_MAC }).ipv4({ src: '172.16.0.0', dst: VIP, ttl: 64 }).tcp({ sport: 1024, dport: VPORT, flags, seq: 1000, ack: 2000 }).payload(new Uint8Array(len)).build();
  const synT = frame('S', 0);
  const ackT = frame('A', PKT_LEN - 40);
  // the IP header after the Ethernet header
  const pool = (t: Uint8Array): Uint8Array[] => batchViews(buildPool(t, flows, 0, ETH_SLOT, 14), ETH_SLOT);
  const ackV = pool(ackT);
  const work = workBatch(ackT.length, ETH_SLOT);
  feed(d, link, workBatch(synT.length, ETH_SLOT), pool(synT));
  feed(d, link, work, ackV);
  if (d.conns.size !== flows) throw new Error(`layer 2: the table holds ${d.conns.size} connections, expected ${flows}`);
  // the answers to the neighbours' ARP requests are counted too: not drops
  const dropped = (): Record<string, number> => Object.fromEntries(Object.entries(drops(d)).filter(([c]) => c !== 'arpReplies'));
  const pre = dropped();
  if (Object.keys(pre).length > 0) throw new Error(`layer 2: the Director dropped packets while populating: ${JSON.stringify(pre)}`);
  const written0 = link.written;
  const l = slabLoops(d, link, work, ackV);
  const fns: [string, () => void][] = [['l2Spread', l.spread], ['l2Hot', l.hot], ['l2Copy', l.copy], ['l2CopyHot', l.copyHot], ['tunHot', tunHot], ['tunCopyHot', tunCopyHot]];
  const res: Record<string, number[]> = {};
  for (const [n] of fns) res[n] = [];
  const pm = progress('layer 2 (interleaved)', rounds * fns.length);
  for (let r = 0; r < rounds; r++) {
    for (const [n, fn] of fns) {
      res[n]!.push(bench(n, fn, maxTime) * BATCH);
      pm.tick();
    }
  }
  pm.stop();
  const after = dropped();
  if (Object.keys(after).length > 0) throw new Error(`layer 2: the Director dropped packets: ${JSON.stringify(after)}`);
  if (link.written - written0 !== l.calls() * BATCH) throw new Error(`layer 2: wrote ${link.written - written0} frames for ${l.calls() * BATCH}`);
  const m = (n: string): number => median(res[n]!);
  const netOf = (loop: string, copy: string): number => 1e9 / (1e9 / m(loop) - 1e9 / m(copy));
  const spread = netOf('l2Spread', 'l2Copy');
  const hot = netOf('l2Hot', 'l2CopyHot');
  const tun = netOf('tunHot', 'tunCopyHot');
  log(table([
    ['established TCP ACKs in Ethernet frames (78 B), batch 256', 'Mpps gross', 'Mpps net of copy', 'ns/pkt net', 'runs (gross Mpps)'],
    [`layer 2: flows rotate over ${si(flows, 0)}`, (m('l2Spread') / 1e6).toFixed(2), (spread / 1e6).toFixed(2), (1e9 / spread).toFixed(1), res.l2Spread!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
    ['layer 2: one slab of 256 flows (cache-hot)', (m('l2Hot') / 1e6).toFixed(2), (hot / 1e6).toFixed(2), (1e9 / hot).toFixed(1), res.l2Hot!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
    ['TUN: one slab of 256 flows, the same rounds', (m('tunHot') / 1e6).toFixed(2), (tun / 1e6).toFixed(2), (1e9 / tun).toFixed(1), res.tunHot!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
  ]));
  // each round's pair ran seconds apart: their ratio is steadier than the medians' when the
  // machine's speed moves between rounds
  const paired = median(res.l2Hot!.map((x, i) => x / res.tunHot![i]!));
  log(`layer 2 / TUN, cache-hot: ${(hot / tun).toFixed(2)}x (the layer-2 steps cost ${(1e9 / hot - 1e9 / tun).toFixed(1)} ns/packet: Ethernet, IP header checksum, our MAC, neighbour, rewrite); median of the per-round ratios (gross) ${paired.toFixed(2)}x`);
  return {
    flows,
    established_mpps: Number((spread / 1e6).toFixed(3)),
    established_hot_mpps: Number((hot / 1e6).toFixed(3)),
    tun_hot_same_rounds_mpps: Number((tun / 1e6).toFixed(3)),
    hot_vs_tun: Number((hot / tun).toFixed(3)),
    hot_vs_tun_paired: Number(paired.toFixed(3)),
    layer2_ns_per_packet: Number((1e9 / hot - 1e9 / tun).toFixed(1)),
  };
}

/** The `fastpath` benchmark suite. */
export const suite: Suite = {
  name: 'fastpath',
  description: 'Director per-packet path: established pps with a 1M-flow table, new flows/s per scheduler, one worker vs two (in-process; `fastpath workers` runs the last alone)',
  async run(opts) {
    if (opts.args.includes('workers')) return { worker_scaling: await scaling(opts.quick) };
    const flows = opts.quick ? 131_072 : 1_048_576;
    const rounds = opts.quick ? 1 : 3;
    const maxTime = opts.quick ? 0.25 : 0.8;

    // ---------------------------------------------------------------- established
    const ackTpl = packet().ipv4({ src: '172.16.0.0', dst: VIP, ttl: 64 }).tcp({ sport: 1024, dport: VPORT, flags: 'A', seq: 1000, ack: 2000 }).payload(new Uint8Array(PKT_LEN - 40)).build();
    const synTpl = packet().ipv4({ src: '172.16.0.0', dst: VIP, ttl: 64 }).tcp({ sport: 1024, dport: VPORT, flags: 'S', seq: 999 }).build();
    if (ackTpl.length !== PKT_LEN || synTpl.length !== SYN_LEN) throw new Error('template sizes');

    log(`building ${si(flows, 0)} flows (SYN and ACK pools, the ACKs in creation order and shuffled, ${((flows * SLOT * 3) / 2 ** 20).toFixed(0)} MiB)`);
    const synPool = buildPool(synTpl, flows);
    const ackPool = buildPool(ackTpl, flows);
    const synViews = batchViews(synPool);
    const ackViews = batchViews(ackPool);
    // the same ACKs with the flows in random order: the rows above read the table's slots
    // in the order they were taken (a fresh table fills them in turn), these at random
    const rndViews = batchViews(shuffledPool(ackPool));
    const nb = ackViews.length;

    const { d, link, clock } = makeDirector('wlc', flows + (flows >>> 3));
    const syn = workBatch(SYN_LEN);
    const work = workBatch(PKT_LEN);
    const t0 = process.hrtime.bigint();
    const pb = progress('populate 1M-flow table', nb * 2);
    const tick = (): void => pb.tick();
    feed(d, link, syn, synViews, tick);
    const populateS = Number(process.hrtime.bigint() - t0) / 1e9;
    // first ACK of every flow: SYN_RECV -> ESTABLISHED (untimed)
    feed(d, link, work, ackViews, tick);
    pb.stop();
    if (d.conns.size !== flows) throw new Error(`table holds ${d.conns.size} connections, expected ${flows}`);
    const est = d.listServices()[0]!.dests.reduce((a, x) => a + x.activeConns, 0);
    if (est !== flows) throw new Error(`${est} active connections, expected ${flows}`);
    const pre = drops(d);
    if (Object.keys(pre).length > 0) throw new Error(`the Director dropped packets while populating: ${JSON.stringify(pre)}`);
    log(`populated: ${si(flows, 0)} connections in ${populateS.toFixed(2)} s through processBatch (${si(flows / populateS)} SYN/s incl. set-up), ${(d.conns.bytesPerEntry).toFixed(0)} bytes/entry`);

    const written0 = link.written;
    const loops = slabLoops(d, link, work, ackViews);
    const estSpread = loops.spread;
    const estHot = loops.hot;
    // the same without the batch pre-pass (Director.prefetch off), interleaved
    const estSpreadNoPre = (): void => {
      d.prefetch = false;
      estSpread();
      d.prefetch = true;
    };
    const estHotNoPre = (): void => {
      d.prefetch = false;
      estHot();
      d.prefetch = true;
    };
    const copySpread = loops.copy;
    const copyHot = loops.copyHot;
    const rnd = slabLoops(d, link, work, rndViews);
    const estRandom = rnd.spread;
    const estRandomNoPre = (): void => {
      d.prefetch = false;
      estRandom();
      d.prefetch = true;
    };
    let k = 0;
    const rsAddr = parseIpv4('10.200.1.1');
    const refInfo = new FrameInfo();
    let refDrops = 0;
    const refSpread = (): void => {
      k = k + 1 === nb ? 0 : k + 1;
      const buf = work.buf;
      buf.set(ackViews[k]!);
      for (let i = 0; i < BATCH; i++) {
        const off = i * SLOT;
        if (classifyFrame(buf, off, PKT_LEN, 'tun', refInfo, CheckFlags.IcmpChecksum) !== 0) {
          refDrops++;
          continue;
        }
        sink ^= refInfo.src ^ refInfo.srcPort ^ refInfo.dst ^ refInfo.dstPort;
        decTtl(buf, off);
        natRewriteDst(buf, off, rsAddr, 8080);
      }
    };
    /** packets per second of each loop, `rounds` rounds with the loops interleaved in each */
    const interleaved = (label: string, fns: [string, () => void][]): Record<string, number[]> => {
      const out: Record<string, number[]> = {};
      for (const [name] of fns) out[name] = [];
      const pm = progress(label, rounds * fns.length);
      for (let r = 0; r < rounds; r++) {
        for (const [name, fn] of fns) {
          out[name]!.push(bench(name, fn, maxTime) * BATCH);
          pm.tick();
        }
      }
      pm.stop();
      return out;
    };
    const res = interleaved('established (interleaved)', [
      ['estSpread', estSpread], ['estSpreadNoPre', estSpreadNoPre], ['copySpread', copySpread], ['refSpread', refSpread],
      ['estRandom', estRandom], ['estRandomNoPre', estRandomNoPre],
      ['estHot', estHot], ['estHotNoPre', estHotNoPre], ['copyHot', copyHot],
    ]);
    if (refDrops > 0) throw new Error(`reference loop dropped ${refDrops} packets`);
    const estDrops = drops(d);
    if (Object.keys(estDrops).length > 0) throw new Error(`the Director dropped packets: ${JSON.stringify(estDrops)}`);
    const calls = loops.calls() + rnd.calls();
    if (link.written - written0 !== calls * BATCH) throw new Error(`wrote ${link.written - written0} packets for ${calls * BATCH}`);
    if (d.conns.size !== flows) throw new Error('connections appeared or vanished during the established run');

    // the same flows with the clock running, in rounds of their own after the others (a
    // running clock moves every connection's expiry, which would change what the rows
    // above measure): 64 µs a batch of 256 (a link at 4 Mpps) and a tick every 8 ms, as
    // tunvsd's timer; a flow comes back 1M packets (0.25 s) later, so that every packet
    // re-arms its connection's timer for a later tick, as on a real link
    let nextTick = clock.now + 8;
    const estClock = (): void => {
      clock.now += 0.064;
      if (clock.now >= nextTick) {
        d.tick();
        nextTick = clock.now + 8;
      }
      estSpread();
    };
    const resClock = interleaved('established, clock running (interleaved)', [['estClock', estClock], ['copySpread', copySpread], ['refSpread', refSpread]]);
    const clockDrops = drops(d);
    if (Object.keys(clockDrops).length > 0) throw new Error(`the Director dropped packets with the clock running: ${JSON.stringify(clockDrops)}`);
    if (d.conns.size !== flows) throw new Error('connections appeared or vanished during the clock-running run');
    const estClockNet = 1e9 / (1e9 / median(resClock.estClock!) - 1e9 / median(resClock.copySpread!));
    const refClockNet = 1e9 / (1e9 / median(resClock.refSpread!) - 1e9 / median(resClock.copySpread!));

    const pps = (k2: string): number => median(res[k2]!);
    /** per-packet ns of the measured loop minus the per-packet ns of its copy */
    const net = (loop: string, copy: string): number => 1e9 / (1e9 / pps(loop) - 1e9 / pps(copy));
    const estNet = net('estSpread', 'copySpread');
    const estHotNet = net('estHot', 'copyHot');
    const estNoPreNet = net('estSpreadNoPre', 'copySpread');
    // the shuffled pool's copy reads it in the same sequential way as the other's
    const estRandomNet = net('estRandom', 'copySpread');
    const estRandomNoPreNet = net('estRandomNoPre', 'copySpread');
    const estHotNoPreNet = net('estHotNoPre', 'copyHot');
    const refNet = net('refSpread', 'copySpread');
    const copyNsPerPkt = 1e9 / pps('copySpread');
    log(table([
      ['established TCP ACKs, 64 B, batch 256', 'Mpps gross', 'Mpps net of copy', 'ns/pkt net', 'runs (gross Mpps)'],
      [`Director, flows rotate over all ${si(flows, 0)}`, (pps('estSpread') / 1e6).toFixed(2), (estNet / 1e6).toFixed(2), (1e9 / estNet).toFixed(1), res.estSpread!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      [`  the same without the batch pre-pass`, (pps('estSpreadNoPre') / 1e6).toFixed(2), (estNoPreNet / 1e6).toFixed(2), (1e9 / estNoPreNet).toFixed(1), res.estSpreadNoPre!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      [`Director, flows over all ${si(flows, 0)} in random order`, (pps('estRandom') / 1e6).toFixed(2), (estRandomNet / 1e6).toFixed(2), (1e9 / estRandomNet).toFixed(1), res.estRandom!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      [`  the same without the batch pre-pass`, (pps('estRandomNoPre') / 1e6).toFixed(2), (estRandomNoPreNet / 1e6).toFixed(2), (1e9 / estRandomNoPreNet).toFixed(1), res.estRandomNoPre!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      ['Director, one slab of 256 flows (cache-hot)', (pps('estHot') / 1e6).toFixed(2), (estHotNet / 1e6).toFixed(2), (1e9 / estHotNet).toFixed(1), res.estHot!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      [`  the same without the batch pre-pass`, (pps('estHotNoPre') / 1e6).toFixed(2), (estHotNoPreNet / 1e6).toFixed(2), (1e9 / estHotNoPreNet).toFixed(1), res.estHotNoPre!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      ['reference: classifyFrame+decTtl+natRewriteDst', (pps('refSpread') / 1e6).toFixed(2), (refNet / 1e6).toFixed(2), (1e9 / refNet).toFixed(1), res.refSpread!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      [`Director, flows rotate over all ${si(flows, 0)}, clock running`, (median(resClock.estClock!) / 1e6).toFixed(2), (estClockNet / 1e6).toFixed(2), (1e9 / estClockNet).toFixed(1), resClock.estClock!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      ['  its reference, in the same rounds', (median(resClock.refSpread!) / 1e6).toFixed(2), (refClockNet / 1e6).toFixed(2), (1e9 / refClockNet).toFixed(1), resClock.refSpread!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
      ['slab restore copy alone (subtracted)', (pps('copySpread') / 1e6).toFixed(2), '', copyNsPerPkt.toFixed(1), res.copySpread!.map((x) => (x / 1e6).toFixed(2)).join(' ')],
    ]));
    log(`Director/reference ${(estNet / refNet).toFixed(2)}x (the Director's layers cost ${(1e9 / estNet - 1e9 / refNet).toFixed(1)} ns/packet)`);
    log(`target established, flows over ${si(flows, 0)}: ${FASTPATH_TARGETS.established_mpps} Mpps: ${(estNet / 1e6 / FASTPATH_TARGETS.established_mpps).toFixed(2)}x (without the pre-pass ${(estNoPreNet / 1e6 / FASTPATH_TARGETS.established_mpps).toFixed(2)}x)`);
    log(`the same flows in random order: ${(estRandomNet / 1e6 / FASTPATH_TARGETS.established_mpps).toFixed(2)}x (without the pre-pass ${(estRandomNoPreNet / 1e6 / FASTPATH_TARGETS.established_mpps).toFixed(2)}x)`);
    log(`clock running (64 µs a batch, a tick every 8 ms: every packet re-arms its timer): ${(estClockNet / 1e6).toFixed(2)} Mpps net, ${(estClockNet / 1e6 / FASTPATH_TARGETS.established_mpps).toFixed(2)}x the 1M target; Director/reference ${(estClockNet / refClockNet).toFixed(2)}x`);
    log(`target established, cache-hot: ${FASTPATH_TARGETS.established_hot_mpps} Mpps: ${(estHotNet / 1e6 / FASTPATH_TARGETS.established_hot_mpps).toFixed(2)}x (without the pre-pass ${(estHotNoPreNet / 1e6 / FASTPATH_TARGETS.established_hot_mpps).toFixed(2)}x)`);

    // ---------------------------------------------------------------- new flows
    const NEW = opts.quick ? 16_384 : 65_536;
    const newPool = buildPool(synTpl, NEW, 1 << 22);
    const newViews = batchViews(newPool);
    const nnb = newViews.length;
    const names = schedulerNames();
    const newRes: Record<string, { gross: number[]; expiry: number[] }> = {};
    let ks = 0;
    const copySyn = (): void => {
      ks = ks + 1 === nnb ? 0 : ks + 1;
      syn.buf.set(newViews[ks]!);
      sink ^= syn.buf[ks & 1023]!;
    };
    const newDirectors = new Map<string, { fn: () => void; stats: { expNs: number; flows: number }; d: Director }>();
    for (const name of names) {
      const m = makeDirector(name, NEW * 2);
      const stats = { expNs: 0, flows: 0 };
      let j = 0;
      const fn = (): void => {
        syn.buf.set(newViews[j]!);
        m.d.processBatch(m.link, syn);
        stats.flows += BATCH;
        if (++j === nnb) {
          j = 0;
          const e0 = process.hrtime.bigint();
          m.clock.now += 3_600_000;
          m.d.tick();
          stats.expNs += Number(process.hrtime.bigint() - e0);
          if (m.d.conns.size !== 0) throw new Error(`${name}: ${m.d.conns.size} connections left after expiry`);
        }
      };
      // warm up (JIT, inline caches) over two passes of the pool, untimed
      for (let w = 0; w < nnb * 2; w++) fn();
      newDirectors.set(name, { fn, stats, d: m.d });
      newRes[name] = { gross: [], expiry: [] };
    }
    const copySynPps: number[] = [];
    const pn = progress('new flows (per scheduler)', rounds * (names.length + 1));
    for (let r = 0; r < rounds; r++) {
      copySynPps.push(bench('copy', copySyn, maxTime / 2) * BATCH);
      pn.tick();
      for (const name of names) {
        const e = newDirectors.get(name)!;
        const exp0 = e.stats.expNs;
        const fl0 = e.stats.flows;
        const hz = bench(name, e.fn, maxTime / 2) * BATCH;
        const expPerFlow = (e.stats.expNs - exp0) / Math.max(1, e.stats.flows - fl0);
        newRes[name]!.gross.push(hz);
        newRes[name]!.expiry.push(expPerFlow);
        pn.tick();
      }
    }
    pn.stop();
    const copySynNs = 1e9 / median(copySynPps);
    const newFlows: Record<string, number> = {};
    const newGross: Record<string, number> = {};
    const rows: (string | number)[][] = [['new flows (SYN, 64k 5-tuples, 16 servers)', 'flows/s gross', 'flows/s net', 'ns/flow net', 'expiry ns/flow', 'vs target']];
    for (const name of names) {
      const r = newRes[name]!;
      const e = newDirectors.get(name)!;
      const dr = drops(e.d);
      if (Object.keys(dr).length > 0) throw new Error(`${name}: the Director dropped new flows: ${JSON.stringify(dr)}`);
      const gross = median(r.gross);
      const expNs = median(r.expiry);
      const netNs = 1e9 / gross - copySynNs - expNs;
      newFlows[name] = Math.round(1e9 / netNs);
      newGross[name] = Math.round(gross);
      rows.push([name, si(gross), si(1e9 / netNs), netNs.toFixed(0), expNs.toFixed(0), `${(1e9 / netNs / FASTPATH_TARGETS.new_flows_per_s).toFixed(2)}x`]);
    }
    log(table(rows));
    log(`net = gross minus the slab restore copy (${copySynNs.toFixed(1)} ns/packet) and the table expiry (clock jump + tick), both measured in the same run`);
    const bestNew = Math.max(...Object.values(newFlows));
    const worstNew = Math.min(...Object.values(newFlows));

    // ---------------------------------------------------------------- profile when missed
    let profileTop: Record<string, ReturnType<typeof topFunctions>> | undefined;
    const missed = estNet < FASTPATH_TARGETS.established_mpps * 1e6 || estRandomNet < FASTPATH_TARGETS.established_mpps * 1e6 || estHotNet < FASTPATH_TARGETS.established_hot_mpps * 1e6 || worstNew < FASTPATH_TARGETS.new_flows_per_s;
    if (missed && !opts.quick) {
      log('a target was missed: profiling (V8 CPU profiler, in-process, as node --cpu-prof)');
      profileTop = {
        established: await profileLoop(estSpread, 1500),
        established_random: await profileLoop(estRandom, 1500),
        new_flows_wlc: await profileLoop(newDirectors.get('wlc')!.fn, 1500),
      };
      for (const [what, top] of Object.entries(profileTop)) {
        log(`top 5 self time, ${what}:`);
        log(table([['function', 'where', 'self %'], ...top.map((t) => [t.fn, t.where, t.selfPct.toFixed(1)])]));
      }
    }

    // ---------------------------------------------------------------- layer 2
    // last of the in-process rows: its table and pools (about 100 MiB, garbage after it)
    // must not be collected in the middle of the new-flow rows
    const l2 = layer2(opts.quick ? 65_536 : 262_144, estHot, copyHot, rounds, maxTime);

    return {
      established_mpps: Number((estNet / 1e6).toFixed(3)),
      established_clock_running_mpps: Number((estClockNet / 1e6).toFixed(3)),
      established_clock_running_vs_reference: Number((estClockNet / refClockNet).toFixed(3)),
      established_gross_mpps: Number((pps('estSpread') / 1e6).toFixed(3)),
      established_hot_mpps: Number((estHotNet / 1e6).toFixed(3)),
      established_no_prepass_mpps: Number((estNoPreNet / 1e6).toFixed(3)),
      established_random_mpps: Number((estRandomNet / 1e6).toFixed(3)),
      established_random_no_prepass_mpps: Number((estRandomNoPreNet / 1e6).toFixed(3)),
      established_hot_no_prepass_mpps: Number((estHotNoPreNet / 1e6).toFixed(3)),
      established_ns_per_packet: Number((1e9 / estNet).toFixed(1)),
      reference_mpps: Number((refNet / 1e6).toFixed(3)),
      ratio_vs_reference: Number((estNet / refNet).toFixed(3)),
      director_layers_ns_per_packet: Number((1e9 / estNet - 1e9 / refNet).toFixed(1)),
      copy_ns_per_packet: Number(copyNsPerPkt.toFixed(2)),
      new_flows_per_s: newFlows,
      new_flows_gross_per_s: newGross,
      new_flows_best: bestNew,
      new_flows_worst: worstNew,
      targets: { ...FASTPATH_TARGETS },
      ratio_to_target: {
        established: Number((estNet / 1e6 / FASTPATH_TARGETS.established_mpps).toFixed(3)),
        established_random: Number((estRandomNet / 1e6 / FASTPATH_TARGETS.established_mpps).toFixed(3)),
        established_hot: Number((estHotNet / 1e6 / FASTPATH_TARGETS.established_hot_mpps).toFixed(3)),
        new_flows_best: Number((bestNew / FASTPATH_TARGETS.new_flows_per_s).toFixed(3)),
        new_flows_worst: Number((worstNew / FASTPATH_TARGETS.new_flows_per_s).toFixed(3)),
      },
      targets_met: {
        established: estNet >= FASTPATH_TARGETS.established_mpps * 1e6,
        established_random: estRandomNet >= FASTPATH_TARGETS.established_mpps * 1e6,
        established_hot: estHotNet >= FASTPATH_TARGETS.established_hot_mpps * 1e6,
        new_flows: worstNew >= FASTPATH_TARGETS.new_flows_per_s,
      },
      flows,
      layer2: l2,
      bytes_per_entry: Number(d.conns.bytesPerEntry.toFixed(1)),
      populate_syn_per_s: Math.round(flows / populateS),
      batch: BATCH,
      packet_bytes: PKT_LEN,
      destinations: NDEST,
      rounds,
      ...(profileTop ? { profile_top5: profileTop } : {}),
      worker_scaling: await scaling(opts.quick),
      sink: sink & 1,
    };
  },
};
