/**
 * tunvsd on a kernel-bypass link (device kind "xdp", then "packet"): the director owns a veth
 * (no kernel address on it) bridged with a client and two real servers, its addresses in
 * userspace. One topology serves both methods: a NAT service (VIP .100) and a DR service
 * (VIP .101), real HTTP and UDP through each, in one pass per link kind; the namespaces are
 * shared by both passes. On AF_XDP, a service deleted and added again with tunvsadm while
 * running is steered at once (its traffic reaches the director), and the XDP program leaves
 * with the daemon; a missing interface fails with @tunvs/xdp's message.
 *
 *   client 10.83.0.2 ─┐
 *   rs1, rs2 ─────────┼─ br0 ─ xd0p ═ xd0 [tunvsd: 10.83.0.1/24, 10.83.1.1/24, VIPs .100 NAT, .101 DR]
 *   rs: 10.83.1.1x (NAT: replies from it go via 10.83.1.1 by a source rule),
 *       10.83.0.1x (DR: VIP .101 on lo, replies straight to the client)
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, isRoot, openLab } from '../src/netns.js';
import { RS_SERVICE, TUNVSD, TUNVSADM, waitFor } from '../fixtures/daemon-lab.js';
import { spawnSync } from 'node:child_process';

const skip = !isRoot() && 'needs root';
const NAT_VIP = '10.83.0.100';
const DR_VIP = '10.83.0.101';

interface Counted { counts: Record<string, number>; errors: number }

t.test('tunvsd on AF_XDP and AF_PACKET v3: LVS-NAT and LVS-DR with real HTTP and UDP', { skip }, async (t) => {
  const lab = openLab(t, 'lxo');
  const work = mkdtempSync(join(tmpdir(), 'lxo-xdp-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const dir = lab.netns('xd');
  const cl = lab.netns('xc');
  lab.bridge(dir, 'br0');
  // the director's interface: no kernel address; its peer is a bridge port whose offloaded
  // (partial) checksums are completed before the frames reach the link
  lab.veth({ name: 'xd0', ns: dir }, { name: 'xd0p', ns: dir });
  lab.ip(dir, 'link set xd0p master br0');
  lab.exec(dir, 'ethtool', ['-K', 'xd0p', 'tx', 'off']);
  lab.veth({ name: 'vcl', ns: dir }, { name: 'eth0', ns: cl, address: '10.83.0.2/24' });
  lab.ip(dir, 'link set vcl master br0');
  lab.ip(cl, 'route add default via 10.83.0.1');
  const nat: string[] = [];
  const dr: string[] = [];
  const started = [1, 2].map((i) => {
    const ns = lab.netns(`xr${i}`);
    lab.veth({ name: `vrs${i}`, ns: dir }, { name: 'eth0', ns, address: `10.83.1.${10 + i}/24` });
    lab.ip(dir, `link set vrs${i} master br0`);
    lab.ip(ns, `addr add 10.83.0.${10 + i}/24 dev eth0`);
    lab.ip(ns, `addr add ${DR_VIP}/32 dev lo`);
    lab.exec(ns, 'sh', ['-ec', 'for k in all eth0; do echo 1 > /proc/sys/net/ipv4/conf/$k/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$k/arp_announce; done']);
    // NAT answers (from the NAT address) go back through the director; DR answers (from the
    // VIP) go straight to the client on the shared segment
    lab.ip(ns, 'route add default via 10.83.1.1 table 100');
    lab.ip(ns, 'rule add from 10.83.1.0/24 table 100');
    lab.ip(ns, 'route add default via 10.83.0.1');
    nat.push(`10.83.1.${10 + i}`);
    dr.push(`10.83.0.${10 + i}`);
    const c = lab.spawn(ns, process.execPath, [RS_SERVICE, '--name', `rs${i}`, '--http-port', '80', '--udp-port', '7'], `rs${i}`);
    return c.line((s) => s.startsWith('rs-service'), 15_000);
  });
  await Promise.all(started);

  const clientRun = (jobs: string[]): Counted[] => {
    const r = lab.exec(cl, process.execPath, [fixturePath('fixtures/lab-client.mjs'), 'multi', ...jobs], { timeoutMs: 60_000 });
    return r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Counted);
  };
  const sock = join(work, 'tunvsd.sock');
  const env = { ...process.env, TUNVS_SOCKET: sock };
  const service = (protocol: string, addr: string, port: number, reals: string[], method: string): object =>
    ({ protocol, addr, port, scheduler: 'rr', dests: reals.map((a) => ({ addr: a, port, method })) });

  for (const kind of ['xdp', 'packet'] as const) {
    const config = {
      device: { name: 'xd0', kind, addresses: ['10.83.0.1/24', '10.83.1.1/24'] },
      socket: sock,
      services: [
        service('tcp', NAT_VIP, 80, nat, 'masq'), service('udp', NAT_VIP, 7, nat, 'masq'),
        service('tcp', DR_VIP, 80, dr, 'route'), service('udp', DR_VIP, 7, dr, 'route'),
      ],
    };
    const file = join(work, `tunvsd-${kind}.json`);
    writeFileSync(file, JSON.stringify(config));
    const d = lab.spawn(dir, process.execPath, [TUNVSD, '-f', file], `tunvsd-${kind}`);
    await waitFor(() => existsSync(sock) || d.exitCode !== null, 20_000, 'the tunvsd socket');
    t.equal(d.exitCode, null, `tunvsd runs on ${kind}${d.exitCode === null ? "" : ` ${d.stderr.slice(-400)}`}`);
    t.match(d.stderr, kind === 'xdp' ? /AF_XDP, 1 queue\(s\), XDP native mode, copy/ : /AF_PACKET v3/, 'the log names the link');

    const [hn, un, hd, ud] = clientRun([`http:${NAT_VIP}:80:4`, `udp:${NAT_VIP}:7:4`, `http:${DR_VIP}:80:4`, `udp:${DR_VIP}:7:4`]);
    for (const [what, h, u] of [['NAT', hn, un], ['DR', hd, ud]] as const) {
      t.same(h, { counts: { rs1: 2, rs2: 2 }, errors: 0 }, `HTTP over ${kind} ${what}: rr over both servers`);
      t.equal(u?.errors, 0, `UDP over ${kind} ${what} echoed`);
      t.equal((u?.counts.rs1 ?? 0) + (u?.counts.rs2 ?? 0), 4, `UDP over ${kind} ${what} from the servers ${JSON.stringify(u)}`);
    }

    if (kind === 'xdp') {
      // a NAT service deleted and added again at run time is steered again at once
      const r = spawnSync(process.execPath, [TUNVSADM, '-R'], {
        env, encoding: 'utf8', timeout: 15_000,
        input: `-D -t ${NAT_VIP}:80\n-A -t ${NAT_VIP}:80 -s rr\n-a -t ${NAT_VIP}:80 -r ${nat[0]}:80 -m\n`,
      });
      t.equal(r.status, 0, `tunvsadm -R ${r.stderr}`);
      const [late] = clientRun([`http:${NAT_VIP}:80:3`]);
      t.same(late, { counts: { rs1: 3 }, errors: 0 }, 'the service added again is reached through the link');
      const list = spawnSync(process.execPath, [TUNVSADM, '-L', '-n', '--stats'], { env, encoding: 'utf8', timeout: 15_000 });
      t.match(list.stdout, /TCP\s+10\.83\.0\.100:80/, 'listed');
    }
    d.proc.kill('SIGTERM');
    t.equal(await d.wait(10_000), 0, `tunvsd on ${kind} stops cleanly`);
    if (kind === 'xdp') t.notMatch(lab.ip(dir, 'link show dev xd0'), /xdp/, 'the XDP program left with the daemon');
    rmSync(sock, { force: true });
  }

  // an interface that does not exist: the link's message
  const file = join(work, 'nope.json');
  writeFileSync(file, JSON.stringify({ device: { name: 'nope0', kind: 'xdp', addresses: ['10.83.0.1/24'] }, socket: join(work, 's.sock'), services: [] }));
  const r = lab.exec(dir, process.execPath, [TUNVSD, '-f', file], { timeoutMs: 20_000 });
  t.not(r.status, 0, 'tunvsd refuses to start');
  t.match(r.stderr, /cannot open AF_XDP on nope0: no such interface in this network namespace/);
});
