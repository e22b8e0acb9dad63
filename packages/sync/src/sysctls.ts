/**
 * The kernel's sync sysctls (net.ipv4.vs.sync_*) as a settings object: the one place that
 * knows their names, ranges and defaults. tunvsd's configuration (JSON `sync`, tunvsd.conf
 * `sync_threshold 3 50` ...) is checked here; `syncMasterSettings` turns a checked object
 * into the master daemon's settings (absent ones at the kernel's defaults).
 *
 * Ranges are the kernel's proc handlers': sync_threshold "T P" needs T >= 0, P >= 0 and
 * T < P unless P is 0 (proc_do_sync_threshold, EINVAL); sync_retries 0..3 and
 * sync_version 0..1 (EINVAL); sync_refresh_period in seconds (proc_dointvec_jiffies).
 * Two sysctls the daemons do not act on are refused, never accepted and ignored:
 * sync_ports other than 1 (one sync thread per daemon here) and sync_sock_size (the
 * sockets are sized by the transport).
 */
import { defaultQlenMax } from './master.js';
import type { SyncMasterSettings } from './master.js';
import { SYNC_DEFAULTS } from './wire.js';

/** The sync sysctls, by their configuration key (values as the sysctls take them). */
export interface SyncSysctls {
  /** sync_threshold, first value */
  threshold: number;
  /** sync_threshold, second value (the sync period, 0 = once) */
  period: number;
  /** sync_refresh_period in seconds (0 = off) */
  refreshPeriod: number;
  /** sync_retries 0..3 */
  retries: number;
  /** sync_qlen_max: messages queued at most (default 1/32 of the memory's pages) */
  qlenMax: number;
  /** sync_version 0 or 1 */
  version: number;
  /** sync_persist_mode 0 or 1 */
  persistMode: number;
  /** sync_ports: 1 only */
  ports: number;
  /** sync_sock_size: refused (not applied) */
  sockSize: number;
}

/** The configuration keys and the kernel's sysctl names. */
export const SYNC_SYSCTLS: Readonly<Record<keyof SyncSysctls, string>> = {
  threshold: 'sync_threshold',
  period: 'sync_threshold',
  refreshPeriod: 'sync_refresh_period',
  retries: 'sync_retries',
  qlenMax: 'sync_qlen_max',
  version: 'sync_version',
  persistMode: 'sync_persist_mode',
  ports: 'sync_ports',
  sockSize: 'sync_sock_size',
};

const INT_MAX = 0x7fffffff;
/** the largest sync_refresh_period proc_dointvec_jiffies takes (INT_MAX / HZ, HZ 1000) */
export const MAX_REFRESH_PERIOD_S = Math.floor(INT_MAX / 1000);
/** the largest sync_qlen_max tunvs takes: the master keeps a ring of this many message slots */
export const MAX_QLEN = 1 << 20;

/** One problem with a value: the configuration key and what is wrong. */
export interface SyncSysctlProblem {
  key: string;
  message: string;
}

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Check a `sync` settings object: every problem (unknown keys included), and the settings
 * that passed. `settings` is only to be used when `problems` is empty.
 */
export function checkSyncSysctls(v: unknown): { settings: Partial<SyncSysctls>; problems: SyncSysctlProblem[] } {
  const problems: SyncSysctlProblem[] = [];
  const settings: Partial<SyncSysctls> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { settings, problems: [{ key: '', message: `the sync settings must be an object, not ${show(v)}` }] };
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(SYNC_SYSCTLS);
  const bad = (key: string, message: string): void => void problems.push({ key, message });
  // the kernel's EINVAL words where its handler refuses the value too (a non-integer always);
  // where tunvs is stricter than the kernel (`kernel` false below) the message says why
  const range = (key: keyof SyncSysctls, min: number, max: number, what: string, kernel = true): void => {
    const x = o[key];
    if (!isInt(x) || x < min || x > max) bad(key, `invalid ${SYNC_SYSCTLS[key]} value ${show(x)}: ${what}${kernel || !isInt(x) ? ' (Invalid argument)' : ''}`);
    else settings[key] = x;
  };
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      bad(k, `unknown key "${k}" in the sync settings (known: ${keys.join(', ')})`);
      continue;
    }
    const key = k as keyof SyncSysctls;
    switch (key) {
      case 'threshold':
      case 'period':
        range(key, 0, INT_MAX, `${key === 'threshold' ? 'the threshold' : 'the period'} is an integer 0..${INT_MAX}`);
        break;
      case 'refreshPeriod':
        range(key, 0, MAX_REFRESH_PERIOD_S, `seconds 0..${MAX_REFRESH_PERIOD_S}, 0 turns the refresh off`, isInt(o[key]) && (o[key] as number) > 0);
        break;
      case 'retries':
        range(key, 0, 3, 'an integer 0..3');
        break;
      case 'qlenMax':
        range(key, 1, MAX_QLEN, `messages 1..${MAX_QLEN} (0 would drop every sync message; the master keeps a ring of this many)`, false);
        break;
      case 'version':
        range(key, 0, 1, '0 (the old format) or 1');
        break;
      case 'persistMode':
        range(key, 0, 1, '0 (sync connections and templates) or 1 (only the templates of persistent services)', false);
        break;
      case 'ports':
        if (o.ports !== 1) bad(key, `sync_ports ${show(o.ports)} is not supported: tunvs runs one sync thread per daemon, on one port (sync_ports 1)`);
        else settings.ports = 1;
        break;
      case 'sockSize':
        bad(key, 'sync_sock_size is not supported: tunvs sizes the sync sockets itself (a backup asks for a 4 MiB receive buffer, capped by net.core.rmem_max)');
        break;
    }
  }
  // proc_do_sync_threshold: the period (when not 0) must be above the threshold
  const t = settings.threshold ?? SYNC_DEFAULTS.threshold;
  const p = settings.period ?? SYNC_DEFAULTS.period;
  if (!problems.some((x) => x.key === 'threshold' || x.key === 'period') && p > 0 && t >= p) {
    bad(o.threshold !== undefined ? 'threshold' : 'period', `invalid sync_threshold "${t} ${p}": the period must be above the threshold, or 0 (Invalid argument)`);
  }
  return { settings, problems };
}

/** The master's settings for checked sysctls: absent ones at the kernel's defaults. */
export function syncMasterSettings(s: Partial<SyncSysctls> = {}): Omit<SyncMasterSettings, 'syncid' | 'maxlen' | 'flushMs' | 'sendDelayMs'> {
  return {
    threshold: s.threshold ?? SYNC_DEFAULTS.threshold,
    period: s.period ?? SYNC_DEFAULTS.period,
    refreshPeriodMs: (s.refreshPeriod ?? SYNC_DEFAULTS.refreshPeriodMs / 1000) * 1000,
    retries: s.retries ?? SYNC_DEFAULTS.retries,
    qlenMax: s.qlenMax ?? defaultQlenMax(),
    version: s.version ?? SYNC_DEFAULTS.version,
    persistMode: (s.persistMode ?? 0) === 1,
  };
}
