/**
 * Two tunvsd directors in failover, for the issue 15 netns tests and the failover-gap
 * runner: VRRP moves the VIP (and for NAT/TUN the real servers' gateway), and
 * `lvs_sync_daemon eth2 VI_CLIENT` runs the IPVS sync protocol on a dedicated link (eth2).
 * One topology per forwarding method:
 *
 *   nat, tun (TUN device tv0):
 *     client 10.99.0.50 --[brc]-- d1 eth0 .1 / d2 eth0 .2     VIP 10.99.0.100 dev tv0 (VI_CLIENT)
 *     rsN 10.98.0.1N    --[brs]-- d1 eth1 .1 / d2 eth1 .2     gateway 10.98.0.254 (VI_GW)
 *     nat: replies from eth1 are routed into tv0 (rule iif eth1 lookup 100);
 *     tun: the real servers own the VIP on lo and run tunvs-realserver (this kernel has no
 *          ipip module); their replies go straight to the client through the gateway.
 *   dr (TAP device tv0 bridged with eth0 in br0; the director is 10.99.0.2N, MAC 02:99:00:00:01:0N):
 *     client 10.99.0.50, rsN 10.99.0.1N (VIP on lo) --[brc]-- d1/d2 br0 .1/.2
 *   sync: d1 eth2 10.97.0.1 --[bry]-- d2 eth2 10.97.0.2
 *
 * Every real server runs nginx (port 80: `/` answers its name, `/big` a paced download; port
 * 8080 answers its name; keep-alive 300 s) and a UDP echo on 9000 naming itself. The
 * virtual services: TCP VIP:80 rr, TCP VIP:8080 rr persistence_timeout 300, UDP VIP:9000 rr.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openLab, delay } from '../src/netns.js';
import type { Child, Lab, Teardownable } from '../src/netns.js';
import { ControlClient, runTunvsadm } from '@tunvs/cli';
import type { Test } from 'tap';
import { ROOT, TUNVSD } from '../fixtures/vrrp-lab.js';

export type Method = 'nat' | 'dr' | 'tun';
export const VIP = '10.99.0.100';
export const GW = '10.98.0.254';
export const CLIENT = '10.99.0.50';
export const HTTP_PORT = 80;
export const PERSIST_PORT = 8080;
export const UDP_PORT = 9000;
/** the persistent clients' source addresses (on the client's eth0 besides CLIENT) */
export const PERSIST_SOURCES = Array.from({ length: 8 }, (_, i) => `10.99.0.${51 + i}`);
const REALSERVER = join(ROOT, 'packages/realserver/dist/bin.js');

export const haveNginx = spawnSync('nginx', ['-v']).status === 0;
export const haveCurl = spawnSync('curl', ['--version']).status === 0;
export const haveCapture = spawnSync('tcpdump', ['--version']).status === 0 && spawnSync('tshark', ['--version']).status === 0;
/** Why a failover lab cannot run here (false when it can). */
export const FAILOVER_SKIP: string | false =
  (process.getuid?.() !== 0 && 'needs root') || (!haveNginx && 'needs nginx') || (!haveCurl && 'needs curl') || (!haveCapture && 'needs tcpdump and tshark') || false;

export interface Director {
  name: 'd1' | 'd2';
  ns: string;
  dir: string;
  proc: Child | null;
}
export interface RealServer {
  name: string;
  ns: string;
  ip: string;
}
export interface FailoverLabOptions {
  method: Method;
  /** real servers (default 2) */
  servers?: number;
  /** the download's size in bytes (0: none) */
  bigBytes?: number;
  /** keepalived's preempt_delay of the directors (s): how long a returning master waits */
  preemptDelay?: number;
  /** VRRP advert_int (s) */
  advert?: number;
  /** more client addresses (besides CLIENT and PERSIST_SOURCES) */
  clientAddresses?: string[];
  /** nginx worker_connections */
  nginxConnections?: number;
  /** namespace prefix (default TUNVS_LAB_PREFIX without its '-', or 'lfo') */
  prefix?: string;
}

/** A parsed `tunvsadm -L -c -n` line. */
export interface ConnLine {
  proto: string;
  state: string;
  client: string;
  virtual: string;
  dest: string;
}

/** A connection's key and content in a listing (the expiry left out: it differs by nature). */
export const connKey = (c: ConnLine): string => `${c.proto} ${c.client} ${c.virtual} ${c.dest} ${c.state}`;

/** Parse `-L -c -n` output (header lines skipped). */
export function parseConns(text: string): ConnLine[] {
  const out: ConnLine[] = [];
  for (const l of text.split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length < 6 || !/^(TCP|UDP|SCTP|IP)$/.test(f[0]!)) continue;
    out.push({ proto: f[0]!, state: f[2]!, client: f[3]!, virtual: f[4]!, dest: f[5]! });
  }
  return out;
}

