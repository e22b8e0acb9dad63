/**
 * One Director per core (tunvsd `workers N` on a kernel-bypass link): N worker threads,
 * each running a Director on one slot of the link (director-worker.ts) with its own
 * connection table, scheduler state, counters and rate estimator; nothing is shared on the
 * packet path. The steering program hashes every frame to the slot of its client (client
 * address and port; the address alone for persistent services, those the FTP helper binds
 * and those sharing a steering entry with one: addressSteered in xdp-device.ts), so both directions of a
 * flow, the client's packets and the NAT real server's replies, reach the worker that holds
 * its connection.
 *
 * The control plane stays in the main thread, on a `WorkerDirector`: a Director with no
 * traffic of its own that checks every control operation exactly as a single Director does
 * (same errors, same events, same rules for the transaction that undoes a failed reload)
 * and, once it has passed, posts it to every worker. One port per worker and one sender
 * keep the order: every worker applies the same operations in the same order, so their
 * service tables stay identical (a worker refusing one it was sent is logged as an error:
 * it would mean they diverged).
 *
 * Listings aggregate: services and destinations come from the main thread's table (the
 * configuration, weights as health checks left them), their counters and connection counts
 * are the sums over the workers, rates included (each worker estimates its own share);
 * `-L -c` is every worker's connections one after another; the named counters are sums.
 * Workers report a snapshot on request: the control socket asks before each listing, and a
 * timer refreshes it every second for the console and the sync counters; /metrics asks
 * every worker's own Collector at each scrape and sums them (@tunvs/metrics'
 * addWorkerSnapshots). Connection sync: WorkerSyncRelay (below).
 *
 * What differs from one Director (each worker schedules alone, as DPVS's per-lcore
 * schedulers do): rr and wrr are exact per worker, not overall: two workers each start at
 * the first server, so over the whole director the order interleaves and the counts are
 * exact only to within one round per worker. lc/wlc and the others compare the worker's own
 * connection counts. Persistence is exact: a persistent service is steered by the client
 * address alone (with a persistence netmask, by its leading bits), so the template of a
 * client (or of a netmask's clients) and all their connections live on one worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Director } from '@tunvs/engine';
import type { DirectorOptions, LocalHandler } from '@tunvs/engine';
import { formatIpv4 } from '@tunvs/packet';
import type { Link, PacketBatch } from '@tunvs/link';
import { newLinkCounters } from '@tunvs/link';
import type { ConnInfo, DestSpec, DefenseSettings, DirectorInfo, ServiceInfo, ServiceKey, ServiceSpec, StatsInfo, Timeouts } from '@tunvs/model';
import type { PacketPortDescriptor, XdpPortDescriptor } from '@tunvs/xdp';
import type { Snapshot } from '@tunvs/metrics';
import { ConnFlag } from '@tunvs/model';
import { SyncApplyCounters } from '@tunvs/sync';
import type { SyncBackupSettings, SyncMasterCounters, SyncMasterSettings, SyncRecord, SyncWorkers } from '@tunvs/sync';
import { clientPrefix, slotOf } from '@tunvs/xdp';
import type { ClientBits } from './xdp-device.js';

/** The Director options a worker is started with (structured-cloneable). */
export interface WorkerDirectorOptions {
  mac: number[];
  addresses: { addr: string; prefix: number }[];
  gateway?: string;
  sourceAddress?: string;
  /** this worker's connection-table capacity (its shard) */
  connCapacity: number;
  ftpPorts?: number[];
  conntrack: { expireNodestConn?: boolean; expireQuiescentTemplate?: boolean; connReuseMode?: number };
}

/** The link a worker reads: a slot of a kernel-bypass port, or an in-memory TAP link (control-plane tests). */
export type WorkerLinkSpec =
  | { kind: 'xdp'; desc: XdpPortDescriptor; slot: number }
  | { kind: 'packet'; desc: PacketPortDescriptor; slot: number }
  | { kind: 'memory'; mtu: number };

