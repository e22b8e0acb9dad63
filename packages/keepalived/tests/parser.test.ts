import t from 'tap';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseConfigText,
  setVrrpHost,
  staticHost,
  parseConfigFile,
  configTest,
  runConfigTest,
  serviceSpecs,
  destSpec,
  sorryDestSpec,
  splitQuoted,
  parseScriptLine,
  expandBraces,
  parseTunvsdConf,
} from '../src/index.js';
import type { HttpCheck, MiscCheck } from '../src/index.js';

const NAT = `
global_defs {
  router_id LVS1
}
virtual_server 192.168.1.110 80 {
  delay_loop 6
  lb_algo wlc
  lb_kind NAT
  persistence_timeout 900
  persistence_granularity 255.255.255.0
  protocol TCP
  sorry_server 10.9.9.9
  real_server 10.1.1.2 80 {
    weight 2
    TCP_CHECK {
      connect_timeout 3
    }
  }
  real_server 10.1.1.3 {
    inhibit_on_failure
    HTTP_GET {
      url {
        path /h
        digest 843315021A24176B089462F1EF4FC73F
      }
      url {
        path "/a b"
        status_code 200 301-302
      }
    }
  }
}
`;

t.test('NAT service with wlc and persistence: typed config golden', (t) => {
  const r = parseConfigText(NAT, '/etc/keepalived/keepalived.conf');
  // router_id is read but (without e-mail alerts) not acted on: a notice, nothing else
  t.same(
    r.diagnostics.map((d) => [d.line, d.message, d.exitCode]),
    [[3, 'parsed, not implemented by tunvs: router_id', 0]],
  );
  t.equal(r.config.global.routerId, 'LVS1');
  const vs = r.config.virtualServers[0]!;
  t.match(vs, {
    kind: 'addr',
    addr: '192.168.1.110',
    port: 80,
    protocol: 'TCP',
    lbAlgo: 'wlc',
    lbKind: 'NAT',
    delayLoop: 6,
    persistenceTimeout: 900,
    persistenceGranularity: '255.255.255.0',
    quorum: 1,
    hysteresis: 0,
    line: 5,
    sorryServer: { addr: '10.9.9.9', port: 80, lbKind: 'NAT' },
  });
  const [a, b] = vs.realServers;
  t.match(a, { addr: '10.1.1.2', port: 80, weight: 2, inhibitOnFailure: false, lbKind: 'NAT' });
  t.match(a!.checkers[0], { type: 'TCP_CHECK', connectTimeout: 3, retry: 1, delayBeforeRetry: 1, delayLoop: 6, warmup: 6, connectIp: '10.1.1.2', connectPort: 80, alpha: false });
  t.match(b, { addr: '10.1.1.3', port: 80, weight: 1, inhibitOnFailure: true });
  const h = b!.checkers[0] as HttpCheck;
  t.equal(h.type, 'HTTP_GET');
  t.equal(h.retry, 1);
  t.equal(h.delayBeforeRetry, 3);
  t.equal(h.connectTimeout, 5);
  t.same(h.urls.map((u) => [u.path, u.digest, u.statusCodes]), [
    ['/h', '843315021a24176b089462f1ef4fc73f', [[200, 299]]],
    ['/a b', undefined, [[200, 200], [301, 302]]],
  ]);
  t.same(serviceSpecs(vs, r.config), [
    { scheduler: 'wlc', persistent: 900, netmask: '255.255.255.0', protocol: 'tcp', addr: '192.168.1.110', port: 80 },
  ]);
  t.same(destSpec(a!), { addr: '10.1.1.2', port: 80, method: 'masq', weight: 2 });
  t.same(destSpec(b!, 0), { addr: '10.1.1.3', port: 80, method: 'masq', weight: 0 });
  t.same(sorryDestSpec(vs.sorryServer!), { addr: '10.9.9.9', port: 80, method: 'masq', weight: 1 });
  t.end();
});

