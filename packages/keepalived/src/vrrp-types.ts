/**
 * The VRRP part of a keepalived.conf, interpreted: vrrp_instance, vrrp_sync_group,
 * vrrp_script, vrrp_track_file / track_file blocks and the VRRP global_defs keywords,
 * with keepalived 2.2.7's defaults applied and its corrections made (vrrp_parser.c,
 * vrrp_complete_instance()). Times are seconds as written (fractions allowed).
 */
import type { SourcePos } from './diagnostics.js';
import type { ScriptSpec, TrackFile } from './types.js';

/** VRRP settings of global_defs. */
export interface VrrpGlobals {
  /** vrrp_version (2) */
  version: 2 | 3;
  /** vrrp_mcast_group4 (224.0.0.18) */
  mcastGroup4: string;
  /** vrrp_strict */
  strict: boolean;
  garpMasterDelay: number;
  garpMasterRepeat: number;
  garpMasterRefresh: number;
  garpMasterRefreshRepeat: number;
  /** default: garpMasterRepeat */
  garpLowerPrioRepeat?: number;
  /** default: garpMasterDelay */
  garpLowerPrioDelay?: number;
  /** vrrp_garp_interval (s between GARPs on an interface) */
  garpInterval: number;
  /** vrrp_min_garp: one GARP, no second burst */
  minGarp: boolean;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  checkUnicastSrc: boolean;
  skipCheckAdvAddr: boolean;
  notifyPriorityChanges: boolean;
  downTimerAdverts: number;
  /** vrrp_startup_delay (s) */
  startupDelay: number;
  /** notify_fifo / vrrp_notify_fifo (path, as written) */
  notifyFifo?: string;
  vrrpNotifyFifo?: string;
  notifyFifoScript?: ScriptSpec;
  vrrpNotifyFifoScript?: ScriptSpec;
  /** dynamic_interfaces: interfaces may be missing at start */
  dynamicInterfaces: boolean;
  /** vmac_prefix (default "vrrp") */
  vmacPrefix: string;
}

/** One line of virtual_ipaddress / virtual_ipaddress_excluded. */
export interface VrrpVip extends SourcePos {
  /** dotted IPv4 (IPv6 VIPs are refused by tunvs; keepalived accepts them) */
  addr: string;
  family: 4 | 6;
  /** prefix length (32 when not given) */
  prefix: number;
  dev?: string;
  /** host, link, global, site, nowhere, or a number */
  scope?: string;
  label?: string;
  broadcast?: string;
  peer?: string;
  noTrack: boolean;
  /** options keepalived knows that tunvs passes on as given (home, noprefixroute, ...) */
  flags: string[];
}

/** One line of virtual_routes. */
export interface VrrpRoute extends SourcePos {
  /** the destination as written: CIDR, host, or `default` */
  dst: string;
  /** route type keyword before the destination (blackhole, unreachable, prohibit, throw) */
  type?: string;
  via?: string;
  src?: string;
  dev?: string;
  metric?: number;
  table?: string;
  scope?: string;
  protocol?: string;
  noTrack: boolean;
  /** the line's words, for messages */
  words: string[];
}

/** A reference to a tracked object from an instance or a sync group. */
export interface TrackRefConfig extends SourcePos {
  name: string;
  weight: number;
  reverse: boolean;
  /** track_file: the weight was written (default 1) */
  weightSet: boolean;
}

/** `vrrp_script NAME { ... }`. */
export interface VrrpScriptConfig extends SourcePos {
  name: string;
  script: ScriptSpec;
  /** seconds (1) */
  interval: number;
  /** seconds (= interval) */
  timeout: number;
  weight: number;
  weightReverse: boolean;
  rise: number;
  fall: number;
  user?: string;
  group?: string;
  initFail: boolean;
}

