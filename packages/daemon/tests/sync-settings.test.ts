// The sync sysctls in tunvsd's configuration (issue 15): JSON `sync` and tunvsd.conf
// `sync_threshold 3 50` ... checked with the kernel's ranges and reported with file:line by
// --config-test; and the values reaching the master sync daemon (sync_threshold the backup's
// too), started by tunvsadm
// --start-daemon or by lvs_sync_daemon, changed in place by a reload and undone by a
// failed one, with records really sent (or not) to a backup on an in-memory hub.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { packet } from '@tunvs/packet';
import { nullResolver, runTunvsadm, serveControl } from '@tunvs/cli';
import { MemorySyncHub } from '@tunvs/sync';
import { parseConfigText, setVrrpHost, staticHost } from '@tunvs/keepalived';
import { checkConfig, checkJsonConfig, runTunvsdConfigTest } from '../src/index.js';
import { DaemonSync } from '../src/sync-runtime.js';

setVrrpHost(staticHost([{ name: 'eth1', loopback: false, ethernet: true, multicast: true, mtu: 1500 }]));

const dir = mkdtempSync(join(tmpdir(), 'lsc-sync-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (name: string, text: string): string => {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, text);
  return p;
};
const json = (sync: unknown): string => JSON.stringify({ device: { name: 'kd0' }, sync, services: [] }, null, 2) + '\n';

t.test('JSON "sync": good values are taken as given', async (t) => {
  const r = checkJsonConfig(json({ threshold: 1, period: 0, refreshPeriod: 30, retries: 3, qlenMax: 128, version: 0, persistMode: 1, ports: 1 }), 'c.json');
  t.same(r.messages, []);
  t.same(r.config?.sync, { threshold: 1, period: 0, refreshPeriod: 30, retries: 3, qlenMax: 128, version: 0, persistMode: 1, ports: 1 });
  t.same(checkJsonConfig(json({ threshold: 0, period: 1 }), 'c.json').config?.sync, { threshold: 0, period: 1 }, 'threshold 0 below period 1');
  t.equal(checkJsonConfig(json({}), 'c.json').config?.sync !== undefined, true, 'an empty object: every default');
});

t.test('JSON "sync": each bad value refused, at its line, in the kernel words', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ threshold: 3, period: 3 }, /c\.json:6: error: sync\.threshold: invalid sync_threshold "3 3": the period must be above the threshold, or 0 \(Invalid argument\)/],
    [{ threshold: 60 }, /sync\.threshold: invalid sync_threshold "60 50": the period must be above/],
    [{ period: 2 }, /c\.json:6: error: sync\.period: invalid sync_threshold "3 2"/],
    [{ threshold: -1 }, /sync\.threshold: invalid sync_threshold value -1: the threshold is an integer 0\.\.2147483647 \(Invalid argument\)/],
    [{ period: 1.5 }, /sync\.period: invalid sync_threshold value 1\.5/],
    [{ refreshPeriod: -1 }, /sync\.refreshPeriod: invalid sync_refresh_period value -1: seconds 0\.\.2147483, 0 turns the refresh off$/m],
    [{ refreshPeriod: 3e6 }, /sync\.refreshPeriod: invalid sync_refresh_period value 3000000: .* \(Invalid argument\)/],
    [{ retries: 4 }, /sync\.retries: invalid sync_retries value 4: an integer 0\.\.3 \(Invalid argument\)/],
    [{ version: 2 }, /sync\.version: invalid sync_version value 2: 0 \(the old format\) or 1 \(Invalid argument\)/],
    [{ qlenMax: 0 }, /sync\.qlenMax: invalid sync_qlen_max value 0: messages 1\.\.1048576 \(0 would drop every sync message/],
    [{ persistMode: true }, /sync\.persistMode: invalid sync_persist_mode value true/],
    [{ ports: 2 }, /sync\.ports: sync_ports 2 is not supported: tunvs runs one sync thread per daemon/],
    [{ sockSize: 0 }, /sync\.sockSize: sync_sock_size is not supported/],
    [{ threshhold: 3 }, /sync\.threshhold: unknown key "threshhold" in the sync settings \(known: threshold, period, refreshPeriod/],
    ['3 50', /sync: the sync settings must be an object, not '3 50'/],
  ];
  for (const [v, re] of cases) {
    const r = checkJsonConfig(json(v), 'c.json');
    t.equal(r.config, null, JSON.stringify(v));
    t.match(r.messages.join('\n'), re, JSON.stringify(v));
  }
});

