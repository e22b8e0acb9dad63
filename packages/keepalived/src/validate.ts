/**
 * keepalived's post-parse corrections (validate_check_config() and friends): defaults with
 * warnings (scheduler wlc, method NAT, protocol UDP), port fixes for DR/TUN and fwmark
 * services, duplicate real servers, quorum and hysteresis limits, virtual servers without
 * real servers dropped, the VS → RS → checker inheritance of timers, and the
 * script-security check.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { DiagnosticSink } from './diagnostics.js';
import { parseScriptLine } from './script.js';
import { interpretVrrp } from './vrrp.js';
import type { CheckerDraft, ParseResult, RsDraft, VsDraft } from './parser.js';
import type {
  Checker,
  CheckerCommon,
  KeepalivedConfig,
  LbKind,
  RawNode,
  RealServer,
  ScriptSpec,
  VirtualServer,
  VirtualServerGroup,
} from './types.js';

const DEFAULT_DELAY_LOOP = 60;
const DEFAULT_CONNECT_TIMEOUT = 5;

/** keepalived's name for a virtual server in messages. */
export function vsName(vs: Pick<VirtualServer, 'kind' | 'addr' | 'port' | 'fwmark' | 'group' | 'protocol'>): string {
  if (vs.kind === 'fwmark') return `FWM ${vs.fwmark}`;
  if (vs.kind === 'group') return `[${vs.group}]`;
  const a = vs.addr?.includes(':') ? `[${vs.addr}]` : `[${vs.addr}]`;
  return `${a}:${vs.protocol ? vs.protocol.toLowerCase() : 'none'}:${vs.port ?? 0}`;
}

/** Builds the typed configuration from the parse drafts, reporting as keepalived does. */
export function buildConfig(p: ParseResult, sink: DiagnosticSink, file: string): KeepalivedConfig {
  const groups: VirtualServerGroup[] = [];
  for (const g of p.groups) {
    if (g.entries.length === 0) {
      sink.warn(g, `virtual server group ${g.name} has no entries - ignoring`);
      continue;
    }
    groups.push({ name: g.name, entries: g.entries, file: g.file, line: g.line });
  }
  const byName = new Map(groups.map((g) => [g.name, g]));

  const virtualServers: VirtualServer[] = [];
  for (const d of p.vs) {
    if (d.invalid) continue;
    const vs = buildVs(d, byName, sink);
    if (vs) virtualServers.push(vs);
  }

  checkScripts(p, sink, file);
  const vrrpConfig = interpretVrrp(p.vrrp, p.global, p.other, sink, file);

  return { file, global: p.global, groups, virtualServers, vrrp: p.vrrp, vrrpConfig, other: p.other };
}

