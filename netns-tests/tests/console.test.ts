/**
 * tunvsd's HTTP server in lco-* namespaces with real traffic: a real Prometheus scrapes
 * /metrics and a counter comes back through its HTTP API; Debian's chromium (headless,
 * driven by playwright-core) logs in to the console, sees live counters rise, changes a
 * weight (then `tunvsadm -L -n` shows it), quiesces a server (new connections avoid it),
 * sees nginx stopped on a real server turn its health red within delay_loop + 1 s; saves keepalived.conf once; CSRF-less and
 * unauthenticated mutations are refused; keyboard navigation and labels work.
 * Screenshots go to .tap/console-screenshots/ (not committed).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, fixturePath } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { buildDaemonLab, startServer, stopServer, destWeights, requests, waitFor, DEVICE, VIP, ROOT } from '../fixtures/daemon-lab.js';
import type { DaemonLab, RealServer } from '../fixtures/daemon-lab.js';

const haveNginx = spawnSync('nginx', ['-v']).status === 0;

/** nginx in a real server's namespace, answering `/` with the server's name (as rs-service does); one process (master_process off), so the lab's kill at cleanup leaves no worker holding its pipes. */
async function startNginx(l: DaemonLab, rs: RealServer): Promise<void> {
  const prefix = join(l.work, `nginx-${rs.name}`);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;\nmaster_process off;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n  client_body_temp_path ${prefix}/body;\n  proxy_temp_path ${prefix}/proxy;\n  fastcgi_temp_path ${prefix}/fastcgi;\n  uwsgi_temp_path ${prefix}/uwsgi;\n  scgi_temp_path ${prefix}/scgi;\n  server {\n    listen ${rs.ip}:80;\n    default_type text/plain;\n    location / { return 200 "${rs.name}\\n"; }\n  }\n}\n`,
  );
  rs.proc = l.lab.spawn(rs.ns, 'nginx', ['-p', prefix, '-c', conf], `nginx-${rs.name}`);
  await waitFor(() => l.lab.exec(rs.ns, 'curl', ['-s', '-m', '1', `http://${rs.ip}/`]).stdout === `${rs.name}\n` || rs.proc!.exitCode !== null, 10_000, `nginx on ${rs.name}`);
  if (rs.proc.exitCode !== null) throw new Error(`nginx on ${rs.name} exited: ${rs.proc.stderr}${readFileSync(join(prefix, 'error.log'), 'utf8')}`);
}


const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const havePrometheus = spawnSync('prometheus', ['--version']).status === 0;
const BRIDGE = join(ROOT, 'scripts/lab.d/console-bridge.mjs');
const CONSOLE_BIN = join(ROOT, 'packages/console/dist/bin/tunvs-console.js');
const TUNVSD = join(ROOT, 'packages/daemon/dist/bin/tunvsd.js');
const SHOTS = join(ROOT, '.tap', 'console-screenshots');
const DELAY_LOOP = 1;
const HTTP_PORT = 9280;
const HOST_PORT = 19280 + (process.pid % 1000);

const skip = !isRoot() ? 'needs root' : !haveChromium ? 'chromium not installed (Debian package chromium)' : !havePrometheus ? 'prometheus not installed (Debian package prometheus)' : !haveNginx ? 'nginx not installed (Debian package nginx)' : false;