t.test('defaults and corrections are warned about with file:line', (t) => {
  const r = parseConfigText(
    `virtual_server 10.0.0.1 80 {
  lb_kind DR
  real_server 10.0.0.2 8080 {
  }
  real_server 10.0.0.2 8080 {
  }
}
`,
    'k.conf',
  );
  const m = r.diagnostics.map((d) => `${d.line}:${d.message}`);
  t.match(m.join('\n'), /1:.*no protocol set - defaulting to UDP/);
  t.match(m.join('\n'), /1:.*no scheduler set, setting default 'wlc'/);
  t.match(m.join('\n'), /3:.*ports don't match - resetting/);
  t.match(m.join('\n'), /5:.*duplicated - removing/);
  const vs = r.config.virtualServers[0]!;
  t.equal(vs.protocol, 'UDP');
  t.equal(vs.lbAlgo, 'wlc');
  t.equal(vs.realServers.length, 1);
  t.equal(vs.realServers[0]!.port, 80);
  t.same(destSpec(vs.realServers[0]!).method, 'route');
  t.end();
});

t.test('bad values are errors and keep the default', (t) => {
  const r = parseConfigText(
    `virtual_server 10.0.0.1 80 {
  lb_algo nope
  lb_kind dr
  protocol tcp
  delay_loop soon
  real_server 10.0.0.2 80 {
    weight -3
    HTTP_GET {
      url {
        path /
        digest 1234
        status_code 99
      }
    }
  }
}
`,
    'b.conf',
  );
  const errs = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.line);
  t.same(errs, [2, 3, 5, 7, 7, 11, 12]);
  const vs = r.config.virtualServers[0]!;
  t.equal(vs.protocol, 'TCP', 'protocol is case-insensitive');
  t.equal(vs.lbKind, 'NAT');
  t.equal(vs.delayLoop, 60);
  t.equal(vs.realServers[0]!.weight, 1);
  t.end();
});

t.test("keepalived's unknown-block trap is reproduced and warned about", (t) => {
  const text = `virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  my_block {
    weight 5
  }
  real_server 10.0.0.2 80 {
  }
}
`;
  const r = parseConfigText(text, 'trap.conf');
  t.equal(r.config.virtualServers.length, 0, 'the virtual server is lost, as with keepalived');
  const msgs = r.diagnostics.map((d) => `${d.line}:${d.message}`);
  t.ok(msgs.includes("5:Unknown keyword 'my_block'"));
  t.ok(msgs.some((m) => m.startsWith("5:unknown block 'my_block'") && m.includes("ends that enclosing block")));
  t.ok(msgs.includes("5:Unexpected '{' - ignoring"));
  t.ok(msgs.includes("8:Unknown keyword 'real_server'"));
  const skip = parseConfigText(text, 'trap.conf', { unknownBlocks: 'skip' });
  t.equal(skip.config.virtualServers.length, 1, 'skip mode keeps the virtual server');
  t.equal(skip.config.virtualServers[0]!.realServers[0]!.weight, 1, 'and the block contents are not applied');
  t.end();
});

t.test('comments, quoting, one-liners, fwmark groups', (t) => {
  const r = parseConfigText(
    `virtual_server_group G {   # c
  10.0.0.10-12 80
  10.0.1.0/31 81
  fwmark 7
}
virtual_server group G { lb_algo rr ! c
  lb_kind TUN
  protocol UDP
  real_server 10.0.0.2 { TCP_CHECK { connect_port 81 } }
}
virtual_server fwmark 3 {
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.3 8080 {
    notify_up "/bin/echo 'a b' c\\tx" nobody
  }
}
`,
    'g.conf',
  );
  t.same(r.diagnostics.map((d) => d.message), ['SECURITY VIOLATION - check scripts are being executed but script_security not enabled.']);
  const [g, f] = r.config.virtualServers;
  t.same(
    serviceSpecs(g!, r.config).map((s) => (s.fwmark ? `fwm${s.fwmark}` : `${s.protocol}:${s.addr}:${s.port}`)),
    ['udp:10.0.0.10:80', 'udp:10.0.0.11:80', 'udp:10.0.0.12:80', 'udp:10.0.1.0:81', 'udp:10.0.1.1:81', 'fwm7'],
  );
  t.equal(g!.realServers[0]!.checkers[0]!.connectPort, 81);
  t.equal(g!.realServers[0]!.port, 0);
  t.same(serviceSpecs(f!, r.config), [{ scheduler: 'rr', fwmark: 3 }]);
  t.same(f!.realServers[0]!.notifyUp!.argv, ['/bin/echo', 'a b', 'c\tx']);
  t.equal(f!.realServers[0]!.notifyUp!.user, 'nobody');
  t.end();
});

