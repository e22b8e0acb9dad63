import t from 'tap';
import { LAB_SKIP, checkLab } from './lab-check.js';

t.test('scripts/lab up --method tun: servers answer, status --json is right, down leaves nothing', { skip: LAB_SKIP }, async (t) => {
  await checkLab(t, 'tun');
});
