/**
 * The director end to end in the lab (scripts/lab): tunvsd on the lab's TUN/TAP device,
 * real HTTP and UDP from a client namespace to three real servers, for NAT (TUN device)
 * and DR (TAP device). Checks: the wrr 3:2:1 distribution over 600 connections, UDP echo,
 * weight 0 mid-transfer (the transfer finishes, new connections avoid the server), and the
 * wire: captures on a real server, decoded by tshark with checksum validation.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_SKIP, tcpChecksumGood } from './lab-util.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const lab = join(root, 'scripts/lab');
const tunvsd = join(root, 'packages/daemon/dist/bin/tunvsd.js');
const tunvsadm = join(root, 'packages/cli/dist/bin/tunvsadm.js');
const client = join(root, 'netns-tests/fixtures/lab-client.mjs');
const work = `/run/tunvs-netns-test-${process.pid}`;

interface Topo {
  vip: string;
  ports: { http: number; udpEcho: number };
  director: { ns: string; device: string; deviceKind: 'tun' | 'tap'; dip: string; mac: string | null };
  clients: { ns: string; ip: string }[];
  servers: { name: string; ns: string; ip: string; mac: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function clientRun(ns: string, args: string[], portBase = 0): { counts: Record<string, number>; errors: number } {
  const env = portBase ? { ...process.env, LAB_CLIENT_PORT_BASE: String(portBase) } : process.env;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, client, ...args], { encoding: 'utf8', timeout: 180_000, env });
  if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { counts: Record<string, number>; errors: number };
}

function adm(sock: string, args: string[]): string {
  const r = spawnSync(process.execPath, [tunvsadm, ...args], { encoding: 'utf8', env: { ...process.env, TUNVS_SOCKET: sock } });
  if (r.status !== 0) throw new Error(`tunvsadm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

for (const method of ['nat', 'dr', 'tun'] as const) {
  t.test(`LVS-${method.toUpperCase()} through tunvsd`, { skip: LAB_SKIP }, async (t) => {
    let daemon: ChildProcess | null = null;
    let dump: ChildProcess | null = null;
    const sock = join(work, `${method}.sock`);
    t.teardown(() => {
      daemon?.kill('SIGTERM');
      dump?.kill('SIGTERM');
      spawnSync(lab, ['down'], { stdio: 'ignore' });
      rmSync(work, { recursive: true, force: true });
    });
    spawnSync(lab, ['down'], { stdio: 'ignore' });
    const up = spawnSync(lab, ['up', '--method', method, '--servers', '3'], { encoding: 'utf8' });
    t.equal(up.status, 0, `lab up: ${up.stderr}`);
    const topo = JSON.parse(spawnSync(lab, ['status', '--json'], { encoding: 'utf8' }).stdout) as Topo;
    const d = topo.director;
    const fwd = { nat: 'masq', dr: 'route', tun: 'tunnel' }[method];
    mkdirSync(work, { recursive: true });
    const conf = join(work, `${method}.json`);
    const weights = [3, 2, 1];
    writeFileSync(
      conf,
      JSON.stringify({
        device: { name: d.device, kind: d.deviceKind, ...(d.deviceKind === 'tap' ? { mac: d.mac, addresses: [`${d.dip}/24`] } : {}) },
        sourceAddress: method === 'dr' ? d.dip : '10.10.1.1',
        socket: sock,
        services: [
          { protocol: 'tcp', addr: topo.vip, port: topo.ports.http, scheduler: 'wrr', dests: topo.servers.map((s, i) => ({ addr: s.ip, port: topo.ports.http, method: fwd, weight: weights[i] })) },
          { protocol: 'udp', addr: topo.vip, port: topo.ports.udpEcho, scheduler: 'rr', dests: topo.servers.map((s) => ({ addr: s.ip, port: topo.ports.udpEcho, method: fwd })) },
        ],
      }),
    );
    daemon = spawn('ip', ['netns', 'exec', d.ns, process.execPath, tunvsd, '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    daemon.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    for (let i = 0; i < 300 && !existsSync(sock); i++) await sleep(100);
    t.ok(existsSync(sock), `tunvsd serves its socket (log: ${log})`);

    // capture what reaches rs1
    const rs1 = topo.servers[0]!;
    const pcap = join(work, `${method}-rs1.pcap`);
    const filter = method === 'tun' ? 'ip proto 4' : 'tcp port 80 or udp port 7';
    dump = spawn('ip', ['netns', 'exec', rs1.ns, 'tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', pcap, filter], { stdio: 'ignore' });
    await sleep(800);

    const cl = topo.clients[0]!.ns;
    // Each HTTP connection below comes from a client port of its own: 20000+i, then 21000+i
    // after the quiesce (both below the ephemeral range). With DR and TUN the director sees
    // only the client's side, so a finished connection stays in FIN_WAIT (120 s) and, as in
    // the kernel with conn_reuse_mode 1, a new SYN from the same client port reuses it and its
    // real server (even a quiesced one). Distinct ports keep that behaviour out of the counts.
    const http = clientRun(cl, ['http', topo.vip, String(topo.ports.http), '600'], 20000);
    t.equal(http.errors, 0, 'no failed request');
    const n = topo.servers.map((s) => http.counts[s.name] ?? 0);
    t.same(n, [300, 200, 100], 'wrr 3:2:1 over 600 connections');

    const udp = clientRun(cl, ['udp', topo.vip, String(topo.ports.udpEcho), '30']);
    t.equal(udp.errors, 0, 'every UDP datagram answered');
    t.equal(Object.values(udp.counts).reduce((a, b) => a + b, 0), 30);

    // a slow download; then quiesce its server: the download finishes, new connections avoid it
    const get = spawn('ip', ['netns', 'exec', cl, process.execPath, client, 'get', topo.vip, String(topo.ports.http), '/bytes/3000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let getOut = '';
    get.stdout!.on('data', (c: Buffer) => (getOut += c.toString()));
    let server = '';
    await new Promise<void>((res) => {
      get.stderr!.on('data', (c: Buffer) => {
        const m = /started (\S+)/.exec(c.toString());
        if (m) {
          server = m[1]!;
          res();
        }
      });
      setTimeout(res, 5000);
    });
    const quiet = topo.servers.find((s) => s.name === server);
    t.ok(quiet, `the download is served (by ${server})`);
    if (quiet) {
      adm(sock, ['-e', '-t', `${topo.vip}:${topo.ports.http}`, '-r', `${quiet.ip}:${topo.ports.http}`, { nat: '-m', dr: '-g', tun: '-i' }[method], '-w', '0']);
      t.match(adm(sock, ['-L', '-n']), new RegExp(`${quiet.ip.replace(/\./g, '\\.')}:80\\s+\\S+\\s+0\\s`), 'weight 0 listed');
      const after = clientRun(cl, ['http', topo.vip, String(topo.ports.http), '60'], 21000);
      t.equal(after.counts[quiet.name] ?? 0, 0, 'new connections avoid the quiesced server');
      t.equal(after.errors, 0);
    }
    await new Promise<void>((res) => get.on('close', () => res()));
    const g = JSON.parse(getOut || '{}') as { bytes?: number; errors?: number };
    t.equal(g.bytes, 3000000, 'the established transfer finished whole');

    // the wire
    await sleep(300);
    dump.kill('SIGINT');
    await new Promise<void>((res) => dump!.on('close', () => res()));
    dump = null;
    const fields = spawnSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-e', 'eth.dst', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', '_ws.malformed', '-e', 'ip.proto', '-e', 'ip.ttl', '-e', 'ip.flags.df', '-e', 'tcp.checksum', '-e', 'tcp.checksum_calculated'], { encoding: 'utf8' });
    t.equal(fields.status, 0, `tshark ran: ${fields.stderr}`);
    const rows = fields.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
    // IPIP rows carry both headers, comma-separated: outer first
    const toRs = rows.filter((r) => r[1] === topo.clients[0]!.ip || r[1] === `10.10.1.1,${topo.clients[0]!.ip}`);
    t.ok(toRs.length > 100, `captured client packets on rs1 (${toRs.length})`);
    // Only what the director wrote is judged: the real server's own replies leave with
    // checksums the veth offloads (tshark would call them bad).
    const isBad = (f: string | undefined): boolean => (f ?? '').split(',').includes('0');
    // TCP: tshark's verdict, less the other zero the host kernel writes (tcpChecksumGood)
    const bad = toRs.filter((r) => isBad(r[3]) || (r[4] === '0' && !tcpChecksumGood(r[4], r[10], r[11])) || isBad(r[5]) || (r[6] ?? '') !== '');
    t.equal(bad.length, 0, `no bad checksum, no malformed packet in what the director sent${bad.length ? `: ${JSON.stringify(bad.slice(0, 5))}` : ''}`);
    t.ok(toRs.some((r) => r[4] === '1' || r[5] === '1'), 'tshark verified L4 checksums');
    if (method === 'nat') t.ok(toRs.every((r) => r[2] === rs1.ip), 'NAT: destination = the real server');
    else if (method === 'dr') t.ok(toRs.every((r) => r[2] === topo.vip && r[0] === rs1.mac), 'DR: destination MAC = the real server, IP destination = VIP');
    else {
      t.ok(toRs.every((r) => r[2] === `${rs1.ip},${topo.vip}` && r[7]!.startsWith('4,')), 'IPIP: outer director -> real server, protocol 4; inner destination the VIP');
      // the director writes outer TTL = inner TTL (after its decrement); the host kernel then
      // routes the outer packet from the TUN device to the servers' bridge: one less on the wire
      t.ok(toRs.every((r) => { const [o, i] = r[8]!.split(','); return Number(o) === Number(i) - 1; }), 'IPIP: outer TTL = inner TTL, less the host hop');
      t.ok(toRs.every((r) => { const [o, i] = r[9]!.split(','); return o === i; }), 'IPIP: DF copied to the outer header');
    }
  });
}
