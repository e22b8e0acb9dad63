// tunvsd's sync daemons without root: the control socket's startDaemon/stopDaemon/listDaemons
// driven by tunvsadm (ipvsadm's messages and exit statuses, checked against ipvsadm 1.31 with
// the kernel's errno), and keepalived's lvs_sync_daemon: both roles without an instance, the
// role following the VRRP instance (two VRRP runtimes on an in-memory network, syncid = VRID),
// reload semantics, an unknown instance, and records really reaching the backup's table.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { packet } from '@tunvs/packet';
import { nullResolver, runTunvsadm, serveControl } from '@tunvs/cli';
import { MemorySyncHub, SyncError } from '@tunvs/sync';
import type { SyncTransportFactory } from '@tunvs/sync';
import { parseConfigText, setVrrpHost, staticHost } from '@tunvs/keepalived';
import type { KeepalivedConfig } from '@tunvs/keepalived';
import { DaemonSync } from '../src/sync-runtime.js';

setVrrpHost(staticHost([
  { name: 'eth0', loopback: false, ethernet: true, multicast: true, mtu: 1500 },
  { name: 'eth1', loopback: false, ethernet: true, multicast: true, mtu: 1500 },
]));

const work = mkdtempSync(join(tmpdir(), 'lsy-sync-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** In-memory transports; an interface name starting with "no" does not exist (ENODEV). */
function memTransport(hub: MemorySyncHub): SyncTransportFactory {
  return async (_role, ep) => {
    if (ep.ifname.startsWith('no')) throw new SyncError('ENODEV', `No such device: ${ep.ifname}`);
    return hub.join();
  };
}

const logs: string[] = [];
const log = (level: string, msg: string): void => void logs.push(`${level} ${msg}`);

function director(): Director {
  const d = new Director({ links: [new MemoryLink('tun')], timers: false, now: () => 10_000 });
  d.start();
  return d;
}

async function adm(sock: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, {
    program: 'ipvsadm',
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: async () => '',
    env: { TUNVS_SOCKET: sock },
    resolver: nullResolver,
  });
  return { code, out, err };
}

t.test('tunvsadm --start-daemon / --stop-daemon / -L --daemon over the socket', async (t) => {
  const d = director();
  const sync = new DaemonSync(d, log, { transport: memTransport(new MemorySyncHub()), autoFlush: false });
  const sock = join(work, 'a.sock');
  const server = serveControl(d, sock, { ops: sync.ops() });
  await new Promise<void>((r) => server.once('listening', () => r()));
  t.teardown(() => {
    server.close();
    d.stop();
  });
  t.same(await adm(sock, ['-L', '--daemon']), { code: 0, out: '', err: '' }, 'nothing runs: empty listing');
  t.same(await adm(sock, ['--start-daemon', 'master', '--mcast-interface', 'eth1', '--syncid', '7']), { code: 0, out: '', err: '' });
  t.same(
    await adm(sock, ['--start-daemon', 'backup', '--mcast-interface', 'eth1', '--syncid', '7', '--sync-maxlen', '1400', '--mcast-group', '239.1.2.3', '--mcast-port', '9000', '--mcast-ttl', '4']),
    { code: 0, out: '', err: '' },
  );
  const l = await adm(sock, ['-L', '--daemon']);
  t.equal(
    l.out,
    'master sync daemon (mcast=eth1, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n' +
      'backup sync daemon (mcast=eth1, syncid=7, maxlen=1400, group=239.1.2.3, port=9000, ttl=4)\n',
  );
  // the kernel's errno, ipvsadm's message and exit status (checked with ipvsadm 1.31)
  t.same(await adm(sock, ['--start-daemon', 'master', '--mcast-interface', 'eth1']), { code: 255, out: '', err: 'Daemon has already run\n' });
  t.same(await adm(sock, ['--stop-daemon', 'master']), { code: 0, out: '', err: '' });
  t.same(await adm(sock, ['--stop-daemon', 'master']), { code: 255, out: '', err: 'No daemon is running\n' });
  t.same(await adm(sock, ['--start-daemon', 'master', '--mcast-interface', 'nodev0']), { code: 255, out: '', err: 'No such device\n' });
  t.same(await adm(sock, ['--start-daemon', 'master']), { code: 0, out: '', err: '' });
  t.equal(
    (await adm(sock, ['-L', '--daemon'])).out,
    'master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n' +
      'backup sync daemon (mcast=eth1, syncid=7, maxlen=1400, group=239.1.2.3, port=9000, ttl=4)\n',
    "ipvsadm's defaults: interface eth0, syncid 0",
  );
  t.same(await adm(sock, ['--stop-daemon', 'master']), { code: 0, out: '', err: '' });
  t.same(await adm(sock, ['--stop-daemon', 'backup']), { code: 0, out: '', err: '' });
  t.equal((await adm(sock, ['-L', '--daemon'])).out, '');
});

const vconf = (prio: number, sync: string): string =>
  `global_defs {\n ${sync}\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority ${prio}\n advert_int 1\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n`;

function kconf(text: string): KeepalivedConfig {
  const r = parseConfigText(text, 'k.conf');
  t.equal(r.config === null ? 'refused' : 'ok', 'ok', r.diagnostics?.map((x) => x.message).join('; ') ?? '');
  return r.config!;
}

t.test('lvs_sync_daemon: both roles without an instance, role follows the instance, reloads', async (t) => {
  const d = director();
  const sync = new DaemonSync(d, log, { transport: memTransport(new MemorySyncHub()), autoFlush: false });
  t.teardown(() => d.stop());
  const state = new Map<string, string>([['VI_1', 'BACKUP']]);
  const stateOf = (n: string): string | null => state.get(n) ?? null;
  const roles = (): string => sync.daemons.list().map((x) => `${x.state}/${x.syncid}/${x.mcastIfn}`).join(' ');

  await sync.apply(kconf(vconf(100, 'lvs_sync_daemon eth1')), stateOf);
  t.equal(roles(), 'master/0/eth1 backup/0/eth1', 'no instance: master and backup, syncid 0');
  sync.onTransition('VI_1', 'MASTER');
  await sync.apply(kconf(vconf(100, 'lvs_sync_daemon eth1')), stateOf);
  t.equal(roles(), 'master/0/eth1 backup/0/eth1', 'unchanged settings: nothing restarted, transitions ignored');

  await sync.apply(kconf(vconf(100, 'lvs_sync_daemon eth1 VI_1 port 9000')), stateOf);
  t.equal(roles(), 'backup/51/eth1', 'instance BACKUP: the backup daemon, syncid = VRID');
  t.equal(sync.daemons.list()[0]!.port, 9000);
  sync.onTransition('VI_1', 'MASTER');
  await sync.settled();
  t.equal(roles(), 'master/51/eth1', 'MASTER: the master daemon');
  sync.onTransition('VI_2', 'BACKUP');
  sync.onTransition('VI_1', 'FAULT');
  await sync.settled();
  t.equal(roles(), 'backup/51/eth1', 'FAULT: the backup daemon; other instances do not matter');

  state.set('VI_1', 'MASTER');
  await sync.apply(kconf(vconf(100, 'lvs_sync_daemon eth1 inst VI_1 id 9')), stateOf);
  t.equal(roles(), 'master/9/eth1', 'changed settings: restarted, in the role of the current state');

  const before = logs.length;
  await sync.apply(kconf(vconf(100, 'lvs_sync_daemon eth1 VI_7')), stateOf);
  t.equal(roles(), '', 'an unknown instance: no daemon');
  t.match(logs.slice(before).join('\n'), /k\.conf:2: lvs_sync_daemon: no vrrp_instance VI_7/);

  await sync.apply(kconf(vconf(100, 'lvs_sync_daemon nodev0')), stateOf);
  t.equal(roles(), '', 'a missing interface: reported, nothing runs');
  t.match(logs.join('\n'), /k\.conf:2: lvs_sync_daemon: No such device: nodev0/);

  await sync.apply(kconf(vconf(100, 'lvs_sync_daemon eth1')), stateOf);
  t.equal(roles(), 'master/0/eth1 backup/0/eth1');
  await sync.apply(kconf(vconf(100, '')), stateOf);
  t.equal(roles(), '', 'removed from the file: stopped');
});

t.test('lvs_sync_daemon on two directors: the master sends, the backup holds the connection', async (t) => {
  const hub = new MemorySyncHub();
  const mk = (): { d: Director; link: MemoryLink } => {
    const link = new MemoryLink('tun', 1500);
    const d = new Director({ links: [link], timers: false, now: () => 10_000, sourceAddress: '10.1.0.1' });
    d.start();
    d.addService(svc);
    d.addDest(svc, { addr: '10.1.0.11', port: 80, method: 'masq', weight: 1 });
    return { d, link };
  };
  const svc = { protocol: 'tcp' as const, addr: '10.0.0.100', port: 80, scheduler: 'rr' };
  const a = mk();
  const b = mk();
  t.teardown(() => {
    a.d.stop();
    b.d.stop();
  });
  const sa = new DaemonSync(a.d, log, { transport: memTransport(hub), autoFlush: false });
  const sb = new DaemonSync(b.d, log, { transport: memTransport(hub), autoFlush: false });
  await sa.apply(kconf(vconf(150, 'lvs_sync_daemon eth1 VI_1')), () => 'MASTER');
  await sb.apply(kconf(vconf(100, 'lvs_sync_daemon eth1 VI_1')), () => 'BACKUP');
  // SYN, ACK, data: the 3rd incoming packet of an established connection is synced
  for (const f of ['S', 'A', 'A']) {
    a.link.receive(packet().ipv4({ src: '10.2.0.7', dst: '10.0.0.100' }).tcp({ sport: 40000, dport: 80, flags: f }).build());
    a.link.drain();
  }
  sa.daemons.masterDaemon!.flush(10_000, true);
  sb.daemons.backupDaemon!.drain();
  const conns = [...b.d.conns.entries(10_000)];
  t.equal(conns.length, 1, 'the backup holds the connection');
  t.match(conns[0], { cport: 40000, vport: 80, dport: 80, state: 'ESTABLISHED' });
  const [ms] = sa.source().daemons();
  const [bs] = sb.source().daemons();
  t.match(ms, { role: 'master', syncid: 51, interface: 'eth1', group: '224.0.0.81', port: 8848, version: 1, messagesSent: 1, recordsSent: 1 });
  t.match(bs, { role: 'backup', syncid: 51, messagesReceived: 1, recordsReceived: 1, recordsApplied: 1, version: 1 });
  t.ok(ms!.lastMessage > 0 && bs!.lastMessage > 0);
  // takeover: the backup becomes master, the old master backup
  sb.onTransition('VI_1', 'MASTER');
  sa.onTransition('VI_1', 'BACKUP');
  await sb.settled();
  await sa.settled();
  t.equal(sb.daemons.list()[0]!.state, 'master');
  t.equal(sa.daemons.list()[0]!.state, 'backup');
  await sb.stop();
  await sa.stop();
  t.equal(sa.daemons.list().length + sb.daemons.list().length, 0, 'stopped');
});
