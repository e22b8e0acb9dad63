/**
 * tunvsadm against the real ipvsadm (Debian's ipvsadm 1.31). This machine has no ip_vs, so
 * ipvsadm runs with a small stand-in for the kernel's socket options preloaded
 * (ipvsadm-shim/shim.c): it answers the version queries, lists one fwmark service on demand,
 * and fails every change with a chosen errno. That shows what ipvsadm itself decides (its
 * argument checks, its message for each errno, its listing of a fwmark); the errno the kernel
 * picks when several things are wrong comes from ip_vs_ctl.c, and tunvs's real Director must
 * answer with it. (`--pe` cannot be compared here: ipvsadm's socket-option path has no room
 * for an engine and refuses it itself; the engine's place in the order is an engine test.)
 * Skipped when ipvsadm or a C compiler is missing.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { nullResolver, runTunvsadm, serveControl } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const SHIM_SRC = join(here, '..', '..', 'tests', 'ipvsadm-shim', 'shim.c');
const shimSrc = existsSync(SHIM_SRC) ? SHIM_SRC : join(here, 'ipvsadm-shim', 'shim.c');

function which(cmd: string): string | null {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return null;
}
const IPVSADM = which('ipvsadm');
const CC = which('cc') ?? which('gcc');
const skip = IPVSADM === null ? 'ipvsadm is not installed (scripts/bootstrap.sh installs it)' : CC === null ? 'no C compiler for the kernel stand-in' : false;

const work = mkdtempSync(join(tmpdir(), 'lip-golden-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
let shim = '';
if (!skip) {
  shim = join(work, 'shim.so');
  execFileSync(CC!, ['-shared', '-fPIC', '-O2', '-o', shim, shimSrc, '-ldl']);
}

interface Result {
  code: number;
  out: string;
  err: string;
}

function ipvsadm(argv: string[], env: Record<string, string> = {}, stdin = ''): Result {
  const r = spawnSync(IPVSADM!, argv, { argv0: 'ipvsadm', input: stdin, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LD_PRELOAD: shim, ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

async function tunvsadm(sock: string, argv: string[], stdin = ''): Promise<Result> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, {
    program: 'ipvsadm',
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: async () => stdin,
    env: { TUNVS_SOCKET: sock },
    resolver: nullResolver,
  });
  return { code, out, err };
}

async function withDirector(fn: (sock: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(work, 'd-'));
  const sock = join(dir, 'ctl.sock');
  const director = new Director({ links: [new MemoryLink('tun')], timers: false, now: () => 10_000 });
  director.start();
  const server = serveControl(director, sock);
  await new Promise<void>((r) => server.once('listening', () => r()));
  try {
    await fn(sock);
  } finally {
    server.close();
  }
}

const S = ['-t', '10.1.1.1:80'];
const R = ['-r', '10.2.2.2'];

/** Command lines ipvsadm refuses by itself (exit 2 or popt's 255), before any kernel call. */
const BAD: string[][] = [
  ['-A'],
  ['-x'],
  ['--bogus'],
  ['-L', '--bogus'],
  ['-A', '-t', '12345'],
  ['-A', '-t', '10.1.1.1:99999'],
  ['-A', '-t', '10.1.1.1'],
  ['-A', '-f', '0'],
  ['-A', '-f', '4294967296'],
  ['-A', '-f', '-2147483648'],
  ['-A', '-f', 'x'],
  ['-A', ...S, '-p', '0'],
  ['-A', ...S, '-p', '2678401'],
  ['-A', ...S, '-M', 'bogus'],
  ['-A', ...S, '-o'],
  ['-A', ...S, '-b', 'sh-port'],
  ['-A', ...S, '-s', 'sh', '-b', 'mh-port'],
  ['-A', ...S, '-b', 'nope'],
  ['-A', ...S, '-w', '3'],
  ['-A', ...S, '-s', 'rr', '-s', 'wrr'],
  ['-A', ...S, '-E'],
  ['-a', ...S],
  ['-a', ...S, ...R, '-w', '-1'],
  ['-a', ...S, ...R, '-w', 'x'],
  ['-a', ...S, ...R, '-x', '-1'],
  ['-a', ...S, ...R, '-x', '2147483648'],
  ['-a', ...S, ...R, '-y', '2147483648'],
  ['-a', ...S, ...R, '-m', '--tun-type', 'gue'],
  ['-a', ...S, ...R, '-i', '--tun-type', 'gue'],
  ['-a', ...S, ...R, '-i', '--tun-type', 'vxlan'],
  ['-a', ...S, ...R, '-i', '--tun-port', '6080'],
  ['-a', ...S, ...R, '-s', 'rr'],
  ['-d', ...S, ...R, '-w', '2'],
  ['-D', ...S, '-s', 'rr'],
  ['-C', ...S],
  ['-L', '-c', '--stats'],
  ['-L', '--timeout', '--persistent-conn'],
  ['-L', ...S, '-c'],
  ['--set', '1', '2'],
  ['--set', '1', '2', 'x'],
  ['-L', 'extra'],
  ['-S', '--stats'],
  ['-Z', ...S, '-n'],
  ['--start-daemon', 'foo'],
  ['--start-daemon'],
  ['--stop-daemon'],
  ['--stop-daemon', 'x'],
  ['--start-daemon', 'master', '--syncid', '300'],
  ['--start-daemon', 'master', '--syncid', 'x'],
  ['--start-daemon', 'backup', '--sync-maxlen', '70000'],
  ['--start-daemon', 'backup', '--sync-maxlen', '0'],
  ['--start-daemon', 'master', ...S],
  ['--start-daemon', 'master', '--mcast-group', '1.2.3.4'],
  ['--start-daemon', 'master', '--mcast-port', '0'],
  ['--start-daemon', 'master', '--mcast-ttl', '256'],
  ['--start-daemon', 'master', '-n'],
  ['--stop-daemon', 'master', '--mcast-interface', 'eth0'],
  ['-L', '--daemon', '--stats'],
  ['-L', '--daemon', '--persistent-conn'],
];