export interface WorkerSetup {
  index: number;
  link: WorkerLinkSpec;
  /** the CPU the worker pins its thread to before it opens its link (config `cpus`) */
  cpu?: number;
  /** keep a metrics Collector (tunvsd serves /metrics): only then does the worker load @tunvs/metrics */
  metrics: boolean;
  director: WorkerDirectorOptions;
}

/** The control operations a worker applies (the Director's methods, plus the mark rules and switches). */
export type WorkerOp =
  | 'addService' | 'editService' | 'deleteService' | 'clear' | 'addDest' | 'editDest' | 'deleteDest' | 'zero'
  | 'setTimeouts' | 'setDefense' | 'setMarks' | 'setFtpPorts' | 'setSloppyTcp'
  | 'syncStartMaster' | 'syncConfigureMaster' | 'syncStopMaster' | 'syncStartBackup' | 'syncConfigureBackup' | 'syncStopBackup'
  /** VRRP on the bypass interface: a VIP's state (every worker), a local protocol relayed to the main thread */
  | 'setAddressActive' | 'releaseAddress' | 'relayLocalProtocol';

/** Main thread -> worker. */
export type ToWorker =
  | { t: 'op'; seq: number; op: WorkerOp; args: unknown[] }
  | { t: 'snapshot'; id: number }
  | { t: 'conns'; id: number }
  /** this worker's /metrics snapshot (its Collector's), the connection table counted by state if `conntrack` */
  | { t: 'metrics'; id: number; conntrack: boolean }
  | { t: 'arp'; frame: Uint8Array }
  /** sync backup: `n` received records for this worker's flows, SYNC_REC_FIELDS numbers each */
  | { t: 'syncRecords'; recs: Float64Array; n: number }
  /** memory links: frames received now (one batch), answered with what the link sent since the last one */
  | { t: 'frames'; id: number; frames: Uint8Array[] }
  /** worker 0: send an IPv4 datagram (`ip`) or an Ethernet frame the director originates (VRRP adverts, gratuitous ARP) */
  | { t: 'originate'; kind: 'ip' | 'frame'; data: Uint8Array }
  | { t: 'stop' };

/** What a worker reports of itself. */
export interface WorkerSnapshot {
  services: ServiceInfo[];
  stats: Record<string, number>;
  connTableSize: number;
  /** this worker's sync master's and backup's counters (null: not running) */
  sync: { master: SyncMasterCounters | null; applied: SyncApplyCounters | null };
}

/** Worker -> main thread. */
export type FromWorker =
  | { t: 'ready'; index: number; link: string; cpus: string }
  | { t: 'failed'; op: WorkerOp; seq: number; message: string }
  | { t: 'snapshot'; id: number; snap: WorkerSnapshot }
  | { t: 'conns'; id: number; conns: ConnInfo[] }
  | { t: 'metrics'; id: number; snap: Snapshot }
  | { t: 'arp'; frame: Uint8Array }
  | { t: 'sent'; id: number; frames: Uint8Array[] }
  /** sync master: a message this worker's master completed, for the main thread's transport */
  | { t: 'syncMsg'; buf: Uint8Array }
  /** a datagram of a relayed local protocol (VRRP) this worker received, from its IP header */
  | { t: 'local'; protocol: number; datagram: Uint8Array }
  /** worker 0 could not send an originated datagram (no route, no room, next hop not resolved: an ARP request went out) */
  | { t: 'unsent'; dst: number }
  /** `link`: this worker's socket's counters (null: a memory link) */
  | { t: 'stopped'; link: Record<string, number> | null };

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** How long a worker has to answer a snapshot request or to stop. */
const ANSWER_MS = 5000;
/** How often the snapshots are refreshed for /metrics and the console. */
export const SNAPSHOT_PERIOD_MS = 1000;

function workerUrl(): URL {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new URL('./director-worker.js', self);
  const built = new URL('../dist/director-worker.js', self);
  return existsSync(fileURLToPath(built)) ? built : new URL('./director-worker.ts', self);
}

