/**
 * Issue 13 item 11 end to end in lct-* namespaces: hping3 floods SYNs from random sources
 * at the VIP of a real tunvsd (NAT, a 2048-entry table). With the defences off the burst
 * fills the table and a real client (curl) is locked out; after a SIGHUP reload that turns
 * drop_entry on (automatic, amemthresh 16 pages = about half the table) the client
 * connects while the flood goes on.
 *
 * sloppy_tcp (the sysctl a failover pair runs): a bare ACK from the client to the VIP opens
 * no connection while it is off (the kernel's tcp_conn_schedule: SYN only); after a reload
 * that turns it on the same ACK is scheduled and forwarded, and the listing shows it; a
 * reload without the keyword turns it off again.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot } from '../src/netns.js';
import { adm, buildDaemonLab, startServer, startTunvsd, waitFor, VIP } from '../fixtures/daemon-lab.js';

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

t.test('sloppy_tcp: a bare ACK opens a connection only while it is on (reloads both ways)', { skip: (!isRoot() && 'needs root') || (!hasHping && 'hping3 is not installed (scripts/bootstrap.sh PKGS)') }, async (t) => {
  const l = buildDaemonLab(t, 1, false, 'lcs');
  for (const s of l.servers) await startServer(l, s);
  const conf = join(l.work, 'tunvsd.conf');
  writeFileSync(join(l.work, 'keepalived.conf'), `virtual_server ${VIP} 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server ${l.servers[0]!.ip} 80 {\n  }\n}\n`);
  const text = (sloppy: boolean): string =>
    `keepalived_conf keepalived.conf\ndevice kd0\nmode tun\nsource_address 10.10.1.1\ncontrol_socket ${l.sock}\n${sloppy ? 'sloppy_tcp 1\n' : ''}`;
  writeFileSync(conf, text(false));
  const daemon = await startTunvsd(l, conf);
  /** ACKs from one client port; the connections the director then lists for it */
  const ackFrom = (port: number): string[] => {
    const r = l.lab.exec(l.client, 'hping3', ['-q', '-A', '-s', String(port), '-k', '-p', '80', '-c', '2', '-i', 'u100000', VIP], { timeoutMs: 10_000 });
    t.equal(r.status === 0 || r.status === 1, true, `hping3 ran: ${r.stderr.slice(-200)}`);
    return adm(l, ['-L', '-c', '-n']).stdout.split('\n').filter((x) => x.includes(`:${port} `));
  };
  const reload = async (sloppy: boolean): Promise<void> => {
    const from = daemon.stderr.length;
    writeFileSync(conf, text(sloppy));
    daemon.proc.kill('SIGHUP');
    await waitFor(() => daemon.stderr.slice(from).includes('configuration reloaded'), 10_000, 'the reload');
  };
  t.same(ackFrom(41001), [], 'off (the default): the ACK opens no connection');
  await reload(true);
  const on = ackFrom(41002);
  t.equal(on.length, 1, `sloppy_tcp 1: the ACK opened a connection: ${on.join(' | ')}`);
  t.match(on[0] ?? '', new RegExp(`^TCP\\s+\\S+\\s+\\S+\\s+\\S+:41002\\s+${VIP.replace(/\./g, '\\.')}:80\\s+${l.servers[0]!.ip.replace(/\./g, '\\.')}:80`), 'to the real server');
  await reload(false);
  t.same(ackFrom(41003), [], 'a reload without the keyword turns it off again');
});
