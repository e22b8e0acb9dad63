/**
 * Scenario files: what `tunvs-sched bench` simulates. JSON or YAML (the `yaml` package
 * reads both and gives line numbers); every field is checked, an unknown one is refused,
 * and errors name the file, the line and the field:
 *
 *   quality.json:14: servers[1].capacity: must be a number > 0
 *
 * Times are seconds. See the package README for every field.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { AddressError, formatIpv4, parseIpv4 } from '@tunvs/packet';
import { builtinSchedulers } from '@tunvs/schedulers';
import { DistError, makeDist } from './dist.js';
import type { Dist } from './dist.js';

/** A scenario that cannot be used: `file:line: field: what`. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** A real server of the scenario. */
export interface ServerSpec {
  name: string;
  addr: string;
  port: number;
  /** relative capacity (units); workers = capacity x workersPerUnit unless given */
  capacity: number;
  /** requests served at once */
  workers: number;
  /** IPVS weight (default: the number of workers) */
  weight: number;
  /** upper / lower connection thresholds (0 = none) */
  upper: number;
  lower: number;
  /** service time of one request, seconds */
  service: Dist;
  /** in the service from the start (false: joins with an `add` event) */
  present: boolean;
  /** longest accept queue; a connection arriving to a full queue is refused (0 = unbounded) */
  queueLimit: number;
}

/** What an event does to its server. */
export type EventAction = 'fail' | 'return' | 'add' | 'remove' | 'drain' | 'weight' | 'threshold';
/** The event actions, for messages. */
export const EVENT_ACTIONS: readonly EventAction[] = ['fail', 'return', 'add', 'remove', 'drain', 'weight', 'threshold'];

/** A change to one server at a time. */
export interface EventSpec {
  at: number;
  /** index into `servers` */
  server: number;
  action: EventAction;
  weight?: number;
  upper?: number;
  lower?: number;
  /** fail: set weight 0 instead of removing it (keepalived's inhibit_on_failure) */
  inhibit?: boolean;
}

/** Extra arrivals for a while (a flash crowd). */
export interface BurstSpec {
  at: number;
  duration: number;
  /** connections per second (resolved from `load` when given that way) */
  rate: number;
  load: number | null;
  /** new clients the burst brings (uniform over them); 0 = the regular clients */
  clients: number;
}

/** Which source ports a client uses. */
export type PortMode = 'sequential' | 'random' | 'fixed';

/** The clients: who connects, when, for how long. */
export interface ClientSpec {
  /** regular client addresses (Zipf-popular) */
  count: number;
  /** Zipf exponent s of their popularity (0 = uniform) */
  zipf: number;
  /** first client address (uint32) */
  addressBase: number;
  /** base arrival rate, connections per second (resolved from `load` when given that way) */
  rate: number;
  load: number | null;
  /** rate multiplier over time: [seconds, factor] points, linear in between */
  curve: [number, number][];
  bursts: BurstSpec[];
  ports: PortMode;
  /** share of clients that keep their connection for several requests (HTTP persistent connections) */
  persistentShare: number;
  /** requests per connection of a persistent client */
  requests: Dist;
  /** pause between two requests on one connection, seconds */
  think: Dist;
  /** how long a connection stays open at least (seconds), null = until its last response */
  duration: Dist | null;
}

/** One scheduler to compare: a built-in by name or a plug-in module, with service options. */
export interface SchedulerEntry {
  /** the name in the report ('' for a plug-in without one: its scheduler's name once loaded) */
  label: string;
  /** built-in name, or null for a plug-in (its name is known once loaded) */
  scheduler: string | null;
  /** absolute path of a plug-in module */
  plugin: string | null;
  flags: string[];
  persistence: number;
  netmask: string;
}

/** A named window of the run that the report summarises apart. */
export interface PhaseSpec {
  name: string;
  from: number;
  to: number;
}

