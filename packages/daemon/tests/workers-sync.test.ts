/**
 * Connection sync with workers > 1, without root: a master director and a backup director,
 * each two worker threads (Directors on in-memory links) with the main thread's
 * WorkerDirector and sync daemons, the sync messages over an in-memory hub. The master's
 * workers' connections reach the backup, each on the worker its client is steered to (the
 * address alone for a persistent service's template and connections); the backup's listing
 * has them all; after a takeover the backup's workers forward the established flows' next
 * packets (no SYN) to the same real servers.
 */
import t from 'tap';
import { MemorySyncHub } from '@tunvs/sync';
import type { ConnInfo } from '@tunvs/model';
import { packet, parseIpv4 } from '@tunvs/packet';
import { slotOf } from '@tunvs/xdp';
import { SyncDaemons } from '@tunvs/sync';
import { WorkerDirector, WorkerPool, WorkerSyncRelay, packSyncRecord, unpackSyncRecord, SYNC_REC_FIELDS } from '../src/workers.js';
import type { WorkerSetup } from '../src/workers.js';
import { steeringPlan } from '../src/xdp-device.js';
import { newSyncRecord } from '@tunvs/sync';

const MAC = [2, 0, 0, 0, 0, 9];
const ours = Uint8Array.from(MAC);
const CMAC = '02:00:00:00:00:c1';
const RMAC = '02:00:00:00:00:e1';
const VIP = '10.9.0.100';
const RS = ['10.9.0.11', '10.9.0.12'];
const setup = (index: number): WorkerSetup => ({
  index,
  link: { kind: 'memory', mtu: 1500 },
  metrics: false,
  director: { mac: MAC, addresses: [{ addr: '10.9.0.1', prefix: 24 }], connCapacity: 4096, conntrack: {} },
});

interface Side {
  pool: WorkerPool;
  d: WorkerDirector;
  sync: SyncDaemons;
}

async function side(t: { teardown(fn: () => unknown): void }, hub: MemorySyncHub): Promise<Side> {
  const pool = new WorkerPool([setup(0), setup(1)], () => {});
  t.teardown(() => pool.stop());
  await pool.ready();
  const d = new WorkerDirector({ mac: ours, addresses: [{ addr: '10.9.0.1', prefix: 24 }], linkName: 'mem', mtu: 1500 }, pool);
  for (const [port, persistent] of [[80, 0], [443, 300]] as const) {
    const key = { protocol: 'tcp' as const, addr: VIP, port };
    d.addService({ ...key, scheduler: 'rr', ...(persistent ? { persistent } : {}) });
    for (const a of RS) d.addDest(key, { addr: a, port, method: 'masq' });
  }
  const sync = new SyncDaemons(d, { transport: async () => hub.join(), workers: new WorkerSyncRelay(pool, () => steeringPlan(d.listServices(), [], d.ftpPorts).clientBits), master: { flushMs: 50 } });
  t.teardown(() => sync.stop());
  return { pool, d, sync };
}

/**
 * Answer the workers' ARP requests for the real servers (every ARP reply reaches worker 0,
 * which passes it on); returns what each worker then sent (the packets that waited).
 */
async function learnMacs(pool: WorkerPool): Promise<Uint8Array[][]> {
  const arp = (mac: string, ip: string): Uint8Array => packet().eth({ src: mac, dst: ours }).arp({ op: 2, senderMac: mac, senderIp: ip, targetIp: '10.9.0.1', targetMac: ours }).build();
  return [await pool.frames(0, RS.map((a) => arp(RMAC, a))), await pool.frames(1, [])];
}

const tcp = (f: Flow, flags: string, seq: number): Uint8Array =>
  packet().eth({ src: CMAC, dst: ours }).ipv4({ src: f.caddr, dst: VIP }).tcp({ sport: f.cport, dport: f.port, flags, seq, ack: 1 }).build();

interface Flow { caddr: string; cport: number; port: number }

/** The worker the steering program sends a flow's packets to. */
const workerOf = (f: { caddr: string; cport: number; port: number }): number => slotOf(parseIpv4(f.caddr), f.port === 443 ? 0 : f.cport, 2);

