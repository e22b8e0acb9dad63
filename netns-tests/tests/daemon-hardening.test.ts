/**
 * Issue 13 items 2, 3, 4 and 6 with real processes in lha-* namespaces (LVS-NAT on TUN,
 * two real servers, a client requesting all along):
 *
 *   - a SIGHUP whose configuration takes too long to read (a keepalived.conf expanding
 *     ~SEQ to millions of lines) is given up after --reload-timeout; meanwhile the control
 *     socket answers and every client request is served; the rules stay;
 *   - a self-including keepalived.conf, a 0-byte keepalived.conf, a 0-byte tunvsd.conf and
 *     binary garbage are refused at SIGHUP, logged, and the rules stay; a keepalived.conf
 *     with global_defs and no virtual_server applies (no service left);
 *   - a JSON reload with a weight edit and an unknown scheduler changes nothing; one with
 *     "services": [] applies;
 *   - one daemon per socket: a second tunvsd on the same socket refuses to start and the
 *     first keeps serving; a daemon whose socket was taken over does not remove the new
 *     owner's socket when it stops.
 */
import t from 'tap';
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { delay, isRoot, fixturePath } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { buildDaemonLab, startServer, destWeights, requests, waitFor, waitServed, adm, VIP, TUNVSD } from '../fixtures/daemon-lab.js';
import type { DaemonLab } from '../fixtures/daemon-lab.js';
import { ControlClient } from '@tunvs/cli';

const PREFIX = 'lha';

