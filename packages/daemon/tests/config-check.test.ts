/**
 * `tunvsd --config-test` runs exactly the daemon's check (issue 13 items 4, 5, 7): what the
 * daemon would refuse or half-apply is refused here with file:line; an empty, unreadable
 * or unrecognisable file is refused; a file that declares no services explicitly passes.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, needsRestart, runTunvsdConfigTest, parseJsonLines } from '../src/index.js';
import { threadCpus } from '@tunvs/hostnet';

const dir = mkdtempSync(join(tmpdir(), 'lha-conf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (name: string, text: string | Buffer): string => {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, text);
  return p;
};
const test = (p: string): { code: number; out: string } => {
  const lines: string[] = [];
  const code = runTunvsdConfigTest(p, (l) => lines.push(l));
  return { code, out: lines.join('\n') };
};

const VIP = '10.10.0.100';
const json = (services: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ device: { name: 'kd0', kind: 'tun' }, ...extra, services }, null, 2) + '\n';
const svc = (x: Record<string, unknown> = {}, dests: unknown = [{ addr: '10.10.1.11', port: 80, method: 'masq' }]): Record<string, unknown> => ({
  protocol: 'tcp',
  addr: VIP,
  port: 80,
  ...x,
  dests,
});

t.test('JSON: what the daemon refuses, config-test refuses, naming file:line', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['unknown scheduler', json([svc({ scheduler: 'nope' })]), /:11: error: services\[0\].scheduler: Scheduler not found: 'nope'/],
    ['constructor as a scheduler', json([svc({ scheduler: 'constructor' })]), /services\[0\]\.scheduler: Scheduler not found/],
    ['bad mark 0', json([], { marks: [{ mark: 0 }] }), /:\d+: error: marks\[0\]\.mark: invalid fwmark value `0' specified/],
    ['mark 2^32', json([], { marks: [{ mark: 4294967296 }] }), /marks\[0\]\.mark: invalid fwmark value/],
    ['mark ports', json([], { marks: [{ mark: 1, ports: '70000' }] }), /marks\[0\]\.ports: invalid port list/],
    ['mark protocol', json([], { marks: [{ mark: 1, protocol: 'icmp' }] }), /marks\[0\]\.protocol: must be "tcp", "udp" or "all"/],
    ['mark key', json([], { marks: [{ mark: 1, port: '80' }] }), /marks\[0\]\.port: unknown key "port"/],
    ['marks not a list', json([], { marks: { mark: 1 } }), /marks: must be a list/],
    ['connCapacity 1e12', json([], { connCapacity: 1e12 }), /connCapacity: must be an integer 1\.\.67108864, not 1000000000000/],
    ['connCapacity -5', json([], { connCapacity: -5 }), /connCapacity: must be an integer/],
    ['workers 0', json([], { workers: 0 }), /workers: must be an integer 1\.\.64, not 0/],
    ['workers 2 on TUN', json([], { workers: 2 }), /:\d+: error: workers: 2 workers need a kernel-bypass device \(kind "xdp" or "packet"\); a TUN device runs one Director: the kernel picks a TUN\/TAP queue by its own flow hash/],
    ['connCapacity below workers', json([], { workers: 4, connCapacity: 3, device: { kind: 'xdp', name: 'eth0', addresses: ['10.9.0.1/24'] } }), /:\d+: error: connCapacity: 3 is smaller than workers \(4\): the table is divided among the workers/],
    ['dests "x"', json([svc({}, 'x')]), /services\[0\]\.dests: must be a list of destinations, not 'x'/],
    ['weight 2^40', json([svc({}, [{ addr: '10.10.1.11', port: 80, weight: 1099511627776 }])]), /services\[0\]\.dests\[0\]\.weight: illegal weight specified/],
    ['method constructor', json([svc({}, [{ addr: '10.10.1.11', port: 80, method: 'constructor' }])]), /dests\[0\]\.method: unknown forwarding method/],
    ['multicast dest', json([svc({}, [{ addr: '224.0.0.9', port: 80 }])]), /dests\[0\]\.addr: a real server must be a unicast address/],
    ['duplicate dest', json([svc({}, [{ addr: '10.10.1.11', port: 80 }, { addr: '10.10.1.11', port: 80 }])]), /dests\[1\]: destination 10\.10\.1\.11:80 is listed twice/],
    ['duplicate service', json([svc(), svc()]), /services\[1\]: service tcp:10\.10\.0\.100:80 is listed twice/],
    ['fwmark 1.5', json([{ fwmark: 1.5 }]), /services\[0\]\.fwmark: invalid fwmark value `1.5' specified/],
    ['timeouts -1', json([], { timeouts: { tcp: -1 } }), /timeouts\.tcp: invalid timeout value `-1' specified/],
    ['timeouts typo', json([], { timeouts: { tcp_fin: 5 } }), /timeouts\.tcp_fin: unknown field 'tcp_fin' in timeouts/],
    ['unknown top key', json([], { servics: [] }), /servics: unknown key "servics" in the configuration/],
    ['unknown service key', json([svc({ sheduler: 'rr' })]), /services\[0\]\.sheduler: unknown key "sheduler" in a service/],
    ['device queues', json([], { device: { queues: 99 } }), /device\.queues: must be an integer 1\.\.16/],
    ['device multicast mac', json([], { device: { kind: 'tap', mac: '01:00:5e:00:00:01' } }), /device\.mac: 01:00:5e:00:00:01 is a multicast MAC/],
    ['device address', json([], { device: { addresses: ['10.0.0.1/33'] } }), /device\.addresses\[0\]: /],
    ['no services declared', JSON.stringify({ device: { name: 'kd0' } }), /declares no services: give "services"/],
    ['a key twice', '{\n  "services": [],\n  "services": []\n}\n', /:3: error: "services" appears twice in the same object/],
    ['syntax', '{\n  "services": [\n    {,}\n  ]\n}\n', /:3: error: expected a "key"/],
  ];
  for (const [what, text, msg] of cases) {
    const r = test(file('c.json', text));
    t.equal(r.code, 1, `${what}: exit 1`);
    t.match(r.out, msg, `${what}: ${r.out}`);
    t.equal(checkConfig(join(dir, `${n - 1}-c.json`)).setup, null, `${what}: the daemon refuses it too`);
  }
  const good = file('good.json', json([svc({ scheduler: 'rr', persistent: 60 }, [{ addr: '10.10.1.11', port: 80, method: 'masq', weight: 2147483647 }])], { marks: [{ mark: 4294967295, protocol: 'tcp', daddr: '10.10.0.0/24', ports: '80,443,1000-2000' }], connCapacity: 1024, workers: 1, timeouts: { tcp: 600 } }));
  t.same(test(good), { code: 0, out: '' }, 'a good file passes silently');
});

t.test('JSON: a DR/TUN port other than the service port is kept, with a warning', async (t) => {
  const tap = { device: { name: 'kd0', kind: 'tap', addresses: ['10.10.1.1/24'] } };
  const r = checkConfig(file('dr.json', json([svc({}, [{ addr: '10.10.1.11', port: 8080, method: 'route' }])], tap)));
  t.ok(r.setup, 'accepted');
  t.equal(r.setup!.config.services[0]!.dests![0]!.port, 8080, 'as the kernel keeps it');
  t.match(r.messages.join('\n'), /:\d+: warning: services\[0\]\.dests\[0\]\.port: direct routing does not change the port: packets keep port 80/);
});

t.test('a forwarding method the device cannot carry is refused at config-test, as at start: DR on TUN, a tunnel with no address of ours', async (t) => {
  // JSON: at the destination's method
  const p = file('dr-tun.json', json([svc({}, [{ addr: '10.10.1.11', port: 80, method: 'masq' }, { addr: '10.10.1.12', port: 80, method: 'route' }])]));
  let r = test(p);
  t.equal(r.code, 1);
  t.match(r.out, /dr-tun\.json:\d+: error: services\[0\]\.dests\[1\]\.method: 10\.10\.1\.12:80: direct routing \(-g\) .*needs a layer-2 \(TAP\) device; this director runs on a TUN device \(layer 3\)/);
  t.notMatch(r.out, /10\.10\.1\.11/, 'NAT on TUN is fine');
  const line = Number(/dr-tun\.json:(\d+):/.exec(r.out)![1]);
  t.match(readFileSync(p, 'utf8').split('\n')[line - 1], /"method": "route"/, 'the line of the method');
  // the same on a layer-2 device passes; a tunnel needs an address of ours (sourceAddress or the device's)
  t.equal(test(file('dr-tap.json', json([svc({}, [{ addr: '10.10.1.12', port: 80, method: 'route' }])], { device: { name: 'kd0', kind: 'tap', addresses: ['10.10.1.1/24'] } }))).code, 0);
  r = test(file('tun-nosrc.json', json([svc({}, [{ addr: '10.10.1.12', port: 80, method: 'tunnel' }])])));
  t.equal(r.code, 1);
  t.match(r.out, /services\[0\]\.dests\[0\]\.method: 10\.10\.1\.12:80: .*address/);
  t.equal(test(file('tun-src.json', json([svc({}, [{ addr: '10.10.1.12', port: 80, method: 'tunnel' }])], { sourceAddress: '10.10.1.1' }))).code, 0);
  // keepalived.conf on the default device (TUN): at the real server's line
  const k = file('kdr.conf', ['virtual_server 10.10.0.100 80 {', '    lb_algo rr', '    lb_kind DR', '    protocol TCP', '    real_server 10.10.1.11 80 {', '    }', '}', ''].join('\n'));
  r = test(k);
  t.not(r.code, 0);
  t.match(r.out, /kdr\.conf:5: error: real server 10\.10\.1\.11:80: direct routing \(-g\) .*this director runs on a TUN device/);
});

t.test('empty, unreadable and unrecognisable files are refused; "no services" on purpose passes', async (t) => {
  const kempty = file('keepalived.conf', '');
  t.equal(test(kempty).code, 5);
  t.match(test(kempty).out, /the file is empty: nothing to apply/);
  t.match(test(file('tunvsd.conf', '')).out, /the file is empty/);
  t.equal(test(file('x.json', '')).code, 1);
  t.match(test(file('comments.conf', '# nothing\n! here\n\n')).out, /the file is empty/);
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256).filter((b) => b !== 0x7b && b !== 0x7d));
  const g = test(file('garbage.conf', garbage));
  t.not(g.code, 0, 'binary garbage is refused');
  t.equal(checkConfig(join(dir, `${n - 1}-garbage.conf`)).setup, null);
  t.match(test(file('words.conf', 'hello world\nfoo bar\n')).out, /holds no recognised keepalived configuration/);
  // a keepalived.conf named by tunvsd.conf that became empty
  const k = file('k.conf', '');
  const tconf = file('t.conf', `keepalived_conf ${k}\ndevice kd0\n`);
  t.match(test(tconf).out, /the keepalived configuration is empty/);
  t.equal(checkConfig(tconf).setup, null);
  // declared on purpose: no virtual servers, or "services": []
  const blocks = file('blocks.conf', 'global_defs {\n    router_id lvs1\n}\n');
  const b = checkConfig(blocks);
  t.ok(b.setup, 'global_defs and no virtual_server: accepted');
  t.equal(b.setup!.keepalived!.virtualServers.length, 0);
  t.ok(checkConfig(file('emptyglobal.conf', 'global_defs {\n}\n')).setup, 'an empty global_defs block too');
  t.ok(checkConfig(file('none.json', json([]))).setup, '"services": [] is accepted');
  // unreadable: a directory, a FIFO, a device, a missing file, a file over the cap
  t.match(test(dir).out, /not a regular file/);
  t.match(test('/dev/zero').out, /not a regular file/);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  t.match(test(fifo).out, /not a regular file/, 'a FIFO is refused without waiting for a writer');
  t.equal(test(join(dir, 'missing.json')).code, 4);
  t.match(test(join(dir, 'missing.json')).out, /cannot read: ENOENT/);
  // a keepalived.conf named by tunvsd's own file: at the line that names it
  const named = test(file('named.conf', `device kd0\nkeepalived_conf ${join(dir, 'nothere.conf')}\n`));
  t.equal(named.code, 4);
  t.match(named.out, /named\.conf:2: error: keepalived_conf: \S*nothere\.conf: cannot read: ENOENT/);
  t.match(test(file('named.json', JSON.stringify({ device: { name: 'kd0' }, keepalivedConf: join(dir, 'nothere.conf') }, null, 1))).out, /named\.json:5: error: keepalivedConf: \S*nothere\.conf: cannot read: ENOENT/);
  const big = file('big.json', '{"services": []}' + ' '.repeat((16 << 20) + 1));
  t.match(test(big).out, /more than the 16777216-byte limit/);
});

t.test('tunvsd.conf: its values go through the same check, with its own keywords and lines', async (t) => {
  const r = test(file('t.conf', 'device kd0\nqueues x\nmac 01:00:5e:00:00:01\nsource_address 300.1.1.1\ngateway 10.0.0.1\n'));
  t.equal(r.code, 5);
  t.match(r.out, /t\.conf:2: error: queues: must be an integer 1\.\.16, not 'x'/);
  t.match(r.out, /t\.conf:3: error: mac: 01:00:5e:00:00:01 is a multicast MAC address/);
  t.match(r.out, /t\.conf:4: error: source_address: invalid IPv4 address '300\.1\.1\.1'/);
  t.notMatch(r.out, /gateway/);
});

t.test('keepalived.conf: virtual and real servers are checked with the control API rules', async (t) => {
  const k = file(
    'k.conf',
    [
      'virtual_server 10.10.0.100 80 {',
      '    lb_algo nope',
      '    lb_kind NAT',
      '    protocol TCP',
      '    real_server 224.0.0.9 80 {',
      '        weight 1',
      '    }',
      '}',
      'virtual_server fwmark 5 {',
      '    lb_algo rr',
      '    lb_kind DR',
      '    real_server 10.10.1.11 80 {',
      '    }',
      '}',
      'virtual_server fwmark 5 {',
      '    lb_algo rr',
      '    lb_kind DR',
      '    real_server 10.10.1.12 0 {',
      '    }',
      '}',
      '',
    ].join('\n'),
  );
  const r = test(k);
  t.equal(r.code, 5);
  t.match(r.out, /k\.conf:2: error: .*'nope'/, 'the parser refuses the scheduler');
  t.match(r.out, /k\.conf:5: error: real server 224\.0\.0\.9:80: addr: a real server must be a unicast address/);
  t.match(r.out, /k\.conf:15: error: virtual server fwmark:5 is also in .*k\.conf:9/);
});

t.test('positions: every value of a JSON file has its line', async (t) => {
  const doc = parseJsonLines('// comment\n{\n  "a": [\n    1,\n    {"b": true}\n  ],\n  "__proto__": 5\n}\n');
  t.equal(doc.lineOf('a[1].b'), 5);
  t.equal(doc.lineOf('a[0]'), 4);
  t.equal(doc.lineOf('a[7].x'), 3, 'the nearest known ancestor');
  t.equal(Object.getPrototypeOf(doc.value), Object.prototype, '"__proto__" is an own key, not a prototype');
  t.same(Object.keys(doc.value as object), ['a', '__proto__']);
});

t.test('sloppy_tcp: tunvsd.conf `sloppy_tcp 0|1` and JSON "sloppyTcp"; anything else refused at its line', async (t) => {
  t.equal(checkConfig(file('s1.conf', 'device kd0\nsloppy_tcp 1\n')).setup?.config.sloppyTcp, true, 'sloppy_tcp 1');
  t.equal(checkConfig(file('s0.conf', 'device kd0\nsloppy_tcp 0\n')).setup?.config.sloppyTcp, false, 'sloppy_tcp 0');
  t.equal(checkConfig(file('s2.conf', 'device kd0\nsloppy_tcp 2\n')).setup?.config.sloppyTcp, true, 'any non-zero integer turns it on, as the sysctl');
  t.equal(checkConfig(file('sn.conf', 'device kd0\n')).setup?.config.sloppyTcp, undefined, 'absent: the daemon applies the default (off)');
  t.equal(checkConfig(file('s.json', json([], { sloppyTcp: true }))).setup?.config.sloppyTcp, true, 'JSON');
  const bad = test(file('sb.conf', 'device kd0\nsloppy_tcp yes\nsloppy_tcp\n'));
  t.equal(bad.code, 5);
  t.match(bad.out, /sb\.conf:2: error: sloppy_tcp: must be true or false, not 'yes'/);
  t.match(bad.out, /sb\.conf:3: error: sloppy_tcp needs one value: 0 or 1/);
  t.notMatch(bad.out, /Unknown keyword 'sloppy_tcp'/, 'not reported as unknown');
  const bj = test(file('sb.json', json([], { sloppyTcp: 1 })));
  t.equal(bj.code, 1, "a JSON configuration error: exit 1");
  t.match(bj.out, /sb\.json:\d+: error: sloppyTcp: must be true or false, not 1/);
});

t.test('interface: tunvsd.conf `interface NAME ADDR/PREFIX ...` is device.interfaces[k], checked as the JSON form, errors at its line', async (t) => {
  const good = checkConfig(file('i1.conf', 'device xs0\nmode xdp\naddress 10.1.0.1/24\ninterface xs1 10.2.0.1/24 10.3.0.1/24\ninterface xs2 10.4.0.1/24\n'));
  t.same(good.setup?.config.device.interfaces, [
    { name: 'xs1', addresses: ['10.2.0.1/24', '10.3.0.1/24'] },
    { name: 'xs2', addresses: ['10.4.0.1/24'] },
  ]);
  t.equal(test(file('i2.conf', 'device xs0\nmode packet\naddress 10.1.0.1/24\ninterface xs1 10.2.0.1/24\n')).code, 0, 'a good file passes');
  const tun = test(file('i3.conf', 'device kd0\naddress 10.1.0.1/24\ninterface xs1 10.2.0.1/24\n'));
  t.not(tun.code, 0);
  t.match(tun.out, /i3\.conf:3: error: interface: .*is for kind "xdp" or "packet"/, 'a TUN device refuses it at the line');
  const bad = test(file('i4.conf', 'device xs0\nmode xdp\naddress 10.1.0.1/24\ninterface xs1\ninterface\ninterface xs2 nonsense\ninterface xs0 10.5.0.1/24\n'));
  t.not(bad.code, 0);
  t.match(bad.out, /i4\.conf:4: error: interface needs a name and at least one address/);
  t.match(bad.out, /i4\.conf:5: error: interface needs a name and at least one address/);
  t.match(bad.out, /i4\.conf:6: error: interface: /, 'a bad address at its line');
  t.match(bad.out, /i4\.conf:7: error: interface: .*given twice/, 'the device named again at its line');
  t.notMatch(bad.out, /Unknown keyword 'interface'/, 'not reported as unknown');
});

t.test('cpus: JSON a list or a CPU list, tunvsd.conf `cpus 2-3`; one CPU per worker, none twice, errors at their line', async (t) => {
  const xdp = { device: { kind: 'xdp', name: 'eth0', addresses: ['10.9.0.1/24'] } };
  t.same(checkConfig(file('c1.json', json([], { ...xdp, workers: 2, cpus: [3, 1] }))).setup?.config.cpus, [3, 1], 'a list: worker i on cpus[i], in the order given');
  t.same(checkConfig(file('c2.json', json([], { ...xdp, workers: 4, cpus: '0-2,5' }))).setup?.config.cpus, [0, 1, 2, 5], 'a CPU list string');
  t.same(checkConfig(file('c3.json', json([], { cpus: [7] }))).setup?.config.cpus, [7], 'one worker: one CPU (the main thread runs the Director)');
  t.equal(checkConfig(file('c4.json', json([]))).setup?.config.cpus, undefined, 'absent: not pinned');
  t.same(checkConfig(file('c5.conf', 'device eth0\nmode xdp\naddress 10.9.0.1/24\nworkers 2\ncpus 0-1\n')).setup?.config.cpus, [0, 1], 'tunvsd.conf `cpus 0-1`');
  t.same(checkConfig(file('c6.conf', 'device eth0\nmode xdp\naddress 10.9.0.1/24\nworkers 2\ncpus 1 0\n')).setup?.config.cpus, [1, 0], 'tunvsd.conf `cpus 1 0`');
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['too few', { ...xdp, workers: 2, cpus: [1] }, /:\d+: error: cpus: names 1 CPU \(1\) for 2 Director threads \(workers 2\): give one CPU per worker/],
    ['too many for one worker', { cpus: '0-3' }, /cpus: names 4 CPUs \(0-3\) for 1 Director thread \(workers 1\)/],
    ['twice', { ...xdp, workers: 2, cpus: [1, 1] }, /cpus: CPU 1 is named twice: one Director per core/],
    ['backwards', { cpus: '3-1' }, /cpus: "3-1" is a range written backwards/],
    ['junk', { cpus: '0,x' }, /cpus: "x" is not a CPU number or range \(a list looks like 0-3,6\)/],
    ['out of range', { cpus: [1024] }, /cpus: a CPU is an integer 0\.\.1023, not 1024/],
    ['negative', { cpus: [-1] }, /cpus: a CPU is an integer 0\.\.1023, not -1/],
    ['empty', { cpus: [] }, /cpus: must be a list of CPU numbers \(\[2, 3\]\) or a CPU list \("2-3"\), not \[\]/],
    ['empty string', { cpus: '' }, /cpus: an empty CPU list/],
  ];
  for (const [what, extra, msg] of cases) {
    const r = test(file('cb.json', json([], extra)));
    t.equal(r.code, 1, `${what}: exit 1`);
    t.match(r.out, msg, `${what}: ${r.out}`);
  }
  const c = test(file('cb.conf', 'device eth0\nmode xdp\naddress 10.9.0.1/24\nworkers 2\ncpus 0-0\n'));
  t.equal(c.code, 5);
  t.match(c.out, /cb\.conf:5: error: cpus: names 1 CPU \(0\) for 2 Director threads/, 'tunvsd.conf: at its line');
  t.notMatch(c.out, /Unknown keyword 'cpus'/, 'not reported as unknown');
  t.match(test(file('cn.conf', 'device eth0\ncpus\n')).out, /cn\.conf:2: error: cpus needs a value: a CPU list such as 2-3/);
  const a = checkConfig(file('r1.json', json([], { ...xdp, workers: 2, cpus: [0, 1] }))).setup!.config;
  const b = checkConfig(file('r2.json', json([], { ...xdp, workers: 2, cpus: '1,0' }))).setup!.config;
  t.same(needsRestart(a, b), ['cpus: "0,1" -> "1,0"'], 'a reload cannot move the workers: logged as needing a restart');
  t.same(needsRestart(a, a), [], 'the same CPUs: nothing');
  // the machine is the start's business: config-test warns (exit 0) about a CPU tunvsd may not run on here
  const far = test(file('far.json', json([], { cpus: [1023] })));
  t.equal(far.code, 0, 'valid as a file');
  t.match(far.out, /far\.json:\d+: warning: cpus: CPU 1023 is not one tunvsd may run on \(its CPUs: [0-9,-]+\): tunvsd would not start with it on this machine/);
  const near = test(file('near.conf', `device eth0\nmode xdp\naddress 10.9.0.1/24\ncpus ${threadCpus()[0]}\n`));
  t.same([near.code, near.out], [0, ''], 'a CPU of this machine: nothing to say');
  t.match(test(file('far.conf', 'device eth0\nmode xdp\naddress 10.9.0.1/24\ncpus 1023\n')).out, /far\.conf:4: warning: cpus: CPU 1023 is not one/, 'tunvsd.conf: at its line');
});
