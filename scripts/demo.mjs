#!/usr/bin/env node
// The tunvs demo: bring up the netns lab, run tunvsd with an LVS example configuration
// (NAT + wlc over three real servers of weights 1, 2, 3 by default), send HTTP requests
// from the client, print the ipvsadm-style table and the per-server distribution, tear
// everything down.
//
//   node scripts/demo.mjs [--method nat|dr|tun] [--scheduler NAME] [--requests N]
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
const scheduler = opt('scheduler', 'wlc');
const requests = Number(opt('requests', '300'));
if (!['nat', 'dr', 'tun'].includes(method)) {
  console.error(`demo: --method must be nat, dr or tun (not '${method}')`);
  process.exit(2);
}
const lab = join(root, 'scripts/lab');
const run = (cmd, argv, o = {}) => spawnSync(cmd, argv, { stdio: 'inherit', ...o });
const work = `/run/tunvs-demo-${process.pid}`;
const sock = join(work, 'tunvsd.sock');
let daemon = null;

function cleanup() {
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
  console.log(`\n== tunvs demo: LVS-${method.toUpperCase()} with ${scheduler}, 3 real servers (weights 1, 2, 3)\n`);
  spawnSync(lab, ['down'], { stdio: 'ignore' });
  if (run(lab, ['up', '--method', method, '--servers', '3']).status !== 0) throw new Error('lab up failed');
  const topo = JSON.parse(spawnSync(lab, ['status', '--json'], { encoding: 'utf8' }).stdout);
  const d = topo.director;
  const fwd = { nat: 'masq', dr: 'route', tun: 'tunnel' }[method];
  const config = {
    device: {
      name: d.device,
      kind: d.deviceKind,
      ...(d.deviceKind === 'tap' ? { mac: d.mac, addresses: [`${d.dip}/24`] } : {}),
    },
    sourceAddress: method === 'dr' ? d.dip : '10.10.1.1',
    socket: sock,
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
  const confFile = join(work, 'tunvsd.json');
  writeFileSync(confFile, JSON.stringify(config, null, 2) + '\n');
  console.log(`tunvsd configuration (${confFile}):\n${JSON.stringify(config.services, null, 2)}\n`);
  daemon = spawn('ip', ['netns', 'exec', d.ns, process.execPath, join(root, 'packages/daemon/dist/bin/tunvsd.js'), '-f', confFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let daemonLog = '';
  daemon.stderr.on('data', (c) => (daemonLog += c));
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(sock)) throw new Error(`tunvsd did not start:\n${daemonLog}`);

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
