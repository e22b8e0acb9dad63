/**
 * Issue 7 end to end in kd-* namespaces: tunvsd started with a JSON configuration without
 * services, a NAT service configured entirely with tunvsadm (ipvsadm syntax), real HTTP
 * traffic, the listings (-L -n, --stats, -L -c -n), a long transfer across a SIGHUP reload
 * (the JSON file edited to change a weight), concurrent tunvsadm commands, and
 * save → clear → restore.
 */
import t from 'tap';
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, fixturePath } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { buildDaemonLab, startServer, startTunvsd, destWeights, waitFor, adm, VIP, TUNVSADM } from '../fixtures/daemon-lab.js';
import type { DaemonLab } from '../fixtures/daemon-lab.js';

const CLIENT = fixturePath('fixtures/lab-client.mjs');

function clientHttp(l: DaemonLab, n: number): { counts: Record<string, number>; errors: number } {
  const r = spawnSync('ip', ['netns', 'exec', l.client, process.execPath, CLIENT, 'http', VIP, '80', String(n)], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { counts: Record<string, number>; errors: number };
}

/** Run tunvsadm asynchronously (for concurrent commands). */
function admAsync(l: DaemonLab, args: string[], input?: string): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TUNVSADM, ...args], { env: { ...process.env, TUNVS_SOCKET: l.sock }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ status: code ?? 1, stderr: err }));
    p.stdin.end(input ?? '');
  });
}

const ok = (t: Test, l: DaemonLab, args: string[], input?: string): string => {
  const r = adm(l, args, input);
  t.equal(r.status, 0, `tunvsadm ${args.join(' ')} ${r.stderr}`);
  return r.stdout;
};

