/**
 * scripts/lab up --link xdp|packet: the lab gives the director a veth (tunvs0, its peer a
 * bridge port) instead of TUN/TAP, and tunvsd runs on it with the `device` the lab's status
 * names. Real HTTP and UDP from the client through the VIP: NAT on AF_XDP, DR on AF_PACKET
 * v3 (each link and each segment layout once), and NAT with --two-if: the director owns a
 * veth on the clients' bridge and one on the servers', no kernel address and ip_forward 0.
 * Each pass brings the lab up and down again.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_PREFIX, LAB_SKIP, ROOT, lab, namespaces, sh } from './lab-util.js';

const TUNVSD = join(ROOT, 'packages/daemon/dist/bin/tunvsd.js');
const CLIENT = join(ROOT, 'netns-tests/fixtures/lab-client.mjs');
const work = `/run/tunvs-lab-xdp-test-${process.pid}`;

interface Topo {
  method: string;
  link: string;
  vip: string;
  ports: { http: number; udpEcho: number };
  director: {
    ns: string;
    device: string;
    deviceKind: string;
    deviceMac: string;
    peer: { ifname: string; bridge: string } | null;
    tunvsd: { device: { name: string; kind: string; addresses: string[] }; sourceAddress: string };
  };
  clients: { ns: string }[];
  servers: { name: string; ip: string }[];
  live: { devices: Record<string, { ifname: string; mac: string; master: string | null }[]> };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const passes = [
  ['nat', 'xdp', false],
  ['dr', 'packet', false],
  ['nat', 'xdp', true],
] as const;

for (const [method, link, twoIf] of passes) {
  t.test(`scripts/lab up --method ${method} --link ${link}${twoIf ? ' --two-if' : ''}: tunvsd on the lab's veth${twoIf ? 's' : ''} forwards HTTP and UDP`, { skip: LAB_SKIP }, async (t) => {
    let daemon: ChildProcess | null = null;
    lab('down');
    t.teardown(async () => {
      if (daemon && daemon.exitCode === null) {
        daemon.kill('SIGTERM');
        await new Promise((r) => daemon!.once('exit', r));
      }
      lab('down');
      rmSync(work, { recursive: true, force: true });
    });
    const up = lab('up', '--method', method, '--link', link, ...(twoIf ? ['--two-if'] : []), '--servers', '2');
    t.equal(up.code, 0, `lab up: ${up.stderr}`);
    if (up.code !== 0) return;
    t.match(up.stdout, new RegExp(`method ${method}, link ${link}`), 'the summary names the link');
    const topo = JSON.parse(lab('status', '--json').stdout) as Topo;
    const d = topo.director;
    t.equal(topo.link, link);
    t.equal(d.deviceKind, link, 'tunvsd runs the link kind');
    t.same(d.tunvsd.device.kind, link);
    const devs = topo.live.devices[d.ns] ?? [];
    t.equal(devs.find((x) => x.ifname === 'tunvs0')?.mac, d.deviceMac, 'the director veth carries the director MAC');
    t.equal(devs.find((x) => x.ifname === 'tunvs0p')?.master, method === 'dr' ? 'br-lan' : 'br-rs', 'its peer is a port of the servers\' segment');
    // AF_XDP frames carry no offload state: the peer completes checksums; AF_PACKET's vnet
    // header does carry it, and the peer keeps its offloads
    t.match(sh('ip', ['netns', 'exec', d.ns, 'ethtool', '-k', 'tunvs0p']).stdout, link === 'xdp' ? /tx-checksumming: off/ : /tx-checksumming: on/, link === 'xdp' ? 'the peer completes checksums' : 'the peer keeps its checksum offload');
    t.equal(sh('ip', ['-n', d.ns, '-4', 'addr', 'show', 'dev', 'tunvs0']).stdout.includes('inet '), false, 'no kernel address on the director veth');
    if (twoIf) {
      t.equal(devs.find((x) => x.ifname === 'tunvs1p')?.master, 'br-lan', 'the client side veth\'s peer is a port of the clients\' bridge');
      t.equal(sh('ip', ['-n', d.ns, '-4', 'addr', 'show']).stdout.match(/inet (?!127\.)/g), null, 'no kernel address in the director\'s namespace at all');
      t.equal(sh('ip', ['netns', 'exec', d.ns, 'sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim(), '0', 'ip_forward 0');
    }

    mkdirSync(work, { recursive: true });
    const sock = join(work, `${method}.sock`);
    const conf = join(work, `${method}.json`);
    const fwd = { nat: 'masq', dr: 'route' }[method];
    const dests = (port: number): object[] => topo.servers.map((s) => ({ addr: s.ip, port, method: fwd }));
    writeFileSync(conf, JSON.stringify({
      device: d.tunvsd.device,
      sourceAddress: d.tunvsd.sourceAddress,
      socket: sock,
      services: [
        { protocol: 'tcp', addr: topo.vip, port: topo.ports.http, scheduler: 'rr', dests: dests(topo.ports.http) },
        { protocol: 'udp', addr: topo.vip, port: topo.ports.udpEcho, scheduler: 'rr', dests: dests(topo.ports.udpEcho) },
      ],
    }));
    const dm = spawn('ip', ['netns', 'exec', d.ns, process.execPath, TUNVSD, '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    daemon = dm;
    let log = '';
    dm.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    for (let i = 0; i < 200 && !existsSync(sock) && dm.exitCode === null; i++) await sleep(100);
    t.ok(existsSync(sock), `tunvsd serves its socket${existsSync(sock) ? '' : `: ${log.slice(-600)}`}`);
    t.match(log, link === 'xdp' ? /AF_XDP, 1 queue\(s\)/ : /AF_PACKET/, 'tunvsd opened the lab\'s veth as the link');
    if (twoIf) t.match(log, /"device":"tunvs1".*\n.*"device":"tunvs0"/, 'and both of them');

    const r = sh('ip', ['netns', 'exec', topo.clients[0]!.ns, process.execPath, CLIENT, 'multi',
      `http:${topo.vip}:${topo.ports.http}:6`, `udp:${topo.vip}:${topo.ports.udpEcho}:4`]);
    const [http, udp] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { counts: Record<string, number>; errors: number });
    t.same(http, { counts: { rs1: 3, rs2: 3 }, errors: 0 }, `HTTP through the VIP, rr over both servers (${r.stderr})`);
    t.equal(udp?.errors, 0, 'UDP echoed');
    t.equal((udp?.counts.rs1 ?? 0) + (udp?.counts.rs2 ?? 0), 4, `UDP from the servers ${JSON.stringify(udp)}`);
    // ping: the Director answers for the VIP and its own address (the steering takes ICMP to them)
    for (const to of [topo.vip, d.tunvsd.device.addresses[0]!.split('/')[0]!]) {
      const p = sh('ip', ['netns', 'exec', topo.clients[0]!.ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', to]);
      t.match(p.stdout, / 0% packet loss/, `ping ${to} from the client: answered (${p.stdout.split('\n').filter((l) => /packet loss/.test(l)).join('') || p.stderr})`);
    }

    dm.kill('SIGTERM');
    const code = dm.exitCode ?? (await new Promise<number | null>((res) => dm.once('exit', (c) => res(c))));
    t.equal(code, 0, 'tunvsd stops cleanly');
    t.equal(lab('down').code, 0, 'lab down');
    t.same(namespaces(LAB_PREFIX), [], 'no lab namespaces left');
  });
}

t.test('scripts/lab up with a bad link fails and leaves nothing', { skip: LAB_SKIP }, (t) => {
  const r = lab('up', '--link', 'dpdk');
  t.not(r.code, 0);
  t.match(r.stderr, /unknown link 'dpdk' \(tuntap, xdp or packet\)/);
  t.same(namespaces(LAB_PREFIX), []);
  t.end();
});