/** JSON log lines of a daemon from `from` on. */
function logs(d: Child, from = 0): Record<string, unknown>[] {
  return d.stderr
    .slice(from)
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

async function daemon(l: DaemonLab, conf: string, extra: string[] = []): Promise<Child> {
  const d = l.lab.spawn(l.dir, process.execPath, [TUNVSD, '-f', conf, ...extra], 'tunvsd');
  await waitFor(() => logs(d).some((m) => m.msg === 'control socket ready') || d.exitCode !== null, 20_000, 'tunvsd to start');
  if (d.exitCode !== null) throw new Error(`tunvsd exited (${d.exitCode}): ${d.stderr}`);
  return d;
}

/** SIGHUP and wait for the outcome line; returns it. */
async function hup(d: Child, ms = 30_000): Promise<Record<string, unknown>> {
  const from = d.stderr.length;
  d.proc.kill('SIGHUP');
  return waitFor(() => logs(d, from).find((m) => m.msg === 'configuration reloaded' || String(m.msg).startsWith('reload failed')), ms, 'the reload outcome');
}

const kconf = (l: DaemonLab, weights: [number, number]): string =>
  `global_defs {\n    router_id ${PREFIX}\n}\nvirtual_server ${VIP} 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n` +
  l.servers.map((s, i) => `    real_server ${s.ip} 80 {\n        weight ${weights[i]}\n    }\n`).join('') +
  '}\n';

t.test('reloads never freeze the daemon and never wipe the rules (keepalived.conf)', { skip: !isRoot() && 'needs root' }, async (t) => {
  const l = buildDaemonLab(t, 2, false, PREFIX);
  await Promise.all(l.servers.map((s) => startServer(l, s)));
  const kfile = join(l.work, 'keepalived.conf');
  const tfile = join(l.work, 'tunvsd.conf');
  writeFileSync(kfile, kconf(l, [1, 2]));
  const tunvsdConf = `keepalived_conf keepalived.conf\ndevice kd0\nmode tun\nsource_address 10.10.1.1\ncontrol_socket ${l.sock}\n`;
  writeFileSync(tfile, tunvsdConf);
  const d = await daemon(l, tfile, ['--reload-timeout', '3']);
  const client = l.lab.spawnNode(l.client, fixturePath('fixtures/daemon-client.mjs'), [VIP, '80', '20']);
  await client.json((m) => m.ready === true);
  for (const s of l.servers) await waitServed(client, s.name, 0);
  const rules = new Map([[`${l.servers[0]!.ip}:80`, 1], [`${l.servers[1]!.ip}:80`, 2]]);
  t.same(destWeights(l), rules, 'the pool of keepalived.conf');

  await t.test('a configuration that takes too long: given up, and nothing stops meanwhile', async (t) => {
    // ~SEQ expands to three million lines: reading it takes far longer than 3 s
    writeFileSync(kfile, `global_defs {\n    router_id x\n}\n~SEQ(i,1,3000000) virtual_server 10.$(i).0.1 80 {\n}\n`);
    const start = Date.now();
    const from = d.stderr.length;
    d.proc.kill('SIGHUP');
    // the control socket, asked every 100 ms while the reload runs (no answer in 2 s = a failure)
    const ctl = await ControlClient.connect(l.sock, { timeoutMs: 2000 });
    const during: { ok: boolean; ms: number }[] = [];
    let outcome: Record<string, unknown> | undefined;
    while (!outcome && Date.now() - start < 30_000) {
      const t0 = Date.now();
      const ok = await ctl.listServices().then((x) => x.length === 1, () => false);
      during.push({ ok, ms: Date.now() - t0 });
      await delay(100);
      outcome = logs(d, from).find((m) => String(m.msg).startsWith('reload failed') || m.msg === 'configuration reloaded');
    }
    ctl.close();
    const end = Date.now();
    t.ok(outcome, 'the reload ended');
    t.match(String(outcome?.msg), /^reload failed, keeping the running configuration/);
    t.match(String(outcome?.error), /took more than 3 s: given up|more than \d+ MiB/, `given up: ${String(outcome?.error)}`);
    t.ok(during.length >= 10 && during.every((x) => x.ok), `the control socket answered ${during.length} times during the reload (slowest ${Math.max(...during.map((x) => x.ms))} ms)`);
    const served = requests(client).filter((r) => r.t0 >= start && r.t1 <= end);
    t.ok(served.length >= 10, `${served.length} client requests completed during the reload`);
    t.same(served.filter((r) => !r.ok), [], 'none failed');
    t.same(destWeights(l), rules, 'the rules are as they were');
  });

  await t.test('self-inclusion, empty files and garbage are refused; the rules stay', async (t) => {
    const cases: [string, () => void, RegExp][] = [
      ['a self-including keepalived.conf', () => writeFileSync(kfile, `include ${kfile}\ninclude ${kfile}\n` + kconf(l, [5, 5])), /include cycle/],
      ['a 0-byte keepalived.conf', () => writeFileSync(kfile, ''), /keepalived configuration is empty/],
      ['binary garbage', () => writeFileSync(kfile, Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 256).filter((b) => b !== 0x7b && b !== 0x7d))), /./],
      ['a 0-byte tunvsd.conf', () => writeFileSync(tfile, ''), /the file is empty/],
    ];
    for (const [what, write, msg] of cases) {
      write();
      const o = await hup(d);
      t.match(String(o.msg), /^reload failed, keeping the running configuration/, `${what}: refused`);
      t.match(JSON.stringify(o.errors ?? o.error), msg, `${what}: ${String(o.error)}`);
      t.same(destWeights(l), rules, `${what}: the rules stay`);
      writeFileSync(tfile, tunvsdConf);
      writeFileSync(kfile, kconf(l, [1, 2]));
    }
    const ok = await hup(d);
    t.equal(ok.msg, 'configuration reloaded', 'the good file applies again');
    // declared on purpose: blocks but no virtual_server
    writeFileSync(kfile, `global_defs {\n    router_id ${PREFIX}\n}\n`);
    const none = await hup(d);
    t.equal(none.msg, 'configuration reloaded', 'global_defs only: applied');
    t.equal(adm(l, ['-S', '-n']).stdout, '', 'no service left');
  });
  await client.stop();
});