export class FailoverLab {
  readonly lab: Lab;
  readonly work: string;
  readonly method: Method;
  readonly client: string;
  readonly servers: RealServer[] = [];
  readonly d1: Director;
  readonly d2: Director;
  readonly bigBytes: number;
  bigSha = '';
  private readonly sw: string;
  private port = 0;

  constructor(t: Teardownable, readonly opts: FailoverLabOptions) {
    this.method = opts.method;
    this.bigBytes = opts.bigBytes ?? 0;
    const prefix = opts.prefix ?? (process.env.TUNVS_LAB_PREFIX || 'lfo-').replace(/-+$/, '');
    this.lab = openLab(t, prefix);
    this.work = mkdtempSync(join(tmpdir(), `${prefix}-fo-`));
    chmodSync(this.work, 0o755);
    this.lab.onCleanup(() => rmSync(this.work, { recursive: true, force: true }));
    this.sw = this.lab.netns('sw');
    for (const br of this.method === 'dr' ? ['brc', 'bry'] : ['brc', 'brs', 'bry']) {
      this.lab.ip(this.sw, `link add ${br} type bridge mcast_snooping 0 stp_state 0 forward_delay 0`);
      this.lab.ip(this.sw, `link set ${br} up`);
    }
    this.lab.exec(this.sw, 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0']);
    this.client = this.lab.netns('cl');
    this.plug(this.client, 'eth0', 'brc', `${CLIENT}/24`);
    // the client paces the download by reading (failover-load.mjs): with the default receive
    // buffer autotuning may grow the socket's buffer to megabytes, the real server then sends
    // the rest of the file at once and the connection falls silent at the director (no
    // packet, so no sync record: a returning master cannot learn it, as with the kernel);
    // a small buffer keeps the client's ACKs and window updates flowing while it reads
    this.sysctls(this.client, [['net.ipv4.tcp_rmem', '4096 131072 262144']]);
    for (const a of [...PERSIST_SOURCES, ...(opts.clientAddresses ?? [])]) this.lab.ip(this.client, `addr add ${a}/24 dev eth0`);
    this.d1 = { name: 'd1', ns: '', dir: '', proc: null };
    this.d2 = { name: 'd2', ns: '', dir: '', proc: null };
  }

  /** A veth from `ns` (device `dev`, address `addr`) to a bridge port in the switch. */
  private plug(ns: string, dev: string, br: string, addr: string | null): void {
    const p = `q${++this.port}`;
    this.lab.ip(ns, `link add ${dev} type veth peer name ${p} netns ${this.sw}`);
    if (addr) this.lab.ip(ns, `addr add ${addr} dev ${dev}`);
    this.lab.ip(ns, `link set ${dev} up`);
    this.lab.ip(this.sw, `link set ${p} master ${br}`);
    this.lab.ip(this.sw, `link set ${p} up`);
  }

  private sysctls(ns: string, kv: [string, string][]): void {
    for (const [k, v] of kv) {
      const r = this.lab.exec(ns, 'sysctl', ['-qw', `${k}=${v}`]);
      if (r.status !== 0) throw new Error(`sysctl ${k}=${v} in ${ns}: ${r.stderr}`);
    }
  }

  /** Build everything and start both directors (d1 priority 150, d2 100); d1 ends MASTER. */
  async setUp(): Promise<void> {
    const n = this.opts.servers ?? 2;
    const dr = this.method === 'dr';
    // the download: one file, its bytes from a multiplicative hash (no zero runs)
    const www = join(this.work, 'www');
    mkdirSync(www, { recursive: true });
    if (this.bigBytes > 0) {
      const blob = Buffer.alloc(this.bigBytes);
      for (let i = 0; i + 4 <= this.bigBytes; i += 4) blob.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
      writeFileSync(join(www, 'big'), blob);
      this.bigSha = createHash('sha256').update(blob).digest('hex');
    }
    for (let i = 1; i <= n; i++) {
      const ns = this.lab.netns(`rs${i}`);
      const ip = dr ? `10.99.0.${10 + i}` : `10.98.0.${10 + i}`;
      this.plug(ns, 'eth0', dr ? 'brc' : 'brs', `${ip}/24`);
      if (!dr) this.lab.ip(ns, `route add default via ${GW}`);
      // segments of the MTU, as on a wire: a veth takes 64 KiB TSO segments, and a download
      // of those draws so few ACKs (the incoming packets that re-sync it every sync_period)
      // that a returning master would not learn it before it preempts
      const off = this.lab.exec(ns, 'ethtool', ['-K', 'eth0', 'tso', 'off', 'gso', 'off']);
      if (off.status !== 0) throw new Error(`ethtool -K eth0 tso off gso off in ${ns}: ${off.stderr}`);
      if (this.method !== 'nat') {
        // LVS-DR/TUN real server: the VIP on lo, never answered or announced on the wire
        this.sysctls(ns, [
          ['net.ipv4.conf.all.arp_ignore', '1'], ['net.ipv4.conf.all.arp_announce', '2'],
          ['net.ipv4.conf.eth0.arp_ignore', '1'], ['net.ipv4.conf.eth0.arp_announce', '2'],
        ]);
        this.lab.ip(ns, `addr add ${VIP}/32 dev lo`);
      }
      const rs = { name: `rs${i}`, ns, ip };
      this.servers.push(rs);
      await this.startNginx(rs, www);
      // the UDP echo must answer from the address the client sent to: the VIP for DR/TUN
      const udp = this.lab.spawnNode(ns, 'fixtures/udp-reply.mjs', ['--addr', this.method === 'nat' ? ip : VIP, '--port', String(UDP_PORT), '--reply', `${rs.name} `]);
      await udp.json((m) => m.ready === true);
      if (this.method === 'tun') {
        const pid = join(this.work, `${rs.name}-realserver.pid`);
        const dec = this.lab.spawn(ns, process.execPath, [REALSERVER, '--interface', 'eth0', '--tun', 'tunvs-rs0', '--pidfile', pid, '--quiet'], `tunvs-realserver ${rs.name}`);
        await this.until(() => existsSync(pid) || dec.exitCode !== null, 15_000, `tunvs-realserver in ${rs.name}`);
        if (dec.exitCode !== null) throw new Error(`tunvs-realserver ${rs.name}: ${dec.stderr}`);
      }
    }

    for (const d of [this.d1, this.d2]) {
      const k = d.name === 'd1' ? 1 : 2;
      d.ns = this.lab.netns(d.name);
      d.dir = join(this.work, d.name);
      mkdirSync(d.dir, { recursive: true });
      this.plug(d.ns, 'eth0', 'brc', dr ? null : `10.99.0.${k}/24`);
      if (!dr) this.plug(d.ns, 'eth1', 'brs', `10.98.0.${k}/24`);
      this.plug(d.ns, 'eth2', 'bry', `10.97.0.${k}/24`);
      let extra = '';
      if (dr) {
        // the kernel host sits on the bridge (health checks start there); the Director is a
        // host of its own on the TAP port
        this.lab.ip(d.ns, 'link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0');
        this.lab.ip(d.ns, `addr add 10.99.0.${k}/24 dev br0`);
        this.lab.ip(d.ns, 'tuntap add dev tv0 mode tap');
        this.lab.ip(d.ns, 'link set eth0 master br0');
        this.lab.ip(d.ns, 'link set tv0 master br0');
        for (const dev of ['br0', 'tv0']) this.lab.ip(d.ns, `link set ${dev} up`);
        this.sysctls(d.ns, [['net.ipv4.ip_forward', '0']]);
        extra = `mode tap\naddress 10.99.0.${20 + k}/24\nmac 02:99:00:00:01:0${k}\n`;
      } else {
        this.lab.ip(d.ns, 'tuntap add dev tv0 mode tun');
        this.lab.ip(d.ns, 'link set tv0 up');
        this.sysctls(d.ns, [
          ['net.ipv4.ip_forward', '1'], ['net.ipv4.conf.all.rp_filter', '0'], ['net.ipv4.conf.default.rp_filter', '0'],
          ['net.ipv4.conf.eth0.rp_filter', '0'], ['net.ipv4.conf.eth1.rp_filter', '0'], ['net.ipv4.conf.tv0.rp_filter', '0'],
          ['net.ipv4.tcp_early_demux', '0'],
        ]);
        if (this.method === 'nat') {
          // replies from the real servers come back through the gateway into the TUN device
          this.lab.ip(d.ns, 'rule add iif eth1 lookup 100');
          this.lab.ip(d.ns, 'route add default dev tv0 table 100');
        } else {
          // the IPIP packets the Director writes carry this host's eth1 address as source
          this.sysctls(d.ns, [['net.ipv4.conf.tv0.accept_local', '1']]);
          extra = `source_address 10.98.0.${k}\n`;
        }
        extra = `mode tun\n${extra}`;
      }
      writeFileSync(join(d.dir, 'keepalived.conf'), this.keepalivedConf(k === 1 ? 150 : 100));
      // sloppy_tcp 1, as a failover pair runs: a connection whose handshake went through one
      // director and whose next segment reaches the other before any sync record of it was
      // sent (the kernel syncs a TCP connection from its 3rd incoming packet, and sends a
      // message when it is full or 2 s old) is scheduled again there, onto the same real
      // server through the persistence template, instead of dropped for want of a SYN
      writeFileSync(join(d.dir, 'tunvsd.conf'), `keepalived_conf keepalived.conf\ndevice tv0\n${extra}sloppy_tcp 1\ncontrol_socket ${join(d.dir, 'sock')}\n`);
    }
    await Promise.all([this.start(this.d1), this.start(this.d2)]);
    await this.waitRoles(this.d1, this.d2, 10_000);
    // the health checkers have found the real servers: every one answers through the VIP
    for (const port of [HTTP_PORT, PERSIST_PORT]) {
      await this.until(() => {
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) seen.add(this.lab.exec(this.client, 'curl', ['-s', '-m', '1', `http://${VIP}:${port}/`]).stdout.trim());
        return port === PERSIST_PORT ? [...seen].some((s) => s.startsWith('rs')) : seen.size === n && [...seen].every((s) => s.startsWith('rs'));
      }, 15_000, `the real servers answering on ${VIP}:${port}`);
    }
  }

