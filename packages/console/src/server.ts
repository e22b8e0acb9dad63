/**
 * tunvsd's HTTP server (fastify): `/metrics` for Prometheus, the JSON status API under
 * `/api/`, and the console pages. Reads need a login (session cookie) or a bearer token;
 * mutations additionally need the session's CSRF token (forms: `_csrf`, scripts:
 * `X-CSRF-Token`) unless they come with a bearer token, and go through the same control
 * operation handler as tunvsadm's socket, so the kernel's validation and error codes
 * apply. Every mutation is logged as one JSON line with the user.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import type { ConnInfo, DefenseSettings, DestSpec, ServiceInfo, ServiceKey, ServiceSpec, Timeouts } from '@tunvs/model';
import type { Feeds, HealthTracker, Metrics, RealServerHealth } from '@tunvs/metrics';
import { Credentials, LoginLimiter, Sessions } from './auth.js';
import type { Session } from './auth.js';
import { checkHttpFiles, formatHttpFinding } from './config.js';
import type { HttpConfig } from './config.js';
import { Sampler } from './sampler.js';
import type { ServiceStatus } from './sampler.js';
import { healthPage, layout, loginPage, realPage, redundancyPage, savePage, settingsPage, statusPage, virtualPage } from './pages.js';
import type { html } from './pages.js';
import { applySave, combinePlans, proposeJson } from './save.js';
import type { SaveFile } from './save.js';
import { proposeKeepalivedFile } from './save-keepalived.js';

/** The answer of the control operation handler (tunvsadm's socket protocol). */
export type ControlAnswer = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; op: string } };

