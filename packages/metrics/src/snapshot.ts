/**
 * The counter snapshot: the only part of a scrape that runs on the packet thread. It copies
 * the per-service and per-real-server counters into two Float64Arrays (reused between
 * scrapes), notices when the set of services and real servers changed (then, and only
 * then, it builds the label strings), and counts the connection table by state in slices
 * of SCAN_SLICE slots with the event loop free between them. Everything else (label
 * objects, formatting) happens in the metrics worker.
 */
import { DestFlag, Proto } from '@tunvs/model';
import { TCP_STATE_NAMES, TEMPLATE_STATE_NAMES } from '@tunvs/conntrack';
import { LINK_COUNTER_NAMES, newLinkCounters } from '@tunvs/link';
import type { Feeds, SyncDaemonStats, VrrpInstanceStats, VrrpSyncGroupStats } from './feeds.js';
import type { RealServerHealth } from './health.js';

/** Counters of a service or destination, as the data plane keeps them. */
export interface StatsLike {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

/** A destination as the engine keeps it. */
export interface DestLike {
  readonly addr: number;
  readonly port: number;
  weight: number;
  fwd: number;
  uThreshold: number;
  lThreshold: number;
  flags: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  readonly stats: StatsLike;
}

/** A service as the engine keeps it. */
export interface ServiceLike {
  protocol: number;
  addr: number;
  port: number;
  fwmark: number;
  schedName: string;
  flags: number;
  timeout: number;
  netmask: number;
  readonly dests: readonly DestLike[];
  readonly stats: StatsLike;
}

/** The connection table's read accessors. */
export interface ConnTableLike {
  readonly capacity: number;
  readonly size: number;
  readonly counters: object;
  isLive(slot: number): boolean;
  isTemplate(slot: number): boolean;
  proto(slot: number): number;
  state(slot: number): number;
}

/** What the snapshot reads of a Director. */
export interface DirectorLike {
  readonly table: { readonly services: readonly ServiceLike[] };
  readonly counters: object;
  readonly conns: ConnTableLike;
}

/** A device queue. */
export interface LinkLike {
  readonly name: string;
  readonly counters: { rxPackets: number; rxBytes: number; rxBatches: number; txPackets: number; txBytes: number; txDropped: number; txErrors: number; rxErrors: number };
}

/** Per-service numbers: conns, inPkts, outPkts, inBytes, outBytes, protocol, addr, port, fwmark, flags, persistence timeout, destinations. */
export const SVC_FIELDS = 12;
/**
 * Per-destination numbers: conns, inPkts, outPkts, inBytes, outBytes, active, inactive,
 * persistent, weight, overloaded, upper, lower threshold, addr, port, method.
 */
export const DEST_FIELDS = 15;
/**
 * The copy yields to the event loop once it has held it this long (ms)... A young-generation
 * scavenge (0.3 to 0.6 ms at 100 x 100 here) may land inside a slice: slice and scavenge
 * together stay under the 1 ms of issue 19.
 */
export const SLICE_MS = 0.1;
/** ...checked every this many destinations (inside a service too: cold, unoptimised code is slow). */
export const CHECK_EVERY = 16;
/** At most this many connection-table slots are scanned between two turns of the event loop... */
export const SCAN_SLICE = 32768;
/** ...and fewer when the scan has held the loop SLICE_MS: the clock is read every this many slots. */
export const SCAN_CHECK_EVERY = 1024;


/** Small counters that travel as plain objects. */
export interface Scalars {
  /** ms since the epoch when taken */
  at: number;
  /** reason → packets */
  drops: Record<string, number>;
  packets: { rx: number; tx: number };
  events: Record<string, number>;
  sched: Record<string, number>;
  /** totals of services deleted since start (node_ipvs_* stay monotonic) */
  retired: number[];
  conntrack: {
    capacity: number;
    size: number;
    /** `proto|state` → entries; null when not scanned in this snapshot */
    states: Record<string, number> | null;
    events: Record<string, number>;
  };
  links: { name: string; queue: number; worker: number; rxPackets: number; rxBytes: number; rxBatches: number; txPackets: number; txBytes: number; txDropped: number; txErrors: number; rxErrors: number }[];
  health: RealServerHealth[] | null;
  vrrp: { instances: VrrpInstanceStats[]; groups: VrrpSyncGroupStats[] } | null;
  sync: SyncDaemonStats[] | null;
  reloads: { ok: number; failed: number; lastOk: boolean; lastSuccess: number };
  controlOps: Record<string, number>;
  consoleMutations: Record<string, number>;
  loginFailures: number;
  /** seconds the previous snapshot held the packet thread */
  snapshotSeconds: number;
  version: string;
}

/**
 * One snapshot: numbers only (addresses as uint32), so the packet thread builds no
 * strings; `gen` changes whenever the set of services or destinations did.
 */
export interface Snapshot {
  gen: number;
  /** scheduler name of each service */
  schedulers: string[];
  svc: Float64Array;
  dest: Float64Array;
  nSvc: number;
  nDest: number;
  scalars: Scalars;
}

const PROTO_TCP = Proto.TCP;
const PROTO_UDP = Proto.UDP;

/** The director counters that are drops, by field name → metric reason. */
const DROP_FIELDS: Record<string, string> = {
  notForUs: 'not_for_us',
  vrrpBackup: 'vrrp_backup',
  unsupportedProto: 'unsupported_protocol',
  noService: 'no_service',
  notSyn: 'not_syn',
  notInit: 'not_init',
  noDest: 'no_destination',
  notScheduled: 'not_schedulable',
  tableFull: 'table_full',
  defenseDrop: 'defense_drop_packet',
  destUnavailable: 'destination_unavailable',
  ttlExceeded: 'ttl_exceeded',
  fragNeeded: 'fragmentation_needed',
  noRoute: 'no_route',
  fragDropped: 'fragment_unmatched',
  icmpIgnored: 'icmp_ignored',
  txSlabFull: 'tx_buffer_full',
  encapTooBig: 'encap_too_big',
  tunnelMtuTooSmall: 'tunnel_mtu_too_small',
  gsoBad: 'gso_bad',
  gsoUnsupported: 'gso_unsupported',
};
const EVENT_FIELDS: Record<string, string> = {
  icmpRelayed: 'icmp_relayed',
  icmpSent: 'icmp_sent',
  fragForwarded: 'fragment_forwarded',
  fragCreated: 'fragment_created',
  arpReplies: 'arp_reply',
  arpQueued: 'arp_queued',
};
const CT_EVENTS: Record<string, string> = {
  inserts: 'inserted',
  refused: 'refused',
  expired: 'expired',
  forced: 'forced',
  dropped: 'dropped',
  rearmed: 'rearmed',
  reused: 'reused',
  templatesInvalidated: 'template_invalidated',
};

function kebabToSnake(s: string): string {
  return s.replace(/-/g, '_');
}

const EMPTY: Float64Array = new Float64Array(0);

/** Options of a Collector. */
export interface CollectorOptions {
  director: DirectorLike;
  /** the device queues (one Link per queue); worker index per queue, default 0 */
  links?: () => readonly LinkLike[];
  feeds?: Feeds;
  health?: { list(): readonly RealServerHealth[] } | null;
  /** malformed-reason index → name (from @tunvs/packet) */
  reasonName?: (i: number) => string;
  version?: string;
  now?: () => number;
  /** the worker index the links are labelled with (a worker thread's own Collector), default 0 */
  worker?: number;
  /**
   * A multi-worker director (this Collector reads its control plane, which forwards no
   * traffic): each worker's own snapshot, taken by the worker's Collector. Every traffic
   * number is then the sum over the workers (see `addWorkerSnapshots`).
   */
  workers?: (o: { conntrack: boolean }) => Promise<Snapshot[]>;
}

/** The time a snapshot holds the calling thread: slices, each ended by a turn of the event loop. */
class SliceClock {
  private t0 = performance.now();
  /** the longest slice and all slices together (ms) */
  longest = 0;
  total = 0;