/** The notify scripts of an instance or a group. */
export interface VrrpNotifyConfig {
  master?: ScriptSpec;
  backup?: ScriptSpec;
  fault?: ScriptSpec;
  stop?: ScriptSpec;
  deleted?: ScriptSpec;
  notify?: ScriptSpec;
  masterRxLowerPri?: ScriptSpec;
}

/** Something keepalived accepts that tunvs will not run, refused when tunvsd starts. */
export interface VrrpUnsupported extends SourcePos {
  what: string;
  why: string;
}

/** `vrrp_instance NAME { ... }`, completed. */
export interface VrrpInstanceConfig extends SourcePos {
  name: string;
  interface?: string;
  vrid: number;
  /** base priority 1..255 */
  priority: number;
  /** `state MASTER` */
  wantMaster: boolean;
  version: 2 | 3;
  /** seconds; v2 whole, v3 multiples of 0.01 */
  advertInt: number;
  vips: VrrpVip[];
  excludedVips: VrrpVip[];
  routes: VrrpRoute[];
  nopreempt: boolean;
  preemptDelay: number;
  authType: 'none' | 'PASS' | 'AH';
  /** the password as configured (first 8 characters used) */
  authPass?: string;
  unicastSrcIp?: string;
  mcastSrcIp?: string;
  unicastPeers: { addr: string; file: string; line: number }[];
  unicastTtl?: number;
  trackInterfaces: TrackRefConfig[];
  trackScripts: TrackRefConfig[];
  trackFiles: TrackRefConfig[];
  dontTrackPrimary: boolean;
  notify: VrrpNotifyConfig;
  garpMasterDelay: number;
  garpMasterRepeat: number;
  garpMasterRefresh: number;
  garpMasterRefreshRepeat: number;
  garpLowerPrioDelay: number;
  garpLowerPrioRepeat: number;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  skipCheckAdvAddr: boolean;
  checkUnicastSrc: boolean;
  strict: boolean;
  accept: boolean;
  downTimerAdverts: number;
  notifyPriorityChanges: boolean;
  useVmac?: { name?: string; mac?: string; file: string; line: number };
  vmacXmitBase: boolean;
  promoteSecondaries: boolean;
  /** keepalived features tunvs refuses to run (AH, track_process, virtual_rules, ipvlan, ...) */
  unsupported: VrrpUnsupported[];
  /** sync group this instance belongs to */
  syncGroup?: string;
}

/** `vrrp_sync_group NAME { group { ... } ... }`. */
export interface SyncGroupConfig extends SourcePos {
  name: string;
  members: string[];
  trackInterfaces: TrackRefConfig[];
  trackScripts: TrackRefConfig[];
  trackFiles: TrackRefConfig[];
  notify: VrrpNotifyConfig;
  trackingWeight: boolean;
  notifyPriorityChanges: boolean;
}

/** A message keepalived only logs (no effect on --config-test); shown when tunvsd starts. */
export interface VrrpNote extends SourcePos {
  message: string;
}

/** Everything VRRP in a configuration. */
/**
 * global_defs `lvs_sync_daemon IF [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port P] [ttl T]
 * [group A]`: the IPVS connection-sync daemons. With an instance, one daemon whose role
 * follows the instance (MASTER: master, otherwise backup) and whose syncid defaults to the
 * instance's VRID; without, both a master and a backup daemon (syncid 0).
 */
export interface LvsSyncDaemonConfig {
  ifname: string;
  instance?: string;
  syncid?: number;
  maxlen?: number;
  port?: number;
  ttl?: number;
  group?: string;
  file: string;
  line: number;
}

export interface VrrpConfig {
  globals: VrrpGlobals;
  /** global_defs lvs_sync_daemon (absent: none) */
  lvsSyncDaemon?: LvsSyncDaemonConfig;
  instances: VrrpInstanceConfig[];
  syncGroups: SyncGroupConfig[];
  scripts: VrrpScriptConfig[];
  /** track_file blocks (shared with the checkers' FILE_CHECK) */
  trackFiles: TrackFile[];
  notes: VrrpNote[];
}