/** What tunvsd gives the server. */
export interface ConsoleDeps {
  metrics: Metrics;
  health: HealthTracker | null;
  feeds: Feeds;
  /** run one control operation (as the control socket does) */
  control: (op: string, args: unknown[]) => Promise<ControlAnswer>;
  /** the connection table, for the connections API */
  connections: () => Iterable<ConnInfo>;
  /** the configuration in use */
  info: () => { configFile: string; configKind: string; keepalivedConf: string | null; managed: Set<string>; switches: Record<string, unknown>; version: string; schedulers: string[] };
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** the defence modes in force (the drop_entry, drop_packet, secure_tcp, amemthresh, am_droprate sysctls) */
  defense?: () => DefenseSettings;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function loadStatic(): Map<string, { type: string; body: Buffer }> {
  const pub = join(here, '..', 'public');
  const uplot = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  return new Map([
    ['console.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(pub, 'console.js')) }],
    ['console.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(pub, 'console.css')) }],
    ['uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(uplot, 'uPlot.iife.min.js')) }],
    ['uPlot.min.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(uplot, 'uPlot.min.css')) }],
  ]);
}

const COOKIE = 'tunvs_session';

function parseCookies(h: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (h ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** `s` as a URL, or null when it is not one. */
function urlOf(s: string): URL | null {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

const HTTP_STATUS: Record<string, number> = { EEXIST: 409, ESRCH: 404, ENOENT: 404, EINVAL: 400, ERANGE: 400, EPERM: 403, EAFNOSUPPORT: 400, ESTALE: 409, EACCES: 403 };

/** A service key string (`tcp:ADDR:PORT`, `udp:...`, `fwmark:N`) as a ServiceKey. */
export function parseServiceKey(s: string): ServiceKey {
  const f = /^fwmark:(\d+)$/.exec(s);
  if (f) return { fwmark: Number(f[1]) };
  const m = /^(tcp|udp):([0-9.]+):(\d+)$/.exec(s);
  if (!m) throw Object.assign(new Error(`bad service '${s}' (tcp:ADDR:PORT, udp:ADDR:PORT or fwmark:N)`), { code: 'EINVAL' });
  return { protocol: m[1] as 'tcp' | 'udp', addr: m[2]!, port: Number(m[3]) };
}

/** `ADDR:PORT` as a destination. */
export function parseDestKey(s: string): { addr: string; port: number } {
  const m = /^([0-9.]+):(\d+)$/.exec(s);
  if (!m) throw Object.assign(new Error(`bad real server '${s}' (ADDR:PORT)`), { code: 'EINVAL' });
  return { addr: m[1]!, port: Number(m[2]) };
}

interface Who {
  user: string;
  via: 'session' | 'token';
  session: Session | null;
}

/** A started server. */
export interface ConsoleServer {
  app: FastifyInstance;
  sampler: Sampler;
  /** `http(s)://host:port` */
  url: string;
  close(): Promise<void>;
}

/** Build the fastify app (not listening). */
export async function buildConsole(cfg: HttpConfig, deps: ConsoleDeps): Promise<{ app: FastifyInstance; sampler: Sampler }> {
  // the checks tunvsd --config-test makes: what they refuse stops the start, the rest is said
  const findings = checkHttpFiles(cfg);
  const refused = findings.filter((f) => f.severity === 'error');
  if (refused.length) throw new Error(refused.map(formatHttpFinding).join('\n'));
  for (const f of findings) deps.log('warn', 'http server warning', { message: formatHttpFinding(f), file: f.file });
  const https = cfg.tls ? { key: readFileSync(cfg.tls.key), cert: readFileSync(cfg.tls.cert) } : null;
  const app = (https ? Fastify({ https, bodyLimit: 1 << 20 }) : Fastify({ bodyLimit: 1 << 20 })) as unknown as FastifyInstance;
  await app.register(formbody);
  const statics = cfg.console ? loadStatic() : new Map();
  const creds = cfg.console ? new Credentials(cfg.passwordFile, cfg.tokenFile, deps.log) : null;
  const sessions = new Sessions();
  const limiter = new LoginLimiter();
  const sampler = new Sampler(deps.metrics.collector, cfg.sampleInterval * 1000);
  const collector = deps.metrics.collector;
  /** weights of quiesced servers, to bring them back */
  const quiesced = new Map<string, number>();
  const secure = Boolean(cfg.tls);

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'same-origin');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'");
    return payload;
  });

  // errors fastify raises itself (a body it cannot parse, a media type it does not take, a
  // body too large) in the API's shape, with an errno-style code like the kernel's
  app.setErrorHandler(async (e: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
    if (status >= 500) {
      deps.log('error', 'console request failed', { url: req.url, method: req.method, error: e.message });
      return reply.code(status).send({ error: { code: 'EIO', message: 'internal error (logged)' } });
    }
    const code = status === 404 ? 'ENOENT' : status === 413 ? 'EMSGSIZE' : status === 401 || status === 403 ? 'EACCES' : 'EINVAL';
    return reply.code(status).send({ error: { code, message: e.message } });
  });
  app.setNotFoundHandler(async (req, reply) => reply.code(404).send({ error: { code: 'ENOENT', message: `no such resource: ${req.method} ${req.url.split('?')[0]}` } }));

  // ------------------------------------------------------------------ metrics
  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.scrape();
    reply.header('Content-Type', deps.metrics.contentType);
    return reply.send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });

  if (!cfg.console) return { app, sampler };

  app.get('/static/:file', async (req, reply) => {
    const f = statics.get((req.params as { file: string }).file);
    if (!f) return reply.code(404).send('not found');
    reply.header('Content-Type', f.type).header('Cache-Control', 'no-cache');
    return reply.send(f.body);
  });

  // -------------------------------------------------------------- who is it
  const who = (req: FastifyRequest): Who | null => {
    const auth = req.headers.authorization;
    if (auth && /^Bearer\s+/i.test(auth)) {
      const user = creds!.tokenUser(auth.replace(/^Bearer\s+/i, '').trim());
      return user ? { user, via: 'token', session: null } : null;
    }
    const s = sessions.get(parseCookies(req.headers.cookie)[COOKIE]);
    return s ? { user: s.user, via: 'session', session: s } : null;
  };

  /**
   * Same-origin check for unsafe requests made with a cookie: the Origin header, else the
   * Referer's; one that does not parse counts as another origin.
   */
  const sameOrigin = (req: FastifyRequest): boolean => {
    const from = req.headers.origin ?? req.headers.referer;
    if (from === undefined) return true;
    const u = urlOf(from);
    return u !== null && u.host === req.headers.host;
  };

  const csrfOk = (req: FastifyRequest, w: Who): boolean => {
    if (w.via === 'token') return true;
    const given = (req.headers['x-csrf-token'] as string | undefined) ?? ((req.body as Record<string, unknown> | undefined)?._csrf as string | undefined);
    return Boolean(given) && given === w.session!.csrf && sameOrigin(req);
  };

  const isApi = (req: FastifyRequest): boolean => req.url.startsWith('/api/');

  /** who made each authenticated request (set before its body is read) */
  const users = new WeakMap<FastifyRequest, Who>();

  /**
   * The routes' onRequest hook: the user is judged before the body is read, so that an
   * unauthenticated request gets 401 (API) or the login page whatever its body.
   */
  const authenticate = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const w = who(req);
    if (w) {
      users.set(req, w);
      return undefined;
    }
    if (req.headers.authorization) collector.loginFailures++;
    if (isApi(req)) return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: { code: 'EACCES', message: 'authentication required' } });
    return reply.redirect('/login', 303);
  };

