// A differential fuzz of the code that runs: 120,000 seeded random and mutated frames go,
// one by one, both into a Director on a MemoryLink (TUN with NAT, IPIP and local services;
// TAP with DR, NAT and IPIP) and into classifyFrame with the link's checks.
// - A frame the parser refuses is dropped and counted under exactly the reason
//   classifyFrame gives; a frame it accepts moves no malformed counter.
// - Every frame the Director sends parses; when the input was valid with every checksum
//   verified, the output is too (an IPIP packet's inner packet included). A sample of
//   those is written to pcap files and checked by tshark with checksum validation on.
// TUNVS_FUZZ_DEBUG=1 prints the frames of every disagreement as hex.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLink } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import {
  CheckFlags, EtherType, FrameInfo, FrameKind, IcmpType, IcmpView, Ipv4View, LinkType, REASON_COUNT, TcpView, UdpView,
  classifyFrame, packet, parseMac, quoteOf, reasonName, writePcap,
} from '@tunvs/packet';
import { seededRandom } from '@tunvs/scheduler';
import { Director } from '../src/index.js';

const MAC = '02:00:00:00:00:01';
const CLIENT_MAC = '02:00:00:00:00:02';
const VIP = '10.10.0.100';
const VIP2 = '10.10.0.101';
const VIP3 = '10.10.0.102';
const CLIENT = '10.10.0.2';
const FRAMES_PER_LINK = 60_000;
const TSHARK_SAMPLE = 400;

/** The Director under test on one kind of link, with its services and neighbours. */
function director(kind: 'tun' | 'tap'): { d: Director; link: MemoryLink; checks: number } {
  const link = new MemoryLink(kind, 1500);
  const d = new Director({
    links: [link], timers: false, now: () => 1_000_000, connCapacity: 1 << 17, sourceAddress: '10.10.1.1',
    ...(kind === 'tap' ? { mac: parseMac(MAC), addresses: [{ addr: '10.10.0.1', prefix: 24 }, { addr: '10.10.1.1', prefix: 24 }] } : {}),
  });
  d.start();
  const web = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  const dns = { protocol: 'udp' as const, addr: VIP, port: 9000 };
  const tunnel = { protocol: 'tcp' as const, addr: VIP2, port: 80 };
  d.addService({ ...web, scheduler: 'rr' });
  d.addService({ ...dns, scheduler: 'rr' });
  d.addService({ ...tunnel, scheduler: 'rr' });
  if (kind === 'tap') {
    d.addDest(web, { addr: '10.10.0.11', port: 80, method: 'route' });
    d.addDest(web, { addr: '10.10.0.12', port: 80, method: 'route' });
    d.addDest(dns, { addr: '10.10.1.21', port: 9001, method: 'masq' });
    d.addDest(tunnel, { addr: '10.10.1.22', port: 80, method: 'tunnel' });
    // every neighbour announces itself, so forwarded frames go out rather than wait for ARP
    const hosts: [string, string][] = [[CLIENT_MAC, CLIENT], ['02:00:00:00:00:11', '10.10.0.11'], ['02:00:00:00:00:12', '10.10.0.12'], ['02:00:00:00:01:21', '10.10.1.21'], ['02:00:00:00:01:22', '10.10.1.22']];
    for (const [mac, ip] of hosts) {
      const owner = ip.startsWith('10.10.1.') ? '10.10.1.1' : '10.10.0.1';
      link.receive(packet().eth({ src: mac, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: mac, senderIp: ip, targetIp: owner }).build());
    }
  } else {
    d.addDest(web, { addr: '10.10.1.11', port: 8080, method: 'masq' });
    d.addDest(web, { addr: '10.10.1.12', port: 8080, method: 'masq' });
    d.addDest(dns, { addr: '10.10.1.21', port: 9001, method: 'masq' });
    d.addDest(tunnel, { addr: '10.10.1.22', port: 80, method: 'tunnel' });
    const local = { protocol: 'tcp' as const, addr: VIP3, port: 80 };
    d.addService(local);
    d.addDest(local, { addr: '10.10.1.1', port: 8080, method: 'local' });
  }
  link.drain();
  const checks = kind === 'tap' ? CheckFlags.IpChecksum | CheckFlags.IcmpChecksum : CheckFlags.IcmpChecksum;
  return { d, link, checks };
}