const STAT_KEYS = ['conns', 'inPkts', 'outPkts', 'inBytes', 'outBytes', 'cps', 'inPps', 'outPps', 'inBps', 'outBps'] as const;

function zeroStats(): StatsInfo {
  return { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
}

function addStats(to: StatsInfo, s: StatsInfo): void {
  for (const k of STAT_KEYS) to[k] += s[k];
}

const serviceId = (s: ServiceInfo): string => (s.fwmark ? `fwmark/${s.fwmark}/${s.ipv6 ? 6 : 4}` : `${s.protocol}/${s.addr}/${s.port}`);

/**
 * Each worker's share of a connection table of `capacity` entries among `n` workers: the
 * shares add up to `capacity` exactly (the first `capacity % n` workers hold one more).
 * The configuration refuses fewer entries than workers.
 */
export function tableShares(capacity: number, n: number): number[] {
  const base = Math.floor(capacity / n);
  const rest = capacity - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < rest ? 1 : 0));
}

/**
 * The listing of a multi-worker director: the services and destinations of `config` (the
 * main thread's table, in its order), with counters, rates and connection counts summed
 * over the workers' listings. A worker that lacks a service or destination adds nothing.
 */
export function mergeServices(config: readonly ServiceInfo[], workers: readonly (readonly ServiceInfo[])[]): ServiceInfo[] {
  const out = config.map((s) => ({
    ...s,
    stats: zeroStats(),
    dests: s.dests.map((d) => ({ ...d, activeConns: 0, inactConns: 0, persistConns: 0, stats: zeroStats() })),
  }));
  const byId = new Map(out.map((s) => [serviceId(s), s]));
  for (const list of workers) {
    for (const ws of list) {
      const s = byId.get(serviceId(ws));
      if (!s) continue;
      addStats(s.stats, ws.stats);
      for (const wd of ws.dests) {
        const d = s.dests.find((x) => x.addr === wd.addr && x.port === wd.port);
        if (!d) continue;
        d.activeConns += wd.activeConns;
        d.inactConns += wd.inactConns;
        d.persistConns += wd.persistConns;
        addStats(d.stats, wd.stats);
      }
    }
  }
  return out;
}

