#!/usr/bin/env node
// scripts/lab: bring the tunvs network-namespace lab up, down, or show it.
//
//   scripts/lab up [--method nat|dr|tun] [--link tuntap|xdp|packet] [--two-if] [--servers N] [--clients M] [--quiet]
//   scripts/lab down
//   scripts/lab status [--json]
//
// Everything lives in namespaces named lvs-* (or TUNVS_LAB_PREFIX*); processes, logs and the state file in
// /run/tunvs-lab. `down` is idempotent and also cleans a half-made lab. Needs root.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync, rmSync, openSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTopology, PREFIX, RUN_DIR, STATE_FILE, VIP, HTTP_PORT, UDP_ECHO_PORT } from './topology.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const RS_SERVICE = join(here, 'rs-service.mjs');
const REALSERVER_BIN = join(root, 'packages/realserver/dist/bin.js');

let quiet = false;
const say = (s) => {
  if (!quiet) process.stdout.write(s + '\n');
};

/** Run a command; throws an Error carrying its stderr unless `ignore`. Returns stdout. */
function run(cmd, args, { ignore = false, input } = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input });
  } catch (e) {
    if (ignore) return '';
    const err = (e.stderr || e.message || '').toString().trim();
    throw new Error(`${cmd} ${args.join(' ')}: ${err}`);
  }
}

/** Run a list of `ip` commands in one namespace with one process (`ip -batch`). */
function ipBatch(ns, lines) {
  if (lines.length === 0) return;
  const args = ns ? ['-n', ns, '-batch', '-'] : ['-batch', '-'];
  run('ip', args, { input: lines.join('\n') + '\n' });
}

/** Write sysctls (key → value) in a namespace; keys that do not exist are skipped if optional. */
function sysctls(ns, entries) {
  const script = entries
    .map(([key, val, optional]) => {
      const f = `/proc/sys/${key.replace(/\./g, '/')}`;
      return optional ? `[ ! -e ${f} ] || echo ${val} > ${f}` : `echo ${val} > ${f}`;
    })
    .join(' && ');
  run('ip', ['netns', 'exec', ns, 'sh', '-ec', script]);
}

/** Names of existing namespaces with the lab prefix. */
function labNamespaces() {
  const out = run('ip', ['netns', 'list'], { ignore: true });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n && n.startsWith(PREFIX));
}

const pidAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const readPid = (file) => {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : 0;
  } catch {
    return 0;
  }
};
const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The pidfiles the lab keeps: [{file, name, pid, alive, cmd}]. */
function labProcesses() {
  if (!existsSync(RUN_DIR)) return [];
  return readdirSync(RUN_DIR)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => {
      const file = join(RUN_DIR, f);
      const pid = readPid(file);
      const alive = pid > 0 && pidAlive(pid);
      return { file, name: f.slice(0, -4), pid, alive, cmd: alive ? cmdline(pid) : '' };
    });
}

function readState() {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return null;
  }
}

/** Start a detached process inside a namespace, logging to RUN_DIR/<name>.log. */
function startIn(ns, name, args) {
  const log = openSync(join(RUN_DIR, `${name}.log`), 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...args], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  closeSync(log);
  return child;
}

async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---------------------------------------------------------------------------------- down

