/**
 * The block layer: keyword tables per block level, dispatched the way keepalived's
 * process_stream() does it (exact, case-sensitive keywords; unknown ones warned about and
 * skipped; `{` on the keyword line or the next), building drafts that validate.ts turns
 * into the typed configuration.
 */
import { isIP } from 'node:net';
import { isSchedulerName, tunnelTypeByName } from '@tunvs/model';
import type { DiagnosticSink, SourcePos } from './diagnostics.js';
import type { Line } from './lexer.js';
import { parseScriptLine } from './script.js';
import { ValueReader } from './vrrp-values.js';
import type { LbKind, TunnelOpts, RawNode, ScriptSpec, VsGroupEntry, VsProtocol, HttpUrl, GlobalDefs, TrackFile, BfdInstance } from './types.js';

/** What to do with an unknown keyword that opens a block. */
export type UnknownBlockMode = 'keepalived' | 'skip';

/** A checker as written, before defaults. */
export interface CheckerDraft extends SourcePos {
  type: string;
  connectIp?: string;
  connectPort?: number;
  bindto?: string;
  bindPort?: number;
  bindIf?: string;
  connectTimeout?: number;
  fwmark?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  delayLoop?: number;
  alpha?: boolean;
  logAllFailures: boolean;
  urls: HttpUrl[];
  httpProtocol: '1.0' | '1.0C' | '1.1';
  virtualhost?: string;
  fastRecovery: boolean;
  enableSni: boolean;
  script?: ScriptSpec;
  miscTimeout?: number;
  dynamic: boolean;
  heloName?: string;
  dnsType?: string;
  dnsName?: string;
  udpPayload?: Uint8Array;
  udpRequireReply: boolean;
  udpReplyData?: Uint8Array;
  udpReplyMask?: Uint8Array;
  udpMinReply: number;
  udpMaxReply: number;
  trackFile?: TrackFile;
  fileWeight?: number;
  fileReverse?: boolean;
  bfd?: BfdInstance;
  /** the block was refused (keepalived dequeues the checker) */
  dropped?: boolean;
  /** SMTP_CHECK's deprecated host { } blocks, each one more checker */
  hosts?: CheckerDraft[];
}

/** A real server as written. */
export interface RsDraft extends SourcePos {
  addr: string;
  port?: number;
  weight?: number;
  lbKind?: LbKind;
  tunnel?: TunnelOpts;
  inhibit?: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  uthreshold: number;
  lthreshold: number;
  alpha?: boolean;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  connectTimeout?: number;
  delayLoop?: number;
  virtualhost?: string;
  checkers: CheckerDraft[];
  invalid: boolean;
}

/** A virtual server as written. */
export interface VsDraft extends SourcePos {
  kind: 'addr' | 'fwmark' | 'group';
  addr?: string;
  port?: number;
  fwmark?: number;
  group?: string;
  invalid: boolean;
  delayLoop?: number;
  lbAlgo?: string;
  lbKind?: LbKind;
  tunnel?: TunnelOpts;
  persistenceTimeout?: number;
  persistenceGranularity?: string;
  persistenceEngine?: string;
  protocol?: VsProtocol;
  protocolPos?: SourcePos;
  ipFamily?: 'inet' | 'inet6';
  haSuspend: boolean;
  sorry?: { addr: string; port: number; pos: SourcePos };
  sorryLbKind?: LbKind;
  sorryTunnel?: TunnelOpts;
  sorryInhibit: boolean;
  quorum?: number;
  hysteresis?: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  alpha: boolean;
  omega: boolean;
  inhibit?: boolean;
  weight?: number;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  virtualhost?: string;
  schedFlags: string[];
  onePacket: boolean;
  rs: RsDraft[];
}

/** A virtual_server_group as written. */
export interface GroupDraft extends SourcePos {
  name: string;
  entries: VsGroupEntry[];
}

/** Everything the parse pass produces. */
export interface ParseResult {
  global: GlobalDefs;
  groups: GroupDraft[];
  vs: VsDraft[];
  vrrp: RawNode[];
  other: RawNode[];
  trackFiles: TrackFile[];
  bfdInstances: BfdInstance[];
  /** every script configured, for the script-security check */
  scripts: ScriptSpec[];
}

interface Kw {
  /** called with the keyword's line */
  h?: (ln: Line) => void;
  /** keywords of the block it opens */
  sub?: Table;
  /** called after the block's `}` */
  close?: () => void;
  /** keep the block whole as a raw tree (inactive in our process, like VRRP in the checker) */
  raw?: (node: RawNode) => void;
}
const FALLBACK = Symbol('fallback');
type Table = Record<string, Kw> & { [FALLBACK]?: (word: string) => Kw | undefined };

function lookup(table: Table, word: string): Kw | undefined {
  if (Object.prototype.hasOwnProperty.call(table, word)) return table[word];
  return table[FALLBACK]?.(word) ?? table['*'];
}


const TRUE_WORDS = new Set(['on', 'true', 'yes']);
const FALSE_WORDS = new Set(['off', 'false', 'no']);

const GLOBAL_KEYWORDS = [
  'router_id', 'notification_email_from', 'smtp_server', 'smtp_helo_name', 'smtp_connect_timeout',
  'smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker', 'checker_log_all_failures', 'no_checker_emails',
  'rs_init_notifies', 'script_user', 'enable_script_security', 'notify_fifo', 'notify_fifo_script',
  'lvs_notify_fifo', 'lvs_notify_fifo_script', 'lvs_sync_daemon', 'lvs_timeouts', 'lvs_flush',
  'lvs_flush_on_stop', 'max_auto_priority', 'min_auto_priority_delay', 'dynamic_interfaces', 'default_interface',
  'no_email_faults', 'process_names', 'process_name', 'umask', 'log_unknown_vrids', 'random_seed',
  'reload_check_config', 'reload_time_file', 'reload_repeat', 'reload_file', 'startup_script',
  'startup_script_timeout', 'shutdown_script', 'shutdown_script_timeout', 'include_check', 'local_name',
  'enable_traps', 'enable_dbus', 'enable_dbus_instance', 'dbus_service_name',
  'disable_local_igmp', 'fifo_write_vrrp_states_on_reload', 'lvs_netlink_monitor_rcv_bufs',
  'lvs_netlink_monitor_rcv_bufs_force', 'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force',
  'notify_fifo_script', 'tmp_config_directory', 'data_use_instance', 'v3_checksum_as_v2',
];
const GLOBAL_PREFIXES = ['vrrp_', 'checker_', 'bfd_', 'snmp_', 'enable_snmp', 'smtp_'];
/**
 * global_defs keywords tunvs acts on (script users and security, the sync daemon, the
 * notify FIFO tunvsd's VRRP writes); vrrp_* ones belong to the VRRP side. Every other
 * global_defs keyword is kept and reported as not implemented.
 */
const GLOBAL_ACTED = new Set(['script_user', 'enable_script_security', 'lvs_sync_daemon', 'notify_fifo']);

/** keepalived keywords whose blocks tunvs keeps raw (VRRP and friends). */
const VRRP_TOP = ['vrrp_instance', 'vrrp_sync_group', 'vrrp_script', 'vrrp_track_process', 'track_process', 'garp_group', 'vrrp_group'];
const OTHER_TOP = ['static_ipaddress', 'static_routes', 'static_rules', 'SSL', 'linkbeat_use_polling', 'net_namespace', 'net_namespace_ipvs', 'instance', 'use_pid_dir', 'namespace_with_ipsets'];

