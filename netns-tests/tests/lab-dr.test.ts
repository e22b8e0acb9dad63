import t from 'tap';
import { checkLab } from './lab-check.js';

t.test('scripts/lab up --method dr: servers answer, status --json is right, down leaves nothing', async (t) => {
  await checkLab(t, 'dr');
});
