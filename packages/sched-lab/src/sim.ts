/**
 * One scheduler through one scenario: a discrete-event simulation of clients, the
 * director and real servers with queues.
 *
 * Nothing of the director is modelled: the service and its destinations live in the
 * engine's ServiceTable, every new connection goes through the engine's scheduleFlow (the
 * kernel's ip_vs_schedule, persistence templates included) into the ConnTable of
 * @tunvs/conntrack, and its packets move the kernel's TCP states there, so active and
 * inactive counters, OVERLOAD, templates and timeouts behave as in the kernel. Only the
 * clients and the servers are simulated:
 *
 *   - a connection's handshake (SYN, SYN+ACK, ACK) passes at its arrival; then it sends
 *     its requests one after another (several with a pause between them for a persistent
 *     client), stays open until its minimum duration if the scenario gives one, and closes
 *     (TIME_WAIT: inactive, expired later by the table's timers);
 *   - a server serves `workers` requests at once, the others wait in its FIFO queue; a
 *     request's service time is drawn from the server's distribution;
 *   - a failing server resets its connections (their entries are expired, as after an
 *     RST) and leaves the service (or gets weight 0 with `inhibit`).
 *
 * Every scheduler decision is checked against the shared rules (@tunvs/schedulers'
 * DecisionRules); a broken rule is recorded with the number of the decision.
 */
import { ServiceTable, SchedResult, scheduleFlow } from '@tunvs/engine';
import type { FlowPacket, VirtualService } from '@tunvs/engine';
import { ConnTable, DestCheck, TcpFlag, TcpState } from '@tunvs/conntrack';
import { Proto } from '@tunvs/model';
import type { Dest, Service } from '@tunvs/model';
import { parseIpv4 } from '@tunvs/packet';
import { seededRandom } from '@tunvs/scheduler';
import type { SchedPacket, SchedulerFactory, SchedulerInstance } from '@tunvs/scheduler';
import { DecisionRules } from '@tunvs/schedulers';
import { seedScheduler } from '@tunvs/replay';
import { EventHeap } from './heap.js';
import type { EventAction, Scenario, SchedulerEntry } from './scenario.js';
import { meanRequests, serverRate } from './scenario.js';
import { FloatList, round, summarize } from './stats.js';
import type { Summary } from './stats.js';
import { GeneratedArrivals, isPersistentClient } from './workload.js';
import type { ArrivalSource } from './workload.js';

/** A broken shared rule, with the decision that broke it. */
export interface Violation {
  /** 1-based number of the scheduler decision (call of schedule()) */
  decision: number;
  /** simulated time, seconds */
  time: number;
  rule: string;
  message: string;
}

/** What happened at one server event, and how many returning clients changed server. */
export interface EventResult {
  at: number;
  action: EventAction;
  server: string;
  /** clients seen before and again within the window after the event */
  clients: number;
  /** share of them whose new connection went to another server than their last one */
  moved: number | null;
  /** share that had to move (their server left) or would move to reach the new weights */
  ideal: number | null;
}

/** Figures of one phase of the run. */
export interface PhaseResult {
  name: string;
  from: number;
  to: number;
  max_over_mean: number;
  rejected: number;
  wait_ms: Summary;
  slowest_wait_ms: Summary;
}

