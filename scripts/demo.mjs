#!/usr/bin/env node
// The tunvs demo: bring up the netns lab, run tunvsd with an LVS example configuration
// (NAT + wlc over three real servers of weights 1, 2, 3 by default), send HTTP requests
// from the client (the director on the lab's TUN/TAP device, or with --link xdp|packet on an
// AF_XDP or AF_PACKET link on a veth; --two-if: on two veths, one facing the clients and
// one the servers, nat only; --workers N: one Director per worker thread on an xdp|packet link,
// --cpus LIST: each pinned to its CPU), print the ipvsadm-style table and the per-server
// distribution, tear everything down.
//
//   node scripts/demo.mjs [--method nat|dr|tun] [--link tuntap|xdp|packet] [--two-if] [--workers N] [--cpus LIST] [--scheduler NAME] [--requests N] [--console-port P] [--no-wait]
//
// It ends by printing the console's URL and a one-time password for the lab; in a terminal
// the lab stays up until Enter.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const method = opt('method', 'nat');
const link = opt('link', 'tuntap');
const scheduler = opt('scheduler', 'wlc');
const requests = Number(opt('requests', '300'));
const twoIf = args.includes('--two-if');
const workers = Number(opt('workers', '1'));
const cpus = opt('cpus', '');
if (!['nat', 'dr', 'tun'].includes(method)) {
  console.error(`demo: --method must be nat, dr or tun (not '${method}')`);
  process.exit(2);
}
if (!['tuntap', 'xdp', 'packet'].includes(link)) {
  console.error(`demo: --link must be tuntap, xdp or packet (not '${link}')`);
  process.exit(2);
}
if (!Number.isInteger(workers) || workers < 1) {
  console.error(`demo: --workers must be a positive integer (not '${opt('workers', '')}')`);
  process.exit(2);
}
if (workers > 1 && (link === 'tuntap' || twoIf)) {
  console.error('demo: --workers N (> 1) needs --link xdp or packet on one interface (tunvsd runs one Director on TUN/TAP and on two interfaces)');
  process.exit(2);
}
const lab = join(root, 'scripts/lab');
const run = (cmd, argv, o = {}) => spawnSync(cmd, argv, { stdio: 'inherit', ...o });
const work = `/run/tunvs-demo-${process.pid}`;
const sock = join(work, 'tunvsd.sock');
let daemon = null;
const bridges = [];