  /** True (and the slice closed) when this slice has lasted SLICE_MS: then `await clock.yield()`. */
  due(): boolean {
    const held = performance.now() - this.t0;
    if (held < SLICE_MS) return false;
    this.end(held);
    return true;
  }

  /** A turn of the event loop, then a new slice. */
  async yield(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.t0 = performance.now();
  }

  /** Close the last slice. */
  finish(): void {
    this.end(performance.now() - this.t0);
  }

  private end(held: number): void {
    if (held > this.longest) this.longest = held;
    this.total += held;
  }
}

/** Takes snapshots of one Director and keeps the control-plane counters tunvsd adds. */
export class Collector {
  private gen = 0;
  private lastSvcs: ServiceLike[] = [];
  private lastDests: DestLike[] = [];
  private seenDests: DestLike[] = [];
  private schedulers: string[] = [];
  private svcBuf: Float64Array = EMPTY;
  private destBuf: Float64Array = EMPTY;
  private readonly live = new Set<ServiceLike>();
  private readonly retired = [0, 0, 0, 0, 0];
  /** the longest time the last snapshot held the calling thread without a break, in seconds */
  lastSnapshotSeconds = 0;
  /** the time the last snapshot took on the calling thread, all slices together */
  lastSnapshotTotalSeconds = 0;
  private readonly stateCounts = new Float64Array(4 * 16);
  readonly reloads = { ok: 0, failed: 0, lastOk: true, lastSuccess: 0 };
  readonly controlOps: Record<string, number> = {};
  readonly consoleMutations: Record<string, number> = {};
  loginFailures = 0;
  private readonly now: () => number;