t.test('a NAT service configured with tunvsadm only', { skip: !isRoot() && 'needs root' }, async (t) => {
  const l = buildDaemonLab(t, 3, false);
  for (const s of l.servers) await startServer(l, s);
  const conf = join(l.work, 'tunvsd.json');
  const base = { device: { name: 'kd0', kind: 'tun' }, sourceAddress: '10.10.1.1', socket: l.sock };
  writeFileSync(conf, JSON.stringify({ ...base, services: [] }, null, 2));
  const daemon: Child = await startTunvsd(l, conf);
  t.equal(adm(l, ['-S', '-n']).stdout, '', 'no service at start');

  await t.test('configure, serve, list', async (t) => {
    ok(t, l, ['-A', '-t', `${VIP}:80`, '-s', 'wlc']);
    for (const s of l.servers) ok(t, l, ['-a', '-t', `${VIP}:80`, '-r', `${s.ip}:80`, '-m', '-w', '2']);
    const res = clientHttp(l, 30);
    t.equal(res.errors, 0, 'no failed request');
    t.same(Object.keys(res.counts).sort(), ['rs1', 'rs2', 'rs3'], `every real server answered: ${JSON.stringify(res.counts)}`);
    const list = ok(t, l, ['-L', '-n']);
    t.match(list, /TCP {2}10\.10\.0\.100:80 wlc/, '-L -n: the service');
    for (const s of l.servers) t.match(list, new RegExp(`-> ${s.ip.replace(/\./g, '\\.')}:80\\s+Masq\\s+2\\s`), `-L -n: ${s.name} Masq weight 2`);
    const stats = ok(t, l, ['-L', '-n', '--stats']);
    const m = /TCP {2}10\.10\.0\.100:80\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(stats);
    t.ok(m && Number(m[1]) >= 30, `--stats: ${m?.[1]} connections, >= 30:\n${stats}`);
    t.ok(m && Number(m[2]) > 0 && Number(m[3]) > 0, 'packets counted both ways');
    const conns = ok(t, l, ['-L', '-c', '-n']);
    const entries = conns.split('\n').filter((x) => /^TCP\s+\S+\s+\S+\s+10\.10\.0\.2:\d+\s+10\.10\.0\.100:80\s+10\.10\.1\.1[123]:80/.test(x));
    t.ok(entries.length > 0, `-L -c -n lists the client's connections (${entries.length}):\n${conns.split('\n').slice(0, 4).join('\n')}`);
  });

  await t.test('a long transfer survives a SIGHUP reload that changes a weight', async (t) => {
    const BYTES = 40_000_000;
    const get = l.lab.spawnNode(l.client, CLIENT, ['get', VIP, '80', `/bytes/${BYTES}`]);
    await waitFor(() => get.stderr.includes('started'), 10_000, 'the transfer to start');
    const from = daemon.stderr.length;
    const services = [
      {
        protocol: 'tcp',
        addr: VIP,
        port: 80,
        scheduler: 'wlc',
        dests: l.servers.map((s, i) => ({ addr: s.ip, port: 80, method: 'masq', weight: i === 0 ? 5 : 2 })),
      },
    ];
    writeFileSync(conf, JSON.stringify({ ...base, services }, null, 2));
    daemon.proc.kill('SIGHUP');
    await waitFor(() => daemon.stderr.slice(from).includes('configuration reloaded'), 5_000, 'the reload');
    t.equal(get.lines.length, 0, 'the transfer was still running at the reload');
    t.equal(destWeights(l).get(`${l.servers[0]!.ip}:80`), 5, 'rs1 weight 5 after the reload');
    t.match(daemon.stderr.slice(from), /"action":"edit-dest"/, 'one edit-dest');
    t.notMatch(daemon.stderr.slice(from), /"action":"(add|delete)-/, 'nothing added or deleted');
    const r = await get.json<{ bytes: number; errors: number; server: string }>((m) => typeof m.bytes === 'number', 40_000);
    t.equal(r.errors, 0, 'no error');
    t.equal(r.bytes, BYTES, `all ${BYTES} bytes from ${r.server}`);
  });

  await t.test('two tunvsadm commands at once leave a consistent table', async (t) => {
    const [rs1, rs2, rs3] = l.servers as [(typeof l.servers)[0], (typeof l.servers)[0], (typeof l.servers)[0]];
    const batchA = [`-A -t ${VIP}:8080 -s rr`, ...l.servers.map((s) => `-a -t ${VIP}:8080 -r ${s.ip}:8080 -m -w 1`)].join('\n') + '\n';
    const batchB = [`-A -u ${VIP}:53 -s rr`, ...l.servers.map((s) => `-a -u ${VIP}:53 -r ${s.ip}:53 -m -w 1`)].join('\n') + '\n';
    const rs = await Promise.all([admAsync(l, ['-R'], batchA), admAsync(l, ['-R'], batchB)]);
    t.same(rs.map((r) => r.status), [0, 0], `both restores succeed ${rs.map((r) => r.stderr).join(' ')}`);
    // the same destination edited by two commands at once, five times
    for (let i = 0; i < 5; i++) {
      const [a, b] = await Promise.all([
        admAsync(l, ['-e', '-t', `${VIP}:80`, '-r', `${rs2.ip}:80`, '-m', '-w', String(10 + i)]),
        admAsync(l, ['-e', '-t', `${VIP}:80`, '-r', `${rs3.ip}:80`, '-m', '-w', String(20 + i)]),
      ]);
      t.equal(a!.status + b!.status, 0, `round ${i}: both edits succeed`);
    }
    const saved = adm(l, ['-S', '-n']).stdout.trim().split('\n').sort();
    const want = [
      `-A -t ${VIP}:80 -s wlc`,
      `-a -t ${VIP}:80 -r ${rs1.ip}:80 -m -w 5`,
      `-a -t ${VIP}:80 -r ${rs2.ip}:80 -m -w 14`,
      `-a -t ${VIP}:80 -r ${rs3.ip}:80 -m -w 24`,
      `-A -t ${VIP}:8080 -s rr`,
      ...l.servers.map((s) => `-a -t ${VIP}:8080 -r ${s.ip}:8080 -m -w 1`),
      `-A -u ${VIP}:53 -s rr`,
      ...l.servers.map((s) => `-a -u ${VIP}:53 -r ${s.ip}:53 -m -w 1`),
    ].sort();
    t.same(saved, want, 'the table holds exactly both batches and the last edits');
  });

  await t.test('save, clear, restore reproduces the table', async (t) => {
    const saved = ok(t, l, ['-S', '-n']);
    ok(t, l, ['-C']);
    t.equal(adm(l, ['-S', '-n']).stdout, '', 'empty after -C');
    t.notMatch(ok(t, l, ['-L', '-n']), /TCP|UDP/, '-L -n lists no service');
    ok(t, l, ['-R'], saved);
    t.equal(adm(l, ['-S', '-n']).stdout, saved, '-S -n after -R equals the saved rules');
    const res = clientHttp(l, 12);
    t.equal(res.errors, 0, 'traffic flows after the restore');
  });

  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.wait(5_000), 0, 'tunvsd exits 0 on SIGTERM');
});