async function until<T>(what: string, f: () => Promise<T | null>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.test('sync records packed for a worker come back unchanged', async (t) => {
  const r = newSyncRecord();
  Object.assign(r, { version: 1, protocol: 6, flags: 0x1234, state: 1, cport: 40000, vport: 80, dport: 8080, fwmark: 7, timeout: 900, caddr: 0x0a090032, vaddr: 0x0a090064, daddr: 0x0a09000b, hasSeq: true });
  r.seq.set([1, 2, 3, 4, 5, 0xffffffff]);
  const buf = new Float64Array(2 * SYNC_REC_FIELDS);
  packSyncRecord(buf, 1, r);
  const back = unpackSyncRecord(buf, 1, newSyncRecord());
  t.same({ ...back, seq: [...back.seq] }, { ...r, seq: [...r.seq] });
});

t.test('workers 2 master -> workers 2 backup: every worker\'s connections synced to the worker of their flow; takeover keeps them', async (t) => {
  const hub = new MemorySyncHub();
  const a = await side(t, hub);
  const b = await side(t, hub);
  await a.sync.start('master', { ifname: 'sync0', syncid: 9 });
  await b.sync.start('backup', { ifname: 'sync0', syncid: 9 });
  // 24 flows to the plain service, 8 to the persistent one (4 clients, 2 connections each)
  const flows: Flow[] = [
    ...Array.from({ length: 24 }, (_, i) => ({ caddr: `10.9.0.${50 + (i % 8)}`, cport: 30000 + i * 41, port: 80 })),
    ...Array.from({ length: 8 }, (_, i) => ({ caddr: `10.9.0.${50 + (i % 4)}`, cport: 31000 + i * 7, port: 443 })),
  ];
  t.ok([0, 1].every((w) => flows.some((f) => f.port === 80 && workerOf(f) === w)), 'the plain flows hash to both workers');
  t.ok([0, 1].every((w) => flows.some((f) => f.port === 443 && workerOf(f) === w)), 'the persistent clients hash to both workers');
  // SYN, then three ACKs: ESTABLISHED by the 2nd packet, synced at the 3rd (sync_threshold 3)
  for (const w of [0, 1]) {
    const mine = flows.filter((f) => workerOf(f) === w);
    await a.pool.frames(w, mine.map((f) => tcp(f, 'S', 0)));
    if (w === 1) await learnMacs(a.pool);
    for (let k = 1; k <= 3; k++) await a.pool.frames(w, mine.map((f) => tcp(f, 'A', k)));
  }
  const masterConns = (await a.d.fetchConnections()).filter((c) => !c.template);
  t.equal(masterConns.length, flows.length, 'the master holds every flow');
  const wantTemplates = new Set(flows.filter((f) => f.port === 443).map((f) => f.caddr)).size;

  // the backup's workers get them: each on the worker of its client
  const per = await until('every connection on the backup', async () => {
    const wc = await b.d.workerConnections();
    const n = wc.flat().filter((c) => !c.template).length;
    return n === flows.length && wc.flat().filter((c) => c.template).length === wantTemplates ? wc : null;
  });
  for (const [w, conns] of per.entries()) {
    t.ok(conns.length > 0, `backup worker ${w} holds synced connections`);
    t.ok(
      conns.every((c) => workerOf({ caddr: c.clientAddr, cport: c.clientPort, port: c.virtualPort === 0 ? 443 : c.virtualPort }) === w),
      `backup worker ${w} holds only connections and templates of clients steered to it`,
    );
  }
  const key = (c: ConnInfo): string => `${c.protocol} ${c.clientAddr}:${c.clientPort} ${c.virtualAddr}:${c.virtualPort} ${c.destAddr}:${c.destPort} ${c.state}`;
  const listed = (await b.d.fetchConnections()).filter((c) => !c.template);
  t.same(listed.map(key).sort(), masterConns.map(key).sort(), 'the backup lists every connection (ipvsadm -L -c), same real server and state');
  await a.pool.refresh();
  await b.pool.refresh();
  const ms = a.sync.masterStatus()!;
  // a persistent connection's template goes with each sync of the connection (the kernel's
  // rule: the controller is visited after its child), so once per persistent connection
  const persistent = flows.filter((f) => f.port === 443).length;
  t.equal(ms.counters.queued, flows.length + persistent, 'master counters: every connection and its template, summed over the workers');
  t.ok(ms.counters.messages >= 2, `messages from both workers (${ms.counters.messages})`);
  const bs = b.sync.backupStatus()!;
  t.equal(bs.applied.created, flows.length + wantTemplates, 'backup counters: every record created, summed over the workers');
  t.equal(bs.applied.updated, persistent - wantTemplates, 'a template sent again refreshes it');
  t.equal(bs.rx.records, flows.length + persistent, 'every record received and decoded in the main thread');
  t.match(b.sync.stats(), { sync_backup_created: flows.length + wantTemplates, sync_rx_records: flows.length + persistent });

  // the master stops (VRRP gone BACKUP, or --stop-daemon) with records still in its
  // workers' open messages (flushed only after a minute now): they are sent before its
  // socket closes
  a.sync.configure({ flushMs: 60_000 });
  const late: Flow[] = Array.from({ length: 6 }, (_, i) => ({ caddr: `10.9.0.${60 + i}`, cport: 32000 + i, port: 80 }));
  for (const w of [0, 1]) {
    const mine = late.filter((f) => workerOf(f) === w);
    for (let k = 0; k <= 3; k++) await a.pool.frames(w, mine.map((f) => tcp(f, k === 0 ? 'S' : 'A', k)));
  }
  a.sync.stop('master');
  await until('the records the master held at its stop', async () => ((await b.d.fetchConnections()).filter((c) => !c.template).length === flows.length + late.length ? true : null));
  t.pass('the stopped master\'s workers sent what they held');
  flows.push(...late);
  masterConns.push(...(await a.d.fetchConnections()).filter((c) => late.some((f) => f.caddr === c.clientAddr && f.cport === c.clientPort)));

  // takeover: the backup's workers forward each flow's next ACK (not a SYN: only an
  // existing connection takes it) to the real server the master chose
  const dest = new Map(masterConns.map((c) => [`${c.clientAddr}:${c.clientPort}`, `${c.destAddr}:${c.destPort}`]));
  const sent: Uint8Array[] = [];
  for (const w of [0, 1]) sent.push(...(await b.pool.frames(w, flows.filter((f) => workerOf(f) === w).map((f) => tcp(f, 'A', 9)))));
  // the backup's workers had never sent to the real servers: the packets waited for ARP
  for (const out of await learnMacs(b.pool)) sent.push(...out);
  let forwarded = 0;
  for (const f of sent.filter((x) => x[12] === 0x08 && x[13] === 0x00)) {
    const ip = (at: number): string => `${f[at]}.${f[at + 1]}.${f[at + 2]}.${f[at + 3]}`;
    const port = (at: number): number => (f[at]! << 8) | f[at + 1]!;
    if (dest.get(`${ip(26)}:${port(34)}`) === `${ip(30)}:${port(36)}`) forwarded++;
  }
  t.equal(forwarded, flows.length, 'after the takeover every established flow goes on to its real server');
  await b.pool.refresh();
  t.same(b.pool.snapshots.map((s) => s!.stats.notSyn ?? 0), [0, 0], 'no packet dropped for lack of a connection');
});

t.test('workers 2: lvs_sync_daemon following a VRRP instance starts and stops the workers\' masters and backups', async (t) => {
  const { parseConfigText, setVrrpHost, staticHost } = await import('@tunvs/keepalived');
  setVrrpHost(staticHost([{ name: 'eth1', loopback: false, ethernet: true, multicast: true, mtu: 1500 }]));
  const { DaemonSync } = await import('../src/sync-runtime.js');
  const pool = new WorkerPool([setup(0), setup(1)], () => {});
  t.teardown(() => pool.stop());
  await pool.ready();
  const d = new WorkerDirector({ mac: ours, addresses: [{ addr: '10.9.0.1', prefix: 24 }], linkName: 'mem', mtu: 1500 }, pool);
  const hub = new MemorySyncHub();
  const logs: string[] = [];
  const sync = new DaemonSync(d, (level, msg) => void logs.push(`${level} ${msg}`), { transport: async () => hub.join(), workers: new WorkerSyncRelay(pool, () => steeringPlan(d.listServices(), [], d.ftpPorts).clientBits) });
  t.teardown(() => sync.stop());
  const text = 'global_defs {\n lvs_sync_daemon eth1 VI_1\n}\nvrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n priority 100\n advert_int 1\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n';
  const parsed = parseConfigText(text, 'k.conf');
  t.ok(parsed.config, parsed.diagnostics?.map((x) => x.message).join('; ') ?? '');
  const k = parsed.config!;
  const workersRun = async (): Promise<string> => {
    await pool.refresh();
    return pool.snapshots.map((s) => `${s!.sync.master ? 'master' : '-'}/${s!.sync.applied ? 'backup' : '-'}`).join(' ');
  };
  await sync.apply(k, () => 'BACKUP');
  t.equal(sync.daemons.list().map((x) => `${x.state}/${x.syncid}`).join(' '), 'backup/51', 'BACKUP: the backup daemon, syncid = VRID');
  t.equal(await workersRun(), '-/backup -/backup', 'every worker runs its backup');
  sync.onTransition('VI_1', 'MASTER');
  await sync.settled();
  t.equal(sync.daemons.list().map((x) => x.state).join(' '), 'master');
  t.equal(await workersRun(), 'master/- master/-', 'MASTER: every worker runs its master');
  sync.onTransition('VI_1', 'FAULT');
  await sync.settled();
  t.equal(await workersRun(), '-/backup -/backup', 'FAULT: back to the backups');
  t.same(logs.filter((l) => l.startsWith('error')), [], 'no error');
});

t.test('workers 2: the backup\'s sync_threshold (at its start, then reloaded) is the in_pkts of the records each worker applies', async (t) => {
  const hub = new MemorySyncHub();
  const a = await side(t, hub);
  const b = await side(t, hub);
  await a.sync.start('master', { ifname: 'sync0', syncid: 9 });
  // tunvsd.conf `sync_threshold 4 20` before the backup starts
  b.sync.configure({ threshold: 4, period: 20 });
  await b.sync.start('backup', { ifname: 'sync0', syncid: 9 });
  const flowsOf = (base: number): Flow[] => Array.from({ length: 8 }, (_, i) => ({ caddr: `10.9.0.${base + i}`, cport: 33000 + i * 13, port: 80 }));
  const early = flowsOf(70);
  const late = flowsOf(80);
  t.ok([0, 1].every((w) => early.some((f) => workerOf(f) === w) && late.some((f) => workerOf(f) === w)), 'both sets of flows hash to both workers');
  const open = async (flows: Flow[], have: number): Promise<void> => {
    for (const w of [0, 1]) {
      const mine = flows.filter((f) => workerOf(f) === w);
      for (let k = 0; k <= 3; k++) await a.pool.frames(w, mine.map((f) => tcp(f, k === 0 ? 'S' : 'A', k)));
    }
    await until('the records on the backup', async () => ((await b.d.fetchConnections()).length === have ? true : null));
  };
  await open(early, early.length);
  // a reload to `sync_threshold 5 20` reaches the running backup's workers
  b.sync.configure({ threshold: 5, period: 20 });
  await open(late, early.length + late.length);

  // takeover: b's workers' masters run "5 20": a connection is synced when in_pkts % 20 == 5
  await b.sync.setRole('master', { ifname: 'sync0', syncid: 9 });
  const queued = async (): Promise<number> => {
    await b.pool.refresh();
    return b.sync.masterStatus()!.counters.queued;
  };
  const ack = async (k: number): Promise<void> => {
    for (const w of [0, 1]) await b.pool.frames(w, [...early, ...late].filter((f) => workerOf(f) === w).map((f) => tcp(f, 'A', 10 + k)));
  };
  await ack(1);
  // the early records gave in_pkts 4: their first packet after the takeover makes 5
  t.equal(await queued(), early.length, 'the connections synced under "4 20" re-sync at their 1st packet (in_pkts 4 + 1), the others not');
  for (let k = 2; k <= 19; k++) await ack(k);
  t.equal(await queued(), early.length, 'the reloaded threshold\'s connections: nothing in their 19 packets after the takeover');
  await ack(20);
  t.equal(await queued(), early.length + late.length, 'and each at its 20th (in_pkts 5 + period 20)');
});
