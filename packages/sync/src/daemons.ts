/**
 * The sync daemons of one Director, as the kernel runs them per network namespace: at
 * most one master and one backup, both at once if asked (keepalived without an
 * instance). `start`/`stop` are ipvsadm's --start-daemon/--stop-daemon; `setRole` is
 * what keepalived does when the VRRP instance the daemon follows changes state (MASTER:
 * master daemon; otherwise: backup daemon). `list` is `ipvsadm -L --daemon`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { FTP_XMIT } from '@tunvs/engine';
import type { Director, SyncHook } from '@tunvs/engine';
import { ConnFlag } from '@tunvs/model';
import type { SyncDaemonInfo } from '@tunvs/model';
import { SyncBackup, findSyncDest } from './backup.js';
import type { SyncApplyCounters, SyncBackupSettings } from './backup.js';
import { SyncMaster, defaultMasterSettings } from './master.js';
import type { SyncMasterCounters, SyncMasterSettings, SyncSender } from './master.js';
import { SyncError, UdpSyncTransport } from './transport.js';
import type { SyncEndpoint, SyncTransport } from './transport.js';
import { SYNC_DEFAULTS } from './wire.js';
import type { SyncRecord, SyncRxCounters } from './wire.js';

const SYNC = ConnFlag.SYNC;

export type SyncRole = 'master' | 'backup';

/** One daemon's configuration (ipvsadm's --start-daemon options). */
export interface SyncDaemonConfig {
  /** --mcast-interface */
  ifname: string;
  /** --syncid 0..255 */
  syncid?: number;
  /** --sync-maxlen */
  maxlen?: number;
  /** --mcast-group */
  group?: string;
  /** --mcast-port */
  port?: number;
  /** --mcast-ttl */
  ttl?: number;
}

/**
 * A running daemon as `-L --daemon` shows it: @tunvs/model's `SyncDaemonInfo` (the control
 * operation `listDaemons` returns it, @tunvs/cli's `formatDaemons` prints it) with every
 * setting filled in.
 */
export type SyncDaemonStatus = Required<SyncDaemonInfo>;

/** How a daemon's transport is opened (UDP multicast by default; tests pass memory). */
export type SyncTransportFactory = (role: SyncRole, ep: SyncEndpoint) => Promise<SyncTransport>;

export interface SyncDaemonsOptions {
  transport?: SyncTransportFactory;
  /**
   * the sync sysctls (threshold, period, refresh, retries, version, ...) as the master's
   * settings; the backup takes its sync_threshold from them too (one sysctl for both, as
   * in the kernel)
   */
  master?: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>;
  backup?: Partial<Omit<SyncBackupSettings, 'syncid' | 'threshold'>>;
  /** master: flush by timers (default true; tests flush by hand) */
  autoFlush?: boolean;
  clock?: () => number;
  /** where warnings go (a transport's, e.g. a capped receive buffer); default process.emitWarning */
  warn?: (msg: string) => void;
  /**
   * The Director's connections live in worker threads (tunvsd `workers N`): the master's
   * per-connection work and the backup's table updates run there (see SyncWorkers); the
   * transport, the decoding of received messages and the control stay here.
   */
  workers?: SyncWorkers;
}

/**
 * A director whose connection tables are in worker threads, each a Director with its own
 * `DirectorSync`. The master: every worker runs a SyncMaster on its table (the kernel's
 * rules per connection) and hands each message it completes to `send`, which the one
 * transport here sends (as the kernel's `sync_ports` threads each fill their own
 * messages). The backup: the messages are decoded here and each record goes to `record`,
 * which passes it to the worker that owns the record's flow.
 */
export interface SyncWorkers {
  startMaster(settings: SyncMasterSettings, send: (msg: Uint8Array) => void): void;
  configureMaster(next: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>): void;
  /**
   * The workers send what they hold (their open messages), then stop; resolves once every
   * message they sent has reached `send` (the transport closes after that).
   */
  stopMaster(): Promise<void>;
  /** the workers' masters' counters, summed */
  masterCounters(): SyncMasterCounters;
  startBackup(settings: Partial<SyncBackupSettings>): void;
  /** the sysctls changed (sync_threshold): the workers' running backups apply them */
  configureBackup(next: Partial<Pick<SyncBackupSettings, 'threshold'>>): void;
  /** a decoded record (reused by the caller: copy it) for the worker that owns its flow */
  record(r: SyncRecord, now: number): void;
  stopBackup(): void;
  /** the workers' backups' counters, summed */
  backupApplied(): SyncApplyCounters;
}

