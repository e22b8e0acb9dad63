/**
 * More VRRP in network namespaces, with tunvs directors and keepalived 2.2.7:
 *
 *   (d) bad adverts (own generator: wrong VRID, auth, checksum, TTL 254, wrong interval,
 *       truncated, wrong address count) sent to a tunvs MASTER with a higher priority: each
 *       is discarded and counted by its reason, and there is no transition;
 *   (e) two tunvs directors: the higher priority is master; SIGTERM -> priority 0 -> the
 *       other takes over within Skew_Time; restarted, the first preempts;
 *   (f) a track_script going down lowers tunvs's priority below keepalived's, and
 *       keepalived takes over; back up, tunvs preempts;
 *   (i) a partition (one router cut off) makes two masters; healing leaves exactly one, the
 *       highest priority (keepalived's address breaks a tie).
 */
import t from 'tap';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, fixturePath } from '../src/netns.js';
import { vrrpLab, instance, haveKeepalived, VIP } from '../fixtures/vrrp-lab.js';
import type { VrrpLab, Router } from '../fixtures/vrrp-lab.js';

const skip = !isRoot() ? 'needs root' : !haveKeepalived ? 'keepalived not installed' : false;
const SLACK_MS = 1500;
const INJECT = fixturePath('fixtures/vrrp-inject.mjs');

async function roles(l: VrrpLab, master: Router, backups: Router[], ms = 5000): Promise<void> {
  await l.until(
    async () => (await l.state(master)) === 'MASTER' && (await Promise.all(backups.map((b) => l.state(b)))).every((s) => s === 'BACKUP'),
    ms,
    `${master.name} MASTER, ${backups.map((b) => b.name).join(', ')} BACKUP`,
  );
}