  private async startNginx(rs: RealServer, www: string): Promise<void> {
    const nd = join(this.work, `nginx-${rs.name}`);
    mkdirSync(nd, { recursive: true });
    const listen = (p: number): string => (this.method === 'nat' ? `${rs.ip}:${p}` : String(p));
    writeFileSync(join(nd, 'nginx.conf'), `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile ${(this.opts.nginxConnections ?? 1024) * 2 + 64};
pid ${nd}/nginx.pid;
error_log ${nd}/error.log warn;
events { worker_connections ${this.opts.nginxConnections ?? 1024}; }
http {
    access_log off;
    keepalive_timeout 300;
    keepalive_requests 1000000;
    client_body_temp_path ${nd}/body;
    proxy_temp_path ${nd}/proxy;
    fastcgi_temp_path ${nd}/fastcgi;
    uwsgi_temp_path ${nd}/uwsgi;
    scgi_temp_path ${nd}/scgi;
    default_type text/plain;
    server {
        listen ${listen(HTTP_PORT)};
        root ${www};
        location = / { return 200 "${rs.name}\\n"; }
        location = /big { }
    }
    server {
        listen ${listen(PERSIST_PORT)};
        location / { return 200 "${rs.name}\\n"; }
    }
}
`);
    const ng = this.lab.spawn(rs.ns, 'nginx', ['-p', nd, '-c', join(nd, 'nginx.conf')], `nginx ${rs.name}`);
    await this.until(() => existsSync(join(nd, 'nginx.pid')) || ng.exitCode !== null, 5000, `nginx in ${rs.name}`);
    if (ng.exitCode !== null) throw new Error(`nginx ${rs.name}: ${ng.stderr}`);
  }

