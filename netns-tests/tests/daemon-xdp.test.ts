/**
 * tunvsd on a kernel-bypass link (device kind "xdp", and "packet" for NAT): the director owns
 * a veth (no kernel address on it) bridged with a client and two real servers, its addresses
 * in userspace; real HTTP (lab-client) and UDP through NAT and DR; a service added with
 * tunvsadm while running (deleted and added again) is steered at once (its traffic reaches the director); a missing
 * interface fails with @tunvs/xdp's message.
 *
 *   client 10.83.0.2 ─┐
 *   rs1, rs2 ─────────┼─ br0 ─ xd0p ═ xd0 [tunvsd: 10.83.0.1/24, 10.83.1.1/24, VIP 10.83.0.100]
 *   (NAT: 10.83.1.11-12 via 10.83.1.1; DR: 10.83.0.11-12 with the VIP on lo)
 */
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, isRoot, openLab } from '../src/netns.js';
import { RS_SERVICE, TUNVSD, TUNVSADM, waitFor } from '../fixtures/daemon-lab.js';
import { spawnSync } from 'node:child_process';

const skip = !isRoot() && 'needs root';
const VIP = '10.83.0.100';

function clientRun(lab: ReturnType<typeof openLab>, ns: string, args: string[]): { counts: Record<string, number>; errors: number } {
  const r = lab.exec(ns, process.execPath, [fixturePath('fixtures/lab-client.mjs'), ...args], { timeoutMs: 60_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { counts: Record<string, number>; errors: number };
}

async function run(t: Test, kind: 'xdp' | 'packet', method: 'nat' | 'dr'): Promise<void> {
  const lab = openLab(t, 'lxo');
  const work = mkdtempSync(join(tmpdir(), 'lxo-xdp-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const dir = lab.netns(`${kind[0]}${method}d`);
  const cl = lab.netns(`${kind[0]}${method}c`);
  lab.bridge(dir, 'br0');
  // the director's interface: no kernel address; its peer is a bridge port whose offloaded
  // (partial) checksums are completed before the frames reach the link
  lab.veth({ name: 'xd0', ns: dir }, { name: 'xd0p', ns: dir });
  lab.ip(dir, 'link set xd0p master br0');
  lab.exec(dir, 'ethtool', ['-K', 'xd0p', 'tx', 'off']);
  lab.veth({ name: 'vcl', ns: dir }, { name: 'eth0', ns: cl, address: '10.83.0.2/24' });
  lab.ip(dir, 'link set vcl master br0');
  lab.ip(cl, 'route add default via 10.83.0.1');
  const rsNet = method === 'nat' ? '10.83.1' : '10.83.0';
  const servers: string[] = [];
  for (const i of [1, 2]) {
    const ns = lab.netns(`${kind[0]}${method}r${i}`);
    const ip = `${rsNet}.${10 + i}`;
    lab.veth({ name: `vrs${i}`, ns: dir }, { name: 'eth0', ns, address: `${ip}/24` });
    lab.ip(dir, `link set vrs${i} master br0`);
    if (method === 'nat') lab.ip(ns, `route add default via ${rsNet}.1`);
    else {
      lab.ip(ns, `addr add ${VIP}/32 dev lo`);
      lab.exec(ns, 'sh', ['-ec', 'for k in all eth0; do echo 1 > /proc/sys/net/ipv4/conf/$k/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$k/arp_announce; done']);
      lab.ip(ns, 'route add default via 10.83.0.1');
    }
    const c = lab.spawn(ns, process.execPath, [RS_SERVICE, '--name', `rs${i}`, '--http-port', '80', '--udp-port', '7'], `rs${i}`);
    await c.line((s) => s.startsWith('rs-service'), 10_000);
    servers.push(ip);
  }
  const sock = join(work, 'tunvsd.sock');
  const fwd = method === 'nat' ? 'masq' : 'route';
  const config = {
    device: { name: 'xd0', kind, addresses: ['10.83.0.1/24', ...(method === 'nat' ? ['10.83.1.1/24'] : [])] },
    socket: sock,
    services: [
      { protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr', dests: servers.map((addr) => ({ addr, port: 80, method: fwd })) },
      { protocol: 'udp', addr: VIP, port: 7, scheduler: 'rr', dests: servers.map((addr) => ({ addr, port: 7, method: fwd })) },
    ],
  };
  const file = join(work, 'tunvsd.json');
  writeFileSync(file, JSON.stringify(config));
  const d = lab.spawn(dir, process.execPath, [TUNVSD, '-f', file], 'tunvsd');
  await waitFor(() => existsSync(sock) || d.exitCode !== null, 15_000, 'the tunvsd socket');
  t.equal(d.exitCode, null, `tunvsd runs on ${kind} ${d.stderr.slice(-400)}`);
  t.match(d.stderr, kind === 'xdp' ? /AF_XDP, 1 queue\(s\), XDP native mode, copy/ : /AF_PACKET v3/, 'the log names the link');

  const h = clientRun(lab, cl, ['http', VIP, '80', '10']);
  t.same(h, { counts: { rs1: 5, rs2: 5 }, errors: 0 }, `HTTP over ${kind} ${method}: rr over both servers`);
  const u = clientRun(lab, cl, ['udp', VIP, '7', '4']);
  t.equal(u.errors, 0, 'UDP echoed');
  t.equal((u.counts.rs1 ?? 0) + (u.counts.rs2 ?? 0), 4, `UDP from both servers ${JSON.stringify(u)}`);

  // a service deleted and added again at run time is steered again at once
  const adm = (args: string[]): number =>
    spawnSync(process.execPath, [TUNVSADM, ...args], { env: { ...process.env, TUNVS_SOCKET: sock }, encoding: 'utf8', timeout: 10_000 }).status ?? 1;
  t.equal(adm(['-D', '-t', `${VIP}:80`]), 0);
  t.equal(adm(['-A', '-t', `${VIP}:80`, '-s', 'rr']), 0);
  t.equal(adm(['-a', '-t', `${VIP}:80`, '-r', `${servers[0]}:80`, method === 'nat' ? '-m' : '-g']), 0);
  const late = clientRun(lab, cl, ['http', VIP, '80', '3']);
  t.same(late, { counts: { rs1: 3 }, errors: 0 }, 'the service added again is reached through the link');
  const list = spawnSync(process.execPath, [TUNVSADM, '-L', '-n', '--stats'], { env: { ...process.env, TUNVS_SOCKET: sock }, encoding: 'utf8' });
  t.match(list.stdout, /TCP\s+10\.83\.0\.100:80/, 'listed');
  d.proc.kill('SIGTERM');
  t.equal(await d.wait(5_000), 0, 'tunvsd stops cleanly');
  if (kind === 'xdp') t.notMatch(lab.ip(dir, 'link show dev xd0'), /xdp/, 'the XDP program left with the daemon');
}

t.test('tunvsd on AF_XDP: LVS-NAT with real HTTP and UDP', { skip }, async (t) => run(t, 'xdp', 'nat'));
t.test('tunvsd on AF_XDP: LVS-DR with real HTTP and UDP', { skip }, async (t) => run(t, 'xdp', 'dr'));
t.test('tunvsd on AF_PACKET v3: LVS-NAT with real HTTP and UDP', { skip }, async (t) => run(t, 'packet', 'nat'));

t.test('tunvsd on an interface that does not exist: the link\'s message', { skip }, async (t) => {
  const lab = openLab(t, 'lxo');
  const work = mkdtempSync(join(tmpdir(), 'lxo-xdp-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const dir = lab.netns('xerr');
  const file = join(work, 'tunvsd.json');
  writeFileSync(file, JSON.stringify({ device: { name: 'nope0', kind: 'xdp', addresses: ['10.83.0.1/24'] }, socket: join(work, 's.sock'), services: [] }));
  const r = lab.exec(dir, process.execPath, [TUNVSD, '-f', file], { timeoutMs: 15_000 });
  t.not(r.status, 0, 'tunvsd refuses to start');
  t.match(r.stderr, /cannot open AF_XDP on nope0: no such interface in this network namespace/);
});
