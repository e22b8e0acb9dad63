// The VRRP interpretation without root and without keepalived: a fixed host (eth0, eth1),
// keepalived's defaults and corrections, reference resolution order, tracking weights,
// sync groups, and Piranha's redundancy as a vrrp_instance.
import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, setVrrpHost, staticHost, piranhaVrrp, piranhaRole } from '../src/index.js';

const host = staticHost([
  { name: 'eth0', loopback: false, ethernet: true, multicast: true, mtu: 1500 },
  { name: 'eth1', loopback: false, ethernet: true, multicast: true, mtu: 1500 },
  { name: 'lo', loopback: true, ethernet: false, multicast: false, mtu: 65536 },
]);
const old = setVrrpHost(host);
t.teardown(() => void setVrrpHost(old));

const parse = (text: string) => parseConfigText(text, 'k.conf');
const errs = (text: string): string[] => parse(text).diagnostics.filter((d) => d.exitCode !== 0).map((d) => d.message);

t.test('defaults and derived values', (t) => {
  const r = parse('vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n state MASTER\n virtual_ipaddress {\n 10.0.0.1/24 dev eth1 label eth1:v scope link\n }\n}\n');
  t.same(r.diagnostics.filter((d) => d.exitCode !== 0), []);
  const i = r.config.vrrpConfig.instances[0]!;
  t.match(i, { name: 'VI_1', priority: 255, wantMaster: true, version: 2, advertInt: 1, downTimerAdverts: 3, garpMasterDelay: 5, garpMasterRepeat: 5, garpLowerPrioRepeat: 5, accept: true });
  t.match(i.vips[0], { addr: '10.0.0.1', prefix: 24, dev: 'eth1', label: 'eth1:v', scope: 'link', file: 'k.conf', line: 6 });
  const g = parse('global_defs {\n vrrp_version 3\n vrrp_garp_master_repeat 2\n vrrp_strict\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n priority 255\n state MASTER\n advert_int 0.25\n virtual_ipaddress { 10.0.0.1 }\n}\n');
  t.same(g.diagnostics.filter((d) => d.exitCode !== 0), []);
  t.match(g.config.vrrpConfig.instances[0], { version: 3, advertInt: 0.25, garpMasterRepeat: 2, strict: true, lowerPrioNoAdvert: true, garpLowerPrioRepeat: 0, accept: false });
  t.end();
});

