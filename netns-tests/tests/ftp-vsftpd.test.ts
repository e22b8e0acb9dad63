/**
 * FTP through tunvsd with real vsftpd servers and curl as the client (scripts/lab):
 *
 * - LVS-NAT with the FTP helper: passive (EPSV/229 and PASV/227, whose rewrite to the
 *   VIP grows the segment), active (EPRT and PORT, the servers connect from port 20 and
 *   leave as VIP:20), a directory listing, a 10 MB upload, and several transfers on one
 *   control connection (the sequence shift accumulates); every byte count and sha256
 *   checked.
 * - LVS-NAT with the helper on the kernel-bypass links (AF_XDP with two workers, AF_PACKET):
 *   the steering takes the data connections too (the VIP and the NAT servers on every
 *   port) to the worker of their control connection; passive and active transfers.
 * - LVS-DR: no helper (the replies bypass the director); passive mode works with a
 *   persistent port-21 service, and with a persistent fwmark service grouping port 21
 *   and the passive range.
 */
import t from 'tap';
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB, LAB_SKIP, ROOT } from './lab-util.js';
import { bypassGate } from '../fixtures/bypass-lab.js';

const tunvsd = join(ROOT, 'packages/daemon/dist/bin/tunvsd.js');
const work = `/run/tunvs-ftp-test-${process.pid}`;
const SIZE = 10 * 1024 * 1024;
const SMALL = 1024 * 1024;
const vsftpd = spawnSync('sh', ['-c', 'command -v vsftpd'], { encoding: 'utf8' }).stdout.trim();
const SKIP = LAB_SKIP || (vsftpd === '' && 'vsftpd is not installed (scripts/bootstrap.sh installs it)');

