/**
 * trace-from-pcap: on the committed lab capture (packages/sched-lab/examples/lab-capture,
 * made by make-capture.mjs: tunvsd with wlc 1/2/3 and rr, tcpdump on its TUN device) it
 * yields the expected lines (golden), and replaying them gives exactly what the live
 * director decided (learned from the same capture) and the distribution the client saw.
 * The same from its pcapng conversion. Small synthetic captures cover resets, port reuse,
 * retransmitted SYNs, UDP idle expiry, long flows, Ethernet and IPIP captures, headers-only
 * records.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LinkType, packet, pcapBytes, writePcap } from '@tunvs/packet';
import type { PcapFrame } from '@tunvs/packet';
import { replay } from '@tunvs/replay';
import { pcapToTrace, PcapTraceError } from '../src/index.js';
import { writeFileSync } from 'node:fs';

const ex = dirname(createRequire(import.meta.url).resolve('@tunvs/sched-lab/examples/lab-capture/capture.pcap'));
const client = JSON.parse(readFileSync(join(ex, 'client.json'), 'utf8')) as {
  scheduler: string;
  weights: number[];
  servers: { name: string; ip: string }[];
  http: { port: number; server: string }[];
  udp: { port: number; server: string }[];
};
const dir = mkdtempSync(join(tmpdir(), 'tunvs-pcaptrace-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const lines = (f: string): string[] => readFileSync(f, 'utf8').split('\n').filter(Boolean);
const VIP = '10.10.0.100';

function replayed(trace: string[]): { n: number; dest: string | null }[] {
  const out: string[] = [];
  replay(trace, (l) => out.push(l));
  return out.map((l) => JSON.parse(l) as { n: number; dest: string | null });
}

function byServerName(dests: (string | null)[]): Record<string, number> {
  const name = new Map(client.servers.map((s) => [s.ip, s.name]));
  const out: Record<string, number> = {};
  for (const d of dests) {
    const n = d === null ? 'none' : name.get(d.split(':')[0]!)!;
    out[n] = (out[n] ?? 0) + 1;
  }
  return out;
}

function count(xs: { server: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x.server] = (out[x.server] ?? 0) + 1;
  return out;
}

const tcpOpts = { vip: `${VIP}:80`, proto: 'tcp' as const, scheduler: 'wlc', dests: client.servers.map((s, i) => `${s.ip}:80@${client.weights[i]}`) };
const udpOpts = { vip: `${VIP}:7`, proto: 'udp' as const, scheduler: 'rr', dests: client.servers.map((s) => `${s.ip}:7`) };

t.test('the lab capture: the expected lines (golden), and the replay decides as the live director did', async (t) => {
  const r = pcapToTrace(join(ex, 'capture.pcap'), tcpOpts);
  t.same(r.lines, lines(join(ex, 'trace.jsonl')), 'golden trace');
  t.equal(r.stats.connects, client.http.length, 'one connect per HTTP connection the client made');
  t.equal(r.stats.closes, client.http.length);
  t.same(r.live.map((d, n) => JSON.stringify({ n, dest: d })), lines(join(ex, 'live.jsonl')), 'the live decisions (golden)');
  t.notOk(r.live.includes(null), 'the TUN capture shows every live decision');
  const rep = replayed(r.lines);
  t.same(rep.map((x) => x.dest), r.live, 'the replay takes the live decision for every connection');
  t.same(byServerName(rep.map((x) => x.dest)), count(client.http), 'and so the distribution the client saw');
  // connection by connection against what the client saw (its port -> the server that answered)
  const byPort = new Map(client.http.map((h) => [h.port, h.server]));
  const connects = r.lines.filter((l) => l.includes('"connect"')).map((l) => Number((JSON.parse(l) as { client: string }).client.split(':')[1]));
  t.same(connects.map((p) => byPort.get(p)), rep.map((x) => client.servers.find((s) => x.dest!.startsWith(s.ip + ':'))!.name), 'connection by connection');
});

t.test('the lab capture, UDP: flows become connects; the replay decides as live', async (t) => {
  const r = pcapToTrace(join(ex, 'capture.pcap'), udpOpts);
  t.same(r.lines, lines(join(ex, 'trace-udp.jsonl')), 'golden trace');
  t.equal(r.stats.connects, client.udp.length);
  t.same(replayed(r.lines).map((x) => x.dest), r.live);
  t.same(byServerName(r.live), count(client.udp));
});

t.test('pcapng: the same capture converted by editcap gives the same lines', { skip: spawnSync('editcap', ['-h']).error ? 'editcap not installed' : false }, async (t) => {
  const ng = join(dir, 'capture.pcapng');
  const e = spawnSync('editcap', ['-F', 'pcapng', join(ex, 'capture.pcap'), ng]);
  t.equal(e.status, 0, String(e.stderr));
  const r = pcapToTrace(ng, tcpOpts);
  t.equal(r.stats.format, 'pcapng');
  t.same(r.lines, lines(join(ex, 'trace.jsonl')));
});

// ---- synthetic captures
const C = '192.0.2.10';
const tcp = (src: string, sport: number, dst: string, dport: number, flags: string) => packet().ipv4({ src, dst }).tcp({ sport, dport, flags }).build();
const udp = (src: string, sport: number, dst: string, dport: number) => packet().ipv4({ src, dst }).udp({ sport, dport }).build();
const cap = (name: string, frames: PcapFrame[], linktype: number = LinkType.Raw): string => {
  const f = join(dir, name);
  writePcap(f, frames, linktype);
  return f;
};
const ops = (ls: string[]) => ls.map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('TCP: handshake, FIN, RST, a retransmitted SYN, port reuse', async (t) => {
  const f = cap('tcp.pcap', [
    { data: tcp(C, 1000, VIP, 80, 'S'), time: 10 },
    { data: tcp(C, 1000, VIP, 80, 'S'), time: 10.5 }, // retransmission: no second connect
    { data: tcp(VIP, 80, C, 1000, 'SA'), time: 10.6 },
    { data: tcp(C, 1000, VIP, 80, 'A'), time: 10.7 },
    { data: tcp(C, 1001, VIP, 80, 'S'), time: 11 },
    { data: tcp(VIP, 80, C, 1001, 'R'), time: 11.25 },
    { data: tcp(C, 1000, VIP, 80, 'FA'), time: 12 },
    { data: tcp(VIP, 80, C, 1000, 'FA'), time: 12.1 },
    { data: tcp(C, 1000, VIP, 80, 'S'), time: 13 }, // the port again: a new connection
    { data: tcp(C, 2000, '10.9.9.9', 80, 'S'), time: 13.5 }, // elsewhere: not a line (it could be a director's copy)
  ]);
  const r = pcapToTrace(f, { vip: `${VIP}:80` });
  t.same(ops(r.lines), [
    { op: 'connect', client: `${C}:1000` },
    { op: 'advance', seconds: 0.7 },
    { op: 'packet', n: 0 },
    { op: 'advance', seconds: 0.3 },
    { op: 'connect', client: `${C}:1001` },
    { op: 'advance', seconds: 0.25 },
    { op: 'close', rst: true, n: 1 },
    { op: 'advance', seconds: 0.75 },
    { op: 'close', n: 0 },
    { op: 'advance', seconds: 1 },
    { op: 'connect', client: `${C}:1000` },
  ]);
  t.equal(r.stats.packets, 9, 'the packets of the service');
  t.same(r.live, [null, null, null], 'a client-side capture does not show the live decisions');
});

t.test('UDP: a flow is one connect until it is idle longer than the timeout', async (t) => {
  const frames: PcapFrame[] = [];
  for (let s = 0; s <= 400; s += 100) frames.push({ data: udp(C, 5000, VIP, 53), time: s }); // one long flow
  frames.push({ data: udp(VIP, 53, C, 5000), time: 401 });
  frames.push({ data: udp(C, 5000, VIP, 53), time: 1000 }); // 599 s later: expired, a new flow
  const r = pcapToTrace(cap('udp.pcap', frames), { vip: `${VIP}:53`, proto: 'udp', udpTimeout: 300 });
  const o = ops(r.lines);
  t.same(o.filter((x) => x['op'] === 'connect').length, 2);
  // the long flow's entry is kept alive before the replay would expire it, and at its last packet
  t.ok(o.some((x) => x['op'] === 'packet'), 'packet lines keep the replay entry alive');
  const rep = replayed(['{"op":"service","scheduler":"rr","proto":"udp","vip":"10.10.0.100","port":53}', '{"op":"add","dest":"10.0.0.1:53"}', '{"op":"add","dest":"10.0.0.2:53"}', ...r.lines]);
  t.same(rep.map((x) => x.dest), ['10.0.0.2:53', '10.0.0.1:53'], 'rr: the second flow is a new decision');
});

t.test('Ethernet and headers-only captures; IPIP shows the live decision; options are checked', async (t) => {
  const eth = (ip: Uint8Array): Uint8Array => {
    const f = new Uint8Array(14 + ip.length);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    f.set(ip, 14);
    return f;
  };
  const syn = tcp(C, 1000, VIP, 80, 'S');
  const r = pcapToTrace(cap('eth.pcap', [{ data: eth(syn), time: 1 }], LinkType.Ethernet), { vip: `${VIP}:80` });
  t.same(ops(r.lines), [{ op: 'connect', client: `${C}:1000` }]);
  // a record cut by the snap length: the headers are enough
  const big = packet().ipv4({ src: C, dst: VIP }).tcp({ sport: 1000, dport: 80, flags: 'S' }).payload(new Uint8Array(1000)).build();
  const bytes = pcapBytes([{ data: big, time: 1 }], LinkType.Raw);
  const cut = new Uint8Array(24 + 16 + 100);
  cut.set(bytes.subarray(0, 24));
  cut.set(bytes.subarray(24, 40), 24);
  new DataView(cut.buffer).setUint32(24 + 8, 100, true); // included length 100, original length stays 1040
  cut.set(big.subarray(0, 100), 40);
  const cf = join(dir, 'cut.pcap');
  writeFileSync(cf, cut);
  t.equal(pcapToTrace(cf, { vip: `${VIP}:80` }).stats.connects, 1, 'headers-only record');
  // IPIP: the director's copy to the real server 10.0.0.7 in the outer header
  const inner = tcp(C, 1000, VIP, 80, 'S');
  const outer = packet().ipv4({ src: '10.0.0.1', dst: '10.0.0.7', protocol: 4 }).payload(inner).build();
  const ip = pcapToTrace(cap('ipip.pcap', [{ data: syn, time: 1 }, { data: outer, time: 1.001 }]), { vip: `${VIP}:80` });
  t.same(ip.live, ['10.0.0.7:80']);
  t.throws(() => pcapToTrace(cf, { vip: '10.10.0.100' }), PcapTraceError);
  t.throws(() => pcapToTrace(cf, { vip: `${VIP}:80`, dests: ['10.0.0.1:80'] }), /--dest needs --scheduler/);
});