/** Valid IPv4 packets around the director's services: both directions, errors, fragments. */
function seedPackets(kind: 'tun' | 'tap'): Uint8Array[] {
  const rs = kind === 'tap' ? '10.10.0.11' : '10.10.1.11';
  const rsPort = kind === 'tap' ? 80 : 8080;
  const syn = packet().ipv4({ src: CLIENT, dst: VIP, df: true }).tcp({ sport: 40000, dport: 80, flags: 'S', options: Uint8Array.of(2, 4, 5, 0xb4) }).build();
  const reply = packet().ipv4({ src: VIP, dst: CLIENT }).tcp({ sport: 80, dport: 40000, flags: 'SA' }).build();
  const toRs = packet().ipv4({ src: CLIENT, dst: rs, ttl: 63 }).tcp({ sport: 40000, dport: rsPort, flags: 'S' }).build();
  const seeds = [
    syn,
    packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'PA' }).payload('GET / HTTP/1.0\r\n\r\n').build(),
    packet().ipv4({ src: CLIENT, dst: VIP, ttl: 1 }).tcp({ sport: 40001, dport: 80, flags: 'S' }).build(),
    packet().ipv4({ src: rs, dst: CLIENT }).tcp({ sport: rsPort, dport: 40000, flags: 'SA' }).build(),
    packet().ipv4({ src: CLIENT, dst: VIP }).udp({ sport: 5000, dport: 9000 }).payload('query').build(),
    packet().ipv4({ src: CLIENT, dst: VIP }).udp({ sport: 5001, dport: 9000, checksum: false }).payload(12).build(),
    packet().ipv4({ src: '10.10.1.21', dst: CLIENT }).udp({ sport: 9001, dport: 5000 }).payload('answer').build(),
    packet().ipv4({ src: CLIENT, dst: VIP2, df: true }).tcp({ sport: 41000, dport: 80, flags: 'S' }).build(),
    packet().ipv4({ src: CLIENT, dst: VIP2, df: true }).tcp({ sport: 41000, dport: 80, flags: 'A' }).payload(1460).build(),
    packet().ipv4({ src: CLIENT, dst: VIP3 }).tcp({ sport: 42000, dport: 80, flags: 'S' }).build(),
    packet().ipv4({ src: '192.0.2.1', dst: VIP }).icmp({ type: IcmpType.DestUnreachable, code: 1 }).payload(quoteOf(reply)).build(),
    packet().ipv4({ src: rs, dst: CLIENT }).icmp({ type: IcmpType.DestUnreachable, code: 3 }).payload(quoteOf(toRs)).build(),
    packet().ipv4({ src: CLIENT, dst: VIP }).icmp({ type: IcmpType.EchoRequest, id: 9, seq: 1 }).payload(24).build(),
    packet().ipv4({ src: CLIENT, dst: '10.10.0.1' }).icmp({ type: IcmpType.EchoRequest, id: 9, seq: 2 }).payload(8).build(),
    packet().ipv4({ src: CLIENT, dst: VIP, mf: true, id: 77 }).tcp({ sport: 40000, dport: 80, flags: 'A' }).payload(64).build(),
    packet().ipv4({ src: CLIENT, dst: VIP, fragOffset: 11, id: 77, protocol: Proto.TCP }).payload(40).build(),
    packet().ipv4({ src: CLIENT, dst: VIP, protocol: Proto.GRE }).payload(24).build(),
    packet().ipv4({ src: CLIENT, dst: '10.10.0.99' }).tcp({ sport: 1, dport: 80, flags: 'S' }).build(),
  ];
  return seeds;
}

function seedFrames(kind: 'tun' | 'tap'): Uint8Array[] {
  const ips = seedPackets(kind);
  if (kind === 'tun') return ips;
  const out = ips.map((ip, i) => packet().eth({ src: CLIENT_MAC, dst: MAC, etherType: EtherType.Ipv4, ...(i % 5 === 0 ? { vlan: 7 } : {}) }).payload(ip).build());
  out.push(packet().eth({ src: CLIENT_MAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP }).build());
  out.push(packet().eth({ src: CLIENT_MAC, dst: '02:00:00:00:00:99' }).ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 3, dport: 80, flags: 'S' }).build());
  return out;
}

