/**
 * CPU lists (the kernel's format) and pinning the calling thread: no root needed (a thread
 * may narrow its own CPUs within the process's set).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { formatCpuList, parseCpuList, pinThread, threadCpus } from '../src/index.js';

t.test('parseCpuList and formatCpuList', async (t) => {
  t.same(parseCpuList('0-3,6'), [0, 1, 2, 3, 6]);
  t.same(parseCpuList(' 5 , 1 '), [5, 1], 'the order written, blanks around items');
  t.same(parseCpuList('1023'), [1023]);
  t.throws(() => parseCpuList(''), /an empty CPU list/);
  t.throws(() => parseCpuList('1,,2'), /"" is not a CPU number or range/);
  t.throws(() => parseCpuList('0-7:2'), /"0-7:2" is not a CPU number or range/, 'strides are not taken');
  t.throws(() => parseCpuList('4-2'), /"4-2" is a range written backwards/);
  t.throws(() => parseCpuList('1024'), /CPU 1024 is out of range \(0\.\.1023\)/);
  t.equal(formatCpuList([6, 0, 1, 2, 3]), '0-3,6');
  t.equal(formatCpuList([0, 1]), '0-1', 'two in a row are a range, as the kernel writes them');
  t.equal(formatCpuList([2, 2, 9, 8, 7, 4]), '2,4,7-9');
  t.equal(formatCpuList(parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim())), readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(), "the kernel's own list round-trips");
});

const allowedOf = (status: string): string => /Cpus_allowed_list:\s*(\S+)/.exec(status)![1]!;

t.test('pinThread pins the calling thread only; threadCpus reads it back', async (t) => {
  const mine = threadCpus();
  t.same(formatCpuList(mine), allowedOf(readFileSync('/proc/thread-self/status', 'utf8')), 'threadCpus is what the kernel reports for this thread');
  const cpu = mine[mine.length - 1]!;
  // the worker loads the built package (the test loader compiles the main thread's only)
  const url = new URL('../dist/index.js', import.meta.url).href;
  // a worker pins itself and reports what the kernel says of it; the main thread is untouched
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    import(${JSON.stringify(url)}).then((h) => {
      h.pinThread([${cpu}]);
      parentPort.postMessage({ cpus: h.threadCpus(), status: readFileSync('/proc/thread-self/status', 'utf8') });
    });`;
  const got = await new Promise<{ cpus: number[]; status: string }>((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
  t.same(got.cpus, [cpu], 'the worker runs on the one CPU');
  t.equal(allowedOf(got.status), String(cpu), 'the kernel says so too');
  t.same(threadCpus(), mine, 'the main thread keeps its CPUs');
  const max = Number(readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split('-').pop()) + 1;
  t.throws(() => pinThread([max]), { code: 'EINVAL', message: /sched_setaffinity failed: EINVAL/ }, 'a CPU the machine does not have: the kernel refuses');
  t.throws(() => pinThread([]), /a non-empty array of CPU numbers/);
  for (const bad of [0.5, -1, 1024, Number.NaN, '0']) t.throws(() => pinThread([bad as number]), /a CPU number is an integer 0\.\.1023/, `${String(bad)} refused`);
  t.same(threadCpus(), mine, 'a refused pin leaves the CPUs as they were');
});
