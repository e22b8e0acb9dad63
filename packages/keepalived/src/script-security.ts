/**
 * Who runs a script and whether it may run (keepalived's script_user, per-script user,
 * enable_script_security): users and groups from /etc/passwd and /etc/group, and the
 * path check keepalived makes with enable_script_security — a script is refused when
 * the file, or any directory above it, can be written by someone other than root and the
 * user the script runs as.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** A user or group database entry. */
export interface Account {
  uid: number;
  gid: number;
}

function table(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** `name` (or a numeric uid) in /etc/passwd → uid and primary gid; null if unknown. */
export function lookupUser(name: string, passwd = '/etc/passwd'): Account | null {
  for (const f of table(passwd)) {
    if (f[0] === name || (/^\d+$/.test(name) && f[2] === name)) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

/** `name` (or a numeric gid) in /etc/group → gid; null if unknown. */
export function lookupGroup(name: string, group = '/etc/group'): number | null {
  for (const f of table(group)) if (f[0] === name || (/^\d+$/.test(name) && f[2] === name)) return Number(f[2]);
  return null;
}

/** keepalived's default script user. */
export const DEFAULT_SCRIPT_USER = 'keepalived_script';

/**
 * Why the program at `path` must not run as `uid`/`gid` under enable_script_security, or
 * null when it is safe: the file or a directory on its (resolved) path is owned by
 * another non-root user, or writable by a group other than root's and the script's, or
 * writable by everyone (a world-writable directory with the sticky bit is allowed, since
 * others cannot replace what is in it).
 */
export function scriptInsecurity(path: string, uid: number, gid: number): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return 'not found/accessible';
  }
  for (let p = real, file = true; ; file = false) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return 'not found/accessible';
    }
    if (st.uid !== 0 && st.uid !== uid) return `${p} is owned by uid ${st.uid}`;
    if ((st.mode & 0o020) !== 0 && st.gid !== 0 && st.gid !== gid) return `${p} is writable by group ${st.gid}`;
    if ((st.mode & 0o002) !== 0 && (file || (st.mode & 0o1000) === 0)) return `${p} is writable by everyone`;
    if (p === '/') break;
    p = dirname(p);
  }
  return null;
}

/** The account of `user [group]` (`user`'s own group when none is named), or null when either is unknown. */
export function namedAccount(user: string, group: string | undefined): Account | null {
  const a = lookupUser(user);
  if (a === null || group === undefined) return a;
  const gid = lookupGroup(group);
  return gid === null ? null : { uid: a.uid, gid };
}

/**
 * The account a script runs as, in keepalived's order: its own `user [group]`, else the
 * global `script_user [group]`, else keepalived_script, else root. Null when a user or
 * group named there is unknown (the script cannot run).
 */
export function scriptAccount(s: { user?: string; group?: string }, g: { scriptUser?: string; scriptGroup?: string }): Account | null {
  if (s.user !== undefined) return namedAccount(s.user, s.group);
  if (g.scriptUser !== undefined) return namedAccount(g.scriptUser, g.scriptGroup);
  return lookupUser(DEFAULT_SCRIPT_USER) ?? { uid: 0, gid: 0 };
}

/** The environment scripts run with: nothing of tunvsd's own, only a fixed PATH. */
export const SCRIPT_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' });
