/**
 * The block layer: keyword tables per block level, dispatched the way keepalived's
 * process_stream() does it (exact, case-sensitive keywords; unknown ones warned about and
 * skipped; `{` on the keyword line or the next), building drafts that validate.ts turns
 * into the typed configuration.
 */
import { isIP } from 'node:net';
import { isSchedulerName } from '@tunvs/model';
import type { DiagnosticSink, SourcePos } from './diagnostics.js';
import type { Line } from './lexer.js';
import { parseScriptLine } from './script.js';
import type { LbKind, RawNode, ScriptSpec, VsGroupEntry, VsProtocol, HttpUrl, GlobalDefs } from './types.js';

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
  raw?: RawNode;
}

/** A real server as written. */
export interface RsDraft extends SourcePos {
  addr: string;
  port?: number;
  weight?: number;
  lbKind?: LbKind;
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
  persistenceTimeout?: number;
  persistenceGranularity?: string;
  persistenceEngine?: string;
  protocol?: VsProtocol;
  protocolPos?: SourcePos;
  haSuspend: boolean;
  sorry?: { addr: string; port: number; pos: SourcePos };
  sorryLbKind?: LbKind;
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
  'lvs_flush_on_stop', 'max_auto_priority', 'min_auto_priority_delay', 'dynamic_interfaces',
  'no_email_faults', 'process_names', 'process_name', 'umask', 'log_unknown_vrids', 'random_seed',
  'reload_check_config', 'reload_time_file', 'reload_repeat', 'reload_file', 'startup_script',
  'startup_script_timeout', 'shutdown_script', 'shutdown_script_timeout', 'include_check', 'local_name',
  'enable_traps', 'enable_dbus', 'enable_dbus_instance', 'dbus_service_name', 'instance',
  'use_pid_dir', 'linkbeat_use_polling', 'net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets',
  'disable_local_igmp', 'fifo_write_vrrp_states_on_reload', 'lvs_netlink_monitor_rcv_bufs',
  'lvs_netlink_monitor_rcv_bufs_force', 'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force',
  'notify_fifo_script', 'tmp_config_directory', 'data_use_instance', 'v3_checksum_as_v2',
];
const GLOBAL_PREFIXES = ['vrrp_', 'checker_', 'bfd_', 'snmp_', 'enable_snmp', 'smtp_'];

