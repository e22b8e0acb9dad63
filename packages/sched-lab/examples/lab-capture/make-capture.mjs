#!/usr/bin/env node
// Makes the example capture in the lab (root): scripts/lab up --method nat with three real
// servers, tunvsd on the lab's TUN device with an HTTP service (wlc, weights 1/2/3, or the
// scheduler given) and a UDP echo service (rr), tcpdump on the TUN device (headers only),
// a client making HTTP connections several at a time and a few UDP flows. Writes into OUT:
//   capture.pcap      the capture (raw IP, snap length 96: headers only)
//   client.json       what the client saw: per connection its port and the server
//   trace.jsonl       tunvs-sched trace-from-pcap of the HTTP service (with its service lines)
//   live.jsonl        the live director's decision per connect, learned from the capture
//   trace-udp.jsonl, live-udp.jsonl   the same for the UDP service
// Cleans up after itself (tunvsd, tcpdump, the lab), also when it fails.
//
//   TUNVS_LAB_PREFIX=lsl- node packages/sched-lab/examples/lab-capture/make-capture.mjs \
//     [--out DIR] [--scheduler NAME] [--http N] [--parallel P] [--udp N]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../../..');
const lab = join(root, 'scripts/lab');
const tunvsd = join(root, 'packages/daemon/dist/bin/tunvsd.js');
const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const out = resolve(opt('--out', here));
const scheduler = opt('--scheduler', 'wlc');
const nHttp = Number(opt('--http', '30'));
const parallel = Number(opt('--parallel', '3'));
const nUdp = Number(opt('--udp', '6'));
const weights = [1, 2, 3];
const work = `/run/tunvs-capture-${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { pcapToTrace } = await import(join(root, 'packages/sched-lab/dist/index.js'));

let daemon = null;
let dump = null;
function cleanup() {
  if (dump && dump.exitCode === null) dump.kill('SIGINT');
  if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM');
  spawnSync(lab, ['down'], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

try {
  spawnSync(lab, ['down'], { stdio: 'ignore' });
  const up = spawnSync(lab, ['up', '--method', 'nat', '--servers', '3', '--quiet'], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`lab up: ${up.stderr}`);
  const topo = JSON.parse(spawnSync(lab, ['status', '--json'], { encoding: 'utf8' }).stdout);
  const d = topo.director;
  mkdirSync(work, { recursive: true });
  mkdirSync(out, { recursive: true });
  const sock = join(work, 'tunvsd.sock');
  const conf = join(work, 'tunvsd.json');
  const dests = topo.servers.map((s, i) => ({ addr: s.ip, port: 80, method: 'masq', weight: weights[i] ?? 1 }));
  writeFileSync(
    conf,
    JSON.stringify({
      device: { name: d.device, kind: 'tun' },
      sourceAddress: '10.10.1.1',
      socket: sock,
      services: [
        { protocol: 'tcp', addr: topo.vip, port: 80, scheduler, dests },
        { protocol: 'udp', addr: topo.vip, port: 7, scheduler: 'rr', dests: dests.map((x) => ({ ...x, port: 7, weight: 1 })) },
      ],
    }),
  );
  let log = '';
  daemon = spawn('ip', ['netns', 'exec', d.ns, process.execPath, tunvsd, '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  daemon.stderr.on('data', (c) => (log += c));
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(100);
  if (!existsSync(sock)) throw new Error(`tunvsd did not start: ${log}`);
  const pcap = join(out, 'capture.pcap');
  let dumpErr = '';
  dump = spawn('ip', ['netns', 'exec', d.ns, 'tcpdump', '-i', d.device, '--immediate-mode', '-s', '96', '-U', '-n', '-w', pcap, 'tcp port 80 or udp port 7'], { stdio: ['ignore', 'ignore', 'pipe'] });
  dump.stderr.on('data', (c) => (dumpErr += c));
  for (let i = 0; i < 50 && !/listening/.test(dumpErr); i++) await sleep(100);
  const cl = spawnSync('ip', ['netns', 'exec', topo.clients[0].ns, process.execPath, join(here, 'client.mjs'), topo.vip, String(nHttp), String(parallel), '/bytes/4000', String(nUdp)], { encoding: 'utf8', timeout: 120_000 });
  if (cl.status !== 0) throw new Error(`client: ${cl.stderr}`);
  const seen = JSON.parse(cl.stdout);
  await sleep(1200); // libpcap hands packets over in blocks: let the last one go out
  dump.kill('SIGINT');
  await new Promise((r) => dump.on('close', r));
  if (process.env.CAPTURE_DEBUG) process.stderr.write(dumpErr);
  writeFileSync(join(out, 'client.json'), JSON.stringify({ scheduler, weights, servers: topo.servers.map((s) => ({ name: s.name, ip: s.ip })), ...seen }, null, 1) + '\n');
  const destArgs = dests.map((x) => `${x.addr}:${x.port}@${x.weight}`);
  const tcp = pcapToTrace(pcap, { vip: `${topo.vip}:80`, proto: 'tcp', scheduler: scheduler.startsWith('/') ? seenName(log) : scheduler, dests: destArgs });
  writeFileSync(join(out, 'trace.jsonl'), tcp.lines.join('\n') + '\n');
  writeFileSync(join(out, 'live.jsonl'), tcp.live.map((x, n) => JSON.stringify({ n, dest: x })).join('\n') + '\n');
  const udp = pcapToTrace(pcap, { vip: `${topo.vip}:7`, proto: 'udp', scheduler: 'rr', dests: dests.map((x) => `${x.addr}:7`) });
  writeFileSync(join(out, 'trace-udp.jsonl'), udp.lines.join('\n') + '\n');
  writeFileSync(join(out, 'live-udp.jsonl'), udp.live.map((x, n) => JSON.stringify({ n, dest: x })).join('\n') + '\n');
  process.stdout.write(`${out}: ${tcp.stats.connects} TCP connects, ${udp.stats.connects} UDP flows, ${seen.errors} client errors\n`);
} finally {
  cleanup();
}

/** The name a plug-in registered under, from tunvsd's log. */
function seenName(log) {
  const m = /"msg":"scheduler plug-in loaded"[^\n]*"scheduler":"([^"]+)"/.exec(log);
  if (!m) throw new Error(`tunvsd did not report the plug-in: ${log}`);
  return m[1];
}
