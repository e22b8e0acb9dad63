// The state machine under a fake clock: each timer is checked one microsecond before and
// at its boundary (master down, skew after priority 0, advert interval, GARP second burst
// and refresh, preempt_delay), and each advert case of keepalived's backup/master receive
// paths; sync groups; tracking; shutdown; split brain and its healing.
import t from 'tap';
import { parseIpv4 } from '@tunvs/packet';
import { masterDownUs, skewUs, VrrpState, stateName, effectivePriority } from '../src/index.js';
import type { Effective } from '../src/index.js';
import { S, spec, router, advertFrom, Net } from './helpers.js';

const st = (r: ReturnType<typeof router>['r'], n = 'VI_1'): string => stateName(r.get(n).state);
const ok: Effective = { priority: 100, fault: [], why: [] };

t.test('timers are keepalived integer microseconds', (t) => {
  t.equal(masterDownUs(2, 100, S), 3_609_375, 'prio 100, 1 s');
  t.equal(masterDownUs(2, 150, S), 3_414_062, 'prio 150, 1 s');
  t.equal(masterDownUs(2, 254, S), 3_007_812, 'prio 254, 1 s');
  t.equal(masterDownUs(2, 100, 3 * S), 9_609_375, 'v2 at 3 s: skew not scaled');
  t.equal(masterDownUs(3, 100, 3 * S), 10_828_125, 'v3 at 3 s: skew scaled');
  t.equal(masterDownUs(3, 100, 100_000), 360_937, 'v3 prio 100 at 0.1 s');
  t.equal(skewUs(2, 100, S), 609_375);
  t.equal(masterDownUs(2, 100, S, 2), 2_609_375, 'down_timer_adverts 2');
  t.end();
});

t.test('start as BACKUP, MASTER exactly at master down; advert, VIPs, GARP, notify in that order', (t) => {
  const { r, io } = router([spec()]);
  r.start(0);
  t.same(io.take(), ['vips VI_1 down', 'state VI_1 INIT->BACKUP', 'notify INSTANCE VI_1 BACKUP 100'], 'VIPs removed, BACKUP, notify');
  const md = 3_609_375;
  t.equal(r.nextDeadline(), md);
  r.tick(md - 1);
  t.equal(st(r), 'BACKUP', '1 µs before master down: still BACKUP');
  r.tick(md);
  t.same(io.take(), ['advert VI_1 100', 'vips VI_1 up', 'garp VI_1 x5', 'state VI_1 BACKUP->MASTER', 'notify INSTANCE VI_1 MASTER 100']);
  t.equal(r.get('VI_1').counters.become_master, 1);
  t.equal(r.nextDeadline(), md + S, 'next advert one interval later');
  r.tick(md + S - 1);
  t.same(io.take(), [], 'nothing before the interval');
  r.tick(md + S);
  t.same(io.take(), ['advert VI_1 100']);
  // second GARP burst exactly garp_master_delay after becoming master
  r.tick(md + 5 * S - 1);
  t.same(io.take().filter((e) => e.startsWith('garp')), [], 'no second burst before 5 s');
  r.tick(md + 5 * S);
  t.same(io.take().filter((e) => e.startsWith('garp')), ['garp VI_1 x5'], 'second burst at 5 s');
  t.end();
});

t.test('the address owner becomes MASTER after 1 µs, without a BACKUP notify', (t) => {
  const { r, io } = router([spec({ priority: 255, wantMaster: true })]);
  r.start(10);
  t.same(io.take(), ['vips VI_1 down']);
  t.equal(r.nextDeadline(), 11);
  r.tick(11);
  t.equal(st(r), 'MASTER');
  t.same(io.take()[0], 'advert VI_1 255');
  t.end();
});

t.test('state MASTER without priority 255 still waits the full master down', (t) => {
  const { r } = router([spec({ priority: 150, wantMaster: true })]);
  r.start(0);
  t.equal(r.nextDeadline(), 3_414_062);
  t.end();
});