t.test('bad command lines: the same message and exit status as ipvsadm', { skip }, async (t) => {
  for (const argv of BAD) {
    const want = ipvsadm(argv);
    const got = await tunvsadm(join(work, 'nobody.sock'), argv);
    t.same({ code: got.code, err: got.err, out: got.out }, { code: want.code, err: want.err, out: want.out }, argv.join(' '));
  }
});

/**
 * State-dependent errors: tunvs's Director must pick the errno ip_vs_ctl.c picks (`errno`),
 * and print what ipvsadm prints for it (ipvsadm run with the stand-in failing with it).
 */
const ORDER: [string[], number, string][] = [
  [['-A', ...S, '-s', 'bogus'], 17, 'EEXIST before the scheduler lookup'],
  [['-A', '-t', '10.1.1.1:81', '-s', 'bogus'], 2, 'an unknown scheduler'],
  [['-E', '-t', '10.1.1.1:81', '-s', 'bogus'], 3, 'ESRCH before the scheduler lookup'],
  [['-E', ...S, '-s', 'bogus'], 2, 'an unknown scheduler on edit'],
  [['-a', '-t', '10.1.1.1:81', '-r', '224.0.0.5'], 3, 'ESRCH before the unicast rule'],
  [['-a', '-t', '10.1.1.1:81', ...R, '-y', '10'], 3, 'ESRCH before ERANGE'],
  [['-a', ...S, '-r', '10.2.2.3', '-y', '10'], 34, 'ERANGE: lower threshold above an unset upper one'],
  [['-a', ...S, '-r', '224.0.0.5', '-x', '5', '-y', '10'], 34, 'ERANGE before the unicast rule'],
  [['-a', ...S, '-r', '10.2.2.3:80', '-x', '5', '-y', '10'], 34, 'ERANGE before EEXIST'],
  [['-a', ...S, '-r', '224.0.0.5'], 22, 'a multicast real server'],
  [['-a', ...S, '-r', '255.255.255.255'], 22, 'the broadcast address'],
  [['-a', ...S, '-r', '10.2.2.3:80'], 17, 'an existing real server'],
  [['-e', ...S, '-r', '224.0.0.5'], 2, 'edit of an unknown (multicast) real server: ENOENT, not EINVAL'],
  [['-e', ...S, '-r', '10.2.2.3:80', '-x', '1', '-y', '2'], 34, 'ERANGE on an existing real server'],
  [['-e', '-t', '10.1.1.1:81', '-r', '10.2.2.3'], 3, 'edit in a missing service'],
  [['-d', ...S, '-r', '10.2.2.9'], 2, 'delete of an unknown real server'],
  [['-D', '-t', '10.1.1.1:81'], 3, 'delete of a missing service'],
];

