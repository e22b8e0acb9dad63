/**
 * tunvsd: opens the device named in the configuration, runs a Director on it, applies the
 * configured rules, and serves the control socket that tunvsadm speaks.
 *
 *   SIGHUP   re-read the configuration and apply the difference (a bad file is reported
 *            and the running rules are kept)
 *   SIGTERM  close the socket and the device, exit 0
 *
 * With `workers N` (> 1, kernel-bypass links only) the Directors run in N worker threads,
 * one slot of the link each, and the Director here is the control plane (workers.ts).
 *
 * The configuration is read and checked in a worker thread (loader.ts), at start and at
 * every reload, so the packet path and the control socket keep running while a file is
 * parsed; a reload that fails in any way (an error, a timeout, a heap limit) changes
 * nothing. A reload that passes is applied in one synchronous step that either completes
 * or is undone (ServiceRunner.apply). Settings a reload cannot change (the device, the
 * socket, the table size) are reported as needing a restart.
 *
 * Logs are JSON lines on stderr: { ts, level, msg, ... }.
 */
import { describeHugePages } from './huge-pages.js';
import type { Server } from 'node:net';
import { Director, tuneJit } from '@tunvs/engine';
import type { DirectorEvent, MarkRule } from '@tunvs/engine';
import { openTap, openTun } from '@tunvs/tuntap';
import { parseCidr, parseMac, formatIpv4 } from '@tunvs/packet';
import { DEFENSE_DEFAULTS } from '@tunvs/model';
import { pinThread } from '@tunvs/hostnet';
import type { DefenseSettings, ServiceKey, Timeouts } from '@tunvs/model';
import { claimSocketPath, serveControl, socketPath } from '@tunvs/cli';
import type { ControlOpHandler, SocketClaim } from '@tunvs/cli';
import { ConfigError, cpusNotHere, markRules, needsRestart } from './config.js';
import type { DaemonConfig } from './config.js';
import type { DaemonSetup } from './sources.js';
import { bothDevices, interfacesRefusal, openBypassDevice, syncSteeringSides, vrrpSteering } from './xdp-device.js';
import type { ClientBits } from './xdp-device.js';
import type { BypassDevice, BypassSide, DaemonDevice, VrrpSteering } from './xdp-device.js';
import { deviceLabel } from './vrrp-spec.js';
import { ConfigReader } from './loader.js';
import { PluginSchedulers } from './plugins.js';
import type { LoadOptions } from './loader.js';
import { ApplyError, ServiceRunner } from './health.js';
import type { Change, Transaction } from './reconcile.js';
import { Observability } from './http.js';
import { DaemonVrrp } from './vrrp-runtime.js';
import { DaemonSync } from './sync-runtime.js';
import type { HttpConfig } from '@tunvs/console/config';
import { WorkerDirector, WorkerPool, WorkerSyncRelay, tableShares } from './workers.js';
import type { WorkerSetup } from './workers.js';

export type Logger = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Structured log lines on stderr. */
export const jsonLogger: Logger = (level, msg, fields = {}) => {
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }) + '\n');
};

export interface RunningDaemon {
  director: Director;
  /** the TUN/TAP device, or the kernel-bypass port (xdp, packet) */
  device: DaemonDevice;
  server: Server;
  /** the configuration applied last */
  config: DaemonConfig;
  /** the services and health checking of the running configuration */
  services: ServiceRunner;
  /** VRRP instances of the keepalived.conf (vrrp-runtime.ts) */
  vrrp: DaemonVrrp;
  /** the connection-sync daemons (sync-runtime.ts) */
  sync: DaemonSync;
  /** metrics, the HTTP server, and the feeds the VRRP/sync runtimes register with */
  observability: Observability;
  /**
   * Re-read the configuration file and apply the difference; resolves true when applied.
   * Calls during a reload are folded into one more reload after it.
   */
  reload(): Promise<boolean>;
  /** stop everything */
  stop(): Promise<void>;
}

