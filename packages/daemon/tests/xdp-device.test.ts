import t from 'tap';
import { parseConfigText, setVrrpHost, staticHost } from '@tunvs/keepalived';
import type { ServiceInfo } from '@tunvs/model';
import { ConnFlag } from '@tunvs/model';
import { parseSteering } from '@tunvs/xdp';
import { validateDaemonConfig } from '../src/config.js';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { newSyncRecord } from '@tunvs/sync';
import { parseIpv4 } from '@tunvs/packet';
import { slotOf } from '@tunvs/xdp';
import { addressSteered, interfacesRefusal, maskPrefix, steeringPlan, vrrpSteering } from '../src/xdp-device.js';
import { syncWorkerOf } from '../src/workers.js';


const stats = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
function svc(p: Partial<ServiceInfo>, dests: [string, number, string][]): ServiceInfo {
  return {
    fwmark: 0, protocol: 'tcp', addr: '10.0.0.100', port: 80, scheduler: 'rr', schedFlags: [], persistent: 0,
    netmask: '255.255.255.255', onePacket: false, pe: '', stats, ...p,
    dests: dests.map(([addr, port, method]) => ({ addr, port, method, weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats })),
  } as unknown as ServiceInfo;
}

t.test('steeringPlan: VIPs, NAT reals (address-only when persistent), ARP; DR reals not steered; fwmark named', async (t) => {
  const plan = steeringPlan(
    [
      svc({}, [['10.0.1.11', 8080, 'masq'], ['10.0.1.12', 80, 'route']]),
      svc({ protocol: 'udp', port: 53, persistent: 300 }, [['10.0.1.11', 53, 'masq']]),
      svc({ fwmark: 7, protocol: null, addr: '0.0.0.0', port: 0 }, [['10.0.1.13', 0, 'masq']]),
    ],
    ['10.0.0.1'],
    [],
  );
  t.same(plan.vips, [
    { addr: '10.0.0.100', proto: 'tcp', port: 80, addrOnly: false },
    { addr: '10.0.0.100', proto: 'udp', port: 53, addrOnly: true },
    // ICMP (ping, errors) to the Director's addresses and the VIPs
    { addr: '10.0.0.1', proto: 'icmp', port: 0 },
    { addr: '10.0.0.100', proto: 'icmp', port: 0 },
  ]);
  t.same(plan.reals, [
    { addr: '10.0.1.11', proto: 'tcp', port: 8080, addrOnly: false },
    { addr: '10.0.1.11', proto: 'udp', port: 53, addrOnly: true },
  ]);
  t.same(plan.arp.sort(), ['10.0.0.1', '10.0.0.100']);
  t.same(plan.unsteered, ['fwmark 7']);
});

const keysOf = (...a: Parameters<typeof addressSteered>): IterableIterator<string> => addressSteered(...a).keys();

