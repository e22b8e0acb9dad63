/**
 * genhash: fetch one URL the way HTTP_GET does and print the MD5 of the body, to paste
 * into a `digest` line. Options and output follow keepalived's genhash (reference §5).
 */
import { httpGet } from './probes.js';
import type { HttpResponse } from './probes.js';

/** Parsed genhash options. */
export interface GenhashOptions {
  server: string;
  port: number;
  url: string;
  ssl: boolean;
  sni: boolean;
  virtualhost?: string;
  protocol: '1.0' | '1.0C' | '1.1';
  /** seconds */
  timeout: number;
  verbose: boolean;
  fwmark?: number;
}

/** genhash's usage text. */
export const GENHASH_USAGE = `Usage: tunvs-genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark (accepted, not applied).
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
   --timeout         -t       Timeout in seconds
`;

/** Parses genhash's command line; returns a string on a usage error, null for --help. */
export function parseGenhashArgs(argv: string[]): GenhashOptions | string | null {
  const o: Partial<GenhashOptions> = { ssl: false, sni: false, protocol: '1.0', timeout: 5, verbose: false };
  const long: Record<string, string> = {
    '--use-ssl': '-S', '--use-sni': '-I', '--server': '-s', '--port': '-p', '--url': '-u',
    '--use-virtualhost': '-V', '--verbose': '-v', '--help': '-h', '--fwmark': '-m', '--protocol': '-P', '--timeout': '-t',
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let val: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      val = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    a = long[a] ?? a;
    const need = (): string | undefined => val ?? argv[++i];
    switch (a) {
      case '-h':
        return null;
      case '-S': o.ssl = true; break;
      case '-I': o.sni = true; break;
      case '-v': o.verbose = true; break;
      case '-s': { const v = need(); if (v === undefined) return 'missing server'; o.server = v; break; }
      case '-u': { const v = need(); if (v === undefined) return 'missing url'; o.url = v; break; }
      case '-V': { const v = need(); if (v === undefined) return 'missing virtualhost'; o.virtualhost = v; break; }
      case '-p': {
        const v = need();
        if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) return `invalid port '${v ?? ''}'`;
        o.port = Number(v);
        break;
      }
      case '-t': {
        const v = need();
        if (v === undefined || !/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) return `invalid timeout '${v ?? ''}'`;
        o.timeout = Number(v);
        break;
      }
      case '-m': {
        const v = need();
        if (v === undefined || !/^\d+$/.test(v)) return `invalid fwmark '${v ?? ''}'`;
        o.fwmark = Number(v);
        break;
      }
      case '-P': {
        const v = need();
        if (v === '1.0') o.protocol = '1.0';
        else if (v === '1.0c' || v === '1.0C') o.protocol = '1.0C';
        else if (v === '1.1') o.protocol = '1.1';
        else return `invalid protocol '${v ?? ''}'`;
        break;
      }
      default:
        return `unknown option ${a}`;
    }
  }
  if (o.server === undefined || o.url === undefined) return 'server and url are required';
  o.port ??= o.ssl ? 443 : 80;
  return o as GenhashOptions;
}

/** keepalived's hex dump: `0000  xx xx .. - xx ..   ascii`, offsets in decimal. */
export function hexDump(buf: Buffer): string {
  const out: string[] = [];
  for (let off = 0; off < buf.length; off += 16) {
    const row = buf.subarray(off, off + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += '- ';
      if (i < row.length) {
        hex += row[i]!.toString(16).padStart(2, '0') + ' ';
        ascii += row[i]! >= 0x20 && row[i]! < 0x7f ? String.fromCharCode(row[i]!) : '.';
      } else hex += '   ';
    }
    out.push(`${String(off).padStart(4, '0')}  ${hex}  ${ascii}`);
  }
  return out.join('\n');
}

/** Fetches the URL and returns the response (rejects on connection failure). */
export function genhash(o: GenhashOptions): Promise<HttpResponse> {
  return httpGet({
    host: o.server,
    port: o.port,
    timeoutMs: o.timeout * 1000,
    tls: o.ssl,
    sni: o.sni,
    path: o.url,
    httpProtocol: o.protocol,
    ...(o.virtualhost !== undefined ? { virtualhost: o.virtualhost } : {}),
  });
}

/** What genhash prints: the hash line, or with -v the dumps first. */
export function formatGenhash(r: HttpResponse, verbose: boolean, url = ''): string {
  if (!verbose) return `${r.md5}\n`;
  const bar = (t: string): string => `-----------------------[ ${t.padEnd(25).slice(0, 25)}]-----------------------`;
  return [
    bar('   HTTP Header Buffer'),
    hexDump(r.header),
    bar('HTTP Header Ascii Buffer'),
    r.header.toString('latin1'),
    bar('      HTML Buffer'),
    hexDump(r.body),
    '',
    bar('   HTML hash resulting'),
    hexDump(Buffer.from(r.md5, 'hex')),
    bar('HTML hash final resulting'),
    r.md5,
    '',
    `Global response for [${url}]`,
    '',
  ].join('\n');
}

/** The command: prints the hash (or "Connection failed"); returns the exit code. */
export async function runGenhash(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const o = parseGenhashArgs(argv);
  if (o === null) {
    out(GENHASH_USAGE);
    return 0;
  }
  if (typeof o === 'string') {
    out(`${o}\n${GENHASH_USAGE}`);
    return 1;
  }
  try {
    const r = await genhash(o);
    out(formatGenhash(r, o.verbose, o.url));
    return 0;
  } catch (e) {
    out(o.verbose ? `Connection failed: ${(e as Error).message}\n` : 'Connection failed\n');
    return 1;
  }
}
