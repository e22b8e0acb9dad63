/**
 * failover: the failover gap of two tunvsd directors (VRRP + lvs_sync_daemon) over N runs,
 * from a client-side capture: min/median/max time without forwarding when the master is
 * SIGKILLed, and when it comes back and preempts, with the reference of the same runs
 * (the steady-state longest silence, VRRP's Master_Down_Interval). The runs happen in
 * network namespaces built by netns-tests/bin/failover-gap.ts (TypeScript, run with the
 * test suite's loader), which this suite starts and reads as JSON.
 *
 *   npm run bench -- failover [--runs N] [--method nat|dr|tun]     (default 10 runs, nat;
 *                                                                   --quick: 3 runs)
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Suite } from '../suite.js';
import { log, table } from '../suite.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const RUNNER = join(ROOT, 'netns-tests/bin/failover-gap.ts');
const LOADER = join(ROOT, 'node_modules/@tapjs/typescript/dist/esm/import.mjs');

interface Spread {
  min: number;
  median: number;
  max: number;
}
interface GapResult {
  method: string;
  runs: number;
  masterDownIntervalMs: number;
  gapMs: Spread;
  failbackGapMs: Spread;
  steadyStateMs: Spread;
  takeoverMs: Spread;
}

export const suite: Suite = {
  name: 'failover',
  description: 'failover gap of two tunvsd directors (VRRP + sync) over N runs, from a client-side capture (root)',
  needsRoot: true,
  async run(opts) {
    const a = opts.args;
    const runs = a.includes('--runs') ? a[a.indexOf('--runs') + 1]! : opts.quick ? '3' : '10';
    const method = a.includes('--method') ? a[a.indexOf('--method') + 1]! : 'nat';
    const child = spawn(process.execPath, [`--import=${LOADER}`, RUNNER, '--runs', runs, '--method', method, '--json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.test.json') },
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    if (code !== 0) throw new Error(`failover-gap exited ${code}`);
    const r = JSON.parse(out.trim().split('\n').pop()!) as GapResult;
    const row = (name: string, s: Spread): (string | number)[] => [name, s.min.toFixed(0), s.median.toFixed(0), s.max.toFixed(0)];
    log(`\nLVS-${r.method.toUpperCase()}, ${r.runs} runs (ms)`);
    log(table([
      ['', 'min', 'median', 'max'],
      row('gap at the crash', r.gapMs),
      row('gap at the fail-back', r.failbackGapMs),
      row('VRRP takeover seen', r.takeoverMs),
      row('ref: steady-state silence', r.steadyStateMs),
      ['ref: Master_Down_Interval', r.masterDownIntervalMs.toFixed(0), '', ''],
    ]));
    return r as unknown as Record<string, unknown>;
  },
};