  constructor(private readonly opts: CollectorOptions) {
    this.now = opts.now ?? Date.now;
    this.reloads.lastSuccess = this.now();
    for (const s of opts.director.table.services) this.live.add(s);
  }

  /** Feed the Director's events (service/dest changes): counts operations, retires deleted services' totals. */
  onDirectorEvent(ev: { type: string }): void {
    this.controlOps[ev.type] = (this.controlOps[ev.type] ?? 0) + 1;
    const current = this.opts.director.table.services;
    if (ev.type === 'service-added') {
      for (const s of current) this.live.add(s);
    } else if (ev.type === 'service-deleted' || ev.type === 'cleared') {
      const still = new Set(current);
      for (const s of this.live) {
        if (still.has(s)) continue;
        const st = s.stats;
        this.retired[0]! += st.conns;
        this.retired[1]! += st.inPkts;
        this.retired[2]! += st.outPkts;
        this.retired[3]! += st.inBytes;
        this.retired[4]! += st.outBytes;
        this.live.delete(s);
      }
    }
  }

  /** Count a configuration reload. */
  reloaded(ok: boolean): void {
    if (ok) {
      this.reloads.ok++;
      this.reloads.lastSuccess = this.now();
    } else this.reloads.failed++;
    this.reloads.lastOk = ok;
  }

  /** Count a console/API mutation (`result` = 'ok' or the error code). */
  consoleMutation(op: string, result: string): void {
    const k = `${op}|${result}`;
    this.consoleMutations[k] = (this.consoleMutations[k] ?? 0) + 1;
  }

  /**
   * Copy every counter (synchronous part: services, destinations, small counters), then,
   * if `conntrack`, count the table by state in slices. The arrays are reused: hand them back
   * with `recycle` when done.
   */
  async snapshot(o: { conntrack?: boolean } = {}): Promise<Snapshot> {
    const conntrack = o.conntrack ?? true;
    const snap = await this.copy();
    if (conntrack) snap.scalars.conntrack.states = await this.scanStates();
    if (this.opts.workers) addWorkerSnapshots(snap, await this.opts.workers({ conntrack }));
    return snap;
  }

  /** Return the arrays of a snapshot for reuse by the next one. */
  recycle(svc: Float64Array, dest: Float64Array): void {
    if (svc.length >= this.svcBuf.length) this.svcBuf = svc;
    if (dest.length >= this.destBuf.length) this.destBuf = dest;
  }