/** Everything `simulate` needs, resolved and checked. */
export interface Scenario {
  file: string;
  name: string;
  description: string;
  seed: number;
  duration: number;
  service: { protocol: 'tcp' | 'udp'; vip: string; port: number; flags: string[]; persistence: number; netmask: string; onePacket: boolean };
  servers: ServerSpec[];
  events: EventSpec[];
  clients: ClientSpec;
  phases: PhaseSpec[];
  schedulers: SchedulerEntry[];
  conntrack: { capacity: number; timeouts: { tcp?: number; tcpfin?: number; udp?: number }; expireNodestConn: boolean; connReuseMode: number };
  sim: { sampleEvery: number; tickMs: number; workersPerUnit: number; movedWindow: number };
  /** dh/sh/mh flows moved on a server change over these pool sizes (the quality suite's table) */
  disruption: { servers: number[]; keys: number } | null;
  /** the scenario as written (plain data), for sweeps and overrides */
  raw: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
type Path = (string | number)[];

const pathText = (p: Path): string => p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');

/** Reads fields of the raw scenario with checks; errors name file:line and the field. */
class Reader {
  constructor(
    private readonly file: string,
    private readonly lineOf: (p: Path) => number,
  ) {}

  fail(p: Path, msg: string): never {
    const line = this.lineOf(p);
    throw new ScenarioError(`${this.file}${line ? ':' + line : ''}: ${pathText(p) || '(top)'}: ${msg}`);
  }

  obj(v: unknown, p: Path, keys: readonly string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(p, 'must be an object');
    for (const k of Object.keys(v as Obj)) if (!keys.includes(k)) this.fail([...p, k], `unknown field (known here: ${keys.join(', ')})`);
    return v as Obj;
  }

  arr(v: unknown, p: Path): unknown[] {
    if (!Array.isArray(v)) this.fail(p, 'must be a list');
    return v;
  }

  num(o: Obj, k: string, p: Path, def: number | undefined, check: (x: number) => boolean = () => true, what = 'a number'): number {
    const v = o[k];
    if (v === undefined) {
      if (def === undefined) this.fail([...p, k], 'is required');
      return def;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) this.fail([...p, k], `must be ${what}`);
    return v;
  }

  int(o: Obj, k: string, p: Path, def: number | undefined, min: number, max: number): number {
    return this.num(o, k, p, def, (x) => Number.isInteger(x) && x >= min && x <= max, `an integer ${min}..${max}`);
  }

  str(o: Obj, k: string, p: Path, def: string | undefined): string {
    const v = o[k];
    if (v === undefined) {
      if (def === undefined) this.fail([...p, k], 'is required');
      return def;
    }
    if (typeof v !== 'string') this.fail([...p, k], 'must be a string');
    return v;
  }

  bool(o: Obj, k: string, p: Path, def: boolean): boolean {
    const v = o[k];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail([...p, k], 'must be true or false');
    return v;
  }

  addr(o: Obj, k: string, p: Path, def: string | undefined): string {
    const s = this.str(o, k, p, def);
    try {
      return formatIpv4(parseIpv4(s));
    } catch (e) {
      return this.fail([...p, k], e instanceof AddressError ? e.message : String(e));
    }
  }

  dist(o: Obj, k: string, p: Path, def: unknown): Dist {
    const v = o[k] ?? def;
    if (v === undefined) this.fail([...p, k], 'is required');
    try {
      return makeDist(v);
    } catch (e) {
      return this.fail([...p, k], e instanceof DistError ? e.message : String(e));
    }
  }

