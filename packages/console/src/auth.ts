/**
 * Who may use the console: a password file of `user:hash` lines (scrypt hashes made by
 * `tunvs-console passwd`, or bcrypt hashes as `htpasswd -B` writes them), a token file of
 * `user:sha256:HEX` lines for API clients (`Authorization: Bearer TOKEN`), sessions kept
 * in memory, and a limiter that slows down repeated failed logins.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, existsSync, chmodSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { parseCredentialText } from './config.js';

/** scrypt parameters of new entries (N = 2^15, r = 8, p = 1: about 32 MiB, tens of ms). */
export const SCRYPT_PARAMS = { N: 32768, r: 8, p: 1, keylen: 32 } as const;

function scrypt(password: string, salt: Buffer, keylen: number, o: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, { N: o.N, r: o.r, p: o.p, maxmem: 128 * o.N * o.r * 2 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hash a password for the password file: `$scrypt$N=32768,r=8,p=1$SALT$HASH` (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p, keylen } = SCRYPT_PARAMS;
  const key = await scrypt(password, salt, keylen, { N, r, p });
  return `$scrypt$N=${N},r=${r},p=${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Check a password against one stored hash (scrypt or bcrypt); false for unknown formats. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (m) {
    const want = Buffer.from(m[5]!, 'base64');
    const got = await scrypt(password, Buffer.from(m[4]!, 'base64'), want.length, { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) });
    return got.length === want.length && timingSafeEqual(got, want);
  }
  if (/^\$2[abxy]\$\d\d\$/.test(stored)) return bcrypt.compare(password, stored);
  return false;
}

/** A hash that never matches, checked for unknown users so their answer takes as long. */
const DUMMY = '$scrypt$N=32768,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/** Read `user:hash` lines (`#` comments and blank lines ignored); errors name file:line. */
export function readCredentialFile(path: string): Map<string, string> {
  return parseCredentialText(readFileSync(path, 'utf8'), path);
}

/** Add or replace `user`'s line in a credential file, atomically (mode 0600). */
export function setCredential(path: string, user: string, value: string): void {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(user)) throw new Error(`invalid user name '${user}' (letters, digits, _ . @ -)`);
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [];
  const kept = lines.filter((l) => !l.startsWith(`${user}:`));
  kept.push(`${user}:${value}`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, kept.join('\n') + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** A new random secret, URL-safe. */
export function randomSecret(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

/** The token file's form of a token. */
export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** One credential file as last read: `entries` is its last good contents (null: none yet). */
interface CredentialFile {
  path: string;
  what: string;
  /** mtime and size when last looked at; -1: absent */
  sig: number;
  entries: Map<string, string> | null;
}

/**
 * Checks logins and bearer tokens against the files, re-read when they change. A change
 * that leaves a file unreadable or with a bad line is logged once (file:line) and the last
 * good contents stay in use, as a failed reload keeps the running rules; with no good
 * version yet, nothing matches (logins and tokens get 401). A file that disappears holds
 * no entry (removing it revokes them). Fixing the file takes effect at the next request.
 */
export class Credentials {
  private readonly files: { password?: CredentialFile; token?: CredentialFile } = {};
  private tokens = new Map<string, string>();

  constructor(
    passwordFile: string | undefined,
    tokenFile: string | undefined,
    private readonly log: Log = () => {},
  ) {
    if (passwordFile) this.files.password = { path: passwordFile, what: 'password file', sig: -1, entries: null };
    if (tokenFile) this.files.token = { path: tokenFile, what: 'token file', sig: -1, entries: null };
    this.refresh();
  }

  private static sig(path: string): number {
    try {
      const st = statSync(path);
      return st.mtimeMs * 1e3 + st.size;
    } catch {
      return -1;
    }
  }

  /** Re-read `f` if it changed; true when its entries changed. */
  private reread(f: CredentialFile): boolean {
    const m = Credentials.sig(f.path);
    if (m === f.sig) return false;
    f.sig = m;
    if (m === -1) {
      this.log('warn', `console ${f.what} disappeared: its entries are revoked until it is back`, { file: f.path });
      f.entries = new Map();
      return true;
    }
    try {
      f.entries = readCredentialFile(f.path);
      return true;
    } catch (e) {
      this.log('error', `console ${f.what} refused, ${f.entries ? 'keeping its last good contents' : 'no entry accepted until it is fixed'}`, { file: f.path, error: (e as Error).message });
      return false;
    }
  }

  /** Re-read the files if their contents changed. */
  refresh(): void {
    if (this.files.password) this.reread(this.files.password);
    if (this.files.token && this.reread(this.files.token)) this.tokens = new Map([...this.files.token.entries!].map(([u, h]) => [h, u]));
  }

  /** The user, if the password is right. */
  async login(user: string, password: string): Promise<boolean> {
    this.refresh();
    const stored = this.files.password?.entries?.get(user);
    const ok = await verifyPassword(password, stored ?? DUMMY);
    return ok && stored !== undefined;
  }

  /** The user a bearer token belongs to, or null. */
  tokenUser(token: string): string | null {
    this.refresh();
    const h = hashToken(token);
    for (const [stored, user] of this.tokens) {
      const a = Buffer.from(stored);
      const b = Buffer.from(h);
      if (a.length === b.length && timingSafeEqual(a, b)) return user;
    }
    return null;
  }
}

/** One logged-in browser. */
export interface Session {
  id: string;
  user: string;
  csrf: string;
  created: number;
  seen: number;
}

/** Sessions in memory: idle timeout and absolute lifetime. */
export class Sessions {
  private readonly map = new Map<string, Session>();

  constructor(
    private readonly idleMs = 30 * 60_000,
    private readonly maxMs = 12 * 3600_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string): Session {
    const t = this.now();
    const s: Session = { id: randomSecret(32), user, csrf: randomSecret(32), created: t, seen: t };
    this.map.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session | null {
    if (!id) return null;
    const s = this.map.get(id);
    if (!s) return null;
    const t = this.now();
    if (t - s.seen > this.idleMs || t - s.created > this.maxMs) {
      this.map.delete(id);
      return null;
    }
    s.seen = t;
    return s;
  }

  destroy(id: string): void {
    this.map.delete(id);
  }
}

/**
 * Failed-login limiter: at most `max` failures per window per client address and per user
 * name; beyond that logins are refused (429) until the window has passed.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly max = 5,
    readonly windowMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const t = this.now();
    const list = (this.failures.get(key) ?? []).filter((x) => t - x < this.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** Seconds to wait before trying again, 0 when allowed. */
  retryAfter(ip: string, user: string): number {
    const t = this.now();
    let wait = 0;
    for (const key of [`ip:${ip}`, `user:${user}`]) {
      const list = this.recent(key);
      if (list.length >= this.max) wait = Math.max(wait, Math.ceil((list[0]! + this.windowMs - t) / 1000));
    }
    return wait;
  }

  fail(ip: string, user: string): void {
    for (const key of [`ip:${ip}`, `user:${user}`]) {
      const list = this.recent(key);
      list.push(this.now());
      this.failures.set(key, list);
    }
  }

  succeed(ip: string, user: string): void {
    this.failures.delete(`ip:${ip}`);
    this.failures.delete(`user:${user}`);
  }
}
