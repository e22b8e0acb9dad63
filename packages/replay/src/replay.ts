/**
 * Trace replay (`tunvs-sched replay`): a JSON-lines trace of service changes, new
 * connections, closes, expiries and passing time is played through the engine's own
 * service table, flow scheduling (`scheduleFlow`, persistence included) and connection
 * table, so every decision is taken with the real active/inactive counters, templates and
 * timeouts. One decision object per `connect` line.
 *
 * Nothing here re-implements a kernel rule: this module only parses the trace and calls
 * the engine, the conntrack table and the schedulers.
 */
import { ConnFlag, ControlError, Proto, methodName, protocolNumber } from '@tunvs/model';
import { getScheduler } from '@tunvs/schedulers';
import type { DestSpec, ServiceKey, ServiceSpec } from '@tunvs/model';
import { ServiceTable, SchedResult, scheduleFlow } from '@tunvs/engine';
import type { FlowPacket, VirtualService } from '@tunvs/engine';
import { ConnTable, DestCheck, TcpFlag, TcpState } from '@tunvs/conntrack';
import { AddressError, formatIpv4, parseEndpoint, parseIpv4 } from '@tunvs/packet';

/** A malformed or failing trace line; `line` is 1-based (0 when unknown). */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** One scheduling decision: connect number `n` and the chosen "addr:port", or null. */
export interface Decision {
  n: number;
  dest: string | null;
}

/** Options of `new Replayer`. */
export interface ReplayOptions {
  /** connection table capacity (connections + templates), default 262144 */
  capacity?: number;
  /**
   * time step in ms used to walk an `advance` for the schedulers' clocks (lblc/lblcr) and
   * the release of deleted destinations, default 1000; connection and template timers fire
   * at their own instants (1 ms resolution) whatever the step
   */
  stepMs?: number;
  /** seed of the schedulers that draw random numbers (twos), default 1: a replay is repeatable */
  seed?: number;
}

/** The ops a trace line may carry. */
export const TRACE_OPS = ['service', 'add', 'edit', 'del', 'connect', 'packet', 'close', 'expire', 'advance'] as const;

type Json = Record<string, unknown>;

const DEFAULT_CAPACITY = 262144;

const FLAG_LETTERS: Record<string, number> = { S: TcpFlag.SYN, F: TcpFlag.FIN, R: TcpFlag.RST, P: TcpFlag.PSH, A: TcpFlag.ACK, U: TcpFlag.URG };

/**
 * Give `svc` a scheduler instance created with a seed (`SchedulerOptions.seed`) besides the
 * service table's options (`table.schedOpts`, its clock), replacing the one the table
 * created: the schedulers that draw random numbers (twos) then repeat their choices from
 * run to run. Call it right after the service got its scheduler; the new instance is built
 * from the current destinations, and its timers (lblc/lblcr) start at the table's time.
 */
export function seedScheduler(svc: VirtualService, seed: number, table?: ServiceTable): void {
  svc.sched.done?.();
  svc.sched = getScheduler(svc.schedName).create(svc, { ...table?.schedOpts, seed });
}

function fieldError(msg: string): never {
  throw new ReplayError(0, msg);
}

function str(o: Json, k: string, required: true): string;
function str(o: Json, k: string, required: false): string | undefined;
function str(o: Json, k: string, required: boolean): string | undefined {
  const v = o[k];
  if (v === undefined) {
    if (required) fieldError(`missing field '${k}'`);
    return undefined;
  }
  if (typeof v !== 'string') fieldError(`field '${k}' must be a string`);
  return v;
}