t.test('tunvsd.conf sync_* keywords: taken, and --config-test names file:line', async (t) => {
  const good = file('good.conf', 'device kd0\nmode tun\nsync_threshold 1 0\nsync_refresh_period 30\nsync_retries 2\nsync_qlen_max 64\nsync_version 0\nsync_persist_mode 0\nsync_ports 1\n');
  const r = checkConfig(good);
  t.equal(r.exitCode, 0, r.messages.join('\n'));
  t.same(r.setup?.config.sync, { threshold: 1, period: 0, refreshPeriod: 30, retries: 2, qlenMax: 64, version: 0, persistMode: 0, ports: 1 });
  t.equal(r.setup?.kind, 'tunvsd');
  t.equal(checkConfig(file('first.conf', 'sync_threshold 3 50\ndevice kd0\n')).setup?.kind, 'tunvsd', 'a sync keyword first: still tunvsd.conf');

  const bad = file('bad.conf', 'device kd0\nsync_threshold 3\nsync_refresh_period -1\nsync_retries 4\nsync_version 2\nsync_qlen_max 0\nsync_persist_mode x\nsync_ports 2\nsync_sock_size 65536\nsync_retries\n');
  const lines: string[] = [];
  t.equal(runTunvsdConfigTest(bad, (l) => lines.push(l)), 5);
  const out = lines.join('\n');
  t.match(out, `${bad}:2: error: sync_threshold needs two values: THRESHOLD PERIOD (e.g. 3 50)`);
  t.match(out, `${bad}:3: error: sync_refresh_period: invalid sync_refresh_period value -1`);
  t.match(out, `${bad}:4: error: sync_retries: invalid sync_retries value 4: an integer 0..3 (Invalid argument)`);
  t.match(out, `${bad}:5: error: sync_version: invalid sync_version value 2`);
  t.match(out, `${bad}:6: error: sync_qlen_max: invalid sync_qlen_max value 0`);
  t.match(out, `${bad}:7: error: sync_persist_mode: invalid sync_persist_mode value 'x'`);
  t.match(out, `${bad}:8: error: sync_ports: sync_ports 2 is not supported`);
  t.match(out, `${bad}:9: error: sync_sock_size: sync_sock_size is not supported`);
  t.match(out, `${bad}:10: error: sync_retries needs one value`);
  t.notMatch(out, /Unknown keyword/);

  const order = file('order.conf', 'device kd0\nsync_threshold 50 50\n');
  t.match(checkConfig(order).messages.join('\n'), `${order}:2: error: sync_threshold: invalid sync_threshold "50 50": the period must be above the threshold, or 0 (Invalid argument)`);
});

// ------------------------------------------------------------------ the daemons

const VIP = '10.0.0.100';
const svc = { protocol: 'udp' as const, addr: VIP, port: 53, scheduler: 'rr' };
let now = 10_000;
const logs: string[] = [];
const log = (level: string, msg: string, f?: Record<string, unknown>): void => void logs.push(`${level} ${msg} ${JSON.stringify(f ?? {})}`);

function mk(): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], timers: false, now: () => now, sourceAddress: '10.1.0.1' });
  d.start();
  d.addService(svc);
  d.addDest(svc, { addr: '10.1.0.11', port: 53, method: 'masq', weight: 1 });
  return { d, link };
}

/** one UDP datagram from client port `sport` to the VIP, through the director */
function send(x: { link: MemoryLink }, sport: number): void {
  x.link.receive(packet().ipv4({ src: '10.2.0.7', dst: VIP }).udp({ sport, dport: 53 }).payload(new Uint8Array(8)).build());
  x.link.drain();
}

async function adm(sock: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTunvsadm(argv, { program: 'ipvsadm', stdout: (s) => (out += s), stderr: (s) => (err += s), readStdin: async () => '', env: { TUNVS_SOCKET: sock }, resolver: nullResolver });
  return { code, out, err };
}

