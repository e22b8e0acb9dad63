/**
 * e2e: the tunvs director end to end, against anchors on the same namespace topology.
 *
 *   client -> director -> 2 real servers (nginx, iperf3 servers, a UDP counter)
 *
 * Anchors (all in namespaces named bx-*, created here and deleted afterwards, also on failure):
 *   route      plain kernel routing, the client talks to rs1's address (no balancing): upper bound
 *   nft        nftables DNAT `numgen inc mod 2` to the two servers (kernel L4 balancing)
 *   haproxy    HAProxy mode tcp, one thread, roundrobin (iperf3: balance source)
 *   tunvs-nat  tunvsd on a TUN device, NAT (masq), policy routing for the replies, vnetHdr (GSO)
 *   tunvs-dr   tunvsd on a TAP device bridged with client and servers, DR (VIP on the servers' lo)
 *   c-tun      UDP only: bench/e2e/nat-forward.c, a minimal C NAT forwarder on the same TUN
 *   tunvs-xdp  tunvsd owning a veth on the servers' bridge over AF_XDP (device kind xdp), NAT:
 *              the kernel routes the VIP to the director's own address 10.77.1.2, the servers'
 *              default route points at it while measured, its gateway is the kernel (10.77.1.1)
 *   tunvs-xdp-dr  tunvsd owning a veth on the one-segment bridge over AF_XDP, DR
 *   tunvs-xdp2  tunvsd owning two interfaces over AF_XDP, NAT: the client's veth (lan0, the
 *              director's address 10.77.0.3 there, the client's route to the VIP points at it
 *              while measured) and tunvs-xdp's veth on the servers' bridge: no kernel forward
 *              in the director's namespace, either way
 *   tunvs-packet2  tunvs-xdp2's two interfaces over AF_PACKET with a vnet header (GSO)
 *   tunvs-packet2-cpus  tunvs-packet2 with tunvsd's Director thread pinned by its own `cpus`
 *              instead of taskset on the whole process (only when named)
 * route/nft/haproxy/tunvs-nat/c-tun/tunvs-xdp/tunvs-xdp2 share one routed topology (VIP off the client
 * subnet); tunvs-dr and tunvs-xdp-dr share a one-segment topology (VIP inside it, as LVS-DR wants).
 *
 * Metrics per anchor: conn_per_s (wrk, `Connection: close`), keepalive_rps (wrk), tcp_gbps
 * (iperf3, one stream), udp_pps (64-byte datagrams from a sendmmsg generator, counted at the
 * real servers from /proc/net/snmp: Udp InDatagrams + NoPorts deltas). Director CPU: utime +
 * stime of the director process (tunvsd, haproxy, the C forwarder) in cores; for the kernel
 * anchors the machine's softirq time in cores (/proc/stat) during the run.
 * Rounds interleave the anchors (rotating the order); figures are medians. After each
 * start, every anchor gets 1 s of UDP and TCP and 3 s of conn/s unmeasured (`warmUp`: tunvsd's JIT).
 *
 *   npm run bench -- e2e [--json] [--quick] [--profile] [--rps] [ANCHOR...]
 *   (--profile: run tunvsd under `node --cpu-prof` and print its top functions; --rps: steer
 *   the TUN/TAP receive processing to CPU 0; env E2E_ROUNDS (3), E2E_SECONDS (4),
 *   E2E_NODE_FLAGS: more node flags for tunvsd, e.g. V8's log of deopts and compiles;
 *   E2E_DIRECTOR_OUT: a directory where each tunvsd's standard output goes, one file per
 *   start, for flags that print there: `--trace-gc`, `--trace-opt`, `--trace-deopt`)
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JIT_ENV } from '@tunvs/engine';
import type { Suite, SuiteOptions } from '../suite.js';
import { log, si, table } from '../suite.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const assets = join(root, 'bench/e2e');
const TUNVSD = join(root, 'packages/daemon/dist/bin/tunvsd.js');

const P = process.env.TUNVS_E2E_PREFIX || 'bx-';
// routed topology (route, nft, haproxy, tunvs-nat, c-tun)
const NS = { cl: `${P}cl`, dir: `${P}dir`, rs1: `${P}rs1`, rs2: `${P}rs2` };
const CLIENT = '10.77.0.2';
const DIR_LAN = '10.77.0.1';
const DIR_RS = '10.77.1.1';
const RS = ['10.77.1.11', '10.77.1.12'] as const;
const VIP = '10.77.2.100';
const TUN = 'bxtun0';
/** tunvs-xdp: the director's veth (its peer is a port of br-rs) and its own address */
const XDP = 'bxxdp0';
const XDP_ADDR = '10.77.1.2';
/** tunvs-xdp2: the director's own address on the client's veth (lan0), next to the kernel's 10.77.0.1 */
const XDP2_LAN_ADDR = '10.77.0.3';
// layer-2 topology (tunvs-dr)
const DNS = { cl: `${P}dcl`, dir: `${P}ddir`, rs1: `${P}drs1`, rs2: `${P}drs2` };
const D_CLIENT = '10.78.0.2';
const D_DIP = '10.78.0.1';
const D_RS = ['10.78.0.11', '10.78.0.12'] as const;
const D_VIP = '10.78.0.100';
const TAP = 'bxtap0';
const D_MAC = '02:00:0a:4e:00:01';
/** tunvs-xdp-dr: the director's veth (its peer is a port of br-lan) and its own address */
const D_XDP = 'bxxdp1';
const D_XDP_ADDR = '10.78.0.3';

const HTTP = 80;
const IPERF = 5201;
const UDP = 9;

const ANCHORS = ['route', 'nft', 'haproxy', 'tunvs-nat', 'tunvs-dr', 'c-tun', 'tunvs-xdp', 'tunvs-xdp-dr', 'tunvs-xdp2'] as const;
/**
 * Variants of tunvs-xdp (same topology, another tunvsd setting); tunvs-packet runs by
 * default, tunvs-xdp-2w only when named:
 * tunvs-xdp-2w runs two workers (informational: what a second worker gives on this
 * machine; the director is not pinned, so it shares both CPUs with the load);
 * tunvs-packet runs the same veth over AF_PACKET with a vnet header (device kind
 * packet, vnetHdr: GSO frames both ways; the veth's peer keeps its checksum offload and
 * TSO, and an nftables netdev ingress rule drops the host's copy of its frames);
 * tunvs-packet-nojit is tunvs-packet with V8's default JIT flags (TUNVS_JIT=default:
 * what tunvsd's tuneJit is worth end to end, in the same rounds), only when named.
 */
const XDP_VARIANTS = ['tunvs-xdp-2w', 'tunvs-packet', 'tunvs-packet-nojit'] as const;
/** tunvs-packet and its V8-defaults twin */
const isPacket = (a: Anchor): boolean => a === 'tunvs-packet' || a === 'tunvs-packet-nojit';
/**
 * tunvs-packet2: tunvs-xdp2's layout (the director owns the client's veth and the servers'
 * one; no kernel forward in its namespace) over AF_PACKET with a vnet header, as
 * tunvs-packet: the kernel-bypass Director as issue 18 describes it, on the faster link
 */
const TWO_IF_VARIANTS = ['tunvs-packet2', 'tunvs-packet2-cpus'] as const;
type Anchor = (typeof ANCHORS)[number] | (typeof XDP_VARIANTS)[number] | (typeof TWO_IF_VARIANTS)[number];
/** the director owns both of the routed topology's sides */
const isTwoIf = (a: Anchor): boolean => a === 'tunvs-xdp2' || isPacket2(a);
/**
 * tunvs-packet2 and its twin tunvs-packet2-cpus, whose tunvsd pins its Director thread (the
 * main thread, one worker) to CPU 1 with `"cpus": [1]` instead of running under `taskset -c
 * 1`: V8's compiler and GC threads and the rest of the process then use either CPU
 */