  flags(o: Obj, k: string, p: Path): string[] {
    const v = o[k];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail([...p, k], 'must be a list of scheduler flags (e.g. ["sh-port"])');
    return v as string[];
  }
}

const TOP = ['name', 'description', 'seed', 'duration', 'service', 'servers', 'events', 'clients', 'phases', 'schedulers', 'conntrack', 'sim', 'disruption'];
const SERVICE = ['protocol', 'vip', 'port', 'flags', 'persistence', 'netmask', 'onePacket'];
const SERVER = ['name', 'addr', 'port', 'capacity', 'workers', 'weight', 'upper', 'lower', 'service', 'present', 'queueLimit'];
const EVENT = ['at', 'server', 'action', 'weight', 'upper', 'lower', 'inhibit'];
const CLIENTS = ['count', 'zipf', 'addressBase', 'rate', 'load', 'curve', 'bursts', 'ports', 'persistentShare', 'requests', 'think', 'duration'];
const BURST = ['at', 'duration', 'rate', 'load', 'clients'];
const PHASE = ['name', 'from', 'to'];
const ENTRY = ['label', 'scheduler', 'plugin', 'flags', 'persistence', 'netmask'];
const CONNTRACK = ['capacity', 'timeouts', 'expireNodestConn', 'connReuseMode'];
const TIMEOUTS = ['tcp', 'tcpfin', 'udp'];
const SIM = ['sampleEvery', 'tickMs', 'workersPerUnit', 'movedWindow'];
const DISRUPTION = ['servers', 'keys'];

const MAX_TIME = 30 * 86400;

/** Mean requests per connection of the client mix. */
export function meanRequests(c: ClientSpec): number {
  return 1 - c.persistentShare + c.persistentShare * c.requests.mean;
}

/** Connections per second a server completes when it is always busy. */
export function serverRate(s: ServerSpec, c: ClientSpec): number {
  return s.workers / (s.service.mean * meanRequests(c));
}

/** Connections per second the servers present at the start complete together. */
export function initialCapacity(servers: ServerSpec[], c: ClientSpec): number {
  return servers.filter((s) => s.present).reduce((a, s) => a + serverRate(s, c), 0);
}

/**
 * Check and resolve a scenario given as plain data. `file` is used in messages and to
 * resolve plug-in paths; `lineOf` maps a field path to its line (0 when unknown).
 */
export function resolveScenario(raw: unknown, file: string, lineOf: (p: Path) => number = () => 0): Scenario {
  const R = new Reader(file, lineOf);
  const top = R.obj(raw, [], TOP);
  const name = R.str(top, 'name', [], 'scenario');
  const description = R.str(top, 'description', [], '');
  const seed = R.int(top, 'seed', [], 1, 0, 0xffffffff);
  const duration = R.num(top, 'duration', [], undefined, (x) => x > 0 && x <= MAX_TIME, `seconds > 0 (at most ${MAX_TIME})`);

  // the simulation's own knobs
  const simO = R.obj(top['sim'] ?? {}, ['sim'], SIM);
  const sim = {
    sampleEvery: R.num(simO, 'sampleEvery', ['sim'], 1, (x) => x >= 0.01 && x <= duration, 'seconds in 0.01..duration'),
    tickMs: R.num(simO, 'tickMs', ['sim'], 100, (x) => x >= 1 && x <= 1000, 'milliseconds 1..1000'),
    workersPerUnit: R.int(simO, 'workersPerUnit', ['sim'], 8, 1, 1_000_000),
    movedWindow: R.num(simO, 'movedWindow', ['sim'], 30, (x) => x > 0, 'seconds > 0'),
  };

  const svcO = R.obj(top['service'] ?? {}, ['service'], SERVICE);
  const protocol = R.str(svcO, 'protocol', ['service'], 'tcp');
  if (protocol !== 'tcp' && protocol !== 'udp') R.fail(['service', 'protocol'], 'must be "tcp" or "udp"');
  const service = {
    protocol: protocol as 'tcp' | 'udp',
    vip: R.addr(svcO, 'vip', ['service'], '10.100.0.1'),
    port: R.int(svcO, 'port', ['service'], 80, 1, 65535),
    flags: R.flags(svcO, 'flags', ['service']),
    persistence: R.int(svcO, 'persistence', ['service'], 0, 0, 2678400),
    netmask: R.addr(svcO, 'netmask', ['service'], '255.255.255.255'),
    onePacket: R.bool(svcO, 'onePacket', ['service'], false),
  };

  const serversRaw = R.arr(top['servers'], ['servers']);
  if (serversRaw.length === 0) R.fail(['servers'], 'needs at least one server');
  if (serversRaw.length > 250) R.fail(['servers'], 'at most 250 servers');
  const names = new Set<string>();
  const addrs = new Set<string>();
  const servers: ServerSpec[] = serversRaw.map((v, i) => {
    const p: Path = ['servers', i];
    const o = R.obj(v, p, SERVER);
    const sname = R.str(o, 'name', p, `rs${i + 1}`);
    if (names.has(sname)) R.fail([...p, 'name'], `two servers are called '${sname}'`);
    names.add(sname);
    const addr = R.addr(o, 'addr', p, formatIpv4((parseIpv4('10.200.1.0') + i + 1) >>> 0));
    const port = R.int(o, 'port', p, service.port, 0, 65535);
    if (addrs.has(`${addr}:${port}`)) R.fail([...p, 'addr'], `two servers are ${addr}:${port}`);
    addrs.add(`${addr}:${port}`);
    const capacity = R.num(o, 'capacity', p, 1, (x) => x > 0 && x <= 1e6, 'a number > 0');
    const workers = R.int(o, 'workers', p, Math.max(1, Math.round(capacity * sim.workersPerUnit)), 1, 10_000_000);
    const upper = R.int(o, 'upper', p, 0, 0, 0x7fffffff);
    const lower = R.int(o, 'lower', p, 0, 0, 0x7fffffff);
    if (upper > 0 && lower > upper) R.fail([...p, 'lower'], 'must not exceed upper');
    return {
      name: sname,
      addr,
      port,
      capacity,
      workers,
      weight: R.int(o, 'weight', p, workers, 0, 65535),
      upper,
      lower,
      service: R.dist(o, 'service', p, { type: 'exponential', mean: 0.1 }),
      present: R.bool(o, 'present', p, true),
      queueLimit: R.int(o, 'queueLimit', p, 0, 0, 100_000_000),
    };
  });
  if (!servers.some((s) => s.present)) R.fail(['servers'], 'no server is present at the start');

  const events: EventSpec[] = R.arr(top['events'] ?? [], ['events']).map((v, i) => {
    const p: Path = ['events', i];
    const o = R.obj(v, p, EVENT);
    const at = R.num(o, 'at', p, undefined, (x) => x >= 0 && x <= duration, `seconds in 0..duration (${duration})`);
    const sname = R.str(o, 'server', p, undefined);
    const server = servers.findIndex((s) => s.name === sname);
    if (server < 0) R.fail([...p, 'server'], `no server called '${sname}' (servers: ${servers.map((s) => s.name).join(', ')})`);
    const action = R.str(o, 'action', p, undefined) as EventAction;
    if (!EVENT_ACTIONS.includes(action)) R.fail([...p, 'action'], `must be one of ${EVENT_ACTIONS.join(', ')}`);
    const e: EventSpec = { at, server, action };
    const has = (k: string): boolean => o[k] !== undefined;
    if (action === 'weight') e.weight = R.int(o, 'weight', p, undefined, 0, 65535);
    else if (has('weight') && action !== 'return' && action !== 'add') R.fail([...p, 'weight'], `is for 'weight', 'return' and 'add' events`);
    else if (has('weight')) e.weight = R.int(o, 'weight', p, undefined, 0, 65535);
    if (action === 'threshold') {
      if (!has('upper') && !has('lower')) R.fail(p, "a 'threshold' event sets 'upper' and/or 'lower'");
      e.upper = R.int(o, 'upper', p, servers[server]!.upper, 0, 0x7fffffff);
      e.lower = R.int(o, 'lower', p, servers[server]!.lower, 0, 0x7fffffff);
    } else {
      if (has('upper')) R.fail([...p, 'upper'], "is for 'threshold' events");
      if (has('lower')) R.fail([...p, 'lower'], "is for 'threshold' events");
    }
    if (has('inhibit')) {
      if (action !== 'fail') R.fail([...p, 'inhibit'], "is for 'fail' events");
      e.inhibit = R.bool(o, 'inhibit', p, false);
    }
    return e;
  });
  // the order of the file for equal times, then by time
  const order = events.map((e, i) => ({ e, i }));
  order.sort((a, b) => a.e.at - b.e.at || a.i - b.i);
  const sortedEvents = order.map((x) => x.e);
  checkEventOrder(sortedEvents, servers, (i, msg) => R.fail(['events', order[i]!.i], msg));

  const cO = R.obj(top['clients'] ?? {}, ['clients'], CLIENTS);
  const cp: Path = ['clients'];
  if ((cO['rate'] === undefined) === (cO['load'] === undefined)) R.fail(cp, "give the arrival rate as 'rate' (connections per second) or 'load' (share of the servers' capacity), one of them");
  const ports = R.str(cO, 'ports', cp, 'sequential');
  if (ports !== 'sequential' && ports !== 'random' && ports !== 'fixed') R.fail([...cp, 'ports'], 'must be "sequential", "random" or "fixed"');
  const curveRaw = R.arr(cO['curve'] ?? [], [...cp, 'curve']);
  const curve = curveRaw.map((pt, i): [number, number] => {
    const q = pt as unknown[];
    if (!Array.isArray(q) || q.length !== 2 || typeof q[0] !== 'number' || typeof q[1] !== 'number' || !(q[1] >= 0) || !(q[0] >= 0))
      R.fail([...cp, 'curve', i], 'a point is [seconds, factor >= 0]');
    const [t, m] = q as [number, number];
    if (i > 0 && t < (curveRaw[i - 1] as number[])[0]!) R.fail([...cp, 'curve', i], 'points must be in time order');
    return [t, m];
  });
  const clients: ClientSpec = {
    count: R.int(cO, 'count', cp, 10000, 1, 16_000_000),
    zipf: R.num(cO, 'zipf', cp, 1, (x) => x >= 0 && x <= 10, 'a number 0..10'),
    addressBase: parseIpv4(R.addr(cO, 'addressBase', cp, '10.0.0.0')),
    rate: 0,
    load: null,
    curve,
    bursts: [],
    ports: ports as PortMode,
    persistentShare: R.num(cO, 'persistentShare', cp, 0, (x) => x >= 0 && x <= 1, 'a share 0..1'),
    requests: R.dist(cO, 'requests', cp, { type: 'geometric', mean: 5 }),
    think: R.dist(cO, 'think', cp, { type: 'exponential', mean: 1 }),
    duration: cO['duration'] === undefined ? null : R.dist(cO, 'duration', cp, undefined),
  };
  if (clients.requests.type !== 'geometric' && clients.requests.type !== 'constant') R.fail([...cp, 'requests'], 'requests per connection: geometric or a constant');
  const cap = initialCapacity(servers, clients);
  if (cO['rate'] !== undefined) clients.rate = R.num(cO, 'rate', cp, undefined, (x) => x >= 0, 'connections per second >= 0');
  else {
    clients.load = R.num(cO, 'load', cp, undefined, (x) => x >= 0 && x <= 100, 'a share of capacity 0..100');
    clients.rate = clients.load * cap;
  }
  let extraClients = 0;
  clients.bursts = R.arr(cO['bursts'] ?? [], [...cp, 'bursts']).map((v, i) => {
    const p: Path = [...cp, 'bursts', i];
    const o = R.obj(v, p, BURST);
    if ((o['rate'] === undefined) === (o['load'] === undefined)) R.fail(p, "a burst has 'rate' or 'load', one of them");
    const at = R.num(o, 'at', p, undefined, (x) => x >= 0 && x < duration, 'seconds in 0..duration');
    const b: BurstSpec = {
      at,
      duration: R.num(o, 'duration', p, undefined, (x) => x > 0, 'seconds > 0'),
      rate: 0,
      load: null,
      clients: R.int(o, 'clients', p, 0, 0, 16_000_000),
    };
    if (o['rate'] !== undefined) b.rate = R.num(o, 'rate', p, undefined, (x) => x >= 0, 'connections per second >= 0');
    else {
      b.load = R.num(o, 'load', p, undefined, (x) => x >= 0 && x <= 100, 'a share of capacity 0..100');
      b.rate = b.load * cap;
    }
    extraClients += b.clients;
    return b;
  });
  if (clients.count + extraClients > 16_000_000) R.fail([...cp, 'bursts'], 'more than 16 million client addresses in all');
  if (clients.addressBase + clients.count + extraClients > 0xffffffff) R.fail([...cp, 'addressBase'], 'the client addresses run past 255.255.255.255');

  const phases: PhaseSpec[] = R.arr(top['phases'] ?? [], ['phases']).map((v, i) => {
    const p: Path = ['phases', i];
    const o = R.obj(v, p, PHASE);
    const from = R.num(o, 'from', p, undefined, (x) => x >= 0 && x <= duration, 'seconds in 0..duration');
    const to = R.num(o, 'to', p, undefined, (x) => x > from && x <= duration, `seconds in ${from}..duration`);
    return { name: R.str(o, 'name', p, `phase ${i + 1}`), from, to };
  });

  const schedulers = readSchedulers(R, top['schedulers'] ?? 'all', file, service);

  const ctO = R.obj(top['conntrack'] ?? {}, ['conntrack'], CONNTRACK);
  const toO = R.obj(ctO['timeouts'] ?? {}, ['conntrack', 'timeouts'], TIMEOUTS);
  const timeouts: { tcp?: number; tcpfin?: number; udp?: number } = {};
  for (const k of TIMEOUTS) if (toO[k] !== undefined) timeouts[k as 'tcp'] = R.int(toO, k, ['conntrack', 'timeouts'], undefined, 1, 2678400);
  const conntrack = {
    capacity: R.int(ctO, 'capacity', ['conntrack'], 0, 0, 1 << 26),
    timeouts,
    expireNodestConn: R.bool(ctO, 'expireNodestConn', ['conntrack'], false),
    connReuseMode: R.int(ctO, 'connReuseMode', ['conntrack'], 1, 0, 3),
  };

  let disruption: Scenario['disruption'] = null;
  if (top['disruption'] !== undefined) {
    const o = R.obj(top['disruption'], ['disruption'], DISRUPTION);
    const sizes = R.arr(o['servers'] ?? [10, 100, 1000], ['disruption', 'servers']);
    sizes.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 2 || x > 4000) R.fail(['disruption', 'servers', i], 'pool sizes are integers 2..4000');
    });
    disruption = { servers: sizes as number[], keys: R.int(o, 'keys', ['disruption'], 100_000, 100, 10_000_000) };
  }

  return { file, name, description, seed, duration, service, servers, events: sortedEvents, clients, phases, schedulers, conntrack, sim, disruption, raw: top };
}