/** Named counters summed over the workers. */
export function sumCounters(records: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

interface Waiting {
  left: number;
  results: unknown[];
  resolve: (r: unknown[]) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** The worker threads and their messages: ordered broadcast of operations, snapshots, ARP relay. */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  /** each worker's last snapshot (null until its first) */
  readonly snapshots: (WorkerSnapshot | null)[];
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running = false;
  private readonly started: Promise<void>;
  /** every worker keeps a metrics Collector (WorkerSetup.metrics) */
  private readonly withMetrics: boolean;
  /** where the workers' sync masters' messages go (the main thread's sync transport) */
  onSyncMessage: ((msg: Uint8Array) => void) | null = null;
  /** where datagrams of relayed local protocols go (WorkerDirector's handlers) */
  onLocal: ((protocol: number, datagram: Uint8Array) => void) | null = null;

  /**
   * `onLost` is told when a worker thread ends while the pool runs (an uncaught error): the
   * clients hashed to its slot get no service from then on, so the caller should stop.
   */
  constructor(setups: readonly WorkerSetup[], private readonly log: Log, private readonly onLost: (index: number, code: number) => void = () => {}) {
    this.snapshots = setups.map(() => null);
    this.withMetrics = setups.every((s) => s.metrics);
    const ready: Promise<void>[] = [];
    for (const s of setups) {
      const w = new Worker(workerUrl(), { workerData: s });
      this.workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.once('error', reject);
          w.once('exit', (code) => reject(new Error(`worker ${s.index} exited (${code}) before it was ready`)));
          w.on('message', (m: FromWorker) => {
            if (m.t === 'ready') {
              this.log('info', 'worker ready', { worker: m.index, link: m.link, cpus: m.cpus });
              resolve();
            }
          });
        }),
      );
      w.on('message', (m: FromWorker) => this.onMessage(s.index, m));
      w.on('error', (e) => this.log('error', 'worker failed', { worker: s.index, error: (e as Error | undefined)?.stack ?? JSON.stringify(e) }));
      w.on('exit', (code) => {
        // before every worker was ready, ready() rejects with the reason instead
        if (this.stopped || !this.running) return;
        this.log('error', 'a worker thread ended: the clients hashed to its slot get no service', { worker: s.index, code });
        this.onLost(s.index, code);
      });
    }
    this.started = Promise.all(ready).then(() => {
      this.running = true;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** Resolves when every worker has opened its link and started its Director; rejects with the first failure. */
  ready(): Promise<void> {
    return this.started;
  }

  /** Refresh the snapshots every SNAPSHOT_PERIOD_MS (unref'd). */
  startRefresh(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), SNAPSHOT_PERIOD_MS);
    this.timer.unref();
  }

  private onMessage(index: number, m: FromWorker): void {
    switch (m.t) {
      case 'failed':
        this.log('error', 'a worker refused an operation the control plane accepted (the workers differ now)', { worker: index, op: m.op, seq: m.seq, error: m.message });
        return;
      case 'syncMsg':
        this.onSyncMessage?.(m.buf);
        return;
      case 'local':
        this.onLocal?.(m.protocol, m.datagram);
        return;
      case 'unsent':
        this.log('info', 'vrrp: advert not sent, next hop not resolved yet (asked by ARP)', { worker: index, to: formatIpv4(m.dst) });
        return;
      case 'arp':
        // worker 0 gets every ARP frame: the replies go to the workers that may have asked
        for (let i = 0; i < this.workers.length; i++) if (i !== index) this.workers[i]!.postMessage({ t: 'arp', frame: m.frame } satisfies ToWorker);
        return;
      case 'snapshot':
      case 'conns':
      case 'metrics':
      case 'sent': {
        const w = this.waiting.get(m.id);
        if (!w) return;
        w.results[index] = m.t === 'snapshot' || m.t === 'metrics' ? m.snap : m.t === 'conns' ? m.conns : m.frames;
        if (--w.left === 0) {
          clearTimeout(w.timer);
          this.waiting.delete(m.id);
          w.resolve(w.results);
        }
        return;
      }
      default:
    }
  }

  /** Post a control operation to every worker (in the order of the calls). */
  broadcast(op: WorkerOp, args: unknown[]): void {
    if (this.stopped) return;
    const m: ToWorker = { t: 'op', seq: ++this.seq, op, args };
    for (const w of this.workers) w.postMessage(m);
  }

  private ask(t: 'snapshot' | 'conns' | 'metrics', extra: Record<string, unknown> = {}): Promise<unknown[]> {
    if (this.stopped) return Promise.reject(new Error('the workers have stopped'));
    const id = this.nextId++;
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`a worker did not answer within ${ANSWER_MS} ms`));
      }, ANSWER_MS);
      this.waiting.set(id, { left: this.workers.length, results: [], resolve, reject, timer });
      for (const w of this.workers) w.postMessage({ t, id, ...extra } as ToWorker);
    });
  }

  /** Ask every worker for its snapshot (services, counters) and keep them. */
  async refresh(): Promise<void> {
    const r = (await this.ask('snapshot')) as WorkerSnapshot[];
    r.forEach((s, i) => (this.snapshots[i] = s));
  }

  /**
   * Have worker 0 send what the director originates (VRRP): ARP frames reach slot 0 only,
   * so worker 0's neighbour table is the one that resolves a unicast peer.
   */
  originate(kind: 'ip' | 'frame', data: Uint8Array): void {
    if (this.stopped) return;
    this.workers[0]!.postMessage({ t: 'originate', kind, data } satisfies ToWorker);
  }

  /** Hand worker `index` a batch of sync records (transferred). */
  syncRecords(index: number, recs: Float64Array, n: number): void {
    if (this.stopped) return;
    this.workers[index]!.postMessage({ t: 'syncRecords', recs, n } satisfies ToWorker, [recs.buffer as ArrayBuffer]);
  }

  /** Each worker's /metrics snapshot (index = worker), for the main thread's Collector to sum. */
  async metrics(o: { conntrack: boolean }): Promise<Snapshot[]> {
    if (!this.withMetrics) throw new Error('the workers keep no metrics (started without metrics: tunvsd serves no HTTP)');
    return (await this.ask('metrics', { conntrack: o.conntrack })) as Snapshot[];
  }

  /** Each worker's connections (index = worker). */
  async connections(): Promise<ConnInfo[][]> {
    return (await this.ask('conns')) as ConnInfo[][];
  }

  /**
   * In-memory links only (an in-process host, tests): hand `frames` to worker `index` as one
   * received batch; resolves to everything its link sent since the last call. Messages to a
   * worker are handled in order, so an ARP reply relayed to it before this call was applied.
   */
  frames(index: number, frames: Uint8Array[]): Promise<Uint8Array[]> {
    if (this.stopped) return Promise.reject(new Error('the workers have stopped'));
    const id = this.nextId++;
    return new Promise<Uint8Array[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`worker ${index} did not answer within ${ANSWER_MS} ms`));
      }, ANSWER_MS);
      this.waiting.set(id, { left: 1, results: [], resolve: (r) => resolve(r[index] as Uint8Array[]), reject, timer });
      this.workers[index]!.postMessage({ t: 'frames', id, frames } satisfies ToWorker);
    });
  }

  /**
   * Stop every worker's Director (closing its link slot), then the threads. Returns each
   * worker's socket counters as it read them before closing (`worker` its index), for the
   * exit log; empty when already stopped or on memory links.
   */
  async stop(): Promise<Record<string, number>[]> {
    if (this.stopped) return [];
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new Error('the workers have stopped'));
    }
    this.waiting.clear();
    const counters: (Record<string, number> | null)[] = this.workers.map(() => null);
    await Promise.all(
      this.workers.map(async (w, worker) => {
        const done = new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ANSWER_MS);
          w.on('message', (m: FromWorker) => {
            if (m.t === 'stopped') {
              clearTimeout(t);
              if (m.link !== null) counters[worker] = { worker, ...m.link };
              resolve();
            }
          });
          w.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
        w.postMessage({ t: 'stop' } satisfies ToWorker);
        await done;
        await w.terminate();
      }),
    );
    return counters.filter((c) => c !== null);
  }
}