t.test('addressSteered: persistent services and every service that shares a NAT real server endpoint with one', async (t) => {
  const plain = (addr: string, port: number, dests: [string, number, string][]): ServiceInfo => svc({ addr, port }, dests);
  const sticky = (addr: string, port: number, dests: [string, number, string][]): ServiceInfo => svc({ addr, port, persistent: 300 }, dests);
  // the same real endpoint behind a persistent and a plain service: both by address
  t.same([...keysOf([sticky('10.0.0.100', 443, [['10.0.1.11', 443, 'masq']]), plain('10.0.0.101', 443, [['10.0.1.11', 443, 'masq']])], [])].sort(), [
    '10.0.0.100/tcp/443',
    '10.0.0.101/tcp/443',
  ]);
  // the same servers on another port (http beside persistent https): the plain one keeps its ports
  t.same([...keysOf([sticky('10.0.0.100', 443, [['10.0.1.11', 443, 'masq']]), plain('10.0.0.100', 80, [['10.0.1.11', 80, 'masq']])], [])], ['10.0.0.100/tcp/443']);
  // transitively: plain A shares rs1:80 with plain B, B shares rs2:80 with persistent C
  const chain = [
    plain('10.0.0.1', 80, [['10.0.1.1', 80, 'masq']]),
    plain('10.0.0.2', 80, [['10.0.1.1', 80, 'masq'], ['10.0.1.2', 80, 'masq']]),
    sticky('10.0.0.3', 80, [['10.0.1.2', 80, 'masq']]),
    plain('10.0.0.4', 80, [['10.0.1.9', 80, 'masq']]),
  ];
  t.same([...keysOf(chain, [])].sort(), ['10.0.0.1/tcp/80', '10.0.0.2/tcp/80', '10.0.0.3/tcp/80'], 'a chain of shared servers; an unrelated service keeps its ports');
  // a persistent port-0 service answers from every port of its servers: it meets each port's services there
  t.same([...keysOf([sticky('10.0.0.5', 0, [['10.0.1.1', 0, 'masq']]), plain('10.0.0.1', 8080, [['10.0.1.1', 8080, 'masq']])], [])].sort(), ['10.0.0.1/tcp/8080', '10.0.0.5/tcp/0']);
  // no meeting: another protocol, direct routing (nothing comes back), fwmark (not steered)
  t.same([...keysOf([sticky('10.0.0.1', 53, [['10.0.1.1', 53, 'masq']]), svc({ addr: '10.0.0.2', port: 53, protocol: 'udp' }, [['10.0.1.1', 53, 'masq']])], [])], ['10.0.0.1/tcp/53']);
  t.same([...keysOf([sticky('10.0.0.1', 80, [['10.0.1.1', 80, 'route']]), plain('10.0.0.2', 80, [['10.0.1.1', 80, 'route']])], [])], ['10.0.0.1/tcp/80']);
  t.same([...keysOf([svc({ fwmark: 7, protocol: null, addr: '0.0.0.0', port: 0, persistent: 300 }, [['10.0.1.1', 80, 'masq']]), plain('10.0.0.2', 80, [['10.0.1.1', 80, 'masq']])], [])], []);

  // the plan: both VIP entries and the shared real entry by address, so a reply reaches the worker of its request
  const plan = steeringPlan([sticky('10.0.0.100', 443, [['10.0.1.11', 443, 'masq']]), plain('10.0.0.101', 443, [['10.0.1.11', 443, 'masq'], ['10.0.1.12', 443, 'masq']])], ['10.0.0.1'], []);
  t.same(plan.vips.filter((v) => v.proto !== 'icmp'), [
    { addr: '10.0.0.100', proto: 'tcp', port: 443, addrOnly: true },
    { addr: '10.0.0.101', proto: 'tcp', port: 443, addrOnly: true },
  ]);
  t.same(plan.reals, [
    { addr: '10.0.1.11', proto: 'tcp', port: 443, addrOnly: true },
    { addr: '10.0.1.12', proto: 'tcp', port: 443, addrOnly: true },
  ]);
});

