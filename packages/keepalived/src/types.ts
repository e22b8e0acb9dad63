/**
 * The typed result of parsing a keepalived.conf: global settings, virtual server groups,
 * virtual servers with their real servers and checkers (defaults and inheritance already
 * resolved), and the VRRP blocks kept as raw token trees. Times are in seconds, as in
 * the configuration file.
 */
import type { SourcePos } from './diagnostics.js';
import type { VrrpConfig } from './vrrp-types.js';

/** keepalived's forwarding methods (`lb_kind` / `lvs_method`). */
export type LbKind = 'NAT' | 'DR' | 'TUN';

/** `protocol` of an address virtual server (compared case-insensitively by keepalived). */
export type VsProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A raw block or line kept for later (VRRP): keyword, arguments, children, position. */
export interface RawNode extends SourcePos {
  keyword: string;
  args: string[];
  /** the line's text after comment removal */
  raw: string;
  /** present when the keyword opened a `{ }` block */
  children?: RawNode[];
}

/** A script with arguments (`notify_up`, `misc_path`, ...) and the optional run-as user. */
export interface ScriptSpec extends SourcePos {
  /** program and arguments after keepalived's quoting rules */
  argv: string[];
  /** the command as written */
  command: string;
  /** `misc` for misc_path (keepalived's messages differ) */
  kind?: 'misc' | 'notify';
  user?: string;
  group?: string;
  /** resolved at validation: the uid/gid it runs as (absent: it cannot run) */
  uid?: number;
  gid?: number;
  /** why it must not run (unknown user, insecure path, ...): the checker stays down */
  refused?: string;
}

/** Options every checker has (`install_checker_common_keywords()`), resolved. */
export interface CheckerCommon extends SourcePos {
  /** address probed; default the real server's */
  connectIp: string;
  /** port probed; default the real server's */
  connectPort: number;
  bindto?: string;
  bindPort?: number;
  bindIf?: string;
  /** seconds */
  connectTimeout: number;
  /** SO_MARK of the probe (not applied by tunvs) */
  fwmark?: number;
  /** failures tolerated before going down: down after retry + 1 consecutive failures */
  retry: number;
  /** seconds between a failure and its retry */
  delayBeforeRetry: number;
  /** the first check runs after a random delay in [0, warmup] seconds */
  warmup: number;
  /** seconds between checks */
  delayLoop: number;
  /** start in the failed state */
  alpha: boolean;
  logAllFailures: boolean;
}

/** `TCP_CHECK`: connect within connect_timeout. */
export interface TcpCheck extends CheckerCommon {
  type: 'TCP_CHECK';
}

/** One `url { }` of HTTP_GET / SSL_GET. */
export interface HttpUrl extends SourcePos {
  path: string;
  /** lowercase 32-hex MD5 of the body */
  digest?: string;
  /** inclusive ranges; default [[200, 299]] */
  statusCodes: Array<[number, number]>;
  virtualhost?: string;
  regex?: string;
  regexNoMatch: boolean;
}

/** `HTTP_GET` / `SSL_GET`. */
export interface HttpCheck extends CheckerCommon {
  type: 'HTTP_GET' | 'SSL_GET';
  urls: HttpUrl[];
  /** `1.0`, `1.0C` or `1.1` */
  httpProtocol: '1.0' | '1.0C' | '1.1';
  /** the Host header when no url virtualhost is set (checker, RS, or VS virtualhost) */
  virtualhost?: string;
  fastRecovery: boolean;
  enableSni: boolean;
}

/** `MISC_CHECK`: a script whose exit status decides. */
export interface MiscCheck extends CheckerCommon {
  type: 'MISC_CHECK';
  script: ScriptSpec;
  /** seconds; default the virtual server's delay_loop */
  timeout: number;
  /** exit codes 2..255 set the weight to code - 2 */
  dynamic: boolean;
}

/** Piranha nanny's send/expect check (not a keepalived keyword; built programmatically). */
export interface SendExpectCheck extends CheckerCommon {
  type: 'SEND_EXPECT';
  send?: string;
  expect?: string;
  useRegex: boolean;
  protocol: 'tcp' | 'udp';
}

/** `SMTP_CHECK`: 220 banner, `HELO helo_name`, 250, QUIT. */
export interface SmtpCheck extends CheckerCommon {
  type: 'SMTP_CHECK';
  /** default `smtpchecker.keepalived.org` */
  heloName: string;
}

/** `DNS_CHECK`: a UDP query; up on a reply with the same id, QR set and RCODE 0. */
export interface DnsCheck extends CheckerCommon {
  type: 'DNS_CHECK';
  /** query type name (A, NS, CNAME, SOA, MX, TXT, AAAA, ...); default SOA */
  queryType: string;
  /** query name; default `.` */
  queryName: string;
}

/** `UDP_CHECK`: send `payload`; without `require_reply` only an ICMP error fails. */
export interface UdpCheck extends CheckerCommon {
  type: 'UDP_CHECK';
  payload?: Uint8Array;
  requireReply: boolean;
  /** expected reply prefix (compared over min(reply, data) bytes) */
  replyData?: Uint8Array;
  /** bits set = wildcard (`x` nibbles in the hex string) */
  replyMask?: Uint8Array;
  minReplyLength: number;
  maxReplyLength: number;
}

/** `PING_CHECK`: one ICMP echo request, up on an echo reply within connect_timeout. */
export interface PingCheck extends CheckerCommon {
  type: 'PING_CHECK';
}

