/**
 * The director under bad input, in the lab: an oversize DF packet in IPIP mode gets
 * fragmentation-needed; in DR mode over TAP, fragmented datagrams reach their flow's
 * server, a barrage of malformed frames is dropped and counted, and a 10-second SYN flood
 * (hping3) fills the connection table to its cap but not beyond while an established
 * transfer keeps running to the end.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_SKIP } from './lab-util.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const lab = join(root, 'scripts/lab');
const tunvsd = join(root, 'packages/daemon/dist/bin/tunvsd.js');
const tunvsadm = join(root, 'packages/cli/dist/bin/tunvsadm.js');
const client = join(root, 'netns-tests/fixtures/lab-client.mjs');
const inject = join(root, 'netns-tests/fixtures/inject-malformed.mjs');
const work = `/run/tunvs-netns-robust-${process.pid}`;

interface Topo {
  vip: string;
  ports: { http: number; udpEcho: number };
  director: { ns: string; device: string; deviceKind: 'tun' | 'tap'; dip: string; mac: string | null };
  clients: { ns: string; ip: string; mac: string }[];
  servers: { name: string; ns: string; ip: string; mac: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startLab(t: { teardown(fn: () => void): void }, method: string, services: (topo: Topo) => unknown[], extra: Record<string, unknown> = {}): Promise<{ topo: Topo; sock: string; daemon: ChildProcess; log: () => string }> {
  spawnSync(lab, ['down'], { stdio: 'ignore' });
  const up = spawnSync(lab, ['up', '--method', method, '--servers', '2'], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`lab up: ${up.stderr}`);
  const topo = JSON.parse(spawnSync(lab, ['status', '--json'], { encoding: 'utf8' }).stdout) as Topo;
  const d = topo.director;
  mkdirSync(work, { recursive: true });
  const sock = join(work, `${method}.sock`);
  const conf = join(work, `${method}.json`);
  writeFileSync(
    conf,
    JSON.stringify({
      device: { name: d.device, kind: d.deviceKind, ...(d.deviceKind === 'tap' ? { mac: d.mac, addresses: [`${d.dip}/24`] } : {}) },
      sourceAddress: method === 'dr' ? d.dip : '10.10.1.1',
      socket: sock,
      services: services(topo),
      ...extra,
    }),
  );
  const daemon = spawn('ip', ['netns', 'exec', d.ns, process.execPath, tunvsd, '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  t.teardown(() => {
    daemon.kill('SIGTERM');
    spawnSync(lab, ['down'], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });
  for (let i = 0; i < 300 && !existsSync(sock); i++) await sleep(100);
  if (!existsSync(sock)) throw new Error(`tunvsd did not start: ${log}`);
  return { topo, sock, daemon, log: () => log };
}

/** Ask tunvsd for its counters (SIGUSR1 logs them). */
async function counters(daemon: ChildProcess, log: () => string): Promise<Record<string, number>> {
  const before = log().length;
  daemon.kill('SIGUSR1');
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const lines = log().slice(before).split('\n').filter((l) => l.includes('"msg":"stats"'));
    if (lines.length) return JSON.parse(lines[0]!) as Record<string, number>;
  }
  throw new Error('no stats from tunvsd');
}