/** What a master daemon reports (metrics, `syncStats`). */
export interface SyncMasterStatus {
  settings: SyncMasterSettings;
  counters: SyncMasterCounters;
  /** when the last message was sent (ms; 0: never) */
  lastSentAt: number;
}

/** What a backup daemon reports. */
export interface SyncBackupStatus {
  rx: SyncRxCounters;
  applied: SyncApplyCounters;
  /** version of the last accepted message (-1: none yet) */
  lastVersion: number;
  lastMessageAt: number;
}

/**
 * The sync daemons' work on one Director's connection table: its master (fed by the
 * Director's SyncHook: every forwarded incoming packet, every new entry) and its backup
 * (records applied to the table). SyncDaemons uses one for its Director; each worker thread
 * of a multi-worker tunvsd has one for its own.
 */
export class DirectorSync implements SyncHook {
  master: SyncMaster | null = null;
  backup: SyncBackup | null = null;

  constructor(
    readonly director: Director,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A master on this Director's table, its messages to `sender`. */
  startMaster(sender: SyncSender, settings: Partial<SyncMasterSettings>, autoFlush = true): SyncMaster {
    const d = this.director;
    const ftp = d.forwarders.ftp;
    this.master = new SyncMaster(
      d.conns, sender, settings, (p, a, port) => d.markOf(p, a, port), this.clock, autoFlush,
      // the FTP helper's seq/ack deltas ride along as IPVS_OPT_SEQ_DATA
      (slot, out) => (ftp.tracked > 0 && d.conns.xmit(slot) === FTP_XMIT ? ftp.seqData(slot, out) : 0),
    );
    d.setSyncHook(this);
    return this.master;
  }

  /** A backup that applies records to this Director's table. */
  startBackup(settings: Partial<SyncBackupSettings>): SyncBackup {
    const d = this.director;
    this.backup = new SyncBackup(
      {
        conns: d.conns,
        findDest: (proto, fwmark, vaddr, vport, daddr, dport, flags) =>
          findSyncDest((f, p, a, port) => d.table.find(f, p, a, port), proto, fwmark || d.markOf(proto, vaddr, vport), vaddr, vport, daddr, dport, flags),
        setSeq: (slot, bits, seq) => d.conns.xmit(slot) === FTP_XMIT && d.forwarders.ftp.loadSeqData(d.conns, slot, bits, seq),
      },
      settings,
      this.clock,
    );
    d.setSyncHook(this);
    return this.backup;
  }

  /** Stop the master (sending what it holds when `drain`). */
  stopMaster(drain: boolean): void {
    this.master?.stop(drain);
    this.master = null;
    this.unhook();
  }

  stopBackup(): void {
    this.backup?.stop();
    this.backup = null;
    this.unhook();
  }

  private unhook(): void {
    if (this.master === null && this.backup === null) this.director.setSyncHook(null);
  }

  /** Every incoming packet the Director forwarded. */
  inbound(slot: number, now: number): void {
    const c = this.director.conns;
    // a synced connection this director forwards becomes its own
    if ((c.flags(slot) & SYNC) !== 0) c.clearSync(slot);
    if (this.master !== null) this.master.conn(slot, now);
  }

  created(slot: number): void {
    if (this.master !== null) this.master.created(slot);
  }
}

/** Check a daemon configuration with the kernel's ranges; returns it with defaults filled in. */
export function resolveSyncConfig(role: SyncRole, cfg: SyncDaemonConfig): SyncDaemonStatus {
  const bad = (what: string): never => {
    throw new SyncError('EINVAL', `invalid ${what}`);
  };
  if (!cfg.ifname || cfg.ifname.length >= 16) bad(`mcast interface '${cfg.ifname}'`);
  const syncid = cfg.syncid ?? 0;
  if (!Number.isInteger(syncid) || syncid < 0 || syncid > 255) bad('syncid');
  const group = cfg.group ?? SYNC_DEFAULTS.group;
  const v6 = isIPv6(group);
  if (v6 ? !/^ff/i.test(group) : !isIPv4(group) || Number(group.split('.')[0]) >>> 4 !== 0xe) bad(`mcast group '${group}'`);
  // the kernel's default: 1500 less the IP and UDP headers (IPv6: 40 + 8)
  const maxlen = cfg.maxlen ?? (v6 ? SYNC_DEFAULTS.maxlen6 : SYNC_DEFAULTS.maxlen);
  if (!Number.isInteger(maxlen) || maxlen < 1 || maxlen > 65507) bad('sync maxlen');
  const port = cfg.port ?? SYNC_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad('mcast port');
  const ttl = cfg.ttl ?? SYNC_DEFAULTS.ttl;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) bad('mcast ttl');
  // a backup reads messages of any size up to its buffer: the kernel keeps at least 1024
  return { state: role, mcastIfn: cfg.ifname, syncid, maxlen: role === 'backup' ? Math.max(maxlen, 1024) : maxlen, group, port, ttl };
}