t.test('BACKUP: a higher-priority advert restarts the down timer, a lower one does not (preemption)', (t) => {
  const { r, io } = router([spec({ priority: 100 })]);
  r.start(0);
  io.take();
  const md = 3_609_375;
  const hi = advertFrom('10.99.0.2', { priority: 150 });
  t.ok(r.receive(hi, 0, hi.length, 2 * S).accepted);
  t.equal(r.nextDeadline(), 2 * S + md, 'timer := master down from the advert');
  t.equal(r.get('VI_1').masterAddr, parseIpv4('10.99.0.2'));
  const lo = advertFrom('10.99.0.2', { priority: 50 });
  r.receive(lo, 0, lo.length, 3 * S);
  t.equal(r.nextDeadline(), 2 * S + md, 'lower priority: discarded, timer not reset');
  t.equal(r.get('VI_1').counters.discarded['lower_priority_preempt'], 1);
  r.tick(2 * S + md - 1);
  t.equal(st(r), 'BACKUP');
  r.tick(2 * S + md);
  t.equal(st(r), 'MASTER', 'preempts when the timer runs out');
  t.match(r.get('VI_1').lastTransition?.reason, /preempting lower-priority master 10\.99\.0\.2/);
  t.end();
});

t.test('BACKUP with nopreempt accepts a lower-priority master', (t) => {
  const { r } = router([spec({ priority: 100, nopreempt: true })]);
  r.start(0);
  const lo = advertFrom('10.99.0.2', { priority: 50 });
  r.receive(lo, 0, lo.length, 1 * S);
  t.equal(r.nextDeadline(), S + 3_609_375, 'accepted: timer reset');
  r.receive(lo, 0, lo.length, 2 * S);
  t.equal(r.nextDeadline(), 2 * S + 3_609_375);
  t.end();
});

t.test('preempt_delay: a lower-priority master is accepted until the delay runs out', (t) => {
  const { r } = router([spec({ priority: 100, preemptDelayUs: 10 * S })]);
  r.start(0);
  const lo = advertFrom('10.99.0.2', { priority: 50 });
  const md = 3_609_375;
  r.receive(lo, 0, lo.length, 1 * S); // starts the delay: preempt at 11 s
  t.equal(r.get('VI_1').preemptAt, 11 * S);
  for (let s = 2; s <= 10; s++) r.receive(lo, 0, lo.length, s * S);
  t.equal(r.nextDeadline(), 10 * S + md, 'still accepting at 10 s');
  r.receive(lo, 0, lo.length, 11 * S - 1);
  t.equal(r.nextDeadline(), 11 * S - 1 + md, '1 µs before the delay ends: accepted');
  r.receive(lo, 0, lo.length, 11 * S);
  t.equal(r.nextDeadline(), 11 * S - 1 + md, 'at the end of the delay: discarded');
  r.tick(11 * S - 1 + md);
  t.equal(st(r), 'MASTER');
  // a higher-priority master stops the delay
  const { r: r2 } = router([spec({ priority: 100, preemptDelayUs: 10 * S })]);
  r2.start(0);
  r2.receive(lo, 0, lo.length, S);
  const hi = advertFrom('10.99.0.3', { priority: 200 });
  r2.receive(hi, 0, hi.length, 2 * S);
  t.equal(r2.get('VI_1').preemptAt, 0, 'higher priority stops the preempt delay');
  t.end();
});

t.test('BACKUP: priority 0 leaves only Skew_Time', (t) => {
  const { r } = router([spec({ priority: 100 })]);
  r.start(0);
  const hi = advertFrom('10.99.0.2', { priority: 150 });
  r.receive(hi, 0, hi.length, S);
  const z = advertFrom('10.99.0.2', { priority: 150 }, 0);
  r.receive(z, 0, z.length, 2 * S);
  t.equal(r.get('VI_1').counters.pri_zero_rcvd, 1);
  t.equal(r.nextDeadline(), 2 * S + 609_375, 'skew only');
  r.tick(2 * S + 609_374);
  t.equal(st(r), 'BACKUP');
  r.tick(2 * S + 609_375);
  t.equal(st(r), 'MASTER');
  t.match(r.get('VI_1').lastTransition?.reason, /sent priority 0/);
  t.end();
});

function master(over = {}) {
  const x = router([spec(over)]);
  x.r.start(0);
  x.r.tick(x.r.nextDeadline());
  x.io.take();
  return x;
}