t.test('the settings reach the master started by tunvsadm; a reload changes them in place; a failed one undoes', async (t) => {
  const hub = new MemorySyncHub();
  const a = mk();
  const b = mk();
  const sa = new DaemonSync(a.d, log, { transport: async () => hub.join(), autoFlush: false });
  const sb = new DaemonSync(b.d, log, { transport: async () => hub.join(), autoFlush: false });
  const sock = join(dir, 'a.sock');
  const server = serveControl(a.d, sock, { ops: sa.ops() });
  await new Promise<void>((r) => server.once('listening', () => r()));
  t.teardown(() => {
    server.close();
    a.d.stop();
    b.d.stop();
  });
  // the start: the configuration's values, before any daemon runs
  const cfg = checkJsonConfig(json({ threshold: 1, period: 0, refreshPeriod: 20, retries: 1, qlenMax: 32 }), 'c.json').config!;
  sa.configure(cfg.sync);
  t.same(await adm(sock, ['--start-daemon', 'master', '--mcast-interface', 'eth1', '--syncid', '3']), { code: 0, out: '', err: '' });
  await sb.daemons.start('backup', { ifname: 'eth1', syncid: 3 });
  const m = sa.daemons.masterDaemon!;
  t.match(m.settings, { syncid: 3, threshold: 1, period: 0, refreshPeriodMs: 20_000, retries: 1, qlenMax: 32, version: 1, persistMode: false });
  const synced = (): number => {
    m.flush(now, true);
    sb.daemons.backupDaemon!.drain();
    return [...b.d.conns.entries(now)].length;
  };
  // sync_threshold "1 0": the first packet syncs a connection (the kernel's default "3 50": the third)
  send(a, 40001);
  t.equal(synced(), 1, 'threshold 1: synced on its first packet');
  const sent = (): number => m.counters.queued;
  const q0 = sent();
  send(a, 40001);
  t.equal(sent(), q0, 'period 0 with a refresh period: not again while fresh');
  // sync_refresh_period 20 s: the same connection is sent again once 20 s passed
  now += 21_000;
  send(a, 40001);
  t.equal(sent(), q0 + 1, 'refresh period: re-sent after 20 s');

  // a reload back to the defaults: the running master changes in place (not restarted)
  const undo = sa.configure(undefined);
  t.equal(sa.daemons.masterDaemon, m, 'the same master daemon');
  t.match(m.settings, { threshold: 3, period: 50, refreshPeriodMs: 0, retries: 0, syncid: 3 });
  t.match(logs.join('\n'), /info sync settings applied .*"threshold"/);
  send(a, 40002);
  t.equal(synced(), 1, 'default threshold 3: a one-packet flow is not synced');
  send(a, 40002);
  send(a, 40002);
  t.equal(synced(), 2, 'its third packet is');
  // the reload failed later on: the values it set are undone
  undo();
  t.match(m.settings, { threshold: 1, period: 0, refreshPeriodMs: 20_000, retries: 1, qlenMax: 32 });

  // sync_version 0 in place: what was written goes out as v1, then v0 messages
  sa.configure({ ...cfg.sync, version: 0 });
  t.equal(m.settings.version, 0);
  send(a, 40003);
  t.equal(synced(), 3, 'v0 records reach the backup');
  t.equal(sb.daemons.backupDaemon!.lastVersion, 0, 'sent as version 0');
  t.same(await adm(sock, ['--stop-daemon', 'master']), { code: 0, out: '', err: '' });
  await sb.stop();
});

t.test("the settings reach keepalived's lvs_sync_daemon master, also one started after a VRRP transition", async (t) => {
  const a = mk();
  t.teardown(() => a.d.stop());
  const hub = new MemorySyncHub();
  const sa = new DaemonSync(a.d, log, { transport: async () => hub.join(), autoFlush: false });
  sa.configure({ threshold: 2, period: 10, persistMode: 1, version: 0 });
  const k = parseConfigText(
    'global_defs {\n lvs_sync_daemon eth1 VI_1\n}\nvrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n',
    'k.conf',
  ).config!;
  await sa.apply(k, () => 'BACKUP');
  t.equal(sa.daemons.masterDaemon, null, 'BACKUP: no master yet');
  // the backup's records give their connections in_pkts = sync_threshold (its own)
  t.equal(sa.daemons.backupDaemon!.settings.threshold, 2, 'the backup started on BACKUP has sync_threshold');
  const undo = sa.configure({ threshold: 4, period: 10, persistMode: 1, version: 0 });
  t.equal(sa.daemons.backupDaemon!.settings.threshold, 4, 'a reload changes it on the running backup');
  undo();
  t.equal(sa.daemons.backupDaemon!.settings.threshold, 2, 'a failed reload puts it back');
  sa.onTransition('VI_1', 'MASTER');
  await sa.settled();
  t.match(sa.daemons.masterDaemon!.settings, { syncid: 51, threshold: 2, period: 10, persistMode: true, version: 0 }, 'the master started on MASTER has them');
  await sa.stop();
});