/** A top-level `track_file NAME { file PATH weight W [reverse] init_file [V] [overwrite] }`. */
export interface TrackFile extends SourcePos {
  name: string;
  path: string;
  /** -2147483647..2147483647; 0 = the value only decides up (0) or down (non-zero) */
  weight: number;
  reverse: boolean;
  /** `init_file`: value written at start when the file is missing (or always with overwrite) */
  init?: { value: number; overwrite: boolean };
}

/** `FILE_CHECK`: the real server follows a tracked file (weight rules of track_file). */
export interface FileCheck extends CheckerCommon {
  type: 'FILE_CHECK';
  trackFile: TrackFile;
  /** the checker's weight (else the track_file's) */
  weight: number;
  reverse: boolean;
}

/** A top-level `bfd_instance NAME { ... }` (RFC 5880/5881 single-hop BFD session). */
export interface BfdInstance extends SourcePos {
  name: string;
  neighbor: string;
  source?: string;
  /** milliseconds (keepalived's defaults: 10, 10, 1000, 5) */
  minRx: number;
  minTx: number;
  idleTx: number;
  multiplier: number;
  passive: boolean;
  /** outgoing TTL (255 single-hop) */
  ttl: number;
  /** accepted hops (0 = TTL must be 255) */
  maxHops: number;
}

/** `BFD_CHECK`: up while the named BFD session is Up. */
export interface BfdCheck extends CheckerCommon {
  type: 'BFD_CHECK';
  bfd: BfdInstance;
}

/** Any checker. */
export type Checker = TcpCheck | HttpCheck | MiscCheck | SendExpectCheck | SmtpCheck | DnsCheck | UdpCheck | PingCheck | FileCheck | BfdCheck;

/** The tunnel of `lvs_method TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`. */
export interface TunnelOpts {
  type: 'ipip' | 'gue' | 'gre';
  /** GUE only */
  port?: number;
  csum?: 'nocsum' | 'csum' | 'remcsum';
}

/** A `real_server` block, with the virtual server's defaults applied. */
export interface RealServer extends SourcePos {
  addr: string;
  port: number;
  weight: number;
  /** the method used for this real server (its own lvs_method or the VS's) */
  lbKind: LbKind;
  /** with TUN: its tunnel (its own lvs_method's or the VS's), absent for plain IPIP */
  tunnel?: TunnelOpts;
  inhibitOnFailure: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  uthreshold: number;
  lthreshold: number;
  alpha: boolean;
  checkers: Checker[];
}

/** The sorry server of a virtual server. */
export interface SorryServer extends SourcePos {
  addr: string;
  /** 0 when not given (the VS port is used for address services) */
  port: number;
  lbKind: LbKind;
  tunnel?: TunnelOpts;
}

/** One address entry of a `virtual_server_group`. */
export type VsGroupEntry =
  | (SourcePos & { kind: 'range'; first: string; last: string; port: number })
  | (SourcePos & { kind: 'fwmark'; fwmark: number; family?: 'inet' | 'inet6' });

/** `virtual_server_group NAME { ... }`. */
export interface VirtualServerGroup extends SourcePos {
  name: string;
  entries: VsGroupEntry[];
}

/** A `virtual_server` block, validated (keepalived's post-parse corrections applied). */
export interface VirtualServer extends SourcePos {
  /** which header form: `IP PORT`, `fwmark N` or `group NAME` */
  kind: 'addr' | 'fwmark' | 'group';
  addr?: string;
  port?: number;
  fwmark?: number;
  group?: string;
  delayLoop: number;
  lbAlgo: string;
  lbKind: LbKind;
  tunnel?: TunnelOpts;
  /** seconds; 0 = not persistent */
  persistenceTimeout: number;
  persistenceGranularity?: string;
  persistenceEngine?: string;
  /** undefined for fwmark services */
  protocol?: VsProtocol;
  /** `ip_family` as configured (a fwmark service's family) */
  ipFamily?: 'inet' | 'inet6';
  haSuspend: boolean;
  sorryServer?: SorryServer;
  sorryServerInhibit: boolean;
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  alpha: boolean;
  omega: boolean;
  inhibitOnFailure: boolean;
  virtualhost?: string;
  /** scheduler flags: sh-port, sh-fallback, mh-port, mh-fallback, flag-1..3 */
  schedFlags: string[];
  /** `ops`: one-packet scheduling */
  onePacket: boolean;
  realServers: RealServer[];
}

/** `global_defs` items that matter to tunvs; every other known item is accepted as is. */
export interface GlobalDefs {
  routerId?: string;
  scriptUser?: string;
  scriptGroup?: string;
  scriptUserPos?: SourcePos;
  enableScriptSecurity: boolean;
  notificationEmail: string[];
  notificationEmailFrom?: string;
  smtpServer?: string;
  /** every global_defs line, for settings tunvs does not interpret */
  raw: RawNode[];
}

/** The whole configuration. */
export interface KeepalivedConfig {
  /** the main file */
  file: string;
  global: GlobalDefs;
  groups: VirtualServerGroup[];
  virtualServers: VirtualServer[];
  /** vrrp_instance, vrrp_sync_group, vrrp_script, ... kept whole for the VRRP work */
  vrrp: RawNode[];
  /** the VRRP blocks and the VRRP global_defs keywords, interpreted (vrrp.ts) */
  vrrpConfig: VrrpConfig;
  /** `track_file` / `vrrp_track_file` blocks (used by FILE_CHECK and by VRRP's track_file) */
  trackFiles: TrackFile[];
  /** `bfd_instance` blocks (used by BFD_CHECK and by VRRP's track_bfd) */
  bfdInstances: BfdInstance[];
  /** other blocks keepalived knows but tunvs does not use (static_ipaddress, SSL, ...) */
  other: RawNode[];
}