const isPacket2 = (a: Anchor): boolean => a === 'tunvs-packet2' || a === 'tunvs-packet2-cpus';
/** tunvs-xdp and its variants: the routed topology with the director's veth on br-rs */
const isXdpNat = (a: Anchor): boolean => a === 'tunvs-xdp' || (XDP_VARIANTS as readonly string[]).includes(a);
const METRICS = ['conn_per_s', 'keepalive_rps', 'tcp_gbps', 'udp_pps'] as const;
type Metric = (typeof METRICS)[number];
/** which metrics each anchor measures */
const MEASURES: Record<Anchor, readonly Metric[]> = {
  route: METRICS,
  nft: METRICS,
  haproxy: ['conn_per_s', 'keepalive_rps', 'tcp_gbps'],
  'tunvs-nat': METRICS,
  'tunvs-dr': METRICS,
  'c-tun': ['udp_pps'],
  'tunvs-xdp': METRICS,
  'tunvs-xdp-dr': METRICS,
  'tunvs-xdp2': METRICS,
  'tunvs-xdp-2w': METRICS,
  'tunvs-packet': METRICS,
  'tunvs-packet-nojit': METRICS,
  'tunvs-packet2': METRICS,
  'tunvs-packet2-cpus': METRICS,
};
/** the anchors on the one-segment (DR) topology */
const isDr = (a: Anchor): boolean => a === 'tunvs-dr' || a === 'tunvs-xdp-dr';