/** The main thread's Director: no traffic; it never sends (VIP announcements included). */
class ControlLink implements Link {
  readonly kind = 'tap' as const;
  readonly name: string;
  readonly vnetHdrLen = 0;
  readonly counters = newLinkCounters();
  constructor(name: string, readonly mtu: number) {
    this.name = `${name} (control)`;
  }
  onBatch(_handler: (b: PacketBatch) => void): void {}
  writeBatch(_b: PacketBatch): number {
    return 0;
  }
  close(): void {}
}

/**
 * The control plane of a multi-worker director: a Director whose operations are checked on
 * its own table and, when accepted, posted to every worker; whose listings and counters are
 * the workers' (as of their last snapshot: `refresh` first for an exact one).
 */
export class WorkerDirector extends Director {
  constructor(
    opts: Omit<DirectorOptions, 'links'> & { linkName: string; mtu: number },
    readonly pool: WorkerPool,
  ) {
    // the table here holds no connection: the smallest one
    super({ ...opts, links: [new ControlLink(opts.linkName, opts.mtu)], connCapacity: 1024 });
  }

  /** Fresh snapshots from every worker. */
  refresh(): Promise<void> {
    return this.pool.refresh();
  }

  override addService(spec: ServiceSpec): void {
    super.addService(spec);
    this.pool.broadcast('addService', [spec]);
  }
  override editService(spec: ServiceSpec): void {
    super.editService(spec);
    this.pool.broadcast('editService', [spec]);
  }
  override deleteService(key: ServiceKey): void {
    super.deleteService(key);
    this.pool.broadcast('deleteService', [key]);
  }
  override clear(): void {
    super.clear();
    this.pool.broadcast('clear', []);
  }
  override addDest(key: ServiceKey, dest: DestSpec): void {
    super.addDest(key, dest);
    this.pool.broadcast('addDest', [key, dest]);
  }
  override editDest(key: ServiceKey, dest: DestSpec): void {
    super.editDest(key, dest);
    this.pool.broadcast('editDest', [key, dest]);
  }
  override deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    super.deleteDest(key, dest);
    this.pool.broadcast('deleteDest', [key, dest]);
  }
  override zero(key?: ServiceKey): void {
    super.zero(key);
    this.pool.broadcast('zero', key === undefined ? [] : [key]);
    // (the socket's listings refresh first: the workers zero before they answer)
  }
  override setTimeouts(t: Partial<Timeouts>): void {
    super.setTimeouts(t);
    this.pool.broadcast('setTimeouts', [this.getTimeouts()]);
  }
  override setDefense(d: Partial<DefenseSettings>): void {
    super.setDefense(d);
    this.pool.broadcast('setDefense', [d]);
  }
  override setFtpPorts(ports: readonly number[]): void {
    super.setFtpPorts(ports);
    this.pool.broadcast('setFtpPorts', [[...ports]]);
  }

  // ------------------------------- VRRP on the bypass interface, with workers

  /** A VIP's VRRP state here (checks) and in every worker: worker 0 answers its ARP, every worker forwards or drops its traffic. */
  override setAddressActive(addr: string, active: boolean): void {
    super.setAddressActive(addr, active);
    this.pool.broadcast('setAddressActive', [addr, active]);
  }
  override releaseAddress(addr: string): void {
    super.releaseAddress(addr);
    this.pool.broadcast('releaseAddress', [addr]);
  }
  private readonly relayed = new Map<number, LocalHandler>();
  /**
   * A local protocol (VRRP) with workers: the steering program hands its datagrams to the
   * worker of their source's hash; every worker relays them here.
   */
  override onLocalProtocol(protocol: number, handler: LocalHandler | null): void {
    super.onLocalProtocol(protocol, handler);
    if (handler) this.relayed.set(protocol, handler);
    else this.relayed.delete(protocol);
    this.pool.onLocal = (p, dg) => this.relayed.get(p)?.(dg);
    this.pool.broadcast('relayLocalProtocol', [protocol, handler !== null]);
  }
  /**
   * Sent by worker 0 (its link, its neighbour table). True when handed over: a datagram it
   * cannot send yet (next hop not resolved: it asks by ARP) is logged there, and VRRP sends
   * the next advert anyway.
   */
  override sendDatagram(datagram: Uint8Array): boolean {
    if (datagram.length < 20) throw new RangeError(`sendDatagram: ${datagram.length} bytes is no IPv4 datagram`);
    this.pool.originate('ip', datagram);
    return true;
  }
  override sendFrame(frame: Uint8Array): void {
    this.pool.originate('frame', frame);
  }

  override get sloppyTcp(): boolean {
    return super.sloppyTcp;
  }
  override set sloppyTcp(v: boolean) {
    super.sloppyTcp = v;
    this.pool.broadcast('setSloppyTcp', [v]);
  }

  override listServices(): ServiceInfo[] {
    return mergeServices(super.listServices(), this.pool.snapshots.map((s) => s?.services ?? []));
  }
  override getService(key: ServiceKey): ServiceInfo {
    const own = super.getService(key);
    return mergeServices([own], this.pool.snapshots.map((s) => s?.services ?? []))[0]!;
  }
  /** The connections as of the last `connections` fetch over the socket (see `fetchConnections`). */
  override listConnections(): ConnInfo[] {
    return this.lastConns;
  }
  override connections(): IterableIterator<ConnInfo> {
    return this.lastConns[Symbol.iterator]();
  }
  private lastConns: ConnInfo[] = [];
  /** Every worker's connections now (and kept for `listConnections`). */
  async fetchConnections(): Promise<ConnInfo[]> {
    this.lastConns = (await this.pool.connections()).flat();
    return this.lastConns;
  }
  /** Each worker's connections (the `workerConnections` socket operation). */
  workerConnections(): Promise<ConnInfo[][]> {
    return this.pool.connections();
  }
  override info(): DirectorInfo {
    const own = super.info();
    const snaps = this.pool.snapshots;
    return { ...own, connTableSize: snaps.reduce((n, s) => n + (s?.connTableSize ?? 0), 0) || own.connTableSize };
  }
  /** Named counters summed over the workers, and `workers`. */
  override stats(): Record<string, number> {
    return { ...sumCounters(this.pool.snapshots.map((s) => s?.stats ?? {})), workers: this.pool.size };
  }
  /** Each worker's named counters and services with their counters (the `workerStats` socket operation). */
  workerStats(): { counters: Record<string, number>; services: ServiceInfo[] }[] {
    return this.pool.snapshots.map((s) => ({ counters: { ...(s?.stats ?? {}) }, services: s?.services ?? [] }));
  }
}