t.test('IPIP: an oversize DF packet gets fragmentation-needed with MTU 1480', { skip: LAB_SKIP }, async (t) => {
  const { topo } = await startLab(t, 'tun', (topo) => [
    { protocol: 'udp', addr: topo.vip, port: topo.ports.udpEcho, scheduler: 'rr', dests: topo.servers.map((s) => ({ addr: s.ip, port: topo.ports.udpEcho, method: 'tunnel' })) },
  ]);
  const cl = topo.clients[0]!.ns;
  const cap = spawn('ip', ['netns', 'exec', cl, 'tcpdump', '-i', 'eth0', '-n', '-l', '-v', '-c', '1', 'icmp[0] == 3 and icmp[1] == 4'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let seen = '';
  cap.stdout!.on('data', (c: Buffer) => (seen += c.toString()));
  await sleep(800);
  // 1472 bytes of UDP payload with DF: 1500 bytes, over the 1480 the tunnel leaves
  spawnSync('ip', ['netns', 'exec', cl, 'hping3', '--udp', '-p', String(topo.ports.udpEcho), '-d', '1472', '-y', '-c', '2', topo.vip], { stdio: 'ignore', timeout: 10_000 });
  for (let i = 0; i < 30 && !/mtu 1480/.test(seen); i++) await sleep(100);
  cap.kill();
  t.match(seen, /need to frag \(mtu 1480\)/, `ICMP fragmentation-needed, next-hop MTU 1480 (${seen.trim()})`);
});

t.test('DR over TAP: fragments, malformed barrage, SYN flood at the table cap', { timeout: 120_000, skip: LAB_SKIP }, async (t) => {
  const cap = 2048;
  const { topo, sock, daemon, log } = await startLab(
    t,
    'dr',
    (topo) => [
      { protocol: 'tcp', addr: topo.vip, port: topo.ports.http, scheduler: 'rr', dests: topo.servers.map((s) => ({ addr: s.ip, port: topo.ports.http, method: 'route' })) },
      { protocol: 'udp', addr: topo.vip, port: topo.ports.udpEcho, scheduler: 'rr', dests: topo.servers.map((s) => ({ addr: s.ip, port: topo.ports.udpEcho, method: 'route' })) },
    ],
    { connCapacity: cap },
  );
  const c = topo.clients[0]!;

  // a datagram of 6000 bytes leaves the client as 5 fragments; the echo comes back whole
  const big = spawnSync('ip', ['netns', 'exec', c.ns, process.execPath, client, 'udpbig', topo.vip, String(topo.ports.udpEcho), '6000'], { encoding: 'utf8', timeout: 10_000 });
  const b = JSON.parse(big.stdout || '{}') as { bytes?: number };
  t.equal(b.bytes, 6000, 'fragmented datagram delivered and echoed whole');

  // an established, slow transfer that must survive what follows
  // one read (up to 64 KiB) every 40 ms: 12 MB take several seconds, across the barrage and the flood
  const get = spawn('ip', ['netns', 'exec', c.ns, process.execPath, client, 'get', topo.vip, String(topo.ports.http), '/bytes/12000000', '40'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let getOut = '';
  get.stdout!.on('data', (x: Buffer) => (getOut += x.toString()));
  const getDone = new Promise<void>((res) => get.on('close', () => res()));
  await sleep(500);

  // malformed barrage
  const inj = spawnSync('ip', ['netns', 'exec', c.ns, process.execPath, inject, c.mac, topo.director.mac!, c.ip, topo.vip, '3000'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(inj.status, 0, `barrage injected: ${inj.stderr}`);
  t.match(inj.stdout, /"sent":3000/);

  // 10-second SYN flood from random sources
  t.ok(get.exitCode === null, 'the transfer is running when the flood starts');
  spawnSync('ip', ['netns', 'exec', c.ns, 'timeout', '10', 'hping3', '-S', '-p', String(topo.ports.http), '-i', 'u200', '--rand-source', topo.vip], { stdio: 'ignore', timeout: 20_000 });

  const st = await counters(daemon, log);
  t.ok((st['malformed.ipv4-truncated'] ?? 0) > 0 && (st['malformed.ipv4-bad-checksum'] ?? 0) > 0, 'malformed frames counted by reason');
  t.ok(st['conntrack.size']! <= cap, `table within its cap (${st['conntrack.size']} <= ${cap})`);
  t.ok(st.tableFull! > 0 || st['conntrack.refused']! > 0, `flood beyond the cap refused and counted (${st.tableFull})`);
  const listed = spawnSync(process.execPath, [tunvsadm, '-L', '-c', '-n'], { encoding: 'utf8', env: { ...process.env, TUNVS_SOCKET: sock } });
  t.ok(listed.stdout.split('\n').length - 3 <= cap, 'listing within the cap');

  await getDone;
  const g = JSON.parse(getOut || '{}') as { bytes?: number };
  t.equal(g.bytes, 12000000, 'the established transfer ran to the end');
});