t.test('MASTER: priority 0 and lower priority are answered with an advert; no transition', (t) => {
  const { r, io } = master();
  const z = advertFrom('10.99.0.2', {}, 0);
  r.receive(z, 0, z.length, 4 * S);
  t.same(io.take(), ['advert VI_1 100']);
  const lo = advertFrom('10.99.0.2', { priority: 50 });
  r.receive(lo, 0, lo.length, 4 * S + 1);
  t.same(io.take(), ['advert VI_1 100', 'notify INSTANCE VI_1 MASTER_RX_LOWER_PRI 100']);
  t.equal(st(r), 'MASTER');
  const { r: r2, io: io2 } = master({ lowerPrioNoAdvert: true, garp: { masterDelayUs: 0, masterRepeat: 5, masterRefreshUs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 2, lowerPrioDelayUs: S } });
  r2.receive(lo, 0, lo.length, 5 * S);
  t.same(io2.take(), ['garp VI_1 x2', 'notify INSTANCE VI_1 MASTER_RX_LOWER_PRI 100'], 'lower_prio_no_advert; garp_lower_prio_repeat');
  r2.tick(6 * S);
  t.ok(io2.take().includes('garp VI_1 x2'), 'second lower-priority burst after garp_lower_prio_delay');
  t.end();
});

t.test('MASTER: higher priority -> BACKUP, VIPs removed, no priority 0', (t) => {
  const { r, io } = master();
  const hi = advertFrom('10.99.0.2', { priority: 150 });
  r.receive(hi, 0, hi.length, 5 * S);
  t.same(io.take(), ['vips VI_1 down', 'state VI_1 MASTER->BACKUP', 'notify INSTANCE VI_1 BACKUP 100']);
  t.equal(r.get('VI_1').counters.release_master, 1);
  t.equal(r.nextDeadline(), 5 * S + 3_609_375);
  t.end();
});

t.test('equal priority: the higher address wins', (t) => {
  const a = master(); // we are 10.99.0.1
  const fromHigher = advertFrom('10.99.0.2', { priority: 100 });
  a.r.receive(fromHigher, 0, fromHigher.length, 5 * S);
  t.equal(st(a.r), 'BACKUP', 'yield to 10.99.0.2');
  const b = router([spec()], '10.99.0.3');
  b.r.start(0);
  b.r.tick(b.r.nextDeadline());
  b.io.take();
  b.r.receive(fromHigher, 0, fromHigher.length, 5 * S);
  t.equal(st(b.r), 'MASTER', '10.99.0.3 keeps MASTER');
  t.same(b.io.take(), ['advert VI_1 100', 'notify INSTANCE VI_1 MASTER_RX_LOWER_PRI 100']);
  t.end();
});

t.test('two owners: we drop to 254 and yield', (t) => {
  const { r } = master({ priority: 255, wantMaster: true });
  const own = advertFrom('10.99.0.2', { priority: 255 });
  r.receive(own, 0, own.length, 5 * S);
  t.equal(r.get('VI_1').effectivePriority, 254);
  t.equal(st(r), 'BACKUP');
  t.end();
});

t.test('v3: the backup adopts the master interval; mismatches are not dropped', (t) => {
  const { r } = router([spec({ version: 3, adverIntUs: S })]);
  r.start(0);
  const fast = advertFrom('10.99.0.2', { version: 3, priority: 200, adverIntUs: 500_000 });
  t.ok(r.receive(fast, 0, fast.length, S).accepted);
  t.equal(r.get('VI_1').masterAdverIntUs, 500_000);
  const md = 3 * 500_000 + skewUs(3, 100, 500_000);
  t.equal(md, 1_804_687);
  t.equal(r.nextDeadline(), S + md, '1.805 s, as measured against keepalived');
  t.end();
});

t.test('v2: an advert interval mismatch is dropped and counted; the timer keeps running', (t) => {
  const { r } = router([spec()]);
  r.start(0);
  const slow = advertFrom('10.99.0.2', { priority: 200, adverIntUs: 2 * S });
  const o = r.receive(slow, 0, slow.length, S);
  t.notOk(o.accepted);
  t.equal(o.reason, 'advert_interval_err');
  t.equal(r.get('VI_1').counters.advert_rcvd, 0, 'a drop is not even counted as received');
  t.equal(r.nextDeadline(), 3_609_375);
  t.end();
});