  keepalivedConf(prio: number): string {
    const dr = this.method === 'dr';
    const inst = (name: string, iface: string, vrid: number, vip: string): string => `vrrp_instance ${name} {
    state BACKUP
    interface ${iface}
    virtual_router_id ${vrid}
    priority ${prio}
    version 3
    advert_int ${this.opts.advert ?? 0.1}
    preempt_delay ${this.opts.preemptDelay ?? 6}
    virtual_ipaddress {
        ${vip}
    }
}
`;
    const kind = { nat: 'NAT', dr: 'DR', tun: 'TUN' }[this.method];
    const vs = (port: number, proto: 'TCP' | 'UDP', extra: string): string => `virtual_server ${VIP} ${port} {
    delay_loop 1
    lb_algo rr
    lb_kind ${kind}
    protocol ${proto}
${extra}${this.servers.map((s) => `    real_server ${s.ip} ${port} {
${proto === 'TCP' ? '        TCP_CHECK {\n            connect_timeout 3\n            retry 2\n            delay_before_retry 1\n        }\n' : ''}    }
`).join('')}}
`;
    const instances = dr
      ? inst('VI_CLIENT', 'tv0', 81, `${VIP}/24`)
      : `vrrp_sync_group VG_LVS {
    group {
        VI_CLIENT
        VI_GW
    }
}
${inst('VI_CLIENT', 'eth0', 81, `${VIP}/32 dev tv0`)}${inst('VI_GW', 'eth1', 82, `${GW}/24 dev eth1`)}`;
    return `global_defs {
    lvs_sync_daemon eth2 VI_CLIENT
}
${instances}
${vs(HTTP_PORT, 'TCP', '')}${vs(PERSIST_PORT, 'TCP', '    persistence_timeout 300\n')}${vs(UDP_PORT, 'UDP', '')}`;
  }

  /** Start a director's tunvsd and wait for its control socket. */
  async start(d: Director): Promise<void> {
    rmSync(join(d.dir, 'sock'), { force: true });
    d.proc = this.lab.spawn(d.ns, process.execPath, [TUNVSD, '-f', join(d.dir, 'tunvsd.conf')], `tunvsd ${d.name}`);
    await this.until(() => {
      if (d.proc!.exitCode !== null) throw new Error(`tunvsd ${d.name}: ${d.proc!.stderr}`);
      return existsSync(join(d.dir, 'sock'));
    }, 30_000, `tunvsd ${d.name}'s control socket`);
  }

