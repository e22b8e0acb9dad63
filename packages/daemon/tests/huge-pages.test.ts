/**
 * Huge pages for the connection table (huge-pages.ts): the environment that asks glibc for
 * them keeps the user's other tunables and an explicit choice, the kernel's THP mode is
 * read from its sysfs format, and a Node child started with that environment really gets
 * a large table on huge pages (where the kernel can give them).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { HUGE_PAGES_TUNABLE, describeHugePages, hugePagesDecided, hugePagesEnv, thpMode } from '../src/index.js';

t.test('hugePagesEnv adds the tunable and keeps what is there', async (t) => {
  t.equal(hugePagesEnv({}).GLIBC_TUNABLES, HUGE_PAGES_TUNABLE);
  t.equal(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`);
  // an explicit value, even 0, is the user's decision
  const off = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' };
  t.equal(hugePagesEnv(off), off);
  t.ok(hugePagesDecided(off));
  t.notOk(hugePagesDecided({ GLIBC_TUNABLES: 'glibc.malloc.hugetlbx=1' }), 'a longer name is another tunable');
  t.notOk(hugePagesDecided({}));
  // the rest of the environment is kept
  t.equal(hugePagesEnv({ PATH: '/bin' }).PATH, '/bin');
});

t.test('thpMode reads the bracketed mode', async (t) => {
  t.equal(thpMode('always [madvise] never\n'), 'madvise');
  t.equal(thpMode('[always] madvise never\n'), 'always');
  t.equal(thpMode('always madvise [never]\n'), 'never');
  t.equal(thpMode('garbage'), 'unknown');
  t.match(describeHugePages({ thp: 'madvise', tunable: null, eligible: false, anonHugeKiB: 0 }), /start with GLIBC_TUNABLES=glibc\.malloc\.hugetlb=1/);
  t.match(describeHugePages({ thp: 'madvise', tunable: '1', eligible: true, anonHugeKiB: 4096 }), /asked for by glibc\.malloc\.hugetlb=1, 4 MiB/);
});

const mode = thpMode();
const noThp = mode !== 'madvise' && mode !== 'always' ? `the kernel's THP mode is ${mode}: no huge pages to get` : false;
t.test('a child started with hugePagesEnv has its connection table on huge pages', { skip: noThp }, async (t) => {
  // a table of 1M entries (about 64 MB), then the process's AnonHugePages
  const program = `
    const { ConnTable } = await import(${JSON.stringify(import.meta.resolve('@tunvs/conntrack'))});
    const { DestRegistry } = await import(${JSON.stringify(import.meta.resolve('@tunvs/model'))});
    const { readFileSync } = await import('node:fs');
    const ct = new ConnTable({ capacity: 1 << 20, registry: new DestRegistry(), seed: 1 });
    for (let i = 0; i < (1 << 20); i++) ct.create(6, 0x0a000000 + i, 1024, 0x0a0000ff, 80, 0x0a010001, 80, null, 0, 0);
    const m = /^AnonHugePages:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    process.stdout.write(String(ct.size) + ' ' + (m ? m[1] : '-1'));
  `;
  const run = (env: NodeJS.ProcessEnv): { size: number; hugeKiB: number } => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { env, encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    const [size, huge] = r.stdout.split(' ').map(Number);
    return { size: size!, hugeKiB: huge! };
  };
  const base = { ...process.env };
  delete base.GLIBC_TUNABLES;
  const withHuge = run(hugePagesEnv(base));
  t.equal(withHuge.size, 1 << 20);
  // most of the table's 64 MB should be on 2 MiB pages; 16 MiB leaves room for a fragmented machine
  t.ok(withHuge.hugeKiB >= 16 * 1024, `AnonHugePages ${withHuge.hugeKiB} KiB with ${HUGE_PAGES_TUNABLE}`);
  if (mode === 'madvise') {
    const without = run(base);
    t.ok(without.hugeKiB < withHuge.hugeKiB, `without the tunable ${without.hugeKiB} KiB, with it ${withHuge.hugeKiB} KiB`);
  }
});
