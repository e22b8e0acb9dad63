/**
 * tunvsd driven by keepalived.conf (through a tunvsd.conf) in kd-* namespaces: LVS-NAT on a
 * TUN device, three real servers with HTTP_GET checks (delay_loop 1, connect_timeout 1,
 * retry 1, delay_before_retry 1), a sorry server, and a client sending requests all along.
 * Checks: a stopped server leaves the pool in time and no request made after that fails;
 * it comes back when started; inhibit_on_failure keeps it at weight 0; all down → sorry
 * server, one back → traffic returns; SIGHUP: a wrong digest marks a server down, a broken
 * file is refused with file:line and the old configuration keeps running; MISC_CHECK with
 * misc_dynamic sets the weight.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, fixturePath } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { buildDaemonLab, startServer, stopServer, startTunvsd, destWeights, requests, waitFor, waitServed, adm, VIP, TUNVSD } from '../fixtures/daemon-lab.js';
import type { DaemonLab } from '../fixtures/daemon-lab.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
// keepalived's worst case to notice a dead server: one delay_loop to the next check, then
// retry more checks delay_before_retry apart, each taking up to connect_timeout
const DELAY_LOOP = 1;
const RETRY = 1;
const CONNECT_TIMEOUT = 1;
const DELAY_BEFORE_RETRY = 1;
const DETECT_MS = (DELAY_LOOP + RETRY * DELAY_BEFORE_RETRY + (RETRY + 1) * CONNECT_TIMEOUT) * 1000;
const SLACK_MS = 1500; // polling and a loaded 2-core machine

interface KOpts {
  rs2Digest?: string;
  miscFile?: string;
  broken?: boolean;
}

function keepalivedConf(l: DaemonLab, o: KOpts = {}): string {
  const [rs1, rs2, rs3, sorry] = l.servers;
  const http = (url: string): string => `        HTTP_GET {
            url {
                path /
${url}
            }
            connect_timeout ${CONNECT_TIMEOUT}
            retry ${RETRY}
            delay_before_retry ${DELAY_BEFORE_RETRY}
        }`;
  return `! kd test configuration
global_defs {
    enable_script_security
    script_user root
}

virtual_server ${VIP} 80 {
    delay_loop ${DELAY_LOOP}
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server ${sorry!.ip} 80
${o.broken ? '    lb_algo\n    persistence_timeout never\n' : ''}
    real_server ${rs1!.ip} 80 {
        weight 1
${http(`                digest ${md5('rs1\n')}`)}
${
  o.miscFile
    ? `        MISC_CHECK {
            misc_path "/bin/sh -c 'exit $(cat ${o.miscFile})'"
            misc_timeout 2
            misc_dynamic
        }`
    : ''
}
    }
    real_server ${rs2!.ip} 80 {
        weight 1
${http(o.rs2Digest ? `                digest ${o.rs2Digest}` : '                status_code 200')}
    }
    real_server ${rs3!.ip} 80 {
        weight 1
        inhibit_on_failure
${http('                status_code 200')}
    }
}
`;
}

t.test('tunvsd runs keepalived.conf with health checks', { skip: !isRoot() && 'needs root' }, async (t) => {
  const l = buildDaemonLab(t, 3, true);
  const [rs1, rs2, rs3, sorry] = l.servers as [typeof l.servers[0], typeof l.servers[0], typeof l.servers[0], typeof l.servers[0]];
  for (const s of l.servers) await startServer(l, s);
  const kfile = join(l.work, 'keepalived.conf');
  const tfile = join(l.work, 'tunvsd.conf');
  writeFileSync(kfile, keepalivedConf(l));
  writeFileSync(tfile, `# kd test\nkeepalived_conf keepalived.conf\ndevice kd0\nmode tun\nsource_address 10.10.1.1\ncontrol_socket ${l.sock}\n`);

  const ok = spawnSync(process.execPath, [TUNVSD, '--config-test', '-f', tfile], { encoding: 'utf8' });
  t.equal(ok.status, 0, `--config-test accepts it: ${ok.stderr}`);

  const daemon: Child = await startTunvsd(l, tfile);
  const client = l.lab.spawnNode(l.client, fixturePath('fixtures/daemon-client.mjs'), [VIP, '80', '20']);
  await client.json((m) => m.ready === true);
  const key = (s: { ip: string }): string => `${s.ip}:80`;

  await t.test('the pool comes from keepalived.conf', async (t) => {
    const w = await waitFor(() => {
      const m = destWeights(l);
      return m.size === 3 ? m : null;
    }, 5_000, 'three real servers in -L -n');
    t.same([...w.keys()].sort(), [key(rs1), key(rs2), key(rs3)].sort(), 'rs1..rs3, no sorry server');
    const since = Date.now();
    for (const s of [rs1, rs2, rs3]) await waitServed(client, s.name, since);
    t.pass('each real server answers through the VIP');
  });

  await t.test('a stopped server leaves the pool; no later request fails; it comes back', async (t) => {
    const stopAt = Date.now();
    await stopServer(rs1);
    await waitFor(() => !destWeights(l).has(key(rs1)), DETECT_MS + SLACK_MS + 3_000, 'rs1 to leave the pool');
    const left = Date.now();
    t.ok(left - stopAt <= DETECT_MS + SLACK_MS, `left after ${left - stopAt} ms (bound ${DETECT_MS} + ${SLACK_MS} ms)`);
    await waitFor(() => requests(client).filter((r) => r.t0 >= left).length >= 20, 10_000, '20 requests after rs1 left');
    const after = requests(client).filter((r) => r.t0 >= left);
    t.same(after.filter((r) => !r.ok), [], `none of ${after.length} requests made after rs1 left failed`);
    t.notOk(after.some((r) => r.server === 'rs1'), 'none went to rs1');
    t.ok(after.some((r) => r.server === 'rs2') && after.some((r) => r.server === 'rs3'), 'rs2 and rs3 serve');
    const startAt = Date.now();
    await startServer(l, rs1);
    await waitFor(() => destWeights(l).get(key(rs1)) === 1, DETECT_MS + SLACK_MS + 3_000, 'rs1 to return');
    t.pass(`rs1 back in the pool after ${Date.now() - startAt} ms`);
    await waitServed(client, 'rs1', Date.now());
    t.pass('rs1 answers again');
  });

  await t.test('inhibit_on_failure keeps a dead server at weight 0', async (t) => {
    await stopServer(rs3);
    await waitFor(() => destWeights(l).get(key(rs3)) === 0, DETECT_MS + SLACK_MS + 3_000, 'rs3 at weight 0');
    const listing = adm(l, ['-L', '-n']).stdout;
    t.match(listing, new RegExp(`-> ${rs3.ip.replace(/\./g, '\\.')}:80\\s+Masq\\s+0\\s`), `-L -n shows rs3 with weight 0:\n${listing}`);
    const since = Date.now();
    await waitFor(() => requests(client).filter((r) => r.t0 >= since).length >= 15, 10_000, '15 requests');
    const after = requests(client).filter((r) => r.t0 >= since);
    t.same(after.filter((r) => !r.ok || r.server === 'rs3'), [], 'no failure, nothing to rs3');
    await startServer(l, rs3);
    await waitFor(() => destWeights(l).get(key(rs3)) === 1, DETECT_MS + SLACK_MS + 3_000, 'rs3 at weight 1');
    t.pass('rs3 back at weight 1');
  });

  await t.test('all real servers down: the sorry server answers; one back: traffic returns', async (t) => {
    await Promise.all([stopServer(rs1), stopServer(rs2), stopServer(rs3)]);
    const w = await waitFor(() => {
      const m = destWeights(l);
      return m.get(key(sorry)) === 1 && !m.has(key(rs1)) && !m.has(key(rs2)) ? m : null;
    }, DETECT_MS + SLACK_MS + 3_000, 'the sorry server in the pool');
    t.equal(w.get(key(rs3)), 0, 'rs3 stays at weight 0 (inhibit_on_failure)');
    await waitServed(client, 'sorry', Date.now());
    t.pass('the sorry server answers');
    await startServer(l, rs2);
    await waitFor(() => {
      const m = destWeights(l);
      return m.get(key(rs2)) === 1 && !m.has(key(sorry));
    }, DETECT_MS + SLACK_MS + 3_000, 'rs2 back, sorry server out');
    const back = Date.now();
    await waitServed(client, 'rs2', back);
    await waitFor(() => requests(client).filter((r) => r.t0 >= back).length >= 10, 10_000, '10 requests');
    t.same(
      requests(client).filter((r) => r.t0 >= back && (!r.ok || r.server !== 'rs2')),
      [],
      'after rs2 returned every request is answered by rs2',
    );
    await Promise.all([startServer(l, rs1), startServer(l, rs3)]);
    await waitFor(() => {
      const m = destWeights(l);
      return m.get(key(rs1)) === 1 && m.get(key(rs3)) === 1;
    }, DETECT_MS + SLACK_MS + 3_000, 'rs1 and rs3 back');
  });

  await t.test('SIGHUP: a wrong digest marks a server down; a broken file keeps the old configuration', async (t) => {
    const from = daemon.stderr.length;
    writeFileSync(kfile, keepalivedConf(l, { rs2Digest: md5('not rs2\n') }));
    daemon.proc.kill('SIGHUP');
    const reloadAt = Date.now();
    await waitFor(() => daemon.stderr.slice(from).includes('configuration reloaded'), 5_000, 'the reload');
    await waitFor(() => !destWeights(l).has(key(rs2)), DETECT_MS + SLACK_MS + 3_000, 'rs2 to leave (wrong digest)');
    t.pass(`rs2 down after ${Date.now() - reloadAt} ms`);
    const w = destWeights(l);
    t.same([...w.keys()].sort(), [key(rs1), key(rs3)].sort(), 'rs1 and rs3 untouched');
    const why = await waitFor(() => daemon.stderr.slice(from).split('\n').find((x) => x.includes('health rs-down') && x.includes(rs2.ip)), 3_000, 'the rs-down log line');
    t.match(why, /digest/i, `the log says why: ${why}`);
    const reqs = requests(client).filter((r) => r.t0 >= reloadAt);
    t.same(reqs.filter((r) => !r.ok && r.server !== null), [], 'no request answered with an error');

    const from2 = daemon.stderr.length;
    const before = [...destWeights(l)].sort();
    writeFileSync(kfile, keepalivedConf(l, { broken: true }));
    const bad = spawnSync(process.execPath, [TUNVSD, '--config-test', '-f', tfile], { encoding: 'utf8' });
    t.equal(bad.status, 2, 'tunvsd --config-test exits 2 like keepalived (lb_algo is missing its parameter)');
    t.match(bad.stderr, /keepalived\.conf:\d+: error: /, `file:line messages:\n${bad.stderr}`);
    daemon.proc.kill('SIGHUP');
    const log = await waitFor(() => {
      const s = daemon.stderr.slice(from2);
      return s.includes('reload failed') ? s : null;
    }, 5_000, 'the reload to be refused');
    t.match(log, /keepalived\.conf:\d+: error: /, 'the error names file and line');
    t.equal(daemon.exitCode, null, 'tunvsd still runs');
    t.same([...destWeights(l)].sort(), before, 'the table is unchanged');
  });

  await t.test('MISC_CHECK with misc_dynamic sets the weight', async (t) => {
    const wfile = join(l.work, 'rs1-weight');
    writeFileSync(wfile, '5\n'); // exit 5 → weight 3
    writeFileSync(kfile, keepalivedConf(l, { rs2Digest: md5('rs2\n'), miscFile: wfile }));
    daemon.proc.kill('SIGHUP');
    await waitFor(() => destWeights(l).get(key(rs1)) === 3, 8_000, 'rs1 at weight 3');
    t.pass('exit 5 → weight 3');
    writeFileSync(wfile, '2\n'); // exit 2 → weight 0
    await waitFor(() => destWeights(l).get(key(rs1)) === 0, 8_000, 'rs1 at weight 0');
    t.pass('exit 2 → weight 0');
    writeFileSync(wfile, '6\n');
    await waitFor(() => destWeights(l).get(key(rs1)) === 4, 8_000, 'rs1 at weight 4');
    t.pass('exit 6 → weight 4');
    const w = await waitFor(() => {
      const m = destWeights(l);
      return m.get(key(rs2)) === 1 ? m : null;
    }, DETECT_MS + SLACK_MS + 3_000, 'rs2 back with the right digest');
    t.equal(w.get(key(rs2)), 1, 'the right digest brings rs2 back');
  });

  await client.stop();
  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.wait(5_000), 0, 'tunvsd exits 0 on SIGTERM');
});