t.test("keepalived's corrections are reported", (t) => {
  t.match(errs('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n advert_int 1.5\n virtual_ipaddress { 10.0.0.1 }\n}\n'), [/VRRPv2 advertisement interval 1\.500000s must be an integer/]);
  t.match(errs('vrrp_instance V {\n version 3\n interface eth0\n virtual_router_id 1\n advert_int 0.055\n virtual_ipaddress { 10.0.0.1 }\n}\n'), [/units of 10ms/]);
  t.match(errs('vrrp_instance V {\n interface eth9\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\n'), [/interface eth9 for vrrp_instance V doesn't exist/, /Non-existent interface/]);
  t.match(errs('vrrp_instance V {\n interface lo\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\n'), [/loopback/, /Unknown interface/]);
  t.match(errs('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n}\n'), [/No VIP specified; at least one is sensible/]);
  t.match(errs('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n unicast_ttl 3\n virtual_ipaddress { 10.0.0.1 }\n}\n'), [/unicast_ttl without unicast peers/]);
  const p = parse('vrrp_instance V {\n interface eth0\n virtual_router_id\n virtual_ipaddress { 10.0.0.1 }\n}\n');
  t.ok(p.diagnostics.some((d) => d.exitCode === 2 && /missing a parameter/.test(d.message)), 'a missing parameter: keepalived exits 2');
  t.end();
});

t.test('track_script / track_file: defined before use, weights from the script or file', (t) => {
  const txt = `global_defs {\n enable_script_security\n script_user root\n}\ntrack_file maint {\n file /tmp/m\n weight -5\n}\nvrrp_script chk {\n script /bin/true\n weight -30\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n track_script {\n  chk\n }\n track_file {\n  maint\n }\n track_interface {\n  eth1 weight 10\n }\n virtual_ipaddress { 10.0.0.1 }\n}\n`;
  const r = parse(txt);
  t.same(r.diagnostics.filter((d) => d.exitCode !== 0), []);
  const i = r.config.vrrpConfig.instances[0]!;
  t.match(i.trackScripts[0], { name: 'chk', weight: -30, weightSet: false });
  t.match(i.trackFiles[0], { name: 'maint', weight: -5 });
  t.match(i.trackInterfaces[0], { name: 'eth1', weight: 10 });
  t.match(r.config.vrrpConfig.scripts[0], { name: 'chk', interval: 1, timeout: 1, rise: 1, fall: 1 });
  t.match(errs(txt.replace('vrrp_script chk {\n script /bin/true\n weight -30\n}\n', '') + 'vrrp_script chk {\n script /bin/true\n}\n'), [/track script chk not found/]);
  t.end();
});

t.test('sync groups: members, weights refused, group notify', (t) => {
  const inst = (n: string, v: number, iface: string, extra = '') => `vrrp_instance ${n} {\n interface ${iface}\n virtual_router_id ${v}\n${extra} virtual_ipaddress { 10.0.${v}.1 }\n}\n`;
  const r = parse(`vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\n${inst('A', 1, 'eth0')}${inst('B', 2, 'eth1')}`);
  t.same(r.diagnostics.filter((d) => d.exitCode !== 0), []);
  t.match(r.config.vrrpConfig.syncGroups[0], { name: 'G', members: ['A', 'B'] });
  t.equal(r.config.vrrpConfig.instances[0]!.syncGroup, 'G');
  t.match(errs(`vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\n${inst('A', 1, 'eth0', ' track_interface {\n  eth1 weight -20\n }\n')}${inst('B', 2, 'eth1')}`), [/ignoring eth1 tracked interface weight due to SYNC group/]);
  t.match(errs(`vrrp_sync_group G {\n group {\n  A\n }\n}\n${inst('A', 1, 'eth0')}`), [/has only 1 virtual router/]);
  t.end();
});

t.test('what tunvsd refuses to start with is a --config-test error (exit 5): AH, IPv6 instance, use_ipvlan', (t) => {
  const r = parse('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress { 10.0.0.1 }\n}\n');
  t.match(r.config.vrrpConfig.instances[0]!.unsupported, [{ what: 'auth_type AH', line: 1 }]);
  t.match(r.diagnostics.filter((d) => d.exitCode !== 0), [{ file: 'k.conf', line: 1, severity: 'error', exitCode: 5, message: /^vrrp_instance V: auth_type AH is not supported by tunvs: / }]);
  const v6 = parse('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { fd00::1 }\n}\n');
  t.match(v6.diagnostics.filter((d) => d.exitCode !== 0), [{ line: 1, exitCode: 5, message: 'vrrp_instance V: IPv6 instance is not supported by tunvs: tunvs runs IPv4 VRRP only' }]);
  // keepalived itself refuses an IPv4 ipvlan without its address (exit 5, checked against 2.2.7)
  const iv = parse('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n use_ipvlan\n virtual_ipaddress { 10.0.0.1 }\n}\n');
  t.match(iv.diagnostics.filter((d) => d.exitCode !== 0), [
    { line: 4, exitCode: 5, message: '(V) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state' },
    { line: 4, exitCode: 5, message: /^vrrp_instance V: use_ipvlan is not supported by tunvs: / },
  ]);
  const iva = parse('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n use_ipvlan ipvl0 10.0.0.9/24\n virtual_ipaddress { 10.0.0.1 }\n}\n');
  t.match(iva.diagnostics.filter((d) => d.exitCode !== 0), [{ line: 4, exitCode: 5, message: /use_ipvlan is not supported by tunvs/ }], 'with an address only tunvs objects');
  t.end();
});

t.test("Piranha's redundancy as a vrrp_instance", (t) => {
  const g = new Map([['primary', '10.99.0.1'], ['backup', '10.99.0.2'], ['backup_active', '1'], ['keepalive', '2'], ['deadtime', '10'], ['network', 'nat'], ['nat_router', '10.98.0.254 eth1:1'], ['nat_nmask', '255.255.255.0']]);
  const v = [new Map([['address', '10.99.0.100 eth0:1'], ['active', '1']])];
  t.equal(piranhaRole(g, ['127.0.0.1', '10.99.0.2']), 'backup');
  t.equal(piranhaRole(g, ['10.99.0.1']), 'primary');
  const text = piranhaVrrp(g, v, 'primary').join('\n');
  const r = parse(text);
  t.same(r.diagnostics.filter((d) => d.exitCode !== 0), [], `keepalived.conf accepted:\n${text}`);
  const i = r.config.vrrpConfig.instances[0]!;
  t.match(i, { priority: 150, nopreempt: true, advertInt: 2, downTimerAdverts: 5, unicastSrcIp: '10.99.0.1', unicastPeers: [{ addr: '10.99.0.2' }] });
  t.same(i.vips.map((x) => `${x.addr}/${x.prefix} ${x.dev}`), ['10.99.0.100/32 eth0', '10.98.0.254/24 eth1'], 'the VIP and the NAT gateway');
  const solo = piranhaVrrp(new Map([['primary', '10.99.0.1'], ['backup_active', '0']]), v, 'primary').join('\n');
  t.match(parse(solo).config.vrrpConfig.instances[0], { priority: 255, wantMaster: true });
  t.same(piranhaVrrp(new Map([['backup_active', '0']]), v, 'backup').filter((l) => l.startsWith('vrrp_instance')), [], 'an inactive backup gets no instance');
  t.end();
});

t.test('enable_script_security: an insecure vrrp_script is disabled (exit 5), an insecure notify script refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kv-sec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const chk = join(dir, 'chk.sh');
  writeFileSync(chk, '#!/bin/sh\nexit 0\n');
  chmodSync(chk, 0o777);
  mkdirSync(join(dir, 'open'));
  chmodSync(join(dir, 'open'), 0o777);
  const note = join(dir, 'open', 'notify.sh');
  writeFileSync(note, '#!/bin/sh\nexit 0\n');
  chmodSync(note, 0o755);
  const txt = `global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script chk_http {\n script "${chk}"\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n track_script {\n  chk_http\n }\n notify_master "${note}"\n virtual_ipaddress { 10.0.0.1 }\n}\nvrrp_instance W {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress { 10.0.0.2 }\n}\nvrrp_sync_group G {\n group {\n  V\n  W\n }\n notify_backup "${note}"\n}\n`;
  const r = parse(txt);
  t.match(r.diagnostics.filter((d) => d.exitCode !== 0), [{ line: 5, severity: 'error', exitCode: 5, message: 'Disabling track script chk_http due to insecure' }]);
  t.match(r.diagnostics.filter((d) => d.exitCode === 0 && /Unsafe/.test(d.message)), [
    { line: 14, message: `Unsafe permissions found for script '${note}' - disabling.` },
    { line: 27, message: `Unsafe permissions found for script '${note}' - disabling.` },
  ]);
  const v = r.config.vrrpConfig;
  t.same(v.scripts, [], 'keepalived drops the script');
  t.same(v.instances[0]!.trackScripts, [], 'and its tracking');
  t.ok(v.instances[0]!.notify.master!.refused, 'the notify script is refused (never run)');
  t.ok(v.syncGroups[0]!.notify.backup!.refused, "the group's too");
  // made safe: accepted, nothing refused
  chmodSync(chk, 0o755);
  chmodSync(join(dir, 'open'), 0o755);
  const ok = parse(txt);
  t.same(ok.diagnostics.filter((d) => d.exitCode !== 0 || /Unsafe/.test(d.message)), []);
  t.equal(ok.config.vrrpConfig.scripts.length, 1);
  t.equal(ok.config.vrrpConfig.instances[0]!.notify.master!.refused, undefined);
  t.end();
});