function num(o: Json, k: string, required: true): number;
function num(o: Json, k: string, required: false): number | undefined;
function num(o: Json, k: string, required: boolean): number | undefined {
  const v = o[k];
  if (v === undefined) {
    if (required) fieldError(`missing field '${k}'`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) fieldError(`field '${k}' must be a number`);
  return v;
}

function int(o: Json, k: string, required: true): number;
function int(o: Json, k: string, required: false): number | undefined;
function int(o: Json, k: string, required: boolean): number | undefined {
  const v = required ? num(o, k, true) : num(o, k, false);
  if (v !== undefined && (!Number.isInteger(v) || v < 0)) fieldError(`field '${k}' must be a non-negative integer`);
  return v;
}

function protoOf(o: Json, k: string): 'tcp' | 'udp' | undefined {
  const p = str(o, k, false);
  if (p === undefined) return undefined;
  if (p !== 'tcp' && p !== 'udp') fieldError(`field '${k}' must be "tcp" or "udp"`);
  return p;
}

function endpoint(o: Json, k: string, required: boolean): { addr: number; port: number } | undefined {
  const s = required ? str(o, k, true) : str(o, k, false);
  if (s === undefined) return undefined;
  try {
    return parseEndpoint(s);
  } catch (e) {
    return fieldError(`field '${k}': ${(e as Error).message}`);
  }
}

/**
 * Replays trace lines one at a time. Time starts at 0 and moves only with `advance`;
 * every connect is numbered from 0 in trace order.
 */
export class Replayer {
  /** the engine's service table (services, destinations, schedulers), on trace time */
  readonly table = new ServiceTable({}, { now: () => this.now });
  /** the connection table whose counters the schedulers see */
  readonly conns: ConnTable;
  /** current trace time in ms */
  now = 0;
  /** the service the dest ops and connects address (the last `service` line's) */
  current: VirtualService | null = null;
  private currentKey: ServiceKey | null = null;
  private readonly stepMs: number;
  private readonly seed: number;
  /** per connect: its slot (-1 = not scheduled) and the slot's generation then */
  private readonly connSlot: number[] = [];
  private readonly connGen: number[] = [];
  /** bumped whenever a slot is freed, so a reused slot is not mistaken for an old connection */
  private readonly slotGen: Uint32Array;
  private readonly pkt: FlowPacket = { protocol: 0, saddr: 0, sport: 0, daddr: 0, dport: 0, inverse: false, fwmark: 0 };

  constructor(opts: ReplayOptions = {}) {
    const capacity = opts.capacity ?? DEFAULT_CAPACITY;
    this.stepMs = opts.stepMs ?? 1000;
    this.seed = opts.seed ?? 1;
    if (!(this.stepMs > 0)) throw new RangeError('stepMs must be > 0');
    // timers at 1 ms resolution: a trace's instants are exact (to the ms), not rounded up
    // to the 8 ms ticks of a running director
    this.conns = new ConnTable({ capacity, registry: this.table.registry, seed: 1, tickMs: 1 });
    this.slotGen = new Uint32Array(this.conns.capacity);
    this.conns.setHooks({
      expired: (slot) => {
        this.slotGen[slot] = (this.slotGen[slot]! + 1) >>> 0;
      },
    });
    this.conns.tick(0);
  }

  /** Number of connects replayed so far. */
  get connects(): number {
    return this.connSlot.length;
  }

  /** The live connection slot of connect `n`, or -1 (never scheduled, expired, or out of range). */
  slotOf(n: number): number {
    const s = this.connSlot[n];
    if (s === undefined || s < 0) return -1;
    return this.conns.isLive(s) && this.slotGen[s] === this.connGen[n] ? s : -1;
  }

  /**
   * Replay one trace line (`lineNo` is used in errors). Blank lines are skipped. Returns
   * the decision for a connect, else null. Throws ReplayError for a malformed or failing line.
   */
  line(text: string, lineNo = 0): Decision | null {
    if (text.trim() === '') return null;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new ReplayError(lineNo, `bad JSON: ${(e as Error).message}`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new ReplayError(lineNo, 'a line must be a JSON object');
    try {
      return this.op(obj as Json);
    } catch (e) {
      if (e instanceof ReplayError) throw new ReplayError(lineNo, e.message);
      if (e instanceof ControlError) throw new ReplayError(lineNo, `${e.op ? e.op + ': ' : ''}${e.message} (${e.code})`);
      if (e instanceof AddressError) throw new ReplayError(lineNo, e.message);
      throw e;
    }
  }

  /** Apply one parsed trace object (throws ReplayError, ControlError or AddressError). */
  op(o: Json): Decision | null {
    const op = str(o, 'op', true);
    switch (op) {
      case 'service':
        this.service(o);
        return null;
      case 'add':
      case 'edit':
      case 'del':
        this.destOp(op, o);
        return null;
      case 'connect':
        return this.connect(o);
      case 'close':
      case 'expire':
        this.closeOrExpire(op, o);
        return null;
      case 'packet':
        this.packet(o);
        return null;
      case 'advance':
        this.advance(num(o, 'seconds', true));
        return null;
      default:
        return fieldError(`unknown op '${op}' (known: ${TRACE_OPS.join(' ')})`);
    }
  }

  /** `service`: add it, or edit it when a service with that key exists; it becomes current. */
  private service(o: Json): void {
    const fwmark = int(o, 'fwmark', false);
    const spec: ServiceSpec = {};
    if (fwmark !== undefined && fwmark !== 0) {
      spec.fwmark = fwmark;
    } else {
      spec.protocol = protoOf(o, 'proto') ?? fieldError("missing field 'proto'");
      const vip = str(o, 'vip', true);
      parseIpv4(vip);
      spec.addr = vip;
      spec.port = int(o, 'port', true);
    }
    const sched = str(o, 'scheduler', false);
    if (sched !== undefined) spec.scheduler = sched;
    const flags = o['flags'];
    if (flags !== undefined) {
      if (!Array.isArray(flags) || !flags.every((f) => typeof f === 'string')) fieldError("field 'flags' must be an array of strings");
      spec.schedFlags = flags as string[];
    }
    const persistence = int(o, 'persistence', false);
    if (persistence !== undefined) spec.persistent = persistence;
    const netmask = str(o, 'netmask', false);
    if (netmask !== undefined) spec.netmask = netmask;
    const ops = o['ops'];
    if (ops !== undefined) {
      if (typeof ops !== 'boolean') fieldError("field 'ops' must be a boolean");
      spec.onePacket = ops;
    }
    const key: ServiceKey = spec.fwmark !== undefined ? { fwmark: spec.fwmark } : { protocol: spec.protocol, addr: spec.addr, port: spec.port };
    const before = this.table.lookup(key)?.sched;
    const svc = before ? this.table.editService(spec) : this.table.addService(spec);
    if (svc.sched !== before) seedScheduler(svc, this.seed, this.table);
    svc.sched.tick?.(this.now);
    this.current = svc;
    this.currentKey = key;
  }

  private need(): { svc: VirtualService; key: ServiceKey } {
    if (this.current === null || this.currentKey === null) fieldError("no service yet (a 'service' line must come first)");
    return { svc: this.current, key: this.currentKey };
  }

  /** `add` / `edit` / `del` of a destination of the current service. */
  private destOp(op: 'add' | 'edit' | 'del', o: Json): void {
    const { svc, key } = this.need();
    const ep = endpoint(o, 'dest', true)!;
    const addr = formatIpv4(ep.addr);
    if (op === 'del') {
      this.table.deleteDest(key, { addr, port: ep.port });
      return;
    }
    const weight = int(o, 'weight', false);
    const upper = int(o, 'upper', false);
    const lower = int(o, 'lower', false);
    const spec: DestSpec = { addr, port: ep.port };
    if (op === 'edit') {
      // unspecified fields keep their current values
      const d = svc.findDest(ep.addr, ep.port);
      if (d) {
        spec.weight = d.weight;
        spec.upper = d.uThreshold;
        spec.lower = d.lThreshold;
        spec.method = methodName(d.fwd);
      }
    }
    if (weight !== undefined) spec.weight = weight;
    if (upper !== undefined) spec.upper = upper;
    if (lower !== undefined) spec.lower = lower;
    if (op === 'add') this.table.addDest(key, spec);
    else this.table.editDest(key, spec);
  }

  /** `connect`: the first packet of a flow from `client`; the decision for it. */
  private connect(o: Json): Decision {
    const { svc } = this.need();
    const client = endpoint(o, 'client', true)!;
    const to = endpoint(o, 'to', false);
    const protoName = protoOf(o, 'proto');
    const markField = int(o, 'fwmark', false);
    const p = this.pkt;
    p.protocol = protoName ? protocolNumber(protoName) : svc.fwmark !== 0 ? Proto.TCP : svc.protocol;
    p.saddr = client.addr;
    p.sport = client.port;
    p.daddr = to ? to.addr : svc.addr;
    p.dport = to ? to.port : svc.port;
    p.inverse = false;
    p.fwmark = markField ?? svc.fwmark;
    const n = this.connSlot.length;
    const slot = this.flow(p);
    this.connSlot.push(slot);
    this.connGen.push(slot >= 0 ? this.slotGen[slot]! : 0);
    const dest = slot >= 0 ? `${formatIpv4(this.conns.daddr(slot))}:${this.conns.dport(slot)}` : null;
    // one-packet scheduling (-o): the entry goes as soon as its datagram is forwarded
    if (slot >= 0 && (this.conns.flags(slot) & ConnFlag.ONE_PACKET) !== 0) this.conns.expire(slot, this.now);
    return { n, dest };
  }

  /**
   * The Director's handling of a flow-opening packet: an existing entry for the tuple is
   * used (a SYN on a TIME_WAIT/CLOSE entry is rescheduled, port reuse), otherwise the
   * service is looked up and the flow scheduled. Returns the connection slot or -1.
   */
  private flow(p: FlowPacket): number {
    const c = this.conns;
    const flags = p.protocol === Proto.TCP ? TcpFlag.SYN : 0;
    let slot = c.lookupIn(p.protocol, p.saddr, p.sport, p.daddr, p.dport);
    if (slot >= 0 && p.protocol === Proto.TCP && c.reuse(slot, this.now)) slot = -1;
    if (slot >= 0) {
      const check = c.checkDest(slot, this.now);
      if (check === DestCheck.DROP) return -1;
      if (check === DestCheck.EXPIRED) slot = -1;
    }
    if (slot < 0) {
      const svc = this.table.find(p.fwmark, p.protocol, p.daddr, p.dport);
      if (svc === null) return -1;
      slot = scheduleFlow(c, svc, p, this.now);
      if (slot < 0) return slot === SchedResult.TABLE_FULL ? fieldError('connection table full (raise --capacity)') : -1;
    }
    c.packet(slot, false, flags, this.now);
    return slot;
  }

  /** The live slot of the connect a line's `n` names; -1 when that connection is gone. */
  private slotOfField(o: Json): number {
    const n = int(o, 'n', true);
    if (n >= this.connSlot.length) fieldError(`no connect number ${n} yet (${this.connSlot.length} so far)`);
    return this.slotOf(n);
  }

  /**
   * `close` (TIME_WAIT; with `rst`, CLOSE as after a reset, 10 s by default) or `expire`
   * (removal) of connect `n`; a connection already gone is left alone.
   */
  private closeOrExpire(op: 'close' | 'expire', o: Json): void {
    const slot = this.slotOfField(o);
    const rst = o['rst'];
    if (rst !== undefined && typeof rst !== 'boolean') fieldError("field 'rst' must be a boolean");
    if (slot < 0) return;
    if (op === 'expire') this.conns.expire(slot, this.now);
    else if (this.conns.proto(slot) === Proto.TCP) this.conns.setState(slot, rst ? TcpState.CLOSE : TcpState.TIME_WAIT, this.now);
  }

  /**
   * `packet`: one more packet of connect `n` passes the director (`reply`: from the real
   * server), with TCP `flags` (letters of "SFRPAU", default "A"): the connection's state
   * moves by the kernel's TCP table and its timer restarts, as for a live packet.
   */
  private packet(o: Json): void {
    const slot = this.slotOfField(o);
    const f = str(o, 'flags', false) ?? 'A';
    if (!/^[SFRPAU]*$/.test(f)) fieldError("field 'flags' must be letters of \"SFRPAU\"");
    const reply = o['reply'];
    if (reply !== undefined && typeof reply !== 'boolean') fieldError("field 'reply' must be a boolean");
    if (slot < 0) return;
    let flags = 0;
    for (const ch of f) flags |= FLAG_LETTERS[ch]!;
    this.conns.packet(slot, reply === true, this.conns.proto(slot) === Proto.TCP ? flags : 0, this.now);
  }

  /** `advance`: let `seconds` pass, firing timers and scheduler clocks along the way. */
  advance(seconds: number): void {
    if (!(seconds >= 0) || !Number.isFinite(seconds)) fieldError("field 'seconds' must be a non-negative number");
    // to the µs: decimal seconds (0.1 + 0.2) land on the instant the trace means
    const end = Math.round((this.now + seconds * 1000) * 1000) / 1000;
    while (this.now < end) {
      this.now = Math.min(end, this.now + this.stepMs);
      this.conns.tick(this.now);
      for (const svc of this.table.services) svc.sched.tick?.(this.now);
      this.table.purgeTrash();
    }
  }
}

/**
 * Replay `lines` (one trace line each, in order), writing one JSON decision line per
 * connect through `out`. Returns the number of decisions. Throws ReplayError (with the
 * 1-based line number) at the first malformed or failing line.
 */
export function replay(lines: Iterable<string>, out: (line: string) => void, opts: ReplayOptions = {}): number {
  const r = new Replayer(opts);
  let no = 0;
  let count = 0;
  for (const l of lines) {
    no++;
    const d = r.line(l, no);
    if (d !== null) {
      out(formatDecision(d));
      count++;
    }
  }
  return count;
}

/** The output line of a decision: `{"n":K,"dest":"a.b.c.d:port"}` or `{"n":K,"dest":null}`. */
export function formatDecision(d: Decision): string {
  return JSON.stringify({ n: d.n, dest: d.dest });
}