  /**
   * Copy the service and destination numbers, SLICE_DESTS destinations per turn of the
   * event loop. The services are the list as it was when the copy began; each one's
   * destinations are read as they are when its turn comes.
   */
  private async copy(): Promise<Snapshot> {
    const d = this.opts.director;
    const services = [...d.table.services];
    const nSvc = services.length;
    let estimate = 0;
    for (let i = 0; i < nSvc; i++) estimate += services[i]!.dests.length;
    const svc = this.take(this.svcBuf, nSvc * SVC_FIELDS);
    let dest = this.take(this.destBuf, estimate * DEST_FIELDS);
    // owned by the snapshot until recycled
    this.svcBuf = this.destBuf = EMPTY;
    const seen = this.seenDests;
    seen.length = 0;
    let changed = nSvc !== this.lastSvcs.length;
    let k = 0;
    let checked = 0;
    const clock = new SliceClock();
    for (let i = 0; i < nSvc; i++) {
      const s = services[i]!;
      if (!changed && this.lastSvcs[i] !== s) changed = true;
      const st = s.stats;
      const ds = s.dests;
      const o = i * SVC_FIELDS;
      svc[o] = st.conns;
      svc[o + 1] = st.inPkts;
      svc[o + 2] = st.outPkts;
      svc[o + 3] = st.inBytes;
      svc[o + 4] = st.outBytes;
      svc[o + 5] = s.protocol;
      svc[o + 6] = s.addr;
      svc[o + 7] = s.port;
      svc[o + 8] = s.fwmark;
      svc[o + 9] = s.flags;
      svc[o + 10] = s.timeout;
      svc[o + 11] = ds.length;
      if ((k + ds.length) * DEST_FIELDS > dest.length) {
        const bigger = new Float64Array((k + ds.length) * DEST_FIELDS * 2);
        bigger.set(dest.subarray(0, k * DEST_FIELDS));
        dest = bigger;
      }
      for (let j = 0; j < ds.length; j++, k++) {
        if (k - checked >= CHECK_EVERY) {
          checked = k;
          if (clock.due()) await clock.yield();
        }
        const x = ds[j]!;
        if (!changed && this.lastDests[k] !== x) changed = true;
        seen.push(x);
        const xs = x.stats;
        const p = k * DEST_FIELDS;
        dest[p] = xs.conns;
        dest[p + 1] = xs.inPkts;
        dest[p + 2] = xs.outPkts;
        dest[p + 3] = xs.inBytes;
        dest[p + 4] = xs.outBytes;
        dest[p + 5] = x.activeConns;
        dest[p + 6] = x.inactConns;
        dest[p + 7] = x.persistConns;
        dest[p + 8] = x.weight;
        dest[p + 9] = (x.flags & DestFlag.OVERLOAD) !== 0 ? 1 : 0;
        dest[p + 10] = x.uThreshold;
        dest[p + 11] = x.lThreshold;
        dest[p + 12] = x.addr;
        dest[p + 13] = x.port;
        dest[p + 14] = x.fwd;
      }
    }
    if (k !== this.lastDests.length) changed = true;
    if (changed) {
      this.gen++;
      this.lastSvcs = services;
      this.seenDests = this.lastDests;
      this.lastDests = seen;
      this.schedulers = services.map((x) => x.schedName);
    } else {
      // a scheduler edit keeps every object: compare names (cheap, no allocation)
      for (let i = 0; i < nSvc; i++) if (this.schedulers[i] !== services[i]!.schedName) this.schedulers[i] = services[i]!.schedName;
    }
    // the small counters in a slice of their own when this one has used its time
    if (clock.due()) await clock.yield();
    const scalars = this.scalars();
    clock.finish();
    this.lastSnapshotSeconds = clock.longest / 1000;
    this.lastSnapshotTotalSeconds = clock.total / 1000;
    scalars.snapshotSeconds = clock.longest / 1000;
    return { gen: this.gen, schedulers: [...this.schedulers], svc, dest, nSvc, nDest: k, scalars };
  }

  /** A buffer of at least `n` numbers: `buf` when it is large enough and not transferred away. */
  private take(buf: Float64Array, n: number): Float64Array {
    if (buf.length >= n && buf.buffer.byteLength > 0) return buf;
    return new Float64Array(Math.max(64, n + (n >> 2)));
  }

