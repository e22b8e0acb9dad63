/**
 * Scenario files: JSON and YAML read the same; errors name file:line and the field, in a
 * sentence; unknown fields are refused; events must make sense in order; --scale shortens
 * every time.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import { loadScenario, parseScenario, resolveScenario, scaleTime, ScenarioError } from '../src/index.js';

const QUALITY = createRequire(import.meta.url).resolve('@tunvs/sched-lab/examples/quality.json');

t.test('the example scenarios load', async (t) => {
  const q = loadScenario(QUALITY);
  t.equal(q.servers.length, 4);
  t.equal(q.schedulers.length, 14, 'all fourteen built-ins');
  t.equal(Math.round(q.clients.rate), 336, '70% of 480 connections/s');
  t.equal(q.clients.bursts[0]!.rate, 1.3 * 480);
  t.same(q.events.map((e) => e.action), ['fail', 'return', 'add']);
  loadScenario(QUALITY.replace('quality.json', 'million.json'));
  loadScenario(QUALITY.replace('quality.json', 'persistence.yaml'));
});

t.test('YAML and JSON give the same scenario', async (t) => {
  const json = '{"seed": 3, "duration": 10, "servers": [{"name": "a", "capacity": 2}], "clients": {"rate": 50}, "schedulers": ["wlc", {"scheduler": "sh", "flags": ["sh-port"], "label": "sh-port"}]}';
  const yaml = `seed: 3
duration: 10
servers:
  - name: a
    capacity: 2
clients:
  rate: 50
schedulers:
  - wlc
  - { scheduler: sh, flags: [sh-port], label: sh-port }
`;
  const a = parseScenario(json, 'a.json');
  const b = parseScenario(yaml, 'b.yaml');
  const strip = (s: ReturnType<typeof parseScenario>) => JSON.stringify({ ...s, file: '', raw: null, servers: s.servers.map((x) => ({ ...x, service: x.service.describe() })), clients: { ...s.clients, requests: s.clients.requests.describe(), think: s.clients.think.describe() } });
  t.equal(strip(a), strip(b));
});

t.test('errors name the file, the line and the field', async (t) => {
  const text = `{
  "duration": 10,
  "servers": [
    { "name": "a", "capacity": 1 },
    { "name": "b", "capacity": -2 }
  ],
  "clients": { "rate": 10 }
}`;
  t.throws(() => parseScenario(text, 's.json'), { message: 's.json:5: servers[1].capacity: must be a number > 0' });
  const cases: [string, RegExp][] = [
    ['{"duration": 10, "servers": [{"name": "a"}], "clients": {"rate": 1}, "colour": "red"}', /s\.json:1: colour: unknown field/],
    ['{"duration": 10,\n "servers": [{"name": "a", "service": {"type": "gamma"}}],\n "clients": {"rate": 1}}', /s\.json:2: servers\[0\]\.service: unknown distribution type "gamma"/],
    ['{"duration": 10, "servers": [{"name": "a"}], "clients": {"rate": 1}, "events": [{"at": 1, "server": "z", "action": "fail"}]}', /events\[0\]\.server: no server called 'z'/],
    ['{"duration": 10, "servers": [{"name": "a"}], "clients": {"rate": 1}, "events": [{"at": 1, "server": "a", "action": "add"}]}', /'a' is already in the service/],
    ['{"duration": 10, "servers": [{"name": "a"}], "clients": {"rate": 1, "load": 0.5}}', /'rate'.*'load'.*one of them/],
    ['{"duration": 10, "servers": [{"name": "a"}], "clients": {"rate": 1}, "schedulers": ["wlcc"]}', /unknown scheduler 'wlcc'/],
    ['{"duration": 10, "servers": [{"name": "a"}, {"name": "a"}], "clients": {"rate": 1}}', /two servers are called 'a'/],
    ['{"duration": 10, "servers": [{"name": "a"}], "clients": {"rate": 1}', /s\.json:1: /],
    ['{"duration": 10, "servers": [{"name": "a", "addr": "10.0.0.300"}], "clients": {"rate": 1}}', /servers\[0\]\.addr: /],
  ];
  for (const [text2, re] of cases) t.throws(() => parseScenario(text2, 's.json'), re, text2.slice(0, 60));
  try {
    parseScenario(cases[0]![0], 's.json');
  } catch (e) {
    t.ok(e instanceof ScenarioError);
  }
});

t.test('scaleTime shortens every time of the story', async (t) => {
  const q = loadScenario(QUALITY);
  const h = resolveScenario(scaleTime(q.raw, 0.5), 'half');
  t.equal(h.duration, 65);
  t.same(h.events.map((e) => e.at), [35, 45, 50]);
  t.equal(h.clients.bursts[0]!.at, 20);
  t.equal(h.phases[1]!.from, 20);
  t.equal(h.clients.rate, q.clients.rate, 'rates unchanged');
});
