/**
 * Issue 15 (a): director failover in LVS-NAT that loses no established connection. Two
 * tunvsd TUN directors run a VRRP sync group (VI_CLIENT: the service VIP on the client
 * side, VI_GW: the real server's default gateway) and `lvs_sync_daemon eth2 VI_CLIENT`, the
 * IPVS sync protocol on a dedicated link of its own. A real client runs a rate-limited
 * download (curl) and a keep-alive HTTP connection through the VIP to a real server (nginx;
 * without nginx the lab's rs-service.mjs). The master is SIGKILLed and its links go down (the
 * machine dies); the backup takes over with the connections its sync daemon received, and
 * the download completes with every byte and no reset, and the keep-alive connection's next
 * request is answered on the same socket. Then the old master comes back, preempts, and the
 * same holds again for a second download that spans the fail-back.
 *
 *   client 10.99.0.50 --[brc]-- d1 eth0 .1 / d2 eth0 .2        VIP 10.99.0.100 (VI_CLIENT)
 *   rs 10.98.0.11     --[brs]-- d1 eth1 .1 / d2 eth1 .2        gateway 10.98.0.254 (VI_GW)
 *                               d1 eth2 10.97.0.1 --[bry]-- d2 eth2 10.97.0.2   (sync)
 *
 * The client-side capture's longest silence in the download around each switch is printed
 * as a comment (a figure, not an assertion).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { isRoot, openLab, delay, run } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { ControlClient } from '@tunvs/cli';
import { ROOT, TUNVSD } from '../fixtures/vrrp-lab.js';

const VIP = '10.99.0.100';
const GW = '10.98.0.254';
const RS = '10.98.0.11';
const TUNVSADM = join(ROOT, 'packages/cli/dist/bin/tunvsadm.js');
/** the download: SIZE bytes at RATE bytes/s (curl's limit; it spans the switch) */
const SIZE = 8 * 1024 * 1024;
const RATE = 1024 * 1024;

const haveNginx = spawnSync('nginx', ['-v']).status === 0;
const haveCurl = spawnSync('curl', ['--version']).status === 0;
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0 && spawnSync('tshark', ['--version']).status === 0;