t.test('tracking: weight-0 failure takes a master to FAULT with priority 0; recovery to BACKUP', (t) => {
  const { r, io } = master();
  r.setTracking('VI_1', { priority: 100, fault: ['script chk KO'], why: [] }, 10 * S);
  t.same(io.take(), ['advert VI_1 0', 'vips VI_1 down', 'state VI_1 MASTER->FAULT', 'notify INSTANCE VI_1 FAULT 100']);
  t.equal(r.nextDeadline(), Infinity, 'FAULT: no timer');
  const hi = advertFrom('10.99.0.2', { priority: 150 });
  r.receive(hi, 0, hi.length, 11 * S);
  t.equal(st(r), 'FAULT', 'adverts ignored in FAULT');
  r.setTracking('VI_1', ok, 12 * S);
  t.same(io.take(), ['state VI_1 FAULT->BACKUP', 'notify INSTANCE VI_1 BACKUP 100']);
  t.equal(r.nextDeadline(), 12 * S + 3_609_375);
  t.end();
});

t.test('tracking: a priority change moves a backup down timer by the change in skew', (t) => {
  const { r, io } = router([spec({ notifyPriorityChanges: true })]);
  r.start(0);
  const hi = advertFrom('10.99.0.2', { priority: 150 });
  r.receive(hi, 0, hi.length, S);
  io.take();
  r.setTracking('VI_1', { priority: 120, fault: [], why: ['script x OK: +20'] }, 2 * S);
  t.equal(r.get('VI_1').effectivePriority, 120);
  t.equal(r.nextDeadline(), S + 3 * S + skewUs(2, 120, S), 'timer follows the new skew');
  t.same(io.take(), ['notify INSTANCE VI_1 BACKUP_PRIORITY 120']);
  t.end();
});

t.test('effectivePriority: weights, reverse, clamp, owner, files, FAULT', (t) => {
  const st0 = { interfaceUp: (n: string) => n === 'up0', script: (n: string) => (n === 'ok' ? 'ok' : n === 'ko' ? 'ko' : 'init') as 'ok' | 'ko' | 'init', fileValue: (n: string) => (n === 'f5' ? 5 : n === 'big' ? -300 : 0) };
  t.same(effectivePriority(100, [{ kind: 'script', name: 'ok', weight: 20, reverse: false }], st0).priority, 120, '+W while OK');
  t.same(effectivePriority(100, [{ kind: 'script', name: 'ko', weight: 20, reverse: false }], st0).priority, 100, '+W not while KO');
  t.same(effectivePriority(100, [{ kind: 'script', name: 'ko', weight: -30, reverse: false }], st0).priority, 70, '-W while KO');
  t.same(effectivePriority(100, [{ kind: 'script', name: 'ok', weight: -30, reverse: true }], st0).priority, 70, 'reverse');
  t.same(effectivePriority(250, [{ kind: 'script', name: 'ok', weight: 20, reverse: false }], st0).priority, 254, 'clamped to 254');
  t.same(effectivePriority(10, [{ kind: 'interface', name: 'down0', weight: -50, reverse: false }], st0).priority, 1, 'clamped to 1');
  t.same(effectivePriority(255, [{ kind: 'script', name: 'ko', weight: -30, reverse: false }], st0).priority, 255, 'owner never adjusted');
  t.same(effectivePriority(100, [{ kind: 'interface', name: 'down0', weight: 0, reverse: false }], st0).fault, ['interface down0 down']);
  t.same(effectivePriority(100, [{ kind: 'script', name: 'new', weight: 0, reverse: false }], st0).fault.length, 1, 'weight-0 script with no result yet: FAULT');
  t.same(effectivePriority(100, [{ kind: 'script', name: 'new', weight: 10, reverse: false }], st0).priority, 100, 'weighted script with no result: nothing');
  t.same(effectivePriority(100, [{ kind: 'file', name: 'f5', weight: 3, reverse: false }], st0).priority, 115, 'file value x weight');
  t.same(effectivePriority(100, [{ kind: 'file', name: 'f5', weight: 0, reverse: false }], st0).fault.length, 1, 'file weight 0, non-zero: FAULT');
  t.same(effectivePriority(100, [{ kind: 'file', name: 'big', weight: 1, reverse: false }], st0).fault.length, 1, 'file <= -254: FAULT');
  t.end();
});

