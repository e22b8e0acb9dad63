#!/usr/bin/env node
// VRRP failover time, measured on the wire: the master is SIGKILLed (a crash: no priority
// 0) and the failover time is the gap between its last advertisement and the first
// advertisement of the backup as the new master, both from a capture on the segment. It
// is compared with the theoretical Master_Down_Interval of the backup
// (3 x advert_int + skew), and with keepalived -> keepalived measured in the same run as
// the reference.
//
//   flock /work/team/bench.lock node bench/vrrp-failover.mjs [--runs 10] [--advert 1,0.1] [--json]
//
// Scenarios (master -> backup): keepalived -> tunvs, tunvs -> keepalived, tunvs -> tunvs,
// keepalived -> keepalived (reference). advert_int 1 runs VRRPv2 (whole seconds), 0.1 runs
// VRRPv3 (centiseconds). Needs root, keepalived, tcpdump, and a build (npx tsc -b).
// Namespaces are lvr-fb<N>-<pid>; everything is removed at the end, also on failure.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TUNVSD = join(ROOT, 'packages/daemon/dist/bin/tunvsd.js');
const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const RUNS = Number(opt('--runs', '10'));
const ADVERTS = opt('--advert', '1,0.1').split(',').map(Number);
const JSON_OUT = args.includes('--json');
const PID = process.pid;
const work = mkdtempSync(join(tmpdir(), 'lvr-fb-'));
const namespaces = [];
const children = new Set();
const log = (...a) => process.stderr.write(a.join(' ') + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(cmd, a, input) {
  const r = spawnSync(cmd, a, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${cmd} ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const ip = (ns, words) => sh('ip', ['-n', ns, ...words.split(' ')]);

function cleanup() {
  for (const c of children) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
  for (const ns of namespaces) {
    for (const p of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function netns(name) {
  const ns = `lvr-fb${name}-${PID}`;
  spawnSync('ip', ['netns', 'del', ns]);
  sh('ip', ['netns', 'add', ns]);
  namespaces.push(ns);
  ip(ns, 'link set lo up');
  return ns;
}

// the segment: a bridge, two routers 10.99.0.1 (a) and 10.99.0.2 (b)
const sw = netns('sw');
ip(sw, 'link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0');
ip(sw, 'link set br0 up');
const nodes = {};
for (const [name, n] of [['a', 1], ['b', 2]]) {
  const ns = netns(name);
  ip(ns, `link add eth0 type veth peer name p${n} netns ${sw}`);
  ip(ns, `addr add 10.99.0.${n}/24 dev eth0`);
  ip(ns, 'link set eth0 up');
  ip(sw, `link set p${n} master br0`);
  ip(sw, `link set p${n} up`);
  nodes[name] = { ns, ip: `10.99.0.${n}`, dir: join(work, name), proc: null, kind: null };
  sh('mkdir', ['-p', nodes[name].dir]);
}

function conf(prio, advert) {
  const v = advert < 1 ? 3 : 2;
  return `vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority ${prio}\n  version ${v}\n  advert_int ${advert}\n  virtual_ipaddress {\n    10.99.0.100/24 dev eth0\n  }\n}\n`;
}

function start(node, kind, prio, advert) {
  node.kind = kind;
  writeFileSync(join(node.dir, 'keepalived.conf'), conf(prio, advert));
  for (const f of ['k.pid', 'v.pid', 't.sock']) rmSync(join(node.dir, f), { force: true });
  let p;
  if (kind === 'keepalived') {
    const out = openSync(join(node.dir, 'keepalived.log'), 'a');
    p = spawn('ip', ['netns', 'exec', node.ns, 'keepalived', '--vrrp', '--dont-fork', '--log-console', '-f', join(node.dir, 'keepalived.conf'), '-p', join(node.dir, 'k.pid'), '-r', join(node.dir, 'v.pid')], { stdio: ['ignore', out, out] });
    closeSync(out);
  } else {
    writeFileSync(join(node.dir, 'tunvsd.conf'), `keepalived_conf keepalived.conf\ndevice fb0\nmode tun\ncontrol_socket ${join(node.dir, 't.sock')}\n`);
    const err = openSync(join(node.dir, 'tunvsd.log'), 'a');
    p = spawn('ip', ['netns', 'exec', node.ns, process.execPath, TUNVSD, '-f', join(node.dir, 'tunvsd.conf')], { stdio: ['ignore', 'ignore', err] });
    closeSync(err);
  }
  children.add(p);
  p.on('exit', () => children.delete(p));
  node.proc = p;
}

async function crash(node) {
  // a crash: SIGKILL (keepalived: its VRRP child and its parent, from their pid files)
  if (node.kind === 'keepalived') {
    for (const f of ['v.pid', 'k.pid']) {
      const pf = join(node.dir, f);
      if (existsSync(pf)) try { process.kill(Number(readFileSync(pf, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
    }
  } else try { node.proc.kill('SIGKILL'); } catch { /* gone */ }
  await new Promise((r) => (node.proc.exitCode !== null || node.proc.signalCode !== null ? r() : node.proc.once('exit', r)));
  // what a crash leaves behind (the VIP) goes, as a reboot would clear it
  spawnSync('ip', ['-n', node.ns, 'addr', 'del', '10.99.0.100/24', 'dev', 'eth0']);
}

const holds = (node) => spawnSync('ip', ['-n', node.ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout.includes('10.99.0.100/');

async function until(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Adverts in a capture: [{ t (s), src, prio }]. */
function adverts(pcap) {
  const out = [];
  const txt = spawnSync('tcpdump', ['-r', pcap, '-tt', '-n', 'ip proto 112'], { encoding: 'utf8' }).stdout;
  for (const l of txt.split('\n')) {
    const m = /^(\d+\.\d+) IP (\S+) > \S+: VRRPv\d, Advertisement, vrid \d+, prio (\d+)/.exec(l);
    if (m) out.push({ t: Number(m[1]), src: m[2], prio: Number(m[3]) });
  }
  return out;
}

const skewUs = (v, prio, advUs) => (v === 2 ? Math.floor(((256 - prio) * 1e6) / 256) : Math.floor(((256 - prio) * Math.floor(advUs / 1e4) * 625) / 16));

async function scenario(masterKind, backupKind, advert) {
  const [m, b] = [nodes.a, nodes.b];
  const times = [];
  const v = advert < 1 ? 3 : 2;
  const mdMs = (3 * advert * 1e6 + skewUs(v, 100, advert * 1e6)) / 1000;
  start(b, backupKind, 100, advert);
  await until(() => existsSync(join(b.dir, backupKind === 'tunvs' ? 't.sock' : 'v.pid')), 30_000, 'the backup to start');
  for (let run = 0; run < RUNS; run++) {
    start(m, masterKind, 150, advert);
    await until(() => holds(m) && !holds(b), 20_000, 'the master to hold the VIP');
    await sleep(advert * 1000 * 2 + Math.random() * advert * 1000);
    const pcap = join(work, `c${run}.pcap`);
    const cap = spawn('ip', ['netns', 'exec', sw, 'tcpdump', '-i', 'br0', '-U', '-n', '-w', pcap, 'ip proto 112'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(cap);
    // tcpdump says "listening on" once it captures
    await new Promise((r) => {
      let err = '';
      cap.stderr.on('data', (d) => {
        err += d;
        if (err.includes('listening on')) r();
      });
      setTimeout(r, 10_000);
    });
    await sleep(advert * 1000 * 2 + 300);
    await crash(m);
    await until(() => holds(b), mdMs + 5000, 'the backup to take over');
    await sleep(advert * 1000 + 200);
    cap.kill('SIGINT');
    await new Promise((r) => cap.once('exit', r));
    children.delete(cap);
    const ads = adverts(pcap);
    const firstNew = ads.find((a) => a.src === b.ip && a.prio === 100);
    const lastOld = ads.filter((a) => a.src === m.ip && (!firstNew || a.t < firstNew.t)).pop();
    if (!firstNew || !lastOld) throw new Error(`run ${run}: adverts not found in the capture`);
    times.push((firstNew.t - lastOld.t) * 1000);
    rmSync(pcap, { force: true });
  }
  await crash(b);
  const s = [...times].sort((x, y) => x - y);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { master: masterKind, backup: backupKind, advertInt: advert, version: v, runs: RUNS, masterDownMs: Number(mdMs.toFixed(1)), minMs: Number(s[0].toFixed(1)), medianMs: Number(q(0.5).toFixed(1)), maxMs: Number(s[s.length - 1].toFixed(1)), runsMs: times.map((x) => Number(x.toFixed(1))) };
}

const results = [];
try {
  for (const adv of ADVERTS) {
    for (const [mk, bk] of [['keepalived', 'keepalived'], ['keepalived', 'tunvs'], ['tunvs', 'keepalived'], ['tunvs', 'tunvs']]) {
      log(`advert_int ${adv}: ${mk} master, ${bk} backup, ${RUNS} crashes ...`);
      const r = await scenario(mk, bk, adv);
      results.push(r);
      log(`  failover min ${r.minMs} / median ${r.medianMs} / max ${r.maxMs} ms (master down ${r.masterDownMs} ms)`);
    }
  }
} catch (e) {
  log(`failed: ${e.message}`);
  process.exitCode = 1;
}
if (JSON_OUT) process.stdout.write(JSON.stringify({ date: new Date().toISOString(), results }, null, 1) + '\n');
else {
  process.stdout.write('| advert_int | master -> backup (takes over) | runs | master down (ms) | min | median | max (ms) |\n|---|---|---|---|---|---|---|\n');
  for (const r of results) process.stdout.write(`| ${r.advertInt} s (v${r.version}) | ${r.master} -> ${r.backup} | ${r.runs} | ${r.masterDownMs} | ${r.minMs} | ${r.medianMs} | ${r.maxMs} |\n`);
}
process.exit();