/** seconds of conn/s in the warm-up after a director starts (see `warmUp`) */
const WARM_CONN_S = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sh(cmd: string, args: string[], o: { input?: string; timeoutMs?: number; ignore?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: o.input, timeout: o.timeoutMs ?? 30_000 });
  if ((r.status !== 0 || r.error) && !o.ignore) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || String(r.error ?? '')).trim()}`);
  }
  return r.stdout ?? '';
}
const ipb = (ns: string, lines: string[]): void => void sh('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
const inNs = (ns: string, cmd: string, args: string[], o: { timeoutMs?: number; ignore?: boolean } = {}): string =>
  sh('ip', ['netns', 'exec', ns, cmd, ...args], o);
/** write sysctls in a namespace; optional keys that do not exist are skipped */
function sysctl(ns: string, kv: [string, string | number, boolean?][]): void {
  const script = kv
    .map(([k, v, opt]) => {
      const f = `/proc/sys/${k.replace(/\./g, '/')}`;
      return opt ? `{ [ ! -e ${f} ] || echo ${v} > ${f}; }` : `echo ${v} > ${f}`;
    })
    .join(' && ');
  inNs(ns, 'sh', ['-ec', script]);
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ------------------------------------------------------------------------ CPU accounting

const CLK_TCK = 100;
function procTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after the name start at field 3 (state): utime is field 14, stime 15
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}
function softirqTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  return Number(line.trim().split(/\s+/)[7]);
}
/** CPU meter over one measurement: director process cores and machine softirq cores */
function cpuMeter(pid: number | null): () => { proc: number | null; softirq: number } {
  const t0 = Date.now();
  const p0 = pid ? procTicks(pid) : NaN;
  const s0 = softirqTicks();
  return () => {
    const wall = (Date.now() - t0) / 1000;
    const p1 = pid ? procTicks(pid) : NaN;
    return {
      proc: pid && Number.isFinite(p1 - p0) ? (p1 - p0) / CLK_TCK / wall : null,
      softirq: (softirqTicks() - s0) / CLK_TCK / wall,
    };
  };
}

// ------------------------------------------------------------------------- the bench run

interface Sample {
  round: number;
  value: number;
  cpu: number | null;
  softirq: number;
  note?: string;
}

class E2E {
  readonly children = new Set<ChildProcess>();
  readonly pin = cpus().length >= 2;
  readonly work: string;
  readonly seconds: number;
  readonly profileDir: string | null;
  /** --rps: steer the device's receive processing to CPU 0 */
  readonly rps = process.argv.includes('--rps');
  genBin = '';
  fwdBin = '';
  /** the userspace director of the anchor being measured */
  directorPid: number | null = null;
  director: ChildProcess | null = null;
  directorLog = '';

  constructor(seconds: number, profileDir: string | null) {
    this.work = mkdtempSync('/tmp/tunvs-e2e-');
    this.seconds = seconds;
    this.profileDir = profileDir;
  }

  /** every namespace this suite makes */
  static namespaces(): string[] {
    return [...Object.values(NS), ...Object.values(DNS)];
  }

  /** kill what we started (by pid) and anything left in our namespaces, delete them */
  cleanup(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    this.children.clear();
    E2E.removeNamespaces();
    rmSync(this.work, { recursive: true, force: true });
  }

  static removeNamespaces(): void {
    const existing = sh('ip', ['netns', 'list'], { ignore: true })
      .split('\n')
      .map((l) => l.split(' ')[0]);
    for (const ns of E2E.namespaces()) {
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
      sh('ip', ['-n', ns, 'link', 'del', TUN], { ignore: true });
      sh('ip', ['-n', ns, 'link', 'del', TAP], { ignore: true });
      sh('ip', ['-n', ns, 'link', 'del', XDP], { ignore: true });
      sh('ip', ['-n', ns, 'link', 'del', D_XDP], { ignore: true });
      sh('ip', ['netns', 'del', ns], { ignore: true });
    }
  }

  /** start a long-running process in a namespace (tracked for cleanup) */
  spawnIn(ns: string, args: string[], cpu?: number, env?: NodeJS.ProcessEnv, stdout?: number): ChildProcess {
    const pre = cpu !== undefined && this.pin ? ['taskset', '-c', String(cpu)] : [];
    const c = spawn('ip', ['netns', 'exec', ns, ...pre, ...args], { stdio: ['ignore', stdout ?? 'pipe', 'pipe'], ...(env ? { env } : {}) });
    this.children.add(c);
    c.on('exit', () => this.children.delete(c));
    return c;
  }

  async stop(c: ChildProcess | null, ms = 5000): Promise<void> {
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const end = Date.now() + ms;
    while (c.exitCode === null && c.signalCode === null && Date.now() < end) await sleep(20);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  // ---------------------------------------------------------------------------- set-up

  build(): void {
    this.genBin = join(this.work, 'gen');
    this.fwdBin = join(this.work, 'nat-forward');
    sh('cc', ['-O2', '-o', this.genBin, join(root, 'bench/tuntap/gen.c')]);
    sh('cc', ['-O2', '-o', this.fwdBin, join(assets, 'nat-forward.c')]);
    if (!existsSync(TUNVSD)) throw new Error(`${TUNVSD} is missing: build first (npx tsc -b)`);
  }

  topology(): void {
    E2E.removeNamespaces();
    for (const ns of E2E.namespaces()) sh('ip', ['netns', 'add', ns]);
    for (const ns of E2E.namespaces()) ipb(ns, ['link set lo up']);
    const commonDir: [string, string | number, boolean?][] = [
      ['net.ipv4.conf.all.rp_filter', 0],
      ['net.ipv4.conf.default.rp_filter', 0],
      ['net.ipv6.conf.all.disable_ipv6', 1, true],
      ['net.ipv6.conf.default.disable_ipv6', 1, true],
      ['net.bridge.bridge-nf-call-iptables', 0, true],
      ['net.bridge.bridge-nf-call-ip6tables', 0, true],
      ['net.bridge.bridge-nf-call-arptables', 0, true],
      ['net.ipv4.ip_local_port_range', '"1024 65000"'],
    ];

    // routed: client --lan0-- director --br-rs-- rs1, rs2; the TUN stays for tunvs/c-tun
    sysctl(NS.dir, [...commonDir, ['net.ipv4.ip_forward', 1]]);
    ipb(NS.dir, [
      `link add lan0 type veth peer name eth0 netns ${NS.cl}`,
      'link add br-rs type bridge stp_state 0 forward_delay 0',
      `link add vrs1 type veth peer name eth0 netns ${NS.rs1}`,
      `link add vrs2 type veth peer name eth0 netns ${NS.rs2}`,
      'link set vrs1 master br-rs',
      'link set vrs2 master br-rs',
      // tunvs-xdp's interface: no kernel address; its peer is a port of br-rs
      `link add ${XDP} type veth peer name ${XDP}p`,
      `link set ${XDP}p master br-rs`,
      `link set ${XDP}p up`,
      `link set ${XDP} up`,
      `tuntap add dev ${TUN} mode tun`,
      `addr add ${DIR_LAN}/24 dev lan0`,
      `addr add ${DIR_RS}/24 dev br-rs`,
      'link set lan0 up',
      'link set vrs1 up',
      'link set vrs2 up',
      'link set br-rs up',
      `link set ${TUN} up`,
    ]);
    sysctl(NS.dir, ['lan0', 'br-rs', 'vrs1', 'vrs2', TUN].map((i) => [`net.ipv4.conf.${i}.rp_filter`, 0] as [string, number]));
    inNs(NS.dir, 'ethtool', ['-K', `${XDP}p`, 'tx', 'off']);
    sysctl(NS.cl, [['net.ipv4.ip_local_port_range', '"1024 65000"'], ['net.ipv6.conf.all.disable_ipv6', 1, true]]);
    ipb(NS.cl, [`addr add ${CLIENT}/24 dev eth0`, 'link set eth0 up', `route add default via ${DIR_LAN}`]);
    [NS.rs1, NS.rs2].forEach((ns, i) => {
      sysctl(ns, [['net.ipv6.conf.all.disable_ipv6', 1, true]]);
      ipb(ns, [`addr add ${RS[i]}/24 dev eth0`, 'link set eth0 up', `route add default via ${DIR_RS}`]);
    });

    // layer 2: client, TAP, rs1, rs2 on one bridge in the director namespace
    sysctl(DNS.dir, [...commonDir, ['net.ipv4.ip_forward', 0]]);
    ipb(DNS.dir, [
      'link add br-lan type bridge stp_state 0 forward_delay 0',
      `tuntap add dev ${TAP} mode tap`,
      `link set ${TAP} address 02:01:0a:4e:00:01 master br-lan`,
      `link add vcl type veth peer name eth0 netns ${DNS.cl}`,
      `link add vrs1 type veth peer name eth0 netns ${DNS.rs1}`,
      `link add vrs2 type veth peer name eth0 netns ${DNS.rs2}`,
      'link set vcl master br-lan',
      'link set vrs1 master br-lan',
      'link set vrs2 master br-lan',
      `link add ${D_XDP} type veth peer name ${D_XDP}p`,
      `link set ${D_XDP}p master br-lan`,
      `link set ${D_XDP}p up`,
      `link set ${D_XDP} up`,
      'link set vcl up',
      'link set vrs1 up',
      'link set vrs2 up',
      `link set ${TAP} up`,
      'link set br-lan up',
    ]);
    inNs(DNS.dir, 'ethtool', ['-K', `${D_XDP}p`, 'tx', 'off']);
    sysctl(DNS.cl, [['net.ipv4.ip_local_port_range', '"1024 65000"'], ['net.ipv6.conf.all.disable_ipv6', 1, true]]);
    ipb(DNS.cl, [`addr add ${D_CLIENT}/24 dev eth0`, 'link set eth0 up', `route add default via ${D_DIP}`]);
    [DNS.rs1, DNS.rs2].forEach((ns, i) => {
      const kv: [string, string | number, boolean?][] = [['net.ipv6.conf.all.disable_ipv6', 1, true]];
      for (const k of ['all', 'default', 'eth0']) kv.push([`net.ipv4.conf.${k}.arp_ignore`, 1], [`net.ipv4.conf.${k}.arp_announce`, 2]);
      for (const k of ['all', 'default', 'lo', 'eth0']) kv.push([`net.ipv4.conf.${k}.rp_filter`, 0]);
      sysctl(ns, kv);
      ipb(ns, [`addr add ${D_RS[i]}/24 dev eth0`, `addr add ${D_VIP}/32 dev lo`, 'link set eth0 up', `route add default via ${D_DIP}`]);
    });
  }

  /** nginx + iperf3 server on every real server; ICMP port-unreachable suppressed (UDP sink) */
  async services(): Promise<void> {
    const all = [NS.rs1, NS.rs2, DNS.rs1, DNS.rs2];
    for (const [i, ns] of all.entries()) {
      const dir = join(this.work, ns);
      mkdirSync(dir, { recursive: true });
      const conf = join(dir, 'nginx.conf');
      writeFileSync(
        conf,
        `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  server {
    listen ${HTTP} backlog=4096;
    location / { default_type text/plain; return 200 "rs${(i % 2) + 1}\\n"; }
  }
}
`,
      );
      sysctl(ns, [['net.core.somaxconn', 4096], ['net.ipv4.tcp_max_syn_backlog', 4096]]);
      this.spawnIn(ns, ['nginx', '-c', conf, '-p', dir]);
      this.spawnIn(ns, ['iperf3', '-s', '-p', String(IPERF)]);
      sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
        input: 'table ip bx_rs {\n chain out {\n  type filter hook output priority 0; policy accept;\n  icmp type destination-unreachable drop\n }\n}\n',
      });
    }
    // wait until every server answers locally
    const end = Date.now() + 10_000;
    for (const [i, ns] of all.entries()) {
      const addr = i < 2 ? RS[i]! : D_RS[i - 2]!;
      for (;;) {
        const ok = inNs(ns, 'curl', ['-s', '-m', '1', `http://${addr}/`], { ignore: true });
        if (ok.startsWith('rs')) break;
        if (Date.now() > end) throw new Error(`nginx in ${ns} does not answer`);
        await sleep(100);
      }
    }
  }

  // --------------------------------------------------------------------------- anchors

  /** client namespace and target address for an anchor */
  target(a: Anchor): { ns: string; addr: string } {
    if (a === 'route') return { ns: NS.cl, addr: RS[0] };
    if (isDr(a)) return { ns: DNS.cl, addr: D_VIP };
    return { ns: NS.cl, addr: VIP };
  }

  tunRouting(on: boolean): void {
    const verb = on ? 'add' : 'del';
    ipb(NS.dir, [`route ${verb} ${VIP}/32 dev ${TUN}`, `rule ${verb} iif br-rs lookup 100 pref 100`, `route ${verb} default dev ${TUN} table 100`]);
    // as in the lab: no early demux while packets loop through the TUN
    this.earlyDemux(!on);
  }

  /**
   * Early demux in the routed director namespace. Off while the kernel forwards to a
   * director of ours (TUN, or the AF_XDP director's address): haproxy's run leaves TIME_WAIT
   * sockets on VIP:80 for a minute, early demux attaches them to a client's SYN with the
   * same ports, and ip_forward drops every packet carrying a socket (wrk's SYNs hung).
   */
  earlyDemux(on: boolean): void {
    sysctl(NS.dir, [
      ['net.ipv4.tcp_early_demux', on ? 1 : 0],
      ['net.ipv4.udp_early_demux', on ? 1 : 0, true],
    ]);
  }

  async waitTcp(ns: string, addr: string, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const ok = inNs(ns, 'curl', ['-s', '-m', '1', `http://${addr}/`], { ignore: true });
      if (ok.startsWith('rs')) return;
      if (Date.now() > end) throw new Error(`no HTTP answer from ${addr} in ${ns}:\n${this.directorLog.slice(-2000)}`);
      await sleep(100);
    }
  }

  async tunvsd(kind: 'nat' | 'dr' | 'xdp-nat' | 'xdp-dr' | 'xdp2', more: { workers?: number; packet?: boolean; v8Defaults?: boolean; cpus?: number[] } = {}): Promise<void> {
    const link = more.packet ? { kind: 'packet', vnetHdr: true } : { kind: 'xdp' };
    const sock = join(this.work, `tunvsd-${kind}.sock`);
    rmSync(sock, { force: true });
    const nat = kind === 'nat' || kind === 'xdp-nat' || kind === 'xdp2';
    const rs = nat ? RS : D_RS;
    const vip = nat ? VIP : D_VIP;
    const method = nat ? 'masq' : 'route';
    const dests = (port: number): object[] => rs.map((addr) => ({ addr, port, method, weight: 1 }));
    const config = {
      device:
        kind === 'xdp2'
          ? { name: 'lan0', ...link, addresses: [`${XDP2_LAN_ADDR}/24`], interfaces: [{ name: XDP, addresses: [`${XDP_ADDR}/24`] }] }
          : kind === 'xdp-nat'
          ? { name: XDP, ...link, addresses: [`${XDP_ADDR}/24`], gateway: DIR_RS }
          : kind === 'xdp-dr'
            ? { name: D_XDP, kind: 'xdp', addresses: [`${D_XDP_ADDR}/24`] }
            : nat
              ? { name: TUN, kind: 'tun', vnetHdr: true }
              : { name: TAP, kind: 'tap', vnetHdr: true, mac: D_MAC, addresses: [`${D_DIP}/24`] },
      sourceAddress: kind === 'xdp-nat' || kind === 'xdp2' ? XDP_ADDR : kind === 'xdp-dr' ? D_XDP_ADDR : nat ? DIR_RS : D_DIP,
      socket: sock,
      connCapacity: 1 << 20,
      ...(more.workers ? { workers: more.workers } : {}),
      ...(more.cpus && this.pin ? { cpus: more.cpus } : {}),
      services: [
        { protocol: 'tcp', addr: vip, port: HTTP, scheduler: 'rr', dests: dests(HTTP) },
        // iperf3 needs its control and data connections on the same server
        { protocol: 'tcp', addr: vip, port: IPERF, scheduler: 'sh', dests: dests(IPERF) },
        { protocol: 'udp', addr: vip, port: UDP, scheduler: 'rr', dests: dests(UDP) },
      ],
    };
    const file = join(this.work, `tunvsd-${kind}.json`);
    writeFileSync(file, JSON.stringify(config, null, 2));
    const node = [process.execPath];
    if (this.profileDir) node.push('--cpu-prof', `--cpu-prof-dir=${join(this.profileDir, kind)}`);
    if (process.env.E2E_NODE_FLAGS) node.push(...process.env.E2E_NODE_FLAGS.split(/\s+/).filter(Boolean));
    // several workers get both CPUs (the load's too): what they give on this machine
    const env = more.v8Defaults ? { ...process.env, [JIT_ENV]: 'default' } : undefined;
    // E2E_DIRECTOR_OUT: the standard output straight to a file (V8's traces are buffered
    // there and would be lost in a pipe when tunvsd is stopped)
    const outDir = process.env.E2E_DIRECTOR_OUT;
    let outFd: number | undefined;
    if (outDir) {
      mkdirSync(outDir, { recursive: true });
      outFd = openSync(join(outDir, `tunvsd-${kind}-${Date.now()}.out`), 'w');
    }
    // taskset for the whole process on CPU 1, unless several workers (both CPUs) or tunvsd's
    // own `cpus` (its Director thread alone) say otherwise
    const c = this.spawnIn(nat ? NS.dir : DNS.dir, [...node, TUNVSD, '-f', file], (more.workers ?? 1) > 1 || more.cpus ? undefined : 1, env, outFd);
    if (outFd !== undefined) closeSync(outFd);
    this.director = c;
    this.directorPid = c.pid ?? null;
    this.directorLog = '';
    c.stderr!.setEncoding('utf8');
    c.stderr!.on('data', (d: string) => (this.directorLog = (this.directorLog + d).slice(-20_000)));
    c.stdout?.resume();
    if (this.rps) {
      // receive packet steering: the kernel work behind each write(2) to the device (routing,
      // bridge, the real server's stack) runs on CPU 0 instead of inside tunvsd's syscall
      inNs(nat ? NS.dir : DNS.dir, 'sh', ['-c', `echo 1 > /sys/class/net/${nat ? TUN : TAP}/queues/rx-0/rps_cpus`]);
    }
    const end = Date.now() + 15_000;
    while (!existsSync(sock)) {
      if (c.exitCode !== null || Date.now() > end) throw new Error(`tunvsd did not start:\n${this.directorLog}`);
      await sleep(50);
    }
  }

  async setup(a: Anchor): Promise<void> {
    this.director = null;
    this.directorPid = null;
    if (a === 'nft') {
      const map = `{ 0 : ${RS[0]}, 1 : ${RS[1]} }`;
      sh('ip', ['netns', 'exec', NS.dir, 'nft', '-f', '-'], {
        input: `table ip bx_lb {
  chain pre {
    type nat hook prerouting priority -100; policy accept;
    ip daddr ${VIP} tcp dport ${HTTP} dnat to numgen inc mod 2 map ${map}
    ip daddr ${VIP} tcp dport ${IPERF} dnat to jhash ip saddr mod 2 map ${map}
    ip daddr ${VIP} udp dport ${UDP} dnat to numgen inc mod 2 map ${map}
  }
  chain post { type nat hook postrouting priority 100; policy accept; }
}
`,
      });
    } else if (a === 'haproxy') {
      ipb(NS.dir, [`addr add ${VIP}/32 dev lo`]);
      const cfg = join(this.work, 'haproxy.cfg');
      writeFileSync(
        cfg,
        `global
  maxconn 8000
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend web
  bind ${VIP}:${HTTP}
  default_backend web
backend web
  balance roundrobin
  server rs1 ${RS[0]}:${HTTP}
  server rs2 ${RS[1]}:${HTTP}
frontend iperf
  bind ${VIP}:${IPERF}
  default_backend iperf
backend iperf
  balance source
  server rs1 ${RS[0]}:${IPERF}
  server rs2 ${RS[1]}:${IPERF}
`,
      );
      const c = this.spawnIn(NS.dir, ['haproxy', '-db', '-f', cfg], 1);
      this.director = c;
      this.directorPid = c.pid ?? null;
      this.directorLog = '';
      c.stderr!.setEncoding('utf8');
      c.stderr!.on('data', (d: string) => (this.directorLog = (this.directorLog + d).slice(-20_000)));
      c.stdout!.resume();
    } else if (a === 'tunvs-nat') {
      this.tunRouting(true);
      await this.tunvsd('nat');
    } else if (a === 'tunvs-dr') {
      ipb(DNS.cl, ['neigh flush all']);
      await this.tunvsd('dr');
    } else if (isXdpNat(a)) {
      // the kernel routes the VIP to the director's own address; the servers answer through it
      if (isPacket(a)) {
        // AF_PACKET leaves the host its copy: dropped at ingress (after the packet socket's tap)
        sh('ip', ['netns', 'exec', NS.dir, 'nft', '-f', '-'], {
          input: `table netdev bx_pkt {\n chain in {\n  type filter hook ingress device ${XDP} priority 0; policy drop;\n }\n}\n`,
        });
        // a vnet header carries partial checksums and GSO: the peer keeps its offloads
        inNs(NS.dir, 'ethtool', ['-K', `${XDP}p`, 'tx', 'on']);
      }
      await this.tunvsd('xdp-nat', a === 'tunvs-xdp-2w' ? { workers: 2 } : isPacket(a) ? { packet: true, v8Defaults: a === 'tunvs-packet-nojit' } : {});
      this.earlyDemux(false);
      ipb(NS.dir, [`route add ${VIP}/32 via ${XDP_ADDR} dev br-rs`]);
      for (const ns of [NS.rs1, NS.rs2]) ipb(ns, [`route replace default via ${XDP_ADDR}`]);
    } else if (isTwoIf(a)) {
      // the client sends to the director's own address on its veth, whose steering program
      // takes the VIP's frames; the servers answer to its address on their bridge
      if (isPacket2(a)) {
        // AF_PACKET leaves the host its copies: on the servers' veth all (as tunvs-packet),
        // on the client's the VIP's (the kernel keeps 10.77.0.1 there for the other anchors)
        sh('ip', ['netns', 'exec', NS.dir, 'nft', '-f', '-'], {
          input:
            `table netdev bx_pkt {\n chain in {\n  type filter hook ingress device ${XDP} priority 0; policy drop;\n }\n` +
            ` chain lan {\n  type filter hook ingress device lan0 priority 0; ip daddr ${VIP} drop;\n }\n}\n`,
        });
        inNs(NS.dir, 'ethtool', ['-K', `${XDP}p`, 'tx', 'on']);
      } else {
        // no vnet header on AF_XDP: the client's offloaded (partial) checksums are completed
        // before they reach the link
        inNs(NS.cl, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
      }
      await this.tunvsd('xdp2', { packet: isPacket2(a), ...(a === 'tunvs-packet2-cpus' ? { cpus: [1] } : {}) });
      ipb(NS.cl, [`route add ${VIP}/32 via ${XDP2_LAN_ADDR}`]);
      for (const ns of [NS.rs1, NS.rs2]) ipb(ns, [`route replace default via ${XDP_ADDR}`]);
    } else if (a === 'tunvs-xdp-dr') {
      // the VIP was answered for by the TAP director: ask again
      ipb(DNS.cl, ['neigh flush all']);
      await this.tunvsd('xdp-dr');
    } else if (a === 'c-tun') {
      this.tunRouting(true);
      const c = this.spawnIn(NS.dir, [this.fwdBin, TUN, VIP, String(UDP), RS[0], RS[1], String(this.seconds + 30)], 1);
      this.director = c;
      this.directorPid = c.pid ?? null;
      c.stdout!.resume();
      c.stderr!.resume();
      await sleep(200);
    }
    if (a !== 'c-tun') {
      const t = this.target(a);
      await this.waitTcp(t.ns, t.addr);
      this.warmUp(t);
    }
  }

  /**
   * One second of each kind of load, not measured, after a director starts: 64-byte UDP,
   * one TCP stream, conn/s (keep-alive runs conn/s's code). tunvsd's JIT compiles a path
   * when it first runs it: perf showed TurboFan's passes in a fresh tunvsd's conn/s run
   * and none 9 s later; and in the measured TCP stream of a fresh tunvsd, whose
   * large-frame path had not run before, TurboFan's passes were 7 % of its samples (none
   * with this warm-up). A daemon that runs for days pays that once; every anchor gets the
   * same seconds.
   *
   * conn/s runs for WARM_CONN_S: long enough for connect()'s ports to wrap at these rates
   * (~23k/s; it takes the even ports of the client's 1024-65000 first, 32k), so that SYNs
   * on ports whose connections the director still holds (port reuse, conn_reuse_mode)
   * come before the measured run. With 1 s they came ~0.3 s into it: V8's log
   * (`E2E_NODE_FLAGS="--log-deopt --log-code --no-logfile-per-isolate --logfile=F"`)
   * showed the port-reuse path deoptimised there (code never run before) and compiled
   * again with its callers in the measured run, on the director's pinned CPU (taskset
   * pins V8's compiler threads with the packet thread).
   */
  warmUp(t: { ns: string; addr: string }): void {
    // conn/s last: what the JIT saw just before the first measured run (conn/s) is that
    // run's own traffic, as with stop 26's conn/s-only warm-up
    sh('ip', this.udpGen(t, 1), { timeoutMs: 20_000, ignore: true });
    sh('ip', this.iperf(t, 1), { timeoutMs: 20_000, ignore: true });
    sh('ip', this.wrk(t, WARM_CONN_S, true), { timeoutMs: 20_000, ignore: true });
  }

  /** `ip`'s arguments for one iperf3 stream against `t` for `seconds`, its report in JSON */
  iperf(t: { ns: string; addr: string }, seconds: number): string[] {
    return [
      'netns', 'exec', t.ns, ...(this.pin ? ['taskset', '-c', '0'] : []),
      'iperf3', '-c', t.addr, '-p', String(IPERF), '-t', String(seconds), '-J', '--connect-timeout', '3000',
    ];
  }

  /** `ip`'s arguments for the 64-byte UDP generator against `t` for `seconds` */
  udpGen(t: { ns: string; addr: string }, seconds: number): string[] {
    return ['netns', 'exec', t.ns, ...(this.pin ? ['taskset', '-c', '0'] : []), this.genBin, t.addr, String(UDP), String(seconds)];
  }

  /** `ip`'s arguments for wrk against `t` (the client on CPU 0 when pinned); `close`: a connection per request */
  wrk(t: { ns: string; addr: string }, seconds: number, close: boolean): string[] {
    return [
      'netns', 'exec', t.ns, ...(this.pin ? ['taskset', '-c', '0'] : []),
      'wrk', '-t1', '-c64', `-d${seconds}s`, '--timeout', '2s', ...(close ? ['-H', 'Connection: close'] : []), `http://${t.addr}:${HTTP}/`,
    ];
  }

  async teardown(a: Anchor): Promise<void> {
    await this.stop(this.director);
    // tunvsd on a kernel-bypass link logs its link's counters as it stops: where frames were lost
    const counters = /^.*"link counters".*$/m.exec(this.directorLog);
    if (counters) log(`    ${a} link counters (the round's four runs): ${counters[0].replace(/^.*"links":/, '').slice(0, 600)}`);
    // the next anchor may run no director process of ours (nft): nothing of this one's log stays
    this.directorLog = '';
    this.director = null;
    this.directorPid = null;
    if (a === 'nft') sh('ip', ['netns', 'exec', NS.dir, 'nft', 'delete', 'table', 'ip', 'bx_lb'], { ignore: true });
    if (a === 'haproxy') ipb(NS.dir, [`addr del ${VIP}/32 dev lo`]);
    if (a === 'tunvs-nat' || a === 'c-tun') this.tunRouting(false);
    if (isPacket(a) || isPacket2(a)) {
      sh('ip', ['netns', 'exec', NS.dir, 'nft', 'delete', 'table', 'netdev', 'bx_pkt'], { ignore: true });
      inNs(NS.dir, 'ethtool', ['-K', `${XDP}p`, 'tx', 'off'], { ignore: true });
    }
    if (isXdpNat(a)) {
      sh('ip', ['-n', NS.dir, 'route', 'del', `${VIP}/32`], { ignore: true });
      this.earlyDemux(true);
      for (const ns of [NS.rs1, NS.rs2]) ipb(ns, [`route replace default via ${DIR_RS}`]);
    }
    if (isTwoIf(a)) {
      sh('ip', ['-n', NS.cl, 'route', 'del', `${VIP}/32`], { ignore: true });
      if (a === 'tunvs-xdp2') inNs(NS.cl, 'ethtool', ['-K', 'eth0', 'tx', 'on'], { ignore: true });
      for (const ns of [NS.rs1, NS.rs2]) ipb(ns, [`route replace default via ${DIR_RS}`]);
    }
    // The next anchor starts with no TIME_WAIT socket of this one. HAProxy's conn/s left
    // 22-31k at the client (wrk closes first through it), and connect() then searched the
    // ports they held: the anchor after it (the rotation keeps that one anchor, every
    // round) started its conn/s with them and its director idled (0.72 cores against
    // 0.90 for the same tunvsd after a clean client, run 20261205-042948-e2e).
    // (ss lists what it kills: tens of thousands of lines, not read)
    for (const ns of E2E.namespaces()) inNs(ns, 'sh', ['-c', 'ss -K state time-wait > /dev/null'], { ignore: true });
  }

  // ------------------------------------------------------------------------- measures

  async measure(a: Anchor, m: Metric): Promise<Sample> {
    const t = this.target(a);
    const cpu = cpuMeter(this.directorPid);
    let value: number;
    let note: string | undefined;
    if (m === 'conn_per_s' || m === 'keepalive_rps') {
      const tcpBefore = tcpCounters(t.ns);
      const tw = timeWaits(t.ns);
      const out = sh('ip', this.wrk(t, this.seconds, m === 'conn_per_s'), { timeoutMs: (this.seconds + 20) * 1000 });
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (!rps) throw new Error(`wrk output not understood:\n${out}`);
      value = Number(rps[1]);
      const errs = /Socket errors: (.*)/.exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      // what a low figure waited for: the client's latency, retransmits, and the TIME_WAIT
      // sockets it started with (ports an earlier anchor's connections still hold)
      const lat = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
      const tcp = tcpCounters(t.ns);
      const delta = (k: string): number => (tcp[k] ?? 0) - (tcpBefore[k] ?? 0);
      note = [
        errs?.[1],
        non2xx ? `non-2xx ${non2xx[1]}` : '',
        lat ? `latency avg ${lat[1]} max ${lat[3]}` : '',
        `client: ${delta('RetransSegs')} retransmitted segments, ${delta('TCPTimeouts')} timeouts, ${tw} TIME_WAIT at start`,
      ].filter(Boolean).join('; ');
    } else if (m === 'tcp_gbps') {
      const r = spawnSync('ip', this.iperf(t, this.seconds), { encoding: 'utf8', timeout: (this.seconds + 20) * 1000 });
      let j: { end?: { sum_received?: { bits_per_second?: number } }; error?: string } = {};
      try {
        j = JSON.parse(r.stdout) as typeof j;
      } catch {
        // below
      }
      const bps = j.end?.sum_received?.bits_per_second;
      if (!bps) throw new Error(`iperf3 failed: ${j.error ?? r.stderr ?? r.error}`);
      value = bps / 1e9;
    } else {
      const servers = isDr(a) ? [DNS.rs1, DNS.rs2] : [NS.rs1, NS.rs2];
      const xdpDev = isXdpNat(a) ? { ns: NS.dir, dev: XDP } : a === 'tunvs-xdp-dr' ? { ns: DNS.dir, dev: D_XDP } : null;
      const dropsBefore = xdpDev ? vethXdpDrops(xdpDev.ns, xdpDev.dev) : null;
      const before = servers.map(udpDelivered);
      const out = sh('ip', this.udpGen(t, this.seconds), { timeoutMs: (this.seconds + 20) * 1000 });
      await sleep(300); // let queued packets drain
      const after = servers.map(udpDelivered);
      const g = JSON.parse(out.trim().split('\n').pop()!) as { sent: number; seconds: number };
      const got = after.reduce((s, x, i) => s + x - before[i]!, 0);
      value = got / g.seconds;
      note = `offered ${si(g.sent / g.seconds)} pps, per server ${after.map((x, i) => si((x - before[i]!) / g.seconds)).join('/')}`;
      if (xdpDev && dropsBefore) {
        const d = vethXdpDrops(xdpDev.ns, xdpDev.dev);
        const per = (k: keyof typeof d): string => si((d[k] - dropsBefore[k]) / g.seconds);
        note += `; dropped before the director: ${per('ring')} pps at the veth's XDP ring (NAPI behind), ${per('redirect')} pps failed redirects (XSK RX ring full or no fill frame)`;
      }
    }
    const c = cpu();
    if (this.director && this.director.exitCode !== null) throw new Error(`the ${a} director exited:\n${this.directorLog}`);
    return { round: 0, value, cpu: c.proc, softirq: c.softirq, ...(note ? { note } : {}) };
  }
}

