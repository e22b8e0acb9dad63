/**
 * tunvsd owning two interfaces (device.interfaces): a client-facing veth and a
 * server-facing veth in the director's namespace, both taken by AF_XDP, then by AF_PACKET
 * v3 (the fallback), each where it opens on this kernel (probed first on a scratch veth;
 * skipped, with the reasons, where neither does), no kernel address on either and
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
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { sysctlIn } from '../src/netns.js';
import { BYPASS_KINDS, bypassGate, bypassPort, bridgedHost, checkNatDr, exitNote, openBypassLab, natDrServices, spawnTunvsd, startRealServers, tunvsadm } from '../fixtures/bypass-lab.js';

const NAT_VIP = '10.84.0.100';
const DR_VIP = '10.84.0.101';
const gate = bypassGate('l2i');

t.test('tunvsd on two bypass interfaces: NAT and DR across them, no kernel forwarding', { skip: gate.skip }, async (t) => {
  const { lab, work } = openBypassLab(t, 'l2i', 'two');
  const dir = lab.netns('d');
  const sw = lab.netns('sw');
  const rt = lab.netns('r');
  lab.bridge(sw, 'brc');
  lab.bridge(sw, 'brs');
  // the director's two interfaces
  bypassPort(lab, { name: 'xc0', ns: dir }, { name: 'xc0p', ns: sw }, 'brc');
  bypassPort(lab, { name: 'xs0', ns: dir }, { name: 'xs0p', ns: sw }, 'brs');
  sysctlIn(dir, 'net.ipv4.ip_forward', '0');
  const cl = bridgedHost(lab, sw, 'brc', 'vcl', 'c', '10.84.0.2/24');
  // the router carries the DR answers (from the VIP) from the servers' segment to the client's
  lab.veth({ name: 'vrc', ns: sw }, { name: 'eth0', ns: rt, address: '10.84.0.254/24' });
  lab.veth({ name: 'vrs', ns: sw }, { name: 'eth1', ns: rt, address: '10.84.2.254/24' });
  lab.ip(sw, 'link set vrc master brc');
  lab.ip(sw, 'link set vrs master brs');
  sysctlIn(rt, 'net.ipv4.ip_forward', '1');
  for (const k of ['all', 'default', 'eth0', 'eth1']) sysctlIn(rt, `net.ipv4.conf.${k}.rp_filter`, '0');
  // NAT answers through the director's server side, DR answers through the router
  const reals = await startRealServers(lab, { sw, br: 'brs', short: 's', nat: '10.84.1', natGateway: '10.84.1.1', dr: { net: '10.84.2', vip: DR_VIP, gateway: '10.84.2.254' }, udp: true });
  const sock = join(work, 'tunvsd.sock');

  // AF_XDP, then AF_PACKET (the fallback where AF_XDP cannot open): each that opens here
  for (const kind of BYPASS_KINDS) {
    const why = gate.why(kind);
    if (why !== false) {
      await t.test(`the pass on ${kind}`, { skip: why }, () => {});
      continue;
    }
    const config = {
      device: { name: 'xc0', kind, addresses: ['10.84.0.1/24'], interfaces: [{ name: 'xs0', addresses: ['10.84.1.1/24', '10.84.2.1/24'] }] },
      socket: sock,
      services: natDrServices(NAT_VIP, DR_VIP, reals),
    };
    const d = await spawnTunvsd(lab, dir, { work, name: kind, config, sock, waitMs: 20_000 });
    t.equal(d.exitCode, null, `tunvsd runs on ${kind}${exitNote(d)}`);
    if (d.exitCode !== null) continue;
    t.match(d.stderr, /"device":"xc0"/, 'the client side opened');
    t.match(d.stderr, /"device":"xs0"/, 'the server side opened');
    if (kind === 'xdp') {
      t.match(lab.ip(dir, 'link show dev xc0'), /xdp/, 'the steering program is on the client side');
      t.match(lab.ip(dir, 'link show dev xs0'), /xdp/, 'and on the server side');
    }

    checkNatDr(t, lab, cl, kind, NAT_VIP, DR_VIP, ' across the interfaces');
    t.equal(lab.exec(dir, 'sysctl', ['-n', 'net.ipv4.ip_forward']).stdout.trim(), '0', 'the director\'s namespace never forwarded: ip_forward is 0');
    // the director's own counters: the neighbours of both sides resolved by ARP
    const list = tunvsadm(sock, ['-L', '-n', '--stats']);
    t.match(list.stdout, /TCP\s+10\.84\.0\.100:80/, 'listed');
    d.proc.kill('SIGTERM');
    t.equal(await d.wait(10_000), 0, `tunvsd on ${kind} stops cleanly`);
    if (kind === 'xdp') {
      t.notMatch(lab.ip(dir, 'link show dev xc0'), /xdp/, 'the XDP programs left with the daemon');
      t.notMatch(lab.ip(dir, 'link show dev xs0'), /xdp/);
    }
    rmSync(sock, { force: true });
  }
});