  /** The request's user (see authenticate); for unsafe methods also the CSRF token. Returns null after replying. */
  const guard = async (req: FastifyRequest, reply: FastifyReply, mutate: boolean): Promise<Who | null> => {
    const w = users.get(req);
    if (!w) {
      // every route that calls guard has authenticate as its onRequest hook
      await reply.code(500).send({ error: { code: 'EIO', message: 'request not authenticated' } });
      return null;
    }
    if (mutate && !csrfOk(req, w)) {
      deps.log('warn', 'console request refused: missing or wrong CSRF token', { user: w.user, url: req.url, remote: req.ip });
      await reply.code(403).send(isApi(req) ? { error: { code: 'EACCES', message: 'CSRF token missing or wrong' } } : 'CSRF token missing or wrong');
      return null;
    }
    return w;
  };

  /** requests whose mutation attempt is logged already */
  const recorded = new WeakSet<FastifyRequest>();

  /** Log and count one mutation attempt (`code`: undefined when it succeeded). */
  const record = (w: Who, req: FastifyRequest, op: string, code: string | undefined, extra: Record<string, unknown>): void => {
    recorded.add(req);
    deps.log('info', 'console mutation', { user: w.user, via: w.via, remote: req.ip, op, ...extra, ok: code === undefined, ...(code !== undefined ? { code } : {}) });
    collector.consoleMutation(op, code ?? 'ok');
  };

  /** Run a control operation for `w`, logged and counted. */
  const operate = async (w: Who, req: FastifyRequest, op: string, args: unknown[]): Promise<ControlAnswer> => {
    const r = await deps.control(op, args);
    record(w, req, op, r.ok ? undefined : r.error.code, { args });
    return r;
  };

  /** What a refused request asked, for the log (never the CSRF token). */
  const asked = (req: FastifyRequest): Record<string, unknown> => {
    const b = req.body && typeof req.body === 'object' ? { ...(req.body as Record<string, unknown>) } : {};
    delete b._csrf;
    return { params: req.params, body: b };
  };

  const getService = async (key: ServiceKey): Promise<ServiceInfo> => {
    const r = await deps.control('getService', [key]);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    return r.result as ServiceInfo;
  };

  /** Mutations shared by the forms and the API. Throws errors with `code`. */
  const actions = {
    addService: (w: Who, req: FastifyRequest, spec: ServiceSpec) => operate(w, req, 'addService', [spec]),
    editService: (w: Who, req: FastifyRequest, spec: ServiceSpec) => operate(w, req, 'editService', [spec]),
    deleteService: (w: Who, req: FastifyRequest, key: ServiceKey) => operate(w, req, 'deleteService', [key]),
    addDest: (w: Who, req: FastifyRequest, key: ServiceKey, d: DestSpec) => operate(w, req, 'addDest', [key, d]),
    deleteDest: (w: Who, req: FastifyRequest, key: ServiceKey, d: { addr: string; port: number }) => operate(w, req, 'deleteDest', [key, d]),
    /** change some fields of a destination, keeping the others */
    editDest: async (w: Who, req: FastifyRequest, key: ServiceKey, d: { addr: string; port: number }, change: Partial<DestSpec>): Promise<ControlAnswer> => {
      let cur;
      try {
        cur = (await getService(key)).dests.find((x) => x.addr === d.addr && x.port === d.port);
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'EIO';
        record(w, req, 'editDest', code, { args: [key, { ...d, ...change }] });
        return { ok: false, error: { code, message: (e as Error).message, op: 'editDest' } };
      }
      if (!cur) return operate(w, req, 'editDest', [key, { ...d, ...change }]);
      const spec: DestSpec = { addr: cur.addr, port: cur.port, method: cur.method, weight: cur.weight, upper: cur.upper, lower: cur.lower, ...change };
      if (change.weight === 0 && cur.weight > 0) quiesced.set(`${JSON.stringify(key)}|${d.addr}:${d.port}`, cur.weight);
      return operate(w, req, 'editDest', [key, spec]);
    },
    restoreWeight: (key: ServiceKey, d: { addr: string; port: number }): number => quiesced.get(`${JSON.stringify(key)}|${d.addr}:${d.port}`) ?? 1,
    setTimeouts: (w: Who, req: FastifyRequest, t: Partial<Timeouts>) => operate(w, req, 'setTimeouts', [t]),
  };

