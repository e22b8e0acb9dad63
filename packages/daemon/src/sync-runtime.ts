/**
 * tunvsd's connection-sync daemons (@tunvs/sync) for its Director:
 *
 * - the control socket's `startDaemon` / `stopDaemon` / `listDaemons` (tunvsadm
 *   `--start-daemon`, `--stop-daemon`, `-L --daemon`);
 * - keepalived.conf's `lvs_sync_daemon IF [[inst] NAME] [id N] ...`: without an instance
 *   a master and a backup daemon run for as long as the configuration says so; with one,
 *   a single daemon whose role follows that VRRP instance as keepalived drives it (MASTER:
 *   the master daemon; any other state, and at start: the backup daemon), syncid defaulting
 *   to the instance's VRID. A reload that changes these settings restarts the daemons; an
 *   unknown instance is reported with file:line and no daemon runs (keepalived clears the
 *   setting the same way);
 * - the configuration's sync sysctls (JSON `sync`, tunvsd.conf `sync_threshold 3 50` ...):
 *   `configure` hands them to the master daemon, running or started later (by tunvsadm or
 *   lvs_sync_daemon), and sync_threshold to the backup daemon too (the packet count its
 *   records give their connections); a reload applies changed values in place, a failed
 *   one undoes them;
 * - the metrics feed (Feeds.setSync).
 */
import { ControlError } from '@tunvs/model';
import type { ControlErrorCode } from '@tunvs/model';
import type { Director } from '@tunvs/engine';
import { SyncDaemons, SyncError, syncMasterSettings } from '@tunvs/sync';
import type { SyncDaemonConfig, SyncDaemonsOptions, SyncRole, SyncSysctls } from '@tunvs/sync';
import type { KeepalivedConfig, LvsSyncDaemonConfig } from '@tunvs/keepalived';
import type { ControlOpHandler } from '@tunvs/cli';
import type { SyncDaemonStats, SyncSource } from '@tunvs/metrics';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

const CODES: ReadonlySet<string> = new Set<ControlErrorCode>(['EEXIST', 'ESRCH', 'EINVAL', 'ENODEV', 'EADDRNOTAVAIL', 'ENOMEM']);

/** A SyncError (or a socket error) as the ControlError the socket answers with. */
function controlError(e: unknown, op: string): unknown {
  const code = (e as { code?: unknown })?.code;
  if (e instanceof SyncError || (typeof code === 'string' && CODES.has(code))) {
    const c = typeof code === 'string' && CODES.has(code) ? (code as ControlErrorCode) : 'EINVAL';
    return new ControlError(c, (e as Error).message, op);
  }
  return e;
}

function isRole(x: unknown): x is SyncRole {
  return x === 'master' || x === 'backup';
}

/** The settings of an `lvs_sync_daemon` line that matter to the daemons (no file:line). */
function settingsKey(c: LvsSyncDaemonConfig | undefined, vrid: number | undefined): string {
  if (!c) return '';
  const { file: _f, line: _l, ...rest } = c;
  return JSON.stringify({ ...rest, vrid });
}