/** A namespace's TCP counters (Tcp: of /proc/net/snmp, TcpExt: of /proc/net/netstat, by name) */
function tcpCounters(ns: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const file of ['/proc/net/snmp', '/proc/net/netstat']) {
    const lines = inNs(ns, 'cat', [file], { ignore: true }).split('\n');
    for (let i = 0; i + 1 < lines.length; i += 1) {
      const [h, v] = [lines[i]!.split(/\s+/), lines[i + 1]!.split(/\s+/)];
      if (!/^Tcp(Ext)?:$/.test(h[0]!) || v[0] !== h[0]) continue;
      for (let k = 1; k < h.length; k++) out[h[k]!] = Number(v[k]);
    }
  }
  return out;
}

/** TCP sockets in TIME_WAIT in a namespace (`tw` of its /proc/net/sockstat) */
function timeWaits(ns: string): number {
  return Number(/^TCP:.*\btw (\d+)/m.exec(inNs(ns, 'cat', ['/proc/net/sockstat'], { ignore: true }))?.[1] ?? NaN);
}

/** UDP datagrams that reached the UDP layer of a namespace (delivered + no listener) */
function udpDelivered(ns: string): number {
  const snmp = inNs(ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp:'));
  const keys = snmp[0]!.split(/\s+/);
  const vals = snmp[1]!.split(/\s+/).map(Number);
  return vals[keys.indexOf('InDatagrams')]! + vals[keys.indexOf('NoPorts')]!;
}

/**
 * Frames the director's veth dropped before its AF_XDP socket saw them: `ring`, the peer's
 * transmit into the veth's XDP ring (full: the veth's NAPI poll is behind), and `redirect`,
 * XDP redirects to the socket that failed (its RX ring full, or no frame in the fill ring),
 * which veth counts as receive drops (ethtool -S rx_queue_N_drops).
 */
function vethXdpDrops(ns: string, dev: string): { ring: number; redirect: number } {
  let redirect = 0;
  for (const line of inNs(ns, 'ethtool', ['-S', dev], { ignore: true }).split('\n')) {
    const m = /rx_queue_\d+_drops:\s*(\d+)/.exec(line);
    if (m) redirect += Number(m[1]);
  }
  let ring = 0;
  try {
    const j = JSON.parse(inNs(ns, 'ip', ['-s', '-j', 'link', 'show', `${dev}p`], { ignore: true })) as { stats64?: { tx?: { dropped?: number } } }[];
    ring = j[0]?.stats64?.tx?.dropped ?? 0;
  } catch {
    // no figure
  }
  return { ring, redirect };
}

/** Top self-time functions of .cpuprofile files in a directory */
function profileSummary(dir: string, top = 15): { fn: string; self_pct: number }[] {
  if (!existsSync(dir)) return [];
  const self = new Map<string, number>();
  let total = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const name = new Map<number, string>();
    for (const n of p.nodes) {
      const cf = n.callFrame;
      const file = cf.url.replace(/^file:\/\//, '').replace(root + '/', '');
      name.set(n.id, `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim());
    }
    p.samples.forEach((id, i) => {
      const dt = p.timeDeltas[i] ?? 0;
      const k = name.get(id) ?? '?';
      self.set(k, (self.get(k) ?? 0) + dt);
      total += dt;
    });
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, t]) => ({ fn, self_pct: Number(((100 * t) / total).toFixed(1)) }));
}

const round3 = (x: number | null): number | null => (x === null ? null : Number(x.toFixed(3)));

async function run(opts: SuiteOptions): Promise<Record<string, unknown>> {
  const rounds = opts.quick ? 1 : Number(process.env.E2E_ROUNDS ?? 3);
  const seconds = opts.quick ? 2 : Number(process.env.E2E_SECONDS ?? 4);
  const profile = process.argv.includes('--profile');
  const only = opts.args.filter((a): a is Anchor => ([...ANCHORS, ...XDP_VARIANTS, ...TWO_IF_VARIANTS] as readonly string[]).includes(a));
  // tunvs-packet and tunvs-packet2 (the faster kernel-bypass link on veth) run by default too; tunvs-xdp-2w when named
  const anchors: Anchor[] = only.length ? only : [...ANCHORS, 'tunvs-packet', 'tunvs-packet2'];
  const profileDir = profile ? join(root, 'bench/results', `e2e-prof-${new Date().toISOString().slice(0, 10)}`) : null;
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  const b = new E2E(seconds, profileDir);
  const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
  const samples = {} as Record<Anchor, Record<Metric, Sample[]>>;
  for (const a of anchors) samples[a] = { conn_per_s: [], keepalive_rps: [], tcp_gbps: [], udp_pps: [] };
  const errors: string[] = [];
  const cleanup = (): void => b.cleanup();
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('exit', cleanup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // hard bound for the whole suite
  const budgetMs = (rounds * anchors.length * (4 * (seconds + 4) + 40) + 120) * 1000;
  const watchdog = setTimeout(() => {
    log(`e2e: over the time budget (${budgetMs / 1000} s), aborting`);
    cleanup();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();
  try {
    b.build();
    b.topology();
    await b.services();
    log(`topology up (namespaces ${E2E.namespaces().join(' ')}); ${rounds} round(s) of ${seconds} s runs, pinned: ${b.pin}`);
    for (let r = 0; r < rounds; r++) {
      const order = anchors.slice(r % anchors.length).concat(anchors.slice(0, r % anchors.length));
      for (const a of order) {
        try {
          try {
            await b.setup(a);
          } catch (e) {
            // the tree is shared (someone may be rebuilding the addon): one more try
            log(`  round ${r + 1} ${a} setup failed, retrying: ${(e as Error).message.split('\n')[0]}`);
            await b.teardown(a);
            await sleep(3000);
            await b.setup(a);
          }
          for (const m of MEASURES[a]) {
            try {
              const s = await b.measure(a, m);
              s.round = r;
              samples[a][m].push(s);
              const cpuTxt = s.cpu !== null ? `director ${s.cpu.toFixed(2)} cores` : `softirq ${s.softirq.toFixed(2)} cores`;
              const v = m === 'tcp_gbps' ? `${s.value.toFixed(2)} Gbit/s` : si(s.value);
              log(`  round ${r + 1} ${a.padEnd(9)} ${m.padEnd(13)} ${v.padStart(14)}  ${cpuTxt}${s.note ? `  (${s.note})` : ''}`);
            } catch (e) {
              const msg = `round ${r + 1} ${a} ${m}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`;
              errors.push(msg);
              log(`  ${msg}`);
            }
          }
        } catch (e) {
          const msg = `round ${r + 1} ${a} setup: ${(e as Error).message.split('\n').slice(0, 8).join(' | ')}`;
          errors.push(msg);
          log(`  ${msg}`);
        } finally {
          await b.teardown(a);
        }
      }
    }
  } finally {
    clearTimeout(watchdog);
    process.removeListener('exit', cleanup);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cleanup();
  }

  const figures: Record<string, Record<string, unknown>> = {};
  for (const a of anchors) {
    const f: Record<string, unknown> = {};
    const dcpu: Record<string, number | null> = {};
    const soft: Record<string, number | null> = {};
    for (const m of METRICS) {
      const xs = samples[a][m];
      const v = median(xs.map((s) => s.value));
      f[m] = v === null ? null : m === 'tcp_gbps' ? round3(v) : Math.round(v);
      const procCpu = median(xs.filter((s) => s.cpu !== null).map((s) => s.cpu!));
      const sirq = median(xs.map((s) => s.softirq));
      dcpu[m] = round3(procCpu ?? (a === 'route' || a === 'nft' ? sirq : null));
      soft[m] = round3(sirq);
    }
    f.director_cpu = dcpu;
    f.softirq_cpu = soft;
    f.director_cpu_kind = a === 'route' || a === 'nft' ? 'softirq (machine-wide)' : 'process utime+stime';
    f.samples = Object.fromEntries(METRICS.map((m) => [m, samples[a][m].map((s) => (m === 'tcp_gbps' ? round3(s.value) : Math.round(s.value)))]));
    figures[a] = f;
  }
  const ratios: Record<string, Record<string, number | null>> = {};
  const paired: Record<string, Record<string, number | null>> = {};
  const pairs: [Anchor, Anchor][] = [
    ['tunvs-nat', 'route'], ['tunvs-nat', 'nft'], ['tunvs-nat', 'haproxy'], ['tunvs-nat', 'c-tun'],
    ['tunvs-dr', 'route'], ['tunvs-dr', 'nft'], ['tunvs-dr', 'haproxy'], ['tunvs-dr', 'c-tun'],
    ['tunvs-xdp', 'nft'], ['tunvs-xdp', 'haproxy'], ['tunvs-xdp', 'tunvs-nat'],
    ['tunvs-xdp-dr', 'nft'], ['tunvs-xdp-dr', 'tunvs-dr'],
    ['tunvs-xdp2', 'nft'], ['tunvs-xdp2', 'haproxy'], ['tunvs-xdp2', 'tunvs-xdp'],
    ['tunvs-xdp-2w', 'nft'], ['tunvs-xdp-2w', 'tunvs-xdp'],
    ['tunvs-packet', 'nft'], ['tunvs-packet', 'haproxy'], ['tunvs-packet', 'tunvs-xdp'],
    ['tunvs-packet', 'tunvs-packet-nojit'],
    ['tunvs-packet2', 'nft'], ['tunvs-packet2', 'haproxy'], ['tunvs-packet2', 'tunvs-packet'], ['tunvs-packet2', 'tunvs-xdp2'],
    ['tunvs-packet2-cpus', 'nft'], ['tunvs-packet2-cpus', 'haproxy'], ['tunvs-packet2-cpus', 'tunvs-packet2'],
  ];
  for (const [x, y] of pairs) {
    if (!figures[x] || !figures[y]) continue;
    const r: Record<string, number | null> = {};
    for (const m of METRICS) {
      const a = figures[x][m] as number | null;
      const c = figures[y][m] as number | null;
      r[m] = a !== null && c !== null && c > 0 ? round3(a / c) : null;
    }
    ratios[`${x}/${y}`] = r;
    // the machine is shared: the median of per-round ratios resists drift between rounds
    const pr: Record<string, number | null> = {};
    for (const m of METRICS) {
      const per: number[] = [];
      for (const sx of samples[x][m]) {
        const sy = samples[y][m].find((s) => s.round === sx.round);
        if (sy && sy.value > 0) per.push(sx.value / sy.value);
      }
      pr[m] = round3(median(per));
    }
    paired[`${x}/${y}`] = pr;
  }
  const ok = (k: string, m: Metric, bar: number, strict = false): boolean | null => {
    const v = ratios[k]?.[m];
    return v === null || v === undefined ? null : strict ? v > bar : v >= bar;
  };
  const targets: Record<string, Record<string, boolean | null>> = {};
  for (const t of ['tunvs-nat', 'tunvs-dr']) {
    if (!figures[t]) continue;
    targets[t] = {
      'conn_per_s >= nft': ok(`${t}/nft`, 'conn_per_s', 1),
      'conn_per_s > haproxy': ok(`${t}/haproxy`, 'conn_per_s', 1, true),
      'keepalive_rps >= haproxy': ok(`${t}/haproxy`, 'keepalive_rps', 1),
      'tcp_gbps >= haproxy': ok(`${t}/haproxy`, 'tcp_gbps', 1),
      'udp_pps >= 0.8 c-tun': ok(`${t}/c-tun`, 'udp_pps', 0.8),
    };
  }

  // issue 18's targets for the kernel-bypass director
  // tunvs-packet: the same targets for the other kernel-bypass link (AF_PACKET with GSO)
  for (const x of ['tunvs-xdp', 'tunvs-xdp2', 'tunvs-packet', 'tunvs-packet2', 'tunvs-packet2-cpus'] as const) {
    if (!figures[x]) continue;
    targets[x] = {
      'conn_per_s >= nft': ok(`${x}/nft`, 'conn_per_s', 1),
      'conn_per_s >= 1.2 haproxy': ok(`${x}/haproxy`, 'conn_per_s', 1.2),
      'keepalive_rps >= nft': ok(`${x}/nft`, 'keepalive_rps', 1),
      'tcp_gbps >= haproxy': ok(`${x}/haproxy`, 'tcp_gbps', 1),
      'udp_pps >= nft': ok(`${x}/nft`, 'udp_pps', 1),
    };
  }

  const fmt = (m: Metric, v: unknown): string =>
    v === null || v === undefined ? '-' : m === 'tcp_gbps' ? (v as number).toFixed(2) : si(v as number);
  log(
    '\n' +
      table([
        ['anchor', 'conn/s', 'keep-alive req/s', 'TCP Gbit/s', 'UDP pps', 'director cores (conn/ka/tcp/udp)'],
        ...anchors.map((a) => [
          a,
          ...METRICS.map((m) => fmt(m, figures[a]![m])),
          METRICS.map((m) => {
            const c = (figures[a]!.director_cpu as Record<string, number | null>)[m];
            return c === null || c === undefined ? '-' : c.toFixed(2);
          }).join('/'),
        ]),
      ]),
  );
  log(
    '\n' +
      table([
        ['ratio of medians (paired: median of per-round ratios)', ...METRICS],
        ...Object.entries(ratios).map(([k, r]) => [
          k,
          ...METRICS.map((m) => (r[m] === null ? '-' : `${r[m]!.toFixed(2)} (${paired[k]![m]?.toFixed(2) ?? '-'})`)),
        ]),
      ]),
  );
  for (const [t, tt] of Object.entries(targets)) {
    log(`targets ${t}: ${Object.entries(tt).map(([k, v]) => `${k}: ${v === null ? 'n/a' : v ? 'met' : 'MISSED'}`).join(', ')}`);
  }
  if (errors.length) log(`errors:\n  ${errors.join('\n  ')}`);
  const out: Record<string, unknown> = {
    anchors: figures,
    ratios,
    paired_ratios: paired,
    targets,
    loadavg: { start: loadStart, end: readFileSync('/proc/loadavg', 'utf8').trim() },
    rounds,
    seconds,
    errors,
    setup: {
      topology: 'client -> director -> 2 real servers (nginx 1 worker each, iperf3 -s), veth + bridge in network namespaces',
      wrk: 'wrk -t1 -c64 (conn_per_s adds -H "Connection: close")',
      iperf3: 'one stream, client -> VIP',
      udp: 'bench/tuntap/gen.c: 64-byte IPv4 datagrams (36-byte payload), one flow, sendmmsg batches of 64; counted at the real servers',
      haproxy: 'mode tcp, nbthread 1, maxconn 8000 (ulimit -n 20000), roundrobin; iperf3 backend balance source',
      nft: 'prerouting dnat numgen inc mod 2 (iperf3: jhash ip saddr mod 2)',
      tunvs: 'tunvsd single queue, vnetHdr true; rr for HTTP and UDP, sh for iperf3; NAT: masq on TUN, DR: route on TAP',
      'tunvs-xdp': 'tunvsd on AF_XDP (copy mode, veth peer on the servers\' bridge), NAT; the kernel routes client<->director (one extra forward, as for nft)',
      'tunvs-xdp2': 'tunvsd owning two interfaces on AF_XDP (copy mode): the client\'s veth and the veth on the servers\' bridge, NAT; no kernel forward in the director\'s namespace (client TX checksum offload off while measured)',
      'tunvs-xdp-2w': 'tunvs-xdp with two workers (two sockets on the one veth queue; not pinned: both CPUs, shared with the load)',
      'tunvs-packet': 'tunvs-xdp\'s veth over AF_PACKET with a vnet header (PACKET_VNET_HDR: GSO frames both ways), NAT; the peer keeps TSO and checksum offload; an nftables netdev ingress rule drops the host\'s copy',
      'tunvs-packet-nojit': 'tunvs-packet with V8\'s default JIT flags (TUNVS_JIT=default: inlining budgets, lazy feedback)',
      'tunvs-packet2': 'tunvs-xdp2\'s two interfaces over AF_PACKET with a vnet header (GSO both ways), NAT; no kernel forward in the director\'s namespace; nftables netdev ingress rules drop the host\'s copies (all on the servers\' veth, the VIP\'s on the client\'s)',
      'tunvs-packet2-cpus': 'tunvs-packet2 with tunvsd\'s Director thread pinned to CPU 1 by its own "cpus": [1] instead of taskset on the process (V8\'s compiler and GC threads on either CPU)',
      pinning: 'client tools on CPU 0, userspace directors on CPU 1 (2-CPU machine, shared)',
    },
  };
  if (profileDir) {
    const prof: Record<string, unknown> = {};
    for (const k of ['nat', 'dr', 'xdp-nat', 'xdp-dr', 'xdp2']) if (existsSync(join(profileDir, k))) prof[k] = profileSummary(join(profileDir, k));
    out.profile = { dir: profileDir, top_self_time: prof };
    for (const [k, v] of Object.entries(prof)) {
      log(`\ntunvsd ${k} CPU profile, top self time:`);
      for (const row of v as { fn: string; self_pct: number }[]) log(`  ${String(row.self_pct).padStart(5)}%  ${row.fn}`);
    }
  }
  return out;
}

/** The e2e suite: tunvsd (NAT on TUN, DR on TAP) against routing, nftables, HAProxy and a C forwarder. */
export const suite: Suite = {
  name: 'e2e',
  description: 'end to end in namespaces: tunvsd NAT/DR vs kernel routing, nftables DNAT, HAProxy, C TUN forwarder',
  needsRoot: true,
  run,
};
