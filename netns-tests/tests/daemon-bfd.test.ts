/**
 * BFD_CHECK against FRR's bfdd, in lka-* namespaces:
 *
 *   director (TUN bd0, tunvsd: bfd_instance peer1, BFD_CHECK) 10.30.0.1 ── veth ── 10.30.0.2 bfdd
 *
 * tunvs runs the BFD session itself (RFC 5880 asynchronous mode over RFC 5881 single hop);
 * FRR's bfdd is the peer. Checks: the session comes Up on both sides (bfdd's own
 * `show bfd peers` says up), the real server joins the pool; bfdd killed → detection time
 * expires → the server leaves; bfdd back → it returns; bfdd's `shutdown` (AdminDown) takes
 * it out at once and `no shutdown` brings it back.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, openLab, run } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { waitFor, TUNVSD, TUNVSADM } from '../fixtures/daemon-lab.js';

const BFDD = '/usr/lib/frr/bfdd';
const haveFrrUser = run('id', ['frr']).status === 0;
const skip = !isRoot() ? 'needs root' : !existsSync(BFDD) || !haveFrrUser ? 'FRR (bfdd) not installed (scripts/bootstrap.sh installs frr)' : false;

const US = '10.30.0.1';
const PEER = '10.30.0.2';
const VIP = '10.30.9.1';

t.test('BFD_CHECK follows a BFD session with FRR bfdd', { skip }, async (t) => {
  const lab = openLab(t, 'lka');
  const work = mkdtempSync(join(tmpdir(), 'lka-bfd-'));
  chmodSync(work, 0o777); // bfdd runs as frr and makes its sockets here
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const dir = lab.netns('bfd');
  const peer = lab.netns('bfp');
  lab.ip(dir, 'tuntap add dev bd0 mode tun');
  lab.ip(dir, 'link set bd0 up');
  lab.veth({ name: 'bf-peer', ns: dir, address: `${US}/24` }, { name: 'eth0', ns: peer, address: `${PEER}/24` });

  const frrConf = join(work, 'bfdd.conf');
  writeFileSync(
    frrConf,
    `bfd\n peer ${US} local-address ${PEER}\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n!\n`,
  );
  chmodSync(frrConf, 0o644);
  let bfdd: Child | null = null;
  const startBfdd = (): void => {
    bfdd = lab.spawn(peer, BFDD, ['-f', frrConf, '-i', join(work, 'bfdd.pid'), '--vty_socket', work, '--bfdctl', join(work, 'bfdd.sock'),
      '-z', join(work, 'zserv.api'), '-u', 'frr', '-g', 'frr', '--log', 'stdout', '-A', '127.0.0.1'], 'bfdd');
  };
  const stopBfdd = async (): Promise<void> => {
    const c = bfdd!;
    bfdd = null;
    c.proc.kill('SIGKILL'); // a crash: no AdminDown, only the detection time tells
    await c.wait(5_000);
  };
  const vtysh = (...cmds: string[]): string =>
    run('ip', ['netns', 'exec', peer, 'vtysh', '--vty_socket', work, ...cmds.flatMap((c) => ['-c', c])]).stdout;
  const peerStatus = (): string => /Status:\s+(\w+)/.exec(vtysh('show bfd peers'))?.[1] ?? '?';

  const sock = join(work, 'tunvsd.sock');
  writeFileSync(
    join(work, 'keepalived.conf'),
    `bfd_instance peer1 {
    neighbor_ip ${PEER}
    source_ip ${US}
    min_rx 100
    min_tx 100
    multiplier 3
}
virtual_server ${VIP} 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server ${PEER} 80 {
        BFD_CHECK {
            name peer1
        }
    }
}
`,
  );
  writeFileSync(join(work, 'tunvsd.conf'), `keepalived_conf keepalived.conf\ndevice bd0\nmode tun\ncontrol_socket ${sock}\n`);
  const ct = spawnSync(process.execPath, [TUNVSD, '--config-test', '-f', join(work, 'tunvsd.conf')], { encoding: 'utf8' });
  t.equal(ct.status, 0, `--config-test accepts bfd_instance and BFD_CHECK: ${ct.stderr}`);

  const inPool = (): boolean => {
    const r = spawnSync(process.execPath, [TUNVSADM, '-L', '-n'], { encoding: 'utf8', env: { ...process.env, TUNVS_SOCKET: sock }, timeout: 10_000 });
    return (r.stdout ?? '').includes(`-> ${PEER}:80`);
  };

  startBfdd();
  const daemon = lab.spawn(dir, process.execPath, [TUNVSD, '-f', join(work, 'tunvsd.conf')], 'tunvsd');
  await waitFor(() => existsSync(sock) || daemon.exitCode !== null, 30_000, 'the tunvsd socket');
  t.equal(daemon.exitCode, null, `tunvsd runs: ${daemon.stderr}`);

  await t.test('the session comes up on both sides and the server joins the pool', async (t) => {
    await waitFor(() => inPool(), 8_000, 'the real server in the pool');
    t.pass('in the pool once the session is Up');
    await waitFor(() => peerStatus() === 'up', 5_000, 'bfdd to report the peer up');
    t.pass('bfdd: Status up');
    t.match(vtysh('show bfd peers'), /Remote timers:[\s\S]*Receive interval: 100ms/, 'bfdd sees our 100 ms RequiredMinRx');
  });

  await t.test('bfdd killed: the detection time expires and the server leaves; bfdd back: it returns', async (t) => {
    const t0 = Date.now();
    await stopBfdd();
    await waitFor(() => !inPool(), 3_000, 'the server to leave');
    t.pass(`left ${Date.now() - t0} ms after bfdd died (detection time 3 x 100 ms)`);
    startBfdd();
    const t1 = Date.now();
    await waitFor(() => inPool(), 8_000, 'the server to return');
    t.pass(`back ${Date.now() - t1} ms after bfdd restarted`);
  });

  await t.test("bfdd's shutdown (AdminDown) takes the server out, no shutdown brings it back", async (t) => {
    await waitFor(() => peerStatus() === 'up', 5_000, 'bfdd up');
    vtysh('configure terminal', 'bfd', `peer ${US} local-address ${PEER}`, 'shutdown');
    await waitFor(() => !inPool(), 3_000, 'the server to leave on AdminDown');
    t.pass('AdminDown from the peer: out');
    vtysh('configure terminal', 'bfd', `peer ${US} local-address ${PEER}`, 'no shutdown');
    await waitFor(() => inPool(), 8_000, 'the server to return');
    t.pass('no shutdown: back');
  });

  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.wait(5_000), 0, 'tunvsd exits 0 on SIGTERM');
  await waitFor(() => peerStatus() === 'down', 5_000, 'bfdd to see the session down');
  t.match(vtysh('show bfd peers'), /Remote diagnostics: administratively down/, 'tunvsd stopping tells bfdd AdminDown');
  if (bfdd) await stopBfdd();
});