  private scalars(): Scalars {
    const d = this.opts.director;
    const c = d.counters as Record<string, unknown>;
    const drops: Record<string, number> = {};
    for (const [field, reason] of Object.entries(DROP_FIELDS)) {
      const v = c[field];
      if (typeof v === 'number') drops[reason] = v;
    }
    const mal = c.malformed as ArrayLike<number> | undefined;
    if (mal && this.opts.reasonName) {
      for (let i = 1; i < mal.length; i++) drops[`malformed_${kebabToSnake(this.opts.reasonName(i))}`] = mal[i]!;
    }
    const events: Record<string, number> = {};
    for (const [field, name] of Object.entries(EVENT_FIELDS)) {
      const v = c[field];
      if (typeof v === 'number') events[name] = v;
    }
    const sched: Record<string, number> = {};
    let bound = this.retired[0]!;
    for (const s of d.table.services) bound += s.stats.conns;
    sched.bound = bound;
    if (typeof c.noDest === 'number') sched.no_destination = c.noDest;
    if (typeof c.tableFull === 'number') sched.table_full = c.tableFull;
    if (typeof c.notScheduled === 'number') sched.not_schedulable = c.notScheduled;
    const ctc = d.conns.counters as Record<string, unknown>;
    const ctEvents: Record<string, number> = {};
    for (const [field, name] of Object.entries(CT_EVENTS)) {
      const v = ctc[field];
      if (typeof v === 'number') ctEvents[name] = v;
    }
    // by name (the one list in @tunvs/link): a link's counters may be getters (the
    // kernel-bypass links read them from their rings), which a spread would skip
    const links = (this.opts.links?.() ?? []).map((l, queue) => {
      const rec = { name: l.name, queue, worker: this.opts.worker ?? 0, ...newLinkCounters() };
      for (const k of LINK_COUNTER_NAMES) rec[k] = l.counters[k];
      return rec;
    });
    const feeds = this.opts.feeds;
    const vrrp = feeds?.vrrp ? { instances: feeds.vrrp.instances().map((x) => ({ ...x, discarded: { ...x.discarded } })), groups: feeds.vrrp.syncGroups().map((g) => ({ ...g })) } : null;
    const sync = feeds?.sync ? feeds.sync.daemons().map((x) => ({ ...x, drops: { ...x.drops } })) : null;
    const health = this.opts.health ? this.opts.health.list().map((r) => ({ ...r, checkers: r.checkers.map((o) => ({ ...o })) })) : null;
    return {
      at: this.now(),
      drops,
      packets: { rx: Number(c.rxPackets ?? 0), tx: Number(c.txPackets ?? 0) },
      events,
      sched,
      retired: [...this.retired],
      conntrack: { capacity: d.conns.capacity, size: d.conns.size, states: null, events: ctEvents },
      links,
      health,
      vrrp,
      sync,
      reloads: { ...this.reloads },
      controlOps: { ...this.controlOps },
      consoleMutations: { ...this.consoleMutations },
      loginFailures: this.loginFailures,
      snapshotSeconds: this.lastSnapshotSeconds,
      version: this.opts.version ?? '0.0.0',
    };
  }

  /** Count live entries by protocol and state, SCAN_SLICE slots per turn of the event loop. */
  private async scanStates(): Promise<Record<string, number>> {
    const ct = this.opts.director.conns;
    const counts = this.stateCounts;
    counts.fill(0);
    if (ct.size > 0) {
      const cap = ct.capacity;
      let t0 = performance.now();
      let budget = SCAN_SLICE;
      for (let from = 0; from < cap; from += SCAN_CHECK_EVERY) {
        budget -= SCAN_CHECK_EVERY;
        if (from > 0 && (budget <= 0 || performance.now() - t0 >= SLICE_MS)) {
          await new Promise<void>((r) => setImmediate(r));
          t0 = performance.now();
          budget = SCAN_SLICE;
        }
        const to = Math.min(cap, from + SCAN_CHECK_EVERY);
        for (let s = from; s < to; s++) {
          if (!ct.isLive(s)) continue;
          const p = ct.isTemplate(s) ? 3 : ct.proto(s) === PROTO_TCP ? 0 : ct.proto(s) === PROTO_UDP ? 1 : 2;
          counts[p * 16 + (ct.state(s) & 15)]!++;
        }
      }
    }
    const out: Record<string, number> = {};
    // the states that always exist, so a dashboard sees 0 rather than nothing
    out['TCP|ESTABLISHED'] = 0;
    out['TCP|SYN_RECV'] = 0;
    out['TCP|FIN_WAIT'] = 0;
    out['TCP|TIME_WAIT'] = 0;
    out['UDP|UDP'] = 0;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (n === 0) continue;
      const p = i >> 4;
      const st = i & 15;
      const key = p === 0 ? `TCP|${TCP_STATE_NAMES[st] ?? 'ERR'}` : p === 1 ? 'UDP|UDP' : p === 2 ? 'OTHER|NONE' : `TEMPLATE|${TEMPLATE_STATE_NAMES[st] ?? 'ERR'}`;
      out[key] = (out[key] ?? 0) + n;
    }
    return out;
  }
}