t.test('script tokeniser', (t) => {
  t.same(splitQuoted(`abc" def"g 'x y'`, false), ['abc defg', 'x y']);
  t.same(splitQuoted(`a\\x41\\101\\cA\\q`, true), ['aAA\x01q']);
  t.equal(splitQuoted(`"open`, false), null);
  t.same(parseScriptLine(` "/usr/local/bin/x.sh arg1 'a b'" nobody grp`), {
    argv: ['/usr/local/bin/x.sh', 'arg1', 'a b'],
    command: "/usr/local/bin/x.sh arg1 'a b'",
    user: 'nobody',
    group: 'grp',
  });
  t.same(expandBraces('a{b,c{d,e}}f'), ['abf', 'acdf', 'acef']);
  t.end();
});

t.test('include with globs relative to the including file; vrrp kept raw', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ka-inc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'conf.d', 'more'));
  writeFileSync(
    join(dir, 'main.conf'),
    'include conf.d/*.conf\nvrrp_instance VI_1 {\n  state MASTER\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n  interface eth0\n  virtual_router_id 1\n}\n',
  );
  // keepalived checks `interface` against the host: give the VRRP check a fixed one
  const oldHost = setVrrpHost(staticHost([{ name: 'eth0', loopback: false, ethernet: true, multicast: true, mtu: 1500 }]));
  t.teardown(() => void setVrrpHost(oldHost));
  writeFileSync(join(dir, 'conf.d', 'a.conf'), 'include more/{x,y}.conf\n');
  writeFileSync(
    join(dir, 'conf.d', 'more', 'x.conf'),
    'virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.2 80 {\n  weigth 3\n }\n}\n',
  );
  const r = parseConfigFile(join(dir, 'main.conf'));
  t.equal(r.config.virtualServers.length, 1);
  t.same(
    r.diagnostics.map((d) => [d.file, d.line, d.message]),
    [
      // y.conf is missing: keepalived 2.2.7 says so and goes on
      [join(dir, 'conf.d', 'a.conf'), 1, 'Some config files missing: "more/{x,y}.conf".'],
      [join(dir, 'conf.d', 'more', 'x.conf'), 6, "Unknown keyword 'weigth'"],
    ],
  );
  const v = r.config.vrrp[0]!;
  t.match(v, { keyword: 'vrrp_instance', args: ['VI_1'], file: join(dir, 'main.conf'), line: 2 });
  t.same(v.children!.map((c) => c.keyword), ['state', 'virtual_ipaddress', 'interface', 'virtual_router_id']);
  t.same(v.children![1]!.children![0]!.keyword, '10.0.0.1/24');
  const ct = configTest(join(dir, 'conf.d', 'more', 'x.conf'));
  t.equal(ct.ok, false);
  t.equal(ct.exitCode, 5);
  t.match(ct.messages[0], /x\.conf:6: warning: Unknown keyword 'weigth'/);
  const lines: string[] = [];
  t.equal(runConfigTest(['--config-test', '-f', join(dir, 'main.conf')], (l) => lines.push(l)), 5);
  t.equal(lines.length, 2);
  t.equal(runConfigTest(['-f', join(dir, 'nope.conf')], () => undefined), 4);
  t.equal(runConfigTest(['-x'], () => undefined), 1);
  t.end();
});

t.test('misc check and parameters', (t) => {
  const r = parseConfigText(
    `$PORT=8080
virtual_server 10.0.0.1 $PORT {
  delay_loop 2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 \${PORT} {
    MISC_CHECK {
      misc_path "/nonexistent/check --x"
      misc_dynamic
    }
  }
}
`,
    'm.conf',
  );
  t.same(r.diagnostics, []);
  const m = r.config.virtualServers[0]!.realServers[0]!.checkers[0] as MiscCheck;
  t.match(m, { type: 'MISC_CHECK', retry: 0, timeout: 2, dynamic: true, delayBeforeRetry: 1 });
  t.same(m.script.argv, ['/nonexistent/check', '--x']);
  t.equal(r.config.virtualServers[0]!.port, 8080);
  t.end();
});

t.test('tunvsd.conf', (t) => {
  const r = parseTunvsdConf('keepalived_conf keepalived.conf\ndevice tun0\nmode tap\naddress 10.0.0.1/24\nmtu 9000\nfoo 1\nmode bad\n', '/etc/tunvs/tunvsd.conf');
  t.match(r.settings, { keepalivedConf: '/etc/tunvs/keepalived.conf', device: 'tun0', mode: 'tap', addresses: ['10.0.0.1/24'], mtu: 9000 });
  t.same(r.diagnostics.map((d) => [d.line, d.severity]), [[6, 'warning'], [7, 'error']]);
  t.end();
});

