/**
 * tunvsd's VRRP against a real keepalived 2.2.7 in network namespaces; `curl VIP` from a
 * client says who holds the VIP. One lab (segment, client, a keepalived router and a tunvs
 * router) serves every case; each case starts the daemons it needs and stops them.
 *
 *   (a) keepalived master, tunvs backup: SIGKILL keepalived -> tunvs MASTER within
 *       master-down and the VIP answers from tunvs; keepalived restarted -> it preempts,
 *       tunvs goes back to BACKUP, the VIP answers from keepalived again;
 *   (b) the same with the roles reversed;
 *   (c) VRRPv2 with auth PASS, and v3 unicast peers: adverts accepted both ways; a stopping
 *       master's priority 0 hands over within Skew_Time;
 *   (h) notify scripts: the same notify_backup / notify_master / notify configuration run by
 *       keepalived and by tunvs gives the same calls, per-state script first.
 *
 * Timing: v3 at 0.1 s (master down ~0.36 s) except where v2 needs whole seconds.
 */
import t from 'tap';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot } from '../src/netns.js';
import { vrrpLab, instance, haveKeepalived } from '../fixtures/vrrp-lab.js';
import type { VrrpLab, Router } from '../fixtures/vrrp-lab.js';

const skip = !isRoot() ? 'needs root' : !haveKeepalived ? 'keepalived not installed' : false;
// a loaded 2-core machine: scheduling and polling, on top of the protocol's own times
const SLACK_MS = 1500;

async function roles(l: VrrpLab, master: Router, backup: Router, ms = 5000): Promise<void> {
  await l.until(async () => (await l.state(master)) === 'MASTER' && (await l.state(backup)) === 'BACKUP', ms, `${master.name} MASTER, ${backup.name} BACKUP`);
}