interface Topo {
  vip: string;
  director: {
    ns: string;
    device: string;
    deviceKind: 'tun' | 'tap' | 'xdp' | 'packet';
    dip: string;
    mac: string | null;
    /** the device and source address tunvsd needs (scripts/lab's own choice) */
    tunvsd: { device: Record<string, unknown>; sourceAddress: string };
  };
  clients: { ns: string; ip: string }[];
  servers: { name: string; ns: string; ip: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** curl in the client namespace; returns its exit code and stderr. */
function curl(ns: string, args: string[]): { code: number; out: string; err: string } {
  const t0 = Date.now();
  const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '-m', '30', ...args], { encoding: 'utf8', timeout: 40_000 });
  if (process.env.FTP_TEST_TIMES) console.error(`curl ${args.join(' ')}: ${Date.now() - t0} ms`);
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** Bring the lab up, start vsftpd on every server and tunvsd with `services`/`marks`. */
interface Setup {
  topo: Topo;
  pub: string;
  big: Uint8Array;
  mid: Uint8Array;
  /** write another configuration and have tunvsd apply it (SIGHUP) */
  reload(conf: (topo: Topo) => Record<string, unknown>): Promise<boolean>;
}

async function setup(t: Test, method: 'nat' | 'dr', conf: (topo: Topo) => Record<string, unknown>, link: 'tuntap' | 'xdp' | 'packet' = 'tuntap'): Promise<Setup | null> {
  const procs: ChildProcess[] = [];
  t.teardown(() => {
    for (const p of procs) p.kill('SIGTERM');
    spawnSync(LAB, ['down'], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });
  const t0 = Date.now();
  const mark = (what: string): void => {
    if (process.env.FTP_TEST_TIMES) console.error(`${what}: ${Date.now() - t0} ms`);
  };
  spawnSync(LAB, ['down'], { stdio: 'ignore' });
  mark('lab down');
  const up = spawnSync(LAB, ['up', '--method', method, '--servers', '2', '--link', link, '--quiet'], { encoding: 'utf8' });
  t.equal(up.status, 0, `lab up: ${up.stderr}`);
  if (up.status !== 0) return null;
  mark('lab up');
  const topo = JSON.parse(spawnSync(LAB, ['status', '--json'], { encoding: 'utf8' }).stdout) as Topo;
  // the FTP tree: root-owned (vsftpd refuses a writable root), an upload directory
  const pub = join(work, 'pub');
  mkdirSync(join(pub, 'up'), { recursive: true });
  chmodSync(work, 0o755);
  chmodSync(pub, 0o755);
  chmodSync(join(pub, 'up'), 0o777);
  const big = randomBytes(SIZE);
  writeFileSync(join(pub, 'big.bin'), big);
  const mid = big.subarray(0, SMALL);
  writeFileSync(join(pub, 'mid.bin'), mid);
  writeFileSync(join(pub, 'small.txt'), 'hello ftp\n');
  chownSync(join(pub, 'big.bin'), 0, 0);
  mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  for (const s of topo.servers) {
    const cf = join(work, `vsftpd-${s.name}.conf`);
    writeFileSync(cf, [
      'listen=YES', 'listen_ipv6=NO', 'background=NO', 'anonymous_enable=YES', 'local_enable=NO',
      'write_enable=YES', 'anon_upload_enable=YES', 'anon_umask=022', 'no_anon_password=YES', `anon_root=${pub}`,
      'pasv_enable=YES', 'pasv_min_port=40000', 'pasv_max_port=40100', 'port_enable=YES', 'connect_from_port_20=YES',
      'seccomp_sandbox=NO', 'secure_chroot_dir=/var/run/vsftpd/empty', 'xferlog_enable=NO', 'dirlist_enable=YES',
      'use_localtime=NO', 'ftpd_banner=tunvs test ' + s.name,
      '',
    ].join('\n'));
    procs.push(spawn('ip', ['netns', 'exec', s.ns, vsftpd, cf], { stdio: 'ignore' }));
  }
  const sock = join(work, 'tunvsd.sock');
  const d = topo.director;
  const cfg = join(work, 'tunvsd.json');
  const bypass = link !== 'tuntap';
  const write = (c: (topo: Topo) => Record<string, unknown>): void => writeFileSync(cfg, JSON.stringify({
    device: bypass ? d.tunvsd.device : { name: d.device, kind: d.deviceKind, ...(d.deviceKind === 'tap' ? { mac: d.mac, addresses: [`${d.dip}/24`] } : {}) },
    sourceAddress: bypass ? d.tunvsd.sourceAddress : method === 'dr' ? d.dip : '10.10.1.1',
    socket: sock,
    ...c(topo),
  }));
  write(conf);
  const daemon = spawn('ip', ['netns', 'exec', d.ns, process.execPath, tunvsd, '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(daemon);
  let log = '';
  daemon.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  for (let i = 0; i < 300 && !existsSync(sock); i++) await sleep(100);
  t.ok(existsSync(sock), `tunvsd serves its socket (log: ${log})`);
  mark('tunvsd ready');
  await sleep(300);
  const applied = (): number => log.split('configuration reloaded').length;
  const reload = async (c: (topo: Topo) => Record<string, unknown>): Promise<boolean> => {
    const before = applied();
    write(c);
    daemon.kill('SIGHUP');
    for (let i = 0; i < 100 && applied() === before; i++) await sleep(100);
    return applied() > before;
  };
  return { topo, pub, big, mid, reload };
}

t.test('LVS-NAT: vsftpd behind the FTP helper, passive and active, listing, upload, one long session', { skip: SKIP }, async (t) => {
  const s = await setup(t, 'nat', (topo) => ({
    ftp: { ports: [21] },
    services: [{ protocol: 'tcp', addr: topo.vip, port: 21, scheduler: 'rr', dests: topo.servers.map((x) => ({ addr: x.ip, port: 21, method: 'masq' })) }],
  }));
  if (s === null) return;
  const { topo, pub, big } = s;
  const cl = topo.clients[0]!.ns;
  const modes: [string, string[], Uint8Array, string][] = [
    ['passive PASV (227 rewritten, segment grows)', ['--disable-epsv'], big, 'big.bin'],
    ['passive EPSV (229)', [], s.mid, 'mid.bin'],
    ['active EPRT', ['-P', '-'], s.mid, 'mid.bin'],
    ['active PORT', ['-P', '-', '--disable-eprt'], s.mid, 'mid.bin'],
  ];
  for (const [name, args, want, file] of modes) {
    const out = join(work, `get-${args.length}-${file}`);
    const r = curl(cl, [...args, `ftp://${topo.vip}/${file}`, '-o', out]);
    t.equal(r.code, 0, `${name}: curl succeeded (${r.err.trim()})`);
    t.equal(existsSync(out) ? statSync(out).size : -1, want.length, `${name}: ${want.length} bytes`);
    t.equal(existsSync(out) ? sha(readFileSync(out)) : '', sha(want), `${name}: sha256 matches`);
  }
  const ls = curl(cl, ['--disable-epsv', `ftp://${topo.vip}/`]);
  t.equal(ls.code, 0, `listing (${ls.err.trim()})`);
  t.match(ls.out, /big\.bin/, 'the listing names big.bin');
  t.match(ls.out, /small\.txt/);
  // upload 10 MB (passive), then read it back
  const src = join(work, 'upload.bin');
  const ub = randomBytes(SIZE);
  writeFileSync(src, ub);
  const u = curl(cl, ['--disable-epsv', '-T', src, `ftp://${topo.vip}/up/u.bin`]);
  t.equal(u.code, 0, `upload (${u.err.trim()})`);
  const stored = join(pub, 'up', 'u.bin');
  t.equal(existsSync(stored) ? sha(readFileSync(stored)) : '', sha(ub), 'the uploaded 10 MB arrived whole');
  // one control connection, eight transfers: each 227 grows the stream by one byte more
  const many: string[] = [];
  for (let i = 0; i < 8; i++) many.push(`ftp://${topo.vip}/small.txt`, '-o', join(work, `m${i}.txt`));
  const m = curl(cl, ['--disable-epsv', ...many]);
  t.equal(m.code, 0, `eight transfers on one session (${m.err.trim()})`);
  for (let i = 0; i < 8; i++) t.equal(existsSync(join(work, `m${i}.txt`)) ? readFileSync(join(work, `m${i}.txt`), 'utf8') : '', 'hello ftp\n', `transfer ${i + 1}`);
});

const gate = bypassGate('lft');

t.test('LVS-NAT on the kernel-bypass links: the FTP helper\'s data connections steered with their control connection', { skip: SKIP || gate.skip }, async (t) => {
  for (const [link, workers] of [['xdp', 2], ['packet', 1]] as const) {
    const why = gate.why(link);
    await t.test(`${link}, workers ${workers}`, { skip: why === false ? false : why }, async (t) => {
      const s = await setup(t, 'nat', (topo) => ({
        ftp: { ports: [21] },
        workers,
        services: [{ protocol: 'tcp', addr: topo.vip, port: 21, scheduler: 'rr', dests: topo.servers.map((x) => ({ addr: x.ip, port: 21, method: 'masq' })) }],
      }), link);
      if (s === null) return;
      const cl = s.topo.clients[0]!.ns;
      const modes: [string, string[]][] = [
        ['passive EPSV', []],
        ['passive PASV', ['--disable-epsv']],
        ['active EPRT', ['-P', '-']],
      ];
      // several clients' ports, so that with two workers the control connections hash to both
      for (const [name, args] of modes) {
        for (let i = 0; i < 3; i++) {
          const out = join(work, `bp-${link}-${args.length}-${i}.bin`);
          const r = curl(cl, [...args, `ftp://${s.topo.vip}/mid.bin`, '-o', out]);
          t.equal(r.code, 0, `${name} #${i + 1}: curl succeeded (${r.err.trim()})`);
          t.equal(existsSync(out) ? sha(readFileSync(out)) : '', sha(s.mid), `${name} #${i + 1}: sha256 matches`);
        }
      }
    });
  }
});

t.test('LVS-DR: vsftpd with a persistent port-21 service, then a persistent fwmark service (passive)', { skip: SKIP }, async (t) => {
  const s = await setup(t, 'dr', (topo) => ({
    services: [{ protocol: 'tcp', addr: topo.vip, port: 21, scheduler: 'rr', persistent: 300, dests: topo.servers.map((x) => ({ addr: x.ip, port: 21, method: 'route' })) }],
  }));
  if (s === null) return;
  const cl = s.topo.clients[0]!.ns;
  const get = (what: string, args: string[]): void => {
    const out = join(work, `dr-${what}-${args.length}.bin`);
    const r = curl(cl, [...args, `ftp://${s.topo.vip}/mid.bin`, '-o', out]);
    t.equal(r.code, 0, `${what}: curl ${args.join(' ')} (${r.err.trim()})`);
    t.equal(existsSync(out) ? sha(readFileSync(out)) : '', sha(s.mid), `${what}: sha256 matches`);
  };
  get('port 21 -p', []);
  get('port 21 -p', ['--disable-epsv']);
  // the Piranha/RHEL set-up: mark 21 on port 21 and the passive range, one persistent fwmark service
  const ok = await s.reload((topo) => ({
    marks: [{ mark: 21, protocol: 'tcp', daddr: topo.vip, ports: '21' }, { mark: 21, protocol: 'tcp', daddr: topo.vip, ports: '40000-40100' }],
    services: [{ fwmark: 21, scheduler: 'rr', persistent: 300, dests: s.topo.servers.map((x) => ({ addr: x.ip, port: 0, method: 'route' })) }],
  }));
  t.ok(ok, 'tunvsd applied the fwmark configuration');
  get('fwmark 21 -p', ['--disable-epsv']);
});