function buildVs(d: VsDraft, groups: Map<string, VirtualServerGroup>, sink: DiagnosticSink): VirtualServer | null {
  let group: VirtualServerGroup | undefined;
  if (d.kind === 'group') {
    group = groups.get(d.group!);
    if (group === undefined) {
      sink.warn(d, `Virtual server group ${d.group} specified but not configured - ignoring virtual server`);
      return null;
    }
  }
  const base = { kind: d.kind, addr: d.addr, port: d.port, fwmark: d.fwmark, group: d.group, protocol: d.protocol };
  const isFwmark = d.kind === 'fwmark' || (group?.entries.some((e) => e.kind === 'fwmark') ?? false);

  let protocol = d.protocol;
  if (d.kind === 'fwmark' && protocol !== undefined) {
    sink.warn(d.protocolPos ?? d, `Warning: Virtual server ${vsName(base)}: protocol specified for fwmark - protocol will be ignored`);
    protocol = undefined;
  } else if (d.kind !== 'fwmark' && protocol === undefined && !(d.kind === 'group' && isFwmark && !group!.entries.some((e) => e.kind === 'range'))) {
    sink.warn(d, `Virtual server ${vsName(base)}: no protocol set - defaulting to UDP`);
    protocol = 'UDP';
  }
  const name = vsName({ ...base, protocol });

  const real = d.rs.filter((r) => !r.invalid);
  if (real.length === 0) {
    sink.warn(d, `Virtual server ${name} has no real servers - ignoring`);
    return null;
  }
  let lbAlgo = d.lbAlgo;
  if (lbAlgo === undefined) {
    sink.warn(d, `Virtual server ${name}: no scheduler set, setting default 'wlc'`);
    lbAlgo = 'wlc';
  }
  let lbKind = d.lbKind;
  if (lbKind === undefined) {
    sink.warn(d, `Virtual server ${name}: no forwarding method set, setting default NAT`);
    lbKind = 'NAT';
  }
  let persistenceTimeout = d.persistenceTimeout ?? 0;
  if (persistenceTimeout === 0 && d.persistenceGranularity !== undefined) persistenceTimeout = 360;
  if (d.kind === 'addr' && d.port === 0 && persistenceTimeout === 0) {
    sink.warn(d, `Virtual server ${name}: zero port only valid for persistent services - setting`);
    persistenceTimeout = 360;
  }
  const delayLoop = d.delayLoop ?? DEFAULT_DELAY_LOOP;

  // real servers: ports, duplicates
  const seen = new Set<string>();
  const rss: RealServer[] = [];
  for (const r of real) {
    const kind = r.lbKind ?? lbKind;
    let port = r.port;
    if (isFwmark) {
      if (kind !== 'NAT' && port !== undefined && port !== 0) {
        sink.warn(r, `WARNING - fwmark virtual server ${name}, real server [${r.addr}]:${port} has port specified - clearing`);
        port = 0;
      }
      port ??= 0;
    } else if (d.kind === 'addr') {
      if (kind !== 'NAT' && port !== undefined && port !== d.port) {
        sink.warn(r, `WARNING - virtual server ${name} and real server [${r.addr}]:${port} ports don't match - resetting`);
        port = d.port;
      }
      port ??= d.port ?? 0;
    } else {
      const first = group!.entries.find((e) => e.kind === 'range');
      port ??= first?.kind === 'range' ? first.port : 0;
    }
    const key = `${r.addr}|${port}`;
    if (seen.has(key)) {
      sink.warn(r, `Virtual server ${name}: real server [${r.addr}]:${port} is duplicated - removing`);
      continue;
    }
    seen.add(key);
    rss.push(buildRs(r, d, kind, port!, delayLoop, sink));
  }

  const total = rss.reduce((s, r) => s + r.weight, 0);
  let quorum = d.quorum ?? 1;
  if (quorum > total) {
    sink.warn(d, `Warning - quorum ${quorum} for ${name} exceeds total weight of real servers ${total}, reducing quorum to ${total}`);
    quorum = total;
  }
  let hysteresis = d.hysteresis ?? 0;
  if (hysteresis >= quorum && (hysteresis > 0 || quorum === 0)) {
    sink.warn(d, `Virtual server ${name}: hysteresis ${hysteresis} >= quorum ${quorum}; setting hysteresis to 0`);
    hysteresis = 0;
  }

  const vs: VirtualServer = {
    kind: d.kind,
    file: d.file,
    line: d.line,
    delayLoop,
    lbAlgo,
    lbKind,
    persistenceTimeout,
    haSuspend: d.haSuspend,
    sorryServerInhibit: d.sorryInhibit,
    quorum,
    hysteresis,
    alpha: d.alpha,
    omega: d.omega,
    inhibitOnFailure: d.inhibit ?? false,
    schedFlags: d.schedFlags,
    onePacket: d.onePacket,
    realServers: rss,
  };
  if (d.addr !== undefined) vs.addr = d.addr;
  if (d.port !== undefined) vs.port = d.port;
  if (d.fwmark !== undefined) vs.fwmark = d.fwmark;
  if (d.group !== undefined) vs.group = d.group;
  if (protocol !== undefined) vs.protocol = protocol;
  if (d.persistenceGranularity !== undefined) vs.persistenceGranularity = d.persistenceGranularity;
  if (d.persistenceEngine !== undefined) vs.persistenceEngine = d.persistenceEngine;
  if (d.quorumUp) vs.quorumUp = d.quorumUp;
  if (d.quorumDown) vs.quorumDown = d.quorumDown;
  if (d.virtualhost !== undefined) vs.virtualhost = d.virtualhost;
  if (d.sorry) {
    let port = d.sorry.port;
    if (port === 0 && d.kind === 'addr') port = d.port ?? 0;
    vs.sorryServer = { addr: d.sorry.addr, port, lbKind: d.sorryLbKind ?? lbKind, file: d.sorry.pos.file, line: d.sorry.pos.line };
  }
  return vs;
}

function buildRs(r: RsDraft, vs: VsDraft, kind: LbKind, port: number, vsDelay: number, sink: DiagnosticSink): RealServer {
  const rs: RealServer = {
    addr: r.addr,
    port,
    file: r.file,
    line: r.line,
    weight: r.weight ?? vs.weight ?? 1,
    lbKind: kind,
    inhibitOnFailure: r.inhibit ?? vs.inhibit ?? false,
    uthreshold: r.uthreshold,
    lthreshold: r.lthreshold,
    alpha: r.alpha ?? vs.alpha,
    checkers: [],
  };
  if (r.notifyUp) rs.notifyUp = r.notifyUp;
  if (r.notifyDown) rs.notifyDown = r.notifyDown;
  for (const c of r.checkers) {
    const ck = buildChecker(c, r, vs, rs, vsDelay, sink);
    if (ck) rs.checkers.push(ck);
  }
  return rs;
}