  /** The state of all of a director's VRRP instances ('mixed …' when they differ, DOWN when it does not answer). */
  async groupState(d: Director): Promise<string> {
    try {
      const c = await ControlClient.connect(join(d.dir, 'sock'));
      try {
        const s = (await c.call('vrrpStatus')) as { instances: { state: string }[] };
        const states = new Set(s.instances.map((i) => i.state));
        return states.size === 1 ? [...states][0]! : `mixed ${[...states].join('/')}`;
      } finally {
        c.close();
      }
    } catch {
      return 'DOWN';
    }
  }

  /** Wait until `master` is MASTER and `backup` BACKUP, and their sync daemons have followed. */
  async waitRoles(master: Director, backup: Director, ms = 10_000): Promise<number> {
    const took = await this.until(async () => (await this.groupState(master)) === 'MASTER' && (await this.groupState(backup)) === 'BACKUP', ms, `${master.name} MASTER, ${backup.name} BACKUP`);
    await this.until(async () => (await this.tunvsadm(master, ['-L', '--daemon'])).includes('master sync daemon') && (await this.tunvsadm(backup, ['-L', '--daemon'])).includes('backup sync daemon'), ms, 'the sync daemons following VRRP');
    return took;
  }

  /** Poll `pred` every 50 ms; the time it took (ms), or throw after `ms`. */
  async until(pred: () => Promise<boolean> | boolean, ms: number, what: string): Promise<number> {
    const t0 = Date.now();
    while (!(await pred())) {
      if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await delay(50);
    }
    return Date.now() - t0;
  }

  /**
   * tunvsadm against a director, in this process (`runTunvsadm`, the code of the binary, with
   * the same output; a node process per listing would cost more than the listing).
   */
  async tunvsadm(d: Director, args: string[]): Promise<string> {
    let out = '';
    let err = '';
    const code = await runTunvsadm(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: { ...process.env, TUNVS_SOCKET: join(d.dir, 'sock') } });
    if (code !== 0) throw new Error(`tunvsadm ${args.join(' ')} (${d.name}): ${err}`);
    return out;
  }

  /** A director's connection table (`-L -c -n`), parsed. */
  async conns(d: Director): Promise<ConnLine[]> {
    return parseConns(await this.tunvsadm(d, ['-L', '-c', '-n']));
  }

  /** Crash a director: SIGKILL, then its links go down (the machine is gone). */
  async crash(d: Director): Promise<void> {
    d.proc!.kill();
    await d.proc!.wait(3000);
    for (const dev of this.method === 'dr' ? ['eth0', 'eth2'] : ['eth0', 'eth1', 'eth2']) this.lab.ip(d.ns, `link set ${dev} down`);
  }

  /**
   * Bring a crashed director back: what its dead VRRP left in the kernel is removed (as a
   * reboot would), its links come up and tunvsd starts (BACKUP first; it preempts after
   * preempt_delay).
   */
  async revive(d: Director): Promise<void> {
    if (this.method !== 'dr') {
      for (const args of [['addr', 'del', `${GW}/24`, 'dev', 'eth1'], ['route', 'del', `${VIP}/32`], ['neigh', 'del', 'proxy', VIP, 'dev', 'eth0']]) this.lab.exec(d.ns, 'ip', args);
    }
    for (const dev of this.method === 'dr' ? ['eth0', 'eth2'] : ['eth0', 'eth1', 'eth2']) this.lab.ip(d.ns, `link set ${dev} up`);
    await this.start(d);
  }

  /** A director's log lines about its real servers' health and its VRRP state (for a failure's report). */
  events(d: Director): string[] {
    return (d.proc?.stderr ?? '').split('\n').filter((l) => /check|down|vrrp transition|error|warn/i.test(l)).slice(-40);
  }

  /** The time (epoch ms) a director's log says it became MASTER (the last such line). */
  becameMaster(d: Director): number | null {
    const up = d.proc!.stderr.split('\n').filter((l) => l.includes('"vrrp transition"') && l.includes('"to":"MASTER"')).pop();
    return up ? Date.parse((JSON.parse(up) as { ts: string }).ts) : null;
  }

  /** A client-side capture (tcpdump -w) of what `filter` selects; stop() before reading it. */
  async capture(name: string, filter: string[]): Promise<{ pcap: string; stop: () => Promise<void> }> {
    const pcap = join(this.work, `${name}.pcap`);
    const cap = this.lab.spawn(this.client, 'tcpdump', ['-i', 'eth0', '--immediate-mode', '-n', '-s', '128', '-B', '8192', '-U', '-w', pcap, ...filter], `tcpdump ${name}`);
    await this.until(() => existsSync(pcap) || cap.exitCode !== null, 5000, 'tcpdump started');
    if (cap.exitCode !== null) throw new Error(`tcpdump: ${cap.stderr}`);
    await delay(300);
    return {
      pcap,
      stop: async () => {
        await delay(200);
        cap.proc.kill('SIGINT');
        await cap.wait(3000);
      },
    };
  }

  /** The client's load generator (fixtures/failover-load.mjs), started and ready. */
  async load(opts: { ka: number; kaInterval?: number; udpInterval?: number; persistInterval?: number; downloadRate?: number }): Promise<Child> {
    const dl = this.bigBytes > 0 ? ['--download', '/big', '--download-rate', String(opts.downloadRate ?? 1 << 20)] : [];
    const c = this.lab.spawnNode(this.client, 'fixtures/failover-load.mjs', [
      ...dl,
      '--ka', String(opts.ka), '--ka-port', String(HTTP_PORT), '--ka-interval', String(opts.kaInterval ?? 100),
      '--udp-port', String(UDP_PORT), '--udp-interval', String(opts.udpInterval ?? 10),
      '--persist-port', String(PERSIST_PORT), '--persist-src', PERSIST_SOURCES.join(','), '--persist-interval', String(opts.persistInterval ?? 200),
      VIP,
    ]);
    await c.json((m) => m.ready === true, 20_000);
    return c;
  }
}

