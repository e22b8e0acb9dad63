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
  user?: string;
  group?: string;
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

/** A checker keepalived knows but tunvs does not run (SMTP, DNS, UDP, PING, FILE, BFD). */
export interface UnsupportedCheck extends CheckerCommon {
  type: 'SMTP_CHECK' | 'DNS_CHECK' | 'UDP_CHECK' | 'PING_CHECK' | 'FILE_CHECK' | 'BFD_CHECK';
  raw: RawNode;
}

/** Any checker. */
export type Checker = TcpCheck | HttpCheck | MiscCheck | SendExpectCheck | UnsupportedCheck;

/** A `real_server` block, with the virtual server's defaults applied. */
export interface RealServer extends SourcePos {
  addr: string;
  port: number;
  weight: number;
  /** the method used for this real server (its own lvs_method or the VS's) */
  lbKind: LbKind;
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
  /** seconds; 0 = not persistent */
  persistenceTimeout: number;
  persistenceGranularity?: string;
  persistenceEngine?: string;
  /** undefined for fwmark services */
  protocol?: VsProtocol;
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
  /** the same blocks and the VRRP global_defs keywords, interpreted (vrrp.ts) */
  vrrpConfig: VrrpConfig;
  /** other blocks keepalived knows but tunvs does not use (static_ipaddress, SSL, ...) */
  other: RawNode[];
}
