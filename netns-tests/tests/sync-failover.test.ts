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
 * the client reads it at a pace (~0.5 MiB/s, never its last tenth) while the crash and the
 * fail-back happen, then the rest as fast as it comes.
 */
import t from 'tap';
import { FailoverLab, FAILOVER_SKIP, failoverScenario, checkScenario } from './failover-util.js';

const MB = Number(process.env.TUNVS_FAILOVER_BIG_MB || 16);
const SIZE = Math.round(MB * 1024 * 1024);
/**
 * the client reads the download at this pace until the run ends (16 MiB / 30 s, whatever the
 * size: the switches happen under the same load), then the rest as fast as it comes
 */
const RATE = Math.round(Math.min(SIZE, 16 * 1024 * 1024) / 30);

t.test('(a) LVS-NAT failover under load: 50 keep-alive connections, a download, a UDP flow and persistent clients survive the master\'s death and the fail-back', { skip: FAILOVER_SKIP }, async (t) => {
  const fl = new FailoverLab(t, { method: 'nat', bigBytes: SIZE });
  const t0 = Date.now();
  await fl.setUp();
  t.comment(`set-up ${Date.now() - t0} ms`);
  t.match(await fl.tunvsadm(fl.d1, ['-L', '--daemon']), /master sync daemon \(mcast=eth2, syncid=81[,)]/, 'd1 runs the master sync daemon on eth2');
  t.match(await fl.tunvsadm(fl.d2, ['-L', '--daemon']), /backup sync daemon \(mcast=eth2, syncid=81[,)]/, 'd2 runs the backup sync daemon on eth2');
  const r = await failoverScenario(fl, { ka: 50, downloadRate: RATE }, (s) => t.comment(s));
  checkScenario(t, r, { ka: 50, size: SIZE });
  if (!t.passing()) for (const d of [fl.d1, fl.d2]) t.comment(`${d.name}'s log:\n${fl.events(d).join('\n')}`);
});