function buildChecker(c: CheckerDraft, r: RsDraft, vs: VsDraft, rs: RealServer, vsDelay: number, sink: DiagnosticSink): Checker | null {
  const isHttp = c.type === 'HTTP_GET' || c.type === 'SSL_GET';
  const delayLoop = c.delayLoop ?? r.delayLoop ?? vsDelay;
  const common: CheckerCommon = {
    file: c.file,
    line: c.line,
    connectIp: c.connectIp ?? rs.addr,
    connectPort: c.connectPort ?? rs.port,
    connectTimeout: c.connectTimeout ?? r.connectTimeout ?? vs.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    retry: c.retry ?? r.retry ?? vs.retry ?? (c.type === 'MISC_CHECK' ? 0 : c.type === 'DNS_CHECK' ? 3 : 1),
    delayBeforeRetry:
      c.delayBeforeRetry ?? r.delayBeforeRetry ?? vs.delayBeforeRetry ?? (isHttp ? 3 : c.type === 'DNS_CHECK' ? delayLoop : 1),
    warmup: c.warmup ?? r.warmup ?? vs.warmup ?? delayLoop,
    delayLoop,
    alpha: c.alpha ?? rs.alpha,
    logAllFailures: c.logAllFailures,
  };
  if (c.bindto !== undefined) common.bindto = c.bindto;
  if (c.bindPort !== undefined) common.bindPort = c.bindPort;
  if (c.bindIf !== undefined) common.bindIf = c.bindIf;
  if (c.fwmark !== undefined) common.fwmark = c.fwmark;
  if (c.type !== 'MISC_CHECK' && common.connectPort === 0 && c.raw === undefined) {
    sink.warn(c, `${c.type} for real server [${rs.addr}] has no port to connect to (set connect_port)`);
  }
  switch (c.type) {
    case 'TCP_CHECK':
      return { ...common, type: 'TCP_CHECK' };
    case 'HTTP_GET':
    case 'SSL_GET': {
      const h: Checker = {
        ...common,
        type: c.type,
        urls: c.urls,
        httpProtocol: c.httpProtocol,
        fastRecovery: c.fastRecovery,
        enableSni: c.enableSni,
      };
      const vh = c.virtualhost ?? r.virtualhost ?? vs.virtualhost;
      if (vh !== undefined) h.virtualhost = vh;
      return h;
    }
    case 'MISC_CHECK':
      return { ...common, type: 'MISC_CHECK', script: c.script!, timeout: c.miscTimeout ?? vsDelay, dynamic: c.dynamic };
    case 'SMTP_CHECK':
    case 'DNS_CHECK':
    case 'UDP_CHECK':
    case 'PING_CHECK':
    case 'FILE_CHECK':
    case 'BFD_CHECK':
      return { ...common, type: c.type, raw: c.raw! };
    default:
      return null;
  }
}

/** Resolves a program as execve would with PATH; null if not an executable file. */
export function findExecutable(prog: string): string | null {
  const cands = prog.includes('/') ? [prog] : (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter).map((d) => join(d, prog));
  for (const c of cands) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

export function userExists(name: string): boolean {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((l) => l.split(':')[0] === name);
  } catch {
    return false;
  }
}

const VRRP_SCRIPT_WORDS = new Set(['script', 'notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify_deleted', 'notify_master_rx_lower_pri']);

function checkScripts(p: ParseResult, sink: DiagnosticSink, file: string): void {
  const all: ScriptSpec[] = [...p.scripts];
  const walk = (nodes: RawNode[]): void => {
    for (const n of nodes) {
      if (VRRP_SCRIPT_WORDS.has(n.keyword)) {
        const s = parseScriptLine(n.raw.slice(n.raw.indexOf(n.keyword) + n.keyword.length));
        if (s) all.push({ ...s, file: n.file, line: n.line });
      }
      if (n.children) walk(n.children);
    }
  };
  walk(p.vrrp);
  const usable = all.filter((s) => findExecutable(s.argv[0]!) !== null);
  if (usable.length === 0) return;
  const g = p.global;
  if (!g.enableScriptSecurity) {
    sink.warn({ file, line: 0 }, 'SECURITY VIOLATION - check scripts are being executed but script_security not enabled.', 6);
    return;
  }
  if (g.scriptUser === undefined && !userExists('keepalived_script')) {
    for (const s of usable) {
      if (s.user === undefined) sink.error(s, 'Unable to set default user keepalived_script for script (set script_user in global_defs)');
    }
  }
}
