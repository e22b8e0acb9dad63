/**
 * The three configuration forms tunvsd accepts with `-f FILE`, told apart by content:
 *
 *   - JSON (the original form; `.json`, or the first significant character is `{`),
 *     optionally naming a keepalived.conf with `"keepalivedConf": PATH`;
 *   - tunvsd.conf (keepalived's lexical syntax, tunvsd's own keywords: `keepalived_conf`,
 *     `device`, `mode`, `address`, `mtu`, `control_socket`, plus `source_address`,
 *     `queues`, `gateway`, `mac`, `sloppy_tcp`, `interface`, the sysctls read here);
 *   - a keepalived.conf given directly (device tunvs0, TUN, default socket).
 *
 * `checkConfig` is the whole check, the same for `tunvsd --config-test`, the start and every
 * reload: the file is read with limits (a regular file, at most 16 MiB), an empty file or
 * one with nothing recognisable in it is refused, the settings go through
 * `validateDaemonConfig`, and every keepalived virtual server is converted and checked
 * with the control API's rules. Exit 0 means the daemon starts with it and applies all of
 * it.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { DEFENSE_SYSCTLS, checkDestSpec, checkServiceSpec, InvalidValue } from '@tunvs/model';
import { DEFAULT_MAX_FILE_BYTES, exitCodeOf, formatDiagnostic, parseConfigFile, parseTunvsdConf, serviceSpecs, destSpec, sorryDestSpec, unsupportedReason, vsName } from '@tunvs/keepalived';
import type { Diagnostic, KeepalivedConfig } from '@tunvs/keepalived';
import { checkHttpFiles, formatHttpFinding } from '@tunvs/console/config';
import type { HttpConfig } from '@tunvs/console/config';
import { SYNC_SYSCTLS } from '@tunvs/sync/sysctls';
import type { SyncSysctls } from '@tunvs/sync/sysctls';
import { ConfigError, checkJsonConfig, cpusNotHere, defaultDevice, knownSchedulers, methodProblem, serviceKeyString, validateDaemonConfig } from './config.js';
import type { DaemonConfig, Finding } from './config.js';
import { HTTP_KEYWORDS, HTTP_NAMES, httpFromKeywords } from './http-config.js';
import { vrrpDeviceErrors } from './vrrp-spec.js';
import { isPluginPath, PluginSchedulers } from './plugins.js';

/** Which form a configuration file is written in. */
export type ConfigKind = 'json' | 'tunvsd' | 'keepalived';

/** tunvsd.conf keywords (the keepalived package's and the extra ones read here). */
const TUNVSD_KEYWORDS = ['keepalived_conf', 'device', 'mode', 'address', 'mtu', 'control_socket'];
/** The defence sysctls as tunvsd.conf keywords (the kernel's names) -> the configuration's key. */
const DEFENSE_KEYWORDS: ReadonlyMap<string, string> = new Map(Object.entries(DEFENSE_SYSCTLS).map(([key, sysctl]) => [sysctl, key]));
/** The sync sysctls as tunvsd.conf keywords (`sync_threshold 3 50` sets threshold and period). */
const SYNC_KEYWORDS: ReadonlyMap<string, keyof SyncSysctls> = new Map(
  (Object.entries(SYNC_SYSCTLS) as [keyof SyncSysctls, string][]).filter(([k]) => k !== 'period').map(([key, sysctl]) => [sysctl, key]),
);
const EXTRA_KEYWORDS = ['source_address', 'queues', 'workers', 'cpus', 'gateway', 'mac', 'sloppy_tcp', 'interface', ...DEFENSE_KEYWORDS.keys(), ...SYNC_KEYWORDS.keys(), ...HTTP_KEYWORDS];

/** The largest configuration file tunvsd reads (bytes): the keepalived reader's cap. */
export const MAX_CONFIG_BYTES = DEFAULT_MAX_FILE_BYTES;