/** Events must make sense in order: fail/remove only what is in, add/return only what is out. */
function checkEventOrder(events: EventSpec[], servers: ServerSpec[], fail: (i: number, msg: string) => never): void {
  const inService = servers.map((s) => s.present);
  const failed = servers.map(() => false);
  const drained = servers.map(() => false);
  events.forEach((e, i) => {
    const s = servers[e.server]!;
    switch (e.action) {
      case 'fail':
        if (!inService[e.server] && !e.inhibit) fail(i, `'${s.name}' is not in the service at ${e.at} s`);
        if (!e.inhibit) inService[e.server] = false;
        failed[e.server] = true;
        break;
      case 'remove':
        if (!inService[e.server]) fail(i, `'${s.name}' is not in the service at ${e.at} s`);
        inService[e.server] = false;
        break;
      case 'return':
        if (!failed[e.server] && !drained[e.server] && inService[e.server]) fail(i, `'${s.name}' has not failed, left or been drained before ${e.at} s`);
        inService[e.server] = true;
        failed[e.server] = false;
        drained[e.server] = false;
        break;
      case 'drain':
        if (!inService[e.server]) fail(i, `'${s.name}' is not in the service at ${e.at} s`);
        drained[e.server] = true;
        break;
      case 'add':
        if (inService[e.server]) fail(i, `'${s.name}' is already in the service at ${e.at} s (give it "present": false)`);
        inService[e.server] = true;
        break;
      default:
        if (!inService[e.server]) fail(i, `'${s.name}' is not in the service at ${e.at} s`);
    }
  });
}

