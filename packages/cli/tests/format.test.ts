// Golden tests: the reference's ipvsadm 1.31 example outputs (ipvs-semantics.md 10.2, 10.5,
// 10.6, 10.7, stored under tests/golden/) reproduced byte for byte from ServiceInfo fixtures.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnInfo, DestInfo, ServiceInfo, StatsInfo } from '@tunvs/model';
import {
  formatConnections,
  formatDaemons,
  formatList,
  formatSave,
  formatService,
  formatTimeouts,
  largeNum,
  tableResolver,
} from '../src/index.js';
import { zeroStats } from './memory-director.js';

const here = dirname(fileURLToPath(import.meta.url));
const golden = (name: string): string => readFileSync(join(here, 'golden', `${name}.txt`), 'utf8');
const info = { version: 'test', connTableSize: 4096 };

const stats = (p: Partial<StatsInfo>): StatsInfo => ({ ...zeroStats(), ...p });
const dest = (p: Partial<DestInfo> & Pick<DestInfo, 'addr' | 'port'>): DestInfo => ({
  method: 'route', weight: 1, upper: 0, lower: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats: zeroStats(), ...p,
});
const svc = (p: Partial<ServiceInfo>): ServiceInfo => ({
  fwmark: 0, protocol: 'tcp', addr: '', port: 0, scheduler: 'wlc', schedFlags: [], persistent: 0,
  netmask: '255.255.255.255', onePacket: false, pe: '', dests: [], stats: zeroStats(), ...p,
});

// 10.5's configuration. Services and servers are deliberately out of order (kernel order:
// the last-added server first) so that the sorting rules are exercised.
function table(): ServiceInfo[] {
  const web = svc({
    addr: '10.0.0.1', port: 80, scheduler: 'wlc',
    stats: stats({ conns: 1234, inPkts: 98765, outPkts: 87654, inBytes: 123456789, outBytes: 98765432100, cps: 12, inPps: 340, outPps: 300, inBps: 45000, outBps: 1200000 }),
    dests: [
      dest({ addr: '192.168.10.2', port: 8080, method: 'masq', weight: 3 }),
      dest({
        addr: '192.168.10.1', port: 80, method: 'masq', weight: 1, activeConns: 12, inactConns: 345, upper: 100, lower: 50, persistConns: 3,
        stats: stats({ conns: 617, inPkts: 49382, outPkts: 43827, inBytes: 61728394, outBytes: 49382716050, cps: 6, inPps: 170, outPps: 150, inBps: 22500, outBps: 600000 }),
      }),
    ],
  });
  const dns = svc({
    protocol: 'udp', addr: '10.0.0.1', port: 53, scheduler: 'rr', persistent: 360, netmask: '255.255.255.0', onePacket: true,
    dests: [dest({ addr: '192.168.10.3', port: 53, method: 'route', weight: 0, inactConns: 7 })],
  });
  const v6 = svc({
    addr: '2001:db8::80', port: 443, scheduler: 'mh', netmask: '128',
    dests: [dest({ addr: '2001:db8::a0a0', port: 443, method: 'masq' })],
  });
  const fwm = svc({
    fwmark: 1, protocol: null, scheduler: 'sh', schedFlags: ['sh-fallback', 'sh-port'], persistent: 300,
    dests: [dest({ addr: '192.168.10.4', port: 0, method: 'tunnel', weight: 100, activeConns: 1, inactConns: 2 })],
  });
  return [fwm, v6, dns, web];
}

const firstOnly = (): ServiceInfo[] => {
  const web = table()[3]!;
  return [{ ...web, dests: [web.dests[1]!] }];
};
const dropFirst = (s: string): string => s.slice(s.indexOf('\n') + 1);

t.test('-L -n reproduces 10.5 byte for byte (sorting, trailing spaces, flags, IPv6, fwmark)', async (t) => {
  t.equal(formatList(table(), info, { numeric: true }), golden('list-n'));
});

t.test('--stats: K/M suffixes and the 32-bit real-server counters', async (t) => {
  t.equal(formatList(firstOnly(), info, { numeric: true, stats: true }), golden('stats'));
});

t.test('--stats --exact widens the columns', async (t) => {
  const line = formatList(firstOnly(), info, { numeric: true, stats: true, exact: true }).split('\n')[3] + '\n';
  t.equal(line, golden('stats-exact'));
});

t.test('--rate', async (t) => {
  t.equal(dropFirst(formatList(firstOnly(), info, { numeric: true, rate: true })), golden('rate'));
});

t.test('--thresholds (title line ends with a space)', async (t) => {
  t.equal(dropFirst(formatList(firstOnly(), info, { numeric: true, thresholds: true })), golden('thresholds'));
});

