/**
 * keepalived's track_file for the checker side (FILE_CHECK): the file holds a number;
 * tunvs watches the file's directory (inotify, through fs.watch) and re-reads it when it
 * is written, moved in or deleted, as keepalived does (a missing or empty file reads 0).
 *
 * What a number means to a real server (track_file weight rules):
 *   - weight 0: 0 is up, anything else is down (`reverse`: the other way round);
 *   - weight W: the real server's weight moves by value × W (× -1 with `reverse`); only
 *     a product at or below INT32_MIN takes it down.
 */
import { closeSync, existsSync, openSync, readSync, watch, writeFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { TrackFile } from '@tunvs/keepalived';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** C's strtol(text, NULL, 0): leading blanks, sign, 0x hex, leading-0 octal, decimal. */
export function strtol0(text: string): number {
  const m = /^[\s]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text);
  if (m === null) return 0;
  const digits = m[2]!;
  const v = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith('0') ? parseInt(digits, 8) : Number(digits);
  return m[1] === '-' ? -v : v;
}

/** Reads a tracked file as keepalived does; null = an out-of-range number (keep the old value). */
export function readTrackFile(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  try {
    const buf = Buffer.alloc(127);
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n <= 0) return 0;
    const v = strtol0(buf.subarray(0, n).toString('latin1'));
    if (!Number.isFinite(v) || v < INT32_MIN || v > INT32_MAX + 1) return null;
    return v;
  } catch {
    return 0;
  } finally {
    closeSync(fd);
  }
}

/** What a tracked value means to one FILE_CHECK: down, or up with a weight change. */
export function trackFileEffect(value: number, weight: number, reverse: boolean): { up: boolean; delta: number } {
  if (weight === 0) {
    const fault = reverse ? value === 0 : value !== 0;
    return { up: !fault, delta: 0 };
  }
  const p = value * weight * (reverse ? -1 : 1);
  const clamped = Math.max(INT32_MIN, Math.min(INT32_MAX, p));
  if (clamped <= INT32_MIN) return { up: false, delta: 0 };
  return { up: true, delta: clamped };
}

/** Watches one track_file and tells its listeners the current number. */
export class TrackFileWatcher {
  value = 0;
  private watcher: FSWatcher | null = null;
  private readonly listeners = new Set<(v: number) => void>();

  constructor(
    readonly spec: TrackFile,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.reread(false);
  }

  /** Calls `fn` on every change of the value (not with the current one). */
  subscribe(fn: (v: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Starts watching the file's directory. */
  start(): void {
    if (this.watcher) return;
    const init = this.spec.init;
    if (init !== undefined && (init.overwrite || !existsSync(this.spec.path))) {
      try {
        writeFileSync(this.spec.path, `${init.value}\n`);
      } catch (e) {
        this.log(`Unable to initialise track file ${this.spec.name}: ${(e as Error).message}`);
      }
    }
    const name = basename(this.spec.path);
    try {
      this.watcher = watch(dirname(this.spec.path), { persistent: false }, (_ev, f) => {
        if (f === null || f === name) this.reread(true);
      });
      this.watcher.on('error', (e) => this.log(`track_file ${this.spec.name}: watch failed: ${e.message}`));
    } catch (e) {
      this.log(`track_file ${this.spec.name}: cannot watch ${dirname(this.spec.path)}: ${(e as Error).message}`);
    }
    this.reread(true);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private reread(notify: boolean): void {
    const v = readTrackFile(this.spec.path);
    if (v === null) {
      this.log(`track_file ${this.spec.name}: invalid number read from ${this.spec.path} - ignoring`);
      return;
    }
    if (v === this.value) return;
    this.value = v;
    if (notify) for (const fn of this.listeners) fn(v);
  }
}
