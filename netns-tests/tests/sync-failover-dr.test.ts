/**
 * Issue 15 (b) LVS-DR on TAP: the failover of sync-failover.test.ts (a) with a smaller
 * load: two tunvsd directors, VRRP and `lvs_sync_daemon eth2 VI_CLIENT` on a sync link of
 * their own (failover-util.ts). Both directors run on a TAP device bridged with their
 * client-side port and own the VIP in userspace (VRRP on the TAP device; the new master
 * announces the VIP with gratuitous ARP); the real servers own the VIP on lo and answer
 * the client directly. Through the VIP, while the master is SIGKILLed and later comes back
 * and preempts: 10 keep-alive HTTP connections (a request every 100 ms each), a 4 MiB
 * download read across both switches, a UDP flow and 8 persistent clients
 * (`persistence_timeout 300`). Every TCP transfer completes with every byte and no RST
 * from the VIP in the client-side capture; every flow and persistent client stays on its
 * real server.
 */
import t from 'tap';
import { FailoverLab, FAILOVER_SKIP, failoverScenario, checkScenario } from './failover-util.js';

const SIZE = 4 * 1024 * 1024;

t.test('(b) LVS-DR on TAP failover: keep-alive connections, a download, a UDP flow and persistent clients survive the master\'s death and the fail-back', { skip: FAILOVER_SKIP }, async (t) => {
  const fl = new FailoverLab(t, { method: 'dr', bigBytes: SIZE });
  await fl.setUp();
  const r = await failoverScenario(fl, { ka: 10, downloadRate: SIZE / 30 }, (s) => t.comment(s));
  checkScenario(t, r, { ka: 10, size: SIZE });
  if (!t.passing()) for (const d of [fl.d1, fl.d2]) t.comment(`${d.name}'s log:\n${fl.events(d).join('\n')}`);
});