/** Parses the logical lines produced by the lexer. */
export class Parser {
  private i = 0;
  private level = 0;
  /** stack of the blocks currently open, for messages */
  private openBlocks: Line[] = [];
  private readonly res: ParseResult = {
    global: { enableScriptSecurity: false, notificationEmail: [], raw: [] },
    groups: [],
    vs: [],
    vrrp: [],
    other: [],
    trackFiles: [],
    bfdInstances: [],
    scripts: [],
  };
  private vs: VsDraft | null = null;
  private rs: RsDraft | null = null;
  private ck: CheckerDraft | null = null;
  private url: (HttpUrl & { hasPath: boolean }) | null = null;
  private group: GroupDraft | null = null;
  private hostParent: CheckerDraft | null = null;
  private tf: TrackFile | null = null;
  private bfd: BfdInstance | null = null;

  constructor(
    private readonly lines: Line[],
    private readonly sink: DiagnosticSink,
    private readonly unknownBlocks: UnknownBlockMode = 'keepalived',
  ) {}

  /** Runs the parse and returns the drafts. */
  parse(): ParseResult {
    this.stream(this.topTable(), false);
    return this.res;
  }

  // ---- the process_stream loop --------------------------------------------------------

  private stream(table: Table, needBob: boolean): void {
    while (this.i < this.lines.length) {
      const ln = this.lines[this.i++]!;
      const w0 = ln.words[0]!;
      if (needBob) {
        needBob = false;
        if (w0 === '{' && this.level > 0) continue;
        this.sink.error(ln, "Missing '{' at beginning of configuration block");
      } else if (w0 === '{') {
        this.sink.warn(ln, "Unexpected '{' - ignoring");
        continue;
      }
      if (w0 === '}' && this.level > 0) return;
      const kw = lookup(table, w0);
      if (kw === undefined) {
        this.unknown(ln);
        continue;
      }
      if (kw.raw) {
        kw.raw(this.captureRaw(ln));
        continue;
      }
      kw.h?.(ln);
      if (kw.sub) {
        this.level++;
        this.openBlocks.push(ln);
        this.stream(kw.sub, true);
        this.openBlocks.pop();
        this.level--;
        kw.close?.();
      }
    }
  }

  private unknown(ln: Line): void {
    const w0 = ln.words[0]!;
    const hint = w0 === 'lvs_id' ? " (old name of 'router_id')" : '';
    this.sink.warn(ln, `Unknown keyword '${w0}'${hint}`);
    const next = this.lines[this.i];
    if (next?.words[0] !== '{' || w0 === '}') return;
    if (this.unknownBlocks === 'skip') {
      this.captureRaw(ln);
      this.sink.warn(ln, `unknown block '${w0}' skipped whole (keepalived would not skip it)`);
      return;
    }
    const encl = this.openBlocks[this.openBlocks.length - 1];
    const where = encl ? `'${encl.words[0]}' block opened at ${encl.file}:${encl.line}` : 'top level';
    this.sink.warn(
      ln,
      `unknown block '${w0}': keepalived ignores its '{', reads its contents as part of the ${where}` +
        (encl ? ', and its closing \'}\' ends that enclosing block' : ''),
    );
  }

  /** Reads a keyword line and, if a `{` follows, its whole block, as a raw tree. */
  private captureRaw(ln: Line): RawNode {
    const node: RawNode = { keyword: ln.words[0]!, args: ln.words.slice(1), raw: ln.raw, file: ln.file, line: ln.line };
    if (this.lines[this.i]?.words[0] === '{') {
      this.i++;
      node.children = [];
      while (this.i < this.lines.length) {
        const c = this.lines[this.i++]!;
        if (c.words[0] === '}') break;
        if (c.words[0] === '{') {
          this.sink.warn(c, "Unexpected '{' - ignoring");
          continue;
        }
        node.children.push(this.captureRaw(c));
      }
    }
    return node;
  }

  /** A keyword tunvs reads (and checks) but does not act on: a notice with file:line. */
  private notImplemented(pos: SourcePos, what: string): void {
    this.sink.warn(pos, `parsed, not implemented by tunvs: ${what}`, 0);
  }

  // ---- value readers ------------------------------------------------------------------

  /**
   * The word at `idx`. A missing word is keepalived's hard exit 2 ("missing a parameter"),
   * except for the few keywords whose handlers check the count themselves and only
   * report it (`exitCode` 5 for those).
   */
  private arg(ln: Line, idx: number, exitCode: 2 | 5 = 2): string | undefined {
    const v = ln.words[idx];
    if (v === undefined) {
      this.sink.error(
        ln,
        `Configuration line starting \`${ln.words[0]}\` is missing a parameter after keyword \`${ln.words[idx - 1]}\` at word position ${idx + 1}`,
        exitCode,
      );
    }
    return v;
  }

  private int(ln: Line, idx: number, min: number, max: number, what: string): number | undefined {
    const s = this.arg(ln, idx);
    if (s === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(s)) {
      this.sink.error(ln, `invalid number '${s}' for ${what}`);
      return undefined;
    }
    const n = Number(s);
    if (n < min || n > max) {
      this.sink.error(ln, `${what} '${s}' outside range [${min}, ${max}]`);
      return undefined;
    }
    return n;
  }