function readSchedulers(R: Reader, v: unknown, file: string, service: Scenario['service']): SchedulerEntry[] {
  const all = (): SchedulerEntry[] => builtinSchedulers.map((f) => ({ label: f.name, scheduler: f.name, plugin: null, flags: [], persistence: service.persistence, netmask: service.netmask }));
  if (v === 'all') return all();
  const list = R.arr(v, ['schedulers']);
  if (list.length === 0) R.fail(['schedulers'], 'needs at least one scheduler (or "all")');
  const out: SchedulerEntry[] = [];
  list.forEach((x, i) => {
    const p: Path = ['schedulers', i];
    if (x === 'all') {
      out.push(...all());
      return;
    }
    if (typeof x === 'string') {
      if (!builtinSchedulers.some((f) => f.name === x)) R.fail(p, `unknown scheduler '${x}' (built-in: ${builtinSchedulers.map((f) => f.name).join(', ')}; a plug-in is {"plugin": "path/to/module.js"})`);
      out.push({ label: x, scheduler: x, plugin: null, flags: [], persistence: service.persistence, netmask: service.netmask });
      return;
    }
    const o = R.obj(x, p, ENTRY);
    if ((o['scheduler'] === undefined) === (o['plugin'] === undefined)) R.fail(p, "an entry names a built-in 'scheduler' or a 'plugin' module path, one of them");
    let scheduler: string | null = null;
    let plugin: string | null = null;
    if (o['scheduler'] !== undefined) {
      scheduler = R.str(o, 'scheduler', p, undefined);
      if (!builtinSchedulers.some((f) => f.name === scheduler)) R.fail([...p, 'scheduler'], `unknown scheduler '${scheduler}'`);
    } else plugin = resolvePath(dirname(file), R.str(o, 'plugin', p, undefined));
    out.push({
      // a plug-in without a label is called by its scheduler's name once loaded
      label: R.str(o, 'label', p, scheduler ?? ''),
      scheduler,
      plugin,
      flags: o['flags'] !== undefined ? R.flags(o, 'flags', p) : [],
      persistence: R.int(o, 'persistence', p, service.persistence, 0, 2678400),
      netmask: R.addr(o, 'netmask', p, service.netmask),
    });
  });
  const labels = new Set<string>();
  out.forEach((e, i) => {
    if (e.label !== '' && labels.has(e.label)) R.fail(['schedulers', i], `two entries are labelled '${e.label}' (give one a "label")`);
    labels.add(e.label);
  });
  return out;
}

