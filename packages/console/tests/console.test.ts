/**
 * The console server on an in-memory Director (no root): /metrics passes promtool, login
 * (a wrong password refused, failures rate-limited), CSRF-less and unauthenticated
 * mutations refused, a bearer token mutates through the control path with the kernel's
 * error codes, mutations are logged with the user, quiesce/restore, save with a diff.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { reasonName } from '@tunvs/packet';
import { dispatchRequest } from '@tunvs/cli';
import { Feeds, Metrics } from '@tunvs/metrics';
import type { VrrpInstanceStats } from '@tunvs/metrics';
import { buildConsole, checkHttpFiles, Credentials, hashPassword, hashToken, setCredential, parseHttpConfig } from '../src/index.js';
import type { ControlAnswer } from '../src/index.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

async function setup(t: { teardown(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'lco-console-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const passwd = join(dir, 'passwd');
  const tokens = join(dir, 'tokens');
  setCredential(passwd, 'admin', await hashPassword('correct horse'));
  setCredential(tokens, 'robot', hashToken('tok-123456'));
  const confFile = join(dir, 'tunvsd.json');
  writeFileSync(confFile, '{\n  // the device\n  "device": { "name": "tunvs0" },\n  "services": []\n}\n');
  const link = new MemoryLink('tun');
  const director = new Director({ links: [link], timers: false });
  const vs = { protocol: 'tcp' as const, addr: '10.10.0.100', port: 80 };
  director.addService({ ...vs, scheduler: 'wlc' });
  for (const [i, a] of ['10.10.1.11', '10.10.1.12', '10.10.1.13'].entries()) director.addDest(vs, { addr: a, port: 80, method: 'masq', weight: i + 1 });
  const feeds = new Feeds();
  const metrics = new Metrics({ director, links: () => [link], feeds, reasonName, version: 'test', inline: true });
  const logs: Record<string, unknown>[] = [];
  const cfg = parseHttpConfig({ listen: '127.0.0.1:9999', passwordFile: passwd, tokenFile: tokens }, confFile);
  const { app, sampler } = await buildConsole(cfg, {
    metrics,
    health: null,
    feeds,
    control: async (op, args) => {
      const r = await dispatchRequest(director, { id: 0, op, args });
      return (r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error }) as ControlAnswer;
    },
    connections: () => director.listConnections(),
    info: () => ({ configFile: confFile, configKind: 'json', keepalivedConf: null, managed: new Set(), switches: {}, version: 'test', schedulers: ['rr', 'wlc'] }),
    log: (level, msg, fields) => logs.push({ level, msg, ...fields }),
    defense: () => director.getDefense(),
  });
  t.teardown(async () => {
    sampler.stop();
    await app.close();
  });
  return { app, director, vs, logs, confFile, feeds, metrics, dir };
}

async function login(app: Awaited<ReturnType<typeof setup>>['app'], user: string, password: string) {
  const r = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ user, password }).toString() });
  const cookie = String(r.headers['set-cookie'] ?? '').split(';')[0] ?? '';
  let csrf = '';
  if (cookie) {
    const page = await app.inject({ url: '/', headers: { cookie } });
    csrf = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1] ?? '';
  }
  return { r, cookie, csrf };
}

t.test('/metrics: node_ipvs_* with node_exporter names and labels; promtool accepts it', async (t) => {
  const { app, feeds } = await setup(t);
  const vrrp: VrrpInstanceStats = {
    name: 'VI_1', vrid: 51, interface: 'eth0', version: 2, state: 'MASTER', basePriority: 100, effectivePriority: 110, advertInterval: 1,
    peers: [], vips: ['10.10.0.100'], advertsSent: 12, advertsReceived: 3, discarded: { ttl: 1 }, becameMaster: 1, releasedMaster: 0,
    priorityZeroSent: 0, priorityZeroReceived: 0, transitions: 2, lastTransition: Date.now(),
  };
  let r = await app.inject('/metrics');
  t.equal(r.statusCode, 200);
  t.match(r.headers['content-type'], /text\/plain; version=0\.0\.4/);
  t.notMatch(r.body, /tunvs_vrrp_state\{/, 'no VRRP samples before a runtime registers');
  feeds.setVrrp({ instances: () => [vrrp], syncGroups: () => [] });
  r = await app.inject('/metrics');
  t.match(r.body, '# HELP node_ipvs_backend_weight The current backend weight by local and remote address.\n# TYPE node_ipvs_backend_weight gauge\n');
  t.match(r.body, 'node_ipvs_backend_weight{local_address="10.10.0.100",local_mark="",local_port="80",proto="TCP",remote_address="10.10.1.13",remote_port="80"} 3');
  t.match(r.body, '# TYPE node_ipvs_connections_total counter\nnode_ipvs_connections_total 0');
  t.match(r.body, 'tunvs_vrrp_state{instance="VI_1",vrid="51",interface="eth0"} 2');
  t.match(r.body, 'tunvs_vrrp_adverts_discarded_total{instance="VI_1",vrid="51",interface="eth0",reason="ttl"} 1');
  t.match(r.body, 'tunvs_conntrack_capacity 262144');
  const body = r.body;
  await t.test('promtool check metrics', { skip: !hasPromtool && 'promtool not installed (Debian package prometheus)' }, async (t) => {
    const p = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    t.equal(p.status, 0, `promtool check metrics: ${p.stdout}${p.stderr}`);
  });
});

t.test('login: wrong password refused, right one gives an HttpOnly SameSite=Strict session; failures rate-limited', async (t) => {
  const { app, logs } = await setup(t);
  const bad = await login(app, 'admin', 'wrong password');
  t.equal(bad.r.statusCode, 401, 'wrong password: 401');
  t.equal(bad.cookie, '', 'no session cookie');
  const anon = await app.inject('/');
  t.equal(anon.statusCode, 303, 'pages redirect to the login');
  const ok = await login(app, 'admin', 'correct horse');
  t.equal(ok.r.statusCode, 303);
  t.match(String(ok.r.headers['set-cookie']), /HttpOnly/);
  t.match(String(ok.r.headers['set-cookie']), /SameSite=Strict/);
  const page = await app.inject({ url: '/', headers: { cookie: ok.cookie } });
  t.equal(page.statusCode, 200);
  t.match(page.body, '10.10.1.12:80');
  for (let i = 0; i < 5; i++) await login(app, 'admin', `nope ${i}`);
  const limited = await login(app, 'admin', 'correct horse');
  t.equal(limited.r.statusCode, 429, 'after 5 failures even the right password waits');
  t.ok(Number(limited.r.headers['retry-after']) > 0, 'Retry-After given');
  t.ok(logs.some((l) => l.msg === 'console login failed' && l.user === 'admin'), 'failures logged');
});

t.test('mutations: refused without authentication or CSRF token; with them, applied and logged', async (t) => {
  const { app, director, vs, logs } = await setup(t);
  const key = encodeURIComponent('tcp:10.10.0.100:80');
  const unauth = await app.inject({ method: 'POST', url: `/api/services/${key}/dests/10.10.1.11:80/weight`, payload: { weight: 7 } });
  t.equal(unauth.statusCode, 401, 'API mutation without authentication: 401');
  const badTok = await app.inject({ method: 'POST', url: `/api/services/${key}/dests/10.10.1.11:80/weight`, payload: { weight: 7 }, headers: { authorization: 'Bearer nope' } });
  t.equal(badTok.statusCode, 401, 'wrong token: 401');
  const s = await login(app, 'admin', 'correct horse');
  const form = { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie };
  const noCsrf = await app.inject({ method: 'POST', url: '/ui/dest/weight', headers: form, payload: 'service=tcp%3A10.10.0.100%3A80&dest=10.10.1.11%3A80&weight=7' });
  t.equal(noCsrf.statusCode, 403, 'form POST without the CSRF token: 403');
  const crossSite = await app.inject({ method: 'POST', url: '/ui/dest/weight', headers: { ...form, origin: 'http://evil.example' }, payload: `_csrf=${s.csrf}&service=tcp%3A10.10.0.100%3A80&dest=10.10.1.11%3A80&weight=7` });
  t.equal(crossSite.statusCode, 403, 'right token from another origin: 403');
  t.equal(director.getService(vs).dests.find((d) => d.addr === '10.10.1.11')!.weight, 1, 'weight unchanged');
  const ok = await app.inject({ method: 'POST', url: '/ui/dest/weight', headers: form, payload: `_csrf=${s.csrf}&service=tcp%3A10.10.0.100%3A80&dest=10.10.1.11%3A80&weight=7` });
  t.equal(ok.statusCode, 303);
  t.match(String(ok.headers.location), /ok=/);
  t.equal(director.getService(vs).dests.find((d) => d.addr === '10.10.1.11')!.weight, 7, 'weight 7 applied');
  t.ok(logs.some((l) => l.msg === 'console mutation' && l.user === 'admin' && l.op === 'editDest' && l.ok === true), 'logged with the user');

  const tok = { authorization: 'Bearer tok-123456' };
  const q = await app.inject({ method: 'POST', url: `/api/services/${key}/dests/10.10.1.12:80/quiesce`, headers: tok });
  t.equal(q.statusCode, 200, 'quiesce with a token');
  t.equal(director.getService(vs).dests.find((d) => d.addr === '10.10.1.12')!.weight, 0, 'quiesced: weight 0');
  const back = await app.inject({ method: 'POST', url: `/api/services/${key}/dests/10.10.1.12:80/restore`, headers: tok });
  t.equal(back.statusCode, 200);
  t.equal(director.getService(vs).dests.find((d) => d.addr === '10.10.1.12')!.weight, 2, 'restored to its weight');
  const dup = await app.inject({ method: 'POST', url: `/api/services/${key}/dests`, headers: tok, payload: { addr: '10.10.1.11', port: 80, method: 'masq' } });
  t.equal(dup.statusCode, 409);
  t.equal(dup.json().error.code, 'EEXIST', "the kernel's error code");
  const none = await app.inject({ method: 'DELETE', url: `/api/services/${encodeURIComponent('tcp:10.9.9.9:80')}`, headers: tok });
  t.equal(none.json().error.code, 'ESRCH');
  const badW = await app.inject({ method: 'POST', url: `/api/services/${key}/dests/10.10.1.11:80/weight`, headers: tok, payload: { weight: -1 } });
  t.equal(badW.json().error.code, 'ERANGE', 'a negative weight: ERANGE like the kernel');
  t.ok(logs.some((l) => l.msg === 'console mutation' && l.user === 'robot' && l.code === 'EEXIST'), 'refused mutation logged with its code');
  const m = await app.inject('/metrics');
  t.match(m.body, 'tunvs_console_mutations_total{op="addDest",result="EEXIST"} 1');
});

t.test('status API: services with rates and ages, connections paged and filtered', async (t) => {
  const { app } = await setup(t);
  const tok = { authorization: 'Bearer tok-123456' };
  const st = await app.inject({ url: '/api/status', headers: tok });
  t.equal(st.statusCode, 200);
  const j = st.json();
  t.ok(j.at > 0, 'sample time given');
  t.equal(j.services.length, 1);
  t.equal(j.services[0].key, 'tcp:10.10.0.100:80');
  t.equal(j.services[0].dests.length, 3);
  t.same(Object.keys(j.services[0].rates).sort(), ['bps', 'cps', 'pps']);
  t.equal(j.vrrp, null, 'VRRP not running: null');
  const c = await app.inject({ url: `/api/connections?service=${encodeURIComponent('tcp:10.10.0.100:80')}&limit=10`, headers: tok });
  t.same(c.json(), { total: 0, offset: 0, limit: 10, connections: [] });
});

t.test('save to configuration: diff first, then an atomic write keeping the comments', async (t) => {
  const { app, confFile } = await setup(t);
  const tok = { authorization: 'Bearer tok-123456' };
  const plan = await app.inject({ url: '/api/save', headers: tok });
  const p = plan.json();
  t.match(p.diff, /\+\s+"addr": "10\.10\.1\.13"/, 'the diff shows the running real servers');
  t.equal(readFileSync(confFile, 'utf8').includes('10.10.1.13'), false, 'nothing written yet');
  const stale = await app.inject({ method: 'POST', url: '/api/save', headers: tok, payload: { base: 'x' } });
  t.equal(stale.statusCode, 409, 'a stale diff is refused');
  const w = await app.inject({ method: 'POST', url: '/api/save', headers: tok, payload: { base: p.base } });
  t.equal(w.statusCode, 200);
  const text = readFileSync(confFile, 'utf8');
  t.match(text, '// the device', 'comments kept');
  const parsed = JSON.parse(text.replace(/^\s*\/\/.*$/gm, ''));
  t.equal(parsed.services[0].dests.length, 3);
  t.same(parsed.services[0].dests.map((d: { weight: number }) => d.weight), [1, 2, 3], 'in the order to add them');
});

t.test('settings: the defence modes in force, on the page and in the API', async (t) => {
  const { app, director } = await setup(t);
  director.setDefense({ dropEntry: 1, secureTcp: 3, amemthresh: 2048 });
  const tok = { authorization: 'Bearer tok-123456' };
  const api = await app.inject({ url: '/api/settings', headers: tok });
  t.match(api.json().defense, { dropEntry: 1, dropPacket: 0, secureTcp: 3, amemthresh: 2048 });
  const { cookie } = await login(app, 'admin', 'correct horse');
  const page = await app.inject({ url: '/settings', headers: { cookie } });
  t.match(page.body, /<tr data-defense="secure_tcp">.*<td>3<\/td><td>always on<\/td>/);
  t.match(page.body, /<tr data-defense="drop_entry">.*<td>1<\/td><td>automatic/);
  t.match(page.body, /<tr data-defense="amemthresh">.*<td>2048<\/td>/);
});

t.test('password file: a bad line never gives 500; logged once, the last good contents kept, read again when fixed', async (t) => {
  const { logs } = await setup(t);
  const passwd = join(mkdtempSync(join(tmpdir(), 'lco-pw-')), 'console.passwd');
  t.teardown(() => rmSync(dirname(passwd), { recursive: true, force: true }));
  const creds = new Credentials(passwd, undefined, (level, msg, fields) => logs.push({ level, msg, ...fields }));
  t.equal(await creds.login('admin', 'correct horse'), false, 'no file yet: no user');
  writeFileSync(passwd, 'garbage line\n');
  t.equal(await creds.login('admin', 'correct horse'), false, 'a bad file with no good version before it: refused, not thrown');
  writeFileSync(passwd, `# users\nadmin:${await hashPassword('correct horse')}\n`);
  t.equal(await creds.login('admin', 'correct horse'), true, 'fixed: read again');
  writeFileSync(passwd, readFileSync(passwd, 'utf8') + 'second garbage\n');
  t.equal(await creds.login('admin', 'correct horse'), true, 'a bad change: the last good contents stay');
  t.equal(await creds.login('admin', 'correct horse'), true);
  const refused = logs.filter((l) => l.msg === 'console password file refused, keeping its last good contents');
  t.equal(refused.length, 1, 'logged once per change');
  t.match(refused[0]!.error, `${passwd}:3: expected user:hash`);
});

t.test('password or token file broken on a running server: Bearer calls and logins keep working (no 500), the error logged once', async (t) => {
  const { app, logs, dir } = await setup(t);
  const tokens = join(dir, 'tokens');
  const tok = { authorization: 'Bearer tok-123456' };
  t.equal((await app.inject({ url: '/api/vrrp', headers: tok })).statusCode, 200);
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, readFileSync(passwd, 'utf8') + 'garbage line\n');
  t.equal((await app.inject({ url: '/api/vrrp', headers: tok })).statusCode, 200, 'a broken password file: Bearer calls unaffected');
  t.equal((await login(app, 'admin', 'correct horse')).r.statusCode, 303, 'and its last good contents still log in');
  t.match(logs.find((l) => l.msg === 'console password file refused, keeping its last good contents'), { level: 'error', error: `${passwd}:2: expected user:hash` });
  writeFileSync(tokens, readFileSync(tokens, 'utf8') + 'garbage line\n');
  for (let i = 0; i < 3; i++) {
    const r = await app.inject({ url: '/api/vrrp', headers: tok });
    t.equal(r.statusCode, 200, 'the last good tokens still work');
  }
  const refused = logs.filter((l) => l.msg === 'console token file refused, keeping its last good contents');
  t.equal(refused.length, 1, 'logged once');
  t.match(refused[0]!.error, `${tokens}:2: expected user:hash`);
  setCredential(tokens, 'robot2', hashToken('tok-other'));
  writeFileSync(tokens, readFileSync(tokens, 'utf8').split('\n').filter((l) => !l.startsWith('garbage')).join('\n'));
  t.equal((await app.inject({ url: '/api/vrrp', headers: { authorization: 'Bearer tok-other' } })).statusCode, 200, 'fixed: the new token works');
});

t.test('an Origin or Referer that does not parse is another origin: 403, never 500', async (t) => {
  const { app, logs } = await setup(t);
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  for (const h of [{ referer: 'garbage' }, { origin: 'garbage' }, { origin: 'http://evil.example' }]) {
    const r = await app.inject({ method: 'POST', url: '/login', headers: { ...form, ...h }, payload: 'user=admin&password=correct+horse' });
    t.equal(r.statusCode, 403, `login with ${JSON.stringify(h)}: 403`);
    t.equal(r.headers['set-cookie'], undefined, 'no session');
  }
  t.equal(logs.filter((l) => l.msg === 'console login refused: cross-origin request').length, 3, 'logged');
  t.match((await app.inject('/metrics')).body, 'tunvs_console_login_failures_total 3', 'counted as failed logins');
  const locked = await app.inject({ method: 'POST', url: '/login', headers: { ...form, referer: 'garbage' }, payload: 'user=admin&password=x' });
  t.equal(locked.statusCode, 403);
  const s = await login(app, 'admin', 'correct horse');
  t.equal(s.r.statusCode, 303, 'four refusals: the right password still logs in');
  const key = encodeURIComponent('tcp:10.10.0.100:80');
  const api = await app.inject({ method: 'POST', url: `/api/services/${key}/dests/10.10.1.11:80/weight`, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, referer: 'garbage' }, payload: { weight: 7 } });
  t.equal(api.statusCode, 403, 'API POST with a session and a garbage Referer: 403');
  t.equal(api.json().error.code, 'EACCES');
  const ui = await app.inject({ method: 'POST', url: '/ui/dest/weight', headers: { ...form, cookie: s.cookie, origin: 'http://console.test:9280', host: 'console.test:9280', referer: 'garbage' }, payload: `_csrf=${s.csrf}&service=tcp%3A10.10.0.100%3A80&dest=10.10.1.11%3A80&weight=7` });
  t.equal(ui.statusCode, 303, 'a good Origin with a garbage Referer: applied, back to /');
  t.match(String(ui.headers.location), /^\/\?ok=/);
});

t.test('every mutation attempt is logged and counted, also one refused before the control handler', async (t) => {
  const { app, logs } = await setup(t);
  const tok = { authorization: 'Bearer tok-123456' };
  const q = await app.inject({ method: 'POST', url: `/api/services/${encodeURIComponent('tcp:10.10.0.199:80')}/dests/10.10.1.11:80/quiesce`, headers: tok });
  t.equal(q.statusCode, 404);
  t.equal(q.json().error.code, 'ESRCH');
  t.ok(logs.some((l) => l.msg === 'console mutation' && l.user === 'robot' && l.op === 'editDest' && l.code === 'ESRCH' && l.ok === false), 'quiesce on an unknown service logged');
  const bad = await app.inject({ method: 'DELETE', url: `/api/services/nonsense`, headers: tok });
  t.equal(bad.statusCode, 400);
  t.ok(logs.some((l) => l.msg === 'console mutation' && l.op === 'deleteService' && l.code === 'EINVAL'), 'a bad service key logged');
  const stale = await app.inject({ method: 'POST', url: '/api/save', headers: tok, payload: { base: 'x' } });
  t.equal(stale.statusCode, 409);
  const m = (await app.inject('/metrics')).body;
  t.match(m, 'tunvs_console_mutations_total{op="editDest",result="ESRCH"} 1');
  t.match(m, 'tunvs_console_mutations_total{op="deleteService",result="EINVAL"} 1');
  t.match(m, 'tunvs_console_mutations_total{op="saveConfig",result="ESTALE"} 1');
  t.equal(logs.filter((l) => l.msg === 'console mutation').length, 3, 'each attempt logged once');
});

t.test("errors in the API's shape; authentication judged before the body is read", async (t) => {
  const { app } = await setup(t);
  const tok = { authorization: 'Bearer tok-123456' };
  const url = '/api/timeouts';
  const badJson = await app.inject({ method: 'POST', url, headers: { ...tok, 'content-type': 'application/json' }, payload: '{nope' });
  t.equal(badJson.statusCode, 400);
  t.equal(badJson.json().error.code, 'EINVAL', 'a bad JSON body: EINVAL');
  t.type(badJson.json().error.message, 'string');
  t.equal(badJson.json().statusCode, undefined, "not fastify's own shape");
  const xml = await app.inject({ method: 'POST', url, headers: { ...tok, 'content-type': 'text/xml' }, payload: '<a/>' });
  t.equal(xml.statusCode, 415);
  t.equal(xml.json().error.code, 'EINVAL', 'another media type: EINVAL');
  const unknown = await app.inject({ url: '/api/nothing', headers: tok });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'ENOENT');
  for (const h of [{ 'content-type': 'application/json' }, { 'content-type': 'text/xml' }]) {
    const anon = await app.inject({ method: 'POST', url, headers: h, payload: '{nope' });
    t.equal(anon.statusCode, 401, `unauthenticated with a bad body (${h['content-type']}): 401`);
    t.equal(anon.json().error.code, 'EACCES');
  }
  const page = await app.inject({ method: 'POST', url: '/ui/timeouts', headers: { 'content-type': 'application/json' }, payload: '{nope' });
  t.equal(page.statusCode, 303, 'a form action without a session: to the login page');
});

t.test('the files the server reads: what stops the start is an error of checkHttpFiles, the rest warnings', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'lco-files-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const conf = join(d, 'tunvsd.json');
  const cfg = (o: Record<string, unknown>) => parseHttpConfig({ listen: '127.0.0.1:9999', ...o }, conf);
  const missing = checkHttpFiles(cfg({ passwordFile: 'none.passwd' }));
  t.match(missing, [{ severity: 'warning', file: join(d, 'none.passwd'), line: 0, message: /passwordFile.*does not exist: nobody can log in/ }]);
  writeFileSync(join(d, 'bad.passwd'), 'garbage line\n');
  t.match(checkHttpFiles(cfg({ passwordFile: 'bad.passwd' })), [{ severity: 'error', file: join(d, 'bad.passwd'), line: 1, message: /expected user:hash/ }]);
  const tls = checkHttpFiles(cfg({ console: false, tls: { cert: '/nonexistent.pem', key: '/nonexistent.key' } }));
  t.match(tls, [{ severity: 'error', file: '/nonexistent.pem', unreadable: true, message: /ENOENT/ }, { severity: 'error', file: '/nonexistent.key' }]);
  writeFileSync(join(d, 'c.pem'), 'not a certificate\n');
  t.match(checkHttpFiles(cfg({ console: false, tls: { cert: 'c.pem', key: 'c.pem' } })), [{ severity: 'error', message: /TLS refuses them/ }]);

  const deps = { metrics: new Metrics({ director: new Director({ links: [new MemoryLink('tun')], timers: false }), links: () => [], feeds: new Feeds(), reasonName, version: 'test', inline: true }) };
  const logs: Record<string, unknown>[] = [];
  const base = { ...deps, health: null, feeds: new Feeds(), control: async () => ({ ok: true, result: null }) as ControlAnswer, connections: () => [], info: () => ({ configFile: conf, configKind: 'json', keepalivedConf: null, managed: new Set<string>(), switches: {}, version: 'test', schedulers: [] }), log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void logs.push({ level, msg, ...fields }) };
  await t.rejects(buildConsole(cfg({ passwordFile: 'bad.passwd' }), base), { message: `${join(d, 'bad.passwd')}:1: error: passwordFile (http_password_file, --http-password-file): expected user:hash` });
  await t.rejects(buildConsole(cfg({ console: false, tls: { cert: '/nonexistent.pem', key: '/nonexistent.key' } }), base), /\/nonexistent\.pem: error: .*ENOENT/);
  const { app } = await buildConsole(cfg({ passwordFile: 'none.passwd' }), base);
  await app.close();
  t.ok(logs.some((l) => l.level === 'warn' && /none\.passwd: warning: .*nobody can log in/.test(String(l.message))), 'a missing password file: a warning at the start');
});