t.test('tunvs directors', { skip }, async (t) => {
  const l = vrrpLab(t, 't');
  const t1 = await l.router('t1', 1, 'tunvs');
  const t2 = await l.router('t2', 2, 'tunvs');
  const ka = await l.router('ka', 3, 'keepalived');
  const inj = l.attach('tinj', '10.99.0.9');
  const all = [t1, t2, ka];
  const guarded = async (_t: unknown, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } finally {
      await reset();
    }
  };
  const reset = async (): Promise<void> => {
    for (const r of all) await l.stop(r);
  };

  await t.test('(d) bad adverts are discarded, counted by reason, no transition', (t) => guarded(t, async () => {
    await l.startTunvs(t1, instance({ priority: 100, version: 2, advert: 1 }));
    await l.until(async () => (await l.state(t1)) === 'MASTER', 8000, 't1 MASTER');
    const good = { src: '10.99.0.9', priority: 200 };
    const cases: [string, Record<string, unknown>, string][] = [
      ['wrong VRID', { vrid: 52 }, 'unknown_vrid'],
      ['auth PASS where none is configured', { authType: 1, authPass: 'x' }, 'authtype_mismatch'],
      ['bad checksum', { checksum: 0x1234 }, 'chk_err'],
      ['TTL 254', { ttl: 254 }, 'ip_ttl_err'],
      ['advert interval 2 s (v2: dropped)', { adverInt: 2 }, 'advert_interval_err'],
      ['truncated', { truncate: 6 }, 'packet_len_err'],
      ['two VIPs where we have one', { vips: ['10.99.0.100', '10.99.0.101'] }, 'addr_list_err'],
      ['another VIP', { vips: ['10.99.0.200'] }, 'addr_list_err'],
      ['version 3 to a v2 instance', { version: 3, adverInt: 100 }, 'version_err'],
      ['type 2', { type: 2 }, 'invalid_type_rcvd'],
    ];
    for (const [what, spec, reason] of cases) {
      const before = await l.status(t1);
      const r = l.lab.exec(inj, process.execPath, [INJECT, 'eth0', JSON.stringify({ ...good, ...spec })]);
      t.equal(r.status, 0, `${what}: sent ${r.stderr}`);
      const counted = (st: Awaited<ReturnType<typeof l.status>>): number =>
        reason === 'unknown_vrid' ? st.interfaces[0]!.unknownVrid : (st.instances[0]!.counters.discarded[reason] ?? 0);
      await l.until(async () => counted(await l.status(t1)) > counted(before), 3000, `${what}: counted`);
      const after = await l.status(t1);
      const inst = after.instances[0]!;
      t.equal(inst.state, 'MASTER', `${what}: still MASTER`);
      if (reason === 'unknown_vrid') t.equal(after.interfaces[0]!.unknownVrid, before.interfaces[0]!.unknownVrid + 1, `${what}: counted as unknown_vrid on eth0`);
      else t.equal(inst.counters.discarded[reason] ?? 0, (before.instances[0]!.counters.discarded[reason] ?? 0) + 1, `${what}: counted as ${reason}`);
    }
    const trans = l.logs(t1).filter((m) => m.msg === 'vrrp transition');
    t.equal(trans.length, 2, 'only INIT->BACKUP and BACKUP->MASTER: no transition from any bad advert');
    // the same advert, well formed, does make it yield
    l.lab.exec(inj, process.execPath, [INJECT, 'eth0', JSON.stringify(good)]);
    await l.until(async () => (await l.state(t1)) === 'BACKUP', 2000, 't1 BACKUP after a valid higher-priority advert');
    t.pass('a valid higher-priority advert is obeyed');
  }));

  await t.test('(e) two tunvs directors', (t) => guarded(t, async () => {
    const c1 = instance({ priority: 150 });
    await l.startTunvs(t1, c1);
    await l.startTunvs(t2, instance({ priority: 100 }));
    await roles(l, t1, [t2]);
    await l.until(() => l.who() === 't1', 3000, 'the VIP to answer from t1');
    t1.proc!.proc.kill('SIGTERM');
    const took = await l.until(async () => (await l.state(t2)) === 'MASTER', 609 * 0.1 + SLACK_MS + 1000, 't2 MASTER');
    t.ok(took <= 61 + SLACK_MS, `t2 MASTER ${took} ms after t1's priority 0 (v3 skew at 0.1 s: 61 ms)`);
    await t1.proc!.wait(5000);
    t.notOk(l.holdsVip(t1), 't1 removed its VIP when stopping');
    await l.until(() => l.who() === 't2', 3000, 'the VIP to answer from t2');
    await l.startTunvs(t1, c1);
    await roles(l, t1, [t2]);
    await l.until(() => l.who() === 't1', 3000, 'the VIP to answer from t1 again');
    t.notOk(l.holdsVip(t2), 't2 gave the VIP back');
  }));

  await t.test('(f) track_script down: priority below the peer, the peer takes over', (t) => guarded(t, async () => {
    const flag = join(t1.dir, 'healthy');
    writeFileSync(flag, '');
    const chk = join(t1.dir, 'check.sh');
    writeFileSync(chk, `#!/bin/sh\ntest -e ${flag}\n`);
    chmodSync(chk, 0o755);
    await l.startKeepalived(ka, instance({ priority: 100 }));
    await l.startTunvs(
      t1,
      `global_defs {\n    enable_script_security\n    script_user root\n}\nvrrp_script chk {\n    script "${chk}"\n    interval 1\n    fall 1\n    rise 1\n    weight -100\n}\n` +
        instance({ priority: 150, extra: '    track_script {\n        chk\n    }' }),
    );
    await roles(l, t1, [ka], 6000);
    await l.until(() => l.who() === 't1', 3000, 'the VIP to answer from t1');
    rmSync(flag);
    await l.until(async () => (await l.status(t1)).instances[0]!.priority.effective === 50, 4000, 'effective priority 50');
    const s = await l.status(t1);
    t.match(s.instances[0]!.priority.why.join(' '), /script chk KO: -100/, `why: ${s.instances[0]!.priority.why.join('; ')}`);
    await l.until(() => l.holdsVip(ka), 3000, 'keepalived to take over');
    await l.until(async () => (await l.state(t1)) === 'BACKUP', 2000, 't1 BACKUP');
    t.pass('keepalived preempted the weakened tunvs');
    await l.until(() => l.who() === 'ka', 3000, 'the VIP to answer from keepalived');
    writeFileSync(flag, '');
    await roles(l, t1, [ka], 6000);
    t.pass('script OK again: priority 150, tunvs preempts');
    t.ok(existsSync(flag));
  }));

  await t.test('(i) partition then heal: exactly one master, the RFC winner', (t) => guarded(t, async () => {
    // t1 150, ka 120, t2 100. t1 refreshes its GARPs every second while master
    // (garp_master_refresh): see the client's part below for why
    await l.startTunvs(t1, instance({ priority: 150, extra: '    garp_master_refresh 1' }));
    await l.startKeepalived(ka, instance({ priority: 120 }));
    await l.startTunvs(t2, instance({ priority: 100 }));
    await roles(l, t1, [ka, t2], 6000);
    l.cut(t1, true);
    await roles(l, ka, [t2], 3000);
    t.equal(await l.state(t1), 'MASTER', 'the cut-off t1 stays master alone');
    t.pass('partitioned: two masters (t1 alone, keepalived for the rest)');
    l.cut(t1, false);
    await roles(l, t1, [ka, t2], 4000);
    // and it holds: two more adverts from t1 after the heal
    const healed = (await l.status(t1)).instances[0]!.counters.advertsSent;
    await l.until(async () => (await l.status(t1)).instances[0]!.counters.advertsSent >= healed + 2, 3000, 'two more adverts from t1');
    t.same(await Promise.all(all.map((r) => l.state(r))), ['MASTER', 'BACKUP', 'BACKUP'], 'healed: exactly one master, the highest priority');
    // The client's ARP cache still has keepalived's MAC for the VIP (its GARPs when it became
    // master in the partition). t1 never stopped being master, so it sends GARPs again only
    // if it hears keepalived's lower priority (garp_lower_prio_repeat), and that is a race:
    // when keepalived hears t1 first, it yields without sending another advert, as RFC 5798
    // says, and the client would keep the dead MAC until its entry expires (30 s and more).
    // keepalived's answer is a master's periodic GARP (garp_master_refresh), which t1 runs
    // here: the client learns t1 back within a refresh (plus the ARP locktime, 1 s).
    await l.untilWho('t1', 8000);
    t.notOk(l.holdsVip(ka), 'keepalived released the VIP');
    await reset();
    // a tie: t1 and keepalived both at 100 are both master while partitioned; healed, the
    // higher address wins (RFC 5798 6.4.3)
    await l.startTunvs(t1, instance({ priority: 100 }));
    await l.startKeepalived(ka, instance({ priority: 100 }));
    await l.until(async () => (await Promise.all([l.state(t1), l.state(ka)])).includes('MASTER'), 6000, 'a master');
    l.cut(t1, true);
    await l.until(async () => (await l.state(t1)) === 'MASTER' && l.holdsVip(ka), 3000, 'both masters');
    l.cut(t1, false);
    await roles(l, ka, [t1], 4000);
    t.pass(`equal priority: the higher address (${ka.ip}) is the one master left`);
  }));
  void VIP;
});