function conf(prio: number): string {
  const inst = (name: string, iface: string, vrid: number, vip: string): string => `vrrp_instance ${name} {
    state BACKUP
    interface ${iface}
    virtual_router_id ${vrid}
    priority ${prio}
    version 3
    advert_int 0.1
    preempt_delay 2
    virtual_ipaddress {
        ${vip}
    }
}
`;
  return `global_defs {
    lvs_sync_daemon eth2 VI_CLIENT
}
vrrp_sync_group VG_NAT {
    group {
        VI_CLIENT
        VI_GW
    }
}
${inst('VI_CLIENT', 'eth0', 71, `${VIP}/32 dev tv0`)}${inst('VI_GW', 'eth1', 72, `${GW}/24 dev eth1`)}
virtual_server ${VIP} 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server ${RS} 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;
}

/**
 * The silence around `at` (epoch s) in the packets the client received from the VIP on one
 * TCP stream: from the last one before `at` to the first one after it (ms), and when the
 * first one after it came (ms after `at`).
 */
function silence(pcap: string, clientPort: number, at: number): { gapMs: number; resumedMs: number } | null {
  const r = run('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.time_epoch', '-Y', `ip.src == ${VIP} && tcp.port == ${clientPort}`], { timeoutMs: 30_000 });
  const times = r.stdout.split('\n').filter(Boolean).map(Number);
  const before = times.filter((x) => x <= at).pop();
  const after = times.find((x) => x > at);
  if (before === undefined || after === undefined) return null;
  return { gapMs: (after - before) * 1000, resumedMs: (after - at) * 1000 };
}

t.test('(a) LVS-NAT failover with connection sync: a download and a keep-alive connection survive the master\'s death and the fail-back', {
  skip: (!isRoot() && 'needs root') || (!haveCurl && 'needs curl'),
}, async (t) => {
  // TUNVS_LAB_PREFIX ends with '-' (scripts/lab's form); openLab adds its own
  const lab = openLab(t, (process.env.TUNVS_LAB_PREFIX || 'lsy-').replace(/-+$/, ''));
  const work = mkdtempSync(join(tmpdir(), 'lsy-a-'));
  chmodSync(work, 0o755);
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const sw = lab.netns('sw');
  for (const br of ['brc', 'brs', 'bry']) {
    lab.ip(sw, `link add ${br} type bridge mcast_snooping 0 stp_state 0 forward_delay 0`);
    lab.ip(sw, `link set ${br} up`);
  }
  lab.exec(sw, 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0']);
  let port = 0;
  const plug = (ns: string, dev: string, br: string, addr: string): void => {
    const p = `q${++port}`;
    lab.ip(ns, `link add ${dev} type veth peer name ${p} netns ${sw}`);
    lab.ip(ns, `addr add ${addr} dev ${dev}`);
    lab.ip(ns, `link set ${dev} up`);
    lab.ip(sw, `link set ${p} master ${br}`);
    lab.ip(sw, `link set ${p} up`);
  };
  const client = lab.netns('cl');
  plug(client, 'eth0', 'brc', '10.99.0.50/24');

  // the real server: nginx serving a file of SIZE random bytes (else rs-service's /bytes/N)
  const rs = lab.netns('rs');
  plug(rs, 'eth0', 'brs', `${RS}/24`);
  lab.ip(rs, `route add default via ${GW}`);
  let bigPath: string;
  let bigSha: string | null = null;
  if (haveNginx) {
    const www = join(work, 'www');
    mkdirSync(www, { recursive: true });
    const blob = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i += 4096) blob.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeFileSync(join(www, 'big'), blob);
    writeFileSync(join(www, 'index.html'), 'rs1\n');
    bigSha = createHash('sha256').update(blob).digest('hex');
    bigPath = '/big';
    const nd = join(work, 'nginx');
    mkdirSync(nd, { recursive: true });
    writeFileSync(join(nd, 'nginx.conf'), `daemon off;
master_process off;
worker_processes 1;
pid ${nd}/nginx.pid;
error_log ${nd}/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    keepalive_timeout 300;
    keepalive_requests 10000;
    client_body_temp_path ${nd}/body;
    proxy_temp_path ${nd}/proxy;
    fastcgi_temp_path ${nd}/fastcgi;
    uwsgi_temp_path ${nd}/uwsgi;
    scgi_temp_path ${nd}/scgi;
    server {
        listen ${RS}:80;
        root ${www};
        location = /big {
            limit_rate ${RATE};
        }
    }
}
`);
    const ng = lab.spawn(rs, 'nginx', ['-p', nd, '-c', join(nd, 'nginx.conf')], 'nginx');
    for (let i = 0; i < 100 && !existsSync(join(nd, 'nginx.pid')); i++) await delay(50);
    if (!existsSync(join(nd, 'nginx.pid'))) throw new Error(`nginx did not start: ${ng.stderr}`);
  } else {
    const svc = lab.spawn(rs, process.execPath, [join(ROOT, 'scripts/lab.d/rs-service.mjs'), '--name', 'rs1', '--http-port', '80', '--pidfile', join(work, 'rs.pid')], 'rs-service');
    for (let i = 0; i < 100 && !existsSync(join(work, 'rs.pid')); i++) await delay(50);
    if (!existsSync(join(work, 'rs.pid'))) throw new Error(`rs-service did not start: ${svc.stderr}`);
    bigPath = `/bytes/${SIZE}`;
  }

  const dirs: { ns: string; dir: string; proc: Child | null; name: string }[] = [];
  for (const [n, prio] of [[1, 150], [2, 100]] as const) {
    const ns = lab.netns(`d${n}`);
    plug(ns, 'eth0', 'brc', `10.99.0.${n}/24`);
    plug(ns, 'eth1', 'brs', `10.98.0.${n}/24`);
    plug(ns, 'eth2', 'bry', `10.97.0.${n}/24`);
    lab.ip(ns, 'tuntap add dev tv0 mode tun');
    lab.ip(ns, 'link set tv0 up');
    for (const [k, v] of [
      ['net.ipv4.ip_forward', '1'], ['net.ipv4.conf.all.rp_filter', '0'], ['net.ipv4.conf.default.rp_filter', '0'], ['net.ipv4.conf.eth0.rp_filter', '0'],
      ['net.ipv4.conf.eth1.rp_filter', '0'], ['net.ipv4.conf.tv0.rp_filter', '0'], ['net.ipv4.tcp_early_demux', '0'],
    ]) lab.exec(ns, 'sysctl', ['-qw', `${k}=${v}`]);
    // replies from the real server come back through the gateway into the TUN device
    lab.ip(ns, 'rule add iif eth1 lookup 100');
    lab.ip(ns, 'route add default dev tv0 table 100');
    const dir = join(work, `d${n}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'keepalived.conf'), conf(prio));
    writeFileSync(join(dir, 'tunvsd.conf'), `keepalived_conf keepalived.conf\ndevice tv0\nmode tun\ncontrol_socket ${join(dir, 'sock')}\n`);
    dirs.push({ ns, dir, proc: null, name: `d${n}` });
  }
  const [d1, d2] = dirs as [(typeof dirs)[0], (typeof dirs)[0]];

  const start = async (d: typeof d1): Promise<void> => {
    rmSync(join(d.dir, 'sock'), { force: true });
    d.proc = lab.spawn(d.ns, process.execPath, [TUNVSD, '-f', join(d.dir, 'tunvsd.conf')], `tunvsd ${d.name}`);
    for (let i = 0; i < 600 && !existsSync(join(d.dir, 'sock')); i++) {
      if (d.proc.exitCode !== null) throw new Error(`tunvsd ${d.name}: ${d.proc.stderr}`);
      await delay(50);
    }
    if (!existsSync(join(d.dir, 'sock'))) throw new Error(`tunvsd ${d.name}: no control socket: ${d.proc.stderr}`);
  };
  const groupState = async (d: typeof d1): Promise<string> => {
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
  };
  const until = async (pred: () => Promise<boolean> | boolean, ms: number, what: string): Promise<number> => {
    const t0 = Date.now();
    while (!(await pred())) {
      if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await delay(50);
    }
    return Date.now() - t0;
  };
  const tunvsadm = (d: typeof d1, args: string[]): string => {
    const r = spawnSync(process.execPath, [TUNVSADM, ...args], { env: { ...process.env, TUNVS_SOCKET: join(d.dir, 'sock') }, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tunvsadm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** the -L -c -n lines of the client's connections from this source port */
  const holds = (d: typeof d1, cport: number): string[] => tunvsadm(d, ['-L', '-c', '-n']).split('\n').filter((l) => l.includes(`10.99.0.50:${cport} `) && l.includes(`${VIP}:80`));
  /** crash a director: SIGKILL, then its links go down (the machine is gone) */
  const crash = async (d: typeof d1): Promise<void> => {
    d.proc!.kill();
    await d.proc!.wait(3000);
    lab.ip(d.ns, 'link set eth0 down');
    lab.ip(d.ns, 'link set eth1 down');
    lab.ip(d.ns, 'link set eth2 down');
  };

  await start(d1);
  await start(d2);
  await until(async () => (await groupState(d1)) === 'MASTER' && (await groupState(d2)) === 'BACKUP', 8000, 'd1 MASTER, d2 BACKUP');
  t.match(tunvsadm(d1, ['-L', '--daemon']), /master sync daemon \(mcast=eth2, syncid=71[,)]/, 'd1 runs the master sync daemon on eth2');
  t.match(tunvsadm(d2, ['-L', '--daemon']), /backup sync daemon \(mcast=eth2, syncid=71[,)]/, 'd2 runs the backup sync daemon on eth2');
  // the health checker has found the real server
  await until(() => lab.exec(client, 'curl', ['-s', '-m', '1', `http://${VIP}/`]).stdout.trim() !== '', 10_000, 'the real server answering through the VIP');

  const pcap = join(work, 'client.pcap');
  let cap: Child | null = null;
  if (haveTcpdump) {
    cap = lab.spawn(client, 'tcpdump', ['-i', 'eth0', '-n', '-s', '96', '-U', '-w', pcap, 'tcp', 'port', '80'], 'tcpdump');
    await until(() => existsSync(pcap), 5000, 'tcpdump started');
    await delay(300);
  }

  const ka = lab.spawnNode(client, 'fixtures/keepalive-client.mjs', [VIP, '80']);
  await ka.json((m) => m.ready === true);
  type Ka = { status?: number; bytes?: number; localPort?: number; firstPort?: number; reused?: boolean; error?: string };
  const k1 = await ka.request<Ka>({ op: 'get', path: '/' });
  t.match(k1, { status: 200, reused: false }, 'keep-alive connection: first request answered');

  const download = (tag: string): { proc: Child; out: string } => {
    const out = join(work, `dl-${tag}`);
    // nginx paces the download itself (limit_rate: the flow is sender-limited, so a silence in
    // the capture is the director's, not a zero window); rs-service cannot, curl's limit does
    const limit = haveNginx ? [] : ['--limit-rate', String(RATE)];
    const proc = lab.spawn(client, 'curl', ['-sS', ...limit, '-m', '60', '-w', '%{local_port} %{size_download} %{http_code}\\n', '-o', out, `http://${VIP}${bigPath}`], `curl ${tag}`);
    return { proc, out };
  };
  const dlPort = async (what: string): Promise<number> => {
    let p = 0;
    await until(() => {
      const l = lab.exec(client, 'ss', ['-Htn', 'state', 'established', 'dst', `${VIP}:80`]).stdout.split('\n');
      for (const line of l) {
        const m = /10\.99\.0\.50:(\d+)/.exec(line);
        if (m && Number(m[1]) !== k1.localPort) p = Number(m[1]);
      }
      return p !== 0;
    }, 5000, `${what}: the download's connection`);
    return p;
  };
  const finished = async (dl: { proc: Child; out: string }, what: string): Promise<void> => {
    const code = await dl.proc.wait(60_000);
    t.equal(code, 0, `${what}: curl exits 0 (no reset, no timeout) ${dl.proc.stderr.trim()}`);
    const got = existsSync(dl.out) ? readFileSync(dl.out) : Buffer.alloc(0);
    t.equal(got.length, SIZE, `${what}: every byte arrived`);
    if (bigSha) t.equal(createHash('sha256').update(got).digest('hex'), bigSha, `${what}: the sha256 is the file's`);
  };
  const gap = (what: string, port: number, at: number): void => {
    if (!cap) return;
    const g = silence(pcap, port, at);
    t.comment(g ? `${what}: the client received nothing of the download for ${g.gapMs.toFixed(0)} ms around the switch (again ${g.resumedMs.toFixed(0)} ms after it)` : `${what}: no packets on both sides of the switch in the capture`);
  };

  // ---- failover: d1 dies in the middle of the download
  const dl1 = download('1');
  const p1 = await dlPort('failover');
  await delay(500);
  await until(() => holds(d2, p1).length > 0 && holds(d2, k1.localPort!).length > 0, 5000, 'd2 (backup) holding the synced connections');
  const before = [...holds(d2, p1), ...holds(d2, k1.localPort!)];
  t.ok(before.every((l) => l.includes('ESTABLISHED')) && before.length === 2, `before the crash d2's -L -c holds both connections, synced, ESTABLISHED:\n${before.join('\n')}`);
  t.equal(dl1.proc.exitCode, null, 'the download is still running when d1 dies');
  const killedAt = Date.now() / 1000;
  await crash(d1);
  const took = await until(async () => (await groupState(d2)) === 'MASTER', 5000, 'd2 MASTER');
  t.pass(`d2 took both instances ${took} ms after the crash`);
  await until(() => tunvsadm(d2, ['-L', '--daemon']).includes('master sync daemon'), 5000, 'd2 switching to the master sync daemon');
  await finished(dl1, 'download across the failover');
  const k2 = await ka.request<Ka>({ op: 'get', path: '/' });
  t.match(k2, { status: 200, reused: true, localPort: k1.localPort }, 'keep-alive connection: the next request after the failover is answered on the same socket');
  gap('failover', p1, killedAt);

  // ---- fail-back: d1 comes back and preempts while a second download runs
  for (const args of [['addr', 'del', `${GW}/24`, 'dev', 'eth1'], ['route', 'del', `${VIP}/32`], ['neigh', 'del', 'proxy', VIP, 'dev', 'eth0']]) lab.exec(d1.ns, 'ip', args);
  for (const dev of ['eth0', 'eth1', 'eth2']) lab.ip(d1.ns, `link set ${dev} up`);
  const dl2 = download('2');
  const p2 = await dlPort('fail-back');
  // d1 starts as BACKUP and waits preempt_delay (2 s) before it preempts: its backup sync
  // daemon learns the connections meanwhile. The download is re-synced every sync_period
  // packets; the keep-alive connection only when it carries traffic (as in the kernel, an
  // idle connection is not re-sent), so it makes requests until d1 holds it.
  await start(d1);
  let kaReqs = 0;
  await until(async () => {
    const r = await ka.request<Ka>({ op: 'get', path: '/' });
    if (r.status !== 200) throw new Error(`keep-alive request through d2 failed: ${JSON.stringify(r)}`);
    kaReqs++;
    return holds(d1, k1.localPort!).length > 0 && holds(d1, p2).length > 0;
  }, 8000, 'd1 (backup again) holding the synced connections');
  t.pass(`d1 learnt both connections from d2's sync daemon (${kaReqs} keep-alive requests meanwhile)`);
  await until(async () => (await groupState(d1)) === 'MASTER' && (await groupState(d2)) === 'BACKUP', 8000, 'd1 MASTER again, d2 BACKUP');
  await finished(dl2, 'download across the fail-back');
  const k4 = await ka.request<Ka>({ op: 'get', path: '/' });
  t.match(k4, { status: 200, reused: true, localPort: k1.localPort }, 'keep-alive connection: answered on the same socket after the fail-back');
  // the switch: d1's first transition to MASTER (its log's time)
  const up = d1.proc!.stderr.split('\n').find((l) => l.includes('"vrrp transition"') && l.includes('"to":"MASTER"'));
  if (up) gap('fail-back', p2, Date.parse((JSON.parse(up) as { ts: string }).ts) / 1000);
  ka.proc.stdin?.end();
  cap?.proc.kill('SIGINT');
  await cap?.wait(3000);
});