  private timer(ln: Line, idx: number, what: string, allowZero = false): number | undefined {
    const s = this.arg(ln, idx);
    if (s === undefined) return undefined;
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(s)) {
      this.sink.error(ln, `invalid number '${s}' for ${what}`);
      return undefined;
    }
    const n = Number(s);
    if (n < (allowZero ? 0 : 0.000001) || n > 18446744073709.551614) {
      this.sink.error(ln, `${what} '${s}' invalid - ignoring`);
      return undefined;
    }
    return Math.round(n * 1e6) / 1e6;
  }

  private bool(ln: Line, idx: number): boolean {
    const s = ln.words[idx];
    if (s === undefined) return true;
    if (TRUE_WORDS.has(s)) return true;
    if (FALSE_WORDS.has(s)) return false;
    this.sink.error(ln, `invalid boolean '${s}' for ${ln.words[0]}`);
    return true;
  }

  private ip(ln: Line, idx: number, what: string): string | undefined {
    const s = this.arg(ln, idx);
    if (s === undefined) return undefined;
    if (isIP(s) === 0) {
      this.sink.error(ln, `Invalid ${what} address ${s} - ignoring`);
      return undefined;
    }
    return s;
  }

  private port(ln: Line, idx: number, what: string, min = 0): number | undefined {
    return this.int(ln, idx, min, 65535, what);
  }

  private lbKind(ln: Line): LbKind | undefined {
    const s = this.arg(ln, 1);
    if (s === undefined) return undefined;
    if (s === 'NAT' || s === 'DR' || s === 'TUN') return s;
    this.sink.error(ln, `PARSER : unknown [${s}] routing method.`);
    return undefined;
  }

  /**
   * `lvs_method TUN type gue port 6080 csum`: the method, and for TUN its tunnel (absent
   * when no type is given: IPIP). Stores both through `put`.
   */
  private method(ln: Line, put: (k: LbKind | undefined, t: TunnelOpts | undefined) => void): void {
    const k = this.lbKind(ln);
    put(k, k === 'TUN' && ln.words.length > 2 ? this.tunOptions(ln) : undefined);
  }

  private tunOptions(ln: Line): TunnelOpts | undefined {
    const w = ln.words.slice(2);
    const t: TunnelOpts = { type: 'ipip' };
    let ok = true;
    for (let k = 0; k < w.length; k++) {
      const x = w[k]!;
      if (x === 'type') {
        const v = w[++k];
        if (v !== 'ipip' && v !== 'gre' && v !== 'gue') {
          this.sink.error(ln, `unknown tunnel type '${v ?? ''}'`);
          ok = false;
        } else t.type = v;
      } else if (x === 'port') {
        const p = w[++k];
        if (p === undefined || !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) {
          this.sink.error(ln, `invalid tunnel port '${p ?? ''}'`);
          ok = false;
        } else t.port = Number(p);
      } else if (x === 'nocsum' || x === 'csum' || x === 'remcsum') t.csum = x;
      else {
        this.sink.error(ln, `unknown tunnel option '${x}'`);
        ok = false;
      }
    }
    if (!ok) return undefined;
    // the rules ipvsadm and the kernel apply to each type
    const def = tunnelTypeByName(t.type)!;
    if (def.needsPort && t.port === undefined) {
      this.sink.error(ln, `tunnel type ${t.type} needs a port`);
      return undefined;
    }
    if (!def.needsPort && t.port !== undefined) {
      this.sink.error(ln, `tunnel port is only valid with type gue`);
      return undefined;
    }
    if (t.csum !== undefined && !def.csums.includes(t.csum)) {
      this.sink.error(ln, `tunnel checksum option ${t.csum} is not valid with type ${t.type}`);
      return undefined;
    }
    return t.type === 'ipip' ? undefined : t;
  }

  private script(ln: Line): ScriptSpec | undefined {
    const rest = ln.raw.slice(ln.raw.indexOf(ln.words[0]!) + ln.words[0]!.length);
    const p = parseScriptLine(rest);
    if (p === null) {
      this.sink.error(ln, `${ln.words[0]} has no valid script (missing command or unbalanced quote)`);
      return undefined;
    }
    const s: ScriptSpec = { ...p, file: ln.file, line: ln.line };
    this.res.scripts.push(s);
    return s;
  }

  // ---- keyword tables -----------------------------------------------------------------

  private topTable(): Table {
    const t: Table = {
      global_defs: { sub: this.globalTable() },
      virtual_server_group: {
        h: (ln) => {
          const name = this.arg(ln, 1);
          this.group = { name: name ?? '', entries: [], file: ln.file, line: ln.line };
          if (name !== undefined) this.res.groups.push(this.group);
        },
        sub: { '*': { h: (ln) => this.groupEntry(ln) } },
        close: () => {
          this.group = null;
        },
      },
      virtual_server: { h: (ln) => this.vsHeader(ln), sub: this.vsTable(), close: () => (this.vs = null) },
    };
    t['track_file'] = { h: (ln) => this.trackFileOpen(ln), sub: this.trackFileTable(), close: () => this.trackFileClose() };
    t['vrrp_track_file'] = t['track_file'];
    t['bfd_instance'] = { h: (ln) => this.bfdOpen(ln), sub: this.bfdTable(), close: () => this.bfdClose() };
    for (const k of VRRP_TOP) t[k] = { raw: (n) => this.res.vrrp.push(n) };
    for (const k of OTHER_TOP) t[k] = { raw: (n) => this.res.other.push(n) };
    // keepalived runs itself inside that namespace; tunvs does not (a notice: no exit code)
    t['net_namespace'] = {
      raw: (n) => {
        this.res.other.push(n);
        this.sink.warn(n, 'parsed, not implemented by tunvs: net_namespace', 0);
      },
    };
    return t;
  }

  private globalTable(): Table {
    const g = this.res.global;
    const keep = (ln: Line): void => {
      const kw = ln.words[0]!;
      g.raw.push({ keyword: kw, args: ln.words.slice(1), raw: ln.raw, file: ln.file, line: ln.line });
      if (!GLOBAL_ACTED.has(kw) && !kw.startsWith('vrrp_')) this.notImplemented(ln, kw);
    };
    const t: Table = {
      // Debian's keepalived 2.2.7 is built with nftables only: it reports vrrp_iptables as a
      // configuration error and does not know vrrp_ipsets (checked against the binary)
      vrrp_iptables: {
        h: (ln) => {
          keep(ln);
          this.sink.warn(ln, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option");
        },
      },
      router_id: {
        h: (ln) => {
          keep(ln);
          const v = this.arg(ln, 1, 5);
          if (v !== undefined) g.routerId = v;
        },
      },
      script_user: {
        h: (ln) => {
          keep(ln);
          const v = this.arg(ln, 1, 5);
          if (v !== undefined) g.scriptUser = v;
          if (ln.words[2] !== undefined) g.scriptGroup = ln.words[2];
          g.scriptUserPos = { file: ln.file, line: ln.line };
        },
      },
      enable_script_security: {
        h: (ln) => {
          keep(ln);
          g.enableScriptSecurity = true;
        },
      },
      notification_email_from: {
        h: (ln) => {
          keep(ln);
          const v = this.arg(ln, 1);
          if (v !== undefined) g.notificationEmailFrom = v;
        },
      },
      smtp_connect_timeout: {
        h: (ln) => {
          keep(ln);
          const v = this.arg(ln, 1);
          if (v === undefined) return;
          const n = /^\d+$/.test(v) ? Number(v) : NaN;
          if (Number.isNaN(n)) this.sink.error(ln, `invalid number '${v}'`);
          else if (n > 4294) this.sink.error(ln, `number '${v}' outside range [0, 4294]`);
          if (Number.isNaN(n) || n > 4294) this.sink.error(ln, `smtp_connect_timeout '${v}' must be in [0, 4294] - ignoring`);
        },
      },
      smtp_server: {
        h: (ln) => {
          keep(ln);
          const v = this.arg(ln, 1);
          if (v !== undefined) g.smtpServer = v;
        },
      },
      notification_email: {
        raw: (n) => {
          g.raw.push(n);
          this.notImplemented(n, 'notification_email');
          for (const c of n.children ?? []) g.notificationEmail.push([c.keyword, ...c.args].join(' '));
        },
      },
    };
    for (const k of GLOBAL_KEYWORDS) if (!(k in t)) t[k] = { h: keep };
    t[FALLBACK] = (w) => (w !== 'vrrp_ipsets' && GLOBAL_PREFIXES.some((p) => w.startsWith(p)) ? { h: keep } : undefined);
    return t;
  }

  private groupEntry(ln: Line): void {
    const g = this.group;
    if (g === null) return;
    const w = ln.words;
    if (w[0] === 'fwmark') {
      const m = this.int(ln, 1, 1, 0xffffffff, 'virtual server group fwmark');
      if (m === undefined) return;
      const e: VsGroupEntry = { kind: 'fwmark', fwmark: m, file: ln.file, line: ln.line };
      if (w[2] === 'inet' || w[2] === 'inet6') e.family = w[2];
      else if (w[2] !== undefined) this.sink.error(ln, `unknown family '${w[2]}' for fwmark group entry`);
      g.entries.push(e);
      return;
    }
    const spec = w[0]!;
    let first = spec;
    let last = spec;
    const cidr = /^([^/]+)\/(\d+)$/.exec(spec);
    const range = /^([^-]+)-(.+)$/.exec(spec);
    if (cidr && isIP(cidr[1]!) === 4) {
      const bits = Number(cidr[2]);
      const base = ipv4ToInt(cidr[1]!);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      if (bits > 32 || (base & ~mask) >>> 0 !== 0) {
        this.sink.error(ln, `Invalid virtual server group IP address/prefix ${spec} - host bits must be zero`);
        return;
      }
      first = cidr[1]!;
      last = intToIpv4((base | (~mask >>> 0)) >>> 0);
    } else if (range && isIP(range[1]!) === 4) {
      first = range[1]!;
      const end = range[2]!;
      if (/^\d+$/.test(end)) {
        const n = Number(end);
        const lastOctet = ipv4ToInt(first) & 0xff;
        if (n > 255 || n < lastOctet) {
          this.sink.error(ln, `Invalid virtual server group IP range ${spec}`);
          return;
        }
        last = intToIpv4(((ipv4ToInt(first) & 0xffffff00) | n) >>> 0);
      } else if (isIP(end) === 4 && ipv4ToInt(end) >= ipv4ToInt(first)) last = end;
      else {
        this.sink.error(ln, `Invalid virtual server group IP range ${spec}`);
        return;
      }
    } else if (cidr && isIP(cidr[1]!) === 6 && Number(cidr[2]) <= 128) {
      // IPv6 entries are kept as written (tunvs does not run IPv6 services; see unsupportedReason)
      first = last = cidr[1]!;
    } else if (range && isIP(range[1]!) === 6) {
      // keepalived's IPv6 range: the end replaces the address's last 16-bit group (hex)
      first = range[1]!;
      const tail = /:([0-9a-f]{1,4})$/i.exec(first);
      const end = /^[0-9a-f]{1,4}$/i.test(range[2]!) ? parseInt(range[2]!, 16) : NaN;
      if (!tail || !(end >= parseInt(tail[1]!, 16))) {
        this.sink.error(ln, `Invalid virtual server group IP range ${spec}`);
        return;
      }
      last = first.slice(0, first.length - tail[1]!.length) + end.toString(16);
    } else if (isIP(spec) === 0) {
      this.sink.error(ln, `Invalid virtual server group IP address ${spec} - ignoring`);
      return;
    }
    let port = 0;
    if (w[1] !== undefined) {
      const p = this.port(ln, 1, 'virtual server group port');
      if (p === undefined) return;
      port = p;
    }
    g.entries.push({ kind: 'range', first, last, port, file: ln.file, line: ln.line });
  }

  private vsHeader(ln: Line): void {
    const vs: VsDraft = {
      kind: 'addr',
      invalid: false,
      file: ln.file,
      line: ln.line,
      haSuspend: false,
      sorryInhibit: false,
      alpha: false,
      omega: false,
      schedFlags: [],
      onePacket: false,
      rs: [],
    };
    this.vs = vs;
    this.res.vs.push(vs);
    const a = ln.words[1];
    if (a === 'fwmark') {
      vs.kind = 'fwmark';
      const m = this.int(ln, 2, 1, 0xffffffff, 'virtual server fwmark');
      if (m === undefined) vs.invalid = true;
      else vs.fwmark = m;
    } else if (a === 'group') {
      vs.kind = 'group';
      const g = this.arg(ln, 2);
      if (g === undefined) vs.invalid = true;
      else vs.group = g;
    } else {
      const ip = this.ip(ln, 1, 'virtual server IP');
      if (ip === undefined) vs.invalid = true;
      else vs.addr = ip;
      if (ln.words[2] !== undefined) {
        const p = this.port(ln, 2, 'virtual server port');
        if (p === undefined) vs.invalid = true;
        else vs.port = p;
      } else vs.port = 0;
    }
  }

  private vsTable(): Table {
    const V = (): VsDraft => this.vs!;
    const t: Table = {
      delay_loop: { h: (ln) => set(V(), 'delayLoop', this.timer(ln, 1, 'virtual server delay loop')) },
      lb_algo: { h: (ln) => this.sched(ln) },
      lvs_sched: { h: (ln) => this.sched(ln) },
      lb_kind: { h: (ln) => this.method(ln, (k, t) => { set(V(), 'lbKind', k); setOrClear(V(), 'tunnel', t); }) },
      lvs_method: { h: (ln) => this.method(ln, (k, t) => { set(V(), 'lbKind', k); setOrClear(V(), 'tunnel', t); }) },
      persistence_timeout: {
        h: (ln) => {
          if (ln.words[1] === undefined) V().persistenceTimeout = 360;
          else set(V(), 'persistenceTimeout', this.int(ln, 1, 1, 2678400, 'persistence_timeout'));
        },
      },
      persistence_granularity: {
        h: (ln) => {
          const s = this.arg(ln, 1);
          if (s === undefined) return;
          if (isIP(s) === 4) V().persistenceGranularity = s;
          else if (/^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 128) V().persistenceGranularity = s;
          else this.sink.error(ln, `invalid persistence_granularity '${s}'`);
        },
      },
      persistence_engine: { h: (ln) => set(V(), 'persistenceEngine', this.arg(ln, 1)) },
      protocol: {
        h: (ln) => {
          const s = this.arg(ln, 1);
          if (s === undefined) return;
          const u = s.toUpperCase();
          if (u === 'TCP' || u === 'UDP' || u === 'SCTP') {
            V().protocol = u;
            V().protocolPos = { file: ln.file, line: ln.line };
          } else this.sink.error(ln, `Unknown protocol ${s} - ignoring`);
        },
      },
      ha_suspend: {
        h: (ln) => {
          V().haSuspend = true;
          this.notImplemented(ln, 'ha_suspend');
        },
      },
      ops: { h: () => (V().onePacket = true) },
      sorry_server: {
        h: (ln) => {
          const a = this.ip(ln, 1, 'sorry server IP');
          if (a === undefined) return;
          let port = 0;
          if (ln.words[2] !== undefined) {
            const p = this.port(ln, 2, 'sorry server port');
            if (p === undefined) return;
            port = p;
          }
          V().sorry = { addr: a, port, pos: { file: ln.file, line: ln.line } };
        },
      },
      sorry_server_inhibit: {
        h: (ln) => {
          if (V().sorry === undefined) this.sink.warn(ln, 'Ignoring sorry_server inhibit used before or without sorry_server');
          else V().sorryInhibit = this.bool(ln, 1);
        },
      },
      sorry_server_lvs_method: { h: (ln) => this.method(ln, (k, t) => { set(V(), 'sorryLbKind', k); setOrClear(V(), 'sorryTunnel', t); }) },
      quorum: {
        h: (ln) => {
          const q = this.int(ln, 1, 1, 4294967295, 'quorum');
          if (q === undefined) this.sink.error(ln, `Quorum ${ln.words[1] ?? ''} must be in [1, 4294967295]. Setting to 1.`);
          set(V(), 'quorum', q);
        },
      },
      hysteresis: { h: (ln) => set(V(), 'hysteresis', this.int(ln, 1, 0, 4294967295, 'hysteresis')) },
      quorum_up: { h: (ln) => set(V(), 'quorumUp', this.script(ln)) },
      quorum_down: { h: (ln) => set(V(), 'quorumDown', this.script(ln)) },
      // keepalived 2.2.7 takes any argument of a virtual server's alpha/omega (alpha 1,
      // alpha 2: config-test exit 0, checked against the binary); tunvs lets off/no/false clear it
      alpha: { h: (ln) => (V().alpha = !FALSE_WORDS.has(ln.words[1] ?? '')) },
      omega: { h: (ln) => (V().omega = !FALSE_WORDS.has(ln.words[1] ?? '')) },
      inhibit_on_failure: { h: (ln) => (V().inhibit = this.bool(ln, 1)) },
      weight: { h: (ln) => set(V(), 'weight', this.int(ln, 1, 0, 2147483647, 'virtual server weight')) },
      connect_timeout: { h: (ln) => set(V(), 'connectTimeout', this.timer(ln, 1, 'connect_timeout')) },
      retry: { h: (ln) => set(V(), 'retry', this.int(ln, 1, 0, 4294967295, 'retry')) },
      delay_before_retry: { h: (ln) => set(V(), 'delayBeforeRetry', this.timer(ln, 1, 'delay_before_retry', true)) },
      warmup: { h: (ln) => set(V(), 'warmup', this.timer(ln, 1, 'warmup', true)) },
      virtualhost: { h: (ln) => set(V(), 'virtualhost', this.arg(ln, 1, 5)) },
      smtp_alert: {
        h: (ln) => {
          this.bool(ln, 1);
          this.notImplemented(ln, 'smtp_alert');
        },
      },
      ip_family: {
        h: (ln) => {
          const f = this.arg(ln, 1);
          if (f !== undefined && f !== 'inet' && f !== 'inet6') this.sink.error(ln, `unknown ip_family ${f}`);
          else if (f !== undefined) V().ipFamily = f;
        },
      },
      hashed: {},
      snmp_name: {
        h: (ln) => {
          this.arg(ln, 1);
          this.notImplemented(ln, 'snmp_name');
        },
      },
      real_server: { h: (ln) => this.rsHeader(ln), sub: this.rsTable(), close: () => (this.rs = null) },
    };
    for (const f of ['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback']) {
      t[f] = { h: () => V().schedFlags.push(f) };
    }
    return t;
  }

  private sched(ln: Line): void {
    const s = this.arg(ln, 1);
    if (s === undefined) return;
    if (isSchedulerName(s)) this.vs!.lbAlgo = s;
    else this.sink.error(ln, `Invalid lvs_scheduler '${s}' - ignoring`);
  }

  private rsHeader(ln: Line): void {
    const rs: RsDraft = { addr: '', file: ln.file, line: ln.line, uthreshold: 0, lthreshold: 0, checkers: [], invalid: false };
    this.rs = rs;
    this.vs!.rs.push(rs);
    const a = this.ip(ln, 1, 'real server IP');
    if (a === undefined) rs.invalid = true;
    else rs.addr = a;
    if (ln.words[2] !== undefined) {
      const p = this.port(ln, 2, 'real server port');
      if (p === undefined) rs.invalid = true;
      else rs.port = p;
    }
  }

  private rsTable(): Table {
    const R = (): RsDraft => this.rs!;
    const t: Table = {
      weight: {
        h: (ln) => {
          // keepalived 2.2.7 prints two lines for a bad weight: read_int's own ("invalid
          // number 'x'", "negative number '-1'", "number 'N' outside range [0, 2147483647]")
          // and then the real server's (checked against the binary)
          const s = this.arg(ln, 1);
          const w = s === undefined ? undefined : new ValueReader(this.sink).intOf(ln, s, 0, 2147483647);
          if (s !== undefined && w === undefined) this.sink.error(ln, `Real server weight ${s} is outside range 0-2147483647`);
          set(R(), 'weight', w);
        },
      },
      lvs_method: { h: (ln) => this.method(ln, (k, t) => { set(R(), 'lbKind', k); setOrClear(R(), 'tunnel', t); }) },
      inhibit_on_failure: { h: (ln) => (R().inhibit = this.bool(ln, 1)) },
      notify_up: { h: (ln) => set(R(), 'notifyUp', this.script(ln)) },
      notify_down: { h: (ln) => set(R(), 'notifyDown', this.script(ln)) },
      uthreshold: { h: (ln) => set(R(), 'uthreshold', this.int(ln, 1, 0, 2147483647, 'uthreshold')) },
      lthreshold: { h: (ln) => set(R(), 'lthreshold', this.int(ln, 1, 0, 2147483647, 'lthreshold')) },
      alpha: { h: (ln) => (R().alpha = this.bool(ln, 1)) },
      retry: { h: (ln) => set(R(), 'retry', this.int(ln, 1, 0, 4294967295, 'retry')) },
      delay_before_retry: { h: (ln) => set(R(), 'delayBeforeRetry', this.timer(ln, 1, 'delay_before_retry', true)) },
      warmup: { h: (ln) => set(R(), 'warmup', this.timer(ln, 1, 'warmup', true)) },
      connect_timeout: { h: (ln) => set(R(), 'connectTimeout', this.timer(ln, 1, 'connect_timeout')) },
      delay_loop: { h: (ln) => set(R(), 'delayLoop', this.timer(ln, 1, 'delay_loop')) },
      smtp_alert: {
        h: (ln) => {
          this.bool(ln, 1);
          this.notImplemented(ln, 'smtp_alert');
        },
      },
      virtualhost: { h: (ln) => set(R(), 'virtualhost', this.arg(ln, 1, 5)) },
      snmp_name: {
        h: (ln) => {
          this.arg(ln, 1);
          this.notImplemented(ln, 'snmp_name');
        },
      },
    };
    for (const type of ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK']) {
      t[type] = {
        h: (ln) => this.checkerHeader(ln, type),
        sub: this.checkerTable(type),
        close: () => this.checkerClose(),
      };
    }
    for (const type of ['SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK']) {
      t[type] = {
        h: (ln) => this.checkerHeader(ln, type),
        sub: this.checkerTable(type),
        close: () => this.checkerClose(),
      };
    }
    return t;
  }

  private newChecker(type: string, pos: SourcePos): CheckerDraft {
    return {
      type,
      file: pos.file,
      line: pos.line,
      logAllFailures: false,
      urls: [],
      httpProtocol: '1.0',
      fastRecovery: false,
      enableSni: false,
      dynamic: false,
      udpRequireReply: false,
      udpMinReply: 0,
      udpMaxReply: 255,
    };
  }

  private checkerHeader(ln: Line, type: string): void {
    this.ck = this.newChecker(type, ln);
  }

  private checkerClose(): void {
    const c = this.ck!;
    this.ck = null;
    if (c.type === 'HTTP_GET' || c.type === 'SSL_GET') {
      if (c.urls.length === 0) {
        this.sink.error(c, 'HTTP/SSL_GET checker has no urls specified - ignoring');
        return;
      }
    }
    if (c.type === 'MISC_CHECK' && c.script === undefined) {
      this.sink.error(c, 'No script path has been specified for MISC_CHECKER - skipping');
      return;
    }
    if (c.dropped) return;
    if (c.hosts !== undefined && c.hosts.length > 0) {
      for (const h of c.hosts) this.rs!.checkers.push({ ...h, heloName: c.heloName ?? h.heloName });
      return;
    }
    if (c.type === 'UDP_CHECK' && c.udpMinReply > c.udpMaxReply) {
      this.sink.error(c, `UDP_CHECK min_reply length ${c.udpMinReply} > max_reply_length ${c.udpMaxReply} - will always fail`);
    }
    if (c.type === 'FILE_CHECK') {
      if (c.trackFile === undefined) {
        this.sink.error(c, 'FILE_CHECK has no track_file specified - ignoring');
        return;
      }
      if (!c.fileWeight) {
        c.fileWeight = c.trackFile.weight;
        c.fileReverse = c.trackFile.reverse;
      }
    }
    if (c.type === 'BFD_CHECK' && c.bfd === undefined) {
      this.sink.warn(c, `(${this.rsName()}) No name has been specified for BFD_CHECKER - skipping`);
      return;
    }
    this.rs!.checkers.push(c);
  }

  private checkerTable(type: string): Table {
    const C = (): CheckerDraft => this.ck!;
    if (type === 'FILE_CHECK') return this.fileCheckTable();
    if (type === 'BFD_CHECK') return this.bfdCheckTable();
    const t: Table = {
      retry: { h: (ln) => set(C(), 'retry', this.int(ln, 1, 0, 4294967295, 'retry')) },
      delay_before_retry: { h: (ln) => set(C(), 'delayBeforeRetry', this.timer(ln, 1, 'delay_before_retry', true)) },
      warmup: { h: (ln) => set(C(), 'warmup', this.timer(ln, 1, 'warmup', true)) },
      delay_loop: { h: (ln) => set(C(), 'delayLoop', this.timer(ln, 1, 'delay_loop')) },
      alpha: { h: (ln) => (C().alpha = this.bool(ln, 1)) },
      log_all_failures: { h: (ln) => (C().logAllFailures = this.bool(ln, 1)) },
    };
    if (type !== 'MISC_CHECK') {
      Object.assign(t, {
        connect_ip: { h: (ln: Line) => set(C(), 'connectIp', this.ip(ln, 1, 'connect_ip')) },
        connect_port: { h: (ln: Line) => set(C(), 'connectPort', this.port(ln, 1, 'checker connect_port', 1)) },
        bindto: { h: (ln: Line) => set(C(), 'bindto', this.ip(ln, 1, 'bindto')) },
        bind_port: { h: (ln: Line) => set(C(), 'bindPort', this.port(ln, 1, 'bind_port', 1)) },
        bind_if: {
          h: (ln: Line) => {
            set(C(), 'bindIf', this.arg(ln, 1));
            this.notImplemented(ln, 'bind_if (checks leave by the route to the real server)');
          },
        },
        connect_timeout: { h: (ln: Line) => set(C(), 'connectTimeout', this.timer(ln, 1, 'connect_timeout')) },
        fwmark: {
          h: (ln: Line) => {
            set(C(), 'fwmark', this.int(ln, 1, 0, 0xffffffff, 'checker fwmark'));
            this.notImplemented(ln, 'fwmark (check packets are not marked)');
          },
        },
      } satisfies Table);
    }
    if (type === 'SMTP_CHECK') {
      const common = { ...t };
      Object.assign(t, {
        helo_name: { h: (ln: Line) => set(C(), 'heloName', this.arg(ln, 1)) },
        // deprecated: each host { } block is one more checker with the block's options
        host: {
          h: (ln: Line) => this.smtpHostOpen(ln),
          sub: common,
          close: () => this.smtpHostClose(),
        },
      } satisfies Table);
    }
    if (type === 'DNS_CHECK') {
      Object.assign(t, {
        type: {
          h: (ln: Line) => {
            const v = ln.words[1];
            if (v !== undefined && DNS_TYPES.has(v.toUpperCase())) C().dnsType = v.toUpperCase();
            else this.sink.error(ln, `Unknown DNS check type ${v ?? '[blank]'} - ignoring`);
          },
        },
        name: { h: (ln: Line) => set(C(), 'dnsName', this.arg(ln, 1)) },
      } satisfies Table);
    }
    if (type === 'UDP_CHECK') {
      Object.assign(t, {
        payload: {
          h: (ln: Line) => {
            if (ln.words.length === 1) return this.sink.error(ln, 'UDP_CHECK payload requires a payload');
            const r = readHexString(ln.words.slice(1).join(' '), false);
            if (r === null) this.sink.error(ln, 'Invalid hex string for UDP_CHECK payload');
            else C().udpPayload = r.data;
          },
        },
        require_reply: {
          h: (ln: Line) => {
            C().udpRequireReply = true;
            if (ln.words.length === 1) return;
            const r = readHexString(ln.words.slice(1).join(' '), true);
            if (r === null) return this.sink.error(ln, 'Invalid hex string for UDP_CHECK reply');
            C().udpReplyData = r.data;
            if (r.mask) C().udpReplyMask = r.mask;
          },
        },
        min_reply_length: {
          h: (ln: Line) => {
            const s = ln.words[1];
            if (s === undefined || !/^\d+$/.test(s) || Number(s) > 65535) this.sink.error(ln, `UDP_CHECK min length ${s ?? '(null)'} not valid - must be between 0 & 65535`);
            else C().udpMinReply = Number(s);
          },
        },
        max_reply_length: {
          h: (ln: Line) => {
            const s = ln.words[1];
            if (s === undefined || !/^\d+$/.test(s) || Number(s) > 65535) this.sink.error(ln, `UDP_CHECK max length ${s ?? '(null)'} not valid - must be between 0 & 65535`);
            else C().udpMaxReply = Number(s);
          },
        },
      } satisfies Table);
    }
    if (type === 'HTTP_GET' || type === 'SSL_GET') {
      Object.assign(t, {
        url: { h: (ln: Line) => this.urlOpen(ln), sub: this.urlTable(), close: () => this.urlClose() },
        http_protocol: {
          h: (ln: Line) => {
            const v = this.arg(ln, 1);
            if (v === undefined) return;
            const n = v === '1.0' ? '1.0' : v === '1.0C' || v === '1.0c' ? '1.0C' : v === '1.1' ? '1.1' : null;
            if (n === null) this.sink.error(ln, `Invalid http_protocol version ${v}`);
            else C().httpProtocol = n;
          },
        },
        virtualhost: { h: (ln: Line) => set(C(), 'virtualhost', this.arg(ln, 1, 5)) },
        fast_recovery: { h: (ln: Line) => (C().fastRecovery = this.bool(ln, 1)) },
        enable_sni: { h: (ln: Line) => (C().enableSni = this.bool(ln, 1)) },
        tls_compliant: { h: (ln: Line) => void this.bool(ln, 1) },
        nb_get_retry: {
          h: (ln: Line) => {
            this.sink.warn(ln, "nb_get_retry is deprecated - please use 'retry'");
            set(C(), 'retry', this.int(ln, 1, 0, 4294967295, 'nb_get_retry'));
          },
        },
      } satisfies Table);
    }
    if (type === 'MISC_CHECK') {
      Object.assign(t, {
        misc_path: {
          h: (ln: Line) => {
            const sc = this.script(ln);
            if (sc) sc.kind = 'misc';
            set(C(), 'script', sc);
          },
        },
        misc_timeout: { h: (ln: Line) => set(C(), 'miscTimeout', this.int(ln, 1, 1, 4294967295, 'misc_timeout')) },
        misc_dynamic: { h: (ln: Line) => (C().dynamic = this.bool(ln, 1)) },
        user: {
          h: (ln: Line) => {
            const u = this.arg(ln, 1);
            if (u !== undefined && C().script) {
              C().script!.user = u;
              if (ln.words[2] !== undefined) C().script!.group = ln.words[2];
            }
          },
        },
      } satisfies Table);
    }
    return t;
  }

  private rsName(): string {
    const rs = this.rs;
    return rs ? `[${rs.addr}]:${rs.port ?? 0}` : '?';
  }

  private smtpHostOpen(ln: Line): void {
    const base = this.ck!;
    const { hosts: _h, ...copy } = base;
    const h: CheckerDraft = { ...copy, file: ln.file, line: ln.line, urls: [] };
    (base.hosts ??= []).push(h);
    this.hostParent = base;
    this.ck = h;
  }

  private smtpHostClose(): void {
    if (this.hostParent) this.ck = this.hostParent;
    this.hostParent = null;
  }

  private fileCheckTable(): Table {
    const C = (): CheckerDraft => this.ck!;
    return {
      track_file: {
        h: (ln) => {
          const name = this.arg(ln, 1);
          if (name === undefined) return;
          const tf = this.res.trackFiles.find((f) => f.name === name);
          if (tf === undefined) this.sink.error(ln, `track_file ${name} not found`);
          else C().trackFile = tf;
        },
      },
      weight: {
        h: (ln) => {
          if (ln.words.length < 2) return this.sink.error(ln, 'track file weight missing');
          const w = ln.words[1]!;
          if (!/^[+-]?\d+$/.test(w) || Math.abs(Number(w)) > 2147483647) {
            return this.sink.error(ln, 'weight for track file must be in [-IPVS_WEIGHT_MAX..IPVS_WEIGHT_MAX] inclusive. Ignoring...');
          }
          let reverse = false;
          const o = ln.words[2];
          if (o === 'reverse') reverse = true;
          else if (o !== undefined && o !== 'noreverse') return this.sink.error(ln, `unknown track file weight option ${o} - ignoring`);
          C().fileWeight = Number(w);
          C().fileReverse = reverse;
        },
      },
    };
  }

  private bfdCheckTable(): Table {
    const C = (): CheckerDraft => this.ck!;
    return {
      name: {
        h: (ln) => {
          const c = C();
          const name = ln.words[1];
          let why: string | null = null;
          const bfd = name === undefined ? undefined : this.res.bfdInstances.find((b) => b.name === name);
          if (ln.words.length !== 2) why = 'No or too many names specified - skipping checker';
          else if (bfd === undefined) why = `BFD ${name} not configured`;
          else if (c.bfd !== undefined) why = `BFD ${name} already specified as ${c.bfd.name}`;
          else if (this.rs!.checkers.some((x) => x.bfd === bfd)) why = `RS already monitoring ${name}`;
          if (why !== null) {
            this.sink.error(ln, `(${this.rsName()}) BFD_CHECK - ${why}`);
            c.dropped = true;
            return;
          }
          c.bfd = bfd;
        },
      },
      alpha: { h: (ln) => (C().alpha = this.bool(ln, 1)) },
    };
  }

  // ---- track_file and bfd_instance (shared with VRRP) -----------------------------------

  private trackFileOpen(ln: Line): void {
    const name = this.arg(ln, 1);
    if (ln.words[0] === 'vrrp_track_file') this.sink.warn(ln, "vrrp_track_file is deprecated - please use 'track_file'", 0); // keepalived 2.2.7 exits 0 (checked)
    this.tf = { name: name ?? '', path: '', weight: 1, reverse: false, file: ln.file, line: ln.line };
    if (name !== undefined && this.res.trackFiles.some((f) => f.name === name)) {
      this.sink.error(ln, `track_file ${name} already defined`);
      this.tf = null;
    }
  }

  private trackFileTable(): Table {
    const T = (): TrackFile | null => this.tf;
    return {
      file: {
        h: (ln) => {
          const v = this.arg(ln, 1);
          const t = T();
          if (v === undefined || t === null) return;
          if (t.path !== '') this.sink.error(ln, `track file ${t.name} file already set - ignoring ${v}`);
          else t.path = v;
        },
      },
      weight: {
        h: (ln) => {
          const t = T();
          if (t === null) return;
          const w = ln.words[1];
          if (w === undefined || !/^[+-]?\d+$/.test(w) || Math.abs(Number(w)) > 2147483647) {
            return this.sink.error(ln, `Weight for ${t.name} must be between [-2147483647..2147483647] inclusive. Ignoring...`);
          }
          const o = ln.words[2];
          if (o !== undefined && o !== 'reverse' && o !== 'noreverse') return this.sink.error(ln, `Unknown track_file weight option ${o} - ignoring`);
          t.weight = Number(w);
          t.reverse = o === 'reverse';
        },
      },
      init_file: {
        h: (ln) => {
          const t = T();
          if (t === null) return;
          const init = { value: 0, overwrite: false };
          for (const w of ln.words.slice(1)) {
            if (/^[+-]?\d+$/.test(w)) {
              const v = Number(w);
              if (v < -254 || v > 254) this.sink.error(ln, `track file init value ${w} is invalid - must be between -254 and 254`);
              else init.value = v;
            } else if (w === 'overwrite') init.overwrite = true;
            else this.sink.error(ln, `Unknown track file init option ${w}`);
          }
          t.init = init;
        },
      },
    };
  }

  private trackFileClose(): void {
    const t = this.tf;
    this.tf = null;
    if (t === null) return;
    if (t.path === '') {
      this.sink.error(t, `No file set for track_file ${t.name} - ignoring`);
      return;
    }
    this.res.trackFiles.push(t);
  }

  private bfdOpen(ln: Line): void {
    const name = this.arg(ln, 1) ?? '';
    this.bfd = { name, neighbor: '', minRx: 10, minTx: 10, idleTx: 1000, multiplier: 5, passive: false, ttl: 0, maxHops: 0, file: ln.file, line: ln.line };
    if (name.length >= 32) {
      this.sink.error(ln, `Configuration error: BFD instance ${name} name too long (maximum length is 31 characters) - ignoring`);
      this.bfd = null;
    } else if (this.res.bfdInstances.some((b) => b.name === name)) {
      this.sink.error(ln, `Configuration error: BFD instance ${name} already configured - ignoring`);
      this.bfd = null;
    }
  }

  private bfdTable(): Table {
    const B = (): BfdInstance | null => this.bfd;
    const ms = (ln: Line, what: string, min: number, key: 'minRx' | 'minTx' | 'idleTx' | 'multiplier', max = 4294967): void => {
      const b = B();
      if (b === null) return;
      const v = ln.words[1] ?? '';
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        this.sink.error(ln, `Configuration error: BFD instance ${b.name} ${what} value ${v} ${key === 'multiplier' ? '' : 'is '}not valid (must be in range [${min}-${max}]), ignoring`);
      } else b[key] = Number(v);
    };
    return {
      neighbor_ip: {
        h: (ln) => {
          const b = B();
          const v = ln.words[1] ?? '';
          if (b === null) return;
          if (isIP(v) === 0) {
            this.sink.error(ln, `Configuration error: BFD instance ${b.name} has malformed neighbor address ${v}, ignoring instance`);
            this.bfd = null;
          } else b.neighbor = v;
        },
      },
      source_ip: {
        h: (ln) => {
          const b = B();
          const v = ln.words[1] ?? '';
          if (b === null) return;
          if (isIP(v) === 0) this.sink.error(ln, `Configuration error: BFD instance ${b.name} has malformed source address ${v}, ignoring`);
          else b.source = v;
        },
      },
      min_rx: { h: (ln) => ms(ln, 'min_rx', 1, 'minRx') },
      min_tx: { h: (ln) => ms(ln, 'min_tx', 1, 'minTx') },
      idle_tx: { h: (ln) => ms(ln, 'idle_tx', 1000, 'idleTx') },
      multiplier: { h: (ln) => ms(ln, 'multiplier', 1, 'multiplier', 255) },
      passive: {
        h: () => {
          const b = B();
          if (b) b.passive = true;
        },
      },
      ttl: { h: (ln) => this.bfdTtl(ln) },
      hoplimit: { h: (ln) => this.bfdTtl(ln) },
      max_hops: {
        h: (ln) => {
          const b = B();
          if (b === null) return;
          const v = ln.words[1] ?? '';
          if (!/^-?\d+$/.test(v) || Number(v) < -1 || Number(v) > 255) {
            this.sink.error(ln, `Configuration error: BFD instance ${b.name} max_hops value ${v} not valid (must be in range [-1-255]), ignoring`);
          } else b.maxHops = Number(v);
        },
      },
      // the VRRP side's track weight (vrrp's track_bfd); the checker side ignores it, as keepalived does
      weight: {},
    };
  }

  private bfdTtl(ln: Line): void {
    const b = this.bfd;
    if (b === null) return;
    const v = ln.words[1] ?? '';
    if (!/^\d+$/.test(v) || Number(v) === 0 || Number(v) > 255) {
      this.sink.error(ln, `Configuration error: BFD instance ${b.name} ttl/hoplimit value ${v} not valid (must be in range [1-255]), ignoring`);
    } else b.ttl = Number(v);
  }

  private bfdClose(): void {
    const b = this.bfd;
    this.bfd = null;
    if (b === null) return;
    if (b.neighbor === '') {
      this.sink.error(b, `Configuration error: BFD instance ${b.name} has no neighbor address set, disabling instance`);
      return;
    }
    if (b.source !== undefined && isIP(b.source) !== isIP(b.neighbor)) {
      this.sink.error(b, `Configuration error: BFD instance ${b.name} source address ${b.source} and neighbor address ${b.neighbor} are not of the same family, disabling instance`);
      return;
    }
    // one session per (source, neighbor): an instance without a source clashes with every
    // other one to the same neighbor, as in keepalived (checked when the block ends)
    const same = (x: BfdInstance): boolean => x.neighbor === b.neighbor && (x.source === undefined || b.source === undefined || x.source === b.source);
    if (this.res.bfdInstances.some(same)) {
      this.sink.error(
        b,
        b.source === undefined
          ? `Configuration error: BFD instance ${b.name} has duplicate neighbor address ${b.neighbor}, ignoring instance`
          : `Configuration error: BFD instance ${b.name} has duplicate source/neighbor address ${b.source}/${b.neighbor}, ignoring instance`,
      );
      return;
    }
    if (b.ttl === 0) b.ttl = isIP(b.neighbor) === 4 ? 255 : 64;
    if (b.maxHops > b.ttl) b.maxHops = b.ttl;
    this.res.bfdInstances.push(b);
  }

  private urlOpen(ln: Line): void {
    this.url = { path: '', hasPath: false, statusCodes: [], regexNoMatch: false, file: ln.file, line: ln.line };
  }

  private urlClose(): void {
    const u = this.url!;
    this.url = null;
    if (!u.hasPath) {
      this.sink.error(u, 'HTTP/SSL_GET checker url has no path - ignoring');
      return;
    }
    if (u.statusCodes.length === 0) u.statusCodes.push([200, 299]);
    const { hasPath: _h, ...url } = u;
    this.ck!.urls.push(url);
  }

  private urlTable(): Table {
    const U = (): HttpUrl & { hasPath: boolean } => this.url!;
    return {
      path: {
        h: (ln) => {
          const p = this.arg(ln, 1);
          if (p !== undefined) {
            U().path = p;
            U().hasPath = true;
          }
        },
      },
      digest: {
        h: (ln) => {
          const d = this.arg(ln, 1);
          if (d === undefined) return;
          if (d.length !== 32) this.sink.error(ln, `digest '${d}' character length should be 32 rather than ${d.length}`);
          else if (!/^[0-9a-fA-F]{32}$/.test(d)) this.sink.error(ln, `Unable to interpret hex digit in '${d}'`);
          else U().digest = d.toLowerCase();
        },
      },
      status_code: {
        h: (ln) => {
          for (const s of ln.words.slice(1)) {
            const m = /^(\d{3})(?:-(\d{3}))?$/.exec(s);
            const lo = m ? Number(m[1]) : NaN;
            const hi = m ? Number(m[2] ?? m[1]) : NaN;
            if (!m || lo < 100 || hi > 599 || hi < lo) {
              this.sink.error(ln, `Invalid HTTP_GET status code '${s}'`);
              continue;
            }
            U().statusCodes.push([lo, hi]);
          }
        },
      },
      virtualhost: { h: (ln) => set(U(), 'virtualhost', this.arg(ln, 1, 5)) },
      regex: { h: (ln) => set(U(), 'regex', this.arg(ln, 1)) },
      regex_no_match: { h: () => (U().regexNoMatch = true) },
      regex_options: { h: () => undefined },
      regex_min_offset: { h: (ln) => void this.int(ln, 1, 0, 2147483647, 'regex_min_offset') },
      regex_max_offset: { h: (ln) => void this.int(ln, 1, 0, 2147483647, 'regex_max_offset') },
      regex_stack: { h: (ln) => void this.int(ln, 1, 0, 2147483647, 'regex_stack') },
    };
  }
}

