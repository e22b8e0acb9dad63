/**
 * The `http` section of tunvsd's JSON configuration:
 *
 *   "http": {
 *     "listen": "127.0.0.1:9280",          // default address 127.0.0.1
 *     "passwordFile": "console.passwd",    // user:hash lines (tunvs-console passwd)
 *     "tokenFile": "console.tokens",       // user:sha256:HEX lines (tunvs-console token)
 *     "console": true,                     // false: /metrics only
 *     "tls": { "cert": "cert.pem", "key": "key.pem" },
 *     "sampleInterval": 1                  // seconds between the console's samples
 *   }
 *
 * Relative paths are relative to the configuration file. Without this section tunvsd
 * serves no HTTP at all.
 */
import { dirname, isAbsolute, join } from 'node:path';

/** The validated section. */
export interface HttpConfig {
  host: string;
  port: number;
  passwordFile?: string;
  tokenFile?: string;
  console: boolean;
  tls?: { cert: string; key: string };
  sampleInterval: number;
}

const KEYS = ['listen', 'passwordFile', 'tokenFile', 'console', 'tls', 'sampleInterval'];

/** Parse `http`; throws an Error whose message names the key at fault. */
export function parseHttpConfig(raw: unknown, file = '<config>'): HttpConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('http must be an object');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KEYS.includes(k)) throw new Error(`http.${k}: unknown key (known: ${KEYS.join(', ')})`);
  const rel = (p: unknown, what: string): string => {
    if (typeof p !== 'string' || p === '') throw new Error(`${what} must be a file name`);
    return isAbsolute(p) || file === '<config>' ? p : join(dirname(file), p);
  };
  const listen = r.listen === undefined ? '127.0.0.1:9280' : String(r.listen);
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d{1,5})$/.exec(listen) ?? /^()()(\d{1,5})$/.exec(listen);
  if (!m) throw new Error(`http.listen: '${listen}' is not HOST:PORT`);
  const host = m[1] || m[2] || '127.0.0.1';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`http.listen: port ${port} out of range`);
  const cfg: HttpConfig = { host, port, console: r.console === undefined ? true : Boolean(r.console), sampleInterval: 1 };
  if (r.passwordFile !== undefined) cfg.passwordFile = rel(r.passwordFile, 'http.passwordFile');
  if (r.tokenFile !== undefined) cfg.tokenFile = rel(r.tokenFile, 'http.tokenFile');
  if (r.tls !== undefined) {
    const t = r.tls as Record<string, unknown>;
    if (typeof t !== 'object' || t === null) throw new Error('http.tls must be { "cert": FILE, "key": FILE }');
    cfg.tls = { cert: rel(t.cert, 'http.tls.cert'), key: rel(t.key, 'http.tls.key') };
  }
  if (r.sampleInterval !== undefined) {
    const s = Number(r.sampleInterval);
    if (!(s >= 0.2 && s <= 60)) throw new Error('http.sampleInterval must be 0.2..60 seconds');
    cfg.sampleInterval = s;
  }
  if (cfg.console && !cfg.passwordFile && !cfg.tokenFile) throw new Error('http: the console needs passwordFile or tokenFile (or "console": false for /metrics only)');
  return cfg;
}
