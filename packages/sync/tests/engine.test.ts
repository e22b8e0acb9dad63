// Two Directors on in-memory links, their sync daemons on an in-memory multicast group:
// the master's connections appear on the backup, and the backup forwards an established
// flow to the same real server after takeover.
import t from 'tap';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { ConnFlag } from '@tunvs/model';
import { packet, rd32, Ipv4Field } from '@tunvs/packet';
import { formatDaemons } from '@tunvs/cli';
import { TcpState } from '@tunvs/conntrack';
import { MemorySyncHub, SyncDaemons } from '../src/index.js';
import type { SyncDaemonsOptions } from '../src/index.js';

const VIP = '10.10.0.100';
const RS = ['10.10.1.11', '10.10.1.12', '10.10.1.13'];

function director(clock: { now: number }, capacity = 65536): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], now: () => clock.now, timers: false, sourceAddress: '10.10.1.1', connCapacity: capacity });
  d.start();
  d.addService({ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr' });
  d.addService({ protocol: 'tcp', addr: VIP, port: 443, scheduler: 'rr', persistent: 300 });
  for (const rs of RS) {
    d.addDest({ protocol: 'tcp', addr: VIP, port: 80 }, { addr: rs, port: 8080, method: 'masq' });
    d.addDest({ protocol: 'tcp', addr: VIP, port: 443 }, { addr: rs, port: 443, method: 'masq' });
  }
  return { d, link };
}

const client = (i: number): string => `10.20.${(i >> 8) & 255}.${i & 255}`;
const seg = (i: number, port: number, flags: string): Uint8Array =>
  packet().ipv4({ src: client(i), dst: VIP }).tcp({ sport: 30000 + (i % 20000), dport: port, flags }).build();

function sendFlows(link: MemoryLink, n: number, port: number, flagsSeq: string[]): void {
  for (const f of flagsSeq) {
    for (let i = 0; i < n; i += 256) {
      const batch: Uint8Array[] = [];
      for (let k = i; k < Math.min(n, i + 256); k++) batch.push(seg(k, port, f));
      link.receive(...batch);
      link.drain();
    }
  }
}

const key = (c: { protocol: number; caddr: number; cport: number; vaddr: number; vport: number; daddr: number; dport: number; state: string; template: boolean }): string =>
  `${c.protocol} ${c.caddr}:${c.cport} ${c.vaddr}:${c.vport} ${c.daddr}:${c.dport} ${c.state} ${c.template}`;

/** A master director `a` and a backup `b` (`sysctlsB`: b's sync sysctls), both syncid 7 on one hub. */
async function pair(capB = 65536, sysctlsB: SyncDaemonsOptions['master'] = {}): Promise<{ clock: { now: number }; a: ReturnType<typeof director>; b: ReturnType<typeof director>; sa: SyncDaemons; sb: SyncDaemons }> {
  const clock = { now: 5_000_000 };
  const hub = new MemorySyncHub();
  const a = director(clock);
  const b = director(clock, capB);
  const opts = { transport: async () => hub.join(), autoFlush: false, clock: () => clock.now };
  const sa = new SyncDaemons(a.d, opts);
  const sb = new SyncDaemons(b.d, { ...opts, master: sysctlsB });
  await sa.start('master', { ifname: 'eth1', syncid: 7 });
  await sb.start('backup', { ifname: 'eth1', syncid: 7 });
  return { clock, a, b, sa, sb };
}

t.test('10k connections: the backup table matches the master, takeover keeps the real server', async (t) => {
  const { clock, a, b, sa, sb } = await pair();
  t.equal(formatDaemons({ daemons: sa.list() }), 'master sync daemon (mcast=eth1, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
  const N = 10000;
  // SYN (SYN_RECV, never synced), ACK (ESTABLISHED, 2nd packet), data (3rd packet: synced)
  sendFlows(a.link, N, 80, ['S', 'A']);
  sa.masterDaemon!.flush(clock.now, true);
  t.equal(sa.masterDaemon!.counters.queued, 0, 'nothing synced before the 3rd incoming packet');
  sendFlows(a.link, N, 80, ['A']);
  const m = sa.masterDaemon!;
  t.equal(m.counters.queued, N, 'one record per connection on its 3rd packet');
  m.flush(clock.now, true);
  t.equal(m.counters.messages, Math.ceil(N / 40), '40 records per 1472-byte message');
  sb.backupDaemon!.drain();
  t.equal(sb.backupDaemon!.applied.created, N);
  const la = [...a.d.conns.entries(clock.now)].map(key).sort();
  const lb = [...b.d.conns.entries(clock.now)].map(key).sort();
  t.equal(lb.length, N);
  t.same(lb, la, 'same tuples, real servers and states');
  const conn = [...b.d.conns.entries(clock.now)][0]!;
  t.ok(conn.flags & ConnFlag.SYNC, 'backup entries carry SYNC');
  t.equal(Math.round(conn.expires), 900, 'the record\'s timeout (ESTABLISHED 900 s)');
  t.equal(b.d.conns.inPkts(conn.slot), 3, 'in_pkts = sync_threshold, as the kernel\'s backup sets it');
  t.equal(b.d.listServices().find((s) => s.port === 80)!.dests.reduce((n, d) => n + d.activeConns, 0), N, 'counted as active on the backup');

  // takeover: the backup forwards flow 5 to the real server the master chose
  const onA = [...a.d.conns.entries(clock.now)].find((e) => e.cport === 30005)!;
  b.link.receive(seg(5, 80, 'A'));
  const [out] = b.link.drain();
  t.ok(out, 'forwarded by the backup');
  t.equal(rd32(out!, Ipv4Field.DST), onA.daddr, 'to the same real server');
  const onB = [...b.d.conns.entries(clock.now)].find((e) => e.cport === 30005)!;
  t.equal(onB.flags & ConnFlag.SYNC, 0, 'the connection became the backup\'s own');
  t.equal(b.d.stats().noService ?? 0, 0);
  sa.stop();
  sb.stop();
});

t.test('persistence templates ride along; closing states are sent at once', async (t) => {
  const { clock, a, b, sa, sb } = await pair();
  sendFlows(a.link, 3, 443, ['S', 'A', 'A']);
  const m = sa.masterDaemon!;
  t.equal(m.counters.queued, 6, 'each connection followed by its template');
  m.flush(clock.now, true);
  sb.backupDaemon!.drain();
  const tpl = [...b.d.conns.entries(clock.now)].filter((e) => e.template);
  t.equal(tpl.length, 3);
  t.equal(tpl[0]!.state, 'ASSURED');
  t.equal(tpl[0]!.expires, 300);
  // FIN from the client (CLOSE_WAIT in IPVS's input table): sent on that packet (4th), not at the 53rd
  sendFlows(a.link, 1, 443, ['FA']);
  t.equal(m.counters.queued, 8, 'state change to CLOSE_WAIT + template');
  m.flush(clock.now, true);
  sb.backupDaemon!.drain();
  const e = [...b.d.conns.entries(clock.now)].find((x) => !x.template && x.cport === 30000)!;
  t.equal(e.state, 'CLOSE_WAIT');
  t.equal([...a.d.conns.entries(clock.now)].find((x) => !x.template && x.cport === 30000)!.state, 'CLOSE_WAIT', 'as on the master');
  // a new client of the same net on the backup after takeover goes to the template's server
  const tplA = [...a.d.conns.entries(clock.now)].find((x) => x.template && x.caddr === e.caddr)!;
  b.link.receive(packet().ipv4({ src: client(0), dst: VIP }).tcp({ sport: 50000, dport: 443, flags: 'S' }).build());
  const [out] = b.link.drain();
  t.equal(rd32(out!, Ipv4Field.DST), tplA.daddr, 'persistent client stays on its real server');
  sa.stop();
  sb.stop();
});

t.test('records never evict local connections; table floods and unknown services are counted', async (t) => {
  const { clock, a, b, sa, sb } = await pair(100);
  // the backup has its own connection for flow 1 (to whatever its rr picks first)
  b.link.receive(seg(1, 80, 'S'));
  b.link.drain();
  b.link.receive(seg(1, 80, 'A'));
  b.link.drain();
  const local = [...b.d.conns.entries(clock.now)][0]!;
  a.d.deleteService({ protocol: 'tcp', addr: VIP, port: 443 });
  a.d.addService({ protocol: 'tcp', addr: '10.10.0.200', port: 80, scheduler: 'rr' });
  a.d.addDest({ protocol: 'tcp', addr: '10.10.0.200', port: 80 }, { addr: RS[0]!, port: 80, method: 'masq' });
  // flows 0..299 on the master (flow 1 lands on another real server: rr order differs)
  sendFlows(a.link, 300, 80, ['S', 'A', 'A']);
  for (const f of ['S', 'A', 'A']) a.link.receive(packet().ipv4({ src: client(1), dst: '10.10.0.200' }).tcp({ sport: 1, dport: 80, flags: f }).build());
  sa.masterDaemon!.flush(clock.now, true);
  sb.backupDaemon!.drain();
  const ap = sb.backupDaemon!.applied;
  t.equal(ap.localKept, 1, 'the local connection was left alone');
  const still = [...b.d.conns.entries(clock.now)].find((e) => e.slot === local.slot)!;
  t.equal(still.daddr, local.daddr);
  t.equal(still.flags & ConnFlag.SYNC, 0);
  t.equal(b.d.conns.size, 100, 'table full');
  t.equal(ap.created, 99);
  t.equal(ap.tableFull, 300 - 1 - 99, 'the rest refused and counted');
  t.equal(ap.noDest, 1, 'a record naming a service the backup lacks is counted');
  sa.stop();
  sb.stop();
});

t.test('daemon controls: EEXIST, ESRCH, setRole, config ranges', async (t) => {
  const clock = { now: 0 };
  const hub = new MemorySyncHub();
  const a = director(clock);
  const s = new SyncDaemons(a.d, { transport: async () => hub.join(), autoFlush: false });
  await s.start('backup', { ifname: 'eth1' });
  await t.rejects(s.start('backup', { ifname: 'eth1' }), { code: 'EEXIST' });
  await s.start('master', { ifname: 'eth1', syncid: 3, maxlen: 1000, group: '239.1.2.3', port: 9000, ttl: 4 });
  t.equal(formatDaemons({ daemons: s.list() }),
    'master sync daemon (mcast=eth1, syncid=3, maxlen=1000, group=239.1.2.3, port=9000, ttl=4)\n' +
    'backup sync daemon (mcast=eth1, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
  await s.setRole('backup', { ifname: 'eth1' });
  t.same(s.list().map((x) => x.state), ['backup']);
  await s.setRole('master', { ifname: 'eth1' });
  t.same(s.list().map((x) => x.state), ['master']);
  t.throws(() => s.stop('backup'), { code: 'ESRCH' });
  s.stop();
  t.same(s.list(), []);
  await t.rejects(s.start('master', { ifname: 'eth1', syncid: 256 }), { code: 'EINVAL' });
  await t.rejects(s.start('master', { ifname: 'eth1', group: '10.0.0.1' }), { code: 'EINVAL' });
  await t.rejects(s.start('master', { ifname: 'eth1', group: 'fe80::1' }), { code: 'EINVAL' }, 'an IPv6 group must be multicast');
  await s.start('master', { ifname: 'eth1', group: 'ff02::81' });
  t.same(s.list()[0], { state: 'master', mcastIfn: 'eth1', syncid: 0, maxlen: 1452, group: 'ff02::81', port: 8848, ttl: 1 }, 'IPv6 group: maxlen 1500 - 48');
  s.stop();
});

t.test('timers on: a message that fills up goes out within sendDelayMs, not when the partial flush is due', async (t) => {
  const clock = { now: 5_000_000 };
  const hub = new MemorySyncHub();
  const a = director(clock);
  const rx = hub.join();
  let got = 0;
  rx.onMessage(() => got++);
  // the real timers (autoFlush); the Director's clock stands still, so the 2 s partial flush never comes due
  const sa = new SyncDaemons(a.d, { transport: async () => hub.join(), clock: () => clock.now });
  await sa.start('master', { ifname: 'eth1', syncid: 7 });
  const m = sa.masterDaemon!;
  sendFlows(a.link, 1, 80, ['S', 'A', 'A']);
  t.equal(m.pending, 1);
  await new Promise((r) => setTimeout(r, 60));
  t.equal(got, 0, 'a partly filled message waits for flushMs');
  // 39 more: the message is full (40 records of 36 bytes in 1472)
  const seg3 = (i: number): Uint8Array[] => ['S', 'A', 'A'].map((f) => seg(1000 + i, 80, f));
  for (let i = 1; i < 40; i++) {
    a.link.receive(...seg3(i));
    a.link.drain();
  }
  t.equal(m.pending, 40);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(got, 1, 'the full message was sent about sendDelayMs after it filled');
  t.equal(m.pending, 0);
  sa.stop();
});

t.test('message buffers come from a pool reused after each send completes; sync_qlen_max counts messages', async (t) => {
  const clock = { now: 5_000_000 };
  const a = director(clock);
  // a transport that completes sends only when told to (a socket whose send queue is full)
  const held: (() => void)[] = [];
  const seen: number[] = [];
  const bufs = new Set<Uint8Array>();
  const transport = {
    send(buf: Uint8Array, len: number, done: (err?: Error | null) => void): void {
      seen.push(len);
      bufs.add(buf);
      held.push(() => done(null));
    },
    onMessage(): void {},
    close(): void {},
  };
  const s = new SyncDaemons(a.d, { transport: async () => transport, autoFlush: false, clock: () => clock.now, master: { qlenMax: 4 } });
  await s.start('master', { ifname: 'eth1', syncid: 7 });
  const m = s.masterDaemon!;
  const before = m.buffers;
  // 400 synced connections: 10 full messages of 40 records
  sendFlows(a.link, 400, 80, ['S', 'A', 'A']);
  t.equal(m.counters.queued, 400);
  t.equal(m.flush(clock.now), 4, 'four messages go to the transport: the queue limit is 4 messages');
  t.equal(m.counters.queueFull, 6 * 40, 'the six messages closed beyond the limit were dropped, their records counted');
  t.ok(m.buffers <= 4 + 1, `at most qlenMax + 1 buffers (${m.buffers})`);
  // the transport completes: the same buffers carry the next messages
  for (const f of held.splice(0)) f();
  for (let i = 0; i < 8; i++) {
    // 160 new connections: 4 messages, within the limit; sent, then completed
    const first = 1000 + i * 160;
    for (const f of ['S', 'A', 'A']) {
      a.link.receive(...Array.from({ length: 160 }, (_, k) => seg(first + k, 80, f)));
      a.link.drain();
    }
    t.equal(m.flush(clock.now), 4);
    for (const f of held.splice(0)) f();
  }
  t.equal(m.counters.queueFull, 6 * 40, 'no more drops once the sends complete');
  t.equal(m.counters.messages, 4 + 32);
  t.ok(m.buffers <= Math.max(before, 5), `no buffer allocated per message: ${m.buffers} buffers for ${m.counters.messages} messages`);
  t.ok(bufs.size <= 5, `the transport saw ${bufs.size} distinct buffers`);
  t.ok(seen.every((l) => l === 8 + 40 * 36), 'full 1448-byte messages');
  s.stop();
});

t.test('sysctls changed on a running master (SyncDaemons.configure): queued messages go out first, then the new rules', async (t) => {
  const clock = { now: 5_000_000 };
  const a = director(clock);
  const lens: number[] = [];
  const transport = {
    send(_buf: Uint8Array, len: number, done: (err?: Error | null) => void): void {
      lens.push(len);
      done(null);
    },
    onMessage(): void {},
    close(): void {},
  };
  const s = new SyncDaemons(a.d, { transport: async () => transport, autoFlush: false, clock: () => clock.now, master: { qlenMax: 4 } });
  await s.start('master', { ifname: 'eth1', syncid: 7 });
  const m = s.masterDaemon!;
  // 180 synced connections: 4 full messages of 40 wait (the queue limit), 20 records in the open one
  sendFlows(a.link, 180, 80, ['S', 'A', 'A']);
  t.equal(m.pending, 180);
  s.configure({ qlenMax: 8, version: 0, threshold: 2, period: 0 });
  t.same(lens, [1448, 1448, 1448, 1448, 8 + 20 * 36], 'what was written is sent at once, in the old format (v1)');
  t.match(m.settings, { qlenMax: 8, version: 0, threshold: 2, period: 0, syncid: 7 });
  t.equal(m.pending, 0);
  t.equal(m.counters.queueFull, 0);
  // sync_threshold "2 0": a TCP connection is synced on its 2nd packet (the ACK that establishes it), once
  lens.length = 0;
  for (const f of ['S', 'A', 'A', 'A']) {
    a.link.receive(seg(5000, 80, f));
    a.link.drain();
  }
  t.equal(m.counters.queued, 181);
  t.equal(m.flush(clock.now, true), 1);
  t.same(lens, [4 + 24], 'a v0 message: header 4, one 24-byte v0 record');
  t.same(s.masterSysctls, { ...s.masterSysctls, qlenMax: 8, version: 0, threshold: 2, period: 0 });
  s.stop();
});

t.test('checkSyncSysctls: the kernel ranges, one problem per key', async (t) => {
  const { checkSyncSysctls, syncMasterSettings } = await import('../src/index.js');
  t.same(checkSyncSysctls({ threshold: 3, period: 50, retries: 3, version: 0 }), { settings: { threshold: 3, period: 50, retries: 3, version: 0 }, problems: [] });
  t.same(checkSyncSysctls({ threshold: 5, period: 0 }).problems, [], 'period 0: any threshold');
  t.same(checkSyncSysctls({ threshold: 5, period: 5 }).problems.map((p) => p.key), ['threshold']);
  t.same(checkSyncSysctls({ retries: 9, version: -1, ports: 4, sockSize: 1, x: 1 }).problems.map((p) => p.key), ['retries', 'version', 'ports', 'sockSize', 'x']);
  t.match(syncMasterSettings({ refreshPeriod: 30, persistMode: 1 }), { threshold: 3, period: 50, refreshPeriodMs: 30_000, retries: 0, version: 1, persistMode: true });
});

t.test('a forced flush with qlenMax messages waiting sends them, then the open one (none dropped)', async (t) => {
  const clock = { now: 5_000_000 };
  const a = director(clock);
  const lens: number[] = [];
  const transport = { send: (_b: Uint8Array, len: number, done: () => void) => (lens.push(len), done()), onMessage(): void {}, close(): void {} };
  const s = new SyncDaemons(a.d, { transport: async () => transport, autoFlush: false, clock: () => clock.now, master: { qlenMax: 4 } });
  await s.start('master', { ifname: 'eth1', syncid: 7 });
  const m = s.masterDaemon!;
  sendFlows(a.link, 180, 80, ['S', 'A', 'A']);
  t.equal(m.flush(clock.now, true), 5);
  t.same(lens, [1448, 1448, 1448, 1448, 8 + 20 * 36]);
  t.equal(m.counters.queueFull, 0);
  s.stop();
});

/** Flow `i`'s entry on director `d` (not a template). */
const entryOf = (d: Director, i: number, now: number) => [...d.conns.entries(now)].find((e) => !e.template && e.cport === 30000 + (i % 20000))!;

t.test('a record sets the entry\'s in_pkts to the backup\'s own sync_threshold, new or refreshed; a reload changes it', async (t) => {
  // the master syncs at its default threshold 3; the backup is configured with "5 60"
  const { clock, a, b, sa, sb } = await pair(65536, { threshold: 5, period: 60 });
  sendFlows(a.link, 2, 80, ['S', 'A', 'A']);
  sa.masterDaemon!.flush(clock.now, true);
  sb.backupDaemon!.drain();
  t.equal(sb.backupDaemon!.applied.created, 2);
  for (const i of [0, 1]) t.equal(b.d.conns.inPkts(entryOf(b.d, i, clock.now).slot), 5, `new entry ${i}: in_pkts = the backup's sync_threshold (not the master's 3, not 0)`);
  // tunvsd's reload: sync_threshold "7 60" reaches the running backup
  sb.configure({ threshold: 7, period: 60 });
  // the master re-syncs both at their 53rd packet (53 % 50 == 3): the existing entries are refreshed
  sendFlows(a.link, 2, 80, Array<string>(50).fill('A'));
  t.equal(sa.masterDaemon!.counters.queued, 4);
  sa.masterDaemon!.flush(clock.now, true);
  sb.backupDaemon!.drain();
  t.equal(sb.backupDaemon!.applied.updated, 2);
  for (const i of [0, 1]) t.equal(b.d.conns.inPkts(entryOf(b.d, i, clock.now).slot), 7, `refreshed entry ${i}: in_pkts = the new sync_threshold`);
  // a backup started after the change starts with it
  sb.stop();
  await sb.start('backup', { ifname: 'eth1', syncid: 7 });
  t.equal(sb.backupDaemon!.settings.threshold, 7);
  sa.stop();
  sb.stop();
});

t.test('a backup turned master first re-syncs a synced connection at packet threshold + period, not at threshold', async (t) => {
  const { clock, a, b, sa, sb } = await pair(65536, { threshold: 4, period: 20 });
  const N = 50;
  sendFlows(a.link, N, 80, ['S', 'A', 'A']);
  sa.masterDaemon!.flush(clock.now, true);
  sb.backupDaemon!.drain();
  t.equal(sb.backupDaemon!.applied.created, N);
  // takeover (keepalived: the backup's instance becomes MASTER)
  await sb.setRole('master', { ifname: 'eth1', syncid: 7 });
  await sa.setRole('backup', { ifname: 'eth1', syncid: 7 });
  const m = sb.masterDaemon!;
  // in_pkts 4 from the records: packets 5..23 are not synced, the 24th (24 % 20 == 4) is
  sendFlows(b.link, N, 80, Array<string>(19).fill('A'));
  t.equal(m.counters.queued, 0, 'no connection re-synced in the 19 packets after the takeover (a sync storm at the 4th with in_pkts 0)');
  t.equal(b.d.stats().noService ?? 0, 0, 'every packet went to its synced connection');
  sendFlows(b.link, N, 80, ['A']);
  t.equal(m.counters.queued, N, 'each re-synced at its 20th packet after the takeover (in_pkts threshold + period)');
  m.flush(clock.now, true);
  sa.backupDaemon!.drain();
  t.equal(sa.backupDaemon!.applied.localKept, N, 'the old master (its own connections) got them');
  sa.stop();
  sb.stop();
});

t.test('a synced closing state is not force-sent again after a takeover; a new one is', async (t) => {
  const { clock, a, b, sa, sb } = await pair();
  sendFlows(a.link, 1, 80, ['S', 'A', 'A']);
  const onA = entryOf(a.d, 0, clock.now);
  // the real server closes (NAT: its FIN passes the director): FIN_WAIT, sent on the client's next packet
  a.link.receive(packet().ipv4({ src: onA.daddr, dst: onA.caddr }).tcp({ sport: onA.dport, dport: onA.cport, flags: 'FA' }).build());
  a.link.drain();
  sendFlows(a.link, 1, 80, ['A']);
  t.equal(entryOf(a.d, 0, clock.now).state, 'FIN_WAIT');
  t.equal(sa.masterDaemon!.counters.queued, 2, 'synced at the 3rd packet, then at once on the change to FIN_WAIT');
  sa.masterDaemon!.flush(clock.now, true);
  sb.backupDaemon!.drain();
  const onB = entryOf(b.d, 0, clock.now);
  t.equal(onB.state, 'FIN_WAIT');
  t.equal(b.d.conns.oldState(onB.slot), TcpState.FIN_WAIT, 'old_state = the record\'s state');
  await sb.setRole('master', { ifname: 'eth1', syncid: 7 });
  const m = sb.masterDaemon!;
  // the client's next ACK reaches the new master: still FIN_WAIT, which the old master had sent
  sendFlows(b.link, 1, 80, ['A']);
  t.equal(entryOf(b.d, 0, clock.now).state, 'FIN_WAIT');
  t.equal(m.counters.queued, 0, 'FIN_WAIT came by sync: not force-sent again');
  // the client's FIN: TIME_WAIT, a change, sent at once
  sendFlows(b.link, 1, 80, ['FA']);
  t.equal(entryOf(b.d, 0, clock.now).state, 'TIME_WAIT');
  t.equal(m.counters.queued, 1, 'the change to TIME_WAIT is sent at once');
  sa.stop();
  sb.stop();
});