t.test('tunvs and keepalived', { skip }, async (t) => {
  const l = vrrpLab(t, 'k');
  const ka = await l.router('ka', 1, 'keepalived');
  const tv = await l.router('tv', 2, 'tunvs');
  const guarded = async (_t: unknown, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } finally {
      await reset();
    }
  };
  const reset = async (): Promise<void> => {
    await l.stop(ka);
    await l.stop(tv);
  };

  await t.test('(a) keepalived master, tunvs backup: kill, take over, preempt back', (t) => guarded(t, async () => {
    const kaConf = instance({ priority: 150 });
    await l.startKeepalived(ka, kaConf);
    await l.startTunvs(tv, instance({ priority: 100 }));
    await roles(l, ka, tv);
    await l.until(() => l.who() === 'ka', 3000, 'the VIP to answer from ka');
    await l.until(async () => (await l.status(tv)).instances[0]!.counters.advertsReceived > 2, 3000, 'adverts');
    const st = await l.status(tv);
    const md = st.instances[0]!.masterDown;
    t.equal(st.instances[0]!.master?.address, ka.ip, 'tunvs sees keepalived as master');
    t.equal(st.instances[0]!.master?.priority, 150);
    t.same(st.instances[0]!.counters.discarded, {}, 'no keepalived advert discarded');

    l.killKeepalived(ka);
    const took = await l.until(async () => (await l.state(tv)) === 'MASTER', md * 1000 + SLACK_MS + 2000, 'tunvs MASTER');
    t.ok(took <= md * 1000 + SLACK_MS, `tunvs MASTER ${took} ms after the kill (master down ${(md * 1000).toFixed(0)} ms)`);
    // a crashed keepalived leaves its VIP behind (seen in keepalived's own lab); a reboot would clear it
    await l.stop(ka);
    await l.until(() => l.who() === 'tv', 3000, 'the VIP to answer from tunvs');
    t.pass('the VIP answers from tunvs');
    const tr = l.logs(tv).filter((m) => m.msg === 'vrrp transition').pop()!;
    t.match(tr, { from: 'BACKUP', to: 'MASTER', instance: 'VI_1' }, 'one JSON line for the transition');
    t.match(String(tr.reason), new RegExp(`no advert from master ${ka.ip.replace(/\./g, '\\.')} within master-down`), `with its reason: ${String(tr.reason)}`);

    await l.startKeepalived(ka, kaConf);
    await roles(l, ka, tv, 5000);
    t.pass('restarted keepalived preempts; tunvs back to BACKUP');
    await l.until(() => l.who() === 'ka', 3000, 'the VIP to answer from keepalived');
    t.notOk(l.holdsVip(tv), 'tunvs removed the VIP');
    const back = l.logs(tv).filter((m) => m.msg === 'vrrp transition').pop()!;
    t.match(String(back.reason), /higher priority 150, ours 100/);
  }));

  await t.test('(b) tunvs master, keepalived backup: kill, take over, preempt back', (t) => guarded(t, async () => {
    const tvConf = instance({ priority: 150 });
    await l.startTunvs(tv, tvConf);
    await l.startKeepalived(ka, instance({ priority: 100 }));
    await roles(l, tv, ka);
    await l.until(() => l.who() === 'tv', 3000, 'the VIP to answer from tv');
    t.notOk(l.holdsVip(ka), 'keepalived (backup) does not hold the VIP');
    const md = 3 * 0.1 + ((256 - 100) * 0.1) / 256;
    tv.proc!.kill();
    const took = await l.until(() => l.holdsVip(ka), md * 1000 + SLACK_MS + 2000, 'keepalived to take the VIP');
    t.ok(took <= md * 1000 + SLACK_MS, `keepalived MASTER ${took} ms after the kill (master down ${(md * 1000).toFixed(0)} ms)`);
    await l.stop(tv);
    await l.until(() => l.who() === 'ka', 3000, 'the VIP to answer from keepalived');
    t.pass('the VIP answers from keepalived');
    await l.startTunvs(tv, tvConf);
    await roles(l, tv, ka, 5000);
    await l.until(() => l.who() === 'tv', 3000, 'the VIP to answer from tunvs again');
    t.notOk(l.holdsVip(ka), 'keepalived gave the VIP back');
    const s = await l.status(tv);
    t.match(s.instances[0]!.lastTransition?.reason, new RegExp(`preempting lower-priority master ${ka.ip.replace(/\./g, '\\.')}`), 'tunvs preempted keepalived');
  }));

  await t.test('(c) v2 with auth PASS; priority 0 on stop', (t) => guarded(t, async () => {
    const auth = '    authentication {\n        auth_type PASS\n        auth_pass lab1234\n    }';
    await l.startKeepalived(ka, instance({ priority: 150, version: 2, advert: 1, extra: auth }));
    await l.startTunvs(tv, instance({ priority: 100, version: 2, advert: 1, extra: auth }));
    await roles(l, ka, tv, 8000);
    await l.until(async () => (await l.status(tv)).instances[0]!.counters.advertsReceived > 0, 3000, 'an advert from keepalived');
    t.same((await l.status(tv)).instances[0]!.counters.discarded, {}, 'PASS adverts from keepalived accepted, none discarded');
    // SIGTERM: keepalived sends priority 0; tunvs takes over after Skew_Time (0.609 s)
    l.killKeepalived(ka, 'SIGTERM');
    const took = await l.until(async () => (await l.state(tv)) === 'MASTER', 609 + SLACK_MS + 1000, 'tunvs MASTER');
    t.ok(took <= 609 + SLACK_MS, `tunvs MASTER ${took} ms after keepalived stopped (skew 609 ms)`);
    t.match((await l.status(tv)).instances[0]!.lastTransition?.reason, /sent priority 0/);
    await l.until(() => l.who() === 'tv', 3000, 'the VIP to answer from tunvs');
    // keepalived accepts tunvs's PASS adverts: restarted with priority 50 it stays backup
    await l.stop(ka);
    await l.startKeepalived(ka, instance({ priority: 50, version: 2, advert: 1, extra: auth }));
    // a master down of keepalived's is 3 adverts plus its skew: 5 more tunvs adverts after
    // keepalived started would have let it take over had it refused them
    const sent = (await l.status(tv)).instances[0]!.counters.advertsSent;
    await l.until(async () => (await l.status(tv)).instances[0]!.counters.advertsSent >= sent + 5, 10000, '5 more adverts from tunvs');
    t.notOk(l.holdsVip(ka), 'keepalived (priority 50) stays BACKUP: it accepts tunvs adverts with PASS');
    t.equal(await l.state(tv), 'MASTER');
  }));

  await t.test('(c) v3 unicast peers', (t) => guarded(t, async () => {
    const uni = (self: string, peer: string): string => `    unicast_src_ip ${self}\n    unicast_peer {\n        ${peer}\n    }`;
    await l.startKeepalived(ka, instance({ priority: 100, extra: uni(ka.ip, tv.ip) }));
    await l.startTunvs(tv, instance({ priority: 150, extra: uni(tv.ip, ka.ip) }));
    await roles(l, tv, ka);
    await l.until(() => l.who() === 'tv', 3000, 'the VIP to answer from tv');
    const s = await l.status(tv);
    t.ok(s.instances[0]!.counters.advertsSent > 0, 'tunvs sends unicast adverts (keepalived stays backup)');
    tv.proc!.proc.kill('SIGTERM');
    await tv.proc!.wait(5000);
    const took = await l.until(() => l.holdsVip(ka), 609 + SLACK_MS, 'keepalived to take over after priority 0');
    t.pass(`keepalived took over ${took} ms after tunvs's priority 0 (unicast)`);
    t.notOk(l.holdsVip(tv), 'tunvs removed its VIP on SIGTERM');
  }));

  await t.test('(h) notify scripts: the same calls as keepalived, per-state script first', (t) => guarded(t, async () => {
    const script = (r: Router): string => {
      const p = join(r.dir, 'notify.sh');
      writeFileSync(p, `#!/bin/sh\necho "$(basename "$0") $*" >> ${join(r.dir, 'notify.log')}\n`);
      chmodSync(p, 0o755);
      return p;
    };
    const conf = (r: Router, vrid: number, vip: string): string =>
      `global_defs {\n    enable_script_security\n    script_user root\n}\n` +
      instance({
        vrid,
        priority: 100,
        vips: [`${vip}/24 dev eth0`],
        extra: `    notify_backup "${script(r)} backup-script"\n    notify_master "${script(r)} master-script"\n    notify ${script(r)}`,
      });
    // each alone on its own VRID: both go BACKUP, then MASTER
    await l.startKeepalived(ka, conf(ka, 61, '10.99.0.101'));
    await l.startTunvs(tv, conf(tv, 62, '10.99.0.102'));
    await l.until(async () => (await l.state(tv)) === 'MASTER' && l.holdsVip(ka, '10.99.0.101'), 5000, 'both MASTER');
    const calls = (r: Router): number => {
      try {
        return readFileSync(join(r.dir, 'notify.log'), 'utf8').trim().split('\n').length;
      } catch {
        return 0;
      }
    };
    await l.until(() => calls(ka) >= 4 && calls(tv) >= 4, 5000, 'four notify calls on each side');
    // the scripts run concurrently, so the file order inside one transition is a race:
    // compare per transition, and take the launch order from tunvs's log
    const read = (r: Router): string[][] => {
      const lines = readFileSync(join(r.dir, 'notify.log'), 'utf8').trim().split('\n');
      const b = lines.filter((x) => /backup|BACKUP/.test(x));
      const m = lines.filter((x) => /master|MASTER/.test(x));
      t.ok(lines.indexOf(b[b.length - 1]!) < lines.indexOf(m[0]!), `${r.name}: the BACKUP calls come before the MASTER calls`);
      return [b.sort(), m.sort()];
    };
    const k = read(ka);
    t.same(k, [['notify.sh INSTANCE VI_1 BACKUP 100', 'notify.sh backup-script'], ['notify.sh INSTANCE VI_1 MASTER 100', 'notify.sh master-script']], 'keepalived: the per-state script as configured, notify with INSTANCE name STATE priority');
    t.same(read(tv), k, 'tunvs: the same calls');
    const order = l.logs(tv).filter((m) => m.msg === 'vrrp notify').map((m) => `${String(m.script)} ${String(m.state)}`);
    t.same(order, ['notify_backup BACKUP', 'notify BACKUP', 'notify_master MASTER', 'notify MASTER'], 'tunvs launched them in keepalived order');
  }));
});