interface Running {
  info: SyncDaemonStatus;
  transport: SyncTransport;
}

/** The master daemon with workers: what the main thread keeps of it. */
interface Relay {
  settings: SyncMasterSettings;
  sendErrors: number;
  lastSentAt: number;
  closed: boolean;
}

export class SyncDaemons {
  private master: Running | null = null;
  private backup: Running | null = null;
  /** this Director's master and backup (without workers) */
  private readonly local: DirectorSync;
  private readonly workers: SyncWorkers | null;
  /** with workers: the master's relay state, the backup that decodes and dispatches */
  private relay: Relay | null = null;
  private relayBackup: SyncBackup | null = null;
  private readonly open: SyncTransportFactory;
  private readonly clock: () => number;
  /** the master's sysctls: a master started later gets them, `configure` changes them */
  private masterSettings: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>;

  constructor(
    readonly director: Director,
    private readonly opts: SyncDaemonsOptions = {},
  ) {
    this.open = opts.transport ?? ((role, ep) => UdpSyncTransport.open(role, ep));
    this.clock = opts.clock ?? Date.now;
    this.masterSettings = { ...opts.master };
    this.local = new DirectorSync(director, this.clock);
    this.workers = opts.workers ?? null;
  }

  /** The sysctls a master daemon runs (or will start) with. */
  get masterSysctls(): Omit<SyncMasterSettings, 'syncid' | 'maxlen'> {
    const { syncid: _s, maxlen: _m, ...d } = defaultMasterSettings();
    return { ...d, ...this.masterSettings };
  }

  /** What the backup takes of the sysctls: sync_threshold (the in_pkts its records give). */
  private get backupSysctls(): Pick<SyncBackupSettings, 'threshold'> {
    return { threshold: this.masterSettings.threshold ?? SYNC_DEFAULTS.threshold };
  }

  /**
   * Set the sysctls (sync_threshold, sync_refresh_period, ...): a running master applies
   * them at once (SyncMaster.configure), one started later starts with them; a running
   * backup (its workers' too) gives the new sync_threshold to the records it applies next.
   */
  configure(master: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>): void {
    this.masterSettings = { ...this.opts.master, ...master };
    this.local.master?.configure(this.masterSettings);
    this.local.backup?.configure(this.backupSysctls);
    if (this.relayBackup !== null) this.workers!.configureBackup(this.backupSysctls);
    if (this.relay !== null) {
      this.workers!.configureMaster(this.masterSettings);
      for (const [k, v] of Object.entries(this.masterSettings)) if (v !== undefined) (this.relay.settings as unknown as Record<string, unknown>)[k] = v;
    }
  }

  /** The running master on this Director (null if none, or with workers: see masterStatus). */
  get masterDaemon(): SyncMaster | null {
    return this.local.master;
  }
  /** The running backup (null if none; with workers, the one that decodes and dispatches). */
  get backupDaemon(): SyncBackup | null {
    return this.relayBackup ?? this.local.backup;
  }

  /** The running master's settings and counters (summed over the workers), or null. */
  masterStatus(): SyncMasterStatus | null {
    const m = this.local.master;
    if (m !== null) return { settings: m.settings, counters: m.counters, lastSentAt: m.lastSentAt };
    const r = this.relay;
    if (r === null) return null;
    const counters = { ...this.workers!.masterCounters() };
    counters.sendErrors += r.sendErrors;
    return { settings: r.settings, counters, lastSentAt: r.lastSentAt };
  }

  /** The running backup's counters (applied: summed over the workers), or null. */
  backupStatus(): SyncBackupStatus | null {
    const b = this.backupDaemon;
    if (b === null) return null;
    let applied = b.applied;
    if (this.relayBackup !== null) {
      // the datagrams refused here (a full queue) and what the workers did with the records
      applied = this.workers!.backupApplied();
      applied.queueFull += b.applied.queueFull;
    }
    return { rx: b.rx, applied, lastVersion: b.lastVersion, lastMessageAt: b.lastMessageAt };
  }

