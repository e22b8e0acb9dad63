import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// the README's example runs and tells the story it claims
t.test('examples/two-routers.mjs', (t) => {
  const file = fileURLToPath(new URL('../examples/two-routers.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /3\.414 s {2}a: BACKUP -> MASTER/, 'a: master-down 3 s + skew (256-150)/256 s');
  t.match(r.stdout, /13\.023 s {2}b: BACKUP -> MASTER \(no advert from master 10\.99\.0\.1 within master-down 3609375 us\)/, 'b: 9.414 + 3.609 s');
  t.end();
});