/** Everything one scheduler did in one scenario (rounded; deterministic for a seed). */
export interface RunResult {
  label: string;
  scheduler: string;
  plugin: string | null;
  flags: string[];
  persistence: number;
  /** the kernel exceptions to the shared rules this scheduler has (none for plug-ins) */
  allowances: string[];
  connections: {
    attempted: number;
    scheduled: number;
    /** the scheduler found no destination (the kernel answers ICMP port unreachable) */
    rejected: number;
    rejected_share: number;
    table_full: number;
    refused_by_server: number;
    reset_by_failure: number;
  };
  requests: { served: number };
  /** share of connections per server, and each server's share of the capacity over the run */
  share: Record<string, number>;
  capacity_share: Record<string, number>;
  /** half the sum of |share - capacity share| (0 = exactly by capacity) */
  share_error: number;
  load: {
    /** capacity-normalised load (in service + queued, per worker): max over servers / mean, averaged over samples */
    max_over_mean: number;
    max_over_mean_peak: number;
    /** per sample (sim.sampleEvery) */
    series: number[];
    per_server: Record<string, number[]>;
  };
  wait_ms: Summary;
  response_ms: Summary;
  slowest: { server: string; wait_ms: Summary; max_queue: number };
  per_server: Record<string, { connections: number; requests: number; wait_ms: Summary; max_queue: number }>;
  phases: PhaseResult[];
  events: EventResult[];
  /** returning clients that got the same server as last time */
  affinity: number;
  /** with persistence: connections expected on the template's server, and the share that got it */
  persistence_honoured: { expected: number; honoured: number } | null;
  rules: { decisions: number; violations: number; by_rule: Record<string, number>; first: Violation | null };
}

/** Options of `simulate`. */
export interface SimOptions {
  /** the scheduler factory of a plug-in entry (loaded by the caller) */
  factory: SchedulerFactory;
  /** arrivals from a trace instead of the scenario's generator */
  arrivals?: ArrivalSource;
  /** called with the simulated time (s) at every sample */
  onProgress?: (seconds: number) => void;
}

const EV_COMPLETE = 1;
const EV_NEXT_REQUEST = 2;
const EV_CLOSE = 3;

const ST_FREE = 0;
const ST_QUEUED = 1;
const ST_RUNNING = 2;
const ST_THINK = 3;
const ST_HOLD = 4;

/** The scheduler of the run, wrapped: every decision is counted and checked. */
class CheckedScheduler implements SchedulerInstance {
  decisions = 0;
  violations = 0;
  first: Violation | null = null;
  readonly byRule: Record<string, number> = {};

  constructor(
    readonly inner: SchedulerInstance,
    private readonly rules: DecisionRules,
    private readonly clock: () => number,
  ) {}

  private note(rule: string, message: string): void {
    this.violations++;
    this.byRule[rule] = (this.byRule[rule] ?? 0) + 1;
    if (this.first === null) this.first = { decision: this.decisions, time: round(this.clock() / 1000, 3), rule, message };
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    this.rules.before(this.inner, svc, pkt);
    let d: Dest | null;
    try {
      d = this.inner.schedule(svc, pkt);
    } catch (e) {
      this.decisions++;
      this.note('threw', `threw ${(e as Error).message}`);
      return null;
    }
    this.decisions++;
    const v = this.rules.check(svc, pkt, d);
    if (v) this.note(v.rule, v.message);
    return d;
  }
  addDest(svc: Service, dest: Dest): void {
    this.inner.addDest?.(svc, dest);
  }
  delDest(svc: Service, dest: Dest): void {
    this.inner.delDest?.(svc, dest);
  }
  updDest(svc: Service, dest: Dest): void {
    this.inner.updDest?.(svc, dest);
  }
  tick(now?: number): void {
    this.inner.tick?.(now);
  }
  done(): void {
    this.inner.done?.();
  }
}

/** The scheduler flags of `entry` that suit its scheduler (the service's, or its own). */
export function flagsFor(sc: Scenario, entry: SchedulerEntry, name: string): string[] {
  const fl = entry.flags.length > 0 ? entry.flags : sc.service.flags;
  return fl.filter((f) => (f.startsWith('sh-') ? name === 'sh' : f.startsWith('mh-') ? name === 'mh' : true));
}

