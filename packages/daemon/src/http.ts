/**
 * tunvsd's one hook for observability: the metrics collector, the health tracker, the
 * feeds the VRRP and sync runtimes register with, and the HTTP server with /metrics, the
 * status API and the console. All of it exists only when tunvsd serves HTTP (an `http`
 * section or --http, which a reload cannot turn on): without it @tunvs/metrics and
 * @tunvs/console are never loaded, nothing is counted, and the HealthManager probes with
 * its own defaults. daemon.ts calls it at four points: the Director's events, the
 * HealthManager's options, start (which also counts reloads), stop.
 */
import type { Feeds, HealthTracker, Metrics } from '@tunvs/metrics';
import type * as MetricsLib from '@tunvs/metrics';
import type { ConsoleServer, ControlAnswer } from '@tunvs/console';
import type { HealthManagerOptions } from '@tunvs/healthcheck';
import { dispatchRequest } from '@tunvs/cli';
import { reasonName } from '@tunvs/packet';
import { schedulerNames } from '@tunvs/schedulers';
import { TUNVS_VERSION } from '@tunvs/engine';
import type { ServiceRunner } from './health.js';
import type { RunningDaemon } from './daemon.js';
import { svcKeyString } from './reconcile.js';
import { WorkerDirector } from './workers.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** What tunvsd keeps of the observability hook. */
export class Observability {
  /** where the VRRP and sync runtimes register (`feeds?.setVrrp(source)`); null without HTTP */
  readonly feeds: Feeds | null;
  readonly health: HealthTracker | null;
  metrics: Metrics | null = null;
  server: ConsoleServer | null = null;
  private services: ServiceRunner | null = null;
  private readonly early: { type: string }[] = [];

  /** The hook for a daemon that serves HTTP (`http`: loads @tunvs/metrics) or not (loads nothing). */
  static async create(log: Log, http: boolean): Promise<Observability> {
    return new Observability(log, http ? await import('@tunvs/metrics') : null);
  }

  private constructor(private readonly log: Log, private readonly lib: typeof MetricsLib | null) {
    this.feeds = lib ? new lib.Feeds() : null;
    this.health = lib ? new lib.HealthTracker(() => this.services?.healthManager ?? null) : null;
  }

  /** Options for the HealthManager (with HTTP: times every probe, keeps its result). */
  get healthOptions(): HealthManagerOptions {
    return this.health?.managerOptions ?? {};
  }

  /** The Director's event callback. */
  onDirectorEvent(ev: { type: string }): void {
    if (this.metrics) this.metrics.collector.onDirectorEvent(ev);
    else if (this.lib) this.early.push(ev);
  }

  /** Count a reload's outcome. */
  reloaded(ok: boolean): void {
    this.metrics?.collector.reloaded(ok);
  }

  /**
   * With HTTP configured: start collecting (reloads are counted from now on) and serve it;
   * without: nothing. On failure (e.g. the address is in use) the daemon is stopped and the
   * error thrown.
   */
  async start(d: RunningDaemon, path: string, kind: string): Promise<void> {
    try {
      await this.startOrThrow(d, path, kind);
    } catch (e) {
      await d.stop();
      throw e;
    }
  }

  private async startOrThrow(d: RunningDaemon, path: string, kind: string): Promise<void> {
    const http = d.config.http;
    if (!http) return;
    const { lib, feeds, health } = this;
    if (!lib || !feeds || !health) throw new Error('tunvsd: the http server is configured but the observability hook was created without it');
    const o = { director: d.director, device: d.device, services: d.services, path, kind, config: () => d.config };
    this.services = o.services;
    const { director, device } = o;
    const reload = d.reload.bind(d);
    d.reload = async () => {
      const ok = await reload();
      this.reloaded(ok);
      return ok;
    };
    // with workers the traffic is theirs: every counter is the sum of their snapshots
    const workers = director instanceof WorkerDirector ? { workers: (x: { conntrack: boolean }) => director.pool.metrics(x) } : {};
    this.metrics = new lib.Metrics({ director, links: () => device.queues, feeds, health, reasonName, version: TUNVS_VERSION, ...workers });
    for (const ev of this.early.splice(0)) this.metrics.collector.onDirectorEvent(ev);
    // loaded only when the HTTP server is on: a daemon without it (and --config-test) never loads it
    const { startConsole } = await import('@tunvs/console');
    this.server = await startConsole(http, {
      metrics: this.metrics,
      health,
      feeds,
      control: async (op, args) => {
        const r = await dispatchRequest(director, { id: 0, op, args });
        return (r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error }) as ControlAnswer;
      },
      connections: () => director.listConnections(),
      info: () => {
        const cfg = o.config();
        const hm = o.services.healthManager;
        const managed = new Set<string>();
        if (hm) for (const s of director.listServices()) if (!cfg.services.some((x) => svcKeyString(x) === svcKeyString(s))) managed.add(svcKeyString(s));
        return {
          configFile: o.path,
          configKind: o.kind,
          keepalivedConf: cfg.keepalivedConf ?? null,
          managed,
          switches: { ...director.conns.options, connCapacity: director.conns.capacity, sloppyTcp: director.sloppyTcp },
          version: TUNVS_VERSION,
          schedulers: schedulerNames(),
        };
      },
      log: this.log,
      defense: () => director.getDefense(),
    });
    this.log('info', 'http server ready', { url: this.server.url, metrics: `${this.server.url}/metrics`, console: http.console });
  }

  /** Stop the server and the metrics worker. */
  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
    await this.metrics?.close();
  }
}
