/**
 * tunvsd with `workers 2` on a kernel-bypass link (AF_XDP, then AF_PACKET): two Director
 * threads, one link slot each, LVS-NAT with real HTTP and UDP from two client namespaces.
 * From each worker's own counters (the `workerStats` and `workerConnections` socket
 * operations): both workers served; every connection a worker holds is of a client the
 * steering program hashes to that worker's slot; each worker forwarded replies for its own
 * connections, and no worker saw a reply it had no connection for (which would count as
 * noService/notSyn). `tunvsadm -L -n --stats` shows the sums, and the services as configured;
 * a weight set to 0 with tunvsadm (a quiesce) holds on both workers. With `cpus` (two
 * CPUs, in reverse order) each worker runs on its CPU alone, as its log line and the
 * kernel (/proc/PID/task) say, and the main thread keeps every CPU. A kind that does not
 * open on this kernel (probed on a scratch veth) is skipped with the reason; neither: the
 * test is.
 *
 *   client1 10.87.0.2, client2 10.87.0.3 ─┐
 *   rs1, rs2 10.87.1.1x ──────────────────┼─ br0 ─ wk0p ═ wk0 [tunvsd workers 2: 10.87.0.1/24, 10.87.1.1/24, VIP .100 NAT]
 */
import t from 'tap';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ControlClient } from '@tunvs/cli';
import type { ConnInfo, ServiceInfo } from '@tunvs/model';
import { parseIpv4 } from '@tunvs/packet';
import { slotOf } from '@tunvs/xdp';
import { formatCpuList, threadCpus } from '@tunvs/hostnet';
import { BYPASS_KINDS, bypassGate, bypassPort, bridgedHost, exitNote, labClient, openBypassLab, service, spawnTunvsd, startRealServers, tunvsadm } from '../fixtures/bypass-lab.js';
import { waitFor } from '../fixtures/daemon-lab.js';

const gate = bypassGate('lwk');
const VIP = '10.87.0.100';
const VIP2 = '10.87.0.101';
const CLIENTS = ['10.87.0.2', '10.87.0.3'];
const HTTP_PORT = 9187;
/** the CPUs this test (and the tunvsd it starts) may run on */
const CPUS = threadCpus();
/** what the kernel says thread `tid` of process `pid` may run on (its CPU list) */
const cpusAllowed = (pid: number, tid: number | string): string => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;

interface WorkerStat { counters: Record<string, number>; services: ServiceInfo[] }

