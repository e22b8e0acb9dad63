/**
 * tuntap: forwarding rate of 64-byte UDP packets through a TUN device (read, swap addresses
 * and ports, write back), three ways in the same run:
 *   addon       @tunvs/tuntap: uv_poll readiness, drain into a slab, one JS call per batch,
 *               batched write
 *   c           bench/tuntap/forward.c: blocking read(2)/write(2), one packet per syscall
 *   threadpool  node's fs.read on a blocking fd (libuv threadpool) + fs.writeSync
 * The load comes from bench/tuntap/gen.c (sendmmsg) in the TUN's namespace. The forwarder is
 * pinned to CPU 1 and the generator to CPU 0 when the machine has two or more CPUs. Rounds
 * interleave the three (rotating the order); figures are medians. `ratio` is addon / C of the
 * medians; `paired_ratio` the median of the per-round addon / C ratios; `best_ratio` the ratio
 * of the best rounds (the machine is shared, and busy rounds drag medians around).
 *
 *   npm run bench -- tuntap [--json] [--quick]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Suite, SuiteOptions } from '../suite.js';
import { log, si, table } from '../suite.js';

const here = dirname(fileURLToPath(import.meta.url));
/** bench/tuntap (C sources and the node forwarders) */
const assets = join(here, '../../tuntap');

type Variant = 'addon' | 'c' | 'threadpool';

function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || String(r.error)).trim()}`);
  return r.stdout;
}

/** Start a process and collect its stdout lines. */
function start(cmd: string, args: string[]): { proc: ChildProcess; lines: string[]; stderr: () => string } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    partial += d;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      lines.push(partial.slice(0, i));
      partial = partial.slice(i + 1);
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err += d));
  return { proc, lines, stderr: () => err };
}

/** Wait for a JSON line with `key`, or fail after `ms`. */
async function waitJson(
  p: { proc: ChildProcess; lines: string[]; stderr: () => string },
  key: string,
  ms: number,
): Promise<Record<string, number>> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const l of p.lines) {
      try {
        const o = JSON.parse(l) as Record<string, number>;
        if (key in o) return o;
      } catch {
        // not JSON
      }
    }
    if (p.proc.exitCode !== null && p.lines.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no "${key}" from ${p.proc.spawnargs.join(' ')}: ${p.stderr().trim()}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function run(opts: SuiteOptions): Promise<Record<string, unknown>> {
  const rounds = opts.quick ? 2 : 7;
  const seconds = opts.quick ? 1 : 2;
  const ns = `tt-bench-${process.pid}`;
  const dev = 'ttbench0';
  const work = mkdtempSync(join(tmpdir(), 'tunvs-tuntap-'));
  const pin = cpus().length >= 2;
  const children: ChildProcess[] = [];
  const cleanup = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(work, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  try {
    const fwdBin = join(work, 'forward');
    const genBin = join(work, 'gen');
    must('cc', ['-O2', '-o', fwdBin, join(assets, 'forward.c')]);
    must('cc', ['-O2', '-o', genBin, join(assets, 'gen.c')]);

    spawnSync('ip', ['netns', 'del', ns]);
    must('ip', ['netns', 'add', ns]);
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // a persistent TUN: every forwarder attaches to the same device and routes
    must('ip', ['-n', ns, 'tuntap', 'add', 'dev', dev, 'mode', 'tun']);
    must('ip', ['-n', ns, 'addr', 'add', '10.4.0.1/24', 'dev', dev]);
    must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    must('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);

    const fwdCmd: Record<Variant, string[]> = {
      addon: [process.execPath, join(assets, 'forward-addon.mjs'), dev, String(seconds)],
      c: [fwdBin, dev, String(seconds)],
      threadpool: [process.execPath, join(assets, 'forward-threadpool.mjs'), dev, String(seconds)],
    };
    const order: Variant[] = ['addon', 'c', 'threadpool'];
    const pps: Record<Variant, number[]> = { addon: [], c: [], threadpool: [] };
    const offered: number[] = [];

    for (let r = 0; r < rounds; r++) {
      const rot = order.slice(r % 3).concat(order.slice(0, r % 3));
      for (const v of rot) {
        const pre = ['netns', 'exec', ns, ...(pin ? ['taskset', '-c', '1'] : [])];
        const fwd = start('ip', [...pre, ...fwdCmd[v]]);
        children.push(fwd.proc);
        await waitJson(fwd, 'ready', 10_000);
        const genPre = ['netns', 'exec', ns, ...(pin ? ['taskset', '-c', '0'] : [])];
        const gen = start('ip', [...genPre, genBin, '10.4.0.2', '9', String(seconds + 1)]);
        children.push(gen.proc);
        const res = await waitJson(fwd, 'packets', (seconds + 10) * 1000);
        const g = await waitJson(gen, 'sent', (seconds + 10) * 1000);
        const rate = res.packets! / res.seconds!;
        pps[v].push(rate);
        offered.push(g.sent! / g.seconds!);
        log(`  round ${r + 1} ${v.padEnd(10)} ${si(rate)} pps`);
      }
    }
    const addon = median(pps.addon);
    const c = median(pps.c);
    const tp = median(pps.threadpool);
    // the machine is shared: a paired estimate (addon / C within each round) resists drift
    const paired = median(pps.addon.map((a, i) => a / pps.c[i]!));
    log(
      '\n' +
        table([
          ['forwarder', 'pps (median)', 'vs C'],
          ['addon (@tunvs/tuntap)', si(addon), (addon / c).toFixed(2)],
          ['C read/write', si(c), '1.00'],
          ['threadpool fs.read', si(tp), (tp / c).toFixed(2)],
        ]),
    );
    log(`addon / C per round: ${pps.addon.map((a, i) => (a / pps.c[i]!).toFixed(2)).join(' ')} (median ${paired.toFixed(2)})`);
    log(`offered load (generator, median): ${si(median(offered))} pps; ${rounds} rounds of ${seconds} s, pinned: ${pin}`);
    return {
      addon_pps: Math.round(addon),
      c_pps: Math.round(c),
      threadpool_pps: Math.round(tp),
      ratio: Number((addon / c).toFixed(3)),
      paired_ratio: Number(paired.toFixed(3)),
      // best round of each: the capacity when the shared machine left the CPUs alone
      addon_best_pps: Math.round(Math.max(...pps.addon)),
      c_best_pps: Math.round(Math.max(...pps.c)),
      threadpool_best_pps: Math.round(Math.max(...pps.threadpool)),
      best_ratio: Number((Math.max(...pps.addon) / Math.max(...pps.c)).toFixed(3)),
      threadpool_ratio: Number((tp / c).toFixed(3)),
      offered_pps: Math.round(median(offered)),
      rounds,
      seconds,
      samples: pps,
    };
  } finally {
    process.removeListener('exit', cleanup);
    cleanup();
  }
}

/** The tuntap suite: addon vs C vs threadpool forwarding of 64-byte UDP. */
export const suite: Suite = {
  name: 'tuntap',
  description: 'TUN forwarding rate of 64-byte UDP: @tunvs/tuntap addon vs a C read/write loop vs fs.read',
  needsRoot: true,
  run,
};