t.test('a persistence netmask: the clients of one netmask share a slot, in both directions and for synced connections', async (t) => {
  const net24 = svc({ persistent: 300, netmask: '255.255.255.0' }, [['10.0.1.11', 80, 'masq']]);
  t.same([...addressSteered([net24], [])], [['10.0.0.100/tcp/80', 24]]);
  const plan = steeringPlan([net24], [], []);
  t.same(plan.vips.filter((v) => v.proto !== 'icmp'), [{ addr: '10.0.0.100', proto: 'tcp', port: 80, addrOnly: true, prefix: 24 }]);
  t.same(plan.reals, [{ addr: '10.0.1.11', proto: 'tcp', port: 80, addrOnly: true, prefix: 24 }]);
  // a group takes its shortest netmask; a mask with a hole hashes its leading ones (a coarser grouping, never a finer one)
  const net16 = svc({ addr: '10.0.0.101', persistent: 300, netmask: '255.255.0.0' }, [['10.0.1.11', 80, 'masq']]);
  t.same([...addressSteered([net24, net16], [])].map(([, p]) => p), [16, 16]);
  t.same([...addressSteered([svc({ persistent: 300, netmask: '255.0.255.0' }, [['10.0.1.11', 80, 'masq']])], [])], [['10.0.0.100/tcp/80', 8]]);
  t.equal(maskPrefix('255.255.255.255'), 32);
  t.equal(maskPrefix('0.0.0.0'), 0);
  // a synced connection of two clients of one /24: one worker, the one their packets go to
  const rec = (c: string, cport: number): ReturnType<typeof newSyncRecord> =>
    Object.assign(newSyncRecord(), { protocol: 6, caddr: parseIpv4(c), cport, vaddr: parseIpv4('10.0.0.100'), vport: 80, daddr: parseIpv4('10.0.1.11'), dport: 80 });
  const want = slotOf(parseIpv4('10.9.9.0'), 0, 4);
  for (const [c, p] of [['10.9.9.1', 1000], ['10.9.9.200', 2000]] as const) t.equal(syncWorkerOf(plan.clientBits, 4, rec(c, p)), want, `${c}:${p}`);
  const tmpl = Object.assign(rec('10.9.9.0', 0), { flags: ConnFlag.TEMPLATE });
  t.equal(syncWorkerOf(plan.clientBits, 4, tmpl), want, 'the template (client 10.9.9.0)');
});

t.test('syncWorkerOf: a synced connection goes to the worker its client is steered to', async (t) => {
  const d = new Director({ links: [new MemoryLink('tun', 1500)], timers: false, sourceAddress: '10.10.1.1', now: () => 1000 });
  d.addService({ protocol: 'tcp', addr: '10.0.0.100', port: 443, scheduler: 'rr', persistent: 300 });
  d.addService({ protocol: 'tcp', addr: '10.0.0.101', port: 443, scheduler: 'rr' });
  d.addService({ protocol: 'tcp', addr: '10.0.0.102', port: 80, scheduler: 'rr' });
  d.addService({ protocol: 'tcp', addr: '10.0.0.103', port: 21, scheduler: 'rr' });
  for (const addr of ['10.0.0.100', '10.0.0.101']) d.addDest({ protocol: 'tcp', addr, port: 443 }, { addr: '10.0.1.11', port: 443, method: 'masq' });
  d.addDest({ protocol: 'tcp', addr: '10.0.0.102', port: 80 }, { addr: '10.0.1.11', port: 80, method: 'masq' });
  d.addDest({ protocol: 'tcp', addr: '10.0.0.103', port: 21 }, { addr: '10.0.1.12', port: 21, method: 'masq' });
  const { clientBits } = steeringPlan(d.listServices(), [], d.ftpPorts);
  const caddr = parseIpv4('10.0.9.7');
  // a client port whose own hash differs from the address-only one, with 2 workers
  const cport = [...Array(64).keys()].map((i) => 40000 + i).find((p) => slotOf(caddr, p, 2) !== slotOf(caddr, 0, 2))!;
  const rec = (vip: string, vport: number): ReturnType<typeof newSyncRecord> =>
    Object.assign(newSyncRecord(), { protocol: 6, caddr, cport, vaddr: parseIpv4(vip), vport, daddr: parseIpv4('10.0.1.11'), dport: vport });
  t.equal(syncWorkerOf(clientBits, 2, rec('10.0.0.100', 443)), slotOf(caddr, 0, 2), 'persistent service: by address');
  t.equal(syncWorkerOf(clientBits, 2, rec('10.0.0.101', 443)), slotOf(caddr, 0, 2), 'plain service sharing its real server with it: by address too');
  t.equal(syncWorkerOf(clientBits, 2, rec('10.0.0.102', 80)), slotOf(caddr, cport, 2), 'plain service on another port: by address and port');
  t.equal(syncWorkerOf(clientBits, 2, rec('10.0.0.103', 21)), slotOf(caddr, 0, 2), 'an FTP control connection: by address');
  t.equal(syncWorkerOf(clientBits, 2, rec('10.0.0.103', 40017)), slotOf(caddr, 0, 2), 'its passive data connection (no service on that port): by address, as the VIP\'s port-0 entry steers it');
  const tmpl = Object.assign(rec('10.0.0.102', 80), { flags: ConnFlag.TEMPLATE });
  t.equal(syncWorkerOf(clientBits, 2, tmpl), slotOf(caddr, 0, 2), 'a template: by address');
});