/** Epoch seconds of the packets a capture holds that match a display filter. */
export function packetTimes(pcap: string, displayFilter: string): number[] {
  // (a 200 MB download's capture lists more than spawnSync's default 1 MiB of output)
  const r = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.time_epoch', '-Y', displayFilter], { encoding: 'utf8', timeout: 300_000, maxBuffer: 512 << 20 });
  if (r.status !== 0) throw new Error(`tshark: ${r.error ? String(r.error) : r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/**
 * The failover gap from a client-side capture: the longest silence (ms) between two
 * consecutive packets from the VIP in [at - 1 s, at + windowS], where `at` is the switch
 * (epoch ms). `null` when the capture has no packet after `at`.
 */
export function longestSilence(times: number[], atMs: number, windowS = 10): { gapMs: number; fromMs: number } | null {
  const at = atMs / 1000;
  const w = times.filter((x) => x >= at - 1 && x <= at + windowS).sort((a, b) => a - b);
  if (!w.some((x) => x > at)) return null;
  let best = { gapMs: 0, fromMs: 0 };
  for (let i = 1; i < w.length; i++) {
    const g = (w[i]! - w[i - 1]!) * 1000;
    if (g > best.gapMs) best = { gapMs: g, fromMs: (w[i - 1]! - at) * 1000 };
  }
  return best;
}

/** What the failover load reports (fixtures/failover-load.mjs). */
export interface LoadStats {
  ka: { port: number; server: string; requests: number; maxMs: number; error: string | null }[];
  udp: { sent: number; received: number; lost: number; port: number; servers: { server: string; first: number; last: number }[]; error: string | null };
  download: { port: number; status: number; length: number; bytes: number; sha256: string; done: boolean; error: string | null };
  persist: { rounds: number; requests: number; errors: string[]; bySource: Record<string, Record<string, number>> };
}

/** The result of one failover-and-fail-back run under load. */
export interface ScenarioResult {
  /** the master's connections of this client, and the ones the backup lacked, before the crash */
  beforeCrash: { master: ConnLine[]; missing: ConnLine[] };
  /** the takeover: ms from the crash until the backup was MASTER */
  takeoverMs: number;
  /** the returning master learnt every connection of the new master while still BACKUP */
  beforeFailback: { missing: ConnLine[]; stillBackup: boolean; kaRequestsMeanwhile: number };
  failbackMs: number;
  /** the download was still running at the crash and at the fail-back */
  downloadSpanned: { crash: boolean; failback: boolean };
  /** the download's sha256 is the file's */
  downloadShaOk: boolean;
  load: LoadStats;
  /** RST segments from the VIP in the client-side capture */
  rstFromVip: number;
  /** the longest silence of packets from the VIP around the crash and the fail-back (ms) */
  gap: { failover: number | null; failback: number | null };
}

/** The client's connections in a listing: the keep-alive/download ones, the UDP flow and the templates. */
export function clientConns(conns: ConnLine[]): ConnLine[] {
  const mine = new Set([CLIENT, ...PERSIST_SOURCES]);
  return conns.filter((c) => mine.has(c.client.split(':')[0]!) && c.virtual.startsWith(`${VIP}:`));
}

/** Of `want`, the connections `have` lacks (same tuple, destination and state). */
export function missingFrom(want: ConnLine[], have: ConnLine[]): ConnLine[] {
  const h = new Set(have.map(connKey));
  return want.filter((c) => !h.has(connKey(c)));
}

/**
 * The master's established connections that matter across a switch: the keep-alive ones and
 * the download (ESTABLISHED), the UDP flow and the persistence templates (short-lived
 * persistent connections come and go and are left out).
 */
function longLived(conns: ConnLine[], kaPorts: Set<number>, udpPort: number): ConnLine[] {
  return clientConns(conns).filter((c) => {
    const [addr, port] = c.client.split(':');
    // templates of the persistent clients (the set-up's probes from CLIENT leave one that no
    // traffic refreshes, as any idle entry)
    if (c.virtual.endsWith(`:${PERSIST_PORT}`)) return port === '0' && addr !== CLIENT;
    if (c.proto === 'UDP') return Number(port) === udpPort;
    return addr === CLIENT && kaPorts.has(Number(port)) && c.state === 'ESTABLISHED';
  });
}

/**
 * One run: load (keep-alive connections, the UDP flow, persistent clients, and the download
 * when the lab has one) through d1 as master; d1 crashes and d2 takes over; d1 comes back,
 * learns the connections from d2's sync daemon as BACKUP, and preempts; the load stops and
 * everything is measured. `log` gets progress lines.
 */
export async function failoverScenario(fl: FailoverLab, opts: { ka: number; kaInterval?: number; udpInterval?: number; holdMs?: number; downloadRate?: number }, log: (s: string) => void = () => {}): Promise<ScenarioResult> {
  const { d1, d2 } = fl;
  const hold = opts.holdMs ?? 1500;
  const T0 = Date.now();
  const say = (s: string): void => log(`+${((Date.now() - T0) / 1000).toFixed(1)} s: ${s}`);
  const cap = await fl.capture('client', ['src', 'host', VIP, 'or', '(tcp[tcpflags] & tcp-rst != 0)']);
  const load = await fl.load({ ka: opts.ka, kaInterval: opts.kaInterval, udpInterval: opts.udpInterval, downloadRate: opts.downloadRate });
  const s0 = await load.request<LoadStats>({ op: 'stats' });
  const kaPorts = new Set(s0.ka.map((c) => c.port));
  if (s0.download.port) kaPorts.add(s0.download.port);
  const dlRunning = async (): Promise<boolean> => {
    const d = (await load.request<LoadStats>({ op: 'stats' })).download;
    return d.port !== 0 && !d.done && d.error === null;
  };
  say('the load runs');
  await delay(hold);

  // before the crash: the backup holds what the master holds
  let master: ConnLine[] = [];
  let missing: ConnLine[] = [];
  try {
    await fl.until(async () => {
      master = longLived(await fl.conns(d1), kaPorts, s0.udp.port);
      missing = missingFrom(master, await fl.conns(d2));
      return missing.length === 0;
    }, 5000, 'the backup holding the master\'s connections');
  } catch {
    // reported through `missing`
  }
  say(`before the crash: d1 holds ${master.length} long-lived connections and templates of the client, d2 lacks ${missing.length}${missing.length ? `: ${missing.map(connKey).join(', ')}` : ''}`);
  const beforeCrash = { master, missing };

  const spannedCrash = fl.bigBytes > 0 && (await dlRunning());
  const killedAt = Date.now();
  await fl.crash(d1);
  const takeoverMs = await fl.until(async () => (await fl.groupState(d2)) === 'MASTER', 10_000, 'd2 MASTER');
  await fl.until(async () => (await fl.tunvsadm(d2, ['-L', '--daemon'])).includes('master sync daemon'), 5000, 'd2 running the master sync daemon');
  say(`d1 crashed; d2 MASTER after ${takeoverMs} ms`);
  await delay(hold);

  // fail-back: d1 returns as BACKUP and learns the connections before it preempts
  await fl.revive(d1);
  let back: ConnLine[] = [];
  let stillBackup = false;
  const kaBefore = (await load.request<LoadStats>({ op: 'stats' })).ka.reduce((a, c) => a + c.requests, 0);
  try {
    await fl.until(async () => {
      back = missingFrom(longLived(await fl.conns(d2), kaPorts, s0.udp.port), await fl.conns(d1));
      if (back.length > 0) return false;
      stillBackup = (await fl.groupState(d1)) === 'BACKUP';
      return true;
    }, 15_000, 'd1 holding d2\'s connections');
  } catch {
    // reported through `back`
  }
  if (back.length > 0) {
    const ports = new Set(back.map((c) => c.client));
    const l1 = (await fl.conns(d1)).filter((c) => ports.has(c.client)).map(connKey);
    say(`d1 holds for them: ${l1.join(', ') || 'nothing'}`);
    // d2's lines with their expiry (how long each has been silent) and which flow each is
    const l2 = (await fl.tunvsadm(d2, ['-L', '-c', '-n'])).split('\n').filter((l) => back.some((c) => l.includes(` ${c.client} `)));
    say(`d2 lists them as: ${l2.map((l) => l.trim().replace(/\s+/g, ' ')).join(' | ')} (the download's port is ${s0.download.port})`);
  }
  const kaAfter = (await load.request<LoadStats>({ op: 'stats' })).ka.reduce((a, c) => a + c.requests, 0);
  say(`d1 back as ${stillBackup ? 'BACKUP' : 'not BACKUP'}, lacking ${back.length} of d2's connections${back.length ? `: ${back.map(connKey).join(', ')}` : ''}`);
  const failbackMs = await fl.waitRoles(d1, d2, 20_000);
  const spannedFailback = fl.bigBytes > 0 && (await dlRunning());
  const failbackAt = fl.becameMaster(d1);
  say(`d1 MASTER again (${failbackMs} ms after it learnt the connections)`);
  await delay(hold);

  const final = await load.request<LoadStats>({ op: 'stop' }, 600_000);
  await load.stop();
  say(fl.bigBytes > 0 ? 'the load stopped (the download read to its end)' : 'the load stopped');
  await cap.stop();
  const rstFromVip = packetTimes(cap.pcap, `ip.src == ${VIP} && tcp.flags.reset == 1`).length;
  const fromVip = packetTimes(cap.pcap, `ip.src == ${VIP}`);
  const g1 = longestSilence(fromVip, killedAt);
  const g2 = failbackAt ? longestSilence(fromVip, failbackAt) : null;
  return {
    beforeCrash,
    takeoverMs,
    beforeFailback: { missing: back, stillBackup, kaRequestsMeanwhile: kaAfter - kaBefore },
    failbackMs,
    downloadSpanned: { crash: spannedCrash, failback: spannedFailback },
    downloadShaOk: final.download.sha256 === fl.bigSha,
    load: final,
    rstFromVip,
    gap: { failover: g1?.gapMs ?? null, failback: g2?.gapMs ?? null },
  };
}

/** The assertions every method's run shares. */
export function checkScenario(t: Test, r: ScenarioResult, opts: { ka: number; size: number }): void {
  t.same(r.beforeCrash.missing.map(connKey), [], `before the crash the backup holds all ${r.beforeCrash.master.length} connections and templates the master holds for the client`);
  t.ok(r.beforeCrash.master.some((c) => c.client.endsWith(':0')), 'the persistence templates are among them');
  t.ok(r.beforeCrash.master.some((c) => c.proto === 'UDP'), 'the UDP flow is among them');
  t.same(r.beforeFailback.missing.map(connKey), [], 'the returning master learnt every connection and template from the new master');
  t.ok(r.beforeFailback.stillBackup, 'it did so as BACKUP, before it preempted');
  const errs = r.load.ka.filter((c) => c.error !== null);
  t.same(errs, [], 'no keep-alive connection failed (reset, close or timeout)');
  t.equal(r.load.ka.length, opts.ka, `${opts.ka} keep-alive connections`);
  t.ok(r.load.ka.every((c) => c.requests > 10), `every keep-alive connection kept making requests (${r.load.ka.reduce((a, c) => a + c.requests, 0)} in all, the slowest answer ${Math.max(...r.load.ka.map((c) => c.maxMs))} ms)`);
  t.equal(new Set(r.load.ka.map((c) => c.server)).size, 2, 'the keep-alive connections are spread over both real servers (each stayed on its own: a change is an error)');
  if (opts.size > 0) {
    t.same(r.downloadSpanned, { crash: true, failback: true }, 'the download was running at the crash and at the fail-back');
    const d = r.load.download;
    t.same({ status: d.status, error: d.error, done: d.done }, { status: 200, error: null, done: true }, 'the download completed (no reset, no close, no timeout)');
    t.same([d.length, d.bytes], [opts.size, opts.size], 'every byte of the download arrived');
    t.ok(r.downloadShaOk, 'the download\'s sha256 is the file\'s');
  }
  t.equal(r.rstFromVip, 0, 'the client-side capture holds no RST from the VIP');
  const segs = r.load.udp.servers;
  t.equal(segs.length, 1, `the UDP flow stayed on one real server: ${JSON.stringify(segs)}`);
  t.ok(segs[0] && segs[0].last >= r.load.udp.sent - 50, 'and was answered until the end');
  t.comment(`UDP: ${r.load.udp.sent} datagrams sent, ${r.load.udp.lost} lost across the two switches`);
  t.same(r.load.persist.errors, [], 'no persistent client\'s connection failed');
  const moved = Object.entries(r.load.persist.bySource).filter(([, seen]) => Object.keys(seen).length !== 1);
  t.same(moved, [], `every persistent client stayed on its real server (${r.load.persist.requests} connections in ${r.load.persist.rounds} rounds)`);
  t.equal(Object.keys(r.load.persist.bySource).length, PERSIST_SOURCES.length, 'all persistent clients were served');
  t.equal(new Set(Object.values(r.load.persist.bySource).map((s) => Object.keys(s)[0])).size, 2, 'the persistent clients are spread over both real servers');
  t.comment(`takeover ${r.takeoverMs} ms; the client received nothing from the VIP for ${r.gap.failover?.toFixed(0) ?? '?'} ms around the crash and ${r.gap.failback?.toFixed(0) ?? '?'} ms around the fail-back`);
}