/** A configuration file that cannot be read: `code` is the errno name (ENOTREG, EFBIG for ours). */
export class ConfigReadError extends ConfigError {
  constructor(
    path: string,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** Tell the form of a configuration from its name and text. */
export function detectConfigKind(text: string, path = ''): ConfigKind {
  if (extname(path).toLowerCase() === '.json') return 'json';
  const l = firstSignificantLine(text);
  if (l === null) return 'keepalived';
  if (l.startsWith('{')) return 'json';
  const word = l.split(/\s+/)[0]!;
  return TUNVSD_KEYWORDS.includes(word) || EXTRA_KEYWORDS.includes(word) ? 'tunvsd' : 'keepalived';
}

/** The first line that is not blank or a comment (`#`, `!`, `//`), trimmed; null when there is none. */
function firstSignificantLine(text: string): string | null {
  for (let at = 0; at < text.length; ) {
    const e = text.indexOf('\n', at);
    const l = text.slice(at, e < 0 ? text.length : e).trim();
    at = e < 0 ? text.length : e + 1;
    if (l === '' || l.startsWith('#') || l.startsWith('!') || l.startsWith('//')) continue;
    return l;
  }
  return null;
}

/** True when `text` holds nothing but blanks and comment lines (`#`, `!`, `//`). */
export function isBlankConfig(text: string): boolean {
  return firstSignificantLine(text) === null;
}

/** A configuration as tunvsd runs it. */
export interface DaemonSetup {
  kind: ConfigKind;
  config: DaemonConfig;
  /** the keepalived configuration whose virtual servers are health-checked, if any */
  keepalived: KeepalivedConfig | null;
  /** `file:line: warning: ...` lines (the configuration is usable) */
  warnings: string[];
}

/** The outcome of checking a configuration. */
export interface Checked {
  setup: DaemonSetup | null;
  /** every message, in order */
  messages: string[];
  /** 0 valid; keepalived's --config-test codes (4 unreadable, 5 errors, 6 script security); 1 JSON error */
  exitCode: number;
}

/**
 * Read a configuration file with limits: a regular file (not a FIFO, a device or a
 * directory; checked on the open file, so it cannot be swapped after the check), at most
 * `maxBytes`. Every error is reported (ConfigReadError naming the file). tunvsd reads
 * every file this way: its own, and each keepalived.conf and include (the keepalived
 * reader is given this function).
 */
export function readConfigText(path: string, maxBytes = MAX_CONFIG_BYTES): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigReadError(path, code, `cannot read: ${code}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigReadError(path, 'ENOTREG', 'not a regular file');
    if (st.size > maxBytes) throw new ConfigReadError(path, 'EFBIG', `${st.size} bytes, more than the ${maxBytes}-byte limit`);
    const buf = Buffer.alloc(Math.min(st.size + 1, maxBytes + 1));
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > maxBytes) throw new ConfigReadError(path, 'EFBIG', `more than the ${maxBytes}-byte limit`);
      if (n === buf.length) break;
    }
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof ConfigReadError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigReadError(path, code, `cannot read: ${code}`);
  } finally {
    closeSync(fd);
  }
}

/** readConfigText as the keepalived reader wants it: an error with `code` and the reason alone. */
function keepalivedReader(p: string): string {
  try {
    return readConfigText(p);
  } catch (e) {
    if (e instanceof ConfigReadError) throw Object.assign(new Error(e.reason), { code: e.code });
    throw e;
  }
}

/** Where a finding's path is in a tunvsd.conf, and the keyword that set it. */
type Locate = (path: string) => { file: string; line: number; keyword?: string };

/** tunvsd.conf as the raw configuration value (the same shape as the JSON form) plus where each value is. */
function fromTunvsdConf(text: string, path: string, diags: Diagnostic[]): { raw: Record<string, unknown>; locate: Locate; http: HttpConfig | null } {
  const { settings, diagnostics } = parseTunvsdConf(text, path);
  for (const d of diagnostics) {
    // the extra keywords are ours: not unknown
    if (d.severity === 'warning' && EXTRA_KEYWORDS.some((k) => d.message === `Unknown keyword '${k}'`)) continue;
    diags.push(d);
  }
  const where = new Map<string, { file: string; line: number; keyword: string }>();
  // only what the file can say: the check fills in the defaults (and refuses, for an xdp or
  // packet link, the keys that do not apply to it)
  const def = defaultDevice();
  const device: Record<string, unknown> = { name: def.name, kind: def.kind, addresses: settings.addresses };
  const raw: Record<string, unknown> = { device, services: [] };
  let addr = 0;
  const interfaces: Record<string, unknown>[] = [];
  const httpWords = new Map<string, { value: string; file: string; line: number }>();
  for (const n of settings.raw) {
    if (HTTP_KEYWORDS.includes(n.keyword)) {
      httpWords.set(n.keyword, { value: n.args[0] ?? '', file: n.file, line: n.line });
      continue;
    }
    const at = { file: n.file, line: n.line, keyword: n.keyword };
    const v = n.args[0];
    const defenseKey = DEFENSE_KEYWORDS.get(n.keyword);
    if (defenseKey !== undefined) {
      // checked with the JSON form's rules (checkDefense); a number when it reads as one
      where.set(`defense.${defenseKey}`, at);
      if (v === undefined) diags.push({ severity: 'error', file: n.file, line: n.line, message: `${n.keyword} needs a value`, exitCode: 5 });
      else ((raw.defense ??= {}) as Record<string, unknown>)[defenseKey] = /^-?[0-9]+$/.test(v) ? Number(v) : v;
      continue;
    }
    const syncKey = SYNC_KEYWORDS.get(n.keyword);
    if (syncKey !== undefined) {
      // checked with the JSON form's rules (checkSyncSysctls); `sync_threshold T P` is two values
      const sync = (raw.sync ??= {}) as Record<string, unknown>;
      const num = (x: string): unknown => (/^-?[0-9]+$/.test(x) ? Number(x) : x);
      const want = syncKey === 'threshold' ? 2 : 1;
      if (n.args.length !== want) {
        diags.push({ severity: 'error', file: n.file, line: n.line, message: syncKey === 'threshold' ? `${n.keyword} needs two values: THRESHOLD PERIOD (e.g. 3 50)` : `${n.keyword} needs one value`, exitCode: 5 });
        continue;
      }
      // the line of the value taken (the last one given)
      where.set(`sync.${syncKey}`, at);
      if (syncKey === 'threshold') where.set('sync.period', at);
      if (syncKey === 'threshold') {
        sync.threshold = num(n.args[0]!);
        sync.period = num(n.args[1]!);
      } else sync[syncKey] = num(v!);
      continue;
    }
    switch (n.keyword) {
      case 'device':
        where.set('device.name', at);
        if (settings.device !== undefined) device.name = settings.device;
        break;
      case 'mode':
        where.set('device.kind', at);
        if (settings.mode !== undefined) device.kind = settings.mode;
        break;
      case 'mtu':
        where.set('device.mtu', at);
        if (settings.mtu !== undefined) device.mtu = settings.mtu;
        break;
      case 'address':
        where.set(`device.addresses[${addr++}]`, at);
        break;
      case 'control_socket':
        where.set('socket', at);
        if (settings.controlSocket !== undefined) raw.socket = settings.controlSocket;
        break;
      case 'keepalived_conf':
        where.set('keepalivedConf', at);
        if (settings.keepalivedConf !== undefined) raw.keepalivedConf = settings.keepalivedConf;
        break;
      case 'workers':
        // checked with the JSON form's rules (an integer 1..64, xdp/packet for more than 1)
        where.set('workers', at);
        if (v === undefined) diags.push({ severity: 'error', file: n.file, line: n.line, message: `${n.keyword} needs a value`, exitCode: 5 });
        else raw.workers = /^[0-9]+$/.test(v) ? Number(v) : v;
        break;
      case 'cpus':
        // `cpus 2-3` or `cpus 2 3`: one CPU list, checked with the JSON form's rules
        where.set('cpus', at);
        if (v === undefined) diags.push({ severity: 'error', file: n.file, line: n.line, message: `${n.keyword} needs a value: a CPU list such as 2-3`, exitCode: 5 });
        else raw.cpus = n.args.join(',');
        break;
      case 'sloppy_tcp':
        // the sysctl's integer (any non-zero value turns it on, as proc_dointvec takes it);
        // anything else goes to the JSON check, which names what it wants
        if (n.args.length !== 1) diags.push({ severity: 'error', file: n.file, line: n.line, message: `${n.keyword} needs one value: 0 or 1`, exitCode: 5 });
        else {
          where.set('sloppyTcp', at);
          raw.sloppyTcp = /^-?[0-9]+$/.test(v!) ? Number(v) !== 0 : v;
        }
        break;
      case 'interface': {
        // `interface NAME ADDR/PREFIX [ADDR/PREFIX ...]`: device.interfaces[k], checked with
        // the JSON form's rules (interfacesField, xdp/packet only); gateway and vips are JSON only
        if (n.args.length < 2) {
          diags.push({ severity: 'error', file: n.file, line: n.line, message: `${n.keyword} needs a name and at least one address: interface NAME ADDR/PREFIX [ADDR/PREFIX ...]`, exitCode: 5 });
          break;
        }
        const k = interfaces.length;
        if (k === 0) where.set('device.interfaces', at);
        for (const f of ['', '.name', '.addresses']) where.set(`device.interfaces[${k}]${f}`, at);
        interfaces.push({ name: n.args[0]!, addresses: n.args.slice(1) });
        device.interfaces = interfaces;
        break;
      }
      case 'source_address':
      case 'gateway':
      case 'queues':
      case 'mac': {
        if (v === undefined) {
          diags.push({ severity: 'error', file: n.file, line: n.line, message: `${n.keyword} needs a value`, exitCode: 5 });
          break;
        }
        const key = n.keyword === 'source_address' ? 'sourceAddress' : `device.${n.keyword}`;
        where.set(key, at);
        const value = n.keyword === 'queues' && /^[0-9]+$/.test(v) ? Number(v) : v;
        if (key === 'sourceAddress') raw.sourceAddress = value;
        else device[n.keyword] = value;
        break;
      }
    }
  }
  // the HTTP server: the console's own reading of its keywords
  const http = httpFromKeywords(httpWords, path, (x, message) => diags.push({ severity: 'error', file: x.file, line: x.line, message, exitCode: 5 }));
  return {
    raw,
    http,
    locate: (p) => {
      for (let q = p; ; q = q.includes('.') ? q.slice(0, q.lastIndexOf('.')) : '') {
        const at = where.get(q) ?? where.get(q.replace(/\[\d+\]$/, '[0]'));
        if (at) return at;
        if (q === '') return { file: path, line: 0 };
      }
    },
  };
}

/** Findings as diagnostics at their place. */
function findingsToDiags(findings: readonly Finding[], locate: Locate, diags: Diagnostic[]): void {
  for (const f of findings) {
    const at = locate(f.path);
    const name = at.keyword ?? f.path;
    diags.push({ severity: f.severity, file: at.file, line: at.line, message: `${name ? name + ': ' : ''}${f.message}`, exitCode: 5 });
  }
}

/**
 * Every virtual server converted to director rules and checked with the control API's
 * rules (what the HealthManager will add), duplicates refused.
 */
function keepalivedErrors(k: KeepalivedConfig, file: string, statics: ReadonlyMap<string, string>, config: DaemonConfig | null, diags: Diagnostic[]): void {
  const schedulers = knownSchedulers();
  const seen = new Map<string, string>();
  const err = (at: { file: string; line: number }, message: string): void => {
    diags.push({ severity: 'error', file: at.file || file, line: at.line, message, exitCode: 5 });
  };
  const explain = (e: unknown): string => (e instanceof InvalidValue ? `${e.field}: ${e.message}` : (e as Error).message);
  for (const vs of k.virtualServers) {
    let specs;
    try {
      specs = serviceSpecs(vs, k);
      if (specs.length === 0) throw new Error(`${vs.file}:${vs.line}: virtual server has no address`);
    } catch (e) {
      const m = /^(.*?):(\d+): (.*)$/.exec((e as Error).message);
      err(m ? { file: m[1]!, line: Number(m[2]) } : vs, m ? m[3]! : (e as Error).message);
      continue;
    }
    for (const spec of specs) {
      const name = serviceKeyString(spec);
      try {
        checkServiceSpec(spec, 'addService');
      } catch (e) {
        err(vs, `virtual server ${vsName(vs)}: ${explain(e)}`);
        continue;
      }
      if (!schedulers.has(spec.scheduler ?? 'wlc')) err(vs, `virtual server ${vsName(vs)}: Scheduler not found: '${spec.scheduler}' (known: ${[...schedulers].join(' ')})`);
      const other = seen.get(name) ?? statics.get(name);
      if (other !== undefined) err(vs, `virtual server ${name} is also in ${other}`);
      seen.set(name, `${vs.file}:${vs.line}`);
    }
    for (const rs of vs.realServers) {
      try {
        const spec = checkDestSpec(destSpec(rs), 'addDest');
        const why = config === null ? null : methodProblem(spec.method ?? 'route', config.device, config.sourceAddress);
        if (why !== null) err(rs, `real server ${rs.addr}:${rs.port}: ${why}`);
      } catch (e) {
        err(rs, `real server ${rs.addr}:${rs.port}: ${explain(e)}`);
      }
    }
    if (vs.sorryServer) {
      try {
        checkDestSpec(sorryDestSpec(vs.sorryServer), 'addDest');
      } catch (e) {
        err(vs.sorryServer, `sorry server ${vs.sorryServer.addr}:${vs.sorryServer.port}: ${explain(e)}`);
      }
    }
  }
}

/** True when keepalived.conf gave something keepalived knows (a block or a keyword), not just unknown words. */
function recognised(k: KeepalivedConfig, diags: readonly Diagnostic[], from: number): boolean {
  if (k.virtualServers.length || k.groups.length || k.vrrp.length || k.other.length || k.global.raw.length) return true;
  return !diags.slice(from).some((d) => /unknown (keyword|block)/i.test(d.message));
}


/** Read and check a configuration of any form; never throws. */
export function checkConfig(path: string): Checked {
  try {
    return checkConfigOrThrow(path);
  } catch (e) {
    // a bug or an exhausted resource: the configuration is refused, not half-read
    return { setup: null, messages: [`${path}:0: error: checking the configuration failed: ${(e as Error).message}`], exitCode: 4 };
  }
}

function checkConfigOrThrow(path: string): Checked {
  let text: string;
  try {
    text = readConfigText(path);
  } catch (e) {
    return { setup: null, messages: [(e as Error).message], exitCode: 4 };
  }
  const kind = detectConfigKind(text, path);
  if (isBlankConfig(text)) {
    const what = kind === 'json' ? 'write "services": [] to run with no services' : 'a keepalived.conf with global_defs and no virtual_server runs with none';
    return { setup: null, messages: [`${path}:0: error: the file is empty: nothing to apply (${what})`], exitCode: kind === 'json' ? 1 : 5 };
  }
  const diags: Diagnostic[] = [];
  const messages: string[] = [];
  let config: DaemonConfig | null;
  let jsonError = false;
  /** the keepalived.conf named, checked even when the settings have errors */
  let kfile: string | undefined;
  if (kind === 'json') {
    const r = checkJsonConfig(text, path);
    for (const m of r.messages) messages.push(m);
    config = r.config;
    jsonError = r.hasErrors;
    kfile = config?.keepalivedConf;
  } else if (kind === 'tunvsd') {
    const { raw, locate, http } = fromTunvsdConf(text, path, diags);
    const v = validateDaemonConfig(raw, path);
    findingsToDiags(v.findings, locate, diags);
    config = v.config;
    if (config && http) config.http = http;
    kfile = typeof raw.keepalivedConf === 'string' ? raw.keepalivedConf : undefined;
  } else {
    config = { device: defaultDevice(), services: [], keepalivedConf: path };
    kfile = path;
  }
  let keepalived: KeepalivedConfig | null = null;
  if (kfile !== undefined) {
    let blank = false;
    let unreadable = false;
    try {
      blank = isBlankConfig(kfile === path ? text : readConfigText(kfile));
    } catch (e) {
      unreadable = true;
      // named by tunvsd's own file: the error is at the line that names it
      const why = (e as Error).message.replace(`${kfile}: `, '');
      const key = kind === 'json' ? 'keepalivedConf' : 'keepalived_conf';
      if (kfile === path) diags.push({ severity: 'error', file: kfile, line: 0, message: why, exitCode: 4 });
      else diags.push({ severity: 'error', file: path, line: keyLine(path, key), message: `${key}: ${kfile}: ${why}`, exitCode: 4 });
    }
    if (unreadable) {
      // the error is said; nothing to parse
    } else if (blank) {
      diags.push({ severity: 'error', file: kfile, line: 0, message: 'the keepalived configuration is empty: nothing to apply (give it a global_defs block to run with no virtual server)', exitCode: 5 });
    } else {
      const from = diags.length;
      const r = parseConfigFile(kfile, { readFile: keepalivedReader });
      for (const d of r.diagnostics) diags.push(d); // ~SEQ can make very many
      if (!r.readable && !r.diagnostics.some((d) => d.exitCode === 4)) {
        diags.push({ severity: 'error', file: kfile, line: 0, message: 'cannot read the keepalived configuration', exitCode: 4 });
      }
      if (!recognised(r.config, diags, from)) {
        diags.push({ severity: 'error', file: kfile, line: 0, message: 'holds no recognised keepalived configuration (only unknown keywords): refused', exitCode: 5 });
      }
      // IPv6 virtual servers: the parser's `not supported by tunvs` notice says
      // so (keepalived's exit 0), and tunvsd runs without them
      keepalived = { ...r.config, virtualServers: r.config.virtualServers.filter((vs) => unsupportedReason(vs, r.config) === undefined) };
      const statics = new Map((config?.services ?? []).map((s, i) => [serviceKeyString(s), `${path}'s services[${i}]`]));
      keepalivedErrors(keepalived, kfile, statics, config, diags);
      if (config) for (const d of vrrpDeviceErrors(config.device, keepalived)) diags.push(d);
    }
  }
  for (const d of diags) messages.push(formatDiagnostic(d));
  const hasError = jsonError || config === null || diags.some((d) => d.severity === 'error');
  // 0 only when the daemon starts with it and applies all of it; otherwise keepalived's codes
  // (a top-level net_namespace makes keepalived itself exit 0 even with errors: not here)
  const exitCode = jsonError ? 1 : hasError ? exitCodeOf(diags) || 5 : exitCodeOf(diags, keepalived ?? undefined);
  const warnings = messages.filter((m) => /: warning: /.test(m));
  return { setup: hasError || config === null ? null : { kind, config, keepalived, warnings }, messages, exitCode };
}