/** A conntrack size that holds the run's connections, TIME_WAIT entries and templates. */
function autoCapacity(sc: Scenario): number {
  if (sc.conntrack.capacity > 0) return sc.conntrack.capacity;
  const c = sc.clients;
  const peak = c.rate * Math.max(1, ...c.curve.map((p) => p[1])) + c.bursts.reduce((a, b) => a + b.rate, 0);
  const svcMean = Math.max(...sc.servers.map((s) => s.service.mean));
  const life = meanRequests(c) * svcMean + c.persistentShare * (c.requests.mean - 1) * c.think.mean + (c.duration?.mean ?? 0);
  const linger = sc.service.protocol === 'udp' ? (sc.conntrack.timeouts.udp ?? 300) : (sc.conntrack.timeouts.tcpfin ?? 120);
  const want = peak * (life * 4 + linger + 10) * 1.3 + (sc.service.persistence > 0 ? c.count : 0);
  let cap = 1 << 16;
  while (cap < want && cap < 1 << 24) cap *= 2;
  return cap;
}

/** Run one scheduler entry through the scenario. */
export function simulate(sc: Scenario, entry: SchedulerEntry, opts: SimOptions): RunResult {
  const factory = opts.factory;
  const schedName = factory.name;
  const tcp = sc.service.protocol === 'tcp';
  const proto = tcp ? Proto.TCP : Proto.UDP;
  let now = 0;

  // ---------------------------------------------------------------- the director's tables
  const table = new ServiceTable({}, { now: () => now });
  const key = { protocol: sc.service.protocol, addr: sc.service.vip, port: sc.service.port };
  const flags = flagsFor(sc, entry, schedName);
  const svc: VirtualService = table.addService({
    ...key,
    scheduler: schedName,
    schedFlags: flags,
    ...(entry.persistence > 0 ? { persistent: entry.persistence, netmask: entry.netmask } : {}),
    onePacket: sc.service.onePacket,
  });
  seedScheduler(svc, sc.seed, table);
  const rules = new DecisionRules(factory);
  const checked = new CheckedScheduler(svc.sched, rules, () => now);
  svc.sched = checked;
  const conns = new ConnTable({
    capacity: autoCapacity(sc),
    registry: table.registry,
    seed: 7,
    timeouts: sc.conntrack.timeouts,
    options: { expireNodestConn: sc.conntrack.expireNodestConn, connReuseMode: sc.conntrack.connReuseMode },
  });
  const slotGen = new Uint32Array(conns.capacity);
  conns.setHooks({ expired: (slot) => void (slotGen[slot] = (slotGen[slot]! + 1) >>> 0) });
  conns.tick(0);

  // ---------------------------------------------------------------- servers
  const S = sc.servers.length;
  const inService = new Uint8Array(S);
  const alive = new Uint8Array(S).fill(1);
  const weight = Int32Array.from(sc.servers.map((s) => s.weight));
  const workers = Int32Array.from(sc.servers.map((s) => s.workers));
  const busy = new Int32Array(S);
  const queues: Int32Array[] = sc.servers.map(() => new Int32Array(256));
  const qHead = new Int32Array(S);
  const qTail = new Int32Array(S);
  const qLen = new Int32Array(S); // live entries (stale ones are skipped at the head)
  const maxQueue = new Int32Array(S);
  const assigned = new Float64Array(S);
  const served = new Float64Array(S);
  const capTime = new Float64Array(S); // integral of capacity while in service (for the capacity share)
  const rate = sc.servers.map((s) => serverRate(s, sc.clients));
  const byAddr = new Map<number, number>();
  sc.servers.forEach((s, i) => byAddr.set(parseIpv4(s.addr) * 65536 + s.port, i));
  const slowest = sc.servers.reduce((b, s, i) => (rate[i]! < rate[b]! ? i : b), 0);

  const destSpec = (i: number): { addr: string; port: number; method: 'masq'; weight: number; upper: number; lower: number } => ({
    addr: sc.servers[i]!.addr,
    port: sc.servers[i]!.port,
    method: 'masq',
    weight: weight[i]!,
    upper: upper[i]!,
    lower: lower[i]!,
  });
  const upper = Int32Array.from(sc.servers.map((s) => s.upper));
  const lower = Int32Array.from(sc.servers.map((s) => s.lower));
  const join = (i: number): void => {
    table.addDest(key, destSpec(i));
    inService[i] = 1;
    alive[i] = 1;
  };
  for (let i = 0; i < S; i++) if (sc.servers[i]!.present) join(i);

  // ---------------------------------------------------------------- connections (struct of arrays)
  let cap = 1024;
  let cSlot = new Int32Array(cap);
  let cSlotGen = new Uint32Array(cap);
  let cServer = new Int32Array(cap);
  let cGen = new Uint32Array(cap);
  let cReqLeft = new Int32Array(cap);
  let cReqAt = new Float64Array(cap);
  let cState = new Uint8Array(cap);
  let cHold = new Float64Array(cap);
  let cPersistent = new Uint8Array(cap);
  const cRng: (() => number)[] = new Array<() => number>(cap);
  let freeTop = 0;
  let freeIds = new Int32Array(cap);
  let used = 0;
  const grow = (): void => {
    const n = cap * 2;
    const g = <T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    cSlot = g(cSlot, new Int32Array(n));
    cSlotGen = g(cSlotGen, new Uint32Array(n));
    cServer = g(cServer, new Int32Array(n));
    cGen = g(cGen, new Uint32Array(n));
    cReqLeft = g(cReqLeft, new Int32Array(n));
    cReqAt = g(cReqAt, new Float64Array(n));
    cState = g(cState, new Uint8Array(n));
    cHold = g(cHold, new Float64Array(n));
    cPersistent = g(cPersistent, new Uint8Array(n));
    cRng.length = n;
    const f = new Int32Array(n);
    f.set(freeIds);
    freeIds = f;
    cap = n;
  };
  const alloc = (): number => {
    if (freeTop > 0) return freeIds[--freeTop]!;
    if (used === cap) grow();
    return used++;
  };
  const release = (id: number): void => {
    cState[id] = ST_FREE;
    cGen[id] = (cGen[id]! + 1) >>> 0;
    freeIds[freeTop++] = id;
  };
  const slotLive = (id: number): boolean => {
    const s = cSlot[id]!;
    return s >= 0 && slotGen[s] === cSlotGen[id] && conns.isLive(s);
  };

  // ---------------------------------------------------------------- figures
  const waits = new FloatList(1 << 16);
  const waitSrv = new FloatList(1 << 16);
  const waitAt = new FloatList(1 << 16);
  const resp = new FloatList(1 << 16);
  let attempted = 0;
  let scheduled = 0;
  let rejected = 0;
  let tableFull = 0;
  let refused = 0;
  let reset = 0;
  const rejectTimes = new FloatList(64);
  const imbalance: number[] = [];
  const perServerLoad: number[][] = sc.servers.map(() => []);
  const sampleAt: number[] = [];

  // per client: last server and time, the last event it was counted for
  const arrivals: ArrivalSource = opts.arrivals ?? new GeneratedArrivals(sc);
  const clients = arrivals.clientCount;
  const lastServer = new Int16Array(clients).fill(-1);
  const lastTime = new Float64Array(clients);
  const lastEventCounted = new Int16Array(clients).fill(-1);
  let returning = 0;
  let sameServer = 0;
  let persistExpected = 0;
  let persistHonoured = 0;
  const persistMs = entry.persistence * 1000;

  // server events and their moved-flows windows
  const evs = sc.events;
  const evResults = evs.map(() => ({ seen: 0, moved: 0, mustMove: 0, ideal: null as number | null, until: 0 }));
  let evNext = 0;
  let evLast = -1;

  // ---------------------------------------------------------------- service of requests
  const heap = new EventHeap();
  const sampleMs = sc.sim.sampleEvery * 1000;
  const endMs = sc.duration * 1000;
  const serviceDist = sc.servers.map((s) => s.service);
  const c = sc.clients;

  const startRequest = (id: number, srv: number): void => {
    const wait = now - cReqAt[id]!;
    waits.push(wait);
    waitSrv.push(srv);
    waitAt.push(cReqAt[id]! / 1000);
    busy[srv]!++;
    cState[id] = ST_RUNNING;
    const r = cRng[id]!;
    const t = serviceDist[srv]!.sample(r(), r()) * 1000;
    heap.push(now + t, EV_COMPLETE, id, cGen[id]!);
  };
  const enqueue = (id: number): void => {
    const srv = cServer[id]!;
    cReqAt[id] = now;
    if (tcp && slotLive(id)) conns.packet(cSlot[id]!, false, TcpFlag.ACK, now);
    else if (!tcp && slotLive(id)) conns.packet(cSlot[id]!, false, 0, now);
    if (busy[srv]! < workers[srv]! && qLen[srv] === 0) {
      startRequest(id, srv);
      return;
    }
    cState[id] = ST_QUEUED;
    let q = queues[srv]!;
    if (qTail[srv] === q.length) {
      // compact or grow the ring
      const live = q.subarray(qHead[srv]!, qTail[srv]!);
      const nq = live.length * 2 + 2 > q.length ? new Int32Array(q.length * 2) : q;
      nq.set(live.slice(), 0);
      queues[srv] = q = nq;
      qTail[srv] = live.length;
      qHead[srv] = 0;
    }
    q[qTail[srv]!] = id;
    qTail[srv]!++;
    qLen[srv]!++;
    if (qLen[srv]! > maxQueue[srv]!) maxQueue[srv] = qLen[srv]!;
  };
  const pull = (srv: number): void => {
    const q = queues[srv]!;
    while (busy[srv]! < workers[srv]! && qHead[srv]! < qTail[srv]!) {
      const id = q[qHead[srv]!]!;
      qHead[srv]!++;
      if (cState[id] !== ST_QUEUED || cServer[id] !== srv) continue; // reset while waiting
      qLen[srv]!--;
      startRequest(id, srv);
    }
    if (qHead[srv] === qTail[srv]) {
      qHead[srv] = 0;
      qTail[srv] = 0;
    }
  };
  const closeConn = (id: number): void => {
    if (tcp && slotLive(id)) conns.setState(cSlot[id]!, TcpState.TIME_WAIT, now);
    release(id);
  };

  // ---------------------------------------------------------------- a new connection
  const pkt: FlowPacket = { protocol: proto, saddr: 0, sport: 0, daddr: parseIpv4(sc.service.vip), dport: sc.service.port, inverse: false, fwmark: 0 };
  const flow = (): number => {
    // the Director's handling of a flow-opening packet (as in @tunvs/replay)
    let slot = conns.lookupIn(proto, pkt.saddr, pkt.sport, pkt.daddr, pkt.dport);
    if (slot >= 0 && tcp && conns.reuse(slot, now)) slot = -1;
    if (slot >= 0) {
      const chk = conns.checkDest(slot, now);
      if (chk === DestCheck.DROP) return SchedResult.NO_DEST;
      if (chk === DestCheck.EXPIRED) slot = -1;
    }
    if (slot >= 0) return -100 - slot; // a live connection of this tuple
    return scheduleFlow(conns, svc, pkt, now);
  };
  const arrive = (): void => {
    attempted++;
    pkt.saddr = arrivals.addr;
    pkt.sport = arrivals.port;
    let slot = flow();
    // a client does not open a second connection from a port still in use: next port
    for (let k = 0; slot <= -100 && k < 64; k++) {
      pkt.sport = arrivals.nextPort();
      slot = flow();
    }
    if (slot < 0) {
      if (slot === SchedResult.TABLE_FULL) tableFull++;
      else rejected++;
      rejectTimes.push(now / 1000);
      return;
    }
    if (tcp) {
      conns.packet(slot, false, TcpFlag.SYN, now);
      conns.packet(slot, true, TcpFlag.SYN | TcpFlag.ACK, now);
      conns.packet(slot, false, TcpFlag.ACK, now);
    } else conns.packet(slot, false, 0, now);
    const srv = byAddr.get(conns.daddr(slot) * 65536 + conns.dport(slot));
    if (srv === undefined) {
      rejected++;
      return;
    }
    scheduled++;
    assigned[srv]!++;
    // affinity, persistence, flows moved by the last event
    const cl = arrivals.client;
    const prev = lastServer[cl]!;
    if (prev >= 0) {
      returning++;
      if (prev === srv) sameServer++;
      if (persistMs > 0 && now - lastTime[cl]! <= persistMs && inService[prev] && alive[prev]) {
        persistExpected++;
        if (prev === srv) persistHonoured++;
      }
      if (evLast >= 0) {
        const e = evs[evLast]!;
        const er = evResults[evLast]!;
        if (now <= er.until && lastTime[cl]! < e.at * 1000 && lastEventCounted[cl] !== evLast) {
          lastEventCounted[cl] = evLast;
          er.seen++;
          if (prev !== srv) er.moved++;
          if (prev === e.server && (e.action === 'fail' || e.action === 'remove' || e.action === 'drain')) er.mustMove++;
        }
      }
    }
    lastServer[cl] = srv;
    lastTime[cl] = now;
    if (!alive[srv]) {
      // scheduled to a dead server (inhibited failure with a template, or a rule breaker): reset
      reset++;
      conns.expire(slot, now);
      return;
    }
    const id = alloc();
    cSlot[id] = slot;
    cSlotGen[id] = slotGen[slot]!;
    cServer[id] = srv;
    const r = seededRandom(arrivals.connSeed);
    cRng[id] = r;
    const persistent = isPersistentClient(cl, sc.seed, c.persistentShare);
    cPersistent[id] = persistent ? 1 : 0;
    cReqLeft[id] = persistent ? Math.max(1, Math.round(c.requests.sample(r(), r()))) : 1;
    const minHold = arrivals.closeAt >= 0 ? arrivals.closeAt : c.duration ? now + c.duration.sample(r(), r()) * 1000 : now;
    cHold[id] = minHold;
    const limit = sc.servers[srv]!.queueLimit;
    if (limit > 0 && qLen[srv]! >= limit && busy[srv]! >= workers[srv]!) {
      // the server's accept queue is full: it resets the connection
      refused++;
      if (tcp) conns.setState(slot, TcpState.CLOSE, now);
      release(id);
      return;
    }
    enqueue(id);
  };

  // ---------------------------------------------------------------- server events
  const weightShare = (i: number): number => {
    let sum = 0;
    for (let k = 0; k < S; k++) if (inService[k] && alive[k]) sum += weight[k]!;
    return sum > 0 && inService[i] && alive[i] ? weight[i]! / sum : 0;
  };
  const resetServer = (srv: number): void => {
    for (let id = 0; id < used; id++) {
      if (cState[id] === ST_FREE || cServer[id] !== srv) continue;
      if (slotLive(id)) conns.expire(cSlot[id]!, now);
      reset++;
      release(id);
    }
    busy[srv] = 0;
    qHead[srv] = 0;
    qTail[srv] = 0;
    qLen[srv] = 0;
  };
  const serverEvent = (k: number): void => {
    const e = evs[k]!;
    const i = e.server;
    const before = weightShare(i);
    switch (e.action) {
      case 'fail':
        if (e.inhibit) {
          weight[i] = 0;
          table.editDest(key, destSpec(i));
        } else {
          table.deleteDest(key, { addr: sc.servers[i]!.addr, port: sc.servers[i]!.port });
          inService[i] = 0;
        }
        alive[i] = 0;
        resetServer(i);
        break;
      case 'remove':
        table.deleteDest(key, { addr: sc.servers[i]!.addr, port: sc.servers[i]!.port });
        inService[i] = 0;
        break;
      case 'return':
      case 'add':
        if (e.weight !== undefined) weight[i] = e.weight;
        else if (weight[i] === 0) weight[i] = sc.servers[i]!.weight;
        if (inService[i]) table.editDest(key, destSpec(i));
        else join(i);
        alive[i] = 1;
        break;
      case 'drain':
        weight[i] = 0;
        table.editDest(key, destSpec(i));
        break;
      case 'weight':
        weight[i] = e.weight!;
        table.editDest(key, destSpec(i));
        break;
      case 'threshold':
        upper[i] = e.upper!;
        lower[i] = e.lower!;
        table.editDest(key, destSpec(i));
        break;
    }
    const er = evResults[k]!;
    const after = weightShare(i);
    if (e.action === 'return' || e.action === 'add' || e.action === 'weight') er.ideal = Math.abs(after - before);
    const nextAt = k + 1 < evs.length ? evs[k + 1]!.at : Infinity;
    er.until = Math.min(e.at + sc.sim.movedWindow, nextAt) * 1000;
    evLast = k;
  };

  // ---------------------------------------------------------------- the loop
  const tickMs = sc.sim.tickMs;
  let nextTick = tickMs;
  let nextSample = sampleMs;
  let nextArrival = arrivals.next() ? arrivals.time : Infinity;
  let lastCapT = 0;
  const accountCapacity = (t: number): void => {
    const dt = t - lastCapT;
    if (dt > 0) for (let i = 0; i < S; i++) if (inService[i] && alive[i] && weight[i]! > 0) capTime[i]! += rate[i]! * dt;
    lastCapT = t;
  };
  for (;;) {
    const tEv = evNext < evs.length ? evs[evNext]!.at * 1000 : Infinity;
    const tHeap = heap.topTime;
    let t = tHeap;
    if (nextArrival < t) t = nextArrival;
    if (tEv < t) t = tEv;
    if (nextTick < t) t = nextTick;
    if (nextSample < t) t = nextSample;
    if (t >= endMs) break;
    now = t;
    if (t === nextTick) {
      conns.tick(now);
      checked.tick(now);
      table.purgeTrash();
      nextTick += tickMs;
      continue;
    }
    if (t === tEv) {
      accountCapacity(now);
      serverEvent(evNext++);
      continue;
    }
    if (t === tHeap) {
      const kind = heap.topKind;
      const id = heap.topId;
      const gen = heap.topGen;
      heap.pop();
      if (cGen[id] !== gen) continue; // the connection was reset meanwhile
      const srv = cServer[id]!;
      if (kind === EV_COMPLETE) {
        busy[srv]!--;
        served[srv]!++;
        resp.push(now - cReqAt[id]!);
        if (--cReqLeft[id]! > 0) {
          cState[id] = ST_THINK;
          const r = cRng[id]!;
          heap.push(now + c.think.sample(r(), r()) * 1000, EV_NEXT_REQUEST, id, cGen[id]!);
        } else if (cHold[id]! > now) {
          cState[id] = ST_HOLD;
          heap.push(cHold[id]!, EV_CLOSE, id, cGen[id]!);
        } else closeConn(id);
        pull(srv);
      } else if (kind === EV_NEXT_REQUEST) {
        enqueue(id);
      } else {
        closeConn(id);
      }
      continue;
    }
    if (t === nextArrival) {
      arrive();
      nextArrival = arrivals.next() ? arrivals.time : Infinity;
      continue;
    }
    // a sample of the load
    let max = 0;
    let sum = 0;
    let k = 0;
    for (let i = 0; i < S; i++) {
      const load = alive[i] && (inService[i] || busy[i]! + qLen[i]! > 0) ? (busy[i]! + qLen[i]!) / workers[i]! : NaN;
      perServerLoad[i]!.push(Number.isNaN(load) ? -1 : round(load, 3));
      if (Number.isNaN(load)) continue;
      if (load > max) max = load;
      sum += load;
      k++;
    }
    imbalance.push(sum > 0 ? round(max / (sum / k), 3) : 1);
    sampleAt.push(round(now / 1000, 3));
    opts.onProgress?.(now / 1000);
    nextSample += sampleMs;
  }
  now = endMs;
  accountCapacity(endMs);

  // ---------------------------------------------------------------- figures
  const names = sc.servers.map((s) => s.name);
  const totalAssigned = assigned.reduce((a, b) => a + b, 0);
  const totalCap = capTime.reduce((a, b) => a + b, 0);
  const share: Record<string, number> = {};
  const capShare: Record<string, number> = {};
  let err = 0;
  names.forEach((n, i) => {
    share[n] = round(totalAssigned > 0 ? assigned[i]! / totalAssigned : 0);
    capShare[n] = round(totalCap > 0 ? capTime[i]! / totalCap : 0);
    err += Math.abs(share[n]! - capShare[n]!);
  });
  const w = waits.values();
  const ws = waitSrv.values();
  const wa = waitAt.values();
  const pick = (pred: (i: number) => boolean): Float64Array => {
    const out = new FloatList(1024);
    for (let i = 0; i < w.length; i++) if (pred(i)) out.push(w[i]!);
    return out.values();
  };
  const perServer: RunResult['per_server'] = {};
  names.forEach((n, i) => {
    perServer[n] = { connections: assigned[i]!, requests: served[i]!, wait_ms: summarize(pick((j) => ws[j] === i)), max_queue: maxQueue[i]! };
  });
  const avg = (xs: number[]): number => (xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 3) : 1);
  const rj = rejectTimes.values();
  const phases: PhaseResult[] = sc.phases.map((p) => ({
    name: p.name,
    from: p.from,
    to: p.to,
    max_over_mean: avg(imbalance.filter((_, i) => sampleAt[i]! > p.from && sampleAt[i]! <= p.to)),
    rejected: rj.filter((x) => x >= p.from && x < p.to).length,
    wait_ms: summarize(pick((j) => wa[j]! >= p.from && wa[j]! < p.to)),
    slowest_wait_ms: summarize(pick((j) => ws[j] === slowest && wa[j]! >= p.from && wa[j]! < p.to)),
  }));
  const events: EventResult[] = evs.map((e, k) => {
    const er = evResults[k]!;
    const mustMove = e.action === 'fail' || e.action === 'remove' || e.action === 'drain';
    return {
      at: e.at,
      action: e.action,
      server: names[e.server]!,
      clients: er.seen,
      moved: er.seen > 0 ? round(er.moved / er.seen) : null,
      ideal: mustMove ? (er.seen > 0 ? round(er.mustMove / er.seen) : null) : er.ideal === null ? null : round(er.ideal),
    };
  });
  const perServerSeries: Record<string, number[]> = {};
  names.forEach((n, i) => (perServerSeries[n] = perServerLoad[i]!));
  const attemptedAll = attempted;
  return {
    label: entry.label,
    scheduler: schedName,
    plugin: entry.plugin,
    flags,
    persistence: entry.persistence,
    allowances: rules.allowances,
    connections: {
      attempted: attemptedAll,
      scheduled,
      rejected,
      rejected_share: round(attemptedAll > 0 ? rejected / attemptedAll : 0),
      table_full: tableFull,
      refused_by_server: refused,
      reset_by_failure: reset,
    },
    requests: { served: served.reduce((a, b) => a + b, 0) },
    share,
    capacity_share: capShare,
    share_error: round(err / 2),
    load: {
      max_over_mean: avg(imbalance),
      max_over_mean_peak: imbalance.length ? Math.max(...imbalance) : 1,
      series: imbalance,
      per_server: perServerSeries,
    },
    wait_ms: summarize(w.slice()),
    response_ms: summarize(resp.values()),
    slowest: { server: names[slowest]!, wait_ms: perServer[names[slowest]!]!.wait_ms, max_queue: maxQueue[slowest]! },
    per_server: perServer,
    phases,
    events,
    affinity: round(returning > 0 ? sameServer / returning : 0),
    persistence_honoured: persistMs > 0 ? { expected: persistExpected, honoured: round(persistExpected > 0 ? persistHonoured / persistExpected : 1) } : null,
    rules: { decisions: checked.decisions, violations: checked.violations, by_rule: checked.byRule, first: checked.first },
  };
}

/** Times (s) of the load samples of a run of `sc` (the x axis of the load series). */
export function sampleTimes(sc: Scenario): number[] {
  const out: number[] = [];
  const step = sc.sim.sampleEvery;
  for (let k = 1; k * step < sc.duration; k++) out.push(round(k * step, 3));
  return out;
}