t.test('sync group: members become MASTER together, go BACKUP and FAULT together; group notifies last', (t) => {
  const a = spec({ name: 'VI_1', vrid: 51 });
  const b = spec({ name: 'VI_2', vrid: 52, vips: [parseIpv4('10.98.0.1')], adverIntUs: 2 * S });
  const { r, io } = router([a, b], '10.99.0.1', [{ name: 'G', members: ['VI_1', 'VI_2'] }]);
  r.start(0);
  io.take();
  const mdA = 3_609_375;
  const mdB = 2 * 2 * S + 2 * S + 609_375 - 2 * S; // 3 x 2 s + skew
  t.equal(r.get('VI_2').masterDownUs(), 6_609_375);
  void mdB;
  r.tick(mdA);
  t.equal(st(r, 'VI_1'), 'BACKUP', 'VI_1 alone cannot go MASTER');
  t.equal(r.get('VI_1').wantState, VrrpState.Master);
  t.equal(r.nextDeadline(), mdA + 3_609_375 < 6_609_375 ? mdA + 3_609_375 : 6_609_375);
  r.tick(6_609_375);
  t.same(st(r, 'VI_1') + st(r, 'VI_2'), 'MASTERMASTER', 'both MASTER when the second wants it');
  const ev = io.take().filter((e) => e.startsWith('notify'));
  t.same(ev, ['notify INSTANCE VI_2 MASTER 100', 'notify INSTANCE VI_1 MASTER 100', 'notify GROUP G MASTER 0'], 'instances then the group');
  const hi = advertFrom('10.99.0.2', { vrid: 51, priority: 200 });
  r.receive(hi, 0, hi.length, 10 * S);
  t.same(st(r, 'VI_1') + st(r, 'VI_2'), 'BACKUPBACKUP', 'one member BACKUP -> both');
  t.same(io.take().filter((e) => e.startsWith('notify')), ['notify INSTANCE VI_1 BACKUP 100', 'notify INSTANCE VI_2 BACKUP 100', 'notify GROUP G BACKUP 0']);
  r.setTracking('VI_2', { priority: 100, fault: ['interface eth1 down'], why: [] }, 11 * S);
  t.same(st(r, 'VI_1') + st(r, 'VI_2'), 'FAULTFAULT', 'one member FAULT -> both');
  r.setTracking('VI_2', ok, 12 * S);
  t.same(st(r, 'VI_1') + st(r, 'VI_2'), 'BACKUPBACKUP', 'recovery -> both BACKUP');
  t.end();
});

t.test('shutdown: masters send priority 0 and drop their VIPs, then STOP notifies', (t) => {
  const { r, io } = master();
  r.shutdown(9 * S);
  t.same(io.take(), ['advert VI_1 0', 'vips VI_1 down', 'state VI_1 MASTER->STOP', 'notify INSTANCE VI_1 STOP 100']);
  t.equal(r.get('VI_1').counters.pri_zero_sent, 1);
  t.end();
});

t.test('bad adverts never cause a transition, whatever the bytes', (t) => {
  const { r } = master();
  const good = advertFrom('10.99.0.2', { priority: 200 });
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 3000; i++) {
    const b = good.slice(0, 1 + (rnd() % (good.length + 8)));
    const flips = 1 + (rnd() % 3);
    for (let k = 0; k < flips; k++) b[rnd() % b.length] = rnd() & 0xff;
    r.receive(b, 0, b.length, 5 * S);
    if (st(r) !== 'MASTER') {
      // only a still-valid higher-priority advert may do this: check it really is one
      const fresh = master();
      const o = fresh.r.receive(b, 0, b.length, 5 * S);
      t.ok(o.accepted, 'a transition only for an advert that passes every check');
      t.end();
      return;
    }
  }
  t.pass('3000 mangled adverts, still MASTER');
  t.end();
});

t.test('split brain then heal: exactly one master, the RFC winner', (t) => {
  const n = new Net();
  n.add('a', [spec({ priority: 100 })], '10.99.0.1');
  n.add('b', [spec({ priority: 100 })], '10.99.0.2');
  n.add('c', [spec({ priority: 90 })], '10.99.0.3');
  n.start();
  n.run(10 * S);
  t.same(n.states(), { a: 'BACKUP', b: 'MASTER', c: 'BACKUP' }, 'equal priority: the higher address is master');
  for (const [x, y] of [['a', 'b'], ['a', 'c'], ['b', 'c']] as const) n.partition(x, y, true);
  n.run(20 * S);
  t.same(n.states(), { a: 'MASTER', b: 'MASTER', c: 'MASTER' }, 'partitioned: everyone master');
  for (const [x, y] of [['a', 'b'], ['a', 'c'], ['b', 'c']] as const) n.partition(x, y, false);
  n.run(30 * S);
  t.same(n.states(), { a: 'BACKUP', b: 'MASTER', c: 'BACKUP' }, 'healed: one master, priority then address');
  t.end();
});
