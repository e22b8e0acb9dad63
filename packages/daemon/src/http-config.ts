/**
 * The HTTP server (/metrics, status API, console) from the forms that are not JSON:
 *
 *   - tunvsd.conf keywords `http_listen HOST:PORT`, `http_password_file FILE`,
 *     `http_token_file FILE`, `http_console on|off`, `http_tls_cert FILE`, `http_tls_key FILE`
 *     (relative files are relative to the tunvsd.conf);
 *   - tunvsd's options `--http HOST:PORT`, `--http-password-file FILE`, `--http-token-file
 *     FILE`, `--http-metrics-only`, for every form, and the only way with a keepalived.conf
 *     given directly (keepalived would stop at a keyword it does not know).
 *
 * Both build the same object the JSON `http` section is, and go through the console's one
 * validation (parseHttpConfig).
 */
import { parseHttpConfig } from '@tunvs/console/config';
import type { HttpConfig, HttpSettingNames } from '@tunvs/console/config';

/** tunvsd.conf keywords of the HTTP server. */
export const HTTP_KEYWORDS = ['http_listen', 'http_password_file', 'http_token_file', 'http_console', 'http_tls_cert', 'http_tls_key'];

type At = { value: string; file: string; line: number };

/** The HTTP server from tunvsd.conf keywords; null when `http_listen` is absent (others then are errors). */
export function httpFromKeywords(kw: Map<string, At>, path: string, err: (x: At, message: string) => void): HttpConfig | null {
  const listen = kw.get('http_listen');
  const present = HTTP_KEYWORDS.filter((k) => kw.has(k));
  if (!listen) {
    for (const k of present) err(kw.get(k)!, `${k} without http_listen (the HTTP server is off)`);
    return null;
  }
  const raw: Record<string, unknown> = { listen: listen.value };
  const v = (k: string): string | undefined => kw.get(k)?.value;
  if (v('http_password_file') !== undefined) raw.passwordFile = v('http_password_file');
  if (v('http_token_file') !== undefined) raw.tokenFile = v('http_token_file');
  const con = kw.get('http_console');
  if (con) {
    if (!['on', 'off', 'yes', 'no', 'true', 'false'].includes(con.value)) {
      err(con, `http_console must be on or off, not '${con.value}'`);
      return null;
    }
    raw.console = ['on', 'yes', 'true'].includes(con.value);
  }
  const cert = kw.get('http_tls_cert');
  const key = kw.get('http_tls_key');
  if (cert || key) {
    if (!cert || !key) {
      err((cert ?? key)!, 'http_tls_cert and http_tls_key go together');
      return null;
    }
    raw.tls = { cert: cert.value, key: key.value };
  }
  try {
    return parseHttpConfig(raw, path);
  } catch (e) {
    const [at, message] = keywordMessage((e as Error).message);
    err(kw.get(at) ?? listen, message);
    return null;
  }
}

/** Each HTTP setting as the JSON section, tunvsd.conf and tunvsd's options name it: the one table. */
const SETTINGS = {
  listen: { json: 'http.listen', tunvsd: 'http_listen', options: '--http' },
  passwordFile: { json: 'http.passwordFile', tunvsd: 'http_password_file', options: '--http-password-file' },
  tokenFile: { json: 'http.tokenFile', tunvsd: 'http_token_file', options: '--http-token-file' },
  cert: { json: 'http.tls.cert', tunvsd: 'http_tls_cert', options: 'http.tls.cert' },
  key: { json: 'http.tls.key', tunvsd: 'http_tls_key', options: 'http.tls.key' },
} as const;

/** parseHttpConfig's keys as tunvsd.conf keywords. */
const KEYWORD_OF: Record<string, string> = Object.fromEntries(Object.values(SETTINGS).map((n) => [n.json, n.tunvsd]));

/** A parseHttpConfig message in tunvsd.conf's words, and the keyword whose line it is about. */
export function keywordMessage(m: string): [string, string] {
  const k = /^(http\.[A-Za-z.]+?)(?=[: ])/.exec(m)?.[1];
  if (k !== undefined && KEYWORD_OF[k] !== undefined) return [KEYWORD_OF[k]!, KEYWORD_OF[k] + m.slice(k.length)];
  const console = m.replace(/^http: /, '').replace(/passwordFile or tokenFile \(or "console": false for \/metrics only\)/, 'http_password_file or http_token_file (or http_console off for /metrics only)');
  return ['http_listen', console];
}

/** The names of the HTTP server's file settings in one form. */
const fileNames = (form: 'json' | 'tunvsd' | 'options'): HttpSettingNames => ({
  passwordFile: SETTINGS.passwordFile[form],
  tokenFile: SETTINGS.tokenFile[form],
  cert: SETTINGS.cert[form],
  key: SETTINGS.key[form],
});

/** How `tunvsd --config-test` names the settings of the HTTP server's files, by the form that gave them. */
export const HTTP_NAMES = { json: fileNames('json'), tunvsd: fileNames('tunvsd'), options: fileNames('options') };

/** tunvsd's command-line HTTP options, collected; `take` returns how many arguments it used (0: not ours). */
export class HttpOptions {
  private readonly raw: Record<string, unknown> = {};
  private given = false;

  take(argv: string[], i: number): number {
    const a = argv[i]!;
    const val = (): string => {
      const x = argv[i + 1];
      if (x === undefined || x === '') throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--http') this.raw.listen = val();
    else if (a === '--http-password-file') this.raw.passwordFile = val();
    else if (a === '--http-token-file') this.raw.tokenFile = val();
    else if (a === '--http-metrics-only') {
      this.raw.console = false;
      this.given = true;
      return 1;
    } else return 0;
    this.given = true;
    return 2;
  }

  /** The validated options, or null when none was given; throws naming the option at fault. */
  config(): HttpConfig | null {
    if (!this.given) return null;
    if (this.raw.listen === undefined) throw new Error('--http-password-file, --http-token-file and --http-metrics-only need --http HOST:PORT');
    try {
      // files are relative to the working directory, as for any option
      return parseHttpConfig(this.raw);
    } catch (e) {
      const m = (e as Error).message;
      throw new Error(m.replace('http.listen', '--http').replace('http.passwordFile', '--http-password-file').replace('http.tokenFile', '--http-token-file').replace(/passwordFile or tokenFile \(or "console": false for \/metrics only\)/, '--http-password-file or --http-token-file (or --http-metrics-only)'));
    }
  }
}
