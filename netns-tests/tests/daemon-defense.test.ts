/**
 * Issue 13 item 11 end to end in lct-* namespaces: hping3 floods SYNs from random sources
 * at the VIP of a real tunvsd (NAT, a 2048-entry table). With the defences off the burst
 * fills the table and a real client (curl) is locked out; after a SIGHUP reload that turns
 * drop_entry on (automatic, amemthresh 16 pages = about half the table) the client
 * connects while the flood goes on.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot } from '../src/netns.js';
import { buildDaemonLab, startServer, startTunvsd, waitFor, VIP } from '../fixtures/daemon-lab.js';

const hasHping = spawnSync('sh', ['-c', 'command -v hping3'], { encoding: 'utf8' }).status === 0;

t.test('SYN flood: drop_entry lets a real client in', { skip: (!isRoot() && 'needs root') || (!hasHping && 'hping3 is not installed (scripts/bootstrap.sh PKGS)') }, async (t) => {
  const l = buildDaemonLab(t, 1, false, 'lct');
  for (const s of l.servers) await startServer(l, s);
  const conf = join(l.work, 'tunvsd.json');
  const base = {
    device: { name: 'kd0', kind: 'tun' },
    sourceAddress: '10.10.1.1',
    socket: l.sock,
    connCapacity: 2048,
    services: [{ protocol: 'tcp', addr: VIP, port: 80, scheduler: 'rr', dests: l.servers.map((s) => ({ addr: s.ip, port: 80, method: 'masq' })) }],
  };
  writeFileSync(conf, JSON.stringify(base));
  const daemon = await startTunvsd(l, conf);
  const curl = (secs: number): boolean => l.lab.exec(l.client, 'curl', ['-s', '-o', '/dev/null', '--max-time', String(secs), `http://${VIP}/`], { timeoutMs: (secs + 5) * 1000 }).status === 0;
  t.ok(curl(5), 'the client connects before the flood');

  // a burst at twice the table's capacity from random sources (never answered)
  const burst = l.lab.exec(l.client, 'hping3', ['-q', '-S', '-p', '80', '--rand-source', '-i', 'u200', '-c', '4096', VIP], { timeoutMs: 20_000 });
  t.equal(burst.status === 0 || burst.status === 1, true, `hping3 burst ran: ${burst.stderr.slice(-200)}`);
  t.notOk(curl(3), 'defence off: the full table locks the client out');

  // drop_entry on by a reload, with a continuing flood of about 30 SYNs/s
  const from = daemon.stderr.length;
  writeFileSync(conf, JSON.stringify({ ...base, defense: { dropEntry: 1, amemthresh: 16 } }));
  daemon.proc.kill('SIGHUP');
  await waitFor(() => daemon.stderr.slice(from).includes('configuration reloaded'), 10_000, 'the reload');
  const flood = l.lab.spawn(l.client, 'hping3', ['-q', '-S', '-p', '80', '--rand-source', '-i', 'u33000', VIP], 'hping3');
  try {
    t.ok(curl(8), 'drop_entry on: the client connects during the flood');
  } finally {
    flood.proc.kill('SIGTERM');
  }
});