  /** --start-daemon ROLE: EEXIST when that role runs already. */
  async start(role: SyncRole, cfg: SyncDaemonConfig): Promise<void> {
    const info = resolveSyncConfig(role, cfg);
    if ((role === 'master' ? this.master : this.backup) !== null) throw new SyncError('EEXIST', 'Daemon has already run');
    const transport = await this.open(role, { ifname: info.mcastIfn, group: info.group, port: info.port, ttl: info.ttl });
    if (transport.warning) (this.opts.warn ?? ((m: string) => process.emitWarning(m)))(transport.warning);
    if ((role === 'master' ? this.master : this.backup) !== null) {
      transport.close();
      throw new SyncError('EEXIST', 'Daemon has already run');
    }
    const w = this.workers;
    if (role === 'master') {
      const settings = { ...this.masterSettings, syncid: info.syncid, maxlen: info.maxlen };
      if (w === null) this.local.startMaster(transport, settings, this.opts.autoFlush ?? true);
      else {
        const relay: Relay = { settings: { ...defaultMasterSettings(), ...settings }, sendErrors: 0, lastSentAt: 0, closed: false };
        const done = (err?: Error | null): void => {
          if (err) relay.sendErrors++;
        };
        w.startMaster(relay.settings, (msg) => {
          // a worker's last messages may come after the stop: the socket is closed then
          if (relay.closed) return;
          try {
            transport.send(msg, msg.length, done);
            relay.lastSentAt = this.clock();
          } catch {
            relay.sendErrors++;
          }
        });
        this.relay = relay;
      }
      this.master = { info, transport };
    } else {
      const settings = { ...this.opts.backup, ...this.backupSysctls, syncid: info.syncid };
      let b: SyncBackup;
      if (w === null) b = this.local.startBackup(settings);
      else {
        w.startBackup(settings);
        b = this.relayBackup = new SyncBackup((r, now) => w.record(r, now), settings, this.clock);
      }
      transport.onMessage((buf, len) => b.receive(buf, len));
      this.backup = { info, transport };
    }
  }

  /** --stop-daemon ROLE (both when omitted): ESRCH when it does not run. */
  stop(role?: SyncRole): void {
    if (role === undefined) {
      this.stopOne('master', false);
      this.stopOne('backup', false);
      return;
    }
    this.stopOne(role, true);
  }

  private stopOne(role: SyncRole, mustRun: boolean): void {
    const r = role === 'master' ? this.master : this.backup;
    if (r === null) {
      if (mustRun) throw new SyncError('ESRCH', 'No daemon is running');
      return;
    }
    if (role === 'master') {
      if (this.relay !== null) {
        // as a master here sends what it holds before its socket closes: the workers' last
        // messages still go out, then the socket closes
        const relay = this.relay;
        this.relay = null;
        this.master = null;
        const close = (): void => {
          relay.closed = true;
          r.transport.close();
        };
        void this.workers!.stopMaster().then(close, close);
        return;
      }
      this.local.stopMaster(true);
      this.master = null;
    } else {
      if (this.relayBackup !== null) {
        this.relayBackup.stop();
        this.relayBackup = null;
        this.workers!.stopBackup();
      } else this.local.stopBackup();
      this.backup = null;
    }
    r.transport.close();
  }

  /**
   * keepalived's `lvs_sync_daemon IF INSTANCE`: on MASTER stop the backup and start the
   * master; otherwise stop the master and start the backup. No-op when already so.
   */
  async setRole(role: SyncRole, cfg: SyncDaemonConfig): Promise<void> {
    const other: SyncRole = role === 'master' ? 'backup' : 'master';
    if ((other === 'master' ? this.master : this.backup) !== null) this.stop(other);
    if ((role === 'master' ? this.master : this.backup) === null) await this.start(role, cfg);
  }

  /** `-L --daemon`. */
  list(): SyncDaemonStatus[] {
    const out: SyncDaemonStatus[] = [];
    if (this.master) out.push(this.master.info);
    if (this.backup) out.push(this.backup.info);
    return out;
  }

  /** Counters of both daemons, flat (metrics). */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    const m = this.masterStatus();
    const b = this.backupStatus();
    if (m) for (const [k, v] of Object.entries(m.counters)) out[`sync_master_${k}`] = v;
    if (b) {
      for (const [k, v] of Object.entries(b.rx)) out[`sync_rx_${k}`] = v;
      for (const [k, v] of Object.entries(b.applied)) out[`sync_backup_${k}`] = v;
    }
    return out;
  }
}
