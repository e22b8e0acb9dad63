/**
 * Scheduler plug-ins: loading a module by path, the checks on what it exports, the
 * built-in names it may not take, tunvsd's rule (root-owned file and directory chain that
 * no other user can write; refused with a sentence otherwise), and the conformance run.
 */
import t from 'tap';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginError, getScheduler, insecurePathReason, loadSchedulerPlugin, schedulerNames } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tunvs-plugin-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// a least-connection plug-in that keeps every rule
const GOOD = `
export const scheduler = {
  name: 'leastactive',
  description: 'fewest active connections, first on ties',
  create() {
    return {
      schedule(svc) {
        let best = null;
        for (const d of svc.dests) {
          if (d.weight <= 0 || (d.flags & 2) !== 0) continue;
          if (best === null || d.activeConns < best.activeConns) best = d;
        }
        return best;
      },
    };
  },
};
`;
// always the first destination, weight 0 or not
const BAD = `
export default { name: 'first', description: 'the head of the list', create: () => ({ schedule: (svc) => svc.dests[0] ?? null }) };
`;

function put(name: string, text: string, mode = 0o644): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

t.test('a plug-in is loaded by path and registered under its own name', async (t) => {
  const p = put('good.mjs', GOOD);
  const f = await loadSchedulerPlugin(p);
  t.equal(f.name, 'leastactive');
  t.equal(getScheduler('leastactive'), f, 'registered in the default registry');
  t.ok(schedulerNames().includes('leastactive'));
  t.equal(await loadSchedulerPlugin(p), f, 'loading the same module again is harmless');
});

t.test('what a module must export', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['none.mjs', 'export const x = 1;', /exports no scheduler/],
    ['noname.mjs', "export const scheduler = { description: 'd', create() {} };", /name must be/],
    ['longname.mjs', "export const scheduler = { name: 'a-very-long-scheduler-name', description: 'd', create() {} };", /name must be 1\.\.15/],
    ['nocreate.mjs', "export const scheduler = { name: 'nc', description: 'd' };", /no create/],
    ['taken.mjs', "export const scheduler = { name: 'wlc', description: 'd', create() { return { schedule: () => null }; } };", /belongs to a built-in scheduler/],
    ['throws.mjs', "throw new Error('boom');", /failed to load: boom/],
  ];
  for (const [file, text, re] of cases) {
    await t.rejects(loadSchedulerPlugin(put(file, text)), re, file);
  }
  await t.rejects(loadSchedulerPlugin(join(dir, 'absent.mjs')), { code: 'ENOENT' });
  await t.rejects(loadSchedulerPlugin(put('plug.ts', 'export {}')), { code: 'ETYPESCRIPT', message: /compile it first/ });
});

t.test("tunvsd's rule: root-owned, writable by no other user, directory chain too", { skip: process.getuid?.() !== 0 ? 'needs root (chown)' : false }, async (t) => {
  const sub = join(dir, 'secure');
  mkdirSync(sub, { mode: 0o755 });
  chmodSync(sub, 0o755);
  const p = join(sub, 'good.mjs');
  writeFileSync(p, GOOD);
  chmodSync(p, 0o644);
  t.equal(insecurePathReason(p), null, 'root-owned 0644 in root-owned 0755 directories (and sticky /tmp) is accepted');
  t.equal((await loadSchedulerPlugin(p, { secure: true, register: false })).name, 'leastactive', 'loaded (and its conformance run passed)');

  await t.rejects(loadSchedulerPlugin('relative/plug.mjs', { secure: true }), /absolute path/);
  chmodSync(p, 0o664);
  t.match(insecurePathReason(p), /writable by its group \(mode 0664\)/);
  chmodSync(p, 0o646);
  t.match(insecurePathReason(p), /writable by every user/);
  chmodSync(p, 0o644);
  chownSync(p, 65534, 65534);
  t.match(insecurePathReason(p), /owned by uid 65534, not root/);
  await t.rejects(loadSchedulerPlugin(p, { secure: true }), { code: 'EINSECURE', message: /owned by uid 65534/ });
  chownSync(p, 0, 0);
  chmodSync(sub, 0o777);
  t.match(insecurePathReason(p), new RegExp(`the directory ${sub} is writable by every user`));
  chmodSync(sub, 0o1777);
  t.equal(insecurePathReason(p), null, 'a sticky directory (like /tmp) is accepted');
  chmodSync(sub, 0o755);
  chownSync(sub, 65534, 65534);
  t.match(insecurePathReason(p), new RegExp(`the directory ${sub} is owned by uid 65534`));
  chownSync(sub, 0, 0);
});

t.test('a plug-in that breaks a shared rule is refused (tunvsd) with the decision that broke it', async (t) => {
  const p = put('bad.mjs', BAD);
  try {
    await loadSchedulerPlugin(p, { conformance: true, register: false });
    t.fail('should be refused');
  } catch (e) {
    t.ok(e instanceof PluginError);
    t.equal((e as PluginError).code, 'ERULES');
    t.match((e as Error).message, /scheduler 'first' breaks the shared rule '(weight-0|overloaded)' at decision \d+ of its conformance run: it picked /);
  }
  // without the conformance run (the lab checks every decision of its runs instead) it loads
  t.equal((await loadSchedulerPlugin(p, { register: false })).name, 'first');
});
