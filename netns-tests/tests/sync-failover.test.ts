/**
 * Issue 15 (a): LVS-NAT failover that loses no established connection, under the full load
 * in one run. Two tunvsd TUN directors run a VRRP sync group (the client VIP and the real
 * servers' gateway) and `lvs_sync_daemon eth2 VI_CLIENT` on a sync link of its own
 * (topology: failover-util.ts). Through the VIP, while the master is SIGKILLed (its links go
 * down) and later comes back and preempts:
 *   - 50 keep-alive HTTP connections make a request every 100 ms each;
 *   - a download, spanning the crash and the fail-back;
 *   - a UDP flow (a datagram every 10 ms);
 *   - 8 persistent clients (`persistence_timeout 300`, rr over two real servers) each open a
 *     new connection every round, in a random order.
 * Every TCP transfer completes (the right bytes, the file's sha256, no socket error), the
 * client-side capture holds no RST from the VIP, every keep-alive connection and the UDP
 * flow stay on their real server, every persistent client stays on its real server, and
 * the backup (and the returning master) hold the connections and templates before each
 * switch. The longest client-side silence around each switch is printed as a comment.
 *
 * The download is 16 MiB in `npm test`, TUNVS_FAILOVER_BIG_MB=200 runs the issue's 200 MB:
 * the client reads it at a pace (a twentieth of it per second) while the crash and the
 * fail-back happen, then the rest as fast as it comes.
 */
import t from 'tap';
import { FailoverLab, FAILOVER_SKIP, failoverScenario, PERSIST_SOURCES, connKey } from './failover-util.js';
import type { ScenarioResult } from './failover-util.js';
import type { Test } from 'tap';

const MB = Number(process.env.TUNVS_FAILOVER_BIG_MB || 16);
const SIZE = Math.round(MB * 1024 * 1024);
/** the client reads the download at this pace until the run ends, then as fast as it comes */
const RATE = Math.round(SIZE / 20);

/** The assertions every method's run shares. */
export function checkScenario(t: Test, r: ScenarioResult, opts: { ka: number; size: number }): void {
  t.same(r.beforeCrash.missing.map(connKey), [], `before the crash the backup holds all ${r.beforeCrash.master.length} connections and templates the master holds for the client`);
  t.ok(r.beforeCrash.master.some((c) => c.client.endsWith(':0')), 'the persistence templates are among them');
  t.ok(r.beforeCrash.master.some((c) => c.proto === 'UDP'), 'the UDP flow is among them');
  t.same(r.beforeFailback.missing.map(connKey), [], 'the returning master learnt every connection and template from the new master');
  t.ok(r.beforeFailback.stillBackup, 'it did so as BACKUP, before it preempted');
  const errs = r.load.ka.filter((c) => c.error !== null);
  t.same(errs, [], 'no keep-alive connection failed (reset, close or timeout)');
  t.equal(r.load.ka.length, opts.ka, `${opts.ka} keep-alive connections`);
  t.ok(r.load.ka.every((c) => c.requests > 10), `every keep-alive connection kept making requests (${r.load.ka.reduce((a, c) => a + c.requests, 0)} in all, the slowest answer ${Math.max(...r.load.ka.map((c) => c.maxMs))} ms)`);
  t.equal(new Set(r.load.ka.map((c) => c.server)).size, 2, 'the keep-alive connections are spread over both real servers (each stayed on its own: a change is an error)');
  if (opts.size > 0) {
    t.ok(r.downloadSpanned.crash && r.downloadSpanned.failback, 'the download was running at the crash and at the fail-back');
    const d = r.load.download;
    t.same({ status: d.status, error: d.error, done: d.done }, { status: 200, error: null, done: true }, 'the download completed (no reset, no close, no timeout)');
    t.same([d.length, d.bytes], [opts.size, opts.size], 'every byte of the download arrived');
    t.ok(r.downloadShaOk, 'the download\'s sha256 is the file\'s');
  }
  t.equal(r.rstFromVip, 0, 'the client-side capture holds no RST from the VIP');
  const segs = r.load.udp.servers;
  t.equal(segs.length, 1, `the UDP flow stayed on one real server: ${JSON.stringify(segs)}`);
  t.ok(segs[0] && segs[0].last >= r.load.udp.sent - 50, 'and was answered until the end');
  t.comment(`UDP: ${r.load.udp.sent} datagrams sent, ${r.load.udp.lost} lost across the two switches`);
  t.same(r.load.persist.errors, [], 'no persistent client\'s connection failed');
  const moved = Object.entries(r.load.persist.bySource).filter(([, seen]) => Object.keys(seen).length !== 1);
  t.same(moved, [], `every persistent client stayed on its real server (${r.load.persist.requests} connections in ${r.load.persist.rounds} rounds)`);
  t.equal(Object.keys(r.load.persist.bySource).length, PERSIST_SOURCES.length, 'all persistent clients were served');
  t.equal(new Set(Object.values(r.load.persist.bySource).map((s) => Object.keys(s)[0])).size, 2, 'the persistent clients are spread over both real servers');
  t.comment(`takeover ${r.takeoverMs} ms; the client received nothing from the VIP for ${r.gap.failover?.toFixed(0) ?? '?'} ms around the crash and ${r.gap.failback?.toFixed(0) ?? '?'} ms around the fail-back`);
}

t.test('(a) LVS-NAT failover under load: 50 keep-alive connections, a download, a UDP flow and persistent clients survive the master\'s death and the fail-back', { skip: FAILOVER_SKIP }, async (t) => {
  const fl = new FailoverLab(t, { method: 'nat', bigBytes: SIZE });
  const t0 = Date.now();
  await fl.setUp();
  t.comment(`set-up ${Date.now() - t0} ms`);
  t.match(await fl.tunvsadm(fl.d1, ['-L', '--daemon']), /master sync daemon \(mcast=eth2, syncid=81[,)]/, 'd1 runs the master sync daemon on eth2');
  t.match(await fl.tunvsadm(fl.d2, ['-L', '--daemon']), /backup sync daemon \(mcast=eth2, syncid=81[,)]/, 'd2 runs the backup sync daemon on eth2');
  const r = await failoverScenario(fl, { ka: 50, downloadRate: RATE }, (s) => t.comment(s));
  checkScenario(t, r, { ka: 50, size: SIZE });
});
