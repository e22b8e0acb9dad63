// Connection sync over an IPv6 multicast group (ff02::81 on a veth between two namespaces):
// a master director's connections reach the backup's table, as over the IPv4 default group.
// Each director is its own process (fixtures/sync-peer.mjs) in its own namespace.
import t from 'tap';
import { isRoot, openLab } from '../src/netns.js';

t.test('IPv6 sync group: the backup\'s table holds the master\'s connections', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'lsp');
  const m = lab.netns('m6');
  const b = lab.netns('b6');
  lab.veth({ name: 'sync0', ns: m }, { name: 'sync0', ns: b });
  // no duplicate address detection: the link-local addresses are usable at once
  for (const ns of [m, b]) {
    lab.exec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.sync0.accept_dad=0']);
    lab.ip(ns, 'link set sync0 up');
  }
  // the link-local addresses come once the kernel has seen the carrier (linkwatch can take up
  // to a second); a master started before that cannot send (EADDRNOTAVAIL, refused at start)
  for (const ns of [m, b]) {
    for (let i = 0; i < 50 && !/inet6 fe80::\S+ scope link(?!.*tentative)/.test(lab.ip(ns, '-6 addr show dev sync0')); i++) await new Promise((r) => setTimeout(r, 100));
  }
  const group = 'ff02::81';
  const backup = lab.spawnNode(b, 'fixtures/sync-peer.mjs', [JSON.stringify({ role: 'backup', ifname: 'sync0', group, syncid: 12 })]);
  const rb = await backup.json<{ daemons: { state: string; group: string; maxlen: number }[] }>((x) => x.ready === true);
  t.same(rb.daemons.map((x) => [x.state, x.group]), [['backup', group]]);
  const master = lab.spawnNode(m, 'fixtures/sync-peer.mjs', [JSON.stringify({ role: 'master', ifname: 'sync0', group, syncid: 12 })]);
  const rm = await master.json<{ daemons: { state: string; maxlen: number }[] }>((x) => x.ready === true);
  t.equal(rm.daemons[0]!.maxlen, 1452, 'the default maxlen over IPv6: 1500 - 40 - 8');
  const sent = await master.request<{ sent: number; queued: number }>({ op: 'conns', n: 200 });
  t.equal(sent.queued, 200, 'one record per connection');
  t.equal(sent.sent, Math.ceil(200 / 40), '40 records of 36 bytes per 1452-byte message');
  const ms = await master.request<{ listing: string[]; stats: Record<string, number> }>({ op: 'state' });
  let bs = await backup.request<{ size: number; listing: string[]; stats: Record<string, number> }>({ op: 'state' });
  for (let i = 0; i < 50 && bs.size < 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
    bs = await backup.request({ op: 'state' });
  }
  t.equal(bs.size, 200, `the backup holds the 200 connections (master ${JSON.stringify(ms.stats)}, backup ${JSON.stringify(bs.stats)})`);
  t.same(bs.listing, ms.listing, 'the same entries as the master');
  t.equal(bs.stats.sync_rx_wrongSyncid ?? 0, 0);
});
