/**
 * sync: what connection synchronisation (@tunvs/sync) costs and how fast it is, over real
 * UDP multicast between two directors in two network namespaces joined by a veth pair
 * (`lsb-m-PID`, `lsb-b-PID`, or $TUNVS_SYNC_BENCH_PREFIX). Each director is its own
 * process (bench/dist/sync/peer.js under `ip netns exec`), driven over IPC; timestamps
 * are CLOCK_MONOTONIC (process.hrtime), one clock for both processes.
 *
 * - master overhead: the fastpath suite's new flows/s (SYN of a new 5-tuple) on a Director
 *   with the master daemon attached (sending to the veth) against one without, and the
 *   same for connections that get synced (SYN, ACK, ACK: the 3rd packet is synced at the
 *   default sync_threshold 3); interleaved timed rounds, medians, net of the slab copy;
 *   the loops yield to the event loop every 16 batches (as a link delivers each batch in
 *   a callback of its own), where the master's sender runs (its timer, or at once when 8
 *   messages wait) and the socket's send completions return its buffers;
 * - sync traffic: bytes/s on the wire (sync payload + 20 IP + 8 UDP per datagram) per
 *   1,000 new connections/s, short connections (SYN, ACK, ACK, FIN, ACK) paced at 1,000/s,
 *   the default sync_threshold 3 / sync_period 50; checked against the veth's counters;
 * - sync lag: master insert to backup insert per connection, median and p99, at 1,000
 *   and 10,000 connections/s;
 * - the 10k burst: 10,000 connections on the master as fast as it takes them, the time until
 *   the backup's table holds them all, and whether the two tables list the same entries.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Suite } from '../suite.js';
import { log, si, table } from '../suite.js';
import { topFunctions } from './fastpath.js';

const here = dirname(fileURLToPath(import.meta.url));
const PEER = join(here, '..', 'sync', 'peer.js');
const IP_UDP = 28;

const caddrOf = (i: number): number => (0xac100000 + (i >>> 6)) >>> 0;
const cportOf = (i: number): number => 1024 + (i & 63) * 997;
const key = (i: number): string => `${caddrOf(i)}:${cportOf(i)}`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const median = (xs: number[]): number => pct(xs, 50);

class PeerProc {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly child: ChildProcess;
  constructor(
    readonly ns: string,
    readonly name: string,
  ) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`${this.name}: ${m.error}`));
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error(`${this.name} exited (${code})`));
      }
      this.waiting.clear();
    });
  }
  call<T = Record<string, unknown>>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ cmd, id, ...args });
    });
  }
  kill(): void {
    if (this.child.exitCode === null && this.child.pid) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The two namespaces joined by a veth (veth0 in each), 10.77.0.1 (master) and 10.77.0.2 (backup). */
