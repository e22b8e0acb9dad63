/**
 * Reloads (issue 13 items 2 and 3): the configuration is read and checked in a worker
 * thread with a time limit, while the daemon's own thread keeps running; applying is all
 * or nothing (a failure half-way undoes every change, health checking goes on); settings
 * that need a restart are named.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { ControlError } from '@tunvs/model';
import type { DirectorControl, ServiceInfo } from '@tunvs/model';
import { parseConfigText } from '@tunvs/keepalived';
import { ApplyError, ConfigReader, ServiceRunner, loadInWorker, needsRestart, checkConfig } from '../src/index.js';
import type { ServiceConfig } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lha-reload-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function director(): Director {
  const d = new Director({ links: [new MemoryLink('tun', 1500)], timers: false, sourceAddress: '10.10.1.1', now: () => 1000 });
  d.start();
  return d;
}

/** The table without counters, for comparing before and after. */
const table = (d: DirectorControl): unknown =>
  d.listServices().map((s: ServiceInfo) => ({ ...s, stats: null, dests: s.dests.map((x) => ({ ...x, stats: null })) }));

const VIP = '10.10.0.100';
const statics = (w: number, extra: ServiceConfig[] = []): ServiceConfig[] => [
  { protocol: 'tcp', addr: VIP, port: 80, scheduler: 'wlc', dests: [{ addr: '10.10.1.11', port: 80, method: 'masq', weight: w }, { addr: '10.10.1.12', port: 80, method: 'masq' }] },
  ...extra,
];

t.test('the configuration is read in a worker; the main thread keeps running; a timeout changes nothing', async (t) => {
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ services: statics(2) }));
  const r = await loadInWorker(good);
  t.ok(r.setup, 'read and checked in a worker');
  const reader = new ConfigReader();
  t.teardown(() => reader.close());
  t.ok((await reader.read(good)).setup, 'the daemon\'s reader, warm');
  t.same(r.setup!.config.services, checkConfig(good).setup!.config.services, 'the same result as in this thread');
  // a large file that takes the worker far longer than 300 ms to read and check
  const dests = Array.from({ length: 150000 }, (_, i) => ({ addr: `10.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 80, method: 'masq' }));
  const big = join(dir, 'big.json');
  writeFileSync(big, JSON.stringify({ services: [{ protocol: 'tcp', addr: VIP, port: 80, dests }] }, null, 1));
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const slow = await reader.read(big, 300);
  ticking = false;
  t.equal(slow.setup, null, 'given up');
  t.match(slow.messages[0], /took more than 0\.3 s: given up/);
  t.ok(turns > 20, `the event loop turned ${turns} times meanwhile`);
  t.ok((await reader.read(good)).setup, 'the next read works (a new worker)');
  const missing = await reader.read(join(dir, 'none.json'));
  t.equal(missing.setup, null);
  t.match(missing.messages[0], /cannot read: ENOENT/);
});

t.test('applying is all or nothing: a failure half-way restores the table exactly', async (t) => {
  const d = director();
  const run = new ServiceRunner(d, () => undefined);
  run.apply(statics(1, [{ fwmark: 7, scheduler: 'rr', dests: [{ addr: '10.10.2.1', port: 0, method: 'tunnel' }] }]), null);
  const before = table(d);
  // the director fails on the n-th change of the next apply
  for (let failAt = 1; failAt <= 5; failAt++) {
    let ops = 0;
    const flaky = new Proxy(d, {
      get(target, prop) {
        const v = Reflect.get(target, prop) as unknown;
        if (typeof v !== 'function') return v;
        const mutating = ['addService', 'editService', 'deleteService', 'addDest', 'editDest', 'deleteDest', 'setTimeouts'].includes(prop as string);
        return (...a: unknown[]) => {
          if (mutating && ++ops === failAt) throw new ControlError('ENOMEM', 'injected failure', String(prop));
          return (v as (...x: unknown[]) => unknown).apply(target, a);
        };
      },
    });
    const r2 = new ServiceRunner(flaky, () => undefined);
    // weight edit, a new service with a destination, a removed service and destination
    const next = [
      { ...statics(5)[0]!, dests: [{ addr: '10.10.1.11', port: 80, method: 'masq' as const, weight: 5 }, { addr: '10.10.1.13', port: 80, method: 'masq' as const }] },
      { protocol: 'udp' as const, addr: VIP, port: 53, scheduler: 'rr', dests: [{ addr: '10.10.1.11', port: 53, method: 'masq' as const }] },
    ];
    t.throws(() => r2.apply(next, null), ApplyError, `failure at change ${failAt}`);
    t.same(table(d), before, `after a failure at change ${failAt}: the table is as it was`);
  }
  const changes = run.apply([{ ...statics(5)[0]! }], null);
  t.ok(changes.length > 0, 'the same change applies when nothing fails');
  t.equal(d.getService({ protocol: 'tcp', addr: VIP, port: 80 }).dests.find((x) => x.addr === '10.10.1.11')!.weight, 5);
});

t.test('a failed apply leaves the running health checks in charge', async (t) => {
  const d = director();
  const timers = { setTimeout: (): unknown => 0, clearTimeout: (): void => undefined };
  const conf = (w: number): string => `virtual_server ${VIP} 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 10.10.1.11 80 {\n    weight ${w}\n  }\n}\n`;
  const run = new ServiceRunner(d, () => undefined, { timers, bootstrapDelayMs: 0 });
  run.apply([], parseConfigText(conf(2)).config);
  const hm = run.healthManager;
  t.ok(hm, 'a health manager runs');
  const before = table(d);
  const broken = new Proxy(d, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (prop === 'editDest') return () => {
        throw new ControlError('ENOMEM', 'injected', 'editDest');
      };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  // the same runner, driving a director that fails on edits
  (run as unknown as { director: DirectorControl }).director = broken;
  t.throws(() => run.apply([], parseConfigText(conf(9)).config), ApplyError);
  t.equal(run.healthManager, hm, 'the old manager still runs');
  t.same(table(d), before, 'the pool is as it was');
  run.stop();
});

t.test('settings a reload cannot change are named', async (t) => {
  const a = checkConfig(writeJson('a.json', { device: { name: 'kd0', kind: 'tun' }, socket: '/run/a.sock', services: [] })).setup!.config;
  const b = checkConfig(writeJson('b.json', { device: { name: 'kd1', kind: 'tap', mac: '02:00:00:00:00:09' }, socket: '/run/b.sock', connCapacity: 1024, services: [] })).setup!.config;
  const r = needsRestart(a, b);
  t.match(r.join('\n'), /device\.name: "kd0" -> "kd1"/);
  t.match(r.join('\n'), /device\.kind \(mode\): "tun" -> "tap"/);
  t.match(r.join('\n'), /socket: "\/run\/a\.sock" -> "\/run\/b\.sock"/);
  t.match(r.join('\n'), /connCapacity: null -> 1024/);
  t.same(needsRestart(a, a), []);
});

function writeJson(name: string, v: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(v));
  return p;
}