const scratch = new FrameInfo();
const ipView = new Ipv4View();
const tcpView = new TcpView();
const udpView = new UdpView();
const icmpView = new IcmpView();

/** Make every checksum of `f` right again, where its structure allows. */
function fixChecksums(f: Uint8Array, kind: 'tun' | 'tap'): void {
  if (classifyFrame(f, 0, f.length, kind, scratch, CheckFlags.None) !== 0 || scratch.kind !== FrameKind.Ipv4) return;
  const i = scratch;
  ipView.reset(f, i.l3Off, i.ipHeaderLen).fillChecksum();
  if (i.l4Off < 0 || i.fragment) return;
  if (i.proto === Proto.TCP) tcpView.reset(f, i.l4Off, i.l4Len).fillChecksum(i.src, i.dst);
  else if (i.proto === Proto.UDP && udpView.reset(f, i.l4Off, i.l4Len).checksum !== 0) udpView.fillChecksum(i.src, i.dst);
  else if (i.proto === Proto.ICMP) {
    // an error's quoted header first: the ICMP checksum covers it
    if (i.quoteOff >= 0) ipView.reset(f, i.quoteOff, i.quoteLen).fillChecksum();
    icmpView.reset(f, i.l4Off, i.l4Len).fillChecksum();
  }
}

/** The next fuzz frame: a seed as it is, with new ports, mutated (checksums fixed or not), or random. */
function nextFrame(rand: () => number, seeds: Uint8Array[], kind: 'tun' | 'tap'): Uint8Array {
  const mode = rand();
  if (mode < 0.08) {
    const n = Math.floor(rand() * 120);
    const f = new Uint8Array(n);
    for (let k = 0; k < n; k++) f[k] = Math.floor(rand() * 256);
    if (n > 0 && kind === 'tun' && rand() < 0.6) f[0] = 0x45;
    return f;
  }
  const s = seeds[Math.floor(rand() * seeds.length)]!;
  let f = Uint8Array.from(s);
  if (mode < 0.35) {
    // the seed with another client port: new flows, ports of no connection
    if (classifyFrame(f, 0, f.length, kind, scratch, CheckFlags.None) === 0 && scratch.srcPort !== 0) {
      const p = scratch.l4Off;
      const port = 1024 + Math.floor(rand() * 60000);
      f[p] = port >>> 8;
      f[p + 1] = port & 0xff;
      fixChecksums(f, kind);
    }
    return f;
  }
  const m = rand();
  if (m < 0.25) f = f.slice(0, Math.floor(rand() * (f.length + 1)));
  else if (m < 0.35) {
    const g = new Uint8Array(f.length + 1 + Math.floor(rand() * 16));
    g.set(f);
    f = g;
  } else if (m < 0.8) {
    const flips = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < flips && f.length > 0; k++) f[Math.floor(rand() * f.length)]! ^= 1 << Math.floor(rand() * 8);
  } else if (f.length > 0) f[Math.floor(rand() * f.length)] = rand() < 0.5 ? 0 : 0xff;
  if (rand() < 0.6) fixChecksums(f, kind);
  return f;
}

/** Verdict code of `fullyValid` for a quoted IPv4 header whose checksum is wrong. */
const BAD_QUOTE = -1;

/**
 * The frame's verdict with every checksum verified: the outer ones, an IPIP packet's inner
 * packet, the quoted header of an ICMP error.
 */
function fullyValid(f: Uint8Array, kind: 'tun' | 'tap'): number {
  let r = classifyFrame(f, 0, f.length, kind, scratch, CheckFlags.All);
  if (r === 0 && scratch.kind === FrameKind.Ipv4 && scratch.proto === Proto.IPIP && scratch.l4Off >= 0) {
    r = classifyFrame(f, scratch.l4Off, scratch.l4Len, 'tun', scratch, CheckFlags.All);
  }
  if (r === 0 && scratch.quoteOff >= 0 && !ipView.reset(f, scratch.quoteOff, scratch.quoteLen).verifyChecksum()) return BAD_QUOTE;
  return r;
}

