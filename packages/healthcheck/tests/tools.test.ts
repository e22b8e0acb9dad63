import t from 'tap';
import { createHash } from 'node:crypto';
import { spawnSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer as netServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '@tunvs/keepalived';
import { runGenhash, httpRequest, parseHttpResponse, importLvsCf, sendExpectProbe, LvsCfError } from '../src/index.js';
import { httpServer, closeServer } from './helpers.js';

t.test('genhash prints the MD5 of the body, as keepalived genhash does', async (t) => {
  const body = 'hello from the keepalived lab\n';
  const { server, port } = await httpServer(body);
  let out = '';
  t.equal(await runGenhash(['-s', '127.0.0.1', '-p', String(port), '-u', '/index.html'], (s) => (out += s)), 0);
  t.equal(out, '843315021a24176b089462f1ef4fc73f\n');
  t.equal(createHash('md5').update(body).digest('hex'), '843315021a24176b089462f1ef4fc73f');
  out = '';
  t.equal(await runGenhash(['--server=127.0.0.1', '--port', String(port), '-u', '/', '-v', '-P', '1.1'], (s) => (out += s)), 0);
  t.match(out, /HTTP Header Buffer/);
  t.match(out, /0000  68 65 6c 6c 6f 20 66 72 - 6f 6d 20 74 68 65 20 6b   hello from the k/);
  t.match(out, /843315021a24176b089462f1ef4fc73f\n/);
  if (spawnSync('genhash', ['-h']).error === undefined) {
    // async: the HTTP server lives in this process
    const real = await promisify(execFile)('genhash', ['-s', '127.0.0.1', '-p', String(port), '-u', '/x', '-t', '3']);
    out = '';
    await runGenhash(['-s', '127.0.0.1', '-p', String(port), '-u', '/x'], (s) => (out += s));
    t.equal(out, real.stdout, 'same output as Debian genhash');
  }
  await closeServer(server);
  out = '';
  t.equal(await runGenhash(['-s', '127.0.0.1', '-p', String(port), '-u', '/'], (s) => (out += s)), 1);
  t.equal(out, 'Connection failed\n');
  t.equal(await runGenhash(['-s', '127.0.0.1'], () => undefined), 1);
});

t.test('request bytes and body extraction', (t) => {
  t.equal(httpRequest({ host: '127.0.0.1', port: 8081, path: '/probe' }), 'GET /probe HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:8081\r\n\r\n');
  t.equal(
    httpRequest({ host: '127.0.0.1', port: 8081, path: '/probe11', httpProtocol: '1.1', virtualhost: 'www.example.test' }),
    'GET /probe11 HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.test\r\n\r\n',
  );
  const r = parseHttpResponse(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef'));
  t.equal(r.status, 404);
  t.equal(r.body.toString(), 'abc');
  t.end();
});

t.test('send/expect (nanny)', async (t) => {
  const server = netServer((s) => {
    s.once('data', (d) => s.end(d.toString().startsWith('PING') ? '+PONG\r\n' : '-ERR\r\n'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const base = { host: '127.0.0.1', port, timeoutMs: 1000 };
  t.match(await sendExpectProbe({ ...base, send: 'PING\\r\\n', expect: '+PONG' }), { ok: true });
  t.match(await sendExpectProbe({ ...base, send: 'NOPE\\r\\n', expect: '+PONG' }), { ok: false });
  t.match(await sendExpectProbe({ ...base, send: 'PING\\r\\n', expect: '^\\+PO', useRegex: true }), { ok: true });
  t.match(await sendExpectProbe({ ...base }), { ok: true });
  await new Promise<void>((r) => server.close(() => r()));
});

const LVS_CF = `serial_no = 12
primary = 192.168.1.1
service = lvs
backup_active = 1
backup = 192.168.1.2
heartbeat = 1
heartbeat_port = 539
keepalive = 6
deadtime = 18
network = direct
virtual web {
     active = 1
     address = 192.168.1.110 eth0:1
     port = 80
     send = "GET / HTTP/1.0\\r\\n\\r\\n"
     expect = "HTTP"
     scheduler = wlc
     persistent = 300
     pmask = 255.255.255.0
     protocol = tcp
     timeout = 6
     reentry = 15
     quiesce_server = 1
     sorry_server = 192.168.1.200
     server web1 {
         address = 192.168.1.11
         active = 1
         weight = 2
     }
     server web2 {
         address = 192.168.1.12
         active = 0
         weight = 1
     }
}
virtual smtp {
     active = 1
     address = 192.168.1.110 eth0:1
     port = 25
     send = "HELO x\\r\\n"
     expect = "220"
     scheduler = rr
     server mail1 {
         address = 192.168.1.21
         active = 1
     }
}
`;

t.test('importLvsCf prints an equivalent keepalived.conf', (t) => {
  const out = importLvsCf(LVS_CF);
  const r = parseConfigText(out, 'imported.conf');
  // only notices (exit code 0) for keywords tunvs parses but does not act on, such as router_id
  t.same(r.diagnostics.filter((d) => d.exitCode !== 0), [], 'our parser accepts it cleanly');
  t.ok(r.diagnostics.every((d) => /parsed, not implemented by tunvs/.test(d.message)), 'nothing but notices');
  const [web, smtp] = r.config.virtualServers;
  t.match(web, { addr: '192.168.1.110', port: 80, lbKind: 'DR', lbAlgo: 'wlc', persistenceTimeout: 300, persistenceGranularity: '255.255.255.0', inhibitOnFailure: true, delayLoop: 6, sorryServer: { addr: '192.168.1.200', port: 80 } });
  t.equal(web!.realServers.length, 1, 'inactive server omitted');
  t.match(web!.realServers[0], { addr: '192.168.1.11', weight: 2, checkers: [{ type: 'HTTP_GET', retry: 0, connectTimeout: 6 }] });
  t.match(smtp!.realServers[0]!.checkers[0], { type: 'TCP_CHECK', retry: 0 });
  t.match(r.config.vrrp[0], { keyword: 'vrrp_instance' });
  if (spawnSync('keepalived', ['--version']).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'ka-lvscf-'));
    writeFileSync(join(dir, 'k.conf'), out);
    const k = spawnSync('keepalived', ['--config-test', '-f', join(dir, 'k.conf')], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    t.equal(k.status, 0, `keepalived --config-test accepts it: ${k.stderr}`);
  }
  t.throws(() => importLvsCf('network=nat\n'), LvsCfError);
  t.end();
});

const routerHere = Object.values(networkInterfaces()).flat().some((a) => a?.address === '192.168.1.1' || a?.address === '192.168.1.2');
t.test('importLvsCf says so when this host has none of the routers\' addresses (the primary\'s role is taken)', { skip: routerHere && 'this host has one of the test lvs.cf\'s router addresses (192.168.1.1/2)' }, (t) => {
  // this test host has neither 192.168.1.1 nor 192.168.1.2
  const warned: string[] = [];
  const out = importLvsCf(LVS_CF, { warn: (m) => warned.push(m) });
  t.same(warned, ["this host has none of lvs.cf's router addresses (192.168.1.1, 192.168.1.2): written for the primary; --router primary|backup chooses"]);
  t.match(out, /^! this host has none of lvs\.cf's router addresses/m, 'and the file says it');
  const chosen: string[] = [];
  importLvsCf(LVS_CF, { role: 'backup', warn: (m) => chosen.push(m) });
  t.same(chosen, [], 'nothing to say when --router chose');
  t.end();
});