t.test('JSON reloads are all or nothing; one daemon per socket', { skip: !isRoot() && 'needs root' }, async (t) => {
  const l = buildDaemonLab(t, 2, false, PREFIX);
  await Promise.all(l.servers.map((s) => startServer(l, s)));
  const conf = join(l.work, 'tunvsd.json');
  const svc = (w: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    protocol: 'tcp',
    addr: VIP,
    port: 80,
    scheduler: 'wlc',
    ...extra,
    dests: l.servers.map((s, i) => ({ addr: s.ip, port: 80, method: 'masq', weight: i === 0 ? w : 1 })),
  });
  const base = { device: { name: 'kd0', kind: 'tun' }, sourceAddress: '10.10.1.1', socket: l.sock };
  writeFileSync(conf, JSON.stringify({ ...base, services: [svc(1)] }, null, 2));
  const a = await daemon(l, conf);
  const before = destWeights(l);

  await t.test('a weight edit next to an unknown scheduler: nothing is applied', async (t) => {
    writeFileSync(conf, JSON.stringify({ ...base, services: [svc(7), { protocol: 'udp', addr: VIP, port: 53, scheduler: 'nope', dests: [] }] }, null, 2));
    const o = await hup(a);
    t.match(String(o.msg), /^reload failed, keeping the running configuration/);
    t.match(String(o.error), /tunvsd\.json:\d+: error: services\[1\]\.scheduler: Scheduler not found: 'nope'/);
    t.same(destWeights(l), before, 'the weight edit was not applied either');
    writeFileSync(conf, JSON.stringify({ ...base, device: { name: 'kd9', kind: 'tun' }, services: [svc(7)] }, null, 2));
    const from = a.stderr.length;
    const ok = await hup(a);
    t.equal(ok.msg, 'configuration reloaded');
    t.equal(destWeights(l).get(`${l.servers[0]!.ip}:80`), 7, 'a good file applies whole');
    t.ok(logs(a, from).some((m) => m.msg === 'setting changed, needs a restart (the running value is kept)' && /device\.name: "kd0" -> "kd9"/.test(String(m.setting))), 'the device change is reported as needing a restart');
    writeFileSync(conf, JSON.stringify({ ...base, services: [] }, null, 2));
    t.equal((await hup(a)).msg, 'configuration reloaded', '"services": [] applies');
    t.equal(adm(l, ['-S', '-n']).stdout, '', 'no service left');
    writeFileSync(conf, JSON.stringify({ ...base, services: [svc(1)] }, null, 2));
    t.equal((await hup(a)).msg, 'configuration reloaded');
  });

  await t.test('a second daemon on the same socket refuses to start; the first keeps serving', async (t) => {
    const lock = `${l.sock}.lock`;
    t.equal(readFileSync(lock, 'utf8').trim(), String(a.proc.pid), "the lock file beside the socket holds the daemon's pid");
    const conf2 = join(l.work, 'second.json');
    writeFileSync(conf2, JSON.stringify({ ...base, device: { name: 'kd1', kind: 'tun' }, services: [] }));
    const b = l.lab.spawn(l.dir, process.execPath, [TUNVSD, '-f', conf2], 'tunvsd-b');
    const code = await b.wait(20_000);
    t.equal(code, 1, 'the second daemon exits 1');
    t.match(b.stderr, /start refused: the control socket is in use/);
    t.match(b.stderr, /another tunvsd \(pid \d+\) holds/);
    t.equal(adm(l, ['-L', '-n']).status, 0, 'the first one still answers');
    t.same(destWeights(l), before, 'with its rules');
    t.ok(statSync(l.sock).isSocket());

    // the socket and the lock removed by hand: a new daemon takes the path; the old one,
    // when it stops, leaves the new one's socket alone
    const oldIno = statSync(l.sock).ino;
    unlinkSync(l.sock);
    unlinkSync(lock);
    const c = await daemon(l, conf2);
    const newIno = statSync(l.sock).ino;
    t.not(newIno, oldIno, 'a new socket');
    a.proc.kill('SIGTERM');
    t.equal(await a.wait(10_000), 0, 'the first daemon stops');
    t.ok(existsSync(l.sock) && statSync(l.sock).ino === newIno, "the new daemon's socket is still there");
    t.equal(adm(l, ['-S', '-n']).status, 0, 'and answers');
    c.proc.kill('SIGTERM');
    t.equal(await c.wait(10_000), 0);
    t.notOk(existsSync(l.sock), 'its own socket is removed when it stops');
    t.notOk(existsSync(lock), 'and the lock');
  });
});
