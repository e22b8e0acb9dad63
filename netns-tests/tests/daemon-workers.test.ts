/**
 * tunvsd with `workers 2` on a kernel-bypass link (AF_XDP, then AF_PACKET v3): two Director
 * threads, one link slot each, LVS-NAT with real HTTP and UDP from two client namespaces.
 * From each worker's own counters (the `workerStats` and `workerConnections` socket
 * operations): both workers served; every connection a worker holds is of a client the
 * steering program hashes to that worker's slot; each worker forwarded replies for its own
 * connections, and no worker saw a reply it had no connection for (which would count as
 * noService/notSyn). `tunvsadm -L -n --stats` shows the sums, and the services as configured;
 * a weight set to 0 with tunvsadm (a quiesce) holds on both workers.
 *
 *   client1 10.87.0.2, client2 10.87.0.3 ─┐
 *   rs1, rs2 10.87.1.1x ──────────────────┼─ br0 ─ wk0p ═ wk0 [tunvsd workers 2: 10.87.0.1/24, 10.87.1.1/24, VIP .100 NAT]
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ControlClient } from '@tunvs/cli';
import type { ConnInfo, ServiceInfo } from '@tunvs/model';
import { parseIpv4 } from '@tunvs/packet';
import { slotOf } from '@tunvs/xdp';
import { fixturePath, isRoot, openLab } from '../src/netns.js';
import { RS_SERVICE, TUNVSD, TUNVSADM, waitFor } from '../fixtures/daemon-lab.js';

const skip = !isRoot() && 'needs root';
const VIP = '10.87.0.100';
const CLIENTS = ['10.87.0.2', '10.87.0.3'];
const HTTP_PORT = 9187;

interface Counted { counts: Record<string, number>; errors: number }
interface WorkerStat { counters: Record<string, number>; services: ServiceInfo[] }

t.test('tunvsd workers 2 on AF_XDP and AF_PACKET v3: LVS-NAT, each flow on the worker of its client', { skip }, async (t) => {
  const lab = openLab(t, 'lwk');
  const work = mkdtempSync(join(tmpdir(), 'lwk-workers-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const dir = lab.netns('wd');
  lab.bridge(dir, 'br0');
  lab.veth({ name: 'wk0', ns: dir }, { name: 'wk0p', ns: dir });
  lab.ip(dir, 'link set wk0p master br0');
  lab.exec(dir, 'ethtool', ['-K', 'wk0p', 'tx', 'off']);
  const clients = CLIENTS.map((addr, i) => {
    const ns = lab.netns(`wc${i + 1}`);
    lab.veth({ name: `vcl${i + 1}`, ns: dir }, { name: 'eth0', ns, address: `${addr}/24` });
    lab.ip(dir, `link set vcl${i + 1} master br0`);
    lab.ip(ns, 'route add default via 10.87.0.1');
    return ns;
  });
  const reals: string[] = [];
  await Promise.all(
    [1, 2].map((i) => {
      const ns = lab.netns(`wr${i}`);
      lab.veth({ name: `vrs${i}`, ns: dir }, { name: 'eth0', ns, address: `10.87.1.${10 + i}/24` });
      lab.ip(dir, `link set vrs${i} master br0`);
      lab.ip(ns, 'route add default via 10.87.1.1');
      reals.push(`10.87.1.${10 + i}`);
      return lab.spawn(ns, process.execPath, [RS_SERVICE, '--name', `rs${i}`, '--http-port', '80', '--udp-port', '7'], `rs${i}`).line((s) => s.startsWith('rs-service'), 15_000);
    }),
  );
  const sock = join(work, 'tunvsd.sock');
  const env = { ...process.env, TUNVS_SOCKET: sock };
  const service = (protocol: string): object => ({ protocol, addr: VIP, port: protocol === 'tcp' ? 80 : 7, scheduler: 'rr', dests: reals.map((a) => ({ addr: a, port: protocol === 'tcp' ? 80 : 7, method: 'masq' })) });

  for (const kind of ['xdp', 'packet'] as const) {
    const file = join(work, `tunvsd-${kind}.json`);
    writeFileSync(file, JSON.stringify({ device: { name: 'wk0', kind, addresses: ['10.87.0.1/24', '10.87.1.1/24'] }, workers: 2, socket: sock, services: [service('tcp'), service('udp')] }));
    // /metrics once (xdp): the Prometheus counters are the sums over the workers
    const httpArgs = kind === 'xdp' ? ['--http', `127.0.0.1:${HTTP_PORT}`, '--http-metrics-only'] : [];
    const d = lab.spawn(dir, process.execPath, [TUNVSD, '-f', file, ...httpArgs], `tunvsd-${kind}`);
    await waitFor(() => existsSync(sock) || d.exitCode !== null, 30_000, 'the tunvsd socket');
    t.equal(d.exitCode, null, `tunvsd runs with 2 workers on ${kind}${d.exitCode === null ? '' : ` ${d.stderr.slice(-400)}`}`);
    t.match(d.stderr, kind === 'xdp' ? /AF_XDP, 1 queue\(s\), XDP \w+ mode, 2 slots \(one per worker\)/ : /AF_PACKET v3, 2 sockets in a steered fanout group/, 'the log names the link and its slots');

    // every HTTP request a new connection from a new port, every UDP echo a new socket: the
    // two clients' flows spread over both slots
    const runs = clients.map((ns, i) => {
      process.env.LAB_CLIENT_PORT_BASE = String(30000 + 1000 * i + (kind === 'xdp' ? 0 : 100));
      try {
        const r = lab.exec(ns, process.execPath, [fixturePath('fixtures/lab-client.mjs'), 'multi', `http:${VIP}:80:8`, `udp:${VIP}:7:6`], { timeoutMs: 60_000 });
        return r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Counted);
      } finally {
        delete process.env.LAB_CLIENT_PORT_BASE;
      }
    });
    let http = 0;
    let udp = 0;
    runs.forEach(([h, u], i) => {
      t.equal(h?.errors, 0, `client ${i + 1}: HTTP through the workers without errors`);
      t.equal(u?.errors, 0, `client ${i + 1}: UDP echoed`);
      http += Object.values(h?.counts ?? {}).reduce((a, b) => a + b, 0);
      udp += Object.values(u?.counts ?? {}).reduce((a, b) => a + b, 0);
    });
    t.same([http, udp], [16, 12], 'every request answered by a real server');
    if (kind === 'xdp') {
      await waitFor(() => d.stderr.includes('http server ready') || d.exitCode !== null, 10_000, 'the http server');
      const text = lab.exec(dir, 'curl', ['-s', '-m', '5', `http://127.0.0.1:${HTTP_PORT}/metrics`]).stdout;
      const metric = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
      t.equal(metric(/^tunvs_service_connections_total\{proto="TCP",vip="10\.87\.0\.100",port="80"[^}]*\} (\d+)$/m), 16, '/metrics: the TCP service\'s connections are both workers\' (every HTTP request)');
      t.equal(metric(/^tunvs_service_connections_total\{proto="UDP",vip="10\.87\.0\.100",port="7"[^}]*\} (\d+)$/m), 12, '/metrics: the UDP service\'s too (every echo)');
      t.equal(metric(/^node_ipvs_connections_total (\d+)$/m), 28, '/metrics: node_ipvs_connections_total summed');
      t.match(text, /^tunvs_link_packets_total\{[^}]*worker="1"[^}]*direction="rx"\} [1-9]/m, '/metrics: worker 1\'s link counters');
    }

    const ctl = await ControlClient.connect(sock, { timeoutMs: 5000 });
    const ws = (await ctl.call('workerStats')) as WorkerStat[];
    const wc = (await ctl.call('workerConnections')) as ConnInfo[][];
    ctl.close();
    t.equal(ws.length, 2, 'two workers');
    const tcpOf = (w: WorkerStat): ServiceInfo => w.services.find((s) => s.protocol === 'tcp')!;
    const conns = ws.map((w) => tcpOf(w).stats.conns);
    t.ok(conns[0]! > 0 && conns[1]! > 0, `both workers scheduled HTTP connections (${conns.join(' / ')})`);
    t.equal(conns[0]! + conns[1]!, 16, 'the workers together scheduled every HTTP connection once');
    for (const [i, w] of ws.entries()) {
      const mine = wc[i]!.filter((c) => !c.template);
      t.ok(mine.length > 0, `worker ${i} holds connections`);
      t.ok(mine.every((c) => slotOf(parseIpv4(c.clientAddr), c.clientPort, 2) === i), `worker ${i} holds only connections of clients hashed to its slot`);
      // each HTTP connection's replies (SYN-ACK, response, FIN at least) came back through it
      const svc = tcpOf(w);
      t.ok(svc.stats.outPkts >= 3 * svc.stats.conns, `worker ${i}: the replies of its ${svc.stats.conns} connections reached it (${svc.stats.outPkts} packets out)`);
      t.equal(w.counters.noService! + w.counters.notSyn!, 0, `worker ${i} saw no reply without its connection`);
    }

    const list = spawnSync(process.execPath, [TUNVSADM, '-L', '-n', '--stats'], { env, encoding: 'utf8', timeout: 15_000 });
    t.equal(list.status, 0, `tunvsadm -L -n --stats ${list.stderr}`);
    const row = list.stdout.split('\n').find((l) => /^TCP\s+10\.87\.0\.100:80/.test(l));
    t.match(row, /^TCP\s+10\.87\.0\.100:80\s+16\s/, `the listing sums the workers' connections: ${row}`);
    t.equal(list.stdout.split('\n').filter((l) => /^\s+->\s+10\.87\.1\.1[12]:80/.test(l)).length, 2, 'each real server listed once');
    const plain = spawnSync(process.execPath, [TUNVSADM, '-L', '-n'], { env, encoding: 'utf8', timeout: 15_000 });
    t.match(plain.stdout, /TCP\s+10\.87\.0\.100:80 rr\n\s+-> RemoteAddress:Port|TCP\s+10\.87\.0\.100:80 rr/, 'tunvsadm -L -n as with one worker');
    const c = spawnSync(process.execPath, [TUNVSADM, '-L', '-n', '-c'], { env, encoding: 'utf8', timeout: 15_000 });
    t.ok(c.stdout.split('\n').filter((l) => /^TCP\s/.test(l)).length >= 16, 'tunvsadm -L -c lists both workers\' connections');

    if (kind === 'xdp') {
      // a weight change (what a failed health check does: quiesce) reaches both workers: new
      // connections from both clients, over both slots, all go to rs1
      const e = spawnSync(process.execPath, [TUNVSADM, '-e', '-t', `${VIP}:80`, '-r', `${reals[1]}:80`, '-m', '-w', '0'], { env, encoding: 'utf8', timeout: 15_000 });
      t.equal(e.status, 0, `tunvsadm -e ... -w 0 ${e.stderr}`);
      process.env.LAB_CLIENT_PORT_BASE = '40000';
      try {
        const after = clients.map((ns) => JSON.parse(lab.exec(ns, process.execPath, [fixturePath('fixtures/lab-client.mjs'), 'http', VIP, '80', '6'], { timeoutMs: 30_000 }).stdout.trim()) as Counted);
        t.same(after, [{ counts: { rs1: 6 }, errors: 0 }, { counts: { rs1: 6 }, errors: 0 }], 'after the quiesce every worker schedules rs1 only');
      } finally {
        delete process.env.LAB_CLIENT_PORT_BASE;
      }
    }

    d.proc.kill('SIGTERM');
    t.equal(await d.wait(15_000), 0, `tunvsd with 2 workers on ${kind} stops cleanly`);
    if (kind === 'xdp') t.notMatch(lab.ip(dir, 'link show dev wk0'), /xdp/, 'the XDP program left with the daemon');
    rmSync(sock, { force: true });
  }
});
