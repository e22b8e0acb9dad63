/**
 * control: what the control plane costs the packet thread (issue 13 items 2, 3 and 9).
 *
 *   - add_dests: adding N real servers to one service through the Director's control API,
 *     N = 10k (the reference, same run) and 100k: the time per destination stays flat when
 *     adding is linear (it grew 10x per 10x before: 23 s for 100k);
 *   - reload: a JSON configuration with 100k real servers: reading and checking it (in the
 *     worker, off the packet thread), then applying it on the packet thread (first apply,
 *     an unchanged reload, a reload that changes one weight);
 *   - list_connections: `-L -c` of a full default table (262144 entries) through the control
 *     socket: the longest hold of the event loop while the answer is streamed, against the
 *     reference of building and serialising the whole answer at once (what the socket did).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { createConnection } from 'node:net';
import { serveControl } from '@tunvs/cli';
import { ConfigReader, ServiceRunner } from '@tunvs/daemon';
import type { Suite } from '../suite.js';
import { log, table } from '../suite.js';

const KEY = { protocol: 'tcp' as const, addr: '10.100.0.1', port: 80 };
const addrOf = (i: number): string => `10.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

function director(connCapacity = 1024): Director {
  const d = new Director({ links: [new MemoryLink('tun', 1500)], timers: false, sourceAddress: '10.0.0.1', connCapacity });
  d.start();
  return d;
}

/** ms to add n destinations to one service, and to delete the service. */
function addDests(n: number): { addMs: number; deleteMs: number } {
  const d = director();
  d.addService({ ...KEY, scheduler: 'wlc' });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) d.addDest(KEY, { addr: addrOf(i), port: 80, method: 'masq' });
  const t1 = performance.now();
  d.deleteService(KEY);
  const t2 = performance.now();
  d.stop();
  return { addMs: t1 - t0, deleteMs: t2 - t1 };
}