/** Numbers per record in a `syncRecords` batch (packSyncRecord / unpackSyncRecord). */
export const SYNC_REC_FIELDS = 19;

/** Write record `r` at record index `i` of `to`. */
export function packSyncRecord(to: Float64Array, i: number, r: SyncRecord): void {
  const o = i * SYNC_REC_FIELDS;
  to[o] = r.version;
  to[o + 1] = r.protocol;
  to[o + 2] = r.flags;
  to[o + 3] = r.state;
  to[o + 4] = r.cport;
  to[o + 5] = r.vport;
  to[o + 6] = r.dport;
  to[o + 7] = r.fwmark;
  to[o + 8] = r.timeout;
  to[o + 9] = r.caddr;
  to[o + 10] = r.vaddr;
  to[o + 11] = r.daddr;
  to[o + 12] = r.hasSeq ? 1 : 0;
  for (let k = 0; k < 6; k++) to[o + 13 + k] = r.seq[k]!;
}

/** Read record index `i` of `from` into `r` (its persistence-engine data is not carried: the backup does not use it). */
export function unpackSyncRecord(from: Float64Array, i: number, r: SyncRecord): SyncRecord {
  const o = i * SYNC_REC_FIELDS;
  r.version = from[o]!;
  r.protocol = from[o + 1]!;
  r.flags = from[o + 2]!;
  r.state = from[o + 3]!;
  r.cport = from[o + 4]!;
  r.vport = from[o + 5]!;
  r.dport = from[o + 6]!;
  r.fwmark = from[o + 7]!;
  r.timeout = from[o + 8]!;
  r.caddr = from[o + 9]!;
  r.vaddr = from[o + 10]!;
  r.daddr = from[o + 11]!;
  r.hasSeq = from[o + 12] === 1;
  for (let k = 0; k < 6; k++) r.seq[k] = from[o + 13 + k]!;
  r.peData = null;
  r.peName = null;
  return r;
}