t.test('the FTP helper\'s services: the VIP and the NAT real servers on every port, by client address', async (t) => {
  const ftp = svc({ port: 21 }, [['10.0.1.11', 21, 'masq'], ['10.0.1.12', 21, 'route']]);
  const web = svc({ port: 80 }, [['10.0.1.13', 80, 'masq']]);
  const plan = steeringPlan([ftp, web], ['10.0.0.1'], [21]);
  t.same(plan.vips.filter((v) => v.proto !== 'icmp'), [
    { addr: '10.0.0.100', proto: 'tcp', port: 21, addrOnly: true },
    { addr: '10.0.0.100', proto: 'tcp', port: 0, addrOnly: true },
    { addr: '10.0.0.100', proto: 'tcp', port: 80, addrOnly: false },
  ], 'the control port, and every port for the passive data connections; a web service on the VIP keeps its own entry');
  t.same(plan.reals, [
    { addr: '10.0.1.11', proto: 'tcp', port: 0, addrOnly: true },
    { addr: '10.0.1.13', proto: 'tcp', port: 80, addrOnly: false },
  ], 'the NAT server on every port (replies of data connections, active ones from port 20); not the DR one');
  const shared = steeringPlan([ftp, svc({ port: 80 }, [['10.0.1.11', 80, 'masq']])], [], [21]);
  t.same(shared.reals.map((r) => [r.port, r.addrOnly]), [[0, true], [80, true]], 'a web service on the FTP server itself meets it there: by address too');
  const off = steeringPlan([ftp], ['10.0.0.1'], []);
  t.same(off.vips.filter((v) => v.proto !== 'icmp'), [{ addr: '10.0.0.100', proto: 'tcp', port: 21, addrOnly: false }], 'without the helper on port 21: a plain service');
  t.same(off.reals, [{ addr: '10.0.1.11', proto: 'tcp', port: 21, addrOnly: false }]);
  const dr = steeringPlan([svc({ port: 21 }, [['10.0.1.12', 21, 'route']])], [], [21]);
  t.same(dr.vips.filter((v) => v.proto !== 'icmp'), [{ addr: '10.0.0.100', proto: 'tcp', port: 21, addrOnly: false }], 'no NAT destination: no helper, no data connections to steer');
});

t.test('device kinds xdp/packet: need name and addresses; queues/vnetHdr/mtu/mac refused', async (t) => {
  const ok = validateDaemonConfig({ device: { name: 'xd0', kind: 'xdp', addresses: ['10.0.0.1/24'] }, services: [] }, 'c.json');
  t.equal(ok.config?.device.kind, 'xdp');
  const bad = validateDaemonConfig({ device: { name: 'xd0', kind: 'packet', queues: 2, addresses: [] }, services: [] }, 'c.json');
  t.equal(bad.config, null);
  const msgs = bad.findings.map((f) => `${f.path}: ${f.message}`).join('\n');
  t.match(msgs, /device\.queues: does not apply to kind "packet"/);
  t.match(msgs, /needs "addresses"/);
  const kind = validateDaemonConfig({ device: { kind: 'dpdk' }, services: [] }, 'c.json');
  t.match(kind.findings.map((f) => f.message).join('\n'), /must be "tun", "tap", "xdp" or "packet"/);
});