/** The query types keepalived's DNS_CHECK knows. */
export const DNS_TYPES: ReadonlyMap<string, number> = new Map([
  ['A', 1],
  ['NS', 2],
  ['CNAME', 5],
  ['SOA', 6],
  ['MX', 15],
  ['TXT', 16],
  ['AAAA', 28],
]);

/**
 * keepalived's hex strings (UDP_CHECK payload / require_reply): pairs of hex digits,
 * spaces between octets allowed, a lone digit before a space is one octet; with
 * `wildcards`, `x`/`X` nibbles match anything (returned as mask bits). Returns null
 * where keepalived reports an invalid string, including its quirk that a string whose
 * last octet is 0xff is refused.
 */
export function readHexString(text: string, wildcards: boolean): { data: Uint8Array; mask?: Uint8Array } | null {
  const nib = (c: string): number => {
    if (/[0-9a-fA-F]/.test(c)) return parseInt(c, 16);
    if (wildcards && (c === 'x' || c === 'X')) return -2;
    return -1;
  };
  const data: number[] = [];
  const mask: number[] = [];
  let usingMask = false;
  let last = 0;
  let i = 0;
  while (true) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) break;
    let v = nib(text[i++]!);
    if (v === -1) return null;
    let m = 0;
    if (v === -2) {
      v = 0;
      m = 0x0f;
      usingMask = true;
    }
    if (i < text.length && text[i] !== ' ') {
      let v2 = nib(text[i++]!);
      if (v2 === -1) return null;
      let m2 = 0;
      if (v2 === -2) {
        v2 = 0;
        m2 = 0x0f;
        usingMask = true;
      }
      v = (v << 4) | v2;
      m = (m << 4) | m2;
    }
    data.push(v);
    mask.push(m);
    last = v;
  }
  if (data.length === 0 || last === 0xff) return null;
  const r: { data: Uint8Array; mask?: Uint8Array } = { data: Uint8Array.from(data) };
  if (usingMask) r.mask = Uint8Array.from(mask);
  return r;
}

/** Assigns `v` to `o[k]` unless it is undefined (so a rejected value keeps the default). */
function set<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

/** Set an optional field, or remove it when `v` is undefined (a later line replaces an earlier one). */
function setOrClear<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
  else delete o[k];
}

/** `a.b.c.d` → unsigned 32-bit integer. */
export function ipv4ToInt(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

/** Unsigned 32-bit integer → `a.b.c.d`. */
export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

