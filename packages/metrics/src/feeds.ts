/**
 * What the VRRP and sync runtimes hand to the metrics and the status API. Neither runtime
 * depends on this package's internals: each implements a small read-only source and
 * registers it with `Feeds.setVrrp` / `Feeds.setSync` when it starts (and passes null when
 * it stops). Until a source is registered, its metrics are absent and the status API says
 * `null` ("not running"): nothing is invented.
 *
 * Sources are read on the control thread at scrape time, so `instances()` / `daemons()`
 * must be cheap (return the live objects; the reader copies what it needs) and must never
 * throw.
 */

/** keepalived's state numbering (its JSON `state`): 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT. */
export const VRRP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;
/** A VRRP instance state name. */
export type VrrpStateName = (typeof VRRP_STATES)[number];

/**
 * Why a received advertisement was discarded; the names follow keepalived's stats file
 * ("Packet Errors", "Authentication Errors", ...). A runtime may leave any at 0.
 */
export const VRRP_DISCARD_REASONS = [
  'length', 'ttl', 'invalid_type', 'advert_interval', 'address_list', 'checksum', 'version',
  'vrid', 'auth_invalid_type', 'auth_type_mismatch', 'auth_failure', 'unicast_source', 'lower_priority',
] as const;
/** One discard reason. */
export type VrrpDiscardReason = (typeof VRRP_DISCARD_REASONS)[number];

/** One VRRP instance as the runtime keeps it (counters monotonic from the runtime's start). */
export interface VrrpInstanceStats {
  /** `vrrp_instance NAME` */
  name: string;
  vrid: number;
  /** the interface it runs on */
  interface: string;
  /** 2 or 3 */
  version: number;
  state: VrrpStateName;
  basePriority: number;
  effectivePriority: number;
  /** advertisement interval in seconds */
  advertInterval: number;
  /** the sync group it belongs to, if any */
  syncGroup?: string;
  /** the current master's address as last seen (BACKUP), or our own (MASTER) */
  masterAddress?: string;
  /** unicast peers, or empty for multicast */
  peers: string[];
  /** virtual addresses */
  vips: string[];
  advertsSent: number;
  advertsReceived: number;
  /** advertisements discarded, by reason (absent reasons count 0) */
  discarded: Partial<Record<VrrpDiscardReason, number>>;
  becameMaster: number;
  releasedMaster: number;
  priorityZeroSent: number;
  priorityZeroReceived: number;
  /** every state change */
  transitions: number;
  /** when the state last changed, ms since the epoch (0 = never) */
  lastTransition: number;
}

/** A `vrrp_sync_group`. */
export interface VrrpSyncGroupStats {
  name: string;
  state: VrrpStateName;
  instances: string[];
}

/** What the VRRP runtime registers. */
export interface VrrpSource {
  instances(): readonly VrrpInstanceStats[];
  syncGroups(): readonly VrrpSyncGroupStats[];
}

/** Why a sync message or record was dropped (ipvs-sync.md: the backup's checks). */
export const SYNC_DROP_REASONS = [
  'truncated', 'bad_version', 'bad_syncid', 'bad_size', 'bad_record', 'unknown_service', 'no_dest', 'table_full', 'send_error',
] as const;
/** One sync drop reason. */
export type SyncDropReason = (typeof SYNC_DROP_REASONS)[number];

/** One connection-sync daemon (master sends, backup receives). */
export interface SyncDaemonStats {
  role: 'master' | 'backup';
  syncid: number;
  interface: string;
  /** multicast group or unicast peer */
  group: string;
  port: number;
  /** protocol version (0 or 1) */
  version: number;
  messagesSent: number;
  messagesReceived: number;
  recordsSent: number;
  recordsReceived: number;
  /** records that created or updated a connection on this director */
  recordsApplied: number;
  drops: Partial<Record<SyncDropReason, number>>;
  /** ms since the epoch of the last message sent or received (0 = none) */
  lastMessage: number;
}

/** What the sync runtime registers. */
export interface SyncSource {
  daemons(): readonly SyncDaemonStats[];
}

/** The registration point, created by tunvsd and handed to the runtimes. */
export class Feeds {
  private vrrpSource: VrrpSource | null = null;
  private syncSource: SyncSource | null = null;

  /** Register (or with null, withdraw) the VRRP runtime. */
  setVrrp(source: VrrpSource | null): void {
    this.vrrpSource = source;
  }

  /** Register (or with null, withdraw) the sync runtime. */
  setSync(source: SyncSource | null): void {
    this.syncSource = source;
  }

  get vrrp(): VrrpSource | null {
    return this.vrrpSource;
  }

  get sync(): SyncSource | null {
    return this.syncSource;
  }
}