/**
 * Load a configuration of any form for running. Throws a ConfigError listing every error
 * (`file:line: error: ...`, one per line); warnings come back in `warnings`.
 */
export function loadSetup(path: string): DaemonSetup {
  const r = checkConfig(path);
  if (r.setup === null) {
    const errs = r.messages.filter((m) => !/: warning: /.test(m));
    throw new ConfigError((errs.length ? errs : r.messages).join('\n'));
  }
  return r.setup;
}

/** The line of a top-level key in a JSON or tunvsd.conf file (`"key":` or `key ...`), else 0. */
function keyLine(path: string, key: string): number {
  return lineWhere(path, (l) => new RegExp(`^\\s*(?:"${key}"\\s*:|${key}\\s)`).test(l));
}

/** The first line of `path` that `test` takes (1-based), else 0. */
function lineWhere(path: string, test: (line: string) => boolean): number {
  let lines: string[];
  try {
    lines = readConfigText(path).split('\n');
  } catch {
    return 0;
  }
  return lines.findIndex(test) + 1;
}

/**
 * The plug-in schedulers a valid configuration names, loaded and run through the shared
 * rules as tunvsd's start does (PluginSchedulers); each refusal printed at the line that
 * names the plug-in. Returns the exit code: 0, or the one a configuration error of this
 * form gets (1 JSON, 5 tunvsd.conf).
 */