const svcKey = (a: Float64Array, o: number): string => `${a[o + 5]}/${a[o + 6]}/${a[o + 7]}/${a[o + 8]}`;

function addRecord(to: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) to[k] = (to[k] ?? 0) + v;
}

/**
 * Sum the workers' snapshots into `main`, the control plane's (services as configured, no
 * traffic): per service and real server the traffic counters (connections, packets,
 * bytes) and connection counts (active, inactive, persistent) are added; a real server is
 * overloaded when it is on any worker (each compares its own connections with the
 * threshold). Drops, packets, datapath events, scheduler decisions, the totals of deleted
 * services, the connection table (capacity, size, entries by state, events) are sums over
 * the workers; the links are the workers' (each labelled with its worker). A service or
 * real server a worker has and `main` has not (an operation in flight) adds nothing.
 * `snapshotSeconds` is the longest any thread was held.
 */
export function addWorkerSnapshots(main: Snapshot, workers: readonly Snapshot[]): void {
  const svcAt = new Map<string, number>();
  const destAt: Map<string, number>[] = [];
  for (let i = 0, k = 0; i < main.nSvc; i++) {
    const o = i * SVC_FIELDS;
    svcAt.set(svcKey(main.svc, o), i);
    const dm = new Map<string, number>();
    for (let j = 0; j < main.svc[o + 11]!; j++, k++) dm.set(`${main.dest[k * DEST_FIELDS + 12]}/${main.dest[k * DEST_FIELDS + 13]}`, k);
    destAt.push(dm);
  }
  const m = main.scalars;
  const ct = m.conntrack;
  ct.capacity = 0;
  ct.size = 0;
  const states: Record<string, number> | null = ct.states === null ? null : {};
  const links: Scalars['links'] = [];
  for (const w of workers) {
    for (let i = 0, k = 0; i < w.nSvc; i++) {
      const o = i * SVC_FIELDS;
      const n = w.svc[o + 11]!;
      const at = svcAt.get(svcKey(w.svc, o));
      if (at === undefined) {
        k += n;
        continue;
      }
      for (let f = 0; f < 5; f++) main.svc[at * SVC_FIELDS + f]! += w.svc[o + f]!;
      const dm = destAt[at]!;
      for (let j = 0; j < n; j++, k++) {
        const p = k * DEST_FIELDS;
        const to = dm.get(`${w.dest[p + 12]}/${w.dest[p + 13]}`);
        if (to === undefined) continue;
        const q = to * DEST_FIELDS;
        // conns, packets, bytes, active, inactive, persistent
        for (let f = 0; f < 8; f++) main.dest[q + f]! += w.dest[p + f]!;
        if (w.dest[p + 9] === 1) main.dest[q + 9] = 1;
      }
    }
    const s = w.scalars;
    addRecord(m.drops, s.drops);
    m.packets.rx += s.packets.rx;
    m.packets.tx += s.packets.tx;
    addRecord(m.events, s.events);
    addRecord(m.sched, s.sched);
    for (let i = 0; i < m.retired.length; i++) m.retired[i]! += s.retired[i] ?? 0;
    ct.capacity += s.conntrack.capacity;
    ct.size += s.conntrack.size;
    if (states !== null && s.conntrack.states !== null) addRecord(states, s.conntrack.states);
    addRecord(ct.events, s.conntrack.events);
    links.push(...s.links);
    if (s.snapshotSeconds > m.snapshotSeconds) m.snapshotSeconds = s.snapshotSeconds;
  }
  ct.states = states;
  m.links = links;
}