t.test('device.vnetHdr: taken by kind packet (PACKET_VNET_HDR, on unless false), refused for kind xdp with the reason', async (t) => {
  const ok = validateDaemonConfig({ device: { name: 'xd0', kind: 'packet', vnetHdr: true, addresses: ['10.0.0.1/24'] }, services: [] }, 'c.json');
  t.equal(ok.config?.device.vnetHdr, true);
  t.same(ok.findings.filter((f) => f.severity === 'error'), []);
  const dflt = (device: object): boolean | undefined => validateDaemonConfig({ device: { name: 'xd0', addresses: ['10.0.0.1/24'], ...device }, services: [] }, 'c.json').config?.device.vnetHdr;
  t.equal(dflt({ kind: 'packet' }), true, 'kind packet: on by default');
  t.equal(dflt({ kind: 'packet', vnetHdr: false }), false, 'kind packet: off when asked');
  t.equal(dflt({ kind: 'xdp' }), false, 'kind xdp: none');
  t.equal(dflt({ kind: 'tap', mac: '02:00:00:00:00:09' }), false, 'TAP: off by default');
  const bad = validateDaemonConfig({ device: { name: 'xd0', kind: 'xdp', vnetHdr: true, addresses: ['10.0.0.1/24'] }, services: [] }, 'c.json');
  t.equal(bad.config, null);
  t.match(bad.findings.map((f) => `${f.path}: ${f.message}`).join('\n'), /device\.vnetHdr: does not apply to kind "xdp": AF_XDP frames carry no vnet header \(GSO\); kind "packet" takes one/);
});

t.test('device.interfaces: a further interface for xdp/packet; refused where it does not combine, named', async (t) => {
  const dev = { name: 'xc0', kind: 'xdp', addresses: ['10.0.0.1/24'], interfaces: [{ name: 'xs0', addresses: ['10.0.1.1/24'], gateway: '10.0.1.254' }] };
  const ok = validateDaemonConfig({ device: dev, services: [] }, 'c.json');
  t.same(ok.config?.device.interfaces, [{ name: 'xs0', addresses: ['10.0.1.1/24'], gateway: '10.0.1.254' }]);
  const msg = (raw: unknown): string[] => validateDaemonConfig(raw, 'c.json').findings.filter((f) => f.severity === 'error').map((f) => `${f.path}: ${f.message}`);
  t.match(msg({ device: { ...dev, kind: 'tap' }, services: [] }).join('\n'), /device\.interfaces: is for kind "xdp" or "packet"/);
  t.match(msg({ device: dev, workers: 2, services: [] }).join('\n'), /workers: 2 workers with device\.interfaces: .*not built/);
  t.match(msg({ device: { ...dev, interfaces: [{ name: 'xc0', addresses: ['10.0.1.1/24'] }] }, services: [] }).join('\n'), /device\.interfaces\[0\]\.name: interface xc0 is given twice \(also device\.name\)/);
  t.match(msg({ device: { ...dev, interfaces: [{ name: 'xs0' }] }, services: [] }).join('\n'), /device\.interfaces\[0\]: an interface needs "addresses"/);
  t.match(msg({ device: { ...dev, interfaces: [{ name: 'xs0', addresses: ['10.0.1.1/24'], mac: '02:00:00:00:00:09' }] }, services: [] }).join('\n'), /unknown key "mac" in an interface/);
  t.match(msg({ device: { ...dev, interfaces: [] }, services: [] }).join('\n'), /device\.interfaces: must be a non-empty list/);
});

