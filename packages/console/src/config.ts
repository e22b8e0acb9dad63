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
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { createSecureContext } from 'node:tls';

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

/** A `user:VALUE` line that is not one: names the file and the 1-based line. */
export class CredentialLineError extends Error {
  constructor(readonly file: string, readonly line: number) {
    super(`${file}:${line}: expected user:hash`);
  }
}

/** `user:VALUE` lines (`#` comments and blank lines ignored); throws CredentialLineError. */
export function parseCredentialText(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const c = line.indexOf(':');
    if (c <= 0) throw new CredentialLineError(file, i + 1);
    out.set(line.slice(0, c), line.slice(c + 1));
  });
  return out;
}

/** One finding about a file the HTTP server reads (line 0: the file as a whole). */
export interface HttpFileFinding {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  message: string;
  /** the file could not be read at all (keepalived's exit code 4 rather than 5) */
  unreadable?: boolean;
}

/** How the findings name each setting; the default names every spelling of it. */
export interface HttpSettingNames {
  passwordFile: string;
  tokenFile: string;
  cert: string;
  key: string;
}

export const HTTP_SETTING_NAMES: HttpSettingNames = {
  passwordFile: 'passwordFile (http_password_file, --http-password-file)',
  tokenFile: 'tokenFile (http_token_file, --http-token-file)',
  cert: 'tls.cert (http_tls_cert)',
  key: 'tls.key (http_tls_key)',
};

/** `file[:line]: severity: message`, as tunvsd --config-test prints its messages. */
export function formatHttpFinding(f: HttpFileFinding): string {
  return `${f.line > 0 ? `${f.file}:${f.line}` : f.file}: ${f.severity}: ${f.message}`;
}

/**
 * The files the HTTP server reads when it starts, checked as it reads them: errors are what
 * would stop it (an unreadable file, a line that is not `user:hash`, a certificate or key
 * TLS refuses); warnings are what leaves it running but unusable in part (a password or
 * token file that does not exist yet, or holds no entry). Shared by the server's start and
 * `tunvsd --config-test`, so that a configuration the test passes also starts.
 */
export function checkHttpFiles(cfg: HttpConfig, names: HttpSettingNames = HTTP_SETTING_NAMES): HttpFileFinding[] {
  const out: HttpFileFinding[] = [];
  const read = (file: string, name: string): string | null => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      out.push({ severity: 'error', file, line: 0, message: `${name}: cannot read the file: ${(e as Error).message}`, unreadable: true });
      return null;
    }
  };
  const credentials = (file: string | undefined, name: string, missing: string, empty: string): void => {
    if (file === undefined) return;
    let exists = true;
    try {
      statSync(file);
    } catch (e) {
      // any other failure is the read's to report
      exists = (e as NodeJS.ErrnoException).code !== 'ENOENT';
    }
    if (!exists) {
      out.push({ severity: 'warning', file, line: 0, message: `${name}: the file does not exist: ${missing} (it is read again when it changes)` });
      return;
    }
    const text = read(file, name);
    if (text === null) return;
    try {
      if (parseCredentialText(text, file).size === 0) out.push({ severity: 'warning', file, line: 0, message: `${name}: the file holds no entry: ${empty}` });
    } catch (e) {
      if (!(e instanceof CredentialLineError)) throw e;
      out.push({ severity: 'error', file, line: e.line, message: `${name}: expected user:hash` });
    }
  };
  if (cfg.console) {
    credentials(cfg.passwordFile, names.passwordFile, 'nobody can log in to the console until it is created (tunvs-console passwd -f FILE USER)', 'nobody can log in to the console');
    credentials(cfg.tokenFile, names.tokenFile, 'no API token is accepted until it is created (tunvs-console token -f FILE USER)', 'no API token is accepted');
  }
  if (cfg.tls) {
    const cert = read(cfg.tls.cert, names.cert);
    const key = read(cfg.tls.key, names.key);
    if (cert !== null && key !== null) {
      try {
        createSecureContext({ cert, key });
      } catch (e) {
        out.push({ severity: 'error', file: cfg.tls.cert, line: 0, message: `${names.cert} and ${names.key} (${cfg.tls.key}): TLS refuses them: ${(e as Error).message}` });
      }
    }
  }
  return out;
}