export interface DaemonOptions extends LoadOptions {
  /** control socket (overrides the configuration's) */
  socket?: string;
  log?: Logger;
  /** more control socket operations (added by other daemon modules) */
  ops?: Iterable<[string, ControlOpHandler]>;
  /** the HTTP server from the command line (--http), over the configuration's */
  http?: HttpConfig;
  /** with `workers` > 1: a worker thread ended on its own (default: log and exit 1) */
  onWorkerLost?: (worker: number) => void;
}

/**
 * Read and check `path` off the main thread, then load the scheduler plug-ins it names
 * (their schedulers are registered in this thread); throws ConfigError with every error.
 */
async function load(reader: ConfigReader, plugins: PluginSchedulers, path: string): Promise<DaemonSetup> {
  const r = await reader.read(path);
  if (r.setup === null) {
    const errs = r.messages.filter((m) => !/: warning: /.test(m));
    throw new ConfigError((errs.length ? errs : r.messages).join('\n'));
  }
  try {
    r.setup.config = await plugins.resolve(r.setup.config);
  } catch (e) {
    throw new ConfigError(`${path}: ${(e as Error).message}`);
  }
  return r.setup;
}

/** The `--set` values a configuration asks for: the start-up values, with its own over them. */
function timeoutsOf(base: Timeouts, c: DaemonConfig): Timeouts {
  const t = { ...base };
  for (const k of ['tcp', 'tcpfin', 'udp'] as const) if (c.timeouts?.[k]) t[k] = c.timeouts[k]!;
  return t;
}

/**
 * The socket operations of a multi-worker director: listings from fresh worker snapshots,
 * each worker's counters (`workerStats`, `workerConnections`).
 */
function workerOps(d: WorkerDirector): [string, ControlOpHandler][] {
  return [
    ['listServices', { arity: [0, 0], run: async () => (await d.refresh(), d.listServices()), stream: async () => (await d.refresh(), d.listServices()) }],
    ['getService', { arity: [1, 1], run: async (_c, a) => (await d.refresh(), d.getService(a[0] as ServiceKey)) }],
    ['listConnections', { arity: [0, 0], run: () => d.fetchConnections(), stream: () => d.fetchConnections() }],
    ['info', { arity: [0, 0], run: async () => (await d.refresh(), d.info()) }],
    ['workerStats', { arity: [0, 0], run: async () => (await d.refresh(), d.workerStats()) }],
    ['workerConnections', { arity: [0, 0], run: () => d.workerConnections() }],
  ];
}

