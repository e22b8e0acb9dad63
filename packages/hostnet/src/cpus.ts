/**
 * CPU lists in the kernel's format (`taskset -c`, `/proc/PID/status` Cpus_allowed_list,
 * `/sys/devices/system/cpu/online`): "0-3,6" is CPUs 0, 1, 2, 3 and 6. And the CPUs of the
 * calling thread: `sched_setaffinity` with pid 0 pins that thread only, not the process,
 * which is what a Director per core wants (each worker thread pins itself).
 */
import { native } from './native.js';

/** CPU_SETSIZE of glibc: the highest CPU number sched_setaffinity takes is one less. */
export const MAX_CPUS = 1024;

/**
 * The CPUs of a list such as "0-3,6" (ranges and single numbers, comma-separated; blanks
 * around the items allowed), in the order written. Throws on anything else, on a CPU at
 * or above MAX_CPUS and on a range written backwards, naming the item.
 */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0] === '') throw new Error('an empty CPU list');
  for (const item of items) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (m === null) throw new Error(`"${item}" is not a CPU number or range (a list looks like 0-3,6)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi >= MAX_CPUS) throw new Error(`CPU ${hi} is out of range (0..${MAX_CPUS - 1})`);
    if (hi < lo) throw new Error(`"${item}" is a range written backwards`);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

/** The kernel's form of a CPU set: ascending, runs of two or more as ranges ("0-3,6", "0-1"). */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : String(s[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/** The CPUs the calling thread may run on, ascending (sched_getaffinity). */
export function threadCpus(): number[] {
  return native().threadCpus();
}

/**
 * Pin the calling thread (a worker thread pins itself; other threads of the process keep
 * their CPUs) to `cpus`. Throws the kernel's error (`code` EINVAL when none of them is a
 * CPU this thread may run on).
 */
export function pinThread(cpus: readonly number[]): void {
  native().setThreadCpus(cpus);
}
