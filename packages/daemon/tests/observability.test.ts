/**
 * tunvsd's observability hook (http.ts) exists only for a daemon that serves HTTP: without
 * it tunvsd loads neither @tunvs/metrics nor @tunvs/console (what they cost at start-up),
 * counts nothing and lets the HealthManager probe with its defaults. The static imports of
 * the built tunvsd are checked through a resolve hook in a child process.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Observability } from '../src/http.js';
import type { RunningDaemon } from '../src/daemon.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const TUNVSD = resolve(HERE, '../dist/bin/tunvsd.js');
const log = (): void => {};

/** A `--import` that registers a resolve hook appending every resolved URL to $RESOLVED_LOG. */
const RECORDER = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  appendFileSync(process.env.RESOLVED_LOG, r.url + '\\\\n');
  return r;
}\`));
`)}`;

t.test('tunvsd loads neither @tunvs/metrics nor @tunvs/console with its program', { skip: !existsSync(TUNVSD) && 'packages/daemon is not built (npx tsc -b)' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunvs-obs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'resolved.txt');
  // --help: every static import is loaded, then main() prints the usage and returns
  const r = spawnSync(process.execPath, ['--import', RECORDER, TUNVSD, '--help'], { encoding: 'utf8', env: { ...process.env, RESOLVED_LOG: file }, timeout: 30_000 });
  t.equal(r.status, 0, `tunvsd --help ${r.stderr}`);
  const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  t.ok(urls.some((u) => /\/packages\/daemon\/dist\/daemon\.js$/.test(u)), 'the recorder saw the daemon load');
  t.same(urls.filter((u) => /\/packages\/metrics\/|\/node_modules\/prom-client\//.test(u)), [], 'no @tunvs/metrics, no prom-client');
  t.same(urls.filter((u) => /\/packages\/console\//.test(u) && !/\/packages\/console\/dist\/config\.js$/.test(u)), [], '@tunvs/console: only its configuration parser');
  t.end();
});

t.test('without HTTP: no feeds, no health tracker, no metrics after start; the HealthManager keeps its defaults', async (t) => {
  const obs = await Observability.create(log, false);
  t.equal(obs.feeds, null);
  t.equal(obs.health, null);
  t.same(obs.healthOptions, {}, 'the HealthManager probes with its own default probe');
  obs.onDirectorEvent({ type: 'serviceAdded' });
  const d = { config: { services: [] } } as unknown as RunningDaemon;
  await obs.start(d, 'x.json', 'json');
  t.equal(obs.metrics, null, 'nothing collects');
  t.equal(obs.server, null);
  await obs.stop();
});

t.test('with HTTP: feeds and the health tracker from the start (the runtimes and the HealthManager register before start)', async (t) => {
  const obs = await Observability.create(log, true);
  t.ok(obs.feeds, 'feeds');
  t.ok(obs.health, 'health tracker');
  t.type(obs.healthOptions.probe, 'function', 'the tracker times every probe');
  await obs.stop();
});
