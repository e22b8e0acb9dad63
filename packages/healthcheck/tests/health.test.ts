import t from 'tap';
import { createServer as netServer } from 'node:net';
import type { Server as NetServer, Socket, AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '@tunvs/keepalived';
import type { ScriptSpec } from '@tunvs/keepalived';
import { HealthManager, defaultProbe, scriptProbe } from '../src/index.js';
import type { ProbeFn } from '../src/index.js';
import { FakeDirector, waitEvent, httpServer, closeServer, sleep } from './helpers.js';

const SVC = 'tcp:10.0.0.1:80';

function conf(body: string, vsExtra = ''): string {
  return `virtual_server 10.0.0.1 80 {
  delay_loop 0.15
  lb_algo rr
  lb_kind NAT
  protocol TCP
  connect_timeout 0.5
  delay_before_retry 0.1
  warmup 0
${vsExtra}
${body}
}
`;
}

function manager(text: string, fd: FakeDirector, extra: { probe?: ProbeFn; scripts?: ScriptSpec[] } = {}): HealthManager {
  const r = parseConfigText(text, 'test.conf');
  const errs = r.diagnostics.filter((d) => !d.message.startsWith('SECURITY'));
  if (errs.length) throw new Error(errs.map((d) => d.message).join('; '));
  return new HealthManager(r.config, fd.control(), {
    bootstrapDelayMs: 0,
    ...(extra.probe ? { probe: extra.probe } : {}),
    runScript: (s) => extra.scripts?.push(s),
  });
}

function tcpListen(port = 0): Promise<{ server: NetServer; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = netServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port, sockets })));
}

function closeTcp(x: { server: NetServer; sockets: Set<Socket> }): Promise<void> {
  for (const s of x.sockets) s.destroy();
  return new Promise((r) => x.server.close(() => r()));
}

t.test('HTTP_GET: stopped server leaves after retry+1 failures, returns after one success', async (t) => {
  const { server, port } = await httpServer('ok\n');
  const fd = new FakeDirector();
  const log: boolean[] = [];
  const probe: ProbeFn = async (c, i) => {
    const r = await defaultProbe(c, i);
    log.push(r.ok);
    return r;
  };
  const scripts: ScriptSpec[] = [];
  const hm = manager(
    conf(`  real_server 127.0.0.1 ${port} {
    notify_up "/bin/echo up 127.0.0.1"
    notify_down "/bin/echo 'down now' x"
    HTTP_GET {
      url {
        path /health
      }
      retry 2
    }
  }`),
    fd,
    { probe, scripts },
  );
  hm.start();
  t.same(fd.table(SVC), [`127.0.0.1:${port}=1`], 'non-alpha: added at start');
  t.same(fd.calls[0], { op: 'addService', key: { scheduler: 'rr', protocol: 'tcp', addr: '10.0.0.1', port: 80 } });
  while (log.filter((x) => x).length < 2) await sleep(20);
  await closeServer(server);
  const before = log.length;
  await waitEvent(hm, (e) => e.type === 'rs-down');
  t.same(log.slice(before), [false, false, false], 'down after retry + 1 = 3 consecutive failures');
  t.same(fd.table(SVC), [], 'removed from the pool');
  t.same(fd.calls.at(-1), { op: 'deleteDest', key: { protocol: 'tcp', addr: '10.0.0.1', port: 80 }, dest: { addr: '127.0.0.1', port } });
  const again = await httpServer('ok\n', port);
  await waitEvent(hm, (e) => e.type === 'rs-up');
  t.same(fd.table(SVC), [`127.0.0.1:${port}=1`], 'back after one success');
  t.same(scripts.map((s) => s.argv), [['/bin/echo', 'down now', 'x'], ['/bin/echo', 'up', '127.0.0.1']], 'notify scripts with their arguments');
  hm.stop();
  await closeServer(again.server);
});

t.test('HTTP_GET: wrong digest is down; right digest stays up', async (t) => {
  const { server, port } = await httpServer('hello from the keepalived lab\n');
  const fd = new FakeDirector();
  const hm = manager(
    conf(`  real_server 127.0.0.1 ${port} {
    HTTP_GET {
      url {
        path /
        digest 00000000000000000000000000000000
      }
    }
  }
  real_server 127.0.0.2 ${port} {
    HTTP_GET {
      url {
        path /
        digest 843315021a24176b089462f1ef4fc73f
      }
      connect_ip 127.0.0.1
    }
  }`),
    fd,
  );
  hm.start();
  const e = await waitEvent(hm, (x) => x.type === 'rs-down');
  t.match(e, { rs: `127.0.0.1:${port}`, detail: /MD5 digest error/ });
  await sleep(400);
  t.same(fd.table(SVC), [`127.0.0.2:${port}=1`]);
  hm.stop();
  await closeServer(server);
});

