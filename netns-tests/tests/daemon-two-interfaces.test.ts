/**
 * tunvsd owning two interfaces (device.interfaces): a client-facing veth and a
 * server-facing veth in the director's namespace, both taken by AF_XDP, then by AF_PACKET
 * v3 (the fallback; only it where AF_XDP cannot open), no kernel address on either and
 * ip_forward off: the Director itself
 * takes a client's packet in on one wire and sends it out on the other, and the NAT reply
 * back. Real HTTP and UDP through a NAT VIP and a DR VIP.
 *
 *   client 10.84.0.2 ─┐                          ┌─ rs1, rs2: 10.84.1.1x (NAT: replies by a
 *   router .0.254 ────┴ brc ─ xc0p ═ xc0 [dir] xs0 ═ xs0p ─ brs ┤  source rule via 10.84.1.1),
 *     (.2.254, forwards DR replies to the client)       │  10.84.2.1x (DR: VIP .101 on lo,
 *                                      router .2.254 ───┘  replies through the router)
 *   director: xc0 10.84.0.1/24 (VIPs .100 NAT, .101 DR), xs0 10.84.1.1/24 + 10.84.2.1/24
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixturePath, isRoot, openLab, sysctlIn } from '../src/netns.js';
import { RS_SERVICE, TUNVSADM, TUNVSD, waitFor } from '../fixtures/daemon-lab.js';

const skip = !isRoot() && 'needs root';
const NAT_VIP = '10.84.0.100';
const DR_VIP = '10.84.0.101';

interface Counted { counts: Record<string, number>; errors: number }

t.test('tunvsd on two bypass interfaces: NAT and DR across them, no kernel forwarding', { skip }, async (t) => {
  const lab = openLab(t, 'l2i');
  const work = mkdtempSync(join(tmpdir(), 'l2i-two-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const dir = lab.netns('d');
  const sw = lab.netns('sw');
  const cl = lab.netns('c');
  const rt = lab.netns('r');
  lab.bridge(sw, 'brc');
  lab.bridge(sw, 'brs');
  // the director's two interfaces: no kernel address; their peers are bridge ports whose
  // offloaded (partial) checksums are completed before the frames reach the links
  for (const [d, p, br] of [['xc0', 'xc0p', 'brc'], ['xs0', 'xs0p', 'brs']] as const) {
    lab.veth({ name: d, ns: dir }, { name: p, ns: sw });
    lab.ip(sw, `link set ${p} master ${br}`);
    lab.exec(sw, 'ethtool', ['-K', p, 'tx', 'off']);
  }
  sysctlIn(dir, 'net.ipv4.ip_forward', '0');
  lab.veth({ name: 'vcl', ns: sw }, { name: 'eth0', ns: cl, address: '10.84.0.2/24' });
  lab.ip(sw, 'link set vcl master brc');
  // the router carries the DR answers (from the VIP) from the servers' segment to the client's
  lab.veth({ name: 'vrc', ns: sw }, { name: 'eth0', ns: rt, address: '10.84.0.254/24' });
  lab.veth({ name: 'vrs', ns: sw }, { name: 'eth1', ns: rt, address: '10.84.2.254/24' });
  lab.ip(sw, 'link set vrc master brc');
  lab.ip(sw, 'link set vrs master brs');
  sysctlIn(rt, 'net.ipv4.ip_forward', '1');
  for (const k of ['all', 'default', 'eth0', 'eth1']) sysctlIn(rt, `net.ipv4.conf.${k}.rp_filter`, '0');
  const nat: string[] = [];
  const dr: string[] = [];
  const started = [1, 2].map((i) => {
    const ns = lab.netns(`s${i}`);
    lab.veth({ name: `vrs${i}`, ns: sw }, { name: 'eth0', ns, address: `10.84.1.${10 + i}/24` });
    lab.ip(sw, `link set vrs${i} master brs`);
    lab.ip(ns, `addr add 10.84.2.${10 + i}/24 dev eth0`);
    lab.ip(ns, `addr add ${DR_VIP}/32 dev lo`);
    lab.exec(ns, 'sh', ['-ec', 'for k in all eth0; do echo 1 > /proc/sys/net/ipv4/conf/$k/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$k/arp_announce; done']);
    // NAT answers (from the NAT address) go back through the director's server side; DR
    // answers (from the VIP) through the router
    lab.ip(ns, 'route add default via 10.84.1.1 table 100');
    lab.ip(ns, 'rule add from 10.84.1.0/24 table 100');
    lab.ip(ns, 'route add default via 10.84.2.254');
    nat.push(`10.84.1.${10 + i}`);
    dr.push(`10.84.2.${10 + i}`);
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

  // AF_XDP, then AF_PACKET v3 (the fallback where AF_XDP cannot open; here both are run)
  const ran: string[] = [];
  for (const kind of ['xdp', 'packet'] as const) {
    const config = {
      device: { name: 'xc0', kind, addresses: ['10.84.0.1/24'], interfaces: [{ name: 'xs0', addresses: ['10.84.1.1/24', '10.84.2.1/24'] }] },
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
    if (d.exitCode !== null && kind === 'xdp' && /AF_XDP/.test(d.stderr)) {
      t.comment(`AF_XDP did not open, AF_PACKET next: ${d.stderr.trim().split('\n').pop() ?? ''}`);
      continue;
    }
    t.equal(d.exitCode, null, `tunvsd runs on ${kind}${d.exitCode === null ? '' : ` ${d.stderr.slice(-400)}`}`);
    if (d.exitCode !== null) continue;
    ran.push(kind);
    t.match(d.stderr, /"device":"xc0"/, 'the client side opened');
    t.match(d.stderr, /"device":"xs0"/, 'the server side opened');
    if (kind === 'xdp') {
      t.match(lab.ip(dir, 'link show dev xc0'), /xdp/, 'the steering program is on the client side');
      t.match(lab.ip(dir, 'link show dev xs0'), /xdp/, 'and on the server side');
    }

    const [hn, un, hd, ud] = clientRun([`http:${NAT_VIP}:80:4`, `udp:${NAT_VIP}:7:4`, `http:${DR_VIP}:80:4`, `udp:${DR_VIP}:7:4`]);
    for (const [what, h, u] of [['NAT', hn, un], ['DR', hd, ud]] as const) {
      t.same(h, { counts: { rs1: 2, rs2: 2 }, errors: 0 }, `HTTP over ${kind} ${what} across the interfaces: rr over both servers`);
      t.equal(u?.errors, 0, `UDP over ${kind} ${what} echoed`);
      t.equal((u?.counts.rs1 ?? 0) + (u?.counts.rs2 ?? 0), 4, `UDP over ${kind} ${what} from the servers ${JSON.stringify(u)}`);
    }
    t.equal(lab.exec(dir, 'sysctl', ['-n', 'net.ipv4.ip_forward']).stdout.trim(), '0', 'the director\'s namespace never forwarded: ip_forward is 0');
    // the director's own counters: the neighbours of both sides resolved by ARP
    const list = spawnSync(process.execPath, [TUNVSADM, '-L', '-n', '--stats'], { env, encoding: 'utf8', timeout: 15_000 });
    t.match(list.stdout, /TCP\s+10\.84\.0\.100:80/, 'listed');
    d.proc.kill('SIGTERM');
    t.equal(await d.wait(10_000), 0, `tunvsd on ${kind} stops cleanly`);
    if (kind === 'xdp') {
      t.notMatch(lab.ip(dir, 'link show dev xc0'), /xdp/, 'the XDP programs left with the daemon');
      t.notMatch(lab.ip(dir, 'link show dev xs0'), /xdp/);
    }
    rmSync(sock, { force: true });
  }
  t.ok(ran.length > 0, `a bypass kind ran (${ran.join(', ')})`);
});