export class DaemonSync {
  readonly daemons: SyncDaemons;
  /** the running lvs_sync_daemon configuration, its daemon settings, the instance it follows */
  private cfg: LvsSyncDaemonConfig | undefined;
  private key = '';
  /** configure() ran (the first time is the start: not logged as a change) */
  private configured = false;
  private daemonCfg: SyncDaemonConfig | null = null;
  /** role changes run one after another (opening a socket is asynchronous) */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    director: Director,
    private readonly log: Log,
    opts: SyncDaemonsOptions = {},
  ) {
    this.daemons = new SyncDaemons(director, { warn: (msg) => log('warn', msg, {}), ...opts });
  }

  /**
   * Apply the configuration's sync sysctls (absent ones at the kernel's defaults) to the
   * daemons, running or to come (the backup uses sync_threshold). Returns what undoes it
   * (a reload that fails later).
   */
  configure(sysctls: Partial<SyncSysctls> | undefined): () => void {
    const before = this.daemons.masterSysctls;
    const next = syncMasterSettings(sysctls);
    this.daemons.configure(next);
    const first = !this.configured;
    this.configured = true;
    const changed = Object.keys(next)
      .filter((k) => JSON.stringify(next[k as keyof typeof next]) !== JSON.stringify(before[k as keyof typeof before]))
      .map((k) => (k === 'refreshPeriodMs' ? 'refreshPeriod' : k));
    if (first || changed.length > 0) {
      const { threshold, period, refreshPeriodMs, retries, qlenMax, version, persistMode } = next;
      const sync = { threshold, period, refreshPeriod: refreshPeriodMs / 1000, retries, qlenMax, version, persistMode: persistMode ? 1 : 0 };
      this.log('info', first ? 'sync settings' : 'sync settings applied', { sync, ...(first ? {} : { changed, master: this.daemons.masterStatus() !== null }) });
    }
    return () => this.daemons.configure(before);
  }

  private queue(fn: () => Promise<void>): Promise<void> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * Apply the configuration's `lvs_sync_daemon`: nothing when unchanged; otherwise stop
   * the daemons the previous one started and start the new ones. `stateOf` answers the
   * current VRRP state of an instance (MASTER/BACKUP/FAULT/INIT), null when unknown.
   */
  apply(k: KeepalivedConfig | null, stateOf: (instance: string) => string | null): Promise<void> {
    const next = k?.vrrpConfig.lvsSyncDaemon;
    const inst = next?.instance !== undefined ? k!.vrrpConfig.instances.find((i) => i.name === next.instance) : undefined;
    const key = settingsKey(next, inst?.vrid);
    if (key === this.key) return Promise.resolve();
    return this.queue(async () => {
      if (this.cfg) {
        this.log('info', next ? 'lvs_sync_daemon changed: restarting the sync daemons' : 'lvs_sync_daemon removed: stopping the sync daemons', {});
        this.daemons.stop();
      }
      this.cfg = next;
      this.key = key;
      this.daemonCfg = null;
      if (!next) return;
      if (next.instance !== undefined && !inst) {
        this.log('warn', `${next.file}:${next.line}: lvs_sync_daemon: no vrrp_instance ${next.instance}: no sync daemon runs`, { file: next.file, line: next.line });
        return;
      }
      const dc: SyncDaemonConfig = {
        ifname: next.ifname,
        syncid: next.syncid ?? inst?.vrid ?? 0,
        ...(next.maxlen !== undefined ? { maxlen: next.maxlen } : {}),
        ...(next.port !== undefined ? { port: next.port } : {}),
        ...(next.ttl !== undefined ? { ttl: next.ttl } : {}),
        ...(next.group !== undefined ? { group: next.group } : {}),
      };
      this.daemonCfg = dc;
      try {
        if (inst) await this.daemons.setRole(stateOf(inst.name) === 'MASTER' ? 'master' : 'backup', dc);
        else {
          await this.daemons.setRole('master', dc).catch((e: unknown) => {
            if (!(e instanceof SyncError && e.code === 'EEXIST')) throw e;
          });
          if (this.daemons.backupDaemon === null) await this.daemons.start('backup', dc);
        }
        this.log('info', 'sync daemons started', { daemons: this.daemons.list(), instance: next.instance ?? null });
      } catch (e) {
        this.log('error', `${next.file}:${next.line}: lvs_sync_daemon: ${(e as Error).message}`, { file: next.file, line: next.line });
      }
    });
  }

  /** A VRRP transition: the daemon following that instance changes role (keepalived's ipvs_syncd_master/backup). */
  onTransition(instance: string, to: string): void {
    const c = this.cfg;
    const dc = this.daemonCfg;
    if (!c || c.instance !== instance || dc === null) return;
    const role: SyncRole = to === 'MASTER' ? 'master' : 'backup';
    void this.queue(async () => {
      if (this.daemonCfg !== dc) return;
      try {
        const was = this.daemons.list().map((d) => d.state);
        await this.daemons.setRole(role, dc);
        if (was.length !== 1 || was[0] !== role) this.log('info', 'sync daemon role follows vrrp', { instance, state: to, role });
      } catch (e) {
        this.log('error', `lvs_sync_daemon: cannot start the ${role} sync daemon: ${(e as Error).message}`, { instance });
      }
    });
  }

  /** Resolves once the role changes and restarts queued so far are done. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** The control socket's operations. */
  ops(): [string, ControlOpHandler][] {
    return [
      [
        'startDaemon',
        {
          arity: [2, 2],
          run: async (_ctl, args) => {
            const [role, spec] = args as [unknown, Partial<SyncDaemonConfig> | null];
            if (!isRole(role) || typeof spec !== 'object' || spec === null || typeof spec.ifname !== 'string') throw new ControlError('EINVAL', 'startDaemon: role and {ifname, ...} expected', 'startDaemon');
            const cfg: SyncDaemonConfig = { ifname: spec.ifname };
            for (const k of ['syncid', 'maxlen', 'port', 'ttl'] as const) if (spec[k] !== undefined) cfg[k] = Number(spec[k]);
            if (typeof spec.group === 'string') cfg.group = spec.group;
            try {
              await this.queue(() => this.daemons.start(role, cfg));
            } catch (e) {
              throw controlError(e, 'startDaemon');
            }
            this.log('info', 'sync daemon started', { role, ...cfg });
          },
        },
      ],
      [
        'stopDaemon',
        {
          arity: [0, 1],
          run: async (_ctl, args) => {
            const role = args[0];
            if (role !== undefined && !isRole(role)) throw new ControlError('EINVAL', 'stopDaemon: master or backup', 'stopDaemon');
            try {
              await this.queue(async () => this.daemons.stop(role));
            } catch (e) {
              throw controlError(e, 'stopDaemon');
            }
            this.log('info', 'sync daemon stopped', { role: role ?? 'all' });
          },
        },
      ],
      [
        'listDaemons',
        {
          arity: [0, 0],
          run: () => this.daemons.list(),
        },
      ],
      ['syncStats', { arity: [0, 0], run: () => this.daemons.stats() }],
    ];
  }

  /** The metrics feed. */
  source(): SyncSource {
    return { daemons: () => this.stats() };
  }

  private stats(): SyncDaemonStats[] {
    const out: SyncDaemonStats[] = [];
    const m = this.daemons.masterStatus();
    const b = this.daemons.backupStatus();
    for (const info of this.daemons.list()) {
      const base = { role: info.state, syncid: info.syncid, interface: info.mcastIfn, group: info.group, port: info.port };
      if (info.state === 'master' && m) {
        const c = m.counters;
        out.push({
          ...base,
          version: m.settings.version,
          messagesSent: c.messages,
          messagesReceived: 0,
          recordsSent: c.queued - c.queueFull,
          recordsReceived: 0,
          recordsApplied: 0,
          drops: { ...(c.sendErrors ? { send_error: c.sendErrors } : {}), ...(c.queueFull ? { table_full: c.queueFull } : {}) },
          lastMessage: m.lastSentAt,
        });
      } else if (info.state === 'backup' && b) {
        const rx = b.rx;
        const ap = b.applied;
        const drops: SyncDaemonStats['drops'] = {};
        const add = (k: keyof SyncDaemonStats['drops'], n: number): void => {
          if (n) drops[k] = (drops[k] ?? 0) + n;
        };
        add('truncated', rx.short + rx.truncated);
        add('bad_size', rx.wrongSize);
        add('bad_syncid', rx.wrongSyncid);
        add('bad_version', rx.unknownVersion);
        add('bad_record', rx.badType + rx.badOption + rx.unknownOption + rx.ipv6 + rx.unknownProto + rx.badState + rx.noPe + ap.badState);
        add('no_dest', ap.noDest);
        add('table_full', ap.tableFull + ap.queueFull);
        out.push({
          ...base,
          version: Math.max(b.lastVersion, 0),
          messagesSent: 0,
          messagesReceived: rx.messages,
          recordsSent: 0,
          recordsReceived: rx.records,
          recordsApplied: ap.created + ap.updated,
          drops,
          lastMessage: b.lastMessageAt,
        });
      }
    }
    return out;
  }

  /** Stop every daemon (tunvsd stops). */
  async stop(): Promise<void> {
    await this.queue(async () => {
      this.daemons.stop();
      this.cfg = undefined;
      this.key = '';
      this.daemonCfg = null;
    });
  }
}
