// End to end: serveControl around a DirectorControl, tunvsadm's main talking to it over the
// Unix socket. Kernel-error messages and exit statuses, save -> clear -> restore, the raw
// protocol, an unreachable daemon, and two clients at once. The in-memory director is a test
// double; the real Director can be passed to `startDaemon` instead.
import t from 'tap';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Server } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlError, type DirectorControl, type ServiceSpec } from '@tunvs/model';
import { ControlClient, nullResolver, runTunvsadm, serveControl } from '../src/index.js';
import { MemoryDirector } from './memory-director.js';

const dir = mkdtempSync(join(tmpdir(), 'tunvsadm-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function startDaemon(ctl: DirectorControl): Promise<{ path: string; server: Server }> {
  const path = join(dir, `d${n++}.sock`);
  const server = serveControl(ctl, path);
  await once(server, 'listening');
  return { path, server };
}

interface Run {
  code: number;
  out: string;
  err: string;
}

async function adm(path: string, argv: string[], stdin = ''): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: async () => stdin,
    env: { TUNVS_SOCKET: path },
    resolver: nullResolver,
  });
  return { code, out, err };
}

t.test('LVS HOWTO commands through the socket, and -L -n', async (t) => {
  const { path, server } = await startDaemon(new MemoryDirector());
  t.teardown(() => server.close());
  t.same(await adm(path, ['-A', '-t', '10.0.0.100:80', '-s', 'wlc']), { code: 0, out: '', err: '' });
  t.same(await adm(path, ['-a', '-t', '10.0.0.100:80', '-r', '10.0.1.1:80', '-m', '-w', '2']), { code: 0, out: '', err: '' });
  t.same(await adm(path, ['-a', '-t', '10.0.0.100:80', '-r', '10.0.1.2:80', '-m']), { code: 0, out: '', err: '' });
  const l = await adm(path, ['-L', '-n']);
  t.equal(l.code, 0);
  t.equal(
    l.out,
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  10.0.0.100:80 wlc',
      '  -> 10.0.1.1:80                  Masq    2      0          0         ',
      '  -> 10.0.1.2:80                  Masq    1      0          0         ',
      '',
    ].join('\n'),
  );
  // --socket overrides the environment
  const viaOpt = await runTunvsadm(['--socket', path, '-L', '-n', '--timeout'], {
    stdout: (s) => t.equal(s, 'Timeout (tcp tcpfin udp): 900 120 300\n'),
    stderr: (s) => t.fail(s),
    env: { TUNVS_SOCKET: '/nonexistent/sock' },
  });
  t.equal(viaOpt, 0);
  t.same(await adm(path, ['--set', '0', '60', '0']), { code: 0, out: '', err: '' });
  t.equal((await adm(path, ['-L', '--timeout'])).out, 'Timeout (tcp tcpfin udp): 900 60 300\n');
  t.same(await adm(path, ['-L', '--daemon']), { code: 0, out: '', err: '' });
});

t.test('kernel errors: ipvsadm messages per operation, exit 255 (1 for listings)', async (t) => {
  const { path, server } = await startDaemon(new MemoryDirector());
  t.teardown(() => server.close());
  await adm(path, ['-A', '-t', '10.0.0.1:80']);
  await adm(path, ['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.1']);
  const cases: [string[], string, number][] = [
    [['-A', '-t', '10.0.0.1:80'], 'Service already exists\n', 255],
    [['-E', '-t', '10.0.0.2:80'], 'No such service\n', 255],
    [['-D', '-t', '10.0.0.2:80'], 'No such service\n', 255],
    [['-Z', '-t', '10.0.0.2:80'], 'No such service\n', 255],
    [['-a', '-t', '10.0.0.2:80', '-r', '10.0.1.1'], 'Service not defined\n', 255],
    [['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.1'], 'Destination already exists\n', 255],
    [['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.9', '-x', '5', '-y', '9'], 'Numerical result out of range\n', 255],
    [['-e', '-t', '10.0.0.1:80', '-r', '10.0.1.2'], 'No such destination\n', 255],
    [['-e', '-t', '10.0.0.2:80', '-r', '10.0.1.2'], 'Service not defined\n', 255],
    [['-d', '-t', '10.0.0.1:80', '-r', '10.0.1.2'], 'No such destination\n', 255],
    [['-d', '-f', '9', '-r', '10.0.1.2'], 'Service not defined\n', 255],
    [['-L', '-t', '10.0.0.2:80'], 'No such service\n', 1],
    [['-E', '--sctp-service', '10.0.0.1:80'], 'No such service\n', 255],
  ];
  for (const [argv, err, code] of cases) t.same(await adm(path, argv), { code, out: '', err }, argv.join(' '));
  // the good single-service listing still works
  const one = await adm(path, ['-L', '-n', '-t', '10.0.0.1:80']);
  t.equal(one.out.split('\n')[2], 'TCP  10.0.0.1:80 wlc');
});

