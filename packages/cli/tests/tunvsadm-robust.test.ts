/**
 * tunvsadm against a daemon that misbehaves (issue 13 item 10): one that never answers
 * (a timeout with a clear message, 10 s by default, --socket-timeout to change it), a
 * socket it may not open (a permission problem, not "is tunvsd running?"), and answers
 * carrying terminal control characters (never written to the terminal).
 */
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlError } from '@tunvs/model';
import type { DirectorControl, ServiceInfo } from '@tunvs/model';
import { DEFAULT_TIMEOUT_S, nullResolver, runTunvsadm, serveControl } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';
import { MemoryDirector, zeroStats } from './memory-director.js';

const dir = mkdtempSync(join(tmpdir(), 'lha-adm-'));
chmodSync(dir, 0o755);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/bin/tunvsadm.js');

async function adm(sock: string, argv: string[], extra: { connect?: (p: string, o: ClientOptions) => never } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: { TUNVS_SOCKET: sock },
    resolver: nullResolver,
    ...extra,
  });
  return { code, out, err };
}

t.test('a daemon that accepts and never answers: a timeout with a clear message', async (t) => {
  const path = join(dir, 'mute.sock');
  const held: Socket[] = [];
  const mute = createServer((s) => held.push(s)); // reads, never writes
  mute.listen(path);
  await once(mute, 'listening');
  t.teardown(() => {
    for (const s of held) s.destroy();
    mute.close();
  });
  const t0 = Date.now();
  const r = await adm(path, ['--socket-timeout', '0.3', '-L', '-n']);
  t.equal(r.code, 2);
  t.equal(r.err, `tunvsadm: tunvsd at ${path} did not answer within 0.3 s (--socket-timeout changes it); a change may or may not have been applied\n`);
  t.ok(Date.now() - t0 < 8000, 'gave up instead of hanging');
  const eq = await adm(path, ['--socket-timeout=0.2', '-A', '-t', '10.0.0.1:80']);
  t.equal(eq.code, 2, '--socket-timeout=S works too');
  const badOpt = await adm(path, ['--socket-timeout', 'soon', '-L']);
  t.equal(badOpt.code, 2);
  t.match(badOpt.err, /invalid --socket-timeout value `soon'/);
  t.equal(DEFAULT_TIMEOUT_S, 10);
  let asked: ClientOptions | null = null;
  await adm(path, ['-L', '-n'], {
    connect: ((_p: string, o: ClientOptions) => {
      asked = o;
      throw Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    }) as never,
  });
  t.same(asked, { timeoutMs: 10_000 }, 'the default is 10 s');
});

t.test('EACCES on the socket is a permission problem', async (t) => {
  const path = join(dir, 'root-only.sock');
  const server = serveControl(new MemoryDirector(), path);
  await once(server, 'listening');
  t.teardown(() => server.close());
  const isRoot = process.getuid?.() === 0;
  // root ignores the mode: ask as "nobody"; anyone else: take the mode away
  if (!isRoot) chmodSync(path, 0);
  // (root: through `env -i setpriv`, so that tap's process tracking does not follow the child)
  const argv = [process.execPath, BIN, '--socket', path, '-L', '-n'];
  const r = isRoot
    ? spawnSync('env', ['-i', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv], { encoding: 'utf8', timeout: 20_000 })
    : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 2);
  t.equal(r.stderr, `tunvsadm: permission denied on ${path}: the control socket is for its owner only (you must be root)\n`);
  t.notMatch(r.stderr, /is tunvsd running/);
  const none = await adm(join(dir, 'none.sock'), ['-L', '-n']);
  t.equal(none.err, `tunvsadm: cannot reach tunvsd at ${join(dir, 'none.sock')} (is tunvsd running?)\n`, 'a missing socket still says so');
});

t.test('control characters from the daemon never reach the terminal', async (t) => {
  const ESC = '\u001b';
  const evil = new MemoryDirector();
  const svc: ServiceInfo = {
    fwmark: 0, protocol: 'tcp', addr: '10.0.0.1', port: 80, scheduler: `rr${ESC}]0;owned\u0007`, schedFlags: [], persistent: 0,
    netmask: '255.255.255.255', onePacket: false, pe: `${ESC}[2J`, dests: [], stats: zeroStats(),
  };
  const ctl: DirectorControl = Object.assign(Object.create(evil) as DirectorControl, {
    listServices: () => [svc],
    info: () => ({ version: `1${ESC}[31m`, connTableSize: 4096 }),
    addService: () => {
      throw new ControlError(`E${ESC}[5mX` as never, `bad\u009b2J${ESC}[H`, `add${ESC}c`);
    },
  });
  const path = join(dir, 'evil.sock');
  const server = serveControl(ctl, path);
  await once(server, 'listening');
  t.teardown(() => server.close());
  const CTRL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
  for (const argv of [['-L', '-n'], ['-S', '-n'], ['-L', '-n', '--persistent-conn'], ['-A', '-t', '10.0.0.2:80']]) {
    const r = await adm(path, argv);
    t.notMatch(r.out + r.err, CTRL, `${argv.join(' ')}: no control character in ${JSON.stringify(r.out + r.err)}`);
    t.ok((r.out + r.err).length > 0, 'something was printed');
  }
  t.match((await adm(path, ['-L', '-n'])).out, /rr\?\]0;owned\?/, 'shown with ? in their place');
});