t.test('order of checks and the message for each errno, as the kernel and ipvsadm', { skip }, async (t) => {
  await withDirector(async (sock) => {
    t.equal((await tunvsadm(sock, ['-A', ...S, '-s', 'rr'])).code, 0);
    t.equal((await tunvsadm(sock, ['-a', ...S, '-r', '10.2.2.3:80', '-m'])).code, 0);
    for (const [argv, errno, what] of ORDER) {
      const want = ipvsadm(argv, { IPVS_SHIM_ERRNO: String(errno) });
      t.equal(want.code, 255, `ipvsadm reaches the kernel: ${argv.join(' ')}`);
      const got = await tunvsadm(sock, argv);
      t.same(got, want, `${what}: ${argv.join(' ')}`);
    }
    const saved = await tunvsadm(sock, ['-S', '-n']);
    t.equal(saved.out, '-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.2.2.3:80 -m -w 1\n', 'no failed command changed the table');
  });
});

t.test('-s none: ipvsadm passes it to the kernel; tunvs binds no scheduler and lists none', { skip }, async (t) => {
  t.equal(ipvsadm(['-A', ...S, '-s', 'none']).code, 0, 'ipvsadm accepts it');
  await withDirector(async (sock) => {
    t.same(await tunvsadm(sock, ['-A', ...S, '-s', 'none']), { code: 0, out: '', err: '' });
    t.equal((await tunvsadm(sock, ['-S', '-n'])).out, '-A -t 10.1.1.1:80 -s none\n');
  });
});

t.test('fwmarks of 2^31 and more: listed signed as ipvsadm lists them, and -S | -R round-trips', { skip }, async (t) => {
  for (const mark of [1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]) {
    await withDirector(async (sock) => {
      t.equal((await tunvsadm(sock, ['-A', '-f', String(mark), '-s', 'rr'])).code, 0, `-A -f ${mark}`);
      // the header's size is the connection table's: tunvs's own, told to the stand-in
      const size = /size=(\d+)/.exec((await tunvsadm(sock, ['-L', '-n'])).out)?.[1] ?? '4096';
      for (const argv of [['-L', '-n'], ['-S', '-n'], ['-L', '-n', '--stats'], ['-L', '-n', '--thresholds']]) {
        const want = ipvsadm(argv, { IPVS_SHIM_FWMARK: String(mark), IPVS_SHIM_SIZE: size });
        t.same(await tunvsadm(sock, argv), want, `${argv.join(' ')} with fwmark ${mark}`);
      }
      const saved = (await tunvsadm(sock, ['-S', '-n'])).out;
      t.equal((await tunvsadm(sock, ['-C'])).code, 0);
      t.equal((await tunvsadm(sock, ['-R'], saved)).code, 0, `-R reads back ${saved.trim()}`);
      t.equal((await tunvsadm(sock, ['-S', '-n'])).out, saved, 'the same table again');
      t.equal((await tunvsadm(sock, ['-L', '-n', '-f', String(mark)])).code, 0, 'the unsigned form still names it');
    });
  }
  // the command line stays ipvsadm's: a negative mark is refused there as ipvsadm refuses it
  t.same(await tunvsadm(join(work, 'nobody.sock'), ['-A', '-f', '-1']), ipvsadm(['-A', '-f', '-1']));
});
