// keepalived's notification jobs (reference/vrrp.md §10): the per-state script as
// configured, then `notify` with INSTANCE|GROUP name STATE priority, then the FIFO line
// with the name in double quotes; events only write the FIFO (or run
// notify_master_rx_lower_pri first); STOP is killed after 1 s.
import t from 'tap';
import { notifyJobs, fifoLine } from '../src/index.js';

const scripts = { master: { argv: ['/n/m.sh', 'up'] }, stop: { argv: ['/n/s.sh'], user: 'nobody' }, notify: { argv: ['/n/all.sh'] }, masterRxLowerPri: { argv: ['/n/low.sh'] } };

t.test('FIFO lines byte for byte', (t) => {
  t.equal(fifoLine({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 150, event: false }), 'INSTANCE "VI_1" MASTER 150\n');
  t.equal(fifoLine({ kind: 'GROUP', name: 'VG_1', state: 'BACKUP', priority: 0, event: false }), 'GROUP "VG_1" BACKUP 0\n');
  t.end();
});

t.test('order and arguments', (t) => {
  t.same(notifyJobs({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 140, event: false }, scripts, true), [
    { kind: 'script', argv: ['/n/m.sh', 'up'], role: 'notify_master' },
    { kind: 'script', argv: ['/n/all.sh', 'INSTANCE', 'VI_1', 'MASTER', '140'], role: 'notify' },
    { kind: 'fifo', line: 'INSTANCE "VI_1" MASTER 140\n' },
  ]);
  t.same(notifyJobs({ kind: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 0, event: false }, scripts, false), [
    { kind: 'script', argv: ['/n/s.sh'], role: 'notify_stop', user: 'nobody', timeoutMs: 1000 },
    { kind: 'script', argv: ['/n/all.sh', 'INSTANCE', 'VI_1', 'STOP', '0'], role: 'notify', timeoutMs: 1000 },
  ], 'STOP: killed after 1 s, no FIFO without one configured');
  t.same(notifyJobs({ kind: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100, event: false }, scripts, true), [
    { kind: 'script', argv: ['/n/all.sh', 'INSTANCE', 'VI_1', 'BACKUP', '100'], role: 'notify' },
    { kind: 'fifo', line: 'INSTANCE "VI_1" BACKUP 100\n' },
  ], 'no notify_backup configured: notify and the FIFO only');
  t.same(notifyJobs({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER_RX_LOWER_PRI', priority: 150, event: true }, scripts, true), [
    { kind: 'script', argv: ['/n/low.sh'], role: 'notify_master_rx_lower_pri' },
    { kind: 'fifo', line: 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n' },
  ]);
  t.same(notifyJobs({ kind: 'INSTANCE', name: 'VI_1', state: 'BACKUP_PRIORITY', priority: 90, event: true }, scripts, true), [{ kind: 'fifo', line: 'INSTANCE "VI_1" BACKUP_PRIORITY 90\n' }], 'a priority change only writes the FIFO');
  t.end();
});