for (const kind of ['tun', 'tap'] as const) {
  t.test(`${kind}: ${FRAMES_PER_LINK} fuzz frames, the Director and classifyFrame agree`, (t) => {
    const { d, link, checks } = director(kind);
    const seeds = seedFrames(kind);
    const rand = seededRandom(kind === 'tun' ? 0x5eed1 : 0x5eed2);
    const info = new FrameInfo();
    const byReason = new Array<number>(REASON_COUNT).fill(0);
    const problems: string[] = [];
    const sample: Uint8Array[] = [];
    let forwarded = 0;
    let checked = 0;
    let validIn = 0;
    for (let n = 0; n < FRAMES_PER_LINK; n++) {
      const f = nextFrame(rand, seeds, kind);
      const want = classifyFrame(f, 0, f.length, kind, info, checks);
      byReason[want]!++;
      const inputValid = fullyValid(f, kind) === 0;
      if (inputValid) validIn++;
      const before = Float64Array.from(d.counters.malformed);
      link.receive(f);
      const moved: number[] = [];
      d.counters.malformed.forEach((v, i) => {
        if (v !== before[i]) moved.push(i);
      });
      if (want !== 0 ? moved.length !== 1 || moved[0] !== want || d.counters.malformed[want]! - before[want]! !== 1 : moved.length !== 0) {
        if (problems.length < 20) problems.push(`frame ${n}: classify says ${reasonName(want)}, the Director counted [${moved.map(reasonName).join(', ')}]`);
      }
      for (const o of link.drain()) {
        forwarded++;
        const structure = classifyFrame(o, 0, o.length, kind, scratch, CheckFlags.None);
        if (structure !== 0) {
          if (problems.length < 20) problems.push(`frame ${n}: an output does not parse (${reasonName(structure)})`);
          continue;
        }
        // a later fragment released by this input was held from an earlier frame: its validity is its own
        if (!inputValid || (scratch.fragOffset !== 0 && info.fragOffset === 0)) continue;
        checked++;
        const full = fullyValid(o, kind);
        if (full !== 0 && problems.length < 20) problems.push(`frame ${n}: an output of a valid input fails ${full === BAD_QUOTE ? 'its quoted header checksum' : reasonName(full)}` + (process.env.TUNVS_FUZZ_DEBUG ? ` in ${Buffer.from(f).toString('hex')} out ${Buffer.from(o).toString('hex')}` : ''));
        if (full === 0 && sample.length < TSHARK_SAMPLE && (n & 7) === 0) sample.push(o);
      }
    }
    t.same(problems, [], 'no disagreement, no invalid output');
    const seen = byReason.map((c, i) => [reasonName(i), c] as const).filter(([, c]) => c > 0);
    t.comment(`verdicts: ${JSON.stringify(Object.fromEntries(seen))}; ${validIn} fully valid inputs, ${forwarded} frames sent, ${checked} checked with every checksum`);
    t.ok(seen.length >= 14, `many distinct verdicts (${seen.length})`);
    t.ok(byReason[0]! > FRAMES_PER_LINK / 4, 'a fair share of the frames is valid');
    t.ok(checked > FRAMES_PER_LINK / 10, `many outputs checked with every checksum (${checked})`);
    t.ok(d.counters.txPackets > 0 && d.conns.size > 100, 'flows were forwarded and connections made');

    // tshark's verdict on a sample of the outputs
    const dir = mkdtempSync(join(tmpdir(), 'ldp-fuzz-'));
    try {
      const file = join(dir, `${kind}.pcap`);
      writePcap(file, sample, kind === 'tap' ? LinkType.Ethernet : LinkType.Raw);
      const r = spawnSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
        '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,',
        '-e', 'frame.number', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', 'icmp.checksum.status', '-e', '_ws.malformed'], { encoding: 'utf8' });
      if (r.error || r.status !== 0) {
        t.fail(`tshark could not be run (${r.error?.message ?? r.stderr}); install it: apt-get install tshark`);
      } else {
        const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
        t.equal(rows.length, sample.length, `tshark read the ${sample.length} sampled frames`);
        const bad = rows.filter(([, ip = '', tcp = '', udp = '', icmp = '', malformed = '']) =>
          malformed !== '' || [ip, tcp, udp, icmp].some((s) => s.split(',').includes('0')));
        t.same(bad.map((b) => (process.env.TUNVS_FUZZ_DEBUG ? `${b.join('|')} ${Buffer.from(sample[Number(b[0]) - 1]!).toString('hex')}` : b[0])), [], 'no malformed frame, no bad checksum');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    t.end();
  });
}
