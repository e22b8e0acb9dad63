import t from 'tap';
import { parseConfigText, setVrrpHost, staticHost } from '@tunvs/keepalived';
import type { ServiceInfo } from '@tunvs/model';
import { vrrpDeviceErrors } from '../src/vrrp-spec.js';
import { steeringPlan, vrrpSteering } from '../src/xdp-device.js';

// VRRP on tunvsd's kernel-bypass interface (device kind xdp or packet): allowed with one
// worker (run through the Director, as on TAP), refused with several, and what the
// steering program must hand the Director for it.

setVrrpHost(staticHost(['xd0', 'eth0', 'eth1', 'eth9'].map((name) => ({ name, loopback: false, ethernet: true, multicast: true, mtu: 1500 }))));

const conf = (iface: string, extra = ''): string =>
  `vrrp_instance VI_1 {\n interface ${iface}\n virtual_router_id 51\n priority 100\n${extra} virtual_ipaddress {\n  10.0.0.100/24\n  10.0.0.254/24\n }\n}\n`;

t.test('config check: an instance on the xdp/packet device runs with one worker; several workers are refused with the reason', (t) => {
  const k = parseConfigText(conf('xd0'), 'k.conf').config;
  for (const kind of ['xdp', 'packet']) {
    t.same(vrrpDeviceErrors({ kind, name: 'xd0' }, k), [], `${kind}: nothing to say with one worker`);
    t.same(vrrpDeviceErrors({ kind, name: 'xd0' }, k, 1), []);
    const e = vrrpDeviceErrors({ kind, name: 'xd0' }, k, 2);
    t.equal(e.length, 1);
    t.match(e[0], { severity: 'error', file: 'k.conf', line: 1, exitCode: 5 });
    t.match(e[0]!.message, new RegExp(`vrrp_instance VI_1: VRRP on tunvsd's ${kind === 'xdp' ? 'AF_XDP' : 'AF_PACKET'} device xd0 runs with one worker only \\(workers 2\\)`));
    t.same(vrrpDeviceErrors({ kind, name: 'eth9' }, k, 2), [], `${kind}: an instance on another interface runs with workers too`);
  }
  t.end();
});

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
    { addr: '224.0.0.18', proto: 112, port: 0 },
    { addr: '10.0.0.100', proto: 'icmp', port: 0 },
    { addr: '10.0.0.254', proto: 'icmp', port: 0 },
  ], 'the VRRP group (protocol 112) and ping to the VIPs');
  t.same(s.arp, ['10.0.0.100', '10.0.0.254'], 'ARP for every VIP, also one no service uses');
  const uni = parseConfigText(conf('xd0', ' unicast_peer {\n  10.0.0.2\n }\n'), 'k.conf').config;
  t.same(vrrpSteering(uni.vrrpConfig, 'xd0', '10.0.0.1').vips[0], { addr: '10.0.0.1', proto: 112, port: 0 }, 'unicast: adverts to the Director\'s address');
  const src = parseConfigText(conf('xd0', ' unicast_src_ip 10.0.0.7\n unicast_peer {\n  10.0.0.2\n }\n'), 'k.conf').config;
  t.same(vrrpSteering(src.vrrpConfig, 'xd0', '10.0.0.1').vips[0], { addr: '10.0.0.7', proto: 112, port: 0 }, 'to unicast_src_ip when set');
  t.same(vrrpSteering(undefined, 'xd0', '10.0.0.1'), { vips: [], arp: [] }, 'no VRRP, nothing');

  const stats = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
  const svc = { fwmark: 0, protocol: 'tcp', addr: '10.0.0.100', port: 80, scheduler: 'rr', schedFlags: [], persistent: 0, netmask: '255.255.255.255', onePacket: false, pe: '', stats, dests: [] } as unknown as ServiceInfo;
  const plan = steeringPlan([svc], ['10.0.0.1'], s);
  t.same(plan.vips.map((v) => `${v.addr}/${String(v.proto)}/${v.port ?? 0}`).sort(), ['10.0.0.100/icmp/0', '10.0.0.100/tcp/80', '10.0.0.254/icmp/0', '224.0.0.18/112/0']);
  t.same(plan.arp.sort(), ['10.0.0.1', '10.0.0.100', '10.0.0.254'], 'ARP once per address');
  t.end();
});