export async function checkConfigPlugins(path: string, print: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<number> {
  const r = checkConfig(path);
  if (r.setup === null) return r.exitCode;
  const plugins = new PluginSchedulers(() => {});
  let code = 0;
  for (const s of r.setup.config.services) {
    if (!isPluginPath(s.scheduler)) continue;
    try {
      await plugins.resolve({ ...r.setup.config, services: [s] });
    } catch (e) {
      const why = (e as Error).message.replace(/^services\[0\]\.scheduler: /, '');
      print(`${path}:${lineWhere(path, (l) => l.includes(s.scheduler!))}: error: scheduler: ${why}`);
      code = r.setup.kind === 'json' ? 1 : 5;
    }
  }
  return code;
}

/**
 * `tunvsd --config-test -f FILE`: print every message (stderr by default) and return the
 * exit code: 0 valid (the daemon starts with it and applies all of it); for keepalived.conf
 * / tunvsd.conf keepalived's own codes (5 errors, 4 unreadable, 6 script security, as
 * `configTest` of @tunvs/keepalived); 1 for a JSON file with an error.
 */
export function runTunvsdConfigTest(path: string, print: (line: string) => void = (l) => process.stderr.write(l + '\n'), opts: { http?: HttpConfig } = {}): number {
  const r = checkConfig(path);
  for (const m of r.messages) print(m);
  // what the start checks of this machine: a warning here (the file may be for another one)
  const cpus = r.setup?.config.cpus;
  const away = cpus === undefined ? null : cpusNotHere(cpus);
  if (away !== null) print(`${path}:${keyLine(path, 'cpus')}: warning: ${away}: tunvsd would not start with it on this machine`);
  // the HTTP server's files, with the checks its start makes (--http wins, as at the start)
  const http = opts.http ?? r.setup?.config.http;
  if (http === undefined) return r.exitCode;
  const kind = opts.http ? 'options' : r.setup!.kind === 'tunvsd' ? 'tunvsd' : 'json';
  const findings = checkHttpFiles(http, HTTP_NAMES[kind]);
  for (const f of findings) print(formatHttpFinding(f));
  const errors = findings.filter((f) => f.severity === 'error');
  if (r.exitCode !== 0 || errors.length === 0) return r.exitCode;
  // keepalived's codes for a tunvsd.conf (4: a file it cannot read), 1 for a JSON file's error
  return r.setup?.kind === 'json' ? 1 : errors.some((f) => f.unreadable) ? 4 : 5;
}