  const sendAnswer = (reply: FastifyReply, r: ControlAnswer, okStatus = 200): FastifyReply =>
    r.ok ? reply.code(okStatus).send({ ok: true }) : reply.code(HTTP_STATUS[r.error.code] ?? 500).send({ error: r.error });

  const apiError = (reply: FastifyReply, e: unknown): FastifyReply => {
    const code = (e as { code?: string }).code ?? 'EINVAL';
    return reply.code(HTTP_STATUS[code] ?? 400).send({ error: { code, message: (e as Error).message } });
  };

  // -------------------------------------------------------------- status data
  const healthList = (): RealServerHealth[] => (deps.health ? [...deps.health.list()] : []);
  const vrrpNow = () => (deps.feeds.vrrp ? { instances: [...deps.feeds.vrrp.instances()], groups: [...deps.feeds.vrrp.syncGroups()] } : null);
  const syncNow = () => (deps.feeds.sync ? [...deps.feeds.sync.daemons()] : null);

  const statusJson = async (q: { offset?: string; limit?: string; service?: string }) => {
    const s = await sampler.latest();
    const sc = s.snap.scalars;
    const offset = Math.max(0, Number(q.offset ?? 0) | 0);
    const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100) | 0));
    const list = q.service ? s.services.filter((x) => x.key === q.service) : s.services;
    return {
      at: s.at,
      window: s.window,
      total: list.length,
      offset,
      services: list.slice(offset, offset + limit),
      health: healthList(),
      vrrp: vrrpNow(),
      sync: syncNow(),
      conntrack: sc.conntrack,
      drops: sc.drops,
      reloads: sc.reloads,
    };
  };

  // ------------------------------------------------------------------ login
  app.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(layout({ title: 'Log in', path: '/login', user: null, csrf: '', body: loginPage({}) })));

  app.post('/login', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, string>;
    const user = String(b.user ?? '');
    const wait = limiter.retryAfter(req.ip, user);
    if (wait > 0) {
      collector.loginFailures++;
      deps.log('warn', 'console login refused: too many failures', { user, remote: req.ip, retryAfter: wait });
      return reply.code(429).header('Retry-After', String(wait)).type('text/html; charset=utf-8')
        .send(layout({ title: 'Log in', path: '/login', user: null, csrf: '', body: loginPage({ error: `Too many failed logins: try again in ${wait} s.` }) }));
    }
    if (!sameOrigin(req)) {
      // a login posted from another page (or with an Origin/Referer that does not parse):
      // refused without looking at the password, and counted like a wrong one
      limiter.fail(req.ip, user);
      collector.loginFailures++;
      deps.log('warn', 'console login refused: cross-origin request', { user, remote: req.ip, origin: req.headers.origin ?? null, referer: req.headers.referer ?? null });
      return reply.code(403).type('text/html; charset=utf-8').send(layout({ title: 'Log in', path: '/login', user: null, csrf: '', body: loginPage({ error: 'Cross-origin login refused: log in from this page.' }) }));
    }
    if (!(await creds!.login(user, String(b.password ?? '')))) {
      limiter.fail(req.ip, user);
      collector.loginFailures++;
      deps.log('warn', 'console login failed', { user, remote: req.ip });
      return reply.code(401).type('text/html; charset=utf-8').send(layout({ title: 'Log in', path: '/login', user: null, csrf: '', body: loginPage({ error: 'Wrong user or password.' }) }));
    }
    limiter.succeed(req.ip, user);
    const s = sessions.create(user);
    deps.log('info', 'console login', { user, remote: req.ip });
    reply.header('Set-Cookie', `${COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`);
    return reply.redirect('/', 303);
  });

  app.post('/logout', { onRequest: authenticate }, async (req, reply) => {
    const w = await guard(req, reply, true);
    if (!w) return reply;
    if (w.session) sessions.destroy(w.session.id);
    reply.header('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`);
    return reply.redirect('/login', 303);
  });

  // ------------------------------------------------------------------ pages
  const page = (path: string, title: string, body: (req: FastifyRequest, w: Who) => Promise<ReturnType<typeof html>>) => {
    app.get(path, { onRequest: authenticate }, async (req, reply) => {
      const w = await guard(req, reply, false);
      if (!w) return reply;
      const q = req.query as Record<string, string>;
      const flash: { ok?: string; error?: string } = {};
      if (q.ok) flash.ok = q.ok;
      if (q.error) flash.error = q.error;
      return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(layout({ title, path, user: w.user, csrf: w.session?.csrf ?? '', body: await body(req, w), flash, refreshMs: cfg.sampleInterval * 1000 }));
    });
  };

  page('/', 'Status', async () => {
    const s = await sampler.latest();
    const sc = s.snap.scalars;
    return statusPage({ at: s.at, services: s.services, health: healthList(), vrrp: vrrpNow()?.instances ?? null, conntrack: sc.conntrack, drops: Object.values(sc.drops).reduce((a, b) => a + b, 0) });
  });
  page('/virtual', 'Virtual servers', async (req, w) => {
    const s = await sampler.latest();
    const q = req.query as Record<string, string>;
    const i = deps.info();
    return virtualPage({ csrf: w.session?.csrf ?? '', services: s.services, schedulers: i.schedulers, managed: i.managed, ...(q.edit ? { edit: s.services.find((x) => x.key === q.edit) } : {}) } as Parameters<typeof virtualPage>[0]);
  });
  page('/real', 'Real servers', async (req, w) => {
    const s = await sampler.latest();
    const q = req.query as Record<string, string>;
    const list: ServiceStatus[] = q.service ? s.services.filter((x) => x.key === q.service) : s.services;
    return realPage({ csrf: w.session?.csrf ?? '', services: list, health: healthList(), at: s.at });
  });
  page('/health', 'Health checks', async () => healthPage({ health: healthList(), keepalivedConf: deps.info().keepalivedConf }));
  page('/redundancy', 'Redundancy', async () => redundancyPage({ vrrp: vrrpNow(), sync: syncNow() }));
  page('/settings', 'Settings', async (_req, w) => {
    const i = deps.info();
    const t = await deps.control('getTimeouts', []);
    return settingsPage({ csrf: w.session?.csrf ?? '', defense: deps.defense?.() ?? null, timeouts: (t.ok ? t.result : { tcp: 0, tcpfin: 0, udp: 0 }) as Timeouts, switches: i.switches, configFile: i.configFile, configKind: i.configKind, keepalivedConf: i.keepalivedConf, version: i.version });
  });
  const plan = async () => {
    const i = deps.info();
    const r = await deps.control('listServices', []);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    const all = r.result as ServiceInfo[];
    const keyOf = (s: ServiceInfo) => (s.fwmark ? `fwmark:${s.fwmark}` : `${s.protocol}:${s.addr}:${s.port}`);
    const files: SaveFile[] = [];
    // a JSON configuration keeps its own services; the rest belong to its keepalived.conf
    if (i.configKind === 'json') files.push(proposeJson(i.configFile, all.filter((s) => !i.managed.has(keyOf(s)))));
    const theirs = i.configKind === 'json' ? all.filter((s) => i.managed.has(keyOf(s))) : all;
    if (i.keepalivedConf !== null) {
      const down = new Set(healthList().filter((h) => h.checked && !h.up).map((h) => `${h.virtualServer}|${h.addr}:${h.port}`));
      files.push({ file: i.keepalivedConf, ...proposeKeepalivedFile(i.keepalivedConf, { running: theirs, down }) });
    } else if (i.configKind !== 'json') {
      throw Object.assign(new Error(`${i.configFile} is a ${i.configKind} file without a keepalived_conf: add the services to a keepalived.conf by hand`), { code: 'EINVAL' });
    }
    return { ...combinePlans(files), managed: theirs.length };
  };
  page('/save', 'Save', async (_req, w) => {
    try {
      const p = await plan();
      return savePage({ csrf: w.session?.csrf ?? '', file: p.file, diff: p.diff, base: p.base, note: `Only the lines that differ change: the JSON file's "services" value; in keepalived.conf the lb_algo, persistence_timeout, weight and threshold lines and whole virtual_server/real_server blocks. Comments, includes and every other line stay as they are.` });
    } catch (e) {
      return savePage({ csrf: '', file: deps.info().configFile, diff: '', base: '', error: (e as Error).message, note: '' });
    }
  });

  // ------------------------------------------------------------ form actions
  /** The page a form came from (its path and `service`), to go back to; `/` when unknown. */
  const backOf = (req: FastifyRequest): string => {
    const u = req.headers.referer ? urlOf(req.headers.referer) : null;
    if (!u) return '/';
    const svc = u.searchParams.get('service');
    return u.pathname + (svc ? `?service=${encodeURIComponent(svc)}` : '');
  };
  /** A form action; `op` names its mutation in the log and the counter when it fails before reaching it. */
  const form = (path: string, op: string, run: (w: Who, req: FastifyRequest, b: Record<string, string>) => Promise<{ answer?: ControlAnswer; ok: string; back: string }>) => {
    app.post(path, { onRequest: authenticate }, async (req, reply) => {
      const w = await guard(req, reply, true);
      if (!w) return reply;
      const b = (req.body ?? {}) as Record<string, string>;
      let back = backOf(req);
      try {
        const r = await run(w, req, b);
        back = r.back || back;
        const sep = back.includes('?') ? '&' : '?';
        if (r.answer && !r.answer.ok) return reply.redirect(`${back}${sep}error=${encodeURIComponent(`${r.answer.error.code}: ${r.answer.error.message}`)}`, 303);
        await sampler.sample();
        return reply.redirect(`${back}${sep}ok=${encodeURIComponent(r.ok)}`, 303);
      } catch (e) {
        if (!recorded.has(req)) record(w, req, op, (e as { code?: string }).code ?? 'EINVAL', asked(req));
        const sep = back.includes('?') ? '&' : '?';
        return reply.redirect(`${back}${sep}error=${encodeURIComponent(`${(e as { code?: string }).code ?? 'EINVAL'}: ${(e as Error).message}`)}`, 303);
      }
    });
  };
  const intOf = (v: string | undefined, what: string): number => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isInteger(n)) throw Object.assign(new Error(`${what} must be an integer`), { code: 'EINVAL' });
    return n;
  };
  const specFromForm = (b: Record<string, string>): ServiceSpec => {
    const spec: ServiceSpec = b.protocol === 'fwmark' ? { fwmark: intOf(b.fwmark, 'firewall mark') } : { protocol: (b.protocol as 'tcp' | 'udp') ?? 'tcp', addr: String(b.addr ?? ''), port: intOf(b.port, 'port') };
    if (b.scheduler) spec.scheduler = b.scheduler;
    if (b.schedFlags) spec.schedFlags = b.schedFlags.split(',').map((x) => x.trim()).filter(Boolean);
    if (b.persistent && b.persistent !== '0') spec.persistent = intOf(b.persistent, 'persistence timeout');
    if (b.netmask) spec.netmask = b.netmask;
    return spec;
  };
  form('/ui/service/add', 'addService', async (w, req, b) => {
    const spec = specFromForm(b);
    return { answer: await actions.addService(w, req, spec), ok: 'virtual server added', back: '/virtual' };
  });
  form('/ui/service/edit', 'editService', async (w, req, b) => {
    const key = parseServiceKey(b.service ?? '');
    const spec: ServiceSpec = { ...key, scheduler: b.scheduler ?? 'wlc' };
    if (b.schedFlags) spec.schedFlags = b.schedFlags.split(',').map((x) => x.trim()).filter(Boolean);
    if (b.persistent && b.persistent !== '0') spec.persistent = intOf(b.persistent, 'persistence timeout');
    if (b.netmask) spec.netmask = b.netmask;
    return { answer: await actions.editService(w, req, spec), ok: `${b.service} changed`, back: '/virtual' };
  });
  form('/ui/service/delete', 'deleteService', async (w, req, b) => ({ answer: await actions.deleteService(w, req, parseServiceKey(b.service ?? '')), ok: `${b.service} deleted`, back: '/virtual' }));
  form('/ui/dest/add', 'addDest', async (w, req, b) => {
    const key = parseServiceKey(b.service ?? '');
    const d: DestSpec = { addr: String(b.addr ?? ''), port: intOf(b.port, 'port'), method: (b.method as DestSpec['method']) ?? 'masq', weight: intOf(b.weight ?? '1', 'weight') };
    return { answer: await actions.addDest(w, req, key, d), ok: `${d.addr}:${d.port} added`, back: '' };
  });
  form('/ui/dest/weight', 'editDest', async (w, req, b) => {
    const key = parseServiceKey(b.service ?? '');
    const d = parseDestKey(b.dest ?? '');
    const weight = intOf(b.weight, 'weight');
    return { answer: await actions.editDest(w, req, key, d, { weight }), ok: `${b.dest} weight ${weight}`, back: '' };
  });
  form('/ui/dest/thresholds', 'editDest', async (w, req, b) => {
    const key = parseServiceKey(b.service ?? '');
    const d = parseDestKey(b.dest ?? '');
    return { answer: await actions.editDest(w, req, key, d, { upper: intOf(b.upper ?? '0', 'upper threshold'), lower: intOf(b.lower ?? '0', 'lower threshold') }), ok: `${b.dest} thresholds set`, back: '' };
  });
  form('/ui/dest/quiesce', 'editDest', async (w, req, b) => {
    const key = parseServiceKey(b.service ?? '');
    const d = parseDestKey(b.dest ?? '');
    return { answer: await actions.editDest(w, req, key, d, { weight: 0 }), ok: `${b.dest} quiesced (weight 0): new connections avoid it`, back: '' };
  });
  form('/ui/dest/restore', 'editDest', async (w, req, b) => {
    const key = parseServiceKey(b.service ?? '');
    const d = parseDestKey(b.dest ?? '');
    const weight = actions.restoreWeight(key, d);
    return { answer: await actions.editDest(w, req, key, d, { weight }), ok: `${b.dest} back at weight ${weight}`, back: '' };
  });
  form('/ui/dest/delete', 'deleteDest', async (w, req, b) => ({ answer: await actions.deleteDest(w, req, parseServiceKey(b.service ?? ''), parseDestKey(b.dest ?? '')), ok: `${b.dest} removed`, back: '' }));
  form('/ui/timeouts', 'setTimeouts', async (w, req, b) => ({
    answer: await actions.setTimeouts(w, req, { tcp: intOf(b.tcp ?? '0', 'tcp'), tcpfin: intOf(b.tcpfin ?? '0', 'tcpfin'), udp: intOf(b.udp ?? '0', 'udp') }),
    ok: 'timeouts set',
    back: '/settings',
  }));
  form('/ui/save', 'saveConfig', async (w, req, b) => {
    const p = await plan();
    if (p.base !== b.base) throw Object.assign(new Error('the file or the rules changed since the diff was shown: review the new diff'), { code: 'ESTALE' });
    applySave(p);
    record(w, req, 'saveConfig', undefined, { file: p.file });
    return { ok: `${p.file} written`, back: '/save' };
  });

  // -------------------------------------------------------------------- API
  /** An API route; `op` (mutations) names it in the log and the counter when it fails before reaching the control handler. */
  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, run: (w: Who, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>, op?: string) => {
    app.route({
      method,
      url: path,
      onRequest: authenticate,
      handler: async (req, reply) => {
        const w = await guard(req, reply, method !== 'GET');
        if (!w) return reply;
        try {
          return await run(w, req, reply);
        } catch (e) {
          if (op !== undefined && !recorded.has(req)) record(w, req, op, (e as { code?: string }).code ?? 'EINVAL', asked(req));
          return apiError(reply, e);
        }
      },
    });
  };
  const params = (req: FastifyRequest) => req.params as Record<string, string>;
  const body = (req: FastifyRequest) => (req.body ?? {}) as Record<string, unknown>;

  api('GET', '/api/status', async (_w, req) => statusJson(req.query as Record<string, string>));
  api('GET', '/api/services', async (_w, req) => {
    const s = await statusJson(req.query as Record<string, string>);
    return { at: s.at, total: s.total, offset: s.offset, services: s.services };
  });
  api('GET', '/api/services/:service', async (_w, req, reply) => {
    const s = await sampler.latest();
    const found = s.services.find((x) => x.key === params(req).service);
    return found ? { at: s.at, service: found } : reply.code(404).send({ error: { code: 'ESRCH', message: 'No such service' } });
  });
  api('GET', '/api/history', async (_w, req) => {
    const k = (req.query as Record<string, string>).service ?? '';
    return { service: k, history: sampler.historyOf(k) };
  });
  api('GET', '/api/health', async () => ({ at: Date.now(), health: healthList() }));
  api('GET', '/api/vrrp', async () => ({ vrrp: vrrpNow() }));
  api('GET', '/api/sync', async () => ({ sync: syncNow() }));
  api('GET', '/api/settings', async () => {
    const i = deps.info();
    const t = await deps.control('getTimeouts', []);
    return { timeouts: t.ok ? t.result : null, defense: deps.defense?.() ?? null, switches: i.switches, configFile: i.configFile, configKind: i.configKind, keepalivedConf: i.keepalivedConf, version: i.version };
  });
  api('GET', '/api/connections', async (_w, req) => {
    const q = req.query as Record<string, string>;
    const offset = Math.max(0, Number(q.offset ?? 0) | 0);
    const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100) | 0));
    const svc = q.service ? parseServiceKey(q.service) : null;
    const dst = q.dest ? parseDestKey(q.dest) : null;
    const page: ConnInfo[] = [];
    let matched = 0;
    for (const c of deps.connections()) {
      if (svc) {
        // fwmark services: their templates carry the mark; address services: VIP, port, protocol
        if (svc.fwmark) {
          if (c.fwmark !== svc.fwmark) continue;
        } else if (c.virtualAddr !== svc.addr || c.virtualPort !== svc.port || (c.protocol !== 'IP' && c.protocol.toLowerCase() !== svc.protocol)) continue;
      }
      if (dst && (c.destAddr !== dst.addr || c.destPort !== dst.port)) continue;
      if (matched >= offset && page.length < limit) page.push(c);
      matched++;
    }
    return { total: matched, offset, limit, connections: page };
  });
  api('POST', '/api/services', async (w, req, reply) => sendAnswer(reply, await actions.addService(w, req, body(req) as ServiceSpec), 201), 'addService');
  api('PUT', '/api/services/:service', async (w, req, reply) => sendAnswer(reply, await actions.editService(w, req, { ...(body(req) as ServiceSpec), ...parseServiceKey(params(req).service!) })), 'editService');
  api('DELETE', '/api/services/:service', async (w, req, reply) => sendAnswer(reply, await actions.deleteService(w, req, parseServiceKey(params(req).service!))), 'deleteService');
  api('POST', '/api/services/:service/dests', async (w, req, reply) => sendAnswer(reply, await actions.addDest(w, req, parseServiceKey(params(req).service!), body(req) as unknown as DestSpec), 201), 'addDest');
  api('PUT', '/api/services/:service/dests/:dest', async (w, req, reply) =>
    sendAnswer(reply, await actions.editDest(w, req, parseServiceKey(params(req).service!), parseDestKey(params(req).dest!), body(req) as Partial<DestSpec>)),
    'editDest',
  );
  api('DELETE', '/api/services/:service/dests/:dest', async (w, req, reply) => sendAnswer(reply, await actions.deleteDest(w, req, parseServiceKey(params(req).service!), parseDestKey(params(req).dest!))), 'deleteDest');
  api('POST', '/api/services/:service/dests/:dest/weight', async (w, req, reply) => {
    const weight = Number(body(req).weight);
    return sendAnswer(reply, await actions.editDest(w, req, parseServiceKey(params(req).service!), parseDestKey(params(req).dest!), { weight }));
  }, 'editDest');
  api('POST', '/api/services/:service/dests/:dest/quiesce', async (w, req, reply) =>
    sendAnswer(reply, await actions.editDest(w, req, parseServiceKey(params(req).service!), parseDestKey(params(req).dest!), { weight: 0 })),
    'editDest',
  );
  api('POST', '/api/services/:service/dests/:dest/restore', async (w, req, reply) => {
    const key = parseServiceKey(params(req).service!);
    const d = parseDestKey(params(req).dest!);
    return sendAnswer(reply, await actions.editDest(w, req, key, d, { weight: actions.restoreWeight(key, d) }));
  }, 'editDest');
  api('POST', '/api/timeouts', async (w, req, reply) => sendAnswer(reply, await actions.setTimeouts(w, req, body(req) as Partial<Timeouts>)), 'setTimeouts');
  api('GET', '/api/save', async () => {
    const p = await plan();
    return { file: p.file, base: p.base, diff: p.diff };
  });
  api('POST', '/api/save', async (w, req, reply) => {
    const p = await plan();
    if (p.base !== body(req).base) {
      record(w, req, 'saveConfig', 'ESTALE', { file: p.file });
      return reply.code(409).send({ error: { code: 'ESTALE', message: 'the file or the rules changed since the diff was read' } });
    }
    applySave(p);
    record(w, req, 'saveConfig', undefined, { file: p.file });
    return { ok: true, file: p.file };
  }, 'saveConfig');

  return { app, sampler };
}

/** Build and listen. */
export async function startConsole(cfg: HttpConfig, deps: ConsoleDeps): Promise<ConsoleServer> {
  const { app, sampler } = await buildConsole(cfg, deps);
  await app.listen({ host: cfg.host, port: cfg.port });
  if (cfg.console) sampler.start();
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const url = `${cfg.tls ? 'https' : 'http'}://${host}:${cfg.port}`;
  return {
    app,
    sampler,
    url,
    async close() {
      sampler.stop();
      await app.close();
      await deps.metrics.close();
    },
  };
}