/**
 * The worker a synced connection belongs to: the slot the steering program hashes its
 * client to, so the worker that holds it is the one that gets its packets after a
 * takeover. As the program decides for the client's packets: by the VIP entry (VIP,
 * protocol, port), else (VIP, protocol, 0) (`clientBits` of the last steering sync: see
 * addressSteered in xdp-device.ts): the first bits of the client's address, or its address
 * and port. A template goes by address (its client address is already the netmask's).
 */
export function syncWorkerOf(clientBits: ClientBits, workers: number, r: SyncRecord): number {
  const ports = clientBits.get(r.vaddr);
  let bits = ports === undefined ? -1 : (ports.get((r.protocol << 16) | r.vport) ?? ports.get(r.protocol << 16) ?? -1);
  if (bits < 0 && (r.flags & ConnFlag.TEMPLATE) !== 0) bits = 32;
  return bits < 0 ? slotOf(r.caddr, r.cport, workers) : slotOf(clientPrefix(r.caddr, bits), 0, workers);
}

/** Records a worker's batch holds before it is posted without waiting for the turn to end. */
const SYNC_BATCH = 4096;

/**
 * The sync daemons' side of a multi-worker director (SyncWorkers of @tunvs/sync): the
 * master's operations broadcast to every worker (each runs a SyncMaster on its own table
 * and posts each message it completes: one postMessage per message of up to `maxlen`
 * bytes, never per packet); the backup's records batched per worker and posted once per
 * turn of the event loop (or every SYNC_BATCH records). Counters come with the workers'
 * snapshots (refreshed every second).
 */
