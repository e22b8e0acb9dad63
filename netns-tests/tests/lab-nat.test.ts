import t from 'tap';
import { LAB_SKIP, checkLab } from './lab-check.js';
import { lab, namespaces, LAB_PREFIX } from './lab-util.js';

t.test('scripts/lab up --method nat: servers answer, status --json is right, down leaves nothing', { skip: LAB_SKIP }, async (t) => {
  await checkLab(t, 'nat');
});

t.test('scripts/lab up with two clients on br-lan', { skip: LAB_SKIP }, async (t) => {
  await checkLab(t, 'nat', 2, 2);
});

t.test('scripts/lab up with a bad method fails and leaves nothing', (t) => {
  const r = lab('up', '--method', 'bogus');
  t.not(r.code, 0);
  t.match(r.stderr, /unknown method/);
  t.same(namespaces(LAB_PREFIX), []);
  t.end();
});