t.test('~SEQ, ~LST and multi-line $PARAM blocks expand as keepalived does', (t) => {
  const file = new URL('./corpus/valid-seq-lst-multiline-param.conf', import.meta.url).pathname;
  const r = parseConfigFile(file);
  t.same(r.diagnostics, []);
  const rs = r.config.virtualServers.map((vs) => vs.realServers.map((x) => `${x.addr}:${x.port}`));
  t.same(rs, [
    ['198.51.100.2:80', '198.51.100.4:80', '198.51.100.6:80', '198.51.100.8:80'],
    ['198.51.100.20:8080', '198.51.100.21:8081'],
  ]);
  t.end();
});

t.test('lvs_method TUN type gue|gre: the tunnel reaches the real servers (inherited or their own) and their DestSpecs', (t) => {
  const conf = `
virtual_server 192.0.2.10 80 {
  lb_algo rr
  lvs_method TUN type gue port 6080 remcsum
  protocol TCP
  sorry_server 10.0.0.9 80
  real_server 10.0.0.11 80 {
  }
  real_server 10.0.0.12 80 {
    lvs_method TUN type gre csum
  }
  real_server 10.0.0.13 80 {
    lvs_method TUN
  }
}
virtual_server 192.0.2.11 80 {
  lvs_method TUN type gue
  lb_algo rr
  protocol TCP
}
virtual_server 192.0.2.12 80 {
  lvs_method TUN type gre remcsum
  lb_algo rr
  protocol TCP
}
`;
  const r = parseConfigText(conf, 'k.conf');
  const errs = r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.message]);
  t.same(errs, [[17, 'tunnel type gue needs a port'], [22, 'tunnel checksum option remcsum is not valid with type gre']]);
  const vs = r.config.virtualServers[0]!;
  const specs = vs.realServers.map((rs) => destSpec(rs));
  t.same(specs[0], { addr: '10.0.0.11', port: 80, method: 'tunnel', weight: 1, tunType: 'gue', tunPort: 6080, tunFlags: 'remcsum' }, 'inherits the VS tunnel');
  t.same(specs[1], { addr: '10.0.0.12', port: 80, method: 'tunnel', weight: 1, tunType: 'gre', tunFlags: 'csum' }, 'its own');
  t.same(specs[2], { addr: '10.0.0.13', port: 80, method: 'tunnel', weight: 1 }, 'its own lvs_method TUN without a type: IPIP');
  t.same(sorryDestSpec(vs.sorryServer!), { addr: '10.0.0.9', port: 80, method: 'tunnel', weight: 1, tunType: 'gue', tunPort: 6080, tunFlags: 'remcsum' });
  t.end();
});

t.test('notify_fifo is implemented (no "not implemented" warning); notify_fifo_script is not', (t) => {
  const r = parseConfigText('global_defs {\n notify_fifo /run/x/fifo\n notify_fifo_script /bin/true\n}\n', 'f.conf');
  t.same(r.diagnostics.map((d) => `${d.line}: ${d.message}`), ['3: parsed, not implemented by tunvs: notify_fifo_script']);
  t.end();
});

t.test("a missing include is keepalived's warning (exit 0), with file:line", (t) => {
  const r = parseConfigText('include /nonexistent/*.conf\ninclude /nonexistent/{a,b}.conf\n', 'i.conf');
  t.match(r.diagnostics, [
    { file: 'i.conf', line: 1, severity: 'warning', exitCode: 0, message: "Config files missing '/nonexistent/*.conf'." },
    { file: 'i.conf', line: 2, severity: 'warning', exitCode: 0, message: "Config files missing '/nonexistent/{a,b}.conf'." },
  ]);
  t.equal(r.diagnostics.length, 2);
  t.end();
});

t.test("a bad real server weight: keepalived's two lines, in its words", (t) => {
  const msgs = (w: string): string[] =>
    parseConfigText(`virtual_server 10.0.0.1 80 {\n lb_algo rr\n real_server 10.0.0.2 80 {\n  weight ${w}\n }\n}\n`, 'w.conf').diagnostics.filter((d) => d.line === 4).map((d) => d.message);
  t.same(msgs('3000000000'), ["number '3000000000' outside range [0, 2147483647]", 'Real server weight 3000000000 is outside range 0-2147483647']);
  t.same(msgs('-1'), ["negative number '-1'", 'Real server weight -1 is outside range 0-2147483647']);
  t.same(msgs('12x'), ["invalid number '12x'", 'Real server weight 12x is outside range 0-2147483647']);
  t.end();
});
