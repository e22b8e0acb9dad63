/**
 * link: the raw rate of the kernel-bypass Links against TAP, through one JS forwarder
 * (bench/link/forward.mjs: new MACs, TTL - 1, same batch written to the other side):
 *
 *   client ns --- [link A]  JS forwarder  [link B] --- server ns
 *
 *   tap      @tunvs/tuntap TAP devices, one moved into the client's namespace and one into
 *            the server's (their kernels send straight into the TAP queue): the reference
 *   tap-gso  the same with IFF_VNET_HDR and offloads (TCP crosses as 64 KB GSO frames)
 *   xdp      @tunvs/xdp AF_XDP on veth pairs, copy mode, program in the driver (native) hook,
 *            B sharing A's UMEM so frames cross without a copy in JS
 *   packet   @tunvs/xdp AF_PACKET (TPACKET_V2 rings, PACKET_QDISC_BYPASS) on the same
 *            veth pairs; an nftables netdev ingress rule keeps the host stack out
 *   packet-gso  the same with PACKET_VNET_HDR, the veth peers' offloads on (TCP crosses as
 *            64 KB GSO frames, as with tap-gso)
 *
 * Per kind: 64-byte UDP packets/s delivered to the server (bench/tuntap/gen.c, sendmmsg,
 * counted from the server's /proc/net/snmp) with what the generator offered, and one TCP
 * stream (iperf3, Gbit/s), each with the forwarder process's CPU (cores) and, for UDP,
 * packets per forwarder core (pps / CPU: the link's cost when the load, not the
 * forwarder, is the limit). Rounds interleave the kinds (rotating the order); figures are
 * medians, ratios are to `tap` of the same run (median of the per-round ratios too).
 * The forwarder runs on CPU 1, the load on CPU 0. The veth peers have TX checksum offload
 * off (frames taken by XDP or AF_PACKET never get their checksum filled in).
 *
 *   npm run bench -- link [--json] [--quick] [--profile] [KIND...]
 *   env LINK_ROUNDS (5), LINK_SECONDS (3), TUNVS_BENCH_PREFIX (namespace prefix, 'lxb-')
 *   --profile: one extra run per kind under `perf record -g` (or node --cpu-prof when perf
 *   cannot) printing the top symbols of the forwarder and of the whole machine
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Suite, SuiteOptions } from '../suite.js';
import { log, si, table } from '../suite.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const FORWARD = join(root, 'bench/link/forward.mjs');
const GEN = join(root, 'bench/tuntap/gen.c');

const KINDS = ['tap', 'tap-gso', 'xdp', 'packet', 'packet-gso'] as const;
type Kind = (typeof KINDS)[number];

const P = process.env.TUNVS_BENCH_PREFIX || 'lxb-';
// veth topology (xdp, packet) and TAP topology (tap, tap-gso)
const NS = { cx: `${P}cx`, fx: `${P}fx`, sx: `${P}sx`, ct: `${P}ct`, ft: `${P}ft`, st: `${P}st` };
const CLIENT = '10.97.1.2';
const GW_A = '10.97.1.1';
const SERVER = '10.97.2.2';
const GW_B = '10.97.2.1';
const MAC = { c: '02:97:00:00:01:02', s: '02:97:00:00:02:02', a: '02:97:00:00:01:01', b: '02:97:00:00:02:01' };
const IPERF_PORT = 5201;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sh(cmd: string, args: string[], o: { input?: string; ignore?: boolean; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: o.input, timeout: o.timeoutMs ?? 30_000 });
  if ((r.status !== 0 || r.error) && !o.ignore) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || String(r.error ?? '')).trim()}`);
  return r.stdout ?? '';
}
const ipb = (ns: string, lines: string[]): void => void sh('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
const inNs = (ns: string, cmd: string, args: string[], o: { ignore?: boolean; timeoutMs?: number } = {}): string => sh('ip', ['netns', 'exec', ns, cmd, ...args], o);

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function procTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

/** UDP datagrams that reached the server's stack (delivered + no port) */
function udpIn(ns: string): number {
  const lines = inNs(ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp:'));
  const keys = lines[0]!.split(/\s+/);
  const vals = lines[1]!.split(/\s+/);
  return Number(vals[keys.indexOf('InDatagrams')]) + Number(vals[keys.indexOf('NoPorts')]);
}

interface Sample {
  /** 64-byte UDP packets/s delivered to the server */
  pps: number;
  /** what the generator sent per second */
  offered: number;
  ppsCpu: number;
  gbps: number;
  gbpsCpu: number;
}

class LinkBench {
  readonly children = new Set<ChildProcess>();
  readonly pin = cpus().length >= 2;
  readonly work = mkdtempSync('/tmp/tunvs-link-');
  genBin = '';
  macFa = '';
  macFb = '';

  cleanup(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    this.children.clear();
    LinkBench.removeNamespaces();
    rmSync(this.work, { recursive: true, force: true });
  }

  static removeNamespaces(): void {
    const existing = sh('ip', ['netns', 'list'], { ignore: true })
      .split('\n')
      .map((l) => l.split(' ')[0]);
    for (const ns of Object.values(NS)) {
      if (!existing.includes(ns)) continue;
      for (const l of sh('ip', ['netns', 'pids', ns], { ignore: true }).split('\n')) {
        const pid = Number(l.trim());
        if (pid > 1 && pid !== process.pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      sh('ip', ['netns', 'del', ns], { ignore: true });
    }
  }

  spawnIn(ns: string, args: string[], cpu?: number): ChildProcess {
    const pre = cpu !== undefined && this.pin ? ['taskset', '-c', String(cpu)] : [];
    const c = spawn('ip', ['netns', 'exec', ns, ...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(c);
    c.on('exit', () => this.children.delete(c));
    return c;
  }

  topology(): void {
    LinkBench.removeNamespaces();
    for (const ns of Object.values(NS)) {
      sh('ip', ['netns', 'add', ns]);
      ipb(ns, ['link set lo up']);
      inNs(ns, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
    }
    ipb(NS.fx, [
      `link add fa type veth peer name c0 netns ${NS.cx}`,
      `link add fb type veth peer name s0 netns ${NS.sx}`,
      'link set fa up',
      'link set fb up',
    ]);
    inNs(NS.fx, 'sh', ['-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward']);
    const macOf = (dev: string): string => (JSON.parse(sh('ip', ['-n', NS.fx, '-j', 'link', 'show', dev])) as { address: string }[])[0]!.address;
    this.macFa = macOf('fa');
    this.macFb = macOf('fb');
    ipb(NS.cx, [`link set c0 address ${MAC.c}`, `addr add ${CLIENT}/24 dev c0`, 'link set c0 up', `route add 10.97.2.0/24 via ${GW_A}`, `neigh add ${GW_A} lladdr ${this.macFa} dev c0 nud permanent`]);
    ipb(NS.sx, [`link set s0 address ${MAC.s}`, `addr add ${SERVER}/24 dev s0`, 'link set s0 up', `route add 10.97.1.0/24 via ${GW_B}`, `neigh add ${GW_B} lladdr ${this.macFb} dev s0 nud permanent`]);
    // the servers count UDP without a listener (NoPorts) and send no port-unreachable: the
    // ICMP work would run on the forwarder's CPU (it processes the server's backlog inline)
    for (const ns of [NS.sx, NS.st]) inNs(ns, 'sh', ['-c', 'echo 0 > /proc/sys/net/ipv4/icmp_msgs_per_sec; echo 0 > /proc/sys/net/ipv4/icmp_msgs_burst']);
    // the host stack of the forwarder namespace keeps out of AF_PACKET's way
    sh('ip', ['netns', 'exec', NS.fx, 'nft', '-f', '-'], {
      input: 'table netdev lxb {\n chain a { type filter hook ingress device fa priority 0; policy drop; }\n chain b { type filter hook ingress device fb priority 0; policy drop; }\n}\n',
    });
  }

  /** After the TAP forwarder created ta/tb in ft: move them to the client/server and configure. */
  tapTopology(): void {
    ipb(NS.ft, [`link set ta netns ${NS.ct}`, `link set tb netns ${NS.st}`]);
    // the TAP queue as deep as the AF_XDP rings (2048; the TUN default is 500)
    ipb(NS.ct, [`addr add ${CLIENT}/24 dev ta`, 'link set ta txqueuelen 2048', 'link set ta up', `route add 10.97.2.0/24 via ${GW_A}`, `neigh add ${GW_A} lladdr ${MAC.a} dev ta nud permanent`]);
    ipb(NS.st, [`addr add ${SERVER}/24 dev tb`, 'link set tb txqueuelen 2048', 'link set tb up', `route add 10.97.1.0/24 via ${GW_B}`, `neigh add ${GW_B} lladdr ${MAC.b} dev tb nud permanent`]);
  }

  ns(kind: Kind): { cl: string; fw: string; sv: string } {
    return kind === 'tap' || kind === 'tap-gso' ? { cl: NS.ct, fw: NS.ft, sv: NS.st } : { cl: NS.cx, fw: NS.fx, sv: NS.sx };
  }

  async forwarder(kind: Kind, nodeArgs: string[] = []): Promise<ChildProcess> {
    const tap = kind === 'tap' || kind === 'tap-gso';
    const cfg = tap
      ? { kind, a: 'ta', b: 'tb', aPeerMac: MAC.c, bPeerMac: MAC.s, aMac: MAC.a, bMac: MAC.b, server: SERVER }
      : { kind, a: 'fa', b: 'fb', aPeerMac: MAC.c, bPeerMac: MAC.s, server: SERVER };
    if (!tap) {
      // frames taken by XDP / AF_PACKET never get a partial checksum filled in: the peers'
      // offloads are on only where a vnet header carries partial checksums and GSO frames
      const on = kind === 'packet-gso' ? 'on' : 'off';
      inNs(NS.cx, 'ethtool', ['-K', 'c0', 'tx', on, 'tso', on, 'gso', on]);
      inNs(NS.sx, 'ethtool', ['-K', 's0', 'tx', on, 'tso', on, 'gso', on]);
    }
    const c = this.spawnIn(this.ns(kind).fw, [process.execPath, ...nodeArgs, FORWARD, JSON.stringify(cfg)], 1);
    let out = '';
    let err = '';
    c.stdout!.setEncoding('utf8');
    c.stderr!.setEncoding('utf8');
    c.stdout!.on('data', (d: string) => (out += d));
    c.stderr!.on('data', (d: string) => (err += d));
    const end = Date.now() + 10_000;
    while (!out.includes('"ready":true')) {
      if (c.exitCode !== null || Date.now() > end) throw new Error(`forwarder ${kind} did not start: ${err.trim() || out.trim()}`);
      await sleep(20);
    }
    if (tap) this.tapTopology();
    return c;
  }

  async stopForwarder(c: ChildProcess): Promise<void> {
    c.stdin!.end();
    const end = Date.now() + 5000;
    while (c.exitCode === null && c.signalCode === null && Date.now() < end) await sleep(20);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  async udp(kind: Kind, fwd: ChildProcess, seconds: number): Promise<{ pps: number; offered: number; cpu: number }> {
    const n = this.ns(kind);
    const before = udpIn(n.sv);
    const t0 = procTicks(fwd.pid!);
    const start = Date.now();
    const out = inNs(n.cl, 'taskset', ['-c', '0', this.genBin, SERVER, '9', String(seconds)], { timeoutMs: (seconds + 20) * 1000 });
    await sleep(200); // let the last batches through
    const wall = (Date.now() - start) / 1000;
    const got = udpIn(n.sv) - before;
    const g = JSON.parse(out.trim().split('\n').pop()!) as { sent: number; seconds: number };
    const cpu = (procTicks(fwd.pid!) - t0) / 100 / wall;
    return { pps: got / g.seconds, offered: g.sent / g.seconds, cpu };
  }

  async tcp(kind: Kind, fwd: ChildProcess, seconds: number): Promise<{ gbps: number; cpu: number }> {
    const n = this.ns(kind);
    const server = this.spawnIn(n.sv, ['iperf3', '-s', '-1', '-p', String(IPERF_PORT)], 0);
    await sleep(300);
    const t0 = procTicks(fwd.pid!);
    const start = Date.now();
    const out = inNs(n.cl, 'iperf3', ['-c', SERVER, '-p', String(IPERF_PORT), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000, ignore: true });
    const wall = (Date.now() - start) / 1000;
    const cpu = (procTicks(fwd.pid!) - t0) / 100 / wall;
    if (server.exitCode === null) server.kill('SIGKILL');
    try {
      const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
      if (j.error) throw new Error(j.error);
      return { gbps: (j.end?.sum_received?.bits_per_second ?? 0) / 1e9, cpu };
    } catch (err) {
      throw new Error(`iperf3 through ${kind}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async sample(kind: Kind, seconds: number): Promise<Sample> {
    const fwd = await this.forwarder(kind);
    try {
      const u = await this.udp(kind, fwd, seconds);
      const t = await this.tcp(kind, fwd, seconds);
      return { pps: u.pps, offered: u.offered, ppsCpu: u.cpu, gbps: t.gbps, gbpsCpu: t.cpu };
    } finally {
      await this.stopForwarder(fwd);
    }
  }

  /**
   * perf record the forwarder and the generator (with the kernel work each runs: the
   * generator's CPU also runs the veth receive path, XDP program included) while the UDP
   * load goes through one kind; their top symbols
   */
  async profile(kind: Kind, seconds: number): Promise<string> {
    const perfOk = spawnSync('perf', ['record', '-o', '/dev/null', '-q', '--', 'true'], { encoding: 'utf8' }).status === 0;
    if (perfOk) {
      const fwd = await this.forwarder(kind);
      await sleep(300);
      const data = join(this.work, `perf-${kind}.data`);
      const gen = this.spawnIn(this.ns(kind).cl, [this.genBin, SERVER, '9', String(seconds + 1)], 0);
      await sleep(200);
      const rec = spawn('perf', ['record', '-g', '-o', data, '-p', `${fwd.pid},${gen.pid}`, '--', 'sleep', String(seconds)], { stdio: 'ignore' });
      this.children.add(rec);
      await new Promise((r) => rec.once('exit', r));
      await new Promise((r) => (gen.exitCode !== null ? r(null) : gen.once('exit', r)));
      await this.stopForwarder(fwd);
      const rep = sh('perf', ['report', '-i', data, '--no-children', '--sort', 'comm,sym', '--stdio', '-q', '-g', 'none', '--percent-limit', '1.2'], {
        timeoutMs: 120_000,
        ignore: true,
      });
      return rep
        .split('\n')
        .filter((l) => /^\s+\d/.test(l))
        .slice(0, 30)
        .join('\n');
    }
    // no perf: V8's CPU profile of the forwarder (JS and native frames, no kernel)
    const dir = join(this.work, `prof-${kind}`);
    const fwd = await this.forwarder(kind, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    await this.udp(kind, fwd, seconds);
    await this.stopForwarder(fwd);
    return topOfCpuProfile(dir);
  }
}

async function run(opts: SuiteOptions): Promise<Record<string, unknown>> {
  const kinds = (opts.args.filter((a) => (KINDS as readonly string[]).includes(a)) as Kind[]).length
    ? (opts.args.filter((a) => (KINDS as readonly string[]).includes(a)) as Kind[])
    : [...KINDS];
  if (!kinds.includes('tap')) kinds.unshift('tap'); // the reference
  const rounds = opts.quick ? 1 : Number(process.env.LINK_ROUNDS ?? 5);
  const seconds = opts.quick ? 1 : Number(process.env.LINK_SECONDS ?? 3);
  for (const tool of ['iperf3', 'ethtool', 'nft', 'cc']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing (scripts/bootstrap.sh installs it)`);
  }
  if (!existsSync(join(root, 'packages/xdp/build/Release/xdp.node'))) throw new Error('packages/xdp is not built (npm ci builds it)');
  const b = new LinkBench();
  const onExit = (): void => b.cleanup();
  process.once('exit', onExit);
  try {
    b.genBin = join(b.work, 'gen');
    sh('cc', ['-O2', '-o', b.genBin, GEN]);
    b.topology();
    const samples = new Map<Kind, Sample[]>(kinds.map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      const order = kinds.slice(r % kinds.length).concat(kinds.slice(0, r % kinds.length));
      for (const k of order) {
        const s = await b.sample(k, seconds);
        samples.get(k)!.push(s);
        log(
          `  round ${r + 1} ${k.padEnd(8)} ${si(s.pps)} pps of ${si(s.offered)} offered (fwd cpu ${s.ppsCpu.toFixed(2)})  ${s.gbps.toFixed(2)} Gbit/s (fwd cpu ${s.gbpsCpu.toFixed(2)})`,
        );
      }
    }
    const tap = samples.get('tap')!;
    const figures: Record<string, Record<string, number>> = {};
    if (rounds === 0) log('LINK_ROUNDS=0: no rounds, profiles only');
    const rows: (string | number)[][] = [
      ['link', 'UDP 64 B pps', 'offered', 'vs tap', 'per-round', 'fwd CPU', 'pps/core', 'vs tap', 'TCP Gbit/s', 'vs tap', 'per-round', 'fwd CPU'],
    ];
    const perCore = (x: Sample): number => (x.ppsCpu > 0 ? x.pps / x.ppsCpu : NaN);
    const tapPerCore = median(tap.map(perCore));
    for (const k of rounds > 0 ? kinds : []) {
      const s = samples.get(k)!;
      const pps = median(s.map((x) => x.pps));
      const gbps = median(s.map((x) => x.gbps));
      const ppsRatio = pps / median(tap.map((x) => x.pps));
      const gbpsRatio = gbps / median(tap.map((x) => x.gbps));
      const pairedPps = median(s.map((x, i) => x.pps / tap[i]!.pps));
      const pairedGbps = median(s.map((x, i) => x.gbps / tap[i]!.gbps));
      const core = median(s.map(perCore));
      figures[k] = {
        udp_pps: Math.round(pps),
        udp_offered_pps: Math.round(median(s.map((x) => x.offered))),
        udp_pps_ratio_vs_tap: Number(ppsRatio.toFixed(3)),
        udp_pps_paired_ratio: Number(pairedPps.toFixed(3)),
        udp_cpu: Number(median(s.map((x) => x.ppsCpu)).toFixed(3)),
        udp_pps_per_core: Math.round(core),
        udp_pps_per_core_ratio_vs_tap: Number((core / tapPerCore).toFixed(3)),
        tcp_gbps: Number(gbps.toFixed(3)),
        tcp_gbps_ratio_vs_tap: Number(gbpsRatio.toFixed(3)),
        tcp_gbps_paired_ratio: Number(pairedGbps.toFixed(3)),
        tcp_cpu: Number(median(s.map((x) => x.gbpsCpu)).toFixed(3)),
      };
      rows.push([
        k,
        si(pps),
        si(median(s.map((x) => x.offered))),
        ppsRatio.toFixed(2),
        pairedPps.toFixed(2),
        median(s.map((x) => x.ppsCpu)).toFixed(2),
        si(core),
        (core / tapPerCore).toFixed(2),
        gbps.toFixed(2),
        gbpsRatio.toFixed(2),
        pairedGbps.toFixed(2),
        median(s.map((x) => x.gbpsCpu)).toFixed(2),
      ]);
    }
    if (rounds > 0) log('\n' + table(rows));
    log(`${rounds} rounds of ${seconds} s, interleaved; forwarder pinned to CPU 1, load to CPU 0: ${b.pin}`);
    const out: Record<string, unknown> = { links: figures, rounds, seconds, samples: Object.fromEntries(samples) };
    if (opts.args.includes('--profile')) {
      const profiles: Record<string, string> = {};
      for (const k of kinds) {
        profiles[k] = await b.profile(k, seconds);
        log(`\nprofile (UDP load) ${k}:\n${profiles[k]}`);
      }
      out.profiles = profiles;
    }
    return out;
  } finally {
    process.removeListener('exit', onExit);
    b.cleanup();
  }
}

/** The link suite: AF_XDP and AF_PACKET against TAP through a JS forwarder. */
export const suite: Suite = {
  name: 'link',
  description: 'raw rate of the AF_XDP and AF_PACKET Links against TAP through a JS forwarder (64 B UDP pps, one TCP stream)',
  needsRoot: true,
  run,
};

/** The top self-time functions of the first .cpuprofile in `dir`. */
function topOfCpuProfile(dir: string): string {
  if (!existsSync(dir)) return '(no profile written)';
  const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
  if (!f) return '(no profile written)';
  const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of prof.samples) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const name = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').pop()}:${cf.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + 1);
  }
  const total = prof.samples.length || 1;
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([name, n]) => `${((100 * n) / total).toFixed(1).padStart(6)}%  ${name}`)
    .join('\n');
}