async function down() {
  const killed = [];
  // 1. processes we started (pidfiles), then anything still running in an lvs-* namespace
  //    (a director or a tool started by hand would keep the namespace alive otherwise).
  const pids = new Set();
  for (const p of labProcesses()) if (p.alive) pids.add(p.pid);
  for (const ns of labNamespaces()) {
    for (const l of run('ip', ['netns', 'pids', ns], { ignore: true }).split('\n')) {
      const pid = Number(l.trim());
      if (pid > 1 && pid !== process.pid) pids.add(pid);
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
      killed.push(pid);
    } catch {
      /* already gone */
    }
  }
  const end = Date.now() + 3000;
  while ([...pids].some(pidAlive) && Date.now() < end) await sleep(25);
  for (const pid of pids) {
    if (pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  // 2. persistent devices, then the namespaces (veths and bridges go with them).
  const nss = labNamespaces();
  for (const ns of nss) run('ip', ['-n', ns, 'link', 'del', 'tunvs0'], { ignore: true });
  for (const ns of nss) run('ip', ['netns', 'del', ns], { ignore: true });
  // 3. pidfiles, logs, state.
  if (existsSync(RUN_DIR)) rmSync(RUN_DIR, { recursive: true, force: true });
  const left = labNamespaces();
  if (left.length) throw new Error(`could not delete namespaces: ${left.join(' ')}`);
  return { killed, namespaces: nss };
}

// ------------------------------------------------------------------------------------ up

async function up(topo) {
  mkdirSync(RUN_DIR, { recursive: true });
  const d = topo.director;
  const dr = topo.method === 'dr';
  const bypass = d.peer !== null;
  for (const ns of topo.namespaces) run('ip', ['netns', 'add', ns]);
  for (const ns of topo.namespaces) ipBatch(ns, ['link set lo up']);

  // Director namespace: bridges, the persistent TUN/TAP, veths to every client and server.
  const dirCmds = [];
  if (d.lan.kind === 'bridge') {
    dirCmds.push(`link add ${d.lan.ifname} type bridge stp_state 0 forward_delay 0`);
    dirCmds.push(`link set ${d.lan.ifname} address ${d.lan.mac}`);
  }
  if (d.rsNet) {
    dirCmds.push(`link add ${d.rsNet.ifname} type bridge stp_state 0 forward_delay 0`);
    dirCmds.push(`link set ${d.rsNet.ifname} address ${d.rsNet.mac}`);
  }
  if (bypass) {
    // a kernel-bypass link: the director's veth end (its MAC is the director's), the other
    // end a bridge port
    dirCmds.push(`link add ${d.device} address ${d.deviceMac} type veth peer name ${d.peer.ifname} address ${d.peer.mac}`);
    dirCmds.push(`link set ${d.peer.ifname} master ${d.peer.bridge}`);
    const c = d.clientSide;
    if (c) {
      dirCmds.push(`link add ${c.ifname} address ${c.mac} type veth peer name ${c.peer.ifname} address ${c.peer.mac}`);
      dirCmds.push(`link set ${c.peer.ifname} master ${c.peer.bridge}`);
    }
  } else {
    dirCmds.push(`tuntap add dev ${d.device} mode ${d.deviceKind}`);
    if (dr) dirCmds.push(`link set ${d.device} address ${d.deviceMac} master ${d.lan.ifname}`);
  }
  for (const h of [...topo.clients, ...topo.servers]) {
    dirCmds.push(`link add ${h.peer.ifname} address ${h.peer.mac} type veth peer name ${h.ifname} netns ${h.ns} address ${h.mac}`);
    if (h.peer.bridge) dirCmds.push(`link set ${h.peer.ifname} master ${h.peer.bridge}`);
  }
  ipBatch(d.ns, dirCmds);

  // Sysctls in the director (before addresses so new interfaces inherit `default`).
  const dirIfs = new Set(['all', 'default', 'lo', d.device, d.lan.ifname]);
  if (d.rsNet) dirIfs.add(d.rsNet.ifname);
  for (const h of [...topo.clients, ...topo.servers]) dirIfs.add(h.peer.ifname);
  if (bypass) dirIfs.add(d.peer.ifname);
  const two = d.clientSide ?? null;
  if (two) dirIfs.add(two.ifname).add(two.peer.ifname);
  // the director's own interfaces on a bypass link
  const owned = bypass ? [d.device, ...(two ? [two.ifname] : [])] : [];
  sysctls(d.ns, [
    // --two-if: nothing to forward, tunvsd carries the packets between its interfaces
    ['net.ipv4.ip_forward', dr || two ? 0 : 1],
    ...[...dirIfs].map((i) => [`net.ipv4.conf.${i}.rp_filter`, 0]),
    ['net.ipv4.tcp_early_demux', 0],
    ['net.ipv4.udp_early_demux', 0, true],
    // nat/tun: the VIP sits in the clients' subnet but is routed into the TUN device, so the
    // director's kernel answers ARP for it on the client side (proxy ARP)
    ...(dr || two ? [] : [[`net.ipv4.conf.${d.lan.ifname}.proxy_arp`, 1]]),
    // IPIP over TUN: the outer packets the director writes carry its own address as
    // source; without accept_local the kernel drops them as martians
    ...(dr || bypass ? [] : [[`net.ipv4.conf.${d.device}.accept_local`, 1]]),
    // a bypass link: the frames the steering program leaves to the kernel are not the
    // kernel's to answer (ARP for its other addresses) or to forward
    ...owned.flatMap((i) => [[`net.ipv4.conf.${i}.arp_ignore`, 1], [`net.ipv4.conf.${i}.forwarding`, 0],
      [`net.ipv6.conf.${i}.disable_ipv6`, 1, true]]),
    ['net.bridge.bridge-nf-call-iptables', 0, true],
    ['net.bridge.bridge-nf-call-ip6tables', 0, true],
    ['net.bridge.bridge-nf-call-arptables', 0, true],
  ]);

  const up2 = [];
  if (d.lan.addr) up2.push(`addr add ${d.lan.addr} dev ${d.lan.ifname}`);
  if (d.rsNet?.addr) up2.push(`addr add ${d.rsNet.addr} dev ${d.rsNet.ifname}`);
  for (const h of [...topo.clients, ...topo.servers]) up2.push(`link set ${h.peer.ifname} up`);
  up2.push(`link set ${d.lan.ifname} up`);
  if (d.rsNet) up2.push(`link set ${d.rsNet.ifname} up`);
  if (bypass) up2.push(`link set ${d.peer.ifname} up`);
  up2.push(`link set ${d.device} up`);
  if (two) up2.push(`link set ${two.peer.ifname} up`, `link set ${two.ifname} up`);
  if (d.vipRoute) up2.push(`route add ${d.vipRoute}`);
  if (d.policyRouting) {
    up2.push(`rule add ${d.policyRouting.rule}`);
    up2.push(`route add ${d.policyRouting.route} table ${d.policyRouting.table}`);
  }
  ipBatch(d.ns, up2);
  // AF_XDP: the peer's TX checksum offload off, so that frames the kernel forwards to the
  // link leave with their checksums complete (an XDP frame has no room for the skb's
  // offload state). AF_PACKET: tunvsd takes a vnet header (kind packet's default), which
  // carries partial checksums and GSO both ways, so the peer keeps its offloads.
  if (d.link === 'xdp') {
    run('ip', ['netns', 'exec', d.ns, 'ethtool', '-K', d.peer.ifname, 'tx', 'off']);
    if (two) run('ip', ['netns', 'exec', d.ns, 'ethtool', '-K', two.peer.ifname, 'tx', 'off']);
  }

  // Clients.
  for (const c of topo.clients) {
    ipBatch(c.ns, [
      `addr add ${c.ip}/${c.prefixLen} dev ${c.ifname}`,
      `link set ${c.ifname} up`,
      `route add default via ${c.gateway}`,
    ]);
  }
  // Real servers.
  for (const s of topo.servers) {
    const entries = [];
    if (s.vipOnLo) {
      // LVS-DR/TUN real server: own the VIP on lo but never answer or announce it on the wire.
      for (const i of ['all', 'default', s.ifname]) {
        entries.push([`net.ipv4.conf.${i}.arp_ignore`, 1], [`net.ipv4.conf.${i}.arp_announce`, 2]);
      }
      for (const i of ['all', 'default', 'lo', s.ifname]) entries.push([`net.ipv4.conf.${i}.rp_filter`, 0]);
    }
    if (entries.length) sysctls(s.ns, entries);
    const cmds = [`addr add ${s.ip}/${s.prefixLen} dev ${s.ifname}`, `link set ${s.ifname} up`];
    if (s.vipOnLo) cmds.push(`addr add ${VIP}/32 dev lo`);
    cmds.push(`route add default via ${s.gateway}`);
    ipBatch(s.ns, cmds);
  }

  // Services.
  for (const s of topo.servers) {
    const pidfile = join(RUN_DIR, `${s.name}.pid`);
    startIn(s.ns, s.name, [
      process.execPath, RS_SERVICE, '--name', s.name,
      '--http-port', String(HTTP_PORT), '--udp-port', String(UDP_ECHO_PORT), '--pidfile', pidfile,
    ]);
  }
  if (topo.method === 'tun') {
    if (!existsSync(REALSERVER_BIN)) {
      throw new Error(`${REALSERVER_BIN} is missing: build first (npx tsc -b)`);
    }
    for (const s of topo.servers) {
      const pidfile = join(RUN_DIR, `${s.name}-realserver.pid`);
      startIn(s.ns, `${s.name}-realserver`, [
        process.execPath, REALSERVER_BIN, '--interface', s.ifname, '--tun', s.realserver.tun,
        '--gue-port', String(s.realserver.guePort), '--pidfile', pidfile,
      ]);
    }
  }
  const want = topo.servers.map((s) => join(RUN_DIR, `${s.name}.pid`));
  if (topo.method === 'tun') want.push(...topo.servers.map((s) => join(RUN_DIR, `${s.name}-realserver.pid`)));
  try {
    await waitFor(() => want.every((f) => readPid(f) > 0), 15000, 'the real servers to start');
  } catch (e) {
    const missing = want.filter((f) => !(readPid(f) > 0)).map((f) => f.replace(/\.pid$/, '.log'));
    const logs = missing.map((f) => `--- ${f}\n${existsSync(f) ? readFileSync(f, 'utf8').trim() : '(no log)'}`);
    throw new Error(`${e.message}\n${logs.join('\n')}`);
  }
  writeFileSync(STATE_FILE, JSON.stringify(topo, null, 2) + '\n');
}

function summary(topo) {
  const d = topo.director;
  const lines = [];
  lines.push(`tunvs lab up: method ${topo.method}${topo.link && topo.link !== 'tuntap' ? `, link ${topo.link}` : ''}${topo.twoIf ? ' on two interfaces' : ''}, ${topo.servers.length} real server(s), ${topo.clients.length} client(s)`);
  lines.push(`  VIP ${topo.vip}  (http :${topo.ports.http}, udp echo :${topo.ports.udpEcho})`);
  const linkName = { tun: 'TUN', tap: 'TAP', xdp: 'AF_XDP on veth', packet: 'AF_PACKET on veth' }[d.deviceKind];
  const c2 = d.clientSide;
  lines.push(`  director  ns ${d.ns}: ${linkName} ${d.device}` +
    (c2 ? ` (MAC ${d.deviceMac}, peer ${d.peer.ifname} on ${d.peer.bridge}) owns ${d.tunvsd.device.interfaces[0].addresses.join(', ')}; ` +
      `${linkName} ${c2.ifname} (MAC ${c2.mac}, peer ${c2.peer.ifname} on ${c2.peer.bridge}) owns ${d.tunvsd.device.addresses.join(', ')}; in userspace, no kernel address, ip_forward 0` :
    d.peer ? ` (MAC ${d.deviceMac}, peer ${d.peer.ifname} on ${d.peer.bridge}); owns ${d.tunvsd.device.addresses.join(', ')} in userspace` +
      (d.rsNet ? `; ${d.lan.ifname} ${d.lan.addr}, ${d.rsNet.ifname} ${d.rsNet.addr}` : '') :
      topo.method === 'dr' ? ` on bridge ${d.lan.ifname}; own ${d.dip} and ${topo.vip} in userspace, MAC ${d.mac}` :
      `; ${d.lan.ifname} ${d.lan.addr} (${d.lan.mac}), ${d.rsNet.ifname} ${d.rsNet.addr} (${d.rsNet.mac})`));
  if (d.vipRoute) lines.push(`            route ${d.vipRoute}`);
  if (d.policyRouting) lines.push(`            rule ${d.policyRouting.rule}; table ${d.policyRouting.table}: ${d.policyRouting.route}`);
  for (const c of topo.clients) lines.push(`  ${c.name.padEnd(8)} ns ${c.ns}: ${c.ip}/${c.prefixLen} ${c.mac} via ${c.gateway}`);
  for (const s of topo.servers) {
    const extra = [s.vipOnLo ? `VIP on lo` : '', s.realserver ? `tunvs-realserver on ${s.realserver.tun} (IPIP, GRE, GUE on udp ${s.realserver.guePort})` : '']
      .filter(Boolean).join(', ');
    lines.push(`  ${s.name.padEnd(8)} ns ${s.ns}: ${s.ip}/${s.prefixLen} ${s.mac} via ${s.gateway}${extra ? ` (${extra})` : ''}`);
  }
  const flag = { nat: '-m', dr: '-g', tun: '-i' }[topo.method];
  lines.push('');
  lines.push(`The director must run in ${d.ns} on the ${d.deviceKind} device${c2 ? `s ${c2.ifname} (clients) and ${d.device} (servers)` : ` ${d.device}`} with, in ipvsadm terms:`);
  if (d.peer) lines.push(`  (tunvsd: "device": ${JSON.stringify(d.tunvsd.device)}, "sourceAddress": "${d.tunvsd.sourceAddress}")`);
  lines.push(`  -A -t ${topo.vip}:${topo.ports.http} -s rr`);
  for (const s of topo.servers) lines.push(`  -a -t ${topo.vip}:${topo.ports.http} -r ${s.ip}:${topo.ports.http} ${flag}`);
  if (topo.method === 'dr' && !d.peer) lines.push(`  (TAP: answer ARP for ${d.dip} and ${topo.vip} with ${d.mac})`);
  lines.push(`Try: ip netns exec ${topo.clients[0].ns} curl -s http://${topo.vip}/`);
  lines.push(`JSON: scripts/lab status --json     Tear down: scripts/lab down`);
  return lines.join('\n');
}

// -------------------------------------------------------------------------------- status

function status() {
  const state = readState();
  const namespaces = labNamespaces();
  const processes = labProcesses().map(({ name, pid, alive }) => ({ name, pid, alive }));
  const devices = {};
  for (const ns of namespaces) {
    const out = run('ip', ['-n', ns, '-j', 'link', 'show'], { ignore: true });
    try {
      devices[ns] = JSON.parse(out || '[]')
        .filter((l) => l.ifname !== 'lo')
        .map((l) => ({ ifname: l.ifname, mac: l.address, state: l.operstate, master: l.master ?? null }));
    } catch {
      devices[ns] = [];
    }
  }
  const upNow = !!state && state.namespaces.every((n) => namespaces.includes(n)) &&
    processes.length > 0 && processes.every((p) => p.alive);
  return { up: upNow, ...(state ?? {}), live: { namespaces, processes, devices } };
}

function printStatus(st) {
  if (!st.method && st.live.namespaces.length === 0) {
    say(`tunvs lab: down (no ${PREFIX}* namespaces)`);
    return;
  }
  if (st.method) say(summary(st).split('\n\nThe director')[0].replace('tunvs lab up', `tunvs lab ${st.up ? 'up' : 'DEGRADED'}`));
  else say('tunvs lab: no state file, but leftover namespaces exist (run scripts/lab down)');
  say('\nnamespaces: ' + (st.live.namespaces.join(' ') || '(none)'));
  for (const ns of st.live.namespaces) {
    for (const l of st.live.devices[ns] ?? []) {
      say(`  ${ns.padEnd(12)} ${l.ifname.padEnd(10)} ${(l.mac ?? '').padEnd(17)} ${String(l.state).padEnd(8)}${l.master ? ` master ${l.master}` : ''}`);
    }
  }
  say('processes:');
  for (const p of st.live.processes) say(`  ${p.name.padEnd(18)} pid ${p.pid} ${p.alive ? 'running' : 'DEAD'}`);
}

// ---------------------------------------------------------------------------------- main

function usage() {
  return `usage: scripts/lab up [--method nat|dr|tun] [--link tuntap|xdp|packet] [--two-if] [--servers N] [--clients M] [--quiet]
       scripts/lab down
       scripts/lab status [--json]`;
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const o = { method: 'nat', link: 'tuntap', twoIf: false, servers: 3, clients: 1, json: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--method') o.method = rest[++i];
    else if (a === '--link') o.link = rest[++i];
    else if (a === '--two-if') o.twoIf = true;
    else if (a === '--servers') o.servers = Number(rest[++i]);
    else if (a === '--clients') o.clients = Number(rest[++i]);
    else if (a === '--json') o.json = true;
    else if (a === '--quiet' || a === '-q') quiet = true;
    else throw Object.assign(new Error(`unknown option ${a}\n${usage()}`), { usage: true });
  }
  if (cmd === 'help' || cmd === '--help' || cmd === '-h' || !cmd) {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  if (process.getuid && process.getuid() !== 0) throw new Error('the lab needs root');
  if (cmd === 'down') {
    const r = await down();
    say(r.namespaces.length || r.killed.length
      ? `tunvs lab down: removed ${r.namespaces.length} namespace(s), stopped ${r.killed.length} process(es)`
      : 'tunvs lab down: nothing to remove');
    return 0;
  }
  if (cmd === 'status') {
    const st = status();
    if (o.json) process.stdout.write(JSON.stringify(st, null, 2) + '\n');
    else printStatus(st);
    return 0;
  }
  if (cmd === 'up') {
    const topo = buildTopology(o.method, o.servers, o.clients, o.link, o.twoIf);
    const st = status();
    if (st.up && JSON.stringify(buildTopology(st.method, st.servers.length, st.clients.length, st.link ?? 'tuntap', st.twoIf ?? false)) === JSON.stringify(topo)) {
      say('tunvs lab already up with this topology');
      say(summary(topo));
      return 0;
    }
    if (st.live.namespaces.length > 0 || existsSync(RUN_DIR)) {
      say('tunvs lab: removing the existing lab first');
      await down();
    }
    try {
      await up(topo);
    } catch (e) {
      try {
        await down();
      } catch (e2) {
        console.error(`scripts/lab: cleanup also failed: ${e2.message}`);
      }
      throw new Error(`up failed (cleaned up): ${e.message}`);
    }
    say(summary(topo));
    return 0;
  }
  throw new Error(`unknown command '${cmd}'\n${usage()}`);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`scripts/lab: ${e.message}`);
    process.exit(e.usage ? 2 : 1);
  },
);