t.test('tunvsd workers 2 on AF_XDP and AF_PACKET: LVS-NAT, each flow on the worker of its client', { skip: gate.skip }, async (t) => {
  const { lab, work } = openBypassLab(t, 'lwk', 'workers');
  const dir = lab.netns('wd');
  lab.bridge(dir, 'br0');
  bypassPort(lab, { name: 'wk0', ns: dir }, { name: 'wk0p', ns: dir }, 'br0');
  const clients = CLIENTS.map((addr, i) => bridgedHost(lab, dir, 'br0', `vcl${i + 1}`, `wc${i + 1}`, `${addr}/24`, '10.87.0.1'));
  const { nat: reals } = await startRealServers(lab, { sw: dir, br: 'br0', short: 'wr', nat: '10.87.1', natGateway: '10.87.1.1', udp: true });
  const sock = join(work, 'tunvsd.sock');

  for (const kind of BYPASS_KINDS) {
    const why = gate.why(kind);
    if (why !== false) {
      await t.test(`the pass on ${kind}`, { skip: why }, () => {});
      continue;
    }
    // `cpus`: worker 0 on the last CPU, worker 1 on the one before (the order is the config's)
    const pin = CPUS.length >= 2 ? [CPUS[CPUS.length - 1]!, CPUS[CPUS.length - 2]!] : null;
    const config = { device: { name: 'wk0', kind, addresses: ['10.87.0.1/24', '10.87.1.1/24'] }, workers: 2, ...(pin ? { cpus: pin } : {}), socket: sock, services: [service('tcp', VIP, 80, reals, 'masq'), service('udp', VIP, 7, reals, 'masq')] };
    // /metrics once (xdp): the Prometheus counters are the sums over the workers
    const httpArgs = kind === 'xdp' ? ['--http', `127.0.0.1:${HTTP_PORT}`, '--http-metrics-only'] : [];
    const d = await spawnTunvsd(lab, dir, { work, name: kind, config, sock, args: httpArgs });
    t.equal(d.exitCode, null, `tunvsd runs with 2 workers on ${kind}${exitNote(d)}`);
    t.match(d.stderr, kind === 'xdp' ? /AF_XDP, 1 queue\(s\), XDP \w+ mode, 2 slots \(one per worker\)/ : /AF_PACKET, 2 sockets in a steered fanout group/, 'the log names the link and its slots');
    if (pin === null) {
      await t.test('cpus: each worker on its CPU', { skip: `this process may run on one CPU only (${formatCpuList(CPUS)})` }, () => {});
    } else {
      const ready = d.stderr.split('\n').filter((l) => l.includes('"worker ready"')).map((l) => JSON.parse(l) as { worker: number; cpus: string });
      t.same(ready.map((r) => [r.worker, r.cpus]).sort(), [[0, String(pin[0])], [1, String(pin[1])]], `cpus ${pin.join(',')}: each worker runs on its CPU, as its ready line says`);
      // the kernel's view: the main thread keeps every CPU; a thread on each of the two CPUs
      // alone (a worker, and the threads it started after pinning itself)
      const pid = d.proc.pid!;
      const lists = readdirSync(`/proc/${pid}/task`).map((tid) => [tid, cpusAllowed(pid, tid)] as const);
      t.equal(lists.find(([tid]) => tid === String(pid))?.[1], formatCpuList(CPUS), 'the main thread (control plane) is not pinned');
      for (const c of pin) t.ok(lists.some(([, l]) => l === String(c)), `a thread of tunvsd runs on CPU ${c} only`);
    }

    // every HTTP request a new connection from a new port, every UDP echo a new socket: the
    // two clients' flows spread over both slots
    const runs = clients.map((ns, i) => labClient(lab, ns, ['multi', `http:${VIP}:80:8`, `udp:${VIP}:7:6`], { portBase: 30000 + 1000 * i + (kind === 'xdp' ? 0 : 100) }));
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

    const list = tunvsadm(sock, ['-L', '-n', '--stats']);
    t.equal(list.status, 0, `tunvsadm -L -n --stats ${list.stderr}`);
    const row = list.stdout.split('\n').find((l) => /^TCP\s+10\.87\.0\.100:80/.test(l));
    t.match(row, /^TCP\s+10\.87\.0\.100:80\s+16\s/, `the listing sums the workers' connections: ${row}`);
    t.equal(list.stdout.split('\n').filter((l) => /^\s+->\s+10\.87\.1\.1[12]:80/.test(l)).length, 2, 'each real server listed once');
    const plain = tunvsadm(sock, ['-L', '-n']);
    t.match(plain.stdout, /TCP\s+10\.87\.0\.100:80 rr\n\s+-> RemoteAddress:Port|TCP\s+10\.87\.0\.100:80 rr/, 'tunvsadm -L -n as with one worker');
    const c = tunvsadm(sock, ['-L', '-n', '-c']);
    t.ok(c.stdout.split('\n').filter((l) => /^TCP\s/.test(l)).length >= 16, 'tunvsadm -L -c lists both workers\' connections');

    // a persistent service on another VIP in front of the same real servers (rs:80): the
    // program steers their replies by one entry, so the plain service's clients are now
    // hashed by address alone too, or half of its connections' replies would reach the
    // other worker. New connections from new ports, all answered, each on the worker of its
    // client's address, and still no reply without its connection
    const a = tunvsadm(sock, ['-A', '-t', `${VIP2}:80`, '-s', 'rr', '-p', '300']);
    t.equal(a.status, 0, `tunvsadm -A -t ${VIP2}:80 -p 300 ${a.stderr}`);
    for (const r of reals) t.equal(tunvsadm(sock, ['-a', '-t', `${VIP2}:80`, '-r', `${r}:80`, '-m']).status, 0, `tunvsadm -a ... -r ${r}:80 -m`);
    const shared = clients.map((ns, i) => labClient(lab, ns, ['http', VIP, '80', '8'], { timeoutMs: 30_000, portBase: 42000 + 100 * i + (kind === 'xdp' ? 0 : 1000) })[0]);
    shared.forEach((h, i) => t.equal(h?.errors, 0, `client ${i + 1}: HTTP to ${VIP}:80 beside the persistent ${VIP2}:80 without errors`));
    const ctl2 = await ControlClient.connect(sock, { timeoutMs: 5000 });
    const ws2 = (await ctl2.call('workerStats')) as WorkerStat[];
    const wc2 = (await ctl2.call('workerConnections')) as ConnInfo[][];
    ctl2.close();
    let freshAll = 0;
    for (const [i, w] of ws2.entries()) {
      const fresh = wc2[i]!.filter((c) => !c.template && c.virtualAddr === VIP && c.protocol === 'TCP' && c.clientPort >= 42000 && c.clientPort < 44000);
      freshAll += fresh.length;
      t.ok(fresh.every((c) => slotOf(parseIpv4(c.clientAddr), 0, 2) === i), `worker ${i}: the plain service's new connections are of clients whose address hashes to it (${fresh.length})`);
      t.equal(w.counters.noService! + w.counters.notSyn!, 0, `worker ${i}: still no reply without its connection`);
    }
    t.equal(freshAll, 16, 'the workers hold the 16 new connections');
    t.equal(tunvsadm(sock, ['-D', '-t', `${VIP2}:80`]).status, 0, `tunvsadm -D -t ${VIP2}:80`);

    // fragments: from each UDP socket a small datagram, then a 3000-byte one (fragmented by
    // the client's kernel, and so is its echo by the real server's). Every fragment goes to
    // the worker of its flow (the first by its ports, the later ones after it), so each flow
    // is one connection, on the worker of its client's address and port, and both echoes
    // come from one real server
    // below the ephemeral range (32768-60999) and apart from the test's other ports: the
    // earlier UDP phase's echoes once came from kernel-chosen ports, and one of them on one
    // of these 16 made 17 (CI of f3e3d5c; they come from 30500+ now)
    const mixBase = 26000 + (kind === 'xdp' ? 0 : 1000);
    const mixed = clients.map((ns, i) => labClient(lab, ns, ['udpmix', VIP, '7', '8'], { timeoutMs: 60_000, portBase: mixBase + 100 * i })[0]);
    mixed.forEach((u, i) => t.equal(u?.errors, 0, `client ${i + 1}: small and fragmented datagrams of each flow echoed by one server`));
    const ctl3 = await ControlClient.connect(sock, { timeoutMs: 5000 });
    const wc3 = (await ctl3.call('workerConnections')) as ConnInfo[][];
    ctl3.close();
    // exactly the flows' ports (a range around them once counted an earlier flow's too)
    const mixPorts = new Set(clients.flatMap((_, i) => Array.from({ length: 8 }, (_2, k) => mixBase + 100 * i + k)));
    const flows = wc3.map((cs) => cs.filter((c) => c.protocol === 'UDP' && mixPorts.has(c.clientPort)));
    flows.forEach((cs, i) => t.ok(cs.every((c) => slotOf(parseIpv4(c.clientAddr), c.clientPort, 2) === i), `worker ${i}: its ${cs.length} mixed flows are of clients hashed to it`));
    const counted = flows.flat();
    const seen = counted.map((c) => `${c.clientAddr}:${c.clientPort}`).sort().join(' ');
    t.equal(counted.length, 16, `one connection per flow (its fragments scheduled nothing of their own): ${seen}`);

    // a persistence netmask (-M 255.255.255.0): the two clients are of one /24, which the
    // kernel gives one template (one real server for both); the steering hashes the /24,
    // so both clients are on one worker, which holds that one template
    const V3 = '10.87.0.102';
    t.equal(tunvsadm(sock, ['-A', '-t', `${V3}:80`, '-s', 'rr', '-p', '300', '-M', '255.255.255.0']).status, 0, `tunvsadm -A -t ${V3}:80 -p 300 -M 255.255.255.0`);
    for (const r of reals) t.equal(tunvsadm(sock, ['-a', '-t', `${V3}:80`, '-r', `${r}:80`, '-m']).status, 0, `tunvsadm -a -t ${V3}:80 -r ${r}:80 -m`);
    const net = clients.map((ns, i) => labClient(lab, ns, ['http', V3, '80', '4'], { timeoutMs: 30_000, portBase: 48000 + 100 * i + (kind === 'xdp' ? 0 : 1000) })[0]);
    t.equal(net.reduce((n, h) => n + (h?.errors ?? 1), 0), 0, 'every request through the /24 service answered');
    t.equal(new Set(net.flatMap((h) => Object.keys(h?.counts ?? {}))).size, 1, `both clients of the /24 on one real server (${JSON.stringify(net.map((h) => h?.counts))})`);
    const ctl4 = await ControlClient.connect(sock, { timeoutMs: 5000 });
    const wc4 = (await ctl4.call('workerConnections')) as ConnInfo[][];
    ctl4.close();
    const templates = wc4.map((cs) => cs.filter((c) => c.template && c.virtualAddr === V3));
    t.same(templates.map((ts) => ts.map((c) => c.clientAddr)), [0, 1].map((w) => (w === slotOf(parseIpv4('10.87.0.0'), 0, 2) ? ['10.87.0.0'] : [])), 'one template for the /24, on the worker its clients are steered to');
    t.equal(tunvsadm(sock, ['-D', '-t', `${V3}:80`]).status, 0, `tunvsadm -D -t ${V3}:80`);

    if (kind === 'xdp') {
      // a weight change (what a failed health check does: quiesce) reaches both workers: new
      // connections from both clients, over both slots, all go to rs1
      const e = tunvsadm(sock, ['-e', '-t', `${VIP}:80`, '-r', `${reals[1]}:80`, '-m', '-w', '0']);
      t.equal(e.status, 0, `tunvsadm -e ... -w 0 ${e.stderr}`);
      const after = clients.map((ns) => labClient(lab, ns, ['http', VIP, '80', '6'], { timeoutMs: 30_000, portBase: 40000 })[0]);
      t.same(after, [{ counts: { rs1: 6 }, errors: 0 }, { counts: { rs1: 6 }, errors: 0 }], 'after the quiesce every worker schedules rs1 only');
    }

    d.proc.kill('SIGTERM');
    t.equal(await d.wait(15_000), 0, `tunvsd with 2 workers on ${kind} stops cleanly`);
    // each worker's socket counters in the exit log, read by the worker before its socket closed
    const exit = d.stderr.split('\n').find((l) => l.includes('"msg":"link counters"'));
    const links = exit ? (JSON.parse(exit) as { links: { worker: number; slot: number; rxPackets: number }[] }).links : [];
    t.same(links.map((l) => [l.worker, l.slot]), [[0, 0], [1, 1]], `the exit log has both workers' ${kind} sockets`);
    t.ok(links.every((l) => l.rxPackets > 0), `and each received frames: ${links.map((l) => l.rxPackets).join(', ')}`);
    if (kind === 'xdp') t.notMatch(lab.ip(dir, 'link show dev wk0'), /xdp/, 'the XDP program left with the daemon');
    rmSync(sock, { force: true });
  }

  // one worker: the main thread runs the Director, so `cpus` pins it (the control plane with
  // it); a CPU the daemon may not run on stops the start, naming it and the daemon's CPUs
  const kind = BYPASS_KINDS.find((k) => gate.why(k) === false)!;
  const one = { device: { name: 'wk0', kind, addresses: ['10.87.0.1/24', '10.87.1.1/24'] }, socket: sock, services: [service('tcp', VIP, 80, reals, 'masq')] };
  const last = CPUS[CPUS.length - 1]!;
  const p = await spawnTunvsd(lab, dir, { work, name: `${kind}-pinned`, config: { ...one, cpus: [last] }, sock });
  t.equal(p.exitCode, null, `tunvsd with cpus [${last}] runs${exitNote(p)}`);
  t.match(p.stderr, new RegExp(`"msg":"director thread pinned","cpu":${last}`), 'the log says where the Director runs');
  t.equal(cpusAllowed(p.proc.pid!, p.proc.pid!), String(last), 'the main thread runs on that CPU alone');
  const [h] = labClient(lab, clients[0]!, ['http', VIP, '80', '4']);
  t.same(h, { counts: { rs1: 2, rs2: 2 }, errors: 0 }, 'and forwards: HTTP over both servers');
  p.proc.kill('SIGTERM');
  t.equal(await p.wait(15_000), 0, 'it stops cleanly');
  rmSync(sock, { force: true });
  const possible = Number(readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split('-').pop()) + 1;
  const bad = await spawnTunvsd(lab, dir, { work, name: `${kind}-foreign`, config: { ...one, cpus: [possible] }, sock });
  await bad.wait(15_000);
  t.not(bad.exitCode, 0, `cpus [${possible}] (no such CPU): the start fails`);
  t.match(bad.stderr, new RegExp(`cpus: CPU ${possible} is not one tunvsd may run on \\(its CPUs: ${formatCpuList(CPUS)}\\)`), 'naming the CPU and the ones it may use');
  t.notMatch(lab.ip(dir, 'link show dev wk0'), /xdp/, 'before it touched the link');
});
