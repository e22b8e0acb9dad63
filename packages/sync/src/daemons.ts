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
import type { SyncBackupSettings } from './backup.js';
import { SyncMaster, defaultMasterSettings } from './master.js';
import type { SyncMasterSettings } from './master.js';
import { SyncError, UdpSyncTransport } from './transport.js';
import type { SyncEndpoint, SyncTransport } from './transport.js';
import { SYNC_DEFAULTS } from './wire.js';

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
  /** sysctls for the master (threshold, period, refresh, retries, version, ...) */
  master?: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>;
  backup?: Partial<Omit<SyncBackupSettings, 'syncid'>>;
  /** master: flush by timers (default true; tests flush by hand) */
  autoFlush?: boolean;
  clock?: () => number;
  /** where warnings go (a transport's, e.g. a capped receive buffer); default process.emitWarning */
  warn?: (msg: string) => void;
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

interface Running<T> {
  info: SyncDaemonStatus;
  daemon: T;
  transport: SyncTransport;
}

export class SyncDaemons implements SyncHook {
  private master: Running<SyncMaster> | null = null;
  private backup: Running<SyncBackup> | null = null;
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
  }

  /** The sysctls a master daemon runs (or will start) with. */
  get masterSysctls(): Omit<SyncMasterSettings, 'syncid' | 'maxlen'> {
    const { syncid: _s, maxlen: _m, ...d } = defaultMasterSettings();
    return { ...d, ...this.masterSettings };
  }

  /**
   * Set the master's sysctls (sync_threshold, sync_refresh_period, ...): a running master
   * applies them at once (SyncMaster.configure), one started later starts with them.
   */
  configure(master: Partial<Omit<SyncMasterSettings, 'syncid' | 'maxlen'>>): void {
    this.masterSettings = { ...this.opts.master, ...master };
    this.master?.daemon.configure(this.masterSettings);
  }

  /** The running master (null if none). */
  get masterDaemon(): SyncMaster | null {
    return this.master?.daemon ?? null;
  }
  /** The running backup (null if none). */
  get backupDaemon(): SyncBackup | null {
    return this.backup?.daemon ?? null;
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
    const d = this.director;
    if (role === 'master') {
      const ftp = d.forwarders.ftp;
      const m = new SyncMaster(
        d.conns, transport, { ...this.masterSettings, syncid: info.syncid, maxlen: info.maxlen },
        (p, a, port) => d.markOf(p, a, port), this.clock, this.opts.autoFlush ?? true,
        // the FTP helper's seq/ack deltas ride along as IPVS_OPT_SEQ_DATA
        (slot, out) => (ftp.tracked > 0 && d.conns.xmit(slot) === FTP_XMIT ? ftp.seqData(slot, out) : 0),
      );
      this.master = { info, daemon: m, transport };
    } else {
      const b = new SyncBackup(
        {
          conns: d.conns,
          findDest: (proto, fwmark, vaddr, vport, daddr, dport, flags) =>
            findSyncDest((f, p, a, port) => d.table.find(f, p, a, port), proto, fwmark || d.markOf(proto, vaddr, vport), vaddr, vport, daddr, dport, flags),
          setSeq: (slot, bits, seq) => d.conns.xmit(slot) === FTP_XMIT && d.forwarders.ftp.loadSeqData(d.conns, slot, bits, seq),
        },
        { ...this.opts.backup, syncid: info.syncid },
        this.clock,
      );
      transport.onMessage((buf, len) => b.receive(buf, len));
      this.backup = { info, daemon: b, transport };
    }
    d.setSyncHook(this);
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
      this.master!.daemon.stop(true);
      this.master = null;
    } else {
      this.backup!.daemon.stop();
      this.backup = null;
    }
    r.transport.close();
    if (this.master === null && this.backup === null) this.director.setSyncHook(null);
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
    if (this.master) for (const [k, v] of Object.entries(this.master.daemon.counters)) out[`sync_master_${k}`] = v;
    if (this.backup) {
      for (const [k, v] of Object.entries(this.backup.daemon.rx)) out[`sync_rx_${k}`] = v;
      for (const [k, v] of Object.entries(this.backup.daemon.applied)) out[`sync_backup_${k}`] = v;
    }
    return out;
  }

  // ------------------------------------------------------------------ SyncHook

  /** Every incoming packet the Director forwarded. */
  inbound(slot: number, now: number): void {
    const c = this.director.conns;
    // a synced connection this director forwards becomes its own
    if ((c.flags(slot) & SYNC) !== 0) c.clearSync(slot);
    if (this.master !== null) this.master.daemon.conn(slot, now);
  }

  created(slot: number): void {
    if (this.master !== null) this.master.daemon.created(slot);
  }
}
