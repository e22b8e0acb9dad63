import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import { parseConfigText } from '@tunvs/keepalived';
import type { Checker } from '@tunvs/keepalived';
import type { ProbeFn, Timers } from '@tunvs/healthcheck';
import { ServiceRunner } from '../src/index.js';

/** Manual timers: `fire()` runs every due callback, then lets the probes settle. */
function manualTimers(): Timers & { fire(): Promise<void> } {
  let pending: { fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    setTimeout(fn: () => void): unknown {
      const id = next++;
      pending.push({ fn, id });
      return id;
    },
    clearTimeout(h: unknown): void {
      pending = pending.filter((p) => p.id !== h);
    },
    async fire(): Promise<void> {
      const now = pending;
      pending = [];
      for (const p of now) p.fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
}

const conf = (servers: [string, number][], extra = ''): string => `virtual_server 10.10.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
${extra}
${servers.map(([a, w]) => `    real_server ${a} 80 {\n        weight ${w}\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }`).join('\n')}
}
`;

function setup(): { d: Director; run: ServiceRunner; timers: ReturnType<typeof manualTimers>; down: Set<string> } {
  const d = new Director({ links: [new MemoryLink('tun', 1500)], timers: false, sourceAddress: '10.10.1.1', now: () => 1000 });
  d.start();
  const timers = manualTimers();
  const down = new Set<string>();
  const probe: ProbeFn = (c: Checker) => Promise.resolve(down.has(c.connectIp) ? { ok: false, detail: 'refused' } : { ok: true, detail: 'ok' });
  const run = new ServiceRunner(d, () => undefined, { timers, probe, bootstrapDelayMs: 0, random: () => 0 });
  return { d, run, timers, down };
}

const pool = (d: Director): Record<string, number> =>
  Object.fromEntries((d.listServices().find((s) => s.protocol === 'tcp')?.dests ?? []).map((x) => [x.addr, x.weight]));

t.test('keepalived services: initial pool, health changes, reload takes over the running pool', async (t) => {
  const { d, run, timers, down } = setup();
  const static1 = [{ protocol: 'udp' as const, addr: '10.10.0.100', port: 53, dests: [{ addr: '10.10.1.11', port: 53, method: 'masq' as const }] }];
  run.apply(static1, parseConfigText(conf([['10.10.1.11', 1], ['10.10.1.12', 2]])).config);
  t.same(pool(d), { '10.10.1.11': 1, '10.10.1.12': 2 }, 'initial pool');
  t.equal(d.listServices().length, 2, 'static UDP service too');

  down.add('10.10.1.11');
  await timers.fire();
  t.same(pool(d), { '10.10.1.12': 2 }, 'a failed check removes the server');

  // reload: .11 still configured (stays down until a check passes), .12 weight 3, .13 new
  const changes = run.apply(static1, parseConfigText(conf([['10.10.1.11', 1], ['10.10.1.12', 3], ['10.10.1.13', 1]])).config);
  t.same(pool(d), { '10.10.1.12': 3, '10.10.1.13': 1 }, 'the down server is not put back by the reload');
  t.same(changes, [], 'no service or static change');
  down.delete('10.10.1.11');
  await timers.fire();
  t.same(pool(d), { '10.10.1.11': 1, '10.10.1.12': 3, '10.10.1.13': 1 }, 'it returns once its check passes');

  // reload without .12: its leftover destination goes
  const c2 = run.apply([], parseConfigText(conf([['10.10.1.11', 1], ['10.10.1.13', 1]])).config);
  t.same(pool(d), { '10.10.1.11': 1, '10.10.1.13': 1 }, 'removed server deleted');
  t.match(c2, [{ action: 'delete-service', service: 'udp:10.10.0.100:53' }, { action: 'delete-dest', dest: '10.10.1.12:80' }]);

  // no keepalived configuration at all: the managed service goes too
  run.apply([], null);
  t.same(d.listServices(), [], 'everything removed');
  t.equal(run.healthManager, null);
  run.stop();
  d.stop();
});

t.test('inhibit_on_failure keeps a dead server at weight 0', async (t) => {
  const { d, run, timers, down } = setup();
  const k = conf([['10.10.1.11', 2], ['10.10.1.12', 1]]).replace('    real_server 10.10.1.11 80 {', '    real_server 10.10.1.11 80 {\n        inhibit_on_failure');
  run.apply([], parseConfigText(k).config);
  down.add('10.10.1.11');
  await timers.fire();
  t.same(pool(d), { '10.10.1.11': 0, '10.10.1.12': 1 });
  run.stop();
  d.stop();
});
