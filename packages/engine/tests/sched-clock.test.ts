import t from 'tap';
import { ServiceTable } from '../src/services.js';

t.test('a service table with a clock starts lblc/lblcr timers at the service\'s creation', async (t) => {
  let now = 1_000_000;
  const table = new ServiceTable({}, { now: () => now });
  for (const [i, scheduler] of ['lblc', 'lblcr'].entries()) {
    now += 5_000;
    const svc = table.addService({ protocol: 'tcp', addr: '10.0.0.100', port: 80 + i, scheduler });
    const gc = svc.sched as unknown as { nextCheck: number; counter: number; tick(n: number): void };
    t.equal(gc.nextCheck, now + 60_000, `${scheduler}: first GC run 60 s after creation`);
    gc.tick(now + 59_999);
    t.equal(gc.counter, 1, `${scheduler}: nothing ran before`);
    gc.tick(now + 60_000);
    t.equal(gc.counter, 2, `${scheduler}: one run at creation + 60 s`);
  }
  // a scheduler switched by -E is a new instance: its timer starts then
  now = 2_000_000;
  const svc = table.editService({ protocol: 'tcp', addr: '10.0.0.100', port: 80, scheduler: 'lblcr' });
  t.equal((svc.sched as unknown as { nextCheck: number }).nextCheck, 2_060_000);
});
