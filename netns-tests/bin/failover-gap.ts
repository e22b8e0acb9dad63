/**
 * The failover gap over N runs (issue 15's figure): two tunvsd directors with VRRP and
 * `lvs_sync_daemon` (failover-util.ts), a client sending a UDP datagram every 2 ms and
 * making keep-alive HTTP requests through the VIP. Each run SIGKILLs the master (its links
 * go down), waits for the backup to take over, brings the old master back and waits for it
 * to preempt. The gap is the longest silence of packets from the VIP in a capture on the
 * client's interface around the crash (and around the fail-back). The reference, from the
 * same runs: the longest silence in the second before the crash (steady state), and VRRP's
 * Master_Down_Interval.
 *
 *   npm run bench -- failover [--runs 10] [--method nat|dr|tun]
 *   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs netns-tests/bin/failover-gap.ts --runs 10 [--json]
 *
 * Needs root, nginx, tcpdump, tshark and a build. Namespaces lfo-*-PID (TUNVS_LAB_PREFIX);
 * everything is removed at the end, also on failure or Ctrl-C.
 */
import { delay } from '../src/netns.js';
import { FailoverLab, FAILOVER_SKIP, VIP, longestSilence, packetTimes } from '../tests/failover-util.js';
import type { Method, LoadStats } from '../tests/failover-util.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
const RUNS = Number(opt('--runs', '10'));
const METHOD = opt('--method', 'nat') as Method;
const JSON_OUT = args.includes('--json');
const ADVERT = 0.1;
const log = (s: string): void => {
  process.stderr.write(s + '\n');
};

const teardowns: (() => void | Promise<void>)[] = [];
const cleanup = async (): Promise<void> => {
  for (const f of teardowns.splice(0).reverse()) await f();
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

const stats = (xs: number[]): { min: number; median: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { min: s[0]!, median: mid, max: s[s.length - 1]! };
};

async function main(): Promise<number> {
  if (FAILOVER_SKIP) {
    log(`failover-gap: ${FAILOVER_SKIP}`);
    return 2;
  }
  if (!['nat', 'dr', 'tun'].includes(METHOD) || !(RUNS >= 1)) {
    log('usage: failover-gap.ts [--runs N] [--method nat|dr|tun] [--json]');
    return 2;
  }
  const fl = new FailoverLab({ teardown: (f) => void teardowns.push(f) }, { method: METHOD });
  await fl.setUp();
  const { d1, d2 } = fl;
  // backup priority 100: Master_Down_Interval = 3 x advert + (256 - 100) / 256 x advert
  const masterDown = (3 * ADVERT + ((256 - 100) / 256) * ADVERT) * 1000;
  const rows: { run: number; gapMs: number; failbackGapMs: number; steadyMs: number; takeoverMs: number; udpLost: number }[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const cap = await fl.capture(`gap-${run}`, ['src', 'host', VIP]);
    const load = await fl.load({ ka: 10, udpInterval: 2 });
    await delay(1500);
    const killedAt = Date.now();
    await fl.crash(d1);
    const takeoverMs = await fl.until(async () => (await fl.groupState(d2)) === 'MASTER', 10_000, 'd2 MASTER');
    await delay(1000);
    await fl.revive(d1);
    await fl.waitRoles(d1, d2, 30_000);
    const backAt = fl.becameMaster(d1);
    await delay(1000);
    const final = await load.request<LoadStats>({ op: 'stop' }, 60_000);
    await load.stop();
    await cap.stop();
    const times = packetTimes(cap.pcap, `ip.src == ${VIP}`);
    const g = longestSilence(times, killedAt);
    const gb = backAt ? longestSilence(times, backAt) : null;
    // steady state: the longest silence in the second before the crash
    const pre = times.filter((x) => x >= killedAt / 1000 - 1 && x < killedAt / 1000);
    let steady = 0;
    for (let i = 1; i < pre.length; i++) steady = Math.max(steady, (pre[i]! - pre[i - 1]!) * 1000);
    const errors = final.ka.filter((c) => c.error !== null).length + final.persist.errors.length;
    if (!g || errors > 0) throw new Error(`run ${run}: ${g ? `${errors} failed connections` : 'no packet after the crash'}`);
    rows.push({ run, gapMs: g.gapMs, failbackGapMs: gb?.gapMs ?? NaN, steadyMs: steady, takeoverMs, udpLost: final.udp.lost });
    log(`run ${run}/${RUNS}: gap ${g.gapMs.toFixed(0)} ms (fail-back ${gb ? gb.gapMs.toFixed(0) : '?'} ms), VRRP takeover seen ${takeoverMs} ms after the crash, steady-state longest silence ${steady.toFixed(1)} ms, ${final.udp.lost} UDP datagrams lost`);
  }
  const result = {
    method: METHOD,
    runs: RUNS,
    advertIntS: ADVERT,
    masterDownIntervalMs: masterDown,
    gapMs: stats(rows.map((r) => r.gapMs)),
    failbackGapMs: stats(rows.map((r) => r.failbackGapMs).filter((x) => Number.isFinite(x))),
    steadyStateMs: stats(rows.map((r) => r.steadyMs)),
    takeoverMs: stats(rows.map((r) => r.takeoverMs)),
    rows,
  };
  const f = (s: { min: number; median: number; max: number }): string => `min ${s.min.toFixed(0)}  median ${s.median.toFixed(0)}  max ${s.max.toFixed(0)} ms`;
  log(`\nLVS-${METHOD.toUpperCase()} failover gap over ${RUNS} runs (client-side capture, longest silence from the VIP):`);
  log(`  crash of the master   ${f(result.gapMs)}`);
  log(`  fail-back (preempt)   ${f(result.failbackGapMs)}`);
  log(`  reference: steady-state longest silence ${f(result.steadyStateMs)}; Master_Down_Interval ${masterDown.toFixed(0)} ms (advert_int ${ADVERT} s, backup priority 100)`);
  if (JSON_OUT) process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (e: unknown) => {
    log(`failover-gap: ${e instanceof Error ? e.message : String(e)}`);
    await cleanup();
    process.exit(1);
  });
