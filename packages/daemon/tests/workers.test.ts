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
import { mergeServices, sumCounters, WorkerDirector, WorkerPool } from '../src/workers.js';
import type { WorkerSetup } from '../src/workers.js';
import { checkConfig, validateDaemonConfig } from '../src/index.js';

const MAC = [2, 0, 0, 0, 0, 9];
const setup = (index: number): WorkerSetup => ({
  index,
  link: { kind: 'memory', mtu: 1500 },
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
