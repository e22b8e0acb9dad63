// tshark agrees: packets we emit (and rewrite) are written to pcap files and dissected by
// tshark with checksum verification on. No frame may be malformed, carry an expert
// error, or have a bad IP/TCP/UDP/ICMP checksum. Fails (does not skip) without tshark.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArpOp, IcmpType, IcmpUnreachCode, IcmpTimeExceededCode, LinkType, decTtl, emitArpReply, emitGratuitousArp, emitIcmpError,
  natRewriteDst, natRewriteSrc, natRewriteQuoteSrc, packet, parseIpv4, parseMac, readPcap, writePcap,
} from '../src/index.js';

const MAC_A = parseMac('02:00:00:00:00:0a');
const MAC_B = parseMac('02:00:00:00:00:0b');
const CIP = '192.0.2.10';
const VIP = '198.51.100.1';
const RIP = '10.0.0.11';

/** IPv4 packets (no link header) covering every protocol and rewrite. */
function ipPackets(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  const syn = packet().ipv4({ src: CIP, dst: VIP, id: 1, df: true })
    .tcp({ sport: 40000, dport: 80, seq: 1000, flags: 'S', window: 64240, options: new Uint8Array([2, 4, 5, 0xb4]) }).build();
  out.push({ name: 'tcp syn', bytes: syn });
  const synNat = syn.slice();
  natRewriteDst(synNat, 0, parseIpv4(RIP), 8080);
  decTtl(synNat, 0);
  out.push({ name: 'tcp syn after DNAT + TTL', bytes: synNat });
  const data = packet().ipv4({ src: RIP, dst: CIP, id: 2 })
    .tcp({ sport: 8080, dport: 40000, seq: 5000, ack: 1001, flags: 'PA' }).payload('HTTP/1.1 200 OK\r\n\r\n').build();
  const dataNat = data.slice();
  natRewriteSrc(dataNat, 0, parseIpv4(VIP), 80);
  out.push({ name: 'tcp data after SNAT', bytes: dataNat });
  const udp = packet().ipv4({ src: CIP, dst: VIP, id: 3 }).udp({ sport: 41000, dport: 41001 }).payload('query').build();
  out.push({ name: 'udp', bytes: udp });
  const udpNat = udp.slice();
  natRewriteDst(udpNat, 0, parseIpv4(RIP), 41002);
  out.push({ name: 'udp after DNAT', bytes: udpNat });
  const udp0 = packet().ipv4({ src: CIP, dst: VIP, id: 4 }).udp({ sport: 1000, dport: 2000, checksum: false }).payload(10).build();
  natRewriteDst(udp0, 0, parseIpv4(RIP), 2001);
  out.push({ name: 'udp zero checksum after DNAT', bytes: udp0 });
  const opts = packet().ipv4({ src: CIP, dst: VIP, id: 5, ttl: 1, options: new Uint8Array([0x94, 4, 0, 0]) })
    .udp({ sport: 7, dport: 7 }).payload(4).build();
  out.push({ name: 'ipv4 options + udp', bytes: opts });
  out.push({ name: 'icmp echo request', bytes: packet().ipv4({ src: CIP, dst: VIP, id: 6 }).icmp({ type: IcmpType.EchoRequest, id: 77, seq: 1 }).payload(32).build() });
  out.push({ name: 'icmp echo reply', bytes: packet().ipv4({ src: VIP, dst: CIP, id: 7 }).icmp({ type: IcmpType.EchoReply, id: 77, seq: 1 }).payload(32).build() });
  const buf = new Uint8Array(200);
  const big = packet().ipv4({ src: CIP, dst: VIP, id: 8, df: true }).udp({ sport: 3000, dport: 4000 }).payload(1400).build();
  let n = emitIcmpError(buf, 0, big, 0, big.length, IcmpType.DestUnreachable, IcmpUnreachCode.FragNeeded, parseIpv4(VIP), 1200);
  out.push({ name: 'icmp frag needed', bytes: buf.slice(0, n) });
  n = emitIcmpError(buf, 0, udp, 0, udp.length, IcmpType.DestUnreachable, IcmpUnreachCode.Port, parseIpv4(VIP));
  out.push({ name: 'icmp port unreachable', bytes: buf.slice(0, n) });
  n = emitIcmpError(buf, 0, syn, 0, syn.length, IcmpType.TimeExceeded, IcmpTimeExceededCode.TtlExceeded, parseIpv4('10.255.0.1'));
  out.push({ name: 'icmp time exceeded', bytes: buf.slice(0, n) });
  // an ICMP error from a real server about a reply, NATed back towards the client
  n = emitIcmpError(buf, 0, data, 0, data.length, IcmpType.DestUnreachable, IcmpUnreachCode.Host, parseIpv4(RIP));
  const rel = buf.slice(0, n);
  natRewriteQuoteSrc(rel, 20, n - 20, parseIpv4(VIP), 80);
  natRewriteSrc(rel, 0, parseIpv4(VIP), 0);
  out.push({ name: 'icmp error with rewritten quote', bytes: rel });
  return out;
}

