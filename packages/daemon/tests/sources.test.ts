import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, detectConfigKind, loadSetup, runTunvsdConfigTest, ConfigError } from '../src/index.js';

const KCONF = `virtual_server 10.10.0.100 80 {
    delay_loop 1
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    real_server 10.10.1.11 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'tunvsd-test-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('detectConfigKind tells JSON, tunvsd.conf and keepalived.conf apart', async (t) => {
  t.equal(detectConfigKind('// a comment\n{ "services": [] }', 'x.conf'), 'json');
  t.equal(detectConfigKind('whatever', 'x.json'), 'json');
  t.equal(detectConfigKind('# tunvsd\nkeepalived_conf /etc/keepalived/keepalived.conf\n', 'tunvsd.conf'), 'tunvsd');
  t.equal(detectConfigKind('! keepalived\nglobal_defs {\n}\n', 'keepalived.conf'), 'keepalived');
  t.equal(detectConfigKind(KCONF, 'k.conf'), 'keepalived');
});

t.test('a tunvsd.conf names the device and the keepalived.conf (relative to itself)', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'keepalived.conf'), KCONF);
  writeFileSync(
    join(d, 'tunvsd.conf'),
    'keepalived_conf keepalived.conf\ndevice kd0\nmode tun\nmtu 1400\ncontrol_socket /run/x.sock\nsource_address 10.10.1.1\nqueues 2\n',
  );
  const r = checkConfig(join(d, 'tunvsd.conf'));
  t.equal(r.exitCode, 0, r.messages.join('\n'));
  t.same(r.messages, []);
  const s = r.setup!;
  t.equal(s.kind, 'tunvsd');
  t.match(s.config.device, { name: 'kd0', kind: 'tun', mtu: 1400, queues: 2 });
  t.equal(s.config.socket, '/run/x.sock');
  t.equal(s.config.sourceAddress, '10.10.1.1');
  t.equal(s.config.keepalivedConf, join(d, 'keepalived.conf'));
  t.equal(s.keepalived!.virtualServers.length, 1);
});

t.test('errors name file and line; --config-test exits like keepalived', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'keepalived.conf'), KCONF.replace('lb_kind NAT', 'lb_kind NOPE'));
  writeFileSync(join(d, 'tunvsd.conf'), 'keepalived_conf keepalived.conf\nmode tan\nqueues 99\n');
  const lines: string[] = [];
  const code = runTunvsdConfigTest(join(d, 'tunvsd.conf'), (l) => lines.push(l));
  t.equal(code, 5);
  t.ok(lines.some((l) => l.startsWith(`${join(d, 'tunvsd.conf')}:2: error: mode`)), lines.join('\n'));
  t.ok(lines.some((l) => l.startsWith(`${join(d, 'tunvsd.conf')}:3: error: queues`)), 'queues 99 rejected');
  t.ok(lines.some((l) => l.startsWith(`${join(d, 'keepalived.conf')}:4: error: `)), 'lb_kind NOPE at keepalived.conf:4');
  t.throws(() => loadSetup(join(d, 'tunvsd.conf')), ConfigError);
  t.equal(runTunvsdConfigTest(join(d, 'missing.conf'), () => undefined), 4, 'unreadable: 4');
});

t.test('a keepalived.conf given directly, and a JSON file pointing at one', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'keepalived.conf'), KCONF);
  const k = loadSetup(join(d, 'keepalived.conf'));
  t.equal(k.kind, 'keepalived');
  t.equal(k.config.device.name, 'tunvs0');
  t.equal(k.keepalived!.virtualServers[0]!.realServers[0]!.weight, 2);
  writeFileSync(join(d, 'tunvsd.json'), JSON.stringify({ device: { name: 'kd0' }, keepalivedConf: 'keepalived.conf', services: [] }));
  const j = loadSetup(join(d, 'tunvsd.json'));
  t.equal(j.kind, 'json');
  t.equal(j.config.keepalivedConf, join(d, 'keepalived.conf'));
  t.equal(j.keepalived!.virtualServers.length, 1);
  // the same service in both places has two owners
  writeFileSync(
    join(d, 'both.json'),
    JSON.stringify({ keepalivedConf: 'keepalived.conf', services: [{ protocol: 'tcp', addr: '10.10.0.100', port: 80 }] }),
  );
  const both = checkConfig(join(d, 'both.json'));
  t.equal(both.exitCode, 5);
  t.match(both.messages.join('\n'), /keepalived\.conf:1: error: virtual server tcp:10\.10\.0\.100:80 is also in/);
  // a bad JSON file keeps the original behaviour (exit 1)
  writeFileSync(join(d, 'bad.json'), '{ "device": ');
  t.equal(runTunvsdConfigTest(join(d, 'bad.json'), () => undefined), 1);
});

t.test('IPv6 virtual servers: config-test exits 0 with a notice, tunvsd runs without them; SCTP ones run', async (t) => {
  const d = dir(t);
  const f = join(d, 'k.conf');
  const v6 = KCONF.replace('10.10.0.100 80', '2001:db8::1 80').replace('10.10.1.11 80', '2001:db8::11 80');
  const sctp = KCONF.replace('10.10.0.100', '10.10.0.101').replace('protocol TCP', 'protocol SCTP');
  writeFileSync(f, KCONF + v6 + sctp);
  const lines: string[] = [];
  t.equal(runTunvsdConfigTest(f, (l) => lines.push(l)), 0);
  t.same(lines, [`${f}:13: warning: not supported by tunvs: IPv6 virtual_server`]);
  const s = loadSetup(f);
  t.same(s.keepalived!.virtualServers.map((vs) => [vs.addr, vs.protocol]), [['10.10.0.100', 'TCP'], ['10.10.0.101', 'SCTP']], 'the IPv4 TCP and SCTP ones are run');
  t.same(s.warnings, lines, 'the same sentences are logged at startup');
});