function cleanup() {
  for (const b of bridges) if (b.exitCode === null) b.kill('SIGTERM');
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
  }
  spawnSync(lab, ['down'], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

async function main() {
  const over = { tuntap: '', xdp: ' over AF_XDP', packet: ' over AF_PACKET' }[link] + (twoIf ? ' on two interfaces' : '') + (workers > 1 ? `, ${workers} workers` : '') + (cpus ? ` pinned to CPUs ${cpus}` : '');
  console.log(`\n== tunvs demo: LVS-${method.toUpperCase()}${over} with ${scheduler}, 3 real servers (weights 1, 2, 3)\n`);
  spawnSync(lab, ['down'], { stdio: 'ignore' });
  if (run(lab, ['up', '--method', method, '--link', link, ...(twoIf ? ['--two-if'] : []), '--servers', '3']).status !== 0) throw new Error('lab up failed');
  const topo = JSON.parse(spawnSync(lab, ['status', '--json'], { encoding: 'utf8' }).stdout);
  const d = topo.director;
  const fwd = { nat: 'masq', dr: 'route', tun: 'tunnel' }[method];
  const config = {
    // the lab says what its device is to tunvsd (TUN, TAP, or the veth of an xdp/packet link)
    device: d.tunvsd.device,
    sourceAddress: d.tunvsd.sourceAddress,
    socket: sock,
    ...(workers > 1 ? { workers } : {}),
    // tunvsd checks the list (one CPU per worker, each one it may run on) and says what is wrong
    ...(cpus ? { cpus } : {}),
    // /metrics, the status API and the console, on the director's 127.0.0.1
    http: { listen: '127.0.0.1:9280', passwordFile: 'console.passwd' },
    services: [
      {
        protocol: 'tcp',
        addr: topo.vip,
        port: topo.ports.http,
        scheduler,
        dests: topo.servers.map((s, i) => ({ addr: s.ip, port: topo.ports.http, method: fwd, weight: i + 1 })),
      },
    ],
  };
  mkdirSync(work, { recursive: true });
  // a one-time password for this lab run (never a fixed default)
  const pw = spawnSync(process.execPath, [join(root, 'packages/console/dist/bin/tunvs-console.js'), 'passwd', '-f', join(work, 'console.passwd'), 'admin', '--random'], { encoding: 'utf8' });
  if (pw.status !== 0) throw new Error(`tunvs-console passwd: ${pw.stderr}`);
  const password = pw.stdout.trim();
  const confFile = join(work, 'tunvsd.json');
  writeFileSync(confFile, JSON.stringify(config, null, 2) + '\n');
  console.log(`tunvsd configuration (${confFile}):\n${JSON.stringify(config.services, null, 2)}\n`);
  daemon = spawn('ip', ['netns', 'exec', d.ns, process.execPath, join(root, 'packages/daemon/dist/bin/tunvsd.js'), '-f', confFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // huge pages for the connection table (packages/daemon/README.md, "huge pages")
    env: (await import(join(root, 'packages/daemon/dist/huge-pages.js'))).hugePagesEnv(),
  });
  let daemonLog = '';
  daemon.stderr.on('data', (c) => (daemonLog += c));
  for (let i = 0; i < 300 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(sock)) throw new Error(`tunvsd did not start:\n${daemonLog}`);
  // where each Director runs (tunvsd's own lines; the workers log as they get ready, in any order)
  const ready = daemonLog.split('\n').filter((l) => /"msg":"(worker ready|director thread pinned)"/.test(l)).map((l) => JSON.parse(l));
  for (const m of ready.sort((a, b) => (a.worker ?? -1) - (b.worker ?? -1))) {
    if (m.msg === 'worker ready') console.log(`worker ${m.worker}: a Director on ${m.link}, CPUs ${m.cpus}`);
    else console.log(`the Director (main thread) pinned to CPU ${m.cpu}`);
  }

  // traffic: N sequential HTTP requests (a new connection each) from the client
  const client = topo.clients[0].ns;
  const script = `
    const http = require('http');
    const counts = {}; let errors = 0;
    (async () => {
      for (let i = 0; i < ${requests}; i++) {
        await new Promise((res) => {
          const req = http.get({ host: '${topo.vip}', port: ${topo.ports.http}, path: '/', agent: false, timeout: 3000 }, (r) => {
            let b = ''; r.on('data', (c) => b += c); r.on('end', () => { const n = b.trim(); counts[n] = (counts[n] || 0) + 1; res(); });
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', () => { errors++; res(); });
        });
      }
      process.stdout.write(JSON.stringify({ counts, errors }));
    })();`;
  console.log(`sending ${requests} HTTP requests from ${client} to ${topo.vip}:${topo.ports.http} ...`);
  const r = spawnSync('ip', ['netns', 'exec', client, process.execPath, '-e', script], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout);

  console.log(`\n$ tunvsadm -L -n --stats`);
  run(process.execPath, [join(root, 'packages/cli/dist/bin/tunvsadm.js'), '-L', '-n', '--stats'], { env: { ...process.env, TUNVS_SOCKET: sock } });
  console.log(`\n$ tunvsadm -L -n`);
  run(process.execPath, [join(root, 'packages/cli/dist/bin/tunvsadm.js'), '-L', '-n'], { env: { ...process.env, TUNVS_SOCKET: sock } });

  console.log(`\nresponses per real server (${requests} requests, ${result.errors} errors):`);
  const total = Object.values(result.counts).reduce((a, b) => a + b, 0) || 1;
  topo.servers.forEach((s, i) => {
    const n = result.counts[s.name] ?? 0;
    const bar = '#'.repeat(Math.round((n / total) * 50));
    console.log(`  ${s.name} ${s.ip.padEnd(12)} weight ${i + 1}  ${String(n).padStart(5)}  ${(100 * n / total).toFixed(1).padStart(5)}%  ${bar}`);
  });
  // the console listens on 127.0.0.1 inside the director's namespace: bridge it to the host's
  const bridge = join(root, 'scripts/lab.d/console-bridge.mjs');
  const usock = join(work, 'console.sock');
  bridges.push(spawn('ip', ['netns', 'exec', d.ns, process.execPath, bridge, 'unix-to-tcp', usock, '127.0.0.1:9280'], { stdio: 'ignore' }));
  for (let i = 0; i < 50 && !existsSync(usock); i++) await new Promise((r) => setTimeout(r, 100));
  const hostPort = opt('console-port', '9280');
  const outer = spawn(process.execPath, [bridge, 'tcp-to-unix', `127.0.0.1:${hostPort}`, usock], { stdio: ['ignore', 'pipe', 'ignore'] });
  bridges.push(outer);
  await new Promise((r) => outer.stdout.once('data', r));
  console.log(`\nmetrics: curl -s http://127.0.0.1:${hostPort}/metrics | grep node_ipvs_`);
  console.log(`console: http://127.0.0.1:${hostPort}/   user admin   one-time password ${password}`);
  if (process.stdin.isTTY && !args.includes('--no-wait')) {
    console.log('(the lab stays up while you look: press Enter to tear it down)');
    await new Promise((r) => process.stdin.once('data', r));
  } else console.log('(not a terminal: tearing the lab down; run it in a terminal to keep it up)');
  return result.errors === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`demo failed: ${e.message}`);
} finally {
  cleanup();
}
process.exit(code);
