import t from 'tap';
import { parseConfigText, setVrrpHost, staticHost } from '@tunvs/keepalived';
import type { ServiceInfo } from '@tunvs/model';
import { vrrpDeviceErrors } from '../src/vrrp-spec.js';
import { steeringPlan, vrrpSteering } from '../src/xdp-device.js';
import { WorkerDirector, WorkerPool } from '../src/workers.js';
import type { WorkerSetup } from '../src/workers.js';
import { formatMac, packet, rd16 } from '@tunvs/packet';

// VRRP on tunvsd's kernel-bypass interface (device kind xdp or packet): run through the
// Director as on TAP, with one worker or several (the state in every worker, adverts relayed
// from any, sends through worker 0), and what the steering program must hand the Director.

setVrrpHost(staticHost(['xd0', 'eth0', 'eth1', 'eth9'].map((name) => ({ name, loopback: false, ethernet: true, multicast: true, mtu: 1500 }))));

const conf = (iface: string, extra = ''): string =>
  `vrrp_instance VI_1 {\n interface ${iface}\n virtual_router_id 51\n priority 100\n${extra} virtual_ipaddress {\n  10.0.0.100/24\n  10.0.0.254/24\n }\n}\n`;

t.test('config check: an instance on the xdp/packet device runs (as on TAP), also with workers', (t) => {
  const k = parseConfigText(conf('xd0'), 'k.conf').config;
  for (const kind of ['xdp', 'packet']) t.same(vrrpDeviceErrors({ kind, name: 'xd0' }, k), [], `${kind}: nothing to say`);
  t.end();
});