t.test('interfacesRefusal: VRRP only on the first interface', async (t) => {
  t.equal(interfacesRefusal(['xc0'], ['xs0']), null);
  t.match(interfacesRefusal(['xc0', 'xs0'], ['xs0']) ?? '', /vrrp_instance on xs0: VRRP runs on the director's first interface/);
});

t.test('device.xdp: the AF_XDP tuning, checked by @tunvs/xdp, for kind xdp only', async (t) => {
  const ok = validateDaemonConfig({ device: { name: 'xd0', kind: 'xdp', addresses: ['10.0.0.1/24'], xdp: { txKick: 'thread', kickCpus: [0, 1], ringSize: 4096 } }, services: [] }, 'c.json');
  t.same(ok.config?.device.xdp, { txKick: 'thread', kickCpus: [0, 1], ringSize: 4096 });
  const msgs = (device: object): string =>
    validateDaemonConfig({ device: { name: 'xd0', addresses: ['10.0.0.1/24'], ...device }, services: [] }, 'c.json')
      .findings.map((f) => `${f.path}: ${f.message}`)
      .join('\n');
  t.match(msgs({ kind: 'xdp', xdp: { txKick: 'soon' } }), /device\.xdp: txKick must be 'inline' or 'thread'/);
  t.match(msgs({ kind: 'xdp', xdp: { ringSize: 1000 } }), /device\.xdp: ringSize must be a power of two/);
  t.match(msgs({ kind: 'xdp', xdp: { frames: 10 } }), /device\.xdp\.frames: unknown key/);
  t.match(msgs({ kind: 'packet', xdp: { txKick: 'inline' } }), /device\.xdp: applies to kind "xdp" only/);
});

t.test('vrrpSteering: one advert entry per (address, 112, VRID) of the instances on the device', async (t) => {
  setVrrpHost(staticHost(['xd0', 'eth1'].map((name) => ({ name, loopback: false, ethernet: true, multicast: true, mtu: 1500 }))));
  const inst = (name: string, iface: string, vrid: number, vip: string, extra = ''): string =>
    `vrrp_instance ${name} {\n interface ${iface}\n virtual_router_id ${vrid}\n priority 100\n${extra} virtual_ipaddress {\n  ${vip}/24\n }\n}\n`;
  const adverts = (text: string): string[] => {
    const { config, diagnostics } = parseConfigText(text, 'k.conf');
    t.same(diagnostics.filter((d) => d.severity === 'error'), [], 'the config parses');
    const s = vrrpSteering(config.vrrpConfig, 'xd0', '10.0.0.1');
    // what the port takes (parseEndpoint refuses a port it cannot steer)
    parseSteering({ vips: s.vips });
    return s.vips.filter((v) => v.proto === 112).map((v) => `${String(v.addr)}/${v.port ?? 0}`);
  };
  t.same(adverts(inst('VI_1', 'xd0', 51, '10.0.0.100')), ['224.0.0.18/51'], 'multicast: the group with its VRID');
  t.same(adverts(inst('VI_1', 'xd0', 51, '10.0.0.100') + inst('VI_2', 'xd0', 52, '10.0.0.101')), ['224.0.0.18/51', '224.0.0.18/52'], 'two instances, two VRIDs: two entries');
  t.same(adverts(inst('VI_1', 'xd0', 51, '10.0.0.100') + inst('VI_2', 'eth1', 52, '10.0.0.101')), ['224.0.0.18/51'], 'an instance on another interface: none of its VRID');
  const peer = ' unicast_peer {\n  10.0.0.2\n }\n';
  t.same(adverts(inst('VI_1', 'xd0', 7, '10.0.0.100', peer)), ['10.0.0.1/7'], 'unicast: the Director\'s address with the VRID');
  t.same(
    adverts(inst('VI_1', 'xd0', 7, '10.0.0.100', peer) + inst('VI_2', 'xd0', 8, '10.0.0.101', ' unicast_src_ip 10.0.0.7\n' + peer) + inst('VI_3', 'xd0', 9, '10.0.0.102')),
    ['10.0.0.1/7', '10.0.0.7/8', '224.0.0.18/9'],
    'unicast (default and unicast_src_ip) and multicast side by side',
  );
  t.same(adverts(inst('VI_1', 'xd0', 255, '10.0.0.100')), ['224.0.0.18/255'], 'VRID 255');
});