/** Parse scenario text (JSON or YAML); `file` names it in messages. */
export function parseScenario(text: string, file = '<scenario>'): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = lc.linePos(e.pos[0]).line;
    throw new ScenarioError(`${file}:${line}: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const lineOf = (p: Path): number => {
    // the deepest node of the path that exists
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && Array.isArray(node.range)) return lc.linePos(node.range[0]).line;
      if (n === 0) {
        const c = doc.contents as { range?: [number, number, number] } | null;
        return c?.range ? lc.linePos(c.range[0]).line : 0;
      }
    }
    return 0;
  };
  return resolveScenario(raw, file, lineOf);
}

/** Read and check a scenario file. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScenarioError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseScenario(text, path);
}

/**
 * The scenario with every time multiplied by `f` (duration, events, bursts, curve points,
 * phases; rates and service times unchanged): a shorter run of the same story.
 */
export function scaleTime(raw: Record<string, unknown>, f: number): Record<string, unknown> {
  const c = structuredClone(raw) as Obj;
  const mul = (o: Obj | undefined, k: string): void => {
    if (o && typeof o[k] === 'number') o[k] = (o[k] as number) * f;
  };
  mul(c, 'duration');
  for (const e of (c['events'] as Obj[] | undefined) ?? []) mul(e, 'at');
  for (const p of (c['phases'] as Obj[] | undefined) ?? []) {
    mul(p, 'from');
    mul(p, 'to');
  }
  const cl = c['clients'] as Obj | undefined;
  if (cl) {
    for (const b of (cl['bursts'] as Obj[] | undefined) ?? []) {
      mul(b, 'at');
      mul(b, 'duration');
    }
    if (Array.isArray(cl['curve'])) cl['curve'] = (cl['curve'] as [number, number][]).map(([t, m]) => [t * f, m]);
  }
  const sim = c['sim'] as Obj | undefined;
  if (sim && typeof sim['sampleEvery'] === 'number') sim['sampleEvery'] = Math.max(0.01, (sim['sampleEvery'] as number) * f);
  return c;
}
