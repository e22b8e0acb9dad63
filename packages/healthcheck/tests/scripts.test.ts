// Script execution as keepalived does it (issue 13 item 1), with real processes: the run-as
// user and group, the clean environment, enable_script_security refusing a script others
// can rewrite (the server stays down), and scripts killed with their process group.
import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configTest, parseConfigText, lookupUser } from '@tunvs/keepalived';
import type { DirectorControl, DestSpec, ServiceKey } from '@tunvs/model';
import { HealthManager, killRunningScripts, scriptProbe } from '../src/index.js';

const root = process.getuid?.() === 0;
const nobody = lookupUser('nobody');
const skip = !root ? 'needs root (changes uid)' : nobody === null ? 'no user nobody' : false;

function recorder(): DirectorControl & { dests: Map<string, number> } {
  const dests = new Map<string, number>();
  const noop = (): void => undefined;
  return {
    dests,
    addService: noop, editService: noop, deleteService: noop, clear: noop, zero: noop, setTimeouts: noop,
    addDest: (_k: ServiceKey, d: DestSpec) => void dests.set(`${d.addr}:${d.port}`, d.weight ?? 1),
    editDest: (_k: ServiceKey, d: DestSpec) => void dests.set(`${d.addr}:${d.port}`, d.weight ?? 1),
    deleteDest: (_k: ServiceKey, d: Pick<DestSpec, 'addr' | 'port'>) => void dests.delete(`${d.addr}:${d.port}`),
    listServices: () => [], getService: () => { throw new Error('no'); }, listConnections: () => [],
    getTimeouts: () => ({ tcp: 900, tcpFin: 120, udp: 300 }), info: () => ({ version: 'x', connTableSize: 0 }),
  } as unknown as DirectorControl & { dests: Map<string, number> };
}

const conf = (global: string, script: string): string => `global_defs {\n${global}\n}
virtual_server 10.0.0.1 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 {
    MISC_CHECK {
      misc_path "${script}"
      alpha
    }
  }
}
`;

t.test('script_user sets uid, gid and groups; the environment is clean', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lka-scr-'));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  writeFileSync(out, '');
  chmodSync(out, 0o666);
  const sh = join(dir, 'who.sh');
  writeFileSync(sh, `#!/bin/sh\n{ id -u; id -g; id -G; env | sort; } > ${out}\n`);
  chmodSync(sh, 0o755);
  process.env['LKA_SECRET'] = 'do-not-leak';
  const r = parseConfigText(conf('  enable_script_security\n  script_user nobody', sh));
  t.same(r.diagnostics, [], 'a safe script with script_user nobody is accepted');
  const s = (r.config.virtualServers[0]!.realServers[0]!.checkers[0] as { script: { uid?: number; gid?: number } }).script;
  t.equal(s.uid, nobody!.uid);
  t.equal(s.gid, nobody!.gid);
  const res = await scriptProbe({ argv: [sh], timeoutMs: 5000, dynamic: false, uid: s.uid!, gid: s.gid! });
  t.equal(res.ok, true, res.detail);
  const [uid, gid, groups, ...env] = readFileSync(out, 'utf8').trim().split('\n');
  t.equal(Number(uid), nobody!.uid, 'runs as nobody');
  t.equal(Number(gid), nobody!.gid, "with nobody's group");
  t.same(groups!.split(' ').map(Number), [nobody!.gid], 'and no other supplementary group');
  t.notOk(env.some((l) => l.startsWith('LKA_SECRET=')), "tunvsd's environment does not leak");
  t.ok(env.some((l) => l.startsWith('PATH=')), 'PATH is set');
});

t.test('enable_script_security refuses a root script others can rewrite; its server stays down', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lka-scr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777); // anyone may replace files here
  const sh = join(open, 'chk.sh');
  writeFileSync(sh, '#!/bin/sh\nexit 0\n');
  chmodSync(sh, 0o755);
  const file = join(dir, 'k.conf');
  writeFileSync(file, conf('  enable_script_security\n  script_user root', sh));
  const ct = configTest(file);
  t.match(ct.messages.join('\n'), /Disabling misc script .*chk\.sh due to insecure \(.*writable by everyone\)/, "keepalived's message at config-test");
  t.equal(ct.exitCode, 0, 'exit code as keepalived 2.2.7 (which finds out only at start)');
  const r = parseConfigText(readFileSync(file, 'utf8'), file);
  const ctl = recorder();
  const hm = new HealthManager(r.config, ctl, { bootstrapDelayMs: 0, random: () => 0 });
  hm.start();
  await new Promise((res) => setTimeout(res, 1500));
  hm.stop();
  t.equal(ctl.dests.size, 0, 'the refused check never puts its server in the pool');
  t.notOk(existsSync(join(dir, 'ran')), 'and the script never ran');
  // the same script in a safe place runs
  const safe = join(dir, 'safe.sh');
  writeFileSync(safe, '#!/bin/sh\nexit 0\n');
  chmodSync(safe, 0o755);
  chmodSync(dir, 0o755);
  const r2 = parseConfigText(conf('  enable_script_security\n  script_user root', safe), file);
  const ctl2 = recorder();
  const hm2 = new HealthManager(r2.config, ctl2, { bootstrapDelayMs: 0, random: () => 0 });
  hm2.start();
  await new Promise((res) => setTimeout(res, 1500));
  hm2.stop();
  t.equal(ctl2.dests.get('10.0.0.2:80'), 1, 'a safe script brings its server up');
});

t.test('without script_user and keepalived_script: root without security, refused with it', { skip: lookupUser('keepalived_script') !== null ? 'keepalived_script exists here' : false }, (t) => {
  const a = parseConfigText(conf('', '/bin/true'));
  const s = (a.config.virtualServers[0]!.realServers[0]!.checkers[0] as { script: { uid?: number; refused?: string } }).script;
  t.equal(s.uid, 0, 'root');
  t.match(a.diagnostics.map((d) => d.message).join('\n'), /SECURITY VIOLATION/);
  const b = parseConfigText(conf('  enable_script_security', '/bin/true'));
  t.match(b.diagnostics.map((d) => d.message), ['Unable to set default user keepalived_script for script', /Unable to set default user for misc script '\/bin\/true' - removing/]);
  t.end();
});

t.test('scripts still running are killed with their process group', { skip: root ? false : 'needs root' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lka-scr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pids = join(dir, 'pids');
  const sh = join(dir, 'slow.sh');
  writeFileSync(sh, `#!/bin/sh\nsleep 300 &\necho $$ $! > ${pids}\nwait\n`);
  chmodSync(sh, 0o755);
  const p = scriptProbe({ argv: [sh], timeoutMs: 60_000, dynamic: false });
  while (!existsSync(pids) || readFileSync(pids, 'utf8').trim() === '') await new Promise((r) => setTimeout(r, 20));
  const [shPid, sleepPid] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
  t.ok(killRunningScripts('SIGKILL') >= 1, 'one group killed');
  const r = await p;
  t.equal(r.ok, false, r.detail);
  await new Promise((res) => setTimeout(res, 100));
  // a killed process whose parent died may linger as a zombie until reaped: that is dead
  const alive = (pid: number): boolean => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  t.notOk(alive(shPid!), 'the script is gone');
  t.notOk(alive(sleepPid!), 'and so is the child it started');
});