/** Start tunvsd with the configuration file `path`. */
export async function startDaemon(path: string, opts: DaemonOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? jsonLogger;
  // before any frame: V8 reads the budgets when it optimises the per-packet path
  const jit = tuneJit();
  const loadOpts: LoadOptions = { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.maxHeapMb !== undefined ? { maxHeapMb: opts.maxHeapMb } : {}) };
  const reader = new ConfigReader(loadOpts);
  const plugins = new PluginSchedulers(log);
  let setup: DaemonSetup;
  let obs: Observability;
  try {
    setup = await load(reader, plugins, path);
    // --http (the command line) wins over the configuration's http server
    if (opts.http) setup.config.http = opts.http;
    // @tunvs/metrics only for a daemon that serves HTTP (a reload cannot turn it on)
    obs = await Observability.create(log, setup.config.http !== undefined);
  } catch (e) {
    reader.close();
    throw e;
  }
  const started = setup.config;
  for (const w of setup.warnings) log('warn', 'configuration warning', { message: w });
  const sock = socketPath(opts.socket ?? started.socket);
  // one daemon per socket: claim it before touching the device
  let claim: SocketClaim;
  try {
    claim = await claimSocketPath(sock);
  } catch (e) {
    reader.close();
    throw e;
  }
  let device: DaemonDevice | null = null;
  let bypass: BypassDevice | null = null;
  /** device.interfaces: the further interfaces the Director owns */
  const further: BypassSide[] = [];
  const furtherRefusal = (k: typeof setup.keepalived): string | null =>
    interfacesRefusal(k?.vrrpConfig.instances.flatMap((i) => (i.interface !== undefined ? [i.interface] : [])) ?? [], (started.device.interfaces ?? []).map((i) => i.name));
  let director: Director | null = null;
  /** what the VRRP instances on the bypass interface need steered (set before each VRRP apply) */
  const vrrpSteer: VrrpSteering = { vips: [], arp: [] };
  /** re-apply the bypass steering (VRRP's part changed); nothing on TUN/TAP */
  let resteer = (): void => {};
  /** how the bypass steering's VIP entries hash clients, as last steered (synced connections go to their worker by them) */
  let clientBits: ClientBits = new Map();
  let pool: WorkerPool | null = null;
  const nWorkers = started.workers ?? 1;
  let services: ServiceRunner | null = null;
  try {
    // cpus: each Director's thread on its own core. With one worker the main thread runs the
    // Director, so it pins itself here, before the device's rings and the table exist (the
    // kernel and the first touch then place them near that CPU); workers pin themselves
    // (their tables then are theirs; the link's UMEM or rings are made here, unpinned)
    if (started.cpus !== undefined) {
      const why = cpusNotHere(started.cpus);
      if (why !== null) throw new ConfigError(`${path}: ${why}`);
      if (nWorkers === 1) {
        pinThread(started.cpus);
        log('info', 'director thread pinned', { cpu: started.cpus[0] });
      }
    }
    const dev = started.device;
    const devOpts = { name: dev.name, queues: dev.queues, vnetHdr: dev.vnetHdr, ...(dev.mtu ? { mtu: dev.mtu } : {}) };
    const refused = furtherRefusal(setup.keepalived);
    if (refused !== null) throw new ConfigError(`${path}: ${refused}`);
    if (dev.kind === 'xdp' || dev.kind === 'packet') {
      bypass = openBypassDevice(dev.kind, dev.name, nWorkers, dev.xdp, dev.vnetHdr);
      device = bypass;
      // with workers the sockets are the workers' (link says how many), none is read here
      log('info', 'device opened', { device: bypass.name, kind: dev.kind, link: bypass.describe, ...(nWorkers > 1 ? {} : { queues: bypass.queues.length }), workers: nWorkers });
      for (const i of dev.interfaces ?? []) {
        const x = openBypassDevice(dev.kind, i.name, 1, dev.xdp, dev.vnetHdr);
        further.push({ dev: x, owned: i.addresses.map((a) => formatIpv4(parseCidr(a).addr)) });
        log('info', 'device opened', { device: x.name, kind: dev.kind, link: x.describe, queues: x.queues.length, interface: further.length });
      }
      if (further.length > 0) device = bothDevices(bypass, further.map((f) => f.dev));
    } else {
      const tt = dev.kind === 'tap' ? openTap(devOpts) : openTun(devOpts);
      device = tt;
      log('info', 'device opened', { device: tt.name, kind: tt.kind, queues: tt.queues.length, vnetHdrLen: tt.vnetHdrLen });
    }
    const bp = bypass;
    const owned = dev.addresses.map((a) => formatIpv4(parseCidr(a).addr));
    const sides: BypassSide[] = bp !== null ? [{ dev: bp, owned, vrrp: vrrpSteer }, ...further] : [];
    let unsteered = '';
    const addresses = dev.addresses.map((a) => {
      const c = parseCidr(a);
      return { addr: formatIpv4(c.addr), prefix: c.prefix };
    });
    const capacity = started.connCapacity ?? 262144;
    // a large table is much faster on huge pages (huge-pages.ts); say whether it can have them
    log('info', 'memory', { connCapacity: capacity, hugePages: describeHugePages() });
    // and the per-packet path compiles into fewer, larger functions with V8's inlining budgets raised (engine's jit.ts)
    log('info', 'jit', { ...jit });
    const conntrack = {
      ...(started.expireNodestConn !== undefined ? { expireNodestConn: started.expireNodestConn } : {}),
      ...(started.expireQuiescentTemplate !== undefined ? { expireQuiescentTemplate: started.expireQuiescentTemplate } : {}),
      ...(started.connReuseMode !== undefined ? { connReuseMode: started.connReuseMode } : {}),
    };
    const common = {
      addresses,
      ...(dev.gateway ? { gateway: dev.gateway } : {}),
      ...(started.sourceAddress ? { sourceAddress: started.sourceAddress } : {}),
      ...(started.ftp ? { ftpPorts: started.ftp.ports } : {}),
      conntrack,
      onEvent: (ev: DirectorEvent) => {
        log('info', ev.type, { ...ev });
        // a kernel-bypass link takes only the director's frames off the wire: keep its
        // steering in step with the services and NAT real servers
        if (bp !== null && director !== null && ev.type !== 'timeouts') {
          const steered = syncSteeringSides(sides, director);
          clientBits = steered.clientBits;
          const missed = steered.unsteered.join(', ');
          if (missed !== '' && missed !== unsteered) log('warn', 'services the link cannot steer (their packets stay with the kernel)', { services: missed });
          unsteered = missed;
        }
        obs.onDirectorEvent(ev);
      },
    };
    if (bp !== null && nWorkers > 1) {
      // one Director per worker thread, each on its slot with its share of the table
      const shares = tableShares(capacity, nWorkers);
      log('info', 'table shares', { workers: nWorkers, connCapacity: shares });
      const setups: WorkerSetup[] = bp.workerLinks.map((link, index) => ({
        index,
        link,
        ...(started.cpus !== undefined ? { cpu: started.cpus[index]! } : {}),
        metrics: started.http !== undefined,
        director: {
          mac: Array.from(bp.mac),
          addresses,
          ...(dev.gateway ? { gateway: dev.gateway } : {}),
          ...(started.sourceAddress ? { sourceAddress: started.sourceAddress } : {}),
          connCapacity: shares[index]!,
          ...(started.ftp ? { ftpPorts: started.ftp.ports } : {}),
          conntrack,
        },
      }));
      // a worker lost is a slot without a Director: stop rather than black-hole its clients
      pool = new WorkerPool(setups, log, (index) => {
        const fatal = opts.onWorkerLost ?? ((): void => {
          log('error', 'stopping: a worker thread ended', { worker: index });
          // detach the steering program: the kernel takes the interface's frames back
          try {
            device?.close();
          } finally {
            process.exit(1);
          }
        });
        fatal(index);
      });
      await pool.ready();
      await pool.refresh();
      pool.startRefresh();
      director = new WorkerDirector({ ...common, mac: bp.mac, linkName: bp.name, mtu: bp.mtu }, pool);
    } else if (bp !== null && further.length > 0) {
      // one Director owning every interface, each with its MAC, addresses and ARP
      const { addresses: _first, ...rest } = common;
      director = new Director({
        interfaces: [
          { name: bp.name, links: bp.queues, mac: bp.mac, addresses },
          ...further.map((f, k) => {
            const i = dev.interfaces![k]!;
            const addrs = i.addresses.map((a) => {
              const c = parseCidr(a);
              return { addr: formatIpv4(c.addr), prefix: c.prefix };
            });
            return { name: f.dev.name, links: f.dev.queues, mac: f.dev.mac, addresses: addrs, ...(i.gateway ? { gateway: i.gateway } : {}), ...(i.vips !== undefined ? { vips: i.vips } : {}) };
          }),
        ],
        ...rest,
        connCapacity: capacity,
      });
    } else {
      director = new Director({
        links: device.queues,
        ...(bp !== null ? { mac: bp.mac } : dev.kind === 'tap' ? { mac: parseMac(dev.mac) } : {}),
        ...common,
        connCapacity: capacity,
      });
    }
    // the owned addresses' ARP reaches the director before any service exists
    if (bp !== null) {
      const dd = director;
      resteer = () => void (clientBits = syncSteeringSides(sides, dd).clientBits);
      clientBits = syncSteeringSides(sides, director).clientBits;
    }
  } catch (e) {
    await pool?.stop();
    device?.close();
    // further interfaces opened before the failure (bothDevices closes them once built)
    if (device === bypass) for (const f of further) f.dev.close();
    claim.release();
    reader.close();
    throw e;
  }
  const d0 = director;
  const workers = pool;
  /** stop the worker threads (their link slots) before the device closes */
  /** Stop the workers; their sockets' counters, read before the sockets closed */
  const stopWorkers = async (): Promise<Record<string, number>[]> => (workers !== null ? workers.stop() : []);
  const baseTimeouts = d0.getTimeouts();
  let marks: MarkRule[] = [];
  /** timeouts and mark rules, inside the transaction of `apply` */
  const settings = (c: DaemonConfig) => (tx: Transaction): void => {
    tx.setTimeouts(timeoutsOf(baseTimeouts, c));
    // the defence sysctls: absent ones go back to the kernel's defaults
    const defense = d0.getDefense();
    d0.setDefense({ ...DEFENSE_DEFAULTS, ...c.defense });
    tx.onRollback(() => d0.setDefense(defense));
    // sysctl sloppy_tcp: absent means off, as the kernel's default
    const sloppy = d0.sloppyTcp;
    d0.sloppyTcp = c.sloppyTcp ?? false;
    tx.onRollback(() => (d0.sloppyTcp = sloppy));
    // the sync sysctls: the master daemon (running or to come) takes them in place
    tx.onRollback(sync.configure(c.sync));
    const before = marks;
    const next = markRules(c.marks);
    d0.marks.set(next);
    workers?.broadcast('setMarks', [next]);
    marks = next;
    tx.onRollback(() => {
      d0.marks.set(before);
      workers?.broadcast('setMarks', [before]);
      marks = before;
    });
  };
  d0.start();
  // VRRP before the services: on a TAP device its VIPs must be silent before a virtual
  // service using them would announce them
  // with workers the connections are theirs: their masters fill the messages sent here,
  // the records received here go to the worker of each flow
  const sync = new DaemonSync(d0, log, d0 instanceof WorkerDirector ? { workers: new WorkerSyncRelay(d0.pool, () => clientBits) } : {});
  obs.feeds?.setSync(sync.source());
  const vrrp = new DaemonVrrp({
    log,
    onTransition: (ev) => sync.onTransition(ev.instance, ev.to),
    ...(device.kind === 'tun' ? { tunDevice: device.name } : { tap: { director: d0, device: device.name, addresses: started.device.addresses, label: deviceLabel(started.device.kind) } }),
  });
  obs.feeds?.setVrrp(vrrp.source());
  /** VRRP on the bypass interface: its adverts, VIP ARP and ping steered to the Director */
  const steerVrrp = (k: typeof setup.keepalived): void => {
    if (bypass === null) return;
    const first = started.device.addresses[0];
    const next = vrrpSteering(k?.vrrpConfig, device.name, first ? formatIpv4(parseCidr(first).addr) : '0.0.0.0');
    vrrpSteer.vips = next.vips;
    vrrpSteer.arp = next.arp;
    resteer();
  };
  try {
    steerVrrp(setup.keepalived);
    await vrrp.apply(setup.keepalived);
  } catch (e) {
    d0.stop();
    await stopWorkers();
    device.close();
    claim.release();
    reader.close();
    throw new ConfigError((e as Error).message);
  }
  services = new ServiceRunner(d0, log, obs.healthOptions);
  let applied: Change[];
  try {
    applied = services.apply(started.services, setup.keepalived, settings(started));
  } catch (e) {
    services.stop();
    await vrrp.stop();
    d0.stop();
    await stopWorkers();
    device.close();
    claim.release();
    reader.close();
    throw e;
  }
  // lvs_sync_daemon: after VRRP, so that a daemon following an instance sees its state
  await sync.apply(setup.keepalived, (n) => vrrp.stateOf(n));
  log('info', 'configuration applied', { file: path, kind: setup.kind, keepalived: started.keepalivedConf ?? null, changes: applied.length });
  // the defence sysctls over the socket (until the next reload, which applies the file's)
  const defenseOps: [string, ControlOpHandler][] = [
    ['getDefense', { arity: [0, 0], run: () => d0.getDefense() }],
    ['setDefense', { arity: [1, 1], run: (_ctl, args) => d0.setDefense(args[0] as Partial<DefenseSettings>) }],
  ];
  const server = serveControl(d0, sock, { claim, log, ops: [...defenseOps, ...(opts.ops ?? []), ...vrrp.ops(), ...sync.ops(), ...(d0 instanceof WorkerDirector ? workerOps(d0) : [])] });
  try {
    await new Promise<void>((res, rej) => {
      server.once('listening', () => res());
      server.once('error', rej);
    });
  } catch (e) {
    await sync.stop();
    services.stop();
    await vrrp.stop();
    d0.stop();
    await stopWorkers();
    device.close();
    claim.release();
    reader.close();
    throw e;
  }
  log('info', 'control socket ready', { socket: sock });

  const runner = services;
  const dev = device;
  let inFlight: Promise<boolean> | null = null;
  let again = false;
  let stopped = false;

  /** the keepalived configuration whose VRRP part the bypass steering follows */
  let steered = setup.keepalived;
  const reloadOnce = async (): Promise<boolean> => {
    let next: DaemonSetup;
    try {
      next = await load(reader, plugins, path);
    } catch (e) {
      const errors = (e as Error).message.split('\n');
      log('error', 'reload failed, keeping the running configuration', { error: errors[0], errors });
      return false;
    }
    if (stopped) return false;
    const refused = furtherRefusal(next.keepalived);
    if (refused !== null) {
      log('error', 'reload failed, keeping the running configuration', { error: `${path}: ${refused}`, errors: [`${path}: ${refused}`] });
      return false;
    }
    for (const w of next.warnings) log('warn', 'configuration warning', { message: w });
    if (opts.http) next.config.http = opts.http;
    // the device, the socket and the table were set up at start: a reload cannot change them
    const restart = needsRestart(started, next.config);
    const sockNow = socketPath(opts.socket ?? next.config.socket);
    if (sockNow !== sock && !restart.some((r) => r.startsWith('socket'))) restart.push(`socket: ${JSON.stringify(sock)} -> ${JSON.stringify(sockNow)}`);
    for (const r of restart) log('warn', 'setting changed, needs a restart (the running value is kept)', { setting: r });
    // VRRP: refused as a whole before anything changes; its synchronous part silences new
    // TAP VIPs before the services could announce them, the instances restart after
    let vrrpStep;
    try {
      vrrpStep = vrrp.stage(next.keepalived);
    } catch (e) {
      const errors = (e as Error).message.split('\n');
      log('error', 'reload failed, keeping the running configuration', { error: errors[0], errors });
      return false;
    }
    try {
      const changes = runner.apply(next.config.services, next.keepalived, settings(next.config));
      d.config = next.config;
      steerVrrp(next.keepalived);
      await vrrpStep.commit();
      steered = next.keepalived;
      await sync.apply(next.keepalived, (n) => vrrp.stateOf(n));
      log('info', 'configuration reloaded', { file: path, changes, needsRestart: restart });
      return true;
    } catch (e) {
      vrrpStep.abort();
      steerVrrp(steered);
      const undone = e instanceof ApplyError ? e.undone : 0;
      const incomplete = e instanceof ApplyError ? e.rollbackErrors : [];
      log('error', incomplete.length ? 'reload failed while applying; restoring the running rules failed in part' : 'reload failed while applying; the running rules were restored', {
        error: (e as Error).message,
        undone,
        ...(incomplete.length ? { rollbackErrors: incomplete } : {}),
      });
      return false;
    }
  };

  const d: RunningDaemon = {
    director: d0,
    device: dev,
    server,
    config: started,
    services: runner,
    vrrp,
    sync,
    observability: obs,
    reload(): Promise<boolean> {
      if (inFlight) {
        again = true;
        return inFlight;
      }
      const run = async (): Promise<boolean> => {
        let ok = await reloadOnce();
        while (again && !stopped) {
          again = false;
          ok = await reloadOnce();
        }
        return ok;
      };
      inFlight = run().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    async stop(): Promise<void> {
      stopped = true;
      await sync.stop();
      await vrrp.stop();
      await obs.stop();
      reader.close();
      runner.stop();
      await new Promise<void>((res) => server.close(() => res()));
      // where frames were lost on the link (the kernel's AF_XDP counters), once, at the end:
      // the sockets read in this thread, then each worker's (read by the worker as it stops)
      const linkStats = bypass?.linkStats() ?? [];
      d0.stop();
      linkStats.push(...(await stopWorkers()));
      if (linkStats.length > 0) log('info', 'link counters', { links: linkStats });
      dev.close();
      log('info', 'stopped', {});
    },
  };
  await obs.start(d, path, setup.kind);
  return d;
}