t.test('--persistent-conn', async (t) => {
  const s = firstOnly();
  s[0]!.persistent = 360;
  t.equal(dropFirst(formatList(s, info, { numeric: true, persistentConn: true })), golden('persistent-conn'));
});

t.test('--tun-info', async (t) => {
  const s = svc({
    addr: '10.0.0.1', port: 80, scheduler: 'rr',
    dests: [
      dest({ addr: '192.168.11.4', port: 80, method: 'masq' }),
      dest({ addr: '192.168.11.3', port: 80, method: 'tunnel' }),
      dest({ addr: '192.168.11.2', port: 80, method: 'tunnel', tunType: 'gre', tunFlags: 'csum' }),
      dest({ addr: '192.168.11.1', port: 80, method: 'tunnel', tunType: 'gue', tunPort: 6080, tunFlags: 'nocsum' }),
    ],
  });
  t.equal(dropFirst(formatList([s], info, { numeric: true, tunInfo: true })), golden('tun-info'));
});

t.test('mode priority: --stats wins over --rate, --thresholds, --persistent-conn', async (t) => {
  const all = formatList(firstOnly(), info, { numeric: true, stats: true, rate: true, thresholds: true, persistentConn: true });
  t.equal(all, golden('stats'));
  const rt = formatList(firstOnly(), info, { numeric: true, rate: true, thresholds: true });
  t.equal(dropFirst(rt), golden('rate'));
});

t.test('-S -n reproduces 10.2 (save format, sorted, tunnel type)', async (t) => {
  t.equal(formatSave(table(), { numeric: true }), golden('save-n'));
  const tun = svc({
    fwmark: 1, protocol: null, scheduler: 'wlc',
    dests: [
      dest({ addr: '192.168.10.6', port: 0, method: 'tunnel', tunType: 'gre', tunFlags: 'nocsum' }),
      dest({ addr: '192.168.10.5', port: 0, method: 'tunnel', tunType: 'gue', tunPort: 6080, tunFlags: 'csum' }),
    ],
  });
  t.equal(formatSave([tun], { numeric: true }).split('\n').slice(1).join('\n'), golden('save-tunnels'));
});

t.test('save: --pe printed even when not persistent, -b with flags, local servers as -g, no thresholds', async (t) => {
  const s = svc({
    protocol: 'udp', addr: '10.0.0.9', port: 5060, scheduler: 'wrr', pe: 'sip', schedFlags: ['flag-2'],
    dests: [dest({ addr: '127.0.0.1', port: 5060, method: 'local', weight: 2, upper: 9, lower: 3 })],
  });
  t.equal(formatSave([s], { numeric: true }), '-A -u 10.0.0.9:5060 -s wrr --pe sip -b flag-2\n-a -u 10.0.0.9:5060 -r 127.0.0.1:5060 -g -w 2\n');
  const list = formatList([s], info, { numeric: true }).split('\n');
  t.equal(list[3], 'UDP  10.0.0.9:5060 wrr (flag-2)');
  t.equal(list[4], '  -> 127.0.0.1:5060               Local   2      0          0         ');
});

t.test('single service listing: titles and the service, no header', async (t) => {
  const out = formatService(table()[3]!, { numeric: true });
  const g = golden('list-n').split('\n');
  t.equal(out, [g[1], g[2], g[3], g[4], g[5], ''].join('\n'));
});

t.test('--nosort keeps kernel order for services and servers', async (t) => {
  const out = formatList(table(), info, { numeric: true, nosort: true }).split('\n');
  t.match(out[3]!, /^FWM  1 sh/);
  t.match(out[5]!, /^TCP  \[2001:db8::80\]:443/);
  const web = out.findIndex((l) => l.startsWith('TCP  10.0.0.1:80'));
  t.match(out[web + 1]!, /192\.168\.10\.2:8080/);
});

t.test('sorting compares addresses as signed 32-bit differences (200.0.0.1 before 10.0.0.1)', async (t) => {
  const out = formatList(
    [svc({ addr: '10.0.0.1', port: 80 }), svc({ addr: '200.0.0.1', port: 80 }), svc({ addr: '10.0.0.1', port: 79 })],
    info,
    { numeric: true },
  ).split('\n');
  t.same(out.slice(3, 6), ['TCP  200.0.0.1:80 wlc', 'TCP  10.0.0.1:79 wlc', 'TCP  10.0.0.1:80 wlc']);
});

