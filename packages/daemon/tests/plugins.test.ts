/**
 * tunvsd and scheduler plug-ins (`"scheduler": "/path/module.js"` in the JSON
 * configuration): only an absolute path to a root-owned file that no other user can write,
 * in a directory chain no other user can write, and only a plug-in that keeps the shared
 * rules; each refusal is one sentence naming the service and the file. A loaded plug-in
 * runs under its own name, so reloads see no change.
 */
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigPlugins, ConfigError, parseConfig, PluginSchedulers } from '../src/index.js';

const root = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'tunvsd-plugin-'));
chmodSync(dir, 0o755);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `export const scheduler = {
  name: 'fewest',
  description: 'fewest active connections per weight',
  create: () => ({
    schedule(svc) {
      let best = null;
      for (const d of svc.dests) {
        if (d.weight <= 0 || (d.flags & 2) !== 0) continue;
        if (best === null || d.activeConns * best.weight < best.activeConns * d.weight) best = d;
      }
      return best;
    },
  }),
};
`;
const BAD = "export const scheduler = { name: 'head', description: 'the first server', create: () => ({ schedule: (svc) => svc.dests[0] ?? null }) };\n";

function put(name: string, text: string, mode = 0o644): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

const conf = (scheduler: string): string =>
  JSON.stringify({ device: { name: 'tunvs0' }, services: [{ protocol: 'tcp', addr: '10.10.0.100', port: 80, scheduler, dests: [{ addr: '10.10.1.11', port: 80, method: 'masq' }] }] });

t.test('the configuration check refuses a relative or insecure plug-in path with a sentence', async (t) => {
  t.throws(() => parseConfig(conf('plugins/x.js'), 'tunvsd.json'), { message: 'tunvsd.json:1: error: services[0].scheduler: the scheduler plug-in plugins/x.js must be named by an absolute path' });
  t.throws(() => parseConfig(conf(join(dir, 'absent.js')), 'tunvsd.json'), /services\[0\]\.scheduler: .*no such file/);
  const open = put('open.mjs', GOOD, 0o666);
  t.throws(() => parseConfig(conf(open), 'tunvsd.json'), ConfigError);
  t.throws(() => parseConfig(conf(open), 'tunvsd.json'), /writable by every user \(mode 0666\)/);
  t.doesNotThrow(() => parseConfig(conf('wlc'), 'tunvsd.json'), 'built-in names are not paths');
});

t.test('a good plug-in is loaded and the service runs under its name; reloads keep it', { skip: root ? false : 'needs root (the plug-in must be root-owned)' }, async (t) => {
  const logs: [string, string, Record<string, unknown> | undefined][] = [];
  const ps = new PluginSchedulers((l, m, f) => logs.push([l, m, f]));
  const path = put('fewest.mjs', GOOD);
  const cfg = parseConfig(conf(path), 'tunvsd.json');
  const r = await ps.resolve(cfg);
  t.equal(r.services[0]!.scheduler, 'fewest');
  t.equal(cfg.services[0]!.scheduler, path, 'the configuration read is left as it was');
  t.match(logs[0], ['info', 'scheduler plug-in loaded', { path, scheduler: 'fewest' }]);
  const again = await ps.resolve(parseConfig(conf(path), 'tunvsd.json'));
  t.equal(again.services[0]!.scheduler, 'fewest');
  t.equal(logs.length, 1, 'loaded once');
  utimesSync(path, new Date(), new Date(Date.now() + 5000));
  await ps.resolve(parseConfig(conf(path), 'tunvsd.json'));
  t.match(logs[1], ['warn', /changed on disk.*restarted/]);
});

t.test('a plug-in that breaks a shared rule is refused, naming the decision', { skip: root ? false : 'needs root (the plug-in must be root-owned)' }, async (t) => {
  const ps = new PluginSchedulers(() => {});
  const path = put('head.mjs', BAD);
  await t.rejects(ps.resolve(parseConfig(conf(path), 'tunvsd.json')), /^services\[0\]\.scheduler: .*head\.mjs: scheduler 'head' breaks the shared rule '(weight-0|overloaded|null-while-eligible)' at decision \d+ of its conformance run/);
  const taken = put('taken.mjs', "export const scheduler = { name: 'rr', description: 'x', create: () => ({ schedule: () => null }) };\n");
  await t.rejects(ps.resolve(parseConfig(conf(taken), 'tunvsd.json')), /the name 'rr' belongs to a built-in scheduler/);
});

t.test('--config-test loads a plug-in and puts it through the shared rules, as the start does', { skip: root ? false : 'needs root (the plug-in must be root-owned)' }, async (t) => {
  const file = join(dir, 'pl.json');
  const bad = put('head2.mjs', BAD.replace("'head'", "'head2'"));
  writeFileSync(file, JSON.stringify(JSON.parse(conf(bad)), null, 1));
  const out: string[] = [];
  t.equal(await checkConfigPlugins(file, (l) => out.push(l)), 1, 'a JSON configuration error');
  t.match(out.join('\n'), /pl\.json:\d+: error: scheduler: .*head2\.mjs: scheduler 'head2' breaks the shared rule/);
  const line = Number(/pl\.json:(\d+):/.exec(out[0] ?? '')?.[1]);
  t.ok(line > 0, `at the line naming the plug-in (${line})`);
  writeFileSync(file, conf(put('fewest2.mjs', GOOD.replace("'fewest'", "'fewest2'"))));
  const ok: string[] = [];
  t.equal(await checkConfigPlugins(file, (l) => ok.push(l)), 0, 'a good plug-in passes');
  t.same(ok, []);
});
