/**
 * The multi-worker control plane (workers.ts) without root: two worker threads, each a
 * Director on an in-memory link, driven by the main thread's WorkerDirector. Every accepted
 * operation reaches both workers in order; a refused one reaches neither; listings merge the
 * workers' counters. The configuration side: `workers` in JSON and tunvsd.conf.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceInfo, StatsInfo } from '@tunvs/model';
import { mergeServices, sumCounters, tableShares, WorkerDirector, WorkerPool } from '../src/workers.js';
import type { WorkerSetup } from '../src/workers.js';
import { checkConfig, validateDaemonConfig } from '../src/index.js';
import { formatCpuList, threadCpus } from '@tunvs/hostnet';

const MAC = [2, 0, 0, 0, 0, 9];
const setup = (index: number): WorkerSetup => ({
  index,
  link: { kind: 'memory', mtu: 1500 },
  metrics: false,
  director: { mac: MAC, addresses: [{ addr: '10.9.0.1', prefix: 24 }], connCapacity: 4096, conntrack: {} },
});
const st = (n: number): StatsInfo => ({ conns: n, inPkts: 10 * n, outPkts: 10 * n, inBytes: 100 * n, outBytes: 100 * n, cps: n, inPps: n, outPps: n, inBps: n, outBps: n });

t.test('WorkerDirector: operations checked here, applied by every worker in order; listings merged', async (t) => {
  const logs: string[] = [];
  const pool = new WorkerPool([setup(0), setup(1)], (level, msg, f) => logs.push(`${level} ${msg} ${JSON.stringify(f ?? {})}`));
  t.teardown(() => pool.stop());
  await pool.ready();
  const d = new WorkerDirector({ mac: Uint8Array.from(MAC), addresses: [{ addr: '10.9.0.1', prefix: 24 }], linkName: 'mem', mtu: 1500 }, pool);
  const key = { protocol: 'tcp' as const, addr: '10.9.0.100', port: 80 };
  d.addService({ ...key, scheduler: 'wrr' });
  d.addDest(key, { addr: '10.9.1.11', port: 80, method: 'masq', weight: 3 });
  d.addDest(key, { addr: '10.9.1.12', port: 80, method: 'masq', weight: 1 });
  d.editDest(key, { addr: '10.9.1.12', port: 80, method: 'masq', weight: 0 }); // a health check's quiesce
  d.addService({ protocol: 'udp', addr: '10.9.0.100', port: 53, scheduler: 'sh', persistent: 300 });
  d.deleteService({ protocol: 'udp', addr: '10.9.0.100', port: 53 });
  d.setTimeouts({ tcp: 600, tcpfin: 0, udp: 0 });
  d.setDefense({ dropEntry: 3 });
  // refused here: reaches no worker
  t.throws(() => d.addService({ ...key, scheduler: 'rr' }), { code: 'EEXIST' });
  t.throws(() => d.addDest(key, { addr: '10.9.1.11', port: 80, method: 'masq' }), { code: 'EEXIST' });
  await d.refresh();
  const own = Director_list(d);
  for (const [i, s] of pool.snapshots.entries()) {
    t.same(s!.services.map(strip), own.map(strip), `worker ${i} has the same services, destinations and weights`);
  }
  t.equal(pool.snapshots[0]!.services[0]!.dests.find((x) => x.addr === '10.9.1.12')!.weight, 0, 'the quiesce reached the workers');
  t.same(d.listServices().map(strip), own.map(strip), 'the merged listing shows the configuration');
  t.equal(d.stats().workers, 2);
  t.same(await d.fetchConnections(), [], 'no connection on any worker');
  await t.rejects(pool.metrics({ conntrack: false }), /the workers keep no metrics/, 'workers started without metrics (no HTTP) have no /metrics part to give');
  t.equal(d.info().connTableSize, pool.snapshots[0]!.connTableSize * 2, 'the table size is the sum of the shards');
  d.clear();
  await d.refresh();
  t.same(pool.snapshots.map((s) => s!.services.length), [0, 0], 'clear reached both');
  t.same(logs.filter((l) => l.startsWith('error')), [], 'no worker refused an operation');
});

function Director_list(d: WorkerDirector): ServiceInfo[] {
  // the main thread's own table (config without counters): the merge with no worker data
  return mergeServices(d.listServices(), []);
}
function strip(s: ServiceInfo): unknown {
  return { ...s, stats: null, dests: s.dests.map((x) => ({ ...x, stats: null, activeConns: null, inactConns: null, persistConns: null })) };
}

t.test('mergeServices sums counters, rates and connection counts per service and destination', async (t) => {
  const svc = (n: number, conns: [number, number]): ServiceInfo =>
    ({
      fwmark: 0, protocol: 'tcp', addr: '10.9.0.100', port: 80, scheduler: 'rr', schedFlags: [], persistent: 0, netmask: '255.255.255.255', onePacket: false, pe: '',
      stats: st(n),
      dests: [{ addr: '10.9.1.11', port: 80, method: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConns: conns[0], inactConns: conns[1], persistConns: 0, stats: st(n) }],
    }) as unknown as ServiceInfo;
  const m = mergeServices([svc(0, [0, 0])], [[svc(2, [1, 4])], [svc(3, [5, 0])], []]);
  t.same(m[0]!.stats, st(5));
  t.same(m[0]!.dests[0]!.stats, st(5));
  t.same([m[0]!.dests[0]!.activeConns, m[0]!.dests[0]!.inactConns], [6, 4]);
  t.same(sumCounters([{ a: 1, b: 2 }, { a: 3 }]), { a: 4, b: 2 });
});

t.test('workers in the configuration: more than one on xdp/packet only, in JSON and tunvsd.conf', async (t) => {
  const dev = (kind: string) => ({ name: 'xd0', kind, addresses: ['10.0.0.1/24'] });
  t.equal(validateDaemonConfig({ device: dev('xdp'), workers: 2, services: [] }, 'c.json').config?.workers, 2);
  t.equal(validateDaemonConfig({ device: dev('packet'), workers: 4, services: [] }, 'c.json').config?.workers, 4);
  const tap = validateDaemonConfig({ device: { name: 'tv0', kind: 'tap', addresses: ['10.0.0.1/24'] }, workers: 2, services: [] }, 'c.json');
  t.equal(tap.config, null);
  t.match(tap.findings.map((f) => f.message).join('\n'), /2 workers need a kernel-bypass device \(kind "xdp" or "packet"\); a TAP device runs one Director/);
  const dir = mkdtempSync(join(tmpdir(), 'lwk-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.conf');
  writeFileSync(good, 'device xd0\nmode xdp\naddress 10.0.0.1/24\nworkers 2\n');
  const g = checkConfig(good);
  t.equal(g.setup?.config.workers, 2, `tunvsd.conf workers 2 on xdp ${g.messages.join(' ')}`);
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'device tv0\nmode tun\nworkers 2\n');
  const b = checkConfig(bad);
  t.equal(b.setup, null);
  t.match(b.messages.join('\n'), /bad\.conf:3: error: workers: 2 workers need a kernel-bypass device/);
});

t.test('in process: NAT through two worker Directors; flows split by the link hash, replies only on the owner', async (t) => {
  const { packet, parseIpv4, formatIpv4 } = await import('@tunvs/packet');
  const { slotOf } = await import('@tunvs/xdp');
  const pool = new WorkerPool([setup(0), setup(1)], () => {});
  t.teardown(() => pool.stop());
  await pool.ready();
  const ours = Uint8Array.from(MAC);
  const d = new WorkerDirector({ mac: ours, addresses: [{ addr: '10.9.0.1', prefix: 24 }], linkName: 'mem', mtu: 1500 }, pool);
  // the workers own 10.9.0.1/24 only: the real server is on the same segment
  const key = { protocol: 'tcp' as const, addr: '10.9.0.100', port: 80 };
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: '10.9.0.11', port: 8080, method: 'masq' });
  const cmac = '02:00:00:00:00:c1';
  const rmac = '02:00:00:00:00:e1';
  const ip4 = (f: Uint8Array, at: number): string => formatIpv4(((f[at]! << 24) | (f[at + 1]! << 16) | (f[at + 2]! << 8) | f[at + 3]!) >>> 0);
  const port = (f: Uint8Array, at: number): number => (f[at]! << 8) | f[at + 1]!;
  const ipv4Of = (fs: Uint8Array[]): Uint8Array[] => fs.filter((f) => f[12] === 0x08 && f[13] === 0x00);
  const flows = Array.from({ length: 16 }, (_, i) => ({ caddr: `10.9.0.${50 + (i >> 2)}`, cport: 20000 + i * 37 }));
  const slot = (f: { caddr: string; cport: number }): number => slotOf(parseIpv4(f.caddr), f.cport, 2);
  t.ok(flows.some((f) => slot(f) === 0) && flows.some((f) => slot(f) === 1), 'the flows hash to both slots');
  const syn = (f: { caddr: string; cport: number }): Uint8Array => packet().eth({ src: cmac, dst: ours }).ipv4({ src: f.caddr, dst: key.addr }).tcp({ sport: f.cport, dport: 80, flags: 'S', seq: 1 }).build();
  const queued = [0, 0];
  for (const w of [0, 1]) {
    const out = await pool.frames(w, flows.filter((f) => slot(f) === w).map(syn));
    // the server's MAC is unknown: each worker asks (its SYNs wait)
    t.ok(out.some((f) => f[12] === 0x08 && f[13] === 0x06), `worker ${w} asks ARP for the real server`);
    queued[w] = flows.filter((f) => slot(f) === w).length;
  }
  // the steering program gives every ARP frame to slot 0: the reply reaches worker 0 only
  const arpReply = packet().eth({ src: rmac, dst: ours }).arp({ op: 2, senderMac: rmac, senderIp: '10.9.0.11', targetIp: '10.9.0.1', targetMac: ours }).build();
  const out0 = ipv4Of(await pool.frames(0, [arpReply]));
  const out1 = ipv4Of(await pool.frames(1, []));
  t.equal(out0.length, queued[0], 'worker 0 sent its waiting SYNs once the reply came');
  t.equal(out1.length, queued[1], 'worker 1 learnt the MAC from the reply worker 0 passed on and sent its SYNs');
  for (const f of [...out0, ...out1]) t.equal(`${ip4(f, 30)}:${port(f, 36)}`, '10.9.0.11:8080', 'NAT to the real server');
  // the server's SYN-ACKs: on the owning worker they are translated back; on the other one
  // they match no connection
  const synAck = (f: { caddr: string; cport: number }): Uint8Array => packet().eth({ src: rmac, dst: ours }).ipv4({ src: '10.9.0.11', dst: f.caddr }).tcp({ sport: 8080, dport: f.cport, flags: 'SA', seq: 100, ack: 2 }).build();
  const back: Uint8Array[][] = [[], []];
  const stray: Uint8Array[][] = [[], []];
  for (const w of [0, 1]) {
    back[w]!.push(...ipv4Of(await pool.frames(w, flows.filter((f) => slot(f) === w).map(synAck))));
    stray[w]!.push(...ipv4Of(await pool.frames(w, flows.filter((f) => slot(f) !== w).map(synAck))));
  }
  // the replies wait for the clients' MACs: their ARP replies, again through worker 0
  const clientArp = [...new Set(flows.map((f) => f.caddr))].map((a) => packet().eth({ src: cmac, dst: ours }).arp({ op: 2, senderMac: cmac, senderIp: a, targetIp: '10.9.0.1', targetMac: ours }).build());
  back[0]!.push(...ipv4Of(await pool.frames(0, clientArp)));
  back[1]!.push(...ipv4Of(await pool.frames(1, [])));
  for (const w of [0, 1]) {
    t.equal(back[w]!.length, queued[w], `worker ${w} translated the replies of its flows`);
    t.ok(back[w]!.every((f) => `${ip4(f, 26)}:${port(f, 34)}` === `${key.addr}:80`), 'from the VIP');
    t.ok(back[w]!.every((f) => slot({ caddr: ip4(f, 30), cport: port(f, 36) }) === w), 'to its own clients');
    t.same(stray[w], [], `worker ${w} forwards no reply of the other worker's flows`);
  }
  await d.refresh();
  t.same(pool.snapshots.map((s) => s!.services[0]!.stats.conns), queued, 'each worker scheduled its own flows');
  t.same(pool.snapshots.map((s) => (s!.stats.noService ?? 0) + (s!.stats.notSyn ?? 0) > 0), [true, true], 'the misplaced replies were dropped and counted');
  t.equal(d.listServices()[0]!.stats.conns, flows.length, 'the listing sums them');
  t.equal((await d.fetchConnections()).length, flows.length, 'the connections of both workers');
});

t.test('tableShares: the workers\' shares add up to the configured capacity exactly', (t) => {
  t.same(tableShares(262144, 2), [131072, 131072]);
  t.same(tableShares(10, 4), [3, 3, 2, 2]);
  t.same(tableShares(4, 4), [1, 1, 1, 1]);
  for (const [cap, n] of [[1000003, 3], [67108864, 64], [65, 64], [7, 1]] as const) {
    const s = tableShares(cap, n);
    t.equal(s.length, n);
    t.equal(s.reduce((a, b) => a + b, 0), cap, `${cap} over ${n}: the sum`);
    t.ok(Math.max(...s) - Math.min(...s) <= 1, `${cap} over ${n}: within one of each other`);
  }
  t.end();
});

t.test('cpus: each worker pins its own thread before it opens its link, and says where it runs', async (t) => {
  const cpus = threadCpus();
  // both workers on the last CPU this process may use (a 1-CPU machine has only that one)
  const cpu = cpus[cpus.length - 1]!;
  const logs: Record<string, unknown>[] = [];
  const pool = new WorkerPool([{ ...setup(0), cpu }, setup(1)], (_level, msg, f) => {
    if (msg === 'worker ready') logs.push(f ?? {});
  });
  t.teardown(() => pool.stop());
  await pool.ready();
  const byWorker = new Map(logs.map((f) => [f.worker, f.cpus]));
  t.equal(byWorker.get(0), String(cpu), 'worker 0 runs on its CPU only');
  t.equal(byWorker.get(1), formatCpuList(cpus), 'worker 1, not given one, keeps every CPU of the process');
  t.same(threadCpus(), cpus, 'the main thread is not pinned');
});
