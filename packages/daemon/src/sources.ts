/**
 * The three configuration forms tunvsd accepts with `-f FILE`, told apart by content:
 *
 *   - JSON (the original form; `.json`, or the first significant character is `{`),
 *     optionally naming a keepalived.conf with `"keepalivedConf": PATH`;
 *   - tunvsd.conf (keepalived's lexical syntax, tunvsd's own keywords: `keepalived_conf`,
 *     `device`, `mode`, `address`, `mtu`, `control_socket`, plus `source_address`,
 *     `queues`, `gateway`, `mac` read here);
 *   - a keepalived.conf given directly (device tunvs0, TUN, default socket).
 *
 * Whatever the form, the result is a DaemonConfig (device, socket, static services) plus
 * the parsed keepalived configuration whose virtual servers a HealthManager runs.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { exitCodeOf, formatDiagnostic, parseConfigFile, parseTunvsdConf, serviceSpecs, destSpec, sorryDestSpec, unsupportedReason } from '@tunvs/keepalived';
import type { Diagnostic, KeepalivedConfig } from '@tunvs/keepalived';
import { parseConfig, ConfigError } from './config.js';
import { HTTP_KEYWORDS, httpFromKeywords } from './http-config.js';
import type { DaemonConfig } from './config.js';

/** Which form a configuration file is written in. */
export type ConfigKind = 'json' | 'tunvsd' | 'keepalived';

/** tunvsd.conf keywords (the keepalived package's and the extra ones read here). */
const TUNVSD_KEYWORDS = ['keepalived_conf', 'device', 'mode', 'address', 'mtu', 'control_socket'];
const EXTRA_KEYWORDS = ['source_address', 'queues', 'gateway', 'mac', ...HTTP_KEYWORDS];

