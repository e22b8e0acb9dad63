/**
 * tunvsd's own settings live in a separate file, `tunvsd.conf`, written in the same
 * lexical syntax as keepalived.conf (one keyword per line, `#`/`!` comments, quotes,
 * include). keepalived.conf itself stays pure keepalived, so `keepalived --config-test`
 * keeps accepting it and the same file can drive either daemon.
 *
 *     keepalived_conf /etc/keepalived/keepalived.conf
 *     device tun0
 *     mode tun
 *     address 10.0.0.1/24
 *     mtu 1500
 *     control_socket /run/tunvsd.sock
 */
import { isIP } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { DiagnosticSink } from './diagnostics.js';
import type { Diagnostic } from './diagnostics.js';
import { Lexer } from './lexer.js';
import type { LexOptions } from './lexer.js';
import type { RawNode } from './types.js';

/** The settings of tunvsd.conf. */
export interface TunvsdSettings {
  /** path of the keepalived.conf to load (relative paths: to tunvsd.conf's directory) */
  keepalivedConf?: string;
  /** TUN/TAP device name */
  device?: string;
  mode?: 'tun' | 'tap' | 'xdp' | 'packet';
  /** addresses with prefix length to put on the device, e.g. 10.0.0.1/24 */
  addresses: string[];
  mtu?: number;
  controlSocket?: string;
  /** every line, for settings added later */
  raw: RawNode[];
}

/** Parses tunvsd.conf text; unknown keywords are warnings, bad values errors. */
export function parseTunvsdConf(text: string, file = 'tunvsd.conf', opts: LexOptions = {}): { settings: TunvsdSettings; diagnostics: Diagnostic[] } {
  const sink = new DiagnosticSink();
  const lx = new Lexer(sink, opts);
  lx.lexText(text, file);
  lx.finish();
  const s: TunvsdSettings = { addresses: [], raw: [] };
  for (const ln of lx.lines) {
    const [k, v] = ln.words as [string, string | undefined];
    s.raw.push({ keyword: k, args: ln.words.slice(1), raw: ln.raw, file: ln.file, line: ln.line });
    if (k === '{' || k === '}') {
      sink.error(ln, `unexpected '${k}' (tunvsd.conf has no blocks)`);
      continue;
    }
    const known = ['keepalived_conf', 'device', 'mode', 'address', 'mtu', 'control_socket'];
    if (!known.includes(k)) {
      sink.warn(ln, `Unknown keyword '${k}'`);
      continue;
    }
    if (v === undefined) {
      sink.error(ln, `${k} needs a value`);
      continue;
    }
    switch (k) {
      case 'keepalived_conf':
        s.keepalivedConf = isAbsolute(v) ? v : join(dirname(ln.file), v);
        break;
      case 'device':
        if (!/^[A-Za-z0-9_.-]{1,15}$/.test(v)) sink.error(ln, `invalid device name '${v}'`);
        else s.device = v;
        break;
      case 'mode':
        if (v !== 'tun' && v !== 'tap' && v !== 'xdp' && v !== 'packet') sink.error(ln, `mode must be tun, tap, xdp or packet, not '${v}'`);
        else s.mode = v;
        break;
      case 'address': {
        const m = /^([^/]+)\/(\d+)$/.exec(v);
        if (!m || isIP(m[1]!) !== 4 || Number(m[2]) > 32) sink.error(ln, `invalid address '${v}' (want IPv4/prefix)`);
        else s.addresses.push(v);
        break;
      }
      case 'mtu':
        if (!/^\d+$/.test(v) || Number(v) < 68 || Number(v) > 65535) sink.error(ln, `invalid mtu '${v}'`);
        else s.mtu = Number(v);
        break;
      case 'control_socket':
        s.controlSocket = v;
        break;
    }
  }
  return { settings: s, diagnostics: sink.list };
}