t.test('no daemon: one line, non-zero; bad arguments still get their own message', async (t) => {
  const path = join(dir, 'nobody-home.sock');
  t.same(await adm(path, ['-L', '-n']), {
    code: 2,
    out: '',
    err: `tunvsadm: cannot reach tunvsd at ${path} (is tunvsd running?)\n`,
  });
  t.same(await adm(path, ['-A', '-t', '10.0.0.1:80', '-w', '3']), {
    code: 2,
    out: '',
    err: "Illegal 'weight' option with the 'add-service' command\n",
  });
  // an unknown scheduler needs the daemon's answer (it looks the service up first)
  t.equal((await adm(path, ['-A', '-t', '10.0.0.1:80', '-s', 'nope'])).code, 2);
  // a stale regular file at the path is not a daemon either
  const stale = join(dir, 'stale.sock');
  writeFileSync(stale, '');
  t.equal((await adm(stale, ['-C'])).code, 2);
  t.equal((await adm(path, ['-v'])).code, 0);
});

const CONFIG = [
  '-A -t 10.0.0.1:80 -s wlc',
  '-a -t 10.0.0.1:80 -r 192.168.10.1:80 -m -w 1',
  '-a -t 10.0.0.1:80 -r 192.168.10.2:8080 -m -w 3',
  '-A -u 10.0.0.1:53 -s rr -p 360 -M 255.255.255.0 -o',
  '-a -u 10.0.0.1:53 -r 192.168.10.3:53 -g -w 0',
  '-A -t [2001:db8::80]:443 -s mh',
  '-a -t [2001:db8::80]:443 -r [2001:db8::a0a0]:443 -m -w 1',
  '-A -f 1 -s sh -p 300 -b sh-fallback,sh-port',
  '-a -f 1 -r 192.168.10.4:0 -i -w 100 --tun-type ipip',
  '-A -f 2 -6 -s wrr --pe sip -b flag-2',
  '-a -f 2 -6 -r 192.168.10.5:0 -i -w 1 --tun-type gre --tun-nocsum',
  '-a -f 2 -6 -r 192.168.10.6:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
  '',
].join('\n');

t.test('restore, save -> clear -> restore reproduces the table', async (t) => {
  const { path, server } = await startDaemon(new MemoryDirector());
  t.teardown(() => server.close());
  // lines may start with "ipvsadm", blank lines are skipped
  const input = '\n' + CONFIG.split('\n').map((l, i) => (i % 2 && l ? `ipvsadm ${l}` : l)).join('\n');
  t.same(await adm(path, ['-R'], input), { code: 0, out: '', err: '' });
  const saved = await adm(path, ['-S', '-n']);
  t.equal(saved.code, 0);
  t.equal(saved.out, CONFIG);
  const listed = (await adm(path, ['-L', '-n'])).out;
  t.same(await adm(path, ['-C']), { code: 0, out: '', err: '' });
  t.equal((await adm(path, ['-S', '-n'])).out, '');
  t.same(await adm(path, ['-R'], saved.out), { code: 0, out: '', err: '' });
  t.equal((await adm(path, ['-S', '-n'])).out, saved.out);
  t.equal((await adm(path, ['-L', '-n'])).out, listed);
});