function ethFrames(ips: { name: string; bytes: Uint8Array }[]): { name: string; bytes: Uint8Array }[] {
  const out = ips.map((p, i) => ({
    name: p.name,
    bytes: packet().eth({ src: MAC_A, dst: MAC_B, etherType: 0x0800, ...(i % 3 === 0 ? { vlan: 42 } : {}) }).payload(p.bytes).build(),
  }));
  const req = packet().eth({ src: MAC_A, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: ArpOp.Request, senderMac: MAC_A, senderIp: CIP, targetIp: VIP }).build();
  out.push({ name: 'arp request', bytes: req });
  const rep = new Uint8Array(42);
  emitArpReply(rep, 0, req, 14, MAC_B);
  out.push({ name: 'arp reply', bytes: rep });
  const g = new Uint8Array(42);
  emitGratuitousArp(g, 0, MAC_B, parseIpv4('198.51.100.2'));
  out.push({ name: 'gratuitous arp', bytes: g });
  return out;
}

const FIELDS = ['frame.number', 'frame.protocols', 'ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status',
  'icmp.checksum.status', '_ws.malformed', '_ws.expert.severity'];

function tshark(file: string): { ok: true; rows: string[][] } | { ok: false; msg: string } {
  const args = ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
    '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  if (r.error) return { ok: false, msg: `tshark could not be run (${r.error.message}); install it: apt-get install tshark` };
  if (r.status !== 0) return { ok: false, msg: `tshark exited ${r.status}: ${r.stderr}` };
  return { ok: true, rows: r.stdout.trim().split('\n').map((l) => l.split('\t')) };
}

// Expert severity values (epan/proto.h): error = 0x00800000.
const PI_ERROR = 0x00800000;

function verify(t: Test, file: string, names: string[], expectProto: (name: string) => string[]): void {
  const res = tshark(file);
  if (!res.ok) {
    t.fail(res.msg);
    return;
  }
  t.equal(res.rows.length, names.length, 'tshark read every frame');
  res.rows.forEach((row, i) => {
    const [, protos = '', ipSt = '', tcpSt = '', udpSt = '', icmpSt = '', malformed = '', severity = ''] = row;
    const name = names[i]!;
    t.equal(malformed, '', `${name}: not malformed`);
    const sev = severity.split(',').filter(Boolean).map(Number);
    t.ok(sev.every((s) => s < PI_ERROR), `${name}: no expert error (${severity})`);
    for (const [proto, st] of [['ip', ipSt], ['tcp', tcpSt], ['udp', udpSt], ['icmp', icmpSt]] as const) {
      const all = st.split(',').filter(Boolean);
      t.notOk(all.includes('0'), `${name}: no bad ${proto} checksum (${st})`);
    }
    // the outer header's checksums were actually verified (1 = good)
    if (protos.includes(':ip')) t.equal(ipSt.split(',')[0], '1', `${name}: ip checksum verified good`);
    for (const p of expectProto(name)) t.ok(protos.split(':').includes(p), `${name}: dissected as ${p} (${protos})`);
    if (/^tcp/.test(name)) t.equal(tcpSt, '1', `${name}: tcp checksum verified good`);
    if (/^udp(?! zero)|options/.test(name)) t.equal(udpSt, '1', `${name}: udp checksum verified good`);
    if (/^icmp/.test(name)) t.equal(icmpSt.split(',')[0], '1', `${name}: icmp checksum good`);
  });
}

function protosFor(name: string): string[] {
  if (name.startsWith('arp') || name.startsWith('gratuitous')) return ['arp'];
  if (name.startsWith('tcp')) return ['ip', 'tcp'];
  if (name.startsWith('udp') || name.includes('options')) return ['ip', 'udp'];
  return ['ip', 'icmp'];
}

t.test('tshark: raw IPv4 capture (linktype 101) has no malformed packet and no bad checksum', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-tshark-'));
  try {
    const ips = ipPackets();
    const file = join(dir, 'raw.pcap');
    writePcap(file, ips.map((p) => p.bytes), LinkType.Raw);
    t.equal(readPcap(file).records.length, ips.length);
    verify(t, file, ips.map((p) => p.name), protosFor);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.end();
});

t.test('tshark: Ethernet capture (linktype 1, some VLAN-tagged, ARP) has no malformed packet and no bad checksum', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-tshark-'));
  try {
    const frames = ethFrames(ipPackets());
    const file = join(dir, 'eth.pcap');
    writePcap(file, frames.map((p) => p.bytes), LinkType.Ethernet);
    verify(t, file, frames.map((p) => p.name), (n) => [...protosFor(n), 'eth']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.end();
});

t.test('tshark sees a deliberately broken checksum (the check is live)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-tshark-'));
  try {
    const bad = packet().ipv4({ src: CIP, dst: VIP }).tcp({ sport: 1, dport: 2, checksum: 0x1234 }).build();
    const file = join(dir, 'bad.pcap');
    writePcap(file, [bad], LinkType.Raw);
    const res = tshark(file);
    if (!res.ok) t.fail(res.msg);
    else t.equal(res.rows[0]![3], '0', 'tcp.checksum.status is bad');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.end();
});
