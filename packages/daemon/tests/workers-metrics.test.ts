/**
 * /metrics of a multi-worker director: two worker threads, each a Director on an in-memory
 * link, NAT traffic through both; the scrape of the main thread's Collector (fed by the
 * workers' snapshots, as tunvsd's http.ts wires it) shows every traffic counter as the sum
 * over the workers, under the same names and labels as with one Director.
 */
import t from 'tap';
import { Metrics } from '@tunvs/metrics';
import { packet, parseIpv4, reasonName } from '@tunvs/packet';
import { slotOf } from '@tunvs/xdp';
import { WorkerDirector, WorkerPool } from '../src/workers.js';
import type { WorkerSetup } from '../src/workers.js';

const MAC = [2, 0, 0, 0, 0, 9];
const setup = (index: number): WorkerSetup => ({
  index,
  link: { kind: 'memory', mtu: 1500 },
  metrics: true,
  director: { mac: MAC, addresses: [{ addr: '10.9.0.1', prefix: 24 }], connCapacity: 4096, conntrack: {} },
});

/** `name{labels} value` lines of an exposition, label order as written. */
function values(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The sample of `name` whose labels include every `want` pair. */
function sample(v: Map<string, number>, name: string, want: Record<string, string> = {}): number | undefined {
  for (const [k, x] of v) {
    if (k !== name && !k.startsWith(`${name}{`)) continue;
    if (Object.entries(want).every(([l, val]) => k.includes(`${l}="${val}"`))) return x;
  }
  return undefined;
}

t.test('/metrics with two workers: counters are the sums over the workers, same names and labels', async (t) => {
  const pool = new WorkerPool([setup(0), setup(1)], () => {});
  t.teardown(() => pool.stop());
  await pool.ready();
  const ours = Uint8Array.from(MAC);
  const events: { type: string }[] = [];
  const d = new WorkerDirector({ mac: ours, addresses: [{ addr: '10.9.0.1', prefix: 24 }], linkName: 'mem', mtu: 1500, onEvent: (e) => events.push(e) }, pool);
  const metrics = new Metrics({ director: d, links: () => [], reasonName, inline: true, workers: (o) => pool.metrics(o) });
  t.teardown(() => metrics.close());
  const key = { protocol: 'tcp' as const, addr: '10.9.0.100', port: 80 };
  d.addService({ ...key, scheduler: 'rr' });
  d.addDest(key, { addr: '10.9.0.11', port: 8080, method: 'masq', weight: 2 });
  const gone = { protocol: 'udp' as const, addr: '10.9.0.100', port: 53 };
  d.addService({ ...gone, scheduler: 'rr' });
  d.addDest(gone, { addr: '10.9.0.12', port: 53, method: 'masq' });
  for (const e of events.splice(0)) metrics.collector.onDirectorEvent(e);
  const cmac = '02:00:00:00:00:c1';
  const rmac = '02:00:00:00:00:e1';
  const flows = Array.from({ length: 24 }, (_, i) => ({ caddr: `10.9.0.${50 + (i >> 2)}`, cport: 20000 + i * 37 }));
  const slot = (f: { caddr: string; cport: number }): number => slotOf(parseIpv4(f.caddr), f.cport, 2);
  const mine = [0, 1].map((w) => flows.filter((f) => slot(f) === w));
  t.ok(mine[0]!.length > 0 && mine[1]!.length > 0, 'the flows hash to both workers');
  const syn = (f: { caddr: string; cport: number }): Uint8Array =>
    packet().eth({ src: cmac, dst: ours }).ipv4({ src: f.caddr, dst: key.addr }).tcp({ sport: f.cport, dport: 80, flags: 'S', seq: 1 }).build();
  const dns = (f: { caddr: string; cport: number }): Uint8Array =>
    packet().eth({ src: cmac, dst: ours }).ipv4({ src: f.caddr, dst: gone.addr }).udp({ sport: f.cport, dport: 53 }).payload(new Uint8Array(20)).build();
  for (const w of [0, 1]) await pool.frames(w, [...mine[w]!.map(syn), ...mine[w]!.slice(0, 2).map(dns)]);
  const arpReply = packet().eth({ src: rmac, dst: ours }).arp({ op: 2, senderMac: rmac, senderIp: '10.9.0.11', targetIp: '10.9.0.1', targetMac: ours }).build();
  await pool.frames(0, [arpReply]);
  await pool.frames(1, []);
  // a frame for no service, on worker 1 only: a drop counted there
  await pool.frames(1, [packet().eth({ src: cmac, dst: ours }).ipv4({ src: '10.9.0.50', dst: '10.9.0.1' }).tcp({ sport: 1, dport: 9999, flags: 'S' }).build()]);
  // the UDP service goes: its totals stay in node_ipvs_* (each worker keeps its own)
  d.deleteService(gone);
  for (const e of events.splice(0)) metrics.collector.onDirectorEvent(e);
  await d.refresh();
  const snaps = pool.snapshots.map((s) => s!);
  const text = new TextDecoder().decode(await metrics.scrape());
  const v = values(text);
  const svc = { proto: 'TCP', vip: '10.9.0.100', port: '80' };
  const sum = (f: (s: (typeof snaps)[number]) => number): number => f(snaps[0]!) + f(snaps[1]!);
  t.equal(sample(v, 'tunvs_service_connections_total', svc), flows.length, 'service connections: every flow of both workers');
  t.equal(sample(v, 'tunvs_service_connections_total', svc), sum((s) => s.services[0]!.stats.conns));
  t.equal(sample(v, 'tunvs_service_incoming_packets_total', svc), sum((s) => s.services[0]!.stats.inPkts));
  t.equal(sample(v, 'tunvs_service_incoming_bytes_total', svc), sum((s) => s.services[0]!.stats.inBytes));
  t.ok(snaps.every((s) => s.services[0]!.stats.inPkts > 0), 'both workers forwarded packets of the service');
  const rs = { ...svc, rip: '10.9.0.11', rport: '8080' };
  t.equal(sample(v, 'tunvs_backend_connections_total', rs), flows.length, 'real server connections summed');
  t.equal(sample(v, 'tunvs_backend_incoming_packets_total', rs), sum((s) => s.services[0]!.dests[0]!.stats.inPkts));
  const backend = { local_address: '10.9.0.100', local_port: '80', remote_address: '10.9.0.11', remote_port: '8080' };
  t.equal(sample(v, 'node_ipvs_backend_connections_active', backend), sum((s) => s.services[0]!.dests[0]!.activeConns), 'active connections summed');
  t.equal(sample(v, 'node_ipvs_backend_connections_inactive', backend), sum((s) => s.services[0]!.dests[0]!.inactConns), 'inactive connections summed');
  t.equal((sample(v, 'node_ipvs_backend_connections_active', backend) ?? 0) + (sample(v, 'node_ipvs_backend_connections_inactive', backend) ?? 0), flows.length, 'every flow is one of them');
  t.equal(sample(v, 'node_ipvs_backend_weight', backend), 2, 'the weight as configured (not summed)');
  // the deleted UDP service's connections, retired in each worker, still count
  t.equal(sample(v, 'node_ipvs_connections_total'), flows.length + 4, 'node_ipvs_connections_total: both workers, deleted service included');
  t.equal(sample(v, 'tunvs_scheduler_decisions_total', { result: 'bound' }), flows.length + 4);
  t.equal(sample(v, 'tunvs_packets_total', { direction: 'rx' }), sum((s) => s.stats.rxPackets ?? 0), 'director packets summed');
  t.equal(sample(v, 'tunvs_drops_total', { reason: 'no_service' }), sum((s) => s.stats.noService ?? 0));
  t.ok((sample(v, 'tunvs_drops_total', { reason: 'no_service' }) ?? 0) >= 1, 'the drop on worker 1 is there');
  t.equal(sample(v, 'tunvs_conntrack_capacity'), sum((s) => s.stats.connCapacity ?? 0) || 2 * 4096, 'capacity: both shards');
  t.equal(sample(v, 'tunvs_conntrack_entries', { proto: 'TCP', state: 'SYN_RECV' }), flows.length, 'entries by state: both tables');
  t.equal(sample(v, 'tunvs_conntrack_events_total', { event: 'inserted' }), flows.length + 4);
  for (const w of ['0', '1']) {
    const rx = sample(v, 'tunvs_link_packets_total', { worker: w, direction: 'rx' });
    t.ok(rx !== undefined && rx > 0, `link counters of worker ${w}, labelled with it`);
  }
});

t.test('link counters read through getters (the kernel-bypass links) reach the snapshot as numbers', async (t) => {
  const { Collector } = await import('@tunvs/metrics');
  const { Director } = await import('@tunvs/engine');
  const { MemoryLink } = await import('@tunvs/link');
  class Getters {
    constructor(private readonly read: () => number) {}
    get rxPackets(): number { return this.read(); }
    get rxBytes(): number { return 2 * this.read(); }
    get rxBatches(): number { return 1; }
    get txPackets(): number { return 3; }
    get txBytes(): number { return 4; }
    get txDropped(): number { return 5; }
    get txErrors(): number { return 6; }
    get rxErrors(): number { return 7; }
  }
  const link = new MemoryLink('tap', 1500, 'm0');
  const director = new Director({ links: [link], mac: Uint8Array.from(MAC), addresses: [{ addr: '10.9.0.1', prefix: 24 }], connCapacity: 1024 });
  t.teardown(() => director.stop());
  const c = new Collector({ director, links: () => [{ name: 'x0', counters: new Getters(() => 11) }], worker: 3 });
  const snap = await c.snapshot({ conntrack: false });
  t.same(snap.scalars.links, [{ name: 'x0', queue: 0, worker: 3, rxPackets: 11, rxBytes: 22, rxBatches: 1, txPackets: 3, txBytes: 4, txDropped: 5, txErrors: 6, rxErrors: 7 }]);
  t.doesNotThrow(() => structuredClone(snap.scalars), 'the snapshot can be posted to another thread');
});