t.test('SCTP services: --sctp-service, -L shows SCTP, -S/-R round trip', async (t) => {
  const { path, server } = await startDaemon(new MemoryDirector());
  t.teardown(() => server.close());
  t.same(await adm(path, ['-A', '--sctp-service', '10.0.0.7:3868', '-s', 'rr']), { code: 0, out: '', err: '' });
  t.same(await adm(path, ['-a', '--sctp-service', '10.0.0.7:3868', '-r', '10.0.1.7:3869', '-m']), { code: 0, out: '', err: '' });
  t.same(await adm(path, ['-A', '--sctp-service', '10.0.0.7:3868']), { code: 255, out: '', err: 'Service already exists\n' });
  const listed = (await adm(path, ['-L', '-n'])).out.split('\n');
  t.ok(listed.includes('SCTP  10.0.0.7:3868 rr'), 'listed as ipvsadm lists it');
  t.ok(listed.some((l) => /^  -> 10\.0\.1\.7:3869 +Masq/.test(l)), 'with its real server');
  const one = (await adm(path, ['-L', '-n', '--sctp-service', '10.0.0.7:3868'])).out.split('\n');
  t.equal(one[2], 'SCTP  10.0.0.7:3868 rr');
  const saved = (await adm(path, ['-S', '-n'])).out;
  t.equal(saved, '-A --sctp-service 10.0.0.7:3868 -s rr\n-a --sctp-service 10.0.0.7:3868 -r 10.0.1.7:3869 -m -w 1\n');
  t.same(await adm(path, ['-C']), { code: 0, out: '', err: '' });
  t.same(await adm(path, ['-R'], saved), { code: 0, out: '', err: '' });
  t.equal((await adm(path, ['-S', '-n'])).out, saved, 'restored as saved');
  t.same(await adm(path, ['-L', '-n', '-t', '10.0.0.7:3868']), { code: 1, out: '', err: 'No such service\n' }, 'a TCP service of that address is another');
});