t.test('services sort by protocol number first: TCP (6), UDP (17), then SCTP (132), in -L and -S', async (t) => {
  const s = [
    svc({ protocol: 'sctp', addr: '10.0.0.1', port: 80 }),
    svc({ protocol: 'udp', addr: '10.0.0.1', port: 53 }),
    svc({ addr: '10.0.0.1', port: 80 }),
  ];
  const out = formatList(s, info, { numeric: true }).split('\n');
  t.same(out.slice(3, 6), ['TCP  10.0.0.1:80 wlc', 'UDP  10.0.0.1:53 wlc', 'SCTP  10.0.0.1:80 wlc']);
  t.same(formatSave(s, { numeric: true }).split('\n').slice(0, 3), ['-A -t 10.0.0.1:80 -s wlc', '-A -u 10.0.0.1:53 -s wlc', '-A --sctp-service 10.0.0.1:80 -s wlc']);
});

t.test('names without -n: /etc/services-style port names, hosts fall back to numeric; titles cut at 33/28', async (t) => {
  const r = tableResolver('10.0.0.5 a-very-long-host-name-for-testing.example.org\n', 'http 80/tcp www\ndomain 53/udp\n');
  const s = [
    svc({ addr: '10.0.0.1', port: 80, dests: [dest({ addr: '10.0.0.5', port: 80 })] }),
    svc({ protocol: 'udp', addr: '10.0.0.1', port: 53 }),
    svc({ addr: '10.0.0.5', port: 8080 }),
  ];
  const out = formatList(s, info, { resolver: r }).split('\n');
  t.equal(out[3], 'TCP  10.0.0.1:http wlc');
  t.equal(out[4], '  -> a-very-long-host-name-for-te Route   1      0          0         ');
  t.equal(out[5], 'TCP  a-very-long-host-name-for-te wlc');
  t.equal(out[6], 'UDP  10.0.0.1:domain wlc');
  t.equal(formatSave(s, { resolver: r }).split('\n')[0], '-A -t 10.0.0.1:http -s wlc');
});

t.test('-L -c and -L -c --persistent-conn (10.6)', async (t) => {
  const c = (p: Partial<ConnInfo>): ConnInfo => ({
    protocol: 'TCP', clientAddr: '192.168.1.100', clientPort: 0, virtualAddr: '10.0.0.1', virtualPort: 80,
    destAddr: '192.168.10.1', destPort: 80, state: 'NONE', expires: 0, template: false, fwmark: 0, ...p,
  });
  const conns = [
    c({ clientPort: 51234, state: 'ESTABLISHED', expires: 898 }),
    c({ protocol: 'UDP', clientPort: 40000, virtualPort: 53, destAddr: '192.168.10.3', destPort: 53, state: 'UDP', expires: 299 }),
    c({ template: true, expires: 359.9 }),
    c({ protocol: 'IP', clientAddr: '192.168.1.0', virtualAddr: '', virtualPort: 0, destAddr: '192.168.10.4', destPort: 0, state: 'ASSURED', expires: 357, template: true, fwmark: 1 }),
  ];
  t.equal(formatConnections(conns, { numeric: true }), golden('conns'));
  const pe = [
    c({ protocol: 'UDP', clientPort: 5060, virtualPort: 5060, destAddr: '192.168.10.5', destPort: 5060, state: 'UDP', expires: 59, peName: 'sip', peData: 'abc123@host' }),
  ];
  t.equal(dropFirst(formatConnections(pe, { numeric: true, persistentConn: true })), golden('conns-pe'));
  t.match(formatConnections([c({ expires: 86400 })], { numeric: true }), /TCP 1440:00 NONE/);
});

t.test('--timeout and --daemon (10.7)', async (t) => {
  t.equal(formatTimeouts({ tcp: 900, tcpfin: 120, udp: 300 }), golden('timeout'));
  t.equal(formatDaemons(info), '');
  t.equal(
    formatDaemons({
      ...info,
      daemons: [
        { state: 'backup', mcastIfn: 'eth1', syncid: 5, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
        { state: 'master', mcastIfn: 'eth0', syncid: 0, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
      ],
    }),
    golden('daemon'),
  );
});

t.test('largenum thresholds and --exact widths', async (t) => {
  const cases: [number, string][] = [
    [0, '        0'],
    [99999999, ' 99999999'],
    [100000000, '  100000K'],
    [999999999, '  999999K'],
    [1000000000, '    1000M'],
    [99999999999, '   99999M'],
    [100000000000, '     100G'],
    [99999999999999, '   99999G'],
    [100000000000000, '      100T'.slice(1)],
  ];
  for (const [v, s] of cases) t.equal(largeNum(v), s, String(v));
  t.equal(largeNum(12345678, true), ' 12345678');
  t.equal(largeNum(123456789, true), ' 123456789');
  t.equal(largeNum(98765432100, true), ' 98765432100');
});