t.test('quorum: all down → sorry server; one back → sorry removed', async (t) => {
  const a = await tcpListen();
  const b = await tcpListen();
  const fd = new FakeDirector();
  const scripts: ScriptSpec[] = [];
  const hm = manager(
    conf(
      `  real_server 127.0.0.1 ${a.port} {
    TCP_CHECK {
    }
  }
  real_server 127.0.0.2 ${b.port} {
    TCP_CHECK {
      connect_ip 127.0.0.1
    }
  }`,
      '  sorry_server 192.0.2.9 8080\n  quorum_up "/bin/echo qup"\n  quorum_down "/bin/echo qdown"',
    ),
    fd,
    { scripts },
  );
  hm.start();
  t.same(fd.table(SVC), [`127.0.0.1:${a.port}=1`, `127.0.0.2:${b.port}=1`]);
  await closeTcp(a);
  await waitEvent(hm, (e) => e.type === 'rs-down');
  t.same(fd.table(SVC), [`127.0.0.2:${b.port}=1`], 'one down: no sorry server yet');
  await closeTcp(b);
  await waitEvent(hm, (e) => e.type === 'quorum-down');
  t.same(fd.table(SVC), ['192.0.2.9:8080=1'], 'all down: the sorry server alone');
  const a2 = await tcpListen(a.port);
  await waitEvent(hm, (e) => e.type === 'quorum-up');
  t.same(fd.table(SVC), [`127.0.0.1:${a.port}=1`], 'one back: sorry server removed');
  t.same(scripts.map((s) => s.argv[1]), ['qdown', 'qup']);
  t.equal(fd.calls.find((c) => c.dest?.addr === '192.0.2.9')?.dest?.method, 'masq');
  hm.stop();
  await closeTcp(a2);
});

t.test('inhibit_on_failure: weight 0 instead of removal; sorry_server_inhibit', async (t) => {
  const a = await tcpListen();
  const fd = new FakeDirector();
  const hm = manager(
    conf(
      `  real_server 127.0.0.1 ${a.port} {
    weight 3
    inhibit_on_failure
    TCP_CHECK {
    }
  }`,
      '  sorry_server 192.0.2.9 8080\n  sorry_server_inhibit',
    ),
    fd,
  );
  hm.start();
  t.same(fd.table(SVC), [`127.0.0.1:${a.port}=3`, '192.0.2.9:8080=0']);
  await closeTcp(a);
  await waitEvent(hm, (e) => e.type === 'rs-down');
  t.same(fd.table(SVC), [`127.0.0.1:${a.port}=0`, '192.0.2.9:8080=1']);
  t.notOk(fd.calls.some((c) => c.op === 'deleteDest'), 'nothing deleted');
  const a2 = await tcpListen(a.port);
  await waitEvent(hm, (e) => e.type === 'rs-up');
  t.same(fd.table(SVC), [`127.0.0.1:${a.port}=3`, '192.0.2.9:8080=0']);
  hm.stop();
  await closeTcp(a2);
});

t.test('MISC_CHECK misc_dynamic sets the weight; alpha starts down', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const codeFile = join(dir, 'code');
  const fd = new FakeDirector();
  const hm = manager(
    conf(`  real_server 192.0.2.1 80 {
    weight 1
    alpha
    MISC_CHECK {
      misc_path "/bin/sh -c 'exit $(cat ${codeFile} 2>/dev/null || echo 7)'"
      misc_timeout 2
      misc_dynamic
    }
  }`),
    fd,
  );
  hm.start();
  t.same(fd.table(SVC), [], 'alpha: not added before a success');
  await waitEvent(hm, (e) => e.type === 'rs-up');
  await sleep(50);
  t.same(fd.table(SVC), ['192.0.2.1:80=5'], 'exit 7 → weight 5');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(codeFile, '12\n');
  await waitEvent(hm, (e) => e.type === 'weight' && e.weight === 10);
  t.same(fd.table(SVC), ['192.0.2.1:80=10'], 'exit 12 → weight 10 through editDest');
  writeFileSync(codeFile, '1\n');
  await waitEvent(hm, (e) => e.type === 'rs-down');
  t.same(fd.table(SVC), []);
  hm.stop();
});

t.test('a hung script is killed at its timeout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pid');
  const t0 = Date.now();
  const r = await scriptProbe({
    argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; trap '' TERM; sleep 30; sleep 30`],
    timeoutMs: 300,
    dynamic: false,
    killGraceMs: 200,
  });
  const took = Date.now() - t0;
  t.equal(r.ok, false);
  t.match(r.detail, /timed out/);
  t.ok(took < 3000, `returned after ${took} ms`);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await sleep(50);
  t.throws(() => process.kill(pid, 0), 'the script (ignoring SIGTERM) was SIGKILLed');

  const fd = new FakeDirector();
  const hm = manager(
    conf(`  real_server 192.0.2.1 80 {
    MISC_CHECK {
      misc_path "/bin/sleep 20"
      misc_timeout 1
    }
  }`),
    fd,
  );
  hm.start();
  const e = await waitEvent(hm, (x) => x.type === 'rs-down', 5000);
  t.match(e, { detail: /timed out/ });
  hm.stop();
});

t.test('a server that accepts and never answers is marked down (connect_timeout)', async (t) => {
  const silent = await tcpListen();
  const fd = new FakeDirector();
  const hm = manager(
    conf(`  real_server 127.0.0.1 ${silent.port} {
    HTTP_GET {
      url {
        path /
      }
      connect_timeout 0.3
    }
  }`),
    fd,
  );
  hm.start();
  const t0 = Date.now();
  const e = await waitEvent(hm, (x) => x.type === 'rs-down');
  t.match(e, { detail: /timeout/ });
  t.ok(Date.now() - t0 >= 250, 'waited for the timeout');
  t.same(fd.table(SVC), []);
  hm.stop();
  await closeTcp(silent);
});