/** Tell the form of a configuration from its name and text. */
export function detectConfigKind(text: string, path = ''): ConfigKind {
  if (extname(path).toLowerCase() === '.json') return 'json';
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('//') || l.startsWith('#') || l.startsWith('!')) continue;
    if (l.startsWith('{')) return 'json';
    const word = l.split(/\s+/)[0]!;
    if (TUNVSD_KEYWORDS.includes(word) || EXTRA_KEYWORDS.includes(word)) return 'tunvsd';
    return 'keepalived';
  }
  return 'keepalived';
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

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read: ${(e as Error).message}`);
  }
}

/** Convert tunvsd.conf text to a DaemonConfig, collecting diagnostics. */
function fromTunvsdConf(text: string, path: string, diags: Diagnostic[]): DaemonConfig {
  const { settings, diagnostics } = parseTunvsdConf(text, path);
  const extra = new Map<string, { value: string; file: string; line: number }>();
  for (const n of settings.raw) {
    if (EXTRA_KEYWORDS.includes(n.keyword)) extra.set(n.keyword, { value: n.args[0] ?? '', file: n.file, line: n.line });
  }
  for (const d of diagnostics) {
    // the extra keywords are ours: not unknown
    if (d.severity === 'warning' && EXTRA_KEYWORDS.some((k) => d.message === `Unknown keyword '${k}'`)) continue;
    diags.push(d);
  }
  const err = (x: { file: string; line: number }, message: string): void => {
    diags.push({ severity: 'error', file: x.file, line: x.line, message, exitCode: 5 });
  };
  const config: DaemonConfig = {
    device: {
      name: settings.device ?? 'tunvs0',
      kind: settings.mode ?? 'tun',
      queues: 1,
      vnetHdr: false,
      mac: '02:00:00:00:00:01',
      addresses: settings.addresses,
      ...(settings.mtu !== undefined ? { mtu: settings.mtu } : {}),
    },
    services: [],
  };
  if (settings.controlSocket !== undefined) config.socket = settings.controlSocket;
  if (settings.keepalivedConf !== undefined) config.keepalivedConf = settings.keepalivedConf;
  for (const [k, x] of extra) {
    if (x.value === '') {
      err(x, `${k} needs a value`);
      continue;
    }
    if (k === 'source_address' || k === 'gateway') {
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(x.value) || x.value.split('.').some((o) => Number(o) > 255)) err(x, `invalid ${k} '${x.value}' (want IPv4)`);
      else if (k === 'source_address') config.sourceAddress = x.value;
      else config.device.gateway = x.value;
    } else if (k === 'queues') {
      const q = Number(x.value);
      if (!Number.isInteger(q) || q < 1 || q > 16) err(x, `queues must be 1..16, not '${x.value}'`);
      else config.device.queues = q;
    } else if (k === 'mac') {
      if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(x.value)) err(x, `invalid mac '${x.value}'`);
      else config.device.mac = x.value;
    }
  }
  const http = httpFromKeywords(extra, path, err);
  if (http) config.http = http;
  return config;
}

/** Check that every virtual server converts to director rules (IPv4, TCP/UDP). */
function conversionErrors(k: KeepalivedConfig, file: string, diags: Diagnostic[]): void {
  for (const vs of k.virtualServers) {
    try {
      const specs = serviceSpecs(vs, k);
      if (specs.length === 0) throw new Error(`${vs.file}:${vs.line}: virtual server has no address`);
      for (const rs of vs.realServers) destSpec(rs);
      if (vs.sorryServer) sorryDestSpec(vs.sorryServer);
    } catch (e) {
      const m = /^(.*?):(\d+): (.*)$/.exec((e as Error).message);
      diags.push({
        severity: 'error',
        file: m ? m[1]! : vs.file || file,
        line: m ? Number(m[2]) : vs.line,
        message: m ? m[3]! : (e as Error).message,
        exitCode: 5,
      });
    }
  }
}


/** Read and check a configuration of any form; never throws. */
export function checkConfig(path: string): Checked {
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    return { setup: null, messages: [(e as Error).message], exitCode: 4 };
  }
  const kind = detectConfigKind(text, path);
  const diags: Diagnostic[] = [];
  let config: DaemonConfig;
  if (kind === 'json') {
    try {
      config = parseConfig(text, path);
    } catch (e) {
      return { setup: null, messages: [(e as Error).message], exitCode: 1 };
    }
  } else if (kind === 'tunvsd') {
    config = fromTunvsdConf(text, path, diags);
  } else {
    config = { device: { name: 'tunvs0', kind: 'tun', queues: 1, vnetHdr: false, mac: '02:00:00:00:00:01', addresses: [] }, services: [], keepalivedConf: path };
  }
  let keepalived: KeepalivedConfig | null = null;
  if (config.keepalivedConf !== undefined) {
    const r = parseConfigFile(config.keepalivedConf);
    for (const d of r.diagnostics) diags.push(d); // ~SEQ can make very many
    if (!r.readable && !r.diagnostics.some((d) => d.exitCode === 4)) {
      diags.push({ severity: 'error', file: config.keepalivedConf, line: 0, message: 'cannot read the keepalived configuration', exitCode: 4 });
    }
    // IPv6 and SCTP virtual servers: the parser's `not supported by tunvs` notice is
    // logged at startup, and tunvsd runs without them
    keepalived = { ...r.config, virtualServers: r.config.virtualServers.filter((vs) => unsupportedReason(vs, r.config) === undefined) };
    conversionErrors(keepalived, config.keepalivedConf, diags);
    // a service both in the JSON services and in keepalived.conf would have two owners
    const ours = new Set(config.services.map((s) => (s.fwmark ? `fwmark:${s.fwmark}` : `${s.protocol}:${s.addr}:${s.port}`)));
    for (const vs of keepalived.virtualServers) {
      let specs: ReturnType<typeof serviceSpecs> = [];
      try {
        specs = serviceSpecs(vs, keepalived);
      } catch {
        continue;
      }
      for (const s of specs) {
        const key = s.fwmark ? `fwmark:${s.fwmark}` : `${s.protocol}:${s.addr}:${s.port}`;
        if (ours.has(key)) diags.push({ severity: 'error', file: vs.file, line: vs.line, message: `virtual server ${key} is also in ${path}'s services`, exitCode: 5 });
      }
    }
  }
  const messages = diags.map(formatDiagnostic);
  const hasError = diags.some((d) => d.severity === 'error');
  const exitCode = keepalived?.other.some((n) => n.keyword === 'net_namespace') ? exitCodeOf(diags, keepalived) : exitCodeOf(diags) || (hasError ? 5 : 0);
  const warnings = diags.filter((d) => d.severity === 'warning').map(formatDiagnostic);
  return { setup: hasError ? null : { kind, config, keepalived, warnings }, messages, exitCode };
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

/**
 * `tunvsd --config-test -f FILE`: print every message (stderr by default) and return the
 * exit code: 0 valid; for keepalived.conf / tunvsd.conf keepalived's own codes (5 errors,
 * 4 unreadable, 6 script security, as `configTest` of @tunvs/keepalived); 1 for a bad JSON file.
 */
export function runTunvsdConfigTest(path: string, print: (line: string) => void = (l) => process.stderr.write(l + '\n')): number {
  const r = checkConfig(path);
  for (const m of r.messages) print(m);
  return r.exitCode;
}