/** keepalived keywords whose blocks tunvs keeps raw (VRRP and friends). */
const VRRP_TOP = ['vrrp_instance', 'vrrp_sync_group', 'vrrp_script', 'vrrp_track_file', 'vrrp_track_process', 'track_file', 'track_process', 'garp_group', 'vrrp_group'];
const OTHER_TOP = ['static_ipaddress', 'static_routes', 'static_rules', 'bfd_instance', 'SSL', 'linkbeat_use_polling', 'net_namespace', 'net_namespace_ipvs', 'instance', 'use_pid_dir', 'namespace_with_ipsets'];

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
    scripts: [],
  };
  private vs: VsDraft | null = null;
  private rs: RsDraft | null = null;
  private ck: CheckerDraft | null = null;
  private url: (HttpUrl & { hasPath: boolean }) | null = null;
  private group: GroupDraft | null = null;

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

  // ---- value readers ------------------------------------------------------------------

  private arg(ln: Line, idx: number): string | undefined {
    const v = ln.words[idx];
    if (v === undefined) {
      this.sink.error(
        ln,
        `Configuration line starting \`${ln.words[0]}\` is missing a parameter after keyword \`${ln.words[idx - 1]}\` at word position ${idx + 1}`,
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
    if (s === 'NAT' || s === 'DR' || s === 'TUN') {
      if (s === 'TUN' && ln.words.length > 2) this.tunOptions(ln);
      return s;
    }
    this.sink.error(ln, `PARSER : unknown [${s}] routing method.`);
    return undefined;
  }

  private tunOptions(ln: Line): void {
    const w = ln.words.slice(2);
    for (let k = 0; k < w.length; k++) {
      const x = w[k]!;
      if (x === 'type') {
        const t = w[++k];
        if (t !== 'ipip' && t !== 'gre' && t !== 'gue') this.sink.error(ln, `unknown tunnel type '${t ?? ''}'`);
      } else if (x === 'port') {
        const p = w[++k];
        if (p === undefined || !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) this.sink.error(ln, `invalid tunnel port '${p ?? ''}'`);
      } else if (!['nocsum', 'csum', 'remcsum'].includes(x)) this.sink.error(ln, `unknown tunnel option '${x}'`);
    }
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
    for (const k of VRRP_TOP) t[k] = { raw: (n) => this.res.vrrp.push(n) };
    for (const k of OTHER_TOP) t[k] = { raw: (n) => this.res.other.push(n) };
    return t;
  }

  private globalTable(): Table {
    const g = this.res.global;
    const keep = (ln: Line): void => {
      g.raw.push({ keyword: ln.words[0]!, args: ln.words.slice(1), raw: ln.raw, file: ln.file, line: ln.line });
    };
    const t: Table = {
      router_id: {
        h: (ln) => {
          keep(ln);
          const v = this.arg(ln, 1);
          if (v !== undefined) g.routerId = v;
        },
      },
      script_user: {
        h: (ln) => {
          keep(ln);
          const v = this.arg(ln, 1);
          if (v !== undefined) g.scriptUser = v;
          if (ln.words[2] !== undefined) g.scriptGroup = ln.words[2];
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
          for (const c of n.children ?? []) g.notificationEmail.push([c.keyword, ...c.args].join(' '));
        },
      },
    };
    for (const k of GLOBAL_KEYWORDS) if (!(k in t)) t[k] = { h: keep };
    t[FALLBACK] = (w) => (GLOBAL_PREFIXES.some((p) => w.startsWith(p)) ? { h: keep } : undefined);
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
      lb_kind: { h: (ln) => set(V(), 'lbKind', this.lbKind(ln)) },
      lvs_method: { h: (ln) => set(V(), 'lbKind', this.lbKind(ln)) },
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
      ha_suspend: { h: () => (V().haSuspend = true) },
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
      sorry_server_lvs_method: { h: (ln) => set(V(), 'sorryLbKind', this.lbKind(ln)) },
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
      alpha: { h: (ln) => (V().alpha = this.bool(ln, 1)) },
      omega: { h: (ln) => (V().omega = this.bool(ln, 1)) },
      inhibit_on_failure: { h: (ln) => (V().inhibit = this.bool(ln, 1)) },
      weight: { h: (ln) => set(V(), 'weight', this.int(ln, 1, 0, 2147483647, 'virtual server weight')) },
      connect_timeout: { h: (ln) => set(V(), 'connectTimeout', this.timer(ln, 1, 'connect_timeout')) },
      retry: { h: (ln) => set(V(), 'retry', this.int(ln, 1, 0, 4294967295, 'retry')) },
      delay_before_retry: { h: (ln) => set(V(), 'delayBeforeRetry', this.timer(ln, 1, 'delay_before_retry', true)) },
      warmup: { h: (ln) => set(V(), 'warmup', this.timer(ln, 1, 'warmup', true)) },
      virtualhost: { h: (ln) => set(V(), 'virtualhost', this.arg(ln, 1)) },
      smtp_alert: { h: (ln) => void this.bool(ln, 1) },
      ip_family: {
        h: (ln) => {
          const f = this.arg(ln, 1);
          if (f !== undefined && f !== 'inet' && f !== 'inet6') this.sink.error(ln, `unknown ip_family ${f}`);
        },
      },
      hashed: {},
      snmp_name: { h: (ln) => void this.arg(ln, 1) },
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
          const w = this.int(ln, 1, 0, 2147483647, 'Real server weight');
          if (w === undefined) this.sink.error(ln, `Real server weight ${ln.words[1] ?? ''} is outside range 0-2147483647`);
          set(R(), 'weight', w);
        },
      },
      lvs_method: { h: (ln) => set(R(), 'lbKind', this.lbKind(ln)) },
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
      smtp_alert: { h: (ln) => void this.bool(ln, 1) },
      virtualhost: { h: (ln) => set(R(), 'virtualhost', this.arg(ln, 1)) },
      snmp_name: { h: (ln) => void this.arg(ln, 1) },
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
        raw: (n) => {
          const c = this.newChecker(type, n);
          c.raw = n;
          R().checkers.push(c);
        },
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
    this.rs!.checkers.push(c);
  }

  private checkerTable(type: string): Table {
    const C = (): CheckerDraft => this.ck!;
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
        bind_if: { h: (ln: Line) => set(C(), 'bindIf', this.arg(ln, 1)) },
        connect_timeout: { h: (ln: Line) => set(C(), 'connectTimeout', this.timer(ln, 1, 'connect_timeout')) },
        fwmark: { h: (ln: Line) => set(C(), 'fwmark', this.int(ln, 1, 0, 0xffffffff, 'checker fwmark')) },
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
        virtualhost: { h: (ln: Line) => set(C(), 'virtualhost', this.arg(ln, 1)) },
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
        misc_path: { h: (ln: Line) => set(C(), 'script', this.script(ln)) },
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
      virtualhost: { h: (ln) => set(U(), 'virtualhost', this.arg(ln, 1)) },
      regex: { h: (ln) => set(U(), 'regex', this.arg(ln, 1)) },
      regex_no_match: { h: () => (U().regexNoMatch = true) },
      regex_options: { h: () => undefined },
      regex_min_offset: { h: (ln) => void this.int(ln, 1, 0, 2147483647, 'regex_min_offset') },
      regex_max_offset: { h: (ln) => void this.int(ln, 1, 0, 2147483647, 'regex_max_offset') },
      regex_stack: { h: (ln) => void this.int(ln, 1, 0, 2147483647, 'regex_stack') },
    };
  }
}

/** Assigns `v` to `o[k]` unless it is undefined (so a rejected value keeps the default). */
function set<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
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