t.test('workers: a VIP\'s state reaches every worker (worker 0 answers ARP), adverts from any worker reach the instance, sends go through worker 0', async (t) => {
  const MAC = [2, 0, 0, 0, 0, 9];
  const setup = (index: number): WorkerSetup => ({ index, link: { kind: 'memory', mtu: 1500 }, metrics: false, director: { mac: MAC, addresses: [{ addr: '10.9.0.1', prefix: 24 }], connCapacity: 4096, conntrack: {} } });
  const logs: string[] = [];
  const pool = new WorkerPool([setup(0), setup(1)], (level, msg) => logs.push(`${level} ${msg}`));
  t.teardown(() => pool.stop());
  await pool.ready();
  const d = new WorkerDirector({ mac: Uint8Array.from(MAC), addresses: [{ addr: '10.9.0.1', prefix: 24 }], linkName: 'mem', mtu: 1500 }, pool);
  const VIP = '10.9.0.100';
  const CMAC = '02:00:00:00:00:50';
  const whoHas = packet().eth({ src: CMAC, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, senderMac: CMAC, senderIp: '10.9.0.50', targetIp: VIP }).build();
  const syn = packet().eth({ src: CMAC, dst: '02:00:00:00:00:09' }).ipv4({ src: '10.9.0.50', dst: VIP }).tcp({ sport: 40000, dport: 80, flags: 'S' }).build();
  // as DaemonVrrp does: the VIP silenced before the service that uses it
  d.setAddressActive(VIP, false);
  const key = { protocol: 'tcp' as const, addr: VIP, port: 80 };
  d.addService(key);
  d.addDest(key, { addr: '10.9.0.30', port: 80, method: 'route' });
  t.same(await pool.frames(0, [whoHas]), [], 'backup: worker 0 does not answer ARP for the VIP (nor announced it)');
  t.same(await pool.frames(1, [syn]), [], 'backup: worker 1 does not forward the VIP\'s traffic');
  await d.refresh();
  t.equal(d.stats()['vrrpBackup'], 1, 'counted, summed over the workers');
  d.setAddressActive(VIP, true);
  const [reply] = await pool.frames(0, [whoHas]);
  t.equal(reply && formatMac(reply.subarray(14 + 8, 14 + 14)), '02:00:00:00:00:09', 'master: worker 0 answers ARP for the VIP');
  const fwd = await pool.frames(1, [syn]);
  t.equal(fwd.length, 1, 'master: worker 1 forwards (an ARP request for the real server first)');
  t.equal(rd16(fwd[0]!, 12), 0x0806);

  // adverts: the steering program gives them to the worker of their source's hash
  const got: Uint8Array[] = [];
  d.onLocalProtocol(112, (dg) => got.push(dg));
  const advert = packet().eth({ src: '02:00:00:00:00:02', dst: '01:00:5e:00:00:12' }).ipv4({ src: '10.9.0.2', dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(Uint8Array.of(0x31, 61, 100, 1, 0, 20, 0, 0, 10, 9, 0, 100)).build();
  await pool.frames(1, [advert]);
  await pool.frames(0, [advert]);
  await until(() => got.length === 2);
  t.equal(got.length, 2, 'an advert received by either worker reaches the instance');
  t.equal(got[0]![9], 112, 'from the IP header');
  // what the instance sends leaves by worker 0
  d.sendFrame(Uint8Array.from({ length: 42 }, (_, i) => i));
  t.ok(d.sendDatagram(packet().ipv4({ src: '10.9.0.1', dst: '224.0.0.18', ttl: 255, protocol: 112 }).payload(new Uint8Array(12)).build()));
  const out = await pool.frames(0, []);
  t.equal(out.length, 2, 'the gratuitous ARP and the advert went out on worker 0');
  t.equal(out[0]![41], 41);
  t.equal(formatMac(out[1]!.subarray(0, 6)), '01:00:5e:00:00:12');
  // worker 1 may repeat its ARP request for the real server meanwhile (its neighbour entry
  // is still unresolved, and a loaded machine can take longer than the retry interval)
  const arpForRs = (f: Uint8Array): boolean => rd16(f, 12) === 0x0806 && rd16(f, 20) === 1 && f.subarray(38, 42).join('.') === '10.9.0.30';
  t.same((await pool.frames(1, [])).filter((f) => !arpForRs(f)), [], 'not on worker 1');
  d.sendDatagram(packet().ipv4({ src: '10.9.0.1', dst: '10.9.0.2', ttl: 255, protocol: 112 }).payload(new Uint8Array(12)).build());
  const asked = await pool.frames(0, []);
  t.equal(rd16(asked[0]!, 12), 0x0806, 'an unresolved unicast peer: worker 0 asks by ARP');
  await until(() => logs.some((l) => l.includes('advert not sent')));
  t.ok(logs.some((l) => l.includes('advert not sent')), 'and the advert not sent is logged');
  d.onLocalProtocol(112, null);
  await pool.frames(1, [advert]);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(got.length, 2, 'the relay stops with the handler');
  d.releaseAddress(VIP);
  t.equal((await pool.frames(0, [whoHas])).length, 1, 'released: a service VIP is answered again');
  t.same(logs.filter((l) => l.startsWith('error')), [], 'no worker refused an operation');
});

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!pred() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
}

t.test('config check: what the Director cannot hold on the bypass device is named as on TAP', (t) => {
  const bad = 'vrrp_instance VI_1 {\n interface xd0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  10.0.0.100/24\n  10.0.0.101/24 dev eth0\n }\n virtual_routes {\n  10.5.0.0/16 dev xd0\n }\n}\n';
  const k = parseConfigText(bad, 'k.conf').config;
  const errs = vrrpDeviceErrors({ kind: 'xdp', name: 'xd0' }, k).map((d) => d.message);
  t.match(errs, [/use_vmac on the AF_XDP device xd0: the director's MAC is the device's own \(the interface's\)/, /virtual_routes on the AF_XDP device xd0/, /10\.0\.0\.101 dev eth0: an instance on the AF_XDP device xd0 holds its VIPs in the director/]);
  t.equal(errs.length, 3);
  t.match(vrrpDeviceErrors({ kind: 'tap', name: 'xd0' }, k).map((d) => d.message), [/use_vmac on the TAP device xd0/], 'TAP keeps its words');
  t.same(vrrpDeviceErrors({ kind: 'tun', name: 'xd0' }, k), [], 'nothing on a TUN device');
  t.end();
});

t.test('steering: adverts (group or unicast source), VIP ARP and ping of the instances on the device only', (t) => {
  const multi = parseConfigText(conf('xd0') + conf('eth1').replace('VI_1', 'VI_2').replace('51', '52').replace(/10\.0\.0\./g, '10.9.0.'), 'k.conf').config;
  const s = vrrpSteering(multi.vrrpConfig, 'xd0', '10.0.0.1');
  t.same(s.vips, [
    { addr: '224.0.0.18', proto: 112, port: 51 },
    { addr: '10.0.0.100', proto: 'icmp', port: 0 },
    { addr: '10.0.0.254', proto: 'icmp', port: 0 },
  ], 'the VRRP group (protocol 112, the instance\'s VRID as port) and ping to the VIPs');
  t.same(s.arp, ['10.0.0.100', '10.0.0.254'], 'ARP for every VIP, also one no service uses');
  const uni = parseConfigText(conf('xd0', ' unicast_peer {\n  10.0.0.2\n }\n'), 'k.conf').config;
  t.same(vrrpSteering(uni.vrrpConfig, 'xd0', '10.0.0.1').vips[0], { addr: '10.0.0.1', proto: 112, port: 51 }, 'unicast: adverts to the Director\'s address');
  const src = parseConfigText(conf('xd0', ' unicast_src_ip 10.0.0.7\n unicast_peer {\n  10.0.0.2\n }\n'), 'k.conf').config;
  t.same(vrrpSteering(src.vrrpConfig, 'xd0', '10.0.0.1').vips[0], { addr: '10.0.0.7', proto: 112, port: 51 }, 'to unicast_src_ip when set');
  t.same(vrrpSteering(undefined, 'xd0', '10.0.0.1'), { vips: [], arp: [] }, 'no VRRP, nothing');

  const stats = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
  const svc = { fwmark: 0, protocol: 'tcp', addr: '10.0.0.100', port: 80, scheduler: 'rr', schedFlags: [], persistent: 0, netmask: '255.255.255.255', onePacket: false, pe: '', stats, dests: [] } as unknown as ServiceInfo;
  const plan = steeringPlan([svc], ['10.0.0.1'], [], s);
  t.same(plan.vips.map((v) => `${v.addr}/${String(v.proto)}/${v.port ?? 0}`).sort(), ['10.0.0.1/icmp/0', '10.0.0.100/icmp/0', '10.0.0.100/tcp/80', '10.0.0.254/icmp/0', '224.0.0.18/112/51']);
  t.same(plan.arp.sort(), ['10.0.0.1', '10.0.0.100', '10.0.0.254'], 'ARP once per address');
  t.end();
});