function makeLab(prefix: string): { m: string; b: string; cleanup: () => void } {
  const m = `${prefix}m-${process.pid}`;
  const b = `${prefix}b-${process.pid}`;
  const cleanup = (): void => {
    for (const ns of [m, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not there
      }
    }
  };
  cleanup();
  try {
    ip('netns', 'add', m);
    ip('netns', 'add', b);
    ip('link', 'add', 'veth0', 'netns', m, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', b);
    for (const [ns, a] of [[m, '10.77.0.1/24'], [b, '10.77.0.2/24']] as const) {
      ip('-n', ns, 'addr', 'add', a, 'dev', 'veth0');
      ip('-n', ns, 'link', 'set', 'veth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  return { m, b, cleanup };
}

interface Overhead {
  steps: string[];
  copy_ns_per_conn: number;
  plain_ns_per_conn: number[];
  sync_ns_per_conn: number[];
  plain_net_per_s: number;
  sync_net_per_s: number;
  plain_cpu_ns_per_conn: number[];
  sync_cpu_ns_per_conn: number[];
  plain_cpu_net_per_s: number;
  sync_cpu_net_per_s: number;
  plain_gross_per_s: number;
  sync_gross_per_s: number;
  records_queued: number;
  messages_sent: number;
  queue_full: number;
  send_errors: number;
  message_buffers: number;
  if_tx_packets: number;
  drops: Record<string, Record<string, number>>;
  profile?: Parameters<typeof topFunctions>[0];
}

interface Paced {
  conns: number;
  wall_s: number;
  inserted: number[];
  records: number;
  messages: number;
  payload_bytes: number;
  queue_full: number;
  send_errors: number;
  if_tx_packets: number;
  if_tx_bytes: number;
  pending_after: number;
  drops: Record<string, number>;
}

/** Lag (ms) of connections [first, first + n) from the master's insert times to the backup's. */
async function lags(backup: PeerProc, first: number, inserted: number[]): Promise<{ lags: number[]; missing: number }> {
  const out: number[] = [];
  let missing = 0;
  const CH = 5000;
  for (let o = 0; o < inserted.length; o += CH) {
    const keys: string[] = [];
    for (let i = o; i < Math.min(inserted.length, o + CH); i++) keys.push(key(first + i));
    const r = await backup.call<{ at: number[] }>('created', { keys });
    r.at.forEach((t, k) => {
      if (t < 0) missing++;
      else out.push((t - inserted[o + k]!) / 1e6);
    });
  }
  return { lags: out, missing };
}

export const suite: Suite = {
  name: 'sync',
  description: 'connection sync over real UDP multicast between two directors in two namespaces: master overhead, traffic, lag, the 10k burst (root)',
  needsRoot: true,
  async run(opts) {
    const quick = opts.quick;
    const prefix = process.env.TUNVS_SYNC_BENCH_PREFIX ?? 'lsb-';
    const lab = makeLab(prefix);
    const peers: PeerProc[] = [];
    const onSignal = (): void => {
      for (const p of peers) p.kill();
      lab.cleanup();
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const master = new PeerProc(lab.m, 'master');
      peers.push(master);

      // ------------------------------------------------------------ master overhead
      // before the backup listens: the master's datagrams go out on the veth and nobody applies them
      const rounds = quick ? 3 : 7;
      const ms = quick ? 120 : 300;
      const over: Record<string, Overhead> = {};
      for (const [name, steps] of [['new_flow_syn', ['syn']], ['synced_conn', ['syn', 'ack', 'ack']]] as const) {
        log(`master overhead, ${name} (${steps.join(',')}): ${rounds} interleaved rounds of ${ms} ms each`);
        over[name] = await master.call<Overhead>('overhead', { steps, rounds, ms, profile: !quick }, 300_000);
      }
      const orow = (name: string, o: Overhead): (string | number)[] => [
        name, si(o.plain_net_per_s), si(o.sync_net_per_s), `${(o.sync_net_per_s / o.plain_net_per_s).toFixed(3)}x`,
        `${(1e9 / o.sync_net_per_s - 1e9 / o.plain_net_per_s).toFixed(0)} ns`,
        `${(o.sync_cpu_net_per_s / o.plain_cpu_net_per_s).toFixed(3)}x`, `${(1e9 / o.sync_cpu_net_per_s - 1e9 / o.plain_cpu_net_per_s).toFixed(0)} ns`,
        o.records_queued, o.messages_sent, o.if_tx_packets, o.queue_full,
      ];
      log(table([
        ['workload', 'per s, no sync (ref)', 'per s, master on', 'ratio', 'cost/conn', 'cpu-time ratio', 'cpu cost/conn', 'records', 'datagrams', 'veth tx', 'dropped'],
        ...Object.entries(over).map(([k, o]) => orow(k, o)),
      ]));
      for (const o of Object.values(over)) {
        if (Object.keys(o.drops.plain).length > 0 || Object.keys(o.drops.synced).length > 0) throw new Error(`the Director dropped packets: ${JSON.stringify(o.drops)}`);
      }
      const profiles: Record<string, ReturnType<typeof topFunctions>> = {};
      for (const [k, o] of Object.entries(over)) {
        if (o.profile) {
          profiles[k] = topFunctions(o.profile, 8);
          log(`profile of the master path (${k}), top self time:`);
          log(table([['function', 'where', 'self %'], ...profiles[k].map((f) => [f.fn, f.where, f.selfPct])]));
          delete o.profile;
        }
      }

      // ------------------------------------------------------------ two directors
      const backup = new PeerProc(lab.b, 'backup');
      peers.push(backup);
      const capacity = 1 << 18;
      await backup.call('start', { role: 'backup', capacity });
      await master.call('start', { role: 'master', capacity });

      // traffic and lag at 1,000 connections/s: short connections
      const secs = quick ? 2 : 5;
      const life = ['syn', 'ack', 'ack', 'fin', 'ack'];
      log(`paced: 1,000 short connections/s (${life.join(',')}) for ${secs} s, then 2.5 s for the sender's 2 s flush`);
      const first1 = 0;
      const p1 = await master.call<Paced>('paced', { rate: 1000, seconds: secs, steps: life, first: first1, settleMs: 2500 }, 60_000);
      const rate1 = p1.conns / p1.wall_s;
      const wireBytes = p1.payload_bytes + IP_UDP * p1.messages;
      const wirePerS = wireBytes / p1.wall_s;
      // the veth's own count (layer 2: minus 14 bytes of Ethernet header per frame); may include a few IGMP/ND frames
      const vethL3 = p1.if_tx_bytes - 14 * p1.if_tx_packets;
      const l1 = await lags(backup, first1, p1.inserted);

      // lag at 10,000 connections/s (messages fill 10x faster)
      const secs2 = quick ? 1 : 3;
      const first2 = 1 << 20;
      log(`paced: 10,000 connections/s (syn,ack,ack) for ${secs2} s`);
      const p2 = await master.call<Paced>('paced', { rate: 10_000, seconds: secs2, steps: ['syn', 'ack', 'ack'], first: first2, settleMs: 2500 }, 60_000);
      const l2 = await lags(backup, first2, p2.inserted);

      // the 10k burst
      const N = 10_000;
      const first3 = 2 << 20;
      log(`burst: ${N} connections on the master`);
      const bu = await master.call<{ t0: number; t1: number; records: number; messages: number; size: number }>('burst', { n: N, first: first3, settleMs: 2500 }, 60_000);
      const ins = new Array<number>(N).fill(bu.t0);
      const l3 = await lags(backup, first3, ins);
      const lastMs = l3.lags.length > 0 ? Math.max(...l3.lags) : NaN;
      const ms_ = await master.call<{ size: number; listing: string[]; stats: Record<string, number> }>('state', { listing: true });
      const bs = await backup.call<{ size: number; listing: string[]; stats: Record<string, number>; ifs: Record<string, number> }>('state', { listing: true });
      const bset = new Set(bs.listing);
      const onlyMaster = ms_.listing.filter((l) => !bset.has(l));
      const mset = new Set(ms_.listing);
      const onlyBackup = bs.listing.filter((l) => !mset.has(l));
      const match = onlyMaster.length === 0 && onlyBackup.length === 0;

      log(table([
        ['figure', 'value', 'reference / note'],
        ['sync traffic at 1k short conn/s', `${si(wirePerS)}B/s`, `${(rate1).toFixed(0)} conn/s achieved; veth L3 ${si(vethL3 / p1.wall_s)}B/s`],
        ['  per 1,000 new conn/s', `${si((wirePerS * 1000) / rate1)}B/s`, `${(p1.records / p1.conns).toFixed(2)} records/conn, ${(p1.records / Math.max(1, p1.messages)).toFixed(1)} records/datagram`],
        ['lag @1k conn/s median / p99', `${median(l1.lags).toFixed(1)} / ${pct(l1.lags, 99).toFixed(1)} ms`, `${l1.missing} missing of ${p1.conns}`],
        ['lag @10k conn/s median / p99', `${median(l2.lags).toFixed(1)} / ${pct(l2.lags, 99).toFixed(1)} ms`, `${l2.missing} missing of ${p2.conns} (${(p2.conns / p2.wall_s).toFixed(0)} conn/s achieved)`],
        ['10k burst: master took', `${((bu.t1 - bu.t0) / 1e6).toFixed(1)} ms`, `${bu.records} records in ${bu.messages} datagrams`],
        ['10k burst: backup holds all after', `${lastMs.toFixed(1)} ms`, `${l3.missing} missing; median ${median(l3.lags).toFixed(1)} ms from the burst's start`],
        ['listings match', String(match), `master ${ms_.size} entries, backup ${bs.size}; only master ${onlyMaster.length}, only backup ${onlyBackup.length}`],
      ]));
      if (!match) log(`first differences: ${JSON.stringify({ onlyMaster: onlyMaster.slice(0, 3), onlyBackup: onlyBackup.slice(0, 3) })}`);
      await master.call('exit');
      await backup.call('exit');

      const o = (x: Overhead): Record<string, unknown> => ({
        reference_per_s: Math.round(x.plain_net_per_s),
        with_master_per_s: Math.round(x.sync_net_per_s),
        ratio: Number((x.sync_net_per_s / x.plain_net_per_s).toFixed(3)),
        cost_ns_per_conn: Number((1e9 / x.sync_net_per_s - 1e9 / x.plain_net_per_s).toFixed(1)),
        // the same by this process's CPU time (user + system), which other processes' load does not inflate
        cpu_time: {
          reference_per_s: Math.round(x.plain_cpu_net_per_s),
          with_master_per_s: Math.round(x.sync_cpu_net_per_s),
          ratio: Number((x.sync_cpu_net_per_s / x.plain_cpu_net_per_s).toFixed(3)),
          cost_ns_per_conn: Number((1e9 / x.sync_cpu_net_per_s - 1e9 / x.plain_cpu_net_per_s).toFixed(1)),
          rounds_ns_per_conn: { reference: x.plain_cpu_ns_per_conn.map((v) => Number(v.toFixed(1))), with_master: x.sync_cpu_ns_per_conn.map((v) => Number(v.toFixed(1))) },
        },
        gross_reference_per_s: Math.round(x.plain_gross_per_s),
        gross_with_master_per_s: Math.round(x.sync_gross_per_s),
        rounds_ns_per_conn: { reference: x.plain_ns_per_conn.map((v) => Number(v.toFixed(1))), with_master: x.sync_ns_per_conn.map((v) => Number(v.toFixed(1))), copy: Number(x.copy_ns_per_conn.toFixed(1)) },
        records: x.records_queued,
        datagrams: x.messages_sent,
        veth_tx_packets: x.if_tx_packets,
        queue_full: x.queue_full,
        send_errors: x.send_errors,
        message_buffers: x.message_buffers,
      });
      return {
        master_overhead: { new_flows_per_s: o(over.new_flow_syn!), synced_conns_per_s: o(over.synced_conn!), profile_top: profiles },
        traffic: {
          conn_per_s: Math.round(rate1),
          wire_bytes_per_s: Math.round(wirePerS),
          wire_bytes_per_s_per_1k_conn_per_s: Math.round((wirePerS * 1000) / rate1),
          veth_l3_bytes_per_s: Math.round(vethL3 / p1.wall_s),
          records_per_conn: Number((p1.records / p1.conns).toFixed(3)),
          records_per_datagram: Number((p1.records / Math.max(1, p1.messages)).toFixed(1)),
          datagrams: p1.messages,
          queue_full: p1.queue_full,
          send_errors: p1.send_errors,
        },
        lag_ms: {
          at_1k_conn_per_s: { median: Number(median(l1.lags).toFixed(2)), p99: Number(pct(l1.lags, 99).toFixed(2)), max: Number(pct(l1.lags, 100).toFixed(2)), missing: l1.missing, conns: p1.conns },
          at_10k_conn_per_s: { median: Number(median(l2.lags).toFixed(2)), p99: Number(pct(l2.lags, 99).toFixed(2)), max: Number(pct(l2.lags, 100).toFixed(2)), missing: l2.missing, conns: p2.conns, achieved_per_s: Math.round(p2.conns / p2.wall_s) },
        },
        burst_10k: {
          master_ms: Number(((bu.t1 - bu.t0) / 1e6).toFixed(2)),
          backup_all_ms: Number(lastMs.toFixed(2)),
          backup_median_ms: Number(median(l3.lags).toFixed(2)),
          missing: l3.missing,
          datagrams: bu.messages,
          listings_match: match,
          master_entries: ms_.size,
          backup_entries: bs.size,
          only_master: onlyMaster.length,
          only_backup: onlyBackup.length,
        },
        backup_counters: bs.stats,
      };
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const p of peers) p.kill();
      lab.cleanup();
    }
  },
};
