/**
 * keepalived's post-parse corrections (validate_check_config() and friends): defaults with
 * warnings (scheduler wlc, method NAT, protocol UDP), port fixes for DR/TUN and fwmark
 * services, duplicate real servers, quorum and hysteresis limits, virtual servers without
 * real servers dropped, the VS → RS → checker inheritance of timers, and the
 * script-security check.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { DEFAULT_SCRIPT_USER, lookupUser, namedAccount, scriptInsecurity } from './script-security.js';
import type { Account } from './script-security.js';
import { delimiter, join } from 'node:path';
import type { DiagnosticSink } from './diagnostics.js';
import { unsupportedReason } from './to-control.js';
import { interpretVrrp } from './vrrp.js';
import type { CheckerDraft, ParseResult, RsDraft, VsDraft } from './parser.js';
import type {
  Checker,
  CheckerCommon,
  KeepalivedConfig,
  LbKind,
  RealServer,
  ScriptSpec,
  VirtualServer,
  VirtualServerGroup,
} from './types.js';

const DEFAULT_DELAY_LOOP = 60;
/** checkers that connect to connect_ip:connect_port (a port is needed) */
const CONNECTING = new Set(['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK']);
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

  for (const vs of virtualServers) {
    const why = unsupportedReason(vs, groups);
    if (why !== undefined) sink.warn(vs, `not supported by tunvs: ${why}`, 0);
  }

  const staticFrom = sink.list.length;
  checkStatic(p, sink);
  const noDefaultIf = sink.list.slice(staticFrom).filter((d) => d.exitCode === 4);
  checkScripts(p, sink, file);
  const vrrpConfig = interpretVrrp(p, sink, file);
  // keepalived 2.2.7 exits 4 for an address with neither an interface nor an existing
  // default interface only when that is all it objects to and there is no virtual_server;
  // another error (a vrrp_instance's missing or loopback interface, ...) or a virtual
  // server makes it 5 (each case checked against the binary in a netns, see the corpus)
  if (noDefaultIf.length && (p.vs.length > 0 || sink.list.some((d) => d.exitCode === 5 && d.severity === 'error' && !noDefaultIf.includes(d)))) {
    for (const d of noDefaultIf) d.exitCode = 5;
  }

  return { file, global: p.global, groups, virtualServers, vrrp: p.vrrp, vrrpConfig, other: p.other, trackFiles: p.trackFiles, bfdInstances: p.bfdInstances };
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
  const fwmarkOnlyGroup = d.kind === 'group' && isFwmark && !group!.entries.some((e) => e.kind === 'range');
  if ((d.kind === 'fwmark' || fwmarkOnlyGroup) && protocol !== undefined) {
    // keepalived 2.2.7 says this also of a group of fwmark entries only (as `[NAME]:0`)
    sink.warn(d.protocolPos ?? d, `Warning: Virtual server ${vsName(base)}${fwmarkOnlyGroup ? ':0' : ''}: protocol specified for fwmark - protocol will be ignored`);
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
    ...(d.tunnel !== undefined && lbKind === 'TUN' ? { tunnel: d.tunnel } : {}),
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
  if (d.ipFamily !== undefined) vs.ipFamily = d.ipFamily;
  if (d.persistenceGranularity !== undefined) vs.persistenceGranularity = d.persistenceGranularity;
  if (d.persistenceEngine !== undefined) vs.persistenceEngine = d.persistenceEngine;
  if (d.quorumUp) vs.quorumUp = d.quorumUp;
  if (d.quorumDown) vs.quorumDown = d.quorumDown;
  if (d.virtualhost !== undefined) vs.virtualhost = d.virtualhost;
  if (d.sorry) {
    let port = d.sorry.port;
    if (port === 0 && d.kind === 'addr') port = d.port ?? 0;
    vs.sorryServer = { addr: d.sorry.addr, port, lbKind: d.sorryLbKind ?? lbKind, file: d.sorry.pos.file, line: d.sorry.pos.line };
    const st = d.sorryLbKind !== undefined ? d.sorryTunnel : d.tunnel;
    if (vs.sorryServer.lbKind === 'TUN' && st !== undefined) vs.sorryServer.tunnel = st;
    // a real server that is also the sorry server: keepalived makes the sorry server's
    // inhibit setting follow the real server's, and says so (exit 5)
    const same = rss.find((r) => r.addr === d.sorry!.addr && r.port === port);
    if (same && same.inhibitOnFailure !== vs.sorryServerInhibit) {
      const proto = (protocol ?? 'none').toLowerCase();
      sink.warn(d.sorry.pos, `Virtual server ${name}: real server [${same.addr}]:${proto}:${same.port} matches sorry server, but inhibit setting differs, ${same.inhibitOnFailure ? 'setting' : 'clearing'} on sorry server`);
      vs.sorryServerInhibit = same.inhibitOnFailure;
    }
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
  // its own lvs_method's tunnel, or the virtual server's when it has no lvs_method
  const tunnel = r.lbKind !== undefined ? r.tunnel : vs.tunnel;
  if (kind === 'TUN' && tunnel !== undefined) rs.tunnel = tunnel;
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
  if (CONNECTING.has(c.type) && common.connectPort === 0) {
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
      return { ...common, type: 'SMTP_CHECK', heloName: c.heloName ?? 'smtpchecker.keepalived.org' };
    case 'DNS_CHECK':
      return { ...common, type: 'DNS_CHECK', queryType: c.dnsType ?? 'SOA', queryName: c.dnsName ?? '.' };
    case 'UDP_CHECK': {
      const u: Checker = {
        ...common,
        type: 'UDP_CHECK',
        requireReply: c.udpRequireReply,
        minReplyLength: c.udpMinReply,
        maxReplyLength: c.udpMaxReply,
      };
      if (c.udpPayload) u.payload = c.udpPayload;
      if (c.udpReplyData) u.replyData = c.udpReplyData;
      if (c.udpReplyMask) u.replyMask = c.udpReplyMask;
      return u;
    }
    case 'PING_CHECK':
      return { ...common, type: 'PING_CHECK' };
    case 'FILE_CHECK':
      // the file's state is known at once: no alpha (keepalived clears it)
      return { ...common, alpha: false, type: 'FILE_CHECK', trackFile: c.trackFile!, weight: c.fileWeight ?? 0, reverse: c.fileReverse ?? false };
    case 'BFD_CHECK':
      return { ...common, type: 'BFD_CHECK', bfd: c.bfd! };
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

/**
 * keepalived's script rules, for the checker side's scripts (misc_path, notify_up/down,
 * quorum_up/down): each gets the uid/gid it runs as (its own `user [group]`, else
 * script_user, else keepalived_script, else root), or `refused` with the reason. With
 * enable_script_security a script that others could rewrite is refused; keepalived's
 * --config-test does not count that (it finds out at start), so it is printed as a notice.
 */
function checkScripts(p: ParseResult, sink: DiagnosticSink, file: string): void {
  const g = p.global;
  const lvs = p.scripts;
  // the VRRP side's scripts (notify*, vrrp_script) are judged in vrrp-parse.ts
  const all: ScriptSpec[] = [...lvs];
  if (all.some((s) => findExecutable(s.argv[0]!) !== null) && !g.enableScriptSecurity) {
    sink.warn({ file, line: 0 }, 'SECURITY VIOLATION - check scripts are being executed but script_security not enabled.', 6);
  }
  // the run-as user of each checker-side script
  let globalAcct: Account | null = null;
  let globalFailed = false;
  if (g.scriptUser !== undefined) {
    globalAcct = namedAccount(g.scriptUser, g.scriptGroup);
    if (globalAcct === null) {
      globalFailed = true;
      sink.error(g.scriptUserPos ?? { file, line: 0 }, 'Error setting global script uid/gid');
    }
  }
  const dflt = lookupUser(DEFAULT_SCRIPT_USER);
  let warnedDefault = false;
  for (const s of lvs) {
    const what = s.kind === 'misc' ? 'misc script' : 'script';
    const shown = s.argv.map((a) => `'${a}'`).join(' ');
    let acct: Account | null = null;
    if (s.user !== undefined) {
      acct = namedAccount(s.user, s.group);
      if (acct === null) {
        s.refused = `unknown user/group ${s.user}${s.group !== undefined ? ` ${s.group}` : ''}`;
        sink.error(s, `Failed to set uid/gid for ${s.kind === 'misc' ? 'misc checker script' : 'script'} ${shown} - removing`);
        continue;
      }
    } else if (globalFailed) {
      s.refused = `script_user ${g.scriptUser} unknown`;
      sink.error(s, `Unable to set default user for ${what} ${shown} - removing`);
      continue;
    } else if (globalAcct !== null) acct = globalAcct;
    else if (dflt !== null) acct = dflt;
    else if (g.enableScriptSecurity) {
      s.refused = `default user ${DEFAULT_SCRIPT_USER} does not exist`;
      if (!warnedDefault) sink.error(s, `Unable to set default user ${DEFAULT_SCRIPT_USER} for script`);
      warnedDefault = true;
      sink.error(s, `Unable to set default user for ${what} ${shown} - removing`);
      continue;
    } else acct = { uid: 0, gid: 0 };
    s.uid = acct.uid;
    s.gid = acct.gid;
    if (!g.enableScriptSecurity) continue;
    const prog = findExecutable(s.argv[0]!) ?? s.argv[0]!;
    const why = scriptInsecurity(prog, acct.uid, acct.gid);
    if (why !== null) {
      s.refused = why;
      const kw = s.kind === 'misc' ? 'misc script' : 'script';
      sink.warn(s, why === 'not found/accessible' ? `Disabling ${kw} ${s.argv.join(' ')} since not found/accessible` : `Disabling ${kw} ${s.argv.join(' ')} due to insecure (${why})`, 0);
    }
  }
}

/** Whether a network interface exists on this host (in this network namespace). */
export function hostHasInterface(name: string): boolean {
  return /^[^/\s]{1,15}$/.test(name) && name !== '.' && name !== '..' && existsSync(`/sys/class/net/${name}`);
}

/**
 * static_ipaddress, static_routes, static_rules: judged as keepalived judges them (an
 * interface missing on this host, a rule without a preference, an address with neither an
 * interface nor an existing default interface), then a notice that tunvs does not apply
 * them (the host's own `ip` configuration does).
 */
function checkStatic(p: ParseResult, sink: DiagnosticSink): void {
  const defaultIf = p.global.raw.find((n) => n.keyword === 'default_interface')?.args[0] ?? 'eth0';
  const after = (w: string[], key: string): string | undefined => {
    const i = w.indexOf(key);
    return i >= 0 ? w[i + 1] : undefined;
  };
  const prefs = { 4: 16384, 6: 16384 };
  // with dynamic_interfaces, keepalived waits for missing interfaces instead of objecting
  const dynamic = p.global.raw.some((n) => n.keyword === 'dynamic_interfaces');
  const interfaceExists = (name: string): boolean => dynamic || hostHasInterface(name);
  for (const n of p.other) {
    if (n.keyword !== 'static_ipaddress' && n.keyword !== 'static_routes' && n.keyword !== 'static_rules') continue;
    sink.warn(n, `parsed, not implemented by tunvs: ${n.keyword}`, 0);
    for (const c of n.children ?? []) {
      const w = [c.keyword, ...c.args];
      if (n.keyword === 'static_ipaddress') {
        const dev = after(w, 'dev');
        if (dev === undefined) {
          if (!interfaceExists(defaultIf)) sink.error(c, `Static address ${c.keyword} requires either an interface or default interface must exist`, 4);
        } else if (!interfaceExists(dev)) sink.warn(c, `WARNING - interface ${dev} for ip address ${c.keyword} doesn't exist`);
      } else if (n.keyword === 'static_routes') {
        w.forEach((x, i) => {
          if (x === 'dev' && w[i + 1] !== undefined && !interfaceExists(w[i + 1]!)) sink.warn(c, `WARNING - interface ${w[i + 1]} for VROUTE nexthop doesn't exist`);
        });
      } else {
        for (const k of ['iif', 'oif']) {
          const dev = after(w, k);
          if (dev !== undefined && !interfaceExists(dev)) sink.warn(c, `WARNING - interface ${dev} for rule doesn't exist`);
        }
        if (!w.some((x) => x === 'preference' || x === 'prio' || x === 'priority')) {
          const fam = w.some((x) => /^[0-9a-f]*:[0-9a-f:]*(\/\d+)?$/i.test(x)) ? 6 : 4;
          sink.warn(c, `Rule has no preference specified - setting to ${prefs[fam]--}. This is probably not what you want.`);
        }
      }
    }
  }
}