t.test('console and metrics against tunvsd with real traffic', { skip }, async (t) => {
  const { chromium } = await import('playwright-core');
  const l = buildDaemonLab(t, 3, false, 'lco');
  const [rs1, rs2, rs3] = l.servers as [(typeof l.servers)[0], (typeof l.servers)[0], (typeof l.servers)[0]];
  // rs3 runs nginx: the health test stops it
  await Promise.all([startServer(l, rs1), startServer(l, rs2), startNginx(l, rs3)]);
  const passwd = join(l.work, 'console.passwd');
  const pw = spawnSync(process.execPath, [CONSOLE_BIN, 'passwd', '-f', passwd, 'admin', '--random'], { encoding: 'utf8' });
  t.equal(pw.status, 0, `tunvs-console passwd: ${pw.stderr}`);
  const password = pw.stdout.trim();
  writeFileSync(
    join(l.work, 'keepalived.conf'),
    `# the lab's web farm (written by hand: comments stay when the console saves)
virtual_server ${VIP} 80 {
    delay_loop ${DELAY_LOOP}
    lb_algo wrr
    lb_kind NAT
    protocol TCP
${l.servers.map((s, i) => `    real_server ${s.ip} 80 {\n        weight ${i + 1}\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }`).join('\n')}
}
`,
  );
  // a tunvsd.conf, the HTTP server enabled from the command line (the way for every form)
  const conf = join(l.work, 'tunvsd.conf');
  writeFileSync(conf, `keepalived_conf keepalived.conf\ndevice ${DEVICE}\nmode tun\ncontrol_socket ${l.sock}\nsource_address 10.10.1.1\n`);
  const daemon: Child = l.lab.spawn(l.dir, process.execPath, [TUNVSD, '-f', conf, '--http', `127.0.0.1:${HTTP_PORT}`, '--http-password-file', passwd], 'tunvsd');
  await waitFor(() => daemon.stderr.includes('http server ready') || daemon.exitCode !== null, 15_000, 'the http server');
  t.equal(daemon.exitCode, null, `tunvsd runs: ${daemon.exitCode === null ? '' : daemon.stderr}`);

  // Prometheus and chromium start while the rest gets ready (their start-up is most of the wait)
  const promDir = join(l.work, 'prom');
  mkdirSync(promDir);
  writeFileSync(join(promDir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tunvs\n    static_configs:\n      - targets: ['127.0.0.1:${HTTP_PORT}']\n`);
  const prom = l.lab.spawn(l.dir, 'prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, '--web.listen-address=127.0.0.1:9090'], 'prometheus');
  t.teardown(() => prom.kill());
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => (await launching).close());

  const client = l.lab.spawnNode(l.client, fixturePath('fixtures/daemon-client.mjs'), [VIP, '80', '30']);
  await client.json((m) => m.ready === true);

  await t.test('a real Prometheus scrapes /metrics and answers a query for a counter', async (t) => {
    const query = (q: string): { value: number; metric: Record<string, string> }[] => {
      const r = l.lab.exec(l.dir, 'curl', ['-s', '-m', '2', '--data-urlencode', `query=${q}`, 'http://127.0.0.1:9090/api/v1/query']);
      try {
        const j = JSON.parse(r.stdout) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        return j.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
      } catch {
        return [];
      }
    };
    const conns = await waitFor(() => {
      const r = query('node_ipvs_connections_total');
      return r.length === 1 && r[0]!.value > 0 ? r[0]! : null;
    }, 20_000, 'node_ipvs_connections_total > 0 in Prometheus');
    t.ok(conns.value > 0, `Prometheus has node_ipvs_connections_total = ${conns.value}`);
    t.equal(conns.metric.job, 'tunvs');
    const weights = await waitFor(() => {
      const r = query('node_ipvs_backend_weight');
      return r.length === 3 ? r : null;
    }, 10_000, 'three backend weights');
    t.same(weights.map((w) => `${w.metric.remote_address}=${w.value}`).sort(), [`${rs1.ip}=1`, `${rs2.ip}=2`, `${rs3.ip}=3`], 'weights as configured, with node_exporter labels');
    const up = await waitFor(() => {
      const r = query('tunvs_realserver_up');
      return r.length === 3 ? r : null;
    }, 10_000, 'tunvs_realserver_up');
    t.same(up.map((x) => x.value), [1, 1, 1], 'every real server up');
    const raw = l.lab.exec(l.dir, 'curl', ['-s', `http://127.0.0.1:${HTTP_PORT}/metrics`]).stdout;
    const pt = spawnSync('promtool', ['check', 'metrics'], { input: raw, encoding: 'utf8' });
    t.equal(pt.status, 0, `promtool check metrics on the live output: ${pt.stdout}${pt.stderr}`);
  });

  // the console, seen from the host through a Unix-socket bridge
  const inner = l.lab.spawn(l.dir, process.execPath, [BRIDGE, 'unix-to-tcp', join(l.work, 'console.sock'), `127.0.0.1:${HTTP_PORT}`], 'bridge-in');
  await inner.line((s) => s.includes('ready'), 5_000);
  const outer = l.lab.spawn(null, process.execPath, [BRIDGE, 'tcp-to-unix', `127.0.0.1:${HOST_PORT}`, join(l.work, 'console.sock')], 'bridge-out');
  await outer.line((s) => s.includes('ready'), 5_000);
  const base = `http://127.0.0.1:${HOST_PORT}`;
  mkdirSync(SHOTS, { recursive: true });

  const browser = await launching;
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();

  await t.test('log in; a wrong password is refused', async (t) => {
    await page.goto(`${base}/login`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user or password' }).waitFor({ timeout: 5_000 });
    t.pass('wrong password refused');
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/`, { timeout: 5_000 });
    t.pass('logged in with the generated password');
  });

  await t.test('the demo service and its three real servers, with counters rising while traffic runs', async (t) => {
    const svc = page.locator(`tbody[data-service="tcp:${VIP}:80"]`);
    await svc.waitFor({ timeout: 5_000 });
    t.equal(await svc.locator('tr.dest').count(), 3, 'three real servers');
    const conns = async (): Promise<number> => Number((await svc.locator('tr.svc [data-field="conns"]').textContent())!.replace(/[^0-9.]/g, ''));
    const before = await conns();
    // the page refreshes every sample (1 s): wait for the next rise, not a fixed time
    let after = before;
    const until = Date.now() + 10_000;
    while (after <= before && Date.now() < until) {
      await page.waitForTimeout(200);
      after = await conns();
    }
    t.ok(after > before, `the connection counter rises on the page without reload: ${before} → ${after}`);
    t.match(await svc.locator('tr.svc .age').first().textContent(), /s ago/, 'figures show their age');
    await page.screenshot({ path: join(SHOTS, 'status.png'), fullPage: true });
  });

  await t.test('change a weight in the page; tunvsadm -L -n shows it', async (t) => {
    await page.goto(`${base}/real`);
    await page.screenshot({ path: join(SHOTS, 'real-servers.png'), fullPage: true });
    await page.getByLabel(`Weight of ${rs1.ip}:80`).fill('5');
    await page.locator(`tr[data-dest="${rs1.ip}:80"]`).getByRole('button', { name: 'Set weight' }).click();
    await page.getByRole('status').filter({ hasText: 'weight 5' }).waitFor({ timeout: 5_000 });
    t.equal(destWeights(l).get(`${rs1.ip}:80`), 5, 'tunvsadm -L -n shows weight 5');
  });

  await t.test('quiesce a server: new connections avoid it and its row says so', async (t) => {
    await page.getByRole('button', { name: `Quiesce ${rs2.ip}:80` }).click();
    await page.getByRole('status').filter({ hasText: 'quiesced' }).waitFor({ timeout: 5_000 });
    const since = Date.now();
    t.match(await page.locator(`tr[data-dest="${rs2.ip}:80"] [data-field="state"]`).textContent(), /quiesced/, 'the row says quiesced');
    t.equal(destWeights(l).get(`${rs2.ip}:80`), 0, 'weight 0 in tunvsadm -L -n');
    await waitFor(() => requests(client).filter((r) => r.t0 > since + 200).length >= 20, 15_000, '20 requests after quiescing');
    const after = requests(client).filter((r) => r.t0 > since + 200);
    t.equal(after.filter((r) => r.server === 'rs2').length, 0, `none of ${after.length} new connections went to rs2`);
    t.ok(after.every((r) => r.ok), 'all answered');
    await page.getByRole('button', { name: `Bring back ${rs2.ip}:80` }).click();
    await page.getByRole('status').filter({ hasText: 'back at weight 2' }).waitFor({ timeout: 5_000 });
    t.equal(destWeights(l).get(`${rs2.ip}:80`), 2, 'back at its weight');
  });

  await t.test(`nginx stopped on a real server: its health turns red within delay_loop + 1 s`, async (t) => {
    await page.goto(`${base}/`);
    const cell = page.locator(`tbody[data-service="tcp:${VIP}:80"] tr[data-dest="${rs3.ip}:80"] [data-field="health"]`);
    await cell.filter({ hasText: 'up' }).waitFor({ timeout: 5_000 });
    await stopServer(rs3);
    const stopped = Date.now();
    await page.locator(`tbody[data-service="tcp:${VIP}:80"] tr[data-dest="${rs3.ip}:80"] .health.down`).waitFor({ timeout: 10_000 });
    const took = Date.now() - stopped;
    t.ok(took <= (DELAY_LOOP + 1) * 1000, `red after ${took} ms (bound ${(DELAY_LOOP + 1) * 1000} ms)`);
    await page.screenshot({ path: join(SHOTS, 'status-rs3-down.png'), fullPage: true });
    await page.goto(`${base}/health`);
    await page.screenshot({ path: join(SHOTS, 'health-checks.png'), fullPage: true });
    t.match(await page.locator(`tr[data-dest="${rs3.ip}:80"]`).first().textContent(), /failed: .*(refused|ECONNREFUSED)/i, 'the last error says why');
    await startNginx(l, rs3);
  });

  await t.test('a CSRF-less POST and an unauthenticated API mutation are refused', async (t) => {
    const noCsrf = await page.request.post(`${base}/ui/dest/weight`, { form: { service: `tcp:${VIP}:80`, dest: `${rs1.ip}:80`, weight: '9' } });
    t.equal(noCsrf.status(), 403, 'form POST with the session cookie but no CSRF token: 403');
    const anon = await fetch(`${base}/api/services/${encodeURIComponent(`tcp:${VIP}:80`)}/dests/${rs1.ip}:80/weight`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 9 }),
    });
    t.equal(anon.status, 401, 'API mutation without authentication: 401');
    t.equal(destWeights(l).get(`${rs1.ip}:80`), 5, 'the weight stayed 5');
  });

  await t.test('Save to configuration: the diff, then keepalived.conf written with the new weight and its comment kept', async (t) => {
    const kconf = join(l.work, 'keepalived.conf');
    await page.goto(`${base}/save`);
    const diff = await page.getByLabel('Changes to the file').textContent();
    t.match(diff, /^-\s+weight 1$/m, 'the diff shows the old weight');
    t.match(diff, /^\+\s+weight 5$/m, 'and the new one');
    await page.screenshot({ path: join(SHOTS, 'save.png'), fullPage: true });
    await page.getByRole('button', { name: `Write ${kconf}` }).click();
    await page.getByRole('status').filter({ hasText: 'written' }).waitFor({ timeout: 5_000 });
    const text = readFileSync(kconf, 'utf8');
    t.match(text, /^# the lab's web farm \(written by hand/m, 'the comment is kept');
    t.match(text, new RegExp(`real_server ${rs1.ip.replace(/\./g, '\\.')} 80 \\{\\n\\s+weight 5\\n`), 'rs1 at weight 5 in the file');
    await page.goto(`${base}/save`);
    await page.getByText('nothing to save').waitFor({ timeout: 5_000 });
    t.pass('nothing left to save');
  });

  await t.test('keyboard navigation and form labels', async (t) => {
    await page.goto(`${base}/`);
    let reached = false;
    for (let i = 0; i < 12 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate("document.activeElement ? document.activeElement.textContent : ''")) === 'Real servers';
    }
    t.ok(reached, 'Tab reaches the Real servers tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/real`, { timeout: 5_000 });
    t.pass('Enter follows it');
    for (const path of ['/real', '/virtual', '/settings']) {
      await page.goto(`${base}${path}`);
      const unlabelled = await page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), select')].filter((e) => !e.labels || e.labels.length === 0).map((e) => e.outerHTML)",
      );
      t.same(unlabelled, [], `every field on ${path} has a label`);
    }
    await page.goto(`${base}/virtual`);
    await page.screenshot({ path: join(SHOTS, 'virtual-servers.png'), fullPage: true });
    await page.goto(`${base}/settings`);
    await page.screenshot({ path: join(SHOTS, 'settings.png'), fullPage: true });
  });

  const log = daemon.stderr.split('\n').filter((x) => x.includes('console mutation'));
  t.ok(log.some((x) => x.includes('"user":"admin"') && x.includes('"op":"editDest"')), 'mutations logged as JSON with the user');
  await client.stop();
  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.wait(5_000), 0, 'tunvsd exits 0 on SIGTERM');
});