t.test('restore: kernel errors are printed and it goes on; a parse error stops it (exit 2)', async (t) => {
  const { path, server } = await startDaemon(new MemoryDirector());
  t.teardown(() => server.close());
  const r1 = await adm(path, ['-R'], ['-A -t 10.0.0.1:80', '-A -t 10.0.0.1:80', '-A -t 10.0.0.2:80'].join('\n'));
  t.same(r1, { code: 0, out: '', err: 'Service already exists\n' });
  // the status is the last line's
  const r2 = await adm(path, ['-R'], ['-A -t 10.0.0.3:80', '-A -t 10.0.0.3:80'].join('\n'));
  t.same(r2, { code: 255, out: '', err: 'Service already exists\n' });
  const r3 = await adm(path, ['-R'], ['-A -t 10.0.0.4:80', '-A -t 10.0.0.5:80 -w 1', '-A -t 10.0.0.6:80'].join('\n'));
  t.same(r3, { code: 2, out: '', err: "Illegal 'weight' option with the 'add-service' command\n" });
  const names = (await adm(path, ['-S', '-n'])).out.split('\n').filter((l) => l.startsWith('-A'));
  t.same(names, ['-A -t 10.0.0.1:80 -s wlc', '-A -t 10.0.0.2:80 -s wlc', '-A -t 10.0.0.3:80 -s wlc', '-A -t 10.0.0.4:80 -s wlc']);
  // comments are not understood by -R itself (ipvsadm-restore strips them)
  const r4 = await adm(path, ['-R'], '# a comment\n');
  t.equal(r4.code, 255);
  t.match(r4.err, /^Try `tunvsadm -h'/);
  // a nested -R is refused
  t.equal((await adm(path, ['-R'], '-R\n')).code, 255);
});

t.test('raw protocol: answers, errors, bad lines; socket mode 0600', async (t) => {
  const { path, server } = await startDaemon(new MemoryDirector());
  t.teardown(() => server.close());
  t.equal(statSync(path).mode & 0o777, 0o600);
  const sock = createConnection(path);
  await once(sock, 'connect');
  sock.setEncoding('utf8');
  const lines: string[] = [];
  let buf = '';
  sock.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  sock.write('{"id":1,"op":"addService","args":[{"protocol":"tcp","addr":"10.0.0.1","port":80}]}\n');
  sock.write('{"id":2,"op":"addService","args":[{"protocol":"tcp","addr":"10.0.0.1","port":80}]}\n');
  sock.write('not json\n');
  sock.write('{"id":3,"op":"constructor"}\n');
  sock.write('{"id":4,"op":"getTimeouts"}\n');
  while (lines.length < 5) await new Promise((r) => setTimeout(r, 5));
  sock.end();
  t.same(lines.map((l) => JSON.parse(l)), [
    { id: 1, ok: true, result: null },
    { id: 2, ok: false, error: { code: 'EEXIST', message: 'service exists', op: 'addService' } },
    { id: null, ok: false, error: { code: 'EPROTO', message: 'request is not valid JSON', op: '' } },
    { id: 3, ok: false, error: { code: 'EOPNOTSUPP', message: "unknown operation 'constructor'", op: 'constructor' } },
    { id: 4, ok: true, result: { tcp: 900, tcpfin: 120, udp: 300 } },
  ]);
  // ControlClient turns errors into ControlErrors
  const c = await ControlClient.connect(path);
  t.teardown(() => c.close());
  const e = await c.getService({ protocol: 'udp', addr: '1.1.1.1', port: 1 }).catch((x: unknown) => x);
  t.ok(e instanceof ControlError);
  t.match(e, { code: 'ESRCH', op: 'getService' });
  t.equal((await c.listServices()).length, 1);
  server.close();
  await once(server, 'close');
  t.throws(() => statSync(path), 'socket file removed on close');
});

// A director whose mutations yield between the existence check and the write: without the
// server's queue, concurrent requests would interleave and duplicate entries.
function racyDirector(): { ctl: DirectorControl; inner: MemoryDirector } {
  const inner = new MemoryDirector();
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  const ctl = new Proxy(inner, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === 'addService') {
        return async (spec: ServiceSpec) => {
          const exists = target.services.some((s) => s.addr === spec.addr && s.port === spec.port && s.protocol === spec.protocol);
          await new Promise((r) => setTimeout(r, 2));
          if (exists) throw new ControlError('EEXIST', 'service exists', 'addService');
          // write without checking again (the check above is stale if another request ran)
          const before = target.services;
          target.services = [];
          target.addService(spec);
          target.services = [...before, ...target.services];
        };
      }
      return async (...a: unknown[]) => {
        await tick();
        return (v as (...x: unknown[]) => unknown).apply(target, a);
      };
    },
  });
  return { ctl, inner };
}

t.test('two concurrent clients leave a consistent table', async (t) => {
  const { ctl, inner } = racyDirector();
  const { path, server } = await startDaemon(ctl);
  t.teardown(() => server.close());
  const [a, b] = await Promise.all([ControlClient.connect(path), ControlClient.connect(path)]);
  t.teardown(() => {
    a.close();
    b.close();
  });
  const work = (c: ControlClient, base: number): Promise<unknown>[] => {
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const key = { protocol: 'tcp' as const, addr: `10.0.${base}.${i}`, port: 80 };
      ps.push(c.addService({ ...key, scheduler: 'rr' }));
      for (let d = 1; d <= 3; d++) ps.push(c.addDest(key, { addr: `192.168.${base}.${d}`, port: 80, method: 'masq', weight: d }));
      // both clients also race for the same shared services
      ps.push(c.addService({ protocol: 'tcp', addr: '10.9.9.9', port: 1000 + i }).catch((e: unknown) => e));
    }
    return ps;
  };
  const results = await Promise.all([...work(a, 1), ...work(b, 2)]);
  const conflicts = results.filter((r) => r instanceof ControlError && r.code === 'EEXIST');
  t.equal(conflicts.length, 20, 'each shared service added exactly once, the other client got EEXIST');
  const table = inner.listServices();
  t.equal(table.length, 60);
  const keys = new Set(table.map((s) => `${s.addr}:${s.port}`));
  t.equal(keys.size, 60, 'no duplicate services');
  for (const s of table.filter((x) => x.addr.startsWith('10.0.'))) {
    t.same(s.dests.map((d) => d.weight).sort(), [1, 2, 3], `${s.addr} has its three servers`);
  }
  // the CLI against the same daemon, concurrently with a restore from another client
  const restore = adm(path, ['-R'], Array.from({ length: 10 }, (_, i) => `-A -u 10.8.0.${i}:53 -s rr`).join('\n'));
  const listing = adm(path, ['-S', '-n']);
  const [r, l] = await Promise.all([restore, listing]);
  t.equal(r.code, 0);
  t.equal(l.code, 0);
  t.equal((await adm(path, ['-S', '-n'])).out.split('\n').filter((x) => x.startsWith('-A -u 10.8.')).length, 10);
});
