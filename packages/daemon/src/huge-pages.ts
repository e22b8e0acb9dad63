/**
 * Transparent huge pages for the connection table.
 *
 * At a million entries the table's arrays (hot blocks, warm words, bucket heads: about
 * 64 MB) are far larger than what the TLB maps with 4 KiB pages, so a lookup in a random
 * bucket can pay a page walk on top of its cache misses. Backed by 2 MiB pages the guest's
 * share of that walk goes (a virtual machine's host may still walk its own tables). The kernel's own connection tables get this for free (its direct map
 * uses huge pages); a Node process does not: V8 takes large ArrayBuffers from glibc's
 * malloc, which maps them with mmap and, on kernels whose THP mode is `madvise` (Debian's
 * default), never asks for huge pages.
 *
 * glibc (2.35 and later) asks for them when started with the tunable
 * `glibc.malloc.hugetlb=1` in `GLIBC_TUNABLES`: it then calls madvise(MADV_HUGEPAGE) on
 * the memory it maps. The tunable is read once, when the process starts, so it has to be
 * in the environment of the `node` that runs the Director: `hugePagesEnv` adds it to an
 * environment for a child, and `hugePagesStatus` tells whether the running process has it
 * and how much of its memory is on huge pages.
 */
import { readFileSync } from 'node:fs';

/** The glibc tunable that makes malloc's mmapped memory eligible for THP. */
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';
const TUNABLE_NAME = 'glibc.malloc.hugetlb';

/** What `hugePagesStatus` reports. */
export interface HugePagesStatus {
  /** the kernel's THP mode (/sys/kernel/mm/transparent_hugepage/enabled), or 'unknown' */
  thp: 'always' | 'madvise' | 'never' | 'unknown';
  /** the value of glibc.malloc.hugetlb in this process's GLIBC_TUNABLES, or null */
  tunable: string | null;
  /** whether large allocations of this process can get huge pages */
  eligible: boolean;
  /** anonymous memory of this process on huge pages now, in KiB (-1: unreadable) */
  anonHugeKiB: number;
}

/** The value given to `name` in a GLIBC_TUNABLES string (`a=1:b=2`), or null. */
function tunableValue(tunables: string | undefined, name: string): string | null {
  if (!tunables) return null;
  let value: string | null = null;
  for (const part of tunables.split(':')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq) === name) value = part.slice(eq + 1);
  }
  return value;
}

/** The kernel's THP mode: the bracketed word of the sysfs file. */
export function thpMode(text?: string): HugePagesStatus['thp'] {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    } catch {
      return 'unknown';
    }
  }
  const m = /\[(always|madvise|never)\]/.exec(t);
  return m ? (m[1] as HugePagesStatus['thp']) : 'unknown';
}

/**
 * `env` with `glibc.malloc.hugetlb=1` added to GLIBC_TUNABLES (the other tunables kept), or
 * `env` itself when the tunable is already set there, to any value (an explicit
 * `glibc.malloc.hugetlb=0` is the user's choice and is kept).
 */
export function hugePagesEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const current = env.GLIBC_TUNABLES;
  if (tunableValue(current, TUNABLE_NAME) !== null) return env;
  return { ...env, GLIBC_TUNABLES: current ? `${current}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/** Whether `env` already decides glibc.malloc.hugetlb (so a relaunch would change nothing). */
export function hugePagesDecided(env: NodeJS.ProcessEnv = process.env): boolean {
  return tunableValue(env.GLIBC_TUNABLES, TUNABLE_NAME) !== null;
}

/** AnonHugePages of /proc/self/smaps_rollup in KiB, or -1. */
function anonHugeKiB(): number {
  try {
    const m = /^AnonHugePages:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/** Whether this process's large allocations can be on huge pages, and how much is. */
export function hugePagesStatus(): HugePagesStatus {
  const thp = thpMode();
  const tunable = tunableValue(process.env.GLIBC_TUNABLES, TUNABLE_NAME);
  const eligible = thp === 'always' || (thp === 'madvise' && tunable !== null && tunable !== '0');
  return { thp, tunable, eligible, anonHugeKiB: anonHugeKiB() };
}

/** One line for logs and reports. */
export function describeHugePages(s: HugePagesStatus = hugePagesStatus()): string {
  const now = s.anonHugeKiB >= 0 ? `, ${(s.anonHugeKiB / 1024).toFixed(0)} MiB on huge pages now` : '';
  if (s.thp === 'always') return `transparent huge pages: always (kernel)${now}`;
  if (s.eligible) return `transparent huge pages: madvise, asked for by ${TUNABLE_NAME}=${s.tunable}${now}`;
  if (s.thp === 'madvise') return `transparent huge pages: not used (kernel mode madvise, start with GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE})${now}`;
  return `transparent huge pages: not available (kernel mode ${s.thp})${now}`;
}
