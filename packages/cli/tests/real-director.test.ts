/**
 * tunvsadm against the real engine Director (not the test double), through the control
 * socket: the LVS HOWTO commands, persistence listed with --persistent-conn, and
 * save -> clear -> restore reproducing the same table.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { packet } from '@tunvs/packet';
import { runTunvsadm, serveControl } from '../src/index.js';

async function adm(sock: string, argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: async () => stdin,
    env: { TUNVS_SOCKET: sock },
  });
  return { code, out, err };
}

t.test('tunvsadm drives the real Director', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunvs-cli-'));
  const sock = join(dir, 'ctl.sock');
  const link = new MemoryLink('tun');
  const director = new Director({ links: [link], timers: false, now: () => 10_000 });
  director.start();
  const server = serveControl(director, sock);
  await new Promise<void>((r) => server.once('listening', () => r()));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  t.equal((await adm(sock, ['-A', '-t', '10.10.0.100:80', '-s', 'rr', '-p', '300'])).code, 0);
  t.equal((await adm(sock, ['-a', '-t', '10.10.0.100:80', '-r', '10.10.1.11:80', '-m', '-w', '2'])).code, 0);
  t.equal((await adm(sock, ['-a', '-t', '10.10.0.100:80', '-r', '10.10.1.12:80', '-m'])).code, 0);
  const dup = await adm(sock, ['-a', '-t', '10.10.0.100:80', '-r', '10.10.1.12:80', '-m']);
  t.equal(dup.code, 255);
  t.match(dup.err, /Destination already exists/);
  const nosvc = await adm(sock, ['-d', '-t', '10.10.0.99:80', '-r', '10.10.1.12:80']);
  t.match(nosvc.err, /Service not defined/);

  for (let i = 0; i < 3; i++) link.receive(packet().ipv4({ src: '10.10.0.2', dst: '10.10.0.100' }).tcp({ sport: 4000 + i, dport: 80, flags: 'S' }).build());
  const conns = await adm(sock, ['-L', '-c', '-n', '--persistent-conn']);
  t.equal(conns.code, 0);
  t.match(conns.out, /TCP\s+\S+\s+NONE\s+10\.10\.0\.2:0\s+10\.10\.0\.100:80\s+10\.10\.1\.1[12]:80/, 'the template is listed');
  t.equal(conns.out.split('\n').filter((l) => /SYN_RECV/.test(l)).length, 3, 'three connections');
  const pc = await adm(sock, ['-L', '-n', '--persistent-conn']);
  t.match(pc.out, /Persist/);

  const saved = (await adm(sock, ['-S', '-n'])).out;
  t.match(saved, /-A -t 10\.10\.0\.100:80 -s rr -p 300/);
  t.equal((await adm(sock, ['-C'])).code, 0);
  t.equal((await adm(sock, ['-L', '-n'])).out.split('\n').length, 4, 'cleared: only the header');
  t.equal((await adm(sock, ['-R'], saved)).code, 0);
  t.equal((await adm(sock, ['-S', '-n'])).out, saved, 'restore reproduces the table');
});