export class WorkerSyncRelay implements SyncWorkers {
  private readonly bufs: Float64Array[];
  private readonly counts: number[];
  private scheduled = false;
  private readonly flushCb = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly pool: WorkerPool,
    /** how the steering's VIP entries hash clients, as last steered (see syncWorkerOf) */
    private readonly clientBits: () => ClientBits,
  ) {
    this.bufs = Array.from({ length: pool.size }, () => new Float64Array(0));
    this.counts = new Array<number>(pool.size).fill(0);
  }

  startMaster(settings: SyncMasterSettings, send: (msg: Uint8Array) => void): void {
    this.pool.onSyncMessage = send;
    this.pool.broadcast('syncStartMaster', [settings]);
  }
  configureMaster(next: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>): void {
    this.pool.broadcast('syncConfigureMaster', [next]);
  }
  stopMaster(): Promise<void> {
    this.pool.broadcast('syncStopMaster', []);
    // a worker handles its messages in order and so does this thread: when its snapshot
    // comes, the messages its stop flushed have come before it
    return this.pool.refresh().catch(() => undefined);
  }
  masterCounters(): SyncMasterCounters {
    const out: SyncMasterCounters = { queued: 0, queueFull: 0, messages: 0, bytes: 0, sendErrors: 0 };
    for (const s of this.pool.snapshots) {
      const m = s?.sync.master;
      if (m) for (const k of Object.keys(out) as (keyof SyncMasterCounters)[]) out[k] += m[k];
    }
    return out;
  }

  startBackup(settings: Partial<SyncBackupSettings>): void {
    this.pool.broadcast('syncStartBackup', [settings]);
  }
  configureBackup(next: Partial<Pick<SyncBackupSettings, 'threshold'>>): void {
    this.pool.broadcast('syncConfigureBackup', [next]);
  }
  record(r: SyncRecord, _now: number): void {
    const w = syncWorkerOf(this.clientBits(), this.pool.size, r);
    let buf = this.bufs[w]!;
    const n = this.counts[w]!;
    if ((n + 1) * SYNC_REC_FIELDS > buf.length) {
      const bigger = new Float64Array(Math.max(64, (n + 1) * 2) * SYNC_REC_FIELDS);
      bigger.set(buf.subarray(0, n * SYNC_REC_FIELDS));
      buf = this.bufs[w] = bigger;
    }
    packSyncRecord(buf, n, r);
    this.counts[w] = n + 1;
    if (n + 1 >= SYNC_BATCH) this.post(w);
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushCb);
    }
  }
  stopBackup(): void {
    this.flush();
    this.pool.broadcast('syncStopBackup', []);
  }
  backupApplied(): SyncApplyCounters {
    const out = new SyncApplyCounters();
    for (const s of this.pool.snapshots) {
      const a = s?.sync.applied;
      if (a) for (const k of Object.keys(out) as (keyof SyncApplyCounters)[]) out[k] += a[k];
    }
    return out;
  }

  /** Post every worker's waiting records. */
  flush(): void {
    for (let w = 0; w < this.counts.length; w++) if (this.counts[w]! > 0) this.post(w);
  }

  private post(w: number): void {
    const n = this.counts[w]!;
    // the buffer goes with the message (transferred): the next batch starts a new one
    const recs = this.bufs[w]!;
    this.bufs[w] = new Float64Array(0);
    this.counts[w] = 0;
    this.pool.syncRecords(w, recs, n);
  }
}
