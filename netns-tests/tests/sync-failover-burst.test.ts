/**
 * Issue 15 (d): a burst of 10,000 new connections through the master director (LVS-NAT,
 * two tunvsd directors with `lvs_sync_daemon`, failover-util.ts), to the persistent service
 * (`persistence_timeout 300`) from 50 client addresses: 10,000 connections that each made
 * one request and stay open (ESTABLISHED), and 50 persistence templates. Within about one
 * sync flush period (2 s, the kernel's IPVS_SYNC_FLUSH_TIME) after the burst, the backup's
 * `tunvsadm -L -c -n` holds every connection and template of the master's listing: the same
 * protocol, client, virtual and real addresses and state (the expiry column left out). The
 * time it took is printed as a comment (a figure, not an assertion), with the sync
 * counters of both daemons.
 */
import t from 'tap';
import { join } from 'node:path';
import { ControlClient } from '@tunvs/cli';
import { FailoverLab, FAILOVER_SKIP, PERSIST_PORT, VIP, connKey, missingFrom } from './failover-util.js';

const N = 10_000;
const SOURCES = Array.from({ length: 50 }, (_, i) => `10.99.0.${150 + i}`);

t.test('(d) a burst of 10k new connections: the backup\'s listing holds the master\'s connections and templates', { skip: FAILOVER_SKIP }, async (t) => {
  const fl = new FailoverLab(t, { method: 'nat', clientAddresses: SOURCES, nginxConnections: 8000 });
  await fl.setUp();
  const burst = fl.lab.spawnNode(fl.client, 'fixtures/failover-burst.mjs', [VIP, String(PERSIST_PORT), SOURCES.join(','), String(N), '400']);
  const done = await burst.json<{ opened: number; errorCount: number; errors: string[]; ms: number }>((m) => m.op === 'done', 240_000);
  const doneAt = Date.now();
  t.equal(done.opened, N, `${N} connections opened and answered in ${done.ms} ms (errors: ${done.errorCount} ${done.errors.join('; ')})`);

  const mine = new Set(SOURCES);
  const ofBurst = (c: { client: string; virtual: string }): boolean => mine.has(c.client.split(':')[0]!) && c.virtual === `${VIP}:${PERSIST_PORT}`;
  const master = (await fl.conns(fl.d1)).filter(ofBurst);
  const conns = master.filter((c) => !c.client.endsWith(':0'));
  const templates = master.filter((c) => c.client.endsWith(':0'));
  t.equal(conns.length, N, 'the master lists every connection of the burst');
  t.ok(conns.every((c) => c.state === 'ESTABLISHED'), 'all ESTABLISHED');
  t.equal(templates.length, SOURCES.length, 'and a template per client address');

  let missing = master;
  let took = -1;
  try {
    took = await fl.until(async () => {
      missing = missingFrom(master, (await fl.conns(fl.d2)).filter(ofBurst));
      return missing.length === 0;
    }, 30_000, 'the backup holding the master\'s connections');
  } catch {
    // reported below
  }
  t.same(missing.slice(0, 20).map(connKey), [], `the backup's listing holds all ${master.length} connections and templates of the master's (${missing.length} missing)`);
  const stats: Record<string, unknown> = {};
  for (const d of [fl.d1, fl.d2]) {
    const c = await ControlClient.connect(join(d.dir, 'sock'));
    stats[d.name] = await c.call('syncStats');
    c.close();
  }
  t.comment(`the backup held them ${took >= 0 ? `${Date.now() - doneAt} ms after the burst ended (${took} ms after the master's listing was read)` : 'not within 30 s'}; sync counters: ${JSON.stringify(stats)}`);
  await burst.stop();
});