/** The longest gap between event-loop turns while `work` runs. */
async function longestHold(work: () => Promise<unknown>): Promise<{ maxMs: number; turns: number; wallMs: number }> {
  let last = performance.now();
  let maxMs = 0;
  let turns = 0;
  let running = true;
  const tick = (): void => {
    const t = performance.now();
    maxMs = Math.max(maxMs, t - last);
    last = t;
    turns++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  await work();
  const end = performance.now();
  // a synchronous `work` holds the loop from its start to its end
  maxMs = Math.max(maxMs, end - last);
  running = false;
  return { maxMs, turns, wallMs: end - t0 };
}

export const suite: Suite = {
  name: 'control',
  description: 'control plane vs the packet thread: adding 100k real servers, a 100k-server reload, -L -c of a full table streamed',
  async run(opts) {
    const figures: Record<string, unknown> = {};
    const big = opts.quick ? 50_000 : 100_000;
    const small = big / 10;

    // ---- adding destinations: per-destination cost at N and N/10
    addDests(2000); // JIT warm-up
    const ref = addDests(small);
    const one = addDests(big);
    const perSmall = (ref.addMs * 1000) / small;
    const perBig = (one.addMs * 1000) / big;
    figures.add_dests = {
      n: big,
      add_ms: Math.round(one.addMs),
      delete_service_ms: Math.round(one.deleteMs),
      us_per_dest: +perBig.toFixed(2),
      reference_n: small,
      reference_us_per_dest: +perSmall.toFixed(2),
      per_dest_ratio: +(perBig / perSmall).toFixed(2),
    };
    log(table([
      ['destinations', 'add ms', 'us/dest', 'delete service ms'],
      [small, Math.round(ref.addMs), perSmall.toFixed(2), Math.round(ref.deleteMs)],
      [big, Math.round(one.addMs), perBig.toFixed(2), Math.round(one.deleteMs)],
    ]));
    log(`per-destination cost at ${big} vs ${small}: x${(perBig / perSmall).toFixed(2)} (1 = linear; quadratic would be ~10)`);

    // ---- a reload of a configuration with `big` real servers
    const dir = mkdtempSync(join(tmpdir(), 'bench-control-'));
    try {
      const conf = join(dir, 'tunvsd.json');
      const dests = (w: (i: number) => number): unknown[] => Array.from({ length: big }, (_, i) => ({ addr: addrOf(i), port: 80, method: 'masq', weight: w(i) }));
      const write = (w: (i: number) => number): void => writeFileSync(conf, JSON.stringify({ services: [{ ...KEY, scheduler: 'wlc', dests: dests(w) }] }));
      const reader = new ConfigReader({ timeoutMs: 300_000 });
      const d = director();
      const run = new ServiceRunner(d, () => undefined);
      const apply = async (label: string, w: (i: number) => number): Promise<Record<string, number>> => {
        write(w);
        const r0 = performance.now();
        const checked = await reader.read(conf);
        const readMs = performance.now() - r0;
        if (!checked.setup) throw new Error(`${label}: ${checked.messages.slice(0, 3).join('; ')}`);
        const a0 = performance.now();
        const changes = run.apply(checked.setup.config.services, null);
        const applyMs = performance.now() - a0;
        return { read_check_ms_in_worker: Math.round(readMs), apply_ms_on_packet_thread: Math.round(applyMs), changes: changes.length };
      };
      await reader.read(join(dir, 'none.json')); // start the worker
      const first = await apply('first', () => 1);
      const same = await apply('unchanged', () => 1);
      const oneWeight = await apply('one weight', (i) => (i === 7 ? 5 : 1));
      reader.close();
      d.stop();
      figures.reload = { dests: big, first, unchanged: same, one_weight: oneWeight };
      log(table([
        ['reload of ' + big + ' real servers', 'read+check ms (worker)', 'apply ms (packet thread)', 'changes'],
        ['first', first.read_check_ms_in_worker!, first.apply_ms_on_packet_thread!, first.changes!],
        ['unchanged', same.read_check_ms_in_worker!, same.apply_ms_on_packet_thread!, same.changes!],
        ['one weight', oneWeight.read_check_ms_in_worker!, oneWeight.apply_ms_on_packet_thread!, oneWeight.changes!],
      ]));

      // ---- -L -c of a full default table through the socket
      const cap = opts.quick ? 65536 : 262144;
      const full = director(cap);
      full.addService({ ...KEY, scheduler: 'rr' });
      full.addDest(KEY, { addr: '10.0.1.1', port: 80, method: 'masq' });
      const dest = full.table.services[0]!.dests[0]!;
      const now = Date.now();
      for (let i = 0; i < cap; i++) {
        if (full.conns.create(6, (0xac100000 + (i >>> 4)) >>> 0, 1024 + (i & 15), 0x0a640001, 80, 0x0a000101, 80, dest, 0, now, -1) < 0) break;
      }
      const entries = full.conns.size;
      const sock = join(dir, 'ctl.sock');
      const server = serveControl(full, sock);
      await once(server, 'listening');
      // a raw client that only counts the bytes of the answer (parsing 50 MB here would be
      // this process's own hold, not the server's)
      const raw = createConnection(sock);
      await once(raw, 'connect');
      let got = 0;
      const streamed = await longestHold(
        () =>
          new Promise<void>((resolve) => {
            raw.on('data', (b: Buffer) => {
              got += b.length;
              if (b[b.length - 1] === 0x0a) resolve();
            });
            raw.write('{"id":1,"op":"listConnections"}\n');
          }),
      );
      raw.destroy();
      server.close();
      let bytes = 0;
      const whole = await longestHold(async () => {
        bytes = JSON.stringify({ id: 1, ok: true, result: full.listConnections() }).length;
      });
      full.stop();
      figures.list_connections = {
        entries,
        streamed_mb: +(got / 1e6).toFixed(1),
        answer_mb: +(bytes / 1e6).toFixed(1),
        streamed_longest_hold_ms: +streamed.maxMs.toFixed(1),
        streamed_turns: streamed.turns,
        streamed_wall_ms: Math.round(streamed.wallMs),
        reference_whole_answer_hold_ms: +whole.maxMs.toFixed(1),
        hold_ratio: +(streamed.maxMs / whole.maxMs).toFixed(3),
      };
      log(table([
        ['-L -c, ' + entries + ' entries', 'longest hold ms', 'event-loop turns', 'wall ms'],
        ['streamed (socket)', streamed.maxMs.toFixed(1), streamed.turns, Math.round(streamed.wallMs)],
        ['whole answer at once (reference)', whole.maxMs.toFixed(1), whole.turns, Math.round(whole.wallMs)],
      ]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return figures;
  },
};
