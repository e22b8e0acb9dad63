// tunvsd's VRRP runtime without root: two runtimes joined by an in-memory backend (adverts
// delivered to each other), on the real clock at 50 ms adverts. Checks the election, the
// priority-0 hand-over on stop, the status and metrics shapes, the JSON transition lines,
// and the refusal (with file:line) of what tunvs does not run.
import t from 'tap';
import { parseConfigText, setVrrpHost, staticHost } from '@tunvs/keepalived';
import { parseIpv4 } from '@tunvs/packet';
import { DaemonVrrp, VrrpRuntime, VrrpRefusedError } from '../src/index.js';
import { notifyScripts, trackRefs, vrrpDeviceErrors } from '../src/vrrp-spec.js';
import type { VrrpBackend, BackendInstance } from '../src/index.js';

setVrrpHost(staticHost([
  { name: 'eth0', loopback: false, ethernet: true, multicast: true, mtu: 1500 },
  { name: 'tv0', loopback: false, ethernet: true, multicast: true, mtu: 1500 },
]));

class MemNet {
  readonly rx = new Map<string, (ifname: string, d: Uint8Array) => void>();
  readonly events: string[] = [];
  backend(name: string, src: string): VrrpBackend {
    return {
      open: (_i: readonly BackendInstance[], rx) => void this.rx.set(name, rx),
      sourceAddress: () => parseIpv4(src),
      sendAdvert: (_bi, ds) => {
        for (const [peer, f] of this.rx) if (peer !== name) for (const d of ds) setImmediate(() => f('eth0', d.datagram));
      },
      setAddresses: (bi, up) => void this.events.push(`${name} ${bi.cfg.name} vips ${up ? 'up' : 'down'}`),
      garp: (bi, n) => void this.events.push(`${name} ${bi.cfg.name} garp x${n}`),
      interfaceUp: () => true,
      onLinkChange: () => {},
      close: () => void this.rx.delete(name),
    };
  }
}

const conf = (prio: number, extra = ''): string =>
  `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority ${prio}\n version 3\n advert_int 0.05\n${extra} virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n`;

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await wait(5);
  }
}

t.test('two runtimes elect, hand over on stop, report status', async (t) => {
  const net = new MemNet();
  const logs: Record<string, unknown>[] = [];
  const log = (who: string) => (level: string, msg: string, f: Record<string, unknown> = {}) => void logs.push({ who, level, msg, ...f });
  const a = new VrrpRuntime(parseConfigText(conf(150), 'a.conf').config.vrrpConfig, { log: log('a'), backend: net.backend('a', '10.0.0.1') });
  const b = new VrrpRuntime(parseConfigText(conf(100), 'b.conf').config.vrrpConfig, { log: log('b'), backend: net.backend('b', '10.0.0.2') });
  a.start();
  b.start();
  await until(() => a.status().instances[0]!.state === 'MASTER', 2000);
  await wait(200);
  t.equal(b.status().instances[0]!.state, 'BACKUP');
  const sb = b.status();
  t.match(sb.instances[0], { name: 'VI_1', vrid: 51, version: 3, interface: 'eth0', master: { address: '10.0.0.1', priority: 150, self: false }, priority: { base: 100, effective: 100 } });
  t.ok(sb.instances[0]!.counters.advertsReceived > 2);
  t.same(sb.instances[0]!.counters.discarded, {});
  t.match(a.status().instances[0]!.master, { address: '10.0.0.1', self: true });
  t.ok(net.events.includes('a VI_1 vips up') && net.events.includes('a VI_1 garp x5'));
  const m = a.metricsInstances()[0]!;
  t.match(m, { name: 'VI_1', state: 'MASTER', basePriority: 150, effectivePriority: 150, advertInterval: 0.05, vips: ['10.0.0.100'], peers: [] });
  t.ok(m.transitions >= 2 && m.lastTransition > 0);

  await a.stop();
  await until(() => b.status().instances[0]!.state === 'MASTER', 500);
  t.match(b.status().instances[0]!.lastTransition?.reason, /sent priority 0/, 'priority 0 on stop: the backup takes over after Skew_Time');
  const tr = logs.filter((l) => l.msg === 'vrrp transition' && l.who === 'b');
  t.match(tr, [{ from: 'INIT', to: 'BACKUP', reason: 'startup' }, { from: 'BACKUP', to: 'MASTER', master: '10.0.0.2' }], 'one JSON line per transition, with its reason');
  await b.stop();
});

t.test('what tunvsd refuses, with file:line', async (t) => {
  const ah = 'vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress {\n  10.0.0.100\n }\n}\n';
  const cfg = parseConfigText(ah, 'k.conf').config;
  t.throws(() => new VrrpRuntime(cfg.vrrpConfig, { log: () => {}, backend: new MemNet().backend('x', '10.0.0.1') }), VrrpRefusedError);
  const d = new DaemonVrrp({ log: () => {} });
  await t.rejects(d.apply(cfg), /k\.conf:1: vrrp_instance VI_1: auth_type AH is not supported by tunvs/);
  const [name, handler] = d.ops()[0]!;
  t.equal(name, 'vrrpStatus');
  t.same(handler.arity, [0, 0], 'no arguments');
  t.same(await handler.run({} as never, []), { instances: [], interfaces: [], syncGroups: [], scripts: [] }, 'nothing running: an empty status');
  t.throws(() => d.stage(cfg), /auth_type AH/, 'a reload is refused before anything changes');
});

t.test('an instance on the TAP device: what it cannot do is a config-test error', (t) => {
  const conf = 'vrrp_instance VI_1 {\n interface tv0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  10.0.0.100/24\n  10.0.0.101/24 dev eth0\n }\n virtual_routes {\n  10.5.0.0/16 dev tv0\n }\n}\n';
  const k = parseConfigText(conf, 'k.conf').config;
  const errs = vrrpDeviceErrors({ kind: 'tap', name: 'tv0' }, k).map((d) => `${d.line} ${d.exitCode} ${d.message}`);
  t.match(errs, [/^1 5 vrrp_instance VI_1: use_vmac on the TAP device tv0/, /virtual_routes on the TAP device tv0/, /10\.0\.0\.101 dev eth0: an instance on the TAP device tv0 holds its VIPs in the director/]);
  t.equal(errs.length, 3);
  t.same(vrrpDeviceErrors({ kind: 'tun', name: 'tv0' }, k), [], 'nothing to say on a TUN device');
  t.same(vrrpDeviceErrors({ kind: 'tap', name: 'tap9' }, k), [], 'nor for instances on other interfaces');
  t.end();
});

t.test('tunvsd wiring: DaemonVrrp.source() registered with Feeds gives live tunvs_vrrp_* metrics', async (t) => {
  const { Feeds, Metrics } = await import('@tunvs/metrics');
  const { Director } = await import('@tunvs/engine');
  const { MemoryLink } = await import('@tunvs/link');
  const { reasonName } = await import('@tunvs/packet');
  const net = new MemNet();
  const log = () => {};
  // the peer at a higher priority: ours must end up BACKUP having received its adverts
  const peer = new VrrpRuntime(parseConfigText(conf(200), 'p.conf').config.vrrpConfig, { log, backend: net.backend('p', '10.0.0.2') });
  const dv = new DaemonVrrp({ log, backend: net.backend('a', '10.0.0.1') });
  const feeds = new Feeds();
  feeds.setVrrp(dv.source()); // as daemon.ts does before applying the configuration
  const link = new MemoryLink('tun');
  const metrics = new Metrics({ director: new Director({ links: [link], timers: false }), links: () => [link], feeds, reasonName, version: 'test', inline: true });
  t.teardown(async () => {
    await dv.stop();
    await peer.stop();
    await metrics.close();
  });
  const scrape = async (): Promise<string> => Buffer.from(await metrics.scrape()).toString('utf8');
  t.notMatch(await scrape(), /^tunvs_vrrp_state\{/m, 'no instance before the configuration');
  peer.start();
  await dv.apply(parseConfigText(conf(100), 'a.conf').config);
  await until(() => (dv.runtime?.status().instances[0]?.state ?? '') === 'BACKUP' && peer.status().instances[0]!.state === 'MASTER', 3000);
  await wait(200);
  const text = await scrape();
  t.match(text, /^tunvs_vrrp_state\{[^}]*instance="VI_1"[^}]*\} 1$/m, 'state BACKUP (1)');
  t.match(text, /^tunvs_vrrp_priority_base\{[^}]*instance="VI_1"[^}]*\} 100$/m);
  const rcvd = /^tunvs_vrrp_adverts_received_total\{[^}]*instance="VI_1"[^}]*\} (\d+)$/m.exec(text);
  t.ok(rcvd && Number(rcvd[1]) > 0, `adverts received counted: ${rcvd?.[1]}`);
  await dv.stop();
  t.notMatch(await scrape(), /^tunvs_vrrp_state\{/m, 'gone once VRRP stops');
});

t.test('a refused script (insecure or missing) is never run: no tracking of it, no notify job', async (t) => {
  const r = parseConfigText('vrrp_script chk {\n script /bin/true\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n track_script {\n  chk\n }\n notify_master /bin/true\n virtual_ipaddress { 10.0.0.1 }\n}\n', 'k.conf');
  const v = r.config.vrrpConfig;
  const inst = v.instances[0]!;
  t.ok(trackRefs(inst, undefined, [], v.scripts).some((x) => x.kind === 'script'), 'tracked while accepted');
  t.ok(notifyScripts(inst.notify).master, 'notify script kept while accepted');
  v.scripts[0]!.script.refused = '/x is writable by everyone';
  inst.notify.master!.refused = '/x is writable by everyone';
  t.notOk(trackRefs(inst, undefined, [], v.scripts).some((x) => x.kind === 'script'), 'no tracking of a refused script');
  t.equal(notifyScripts(inst.notify).master, undefined, 'a refused notify script is dropped');
});

t.test('every discard an instance counts reaches /metrics: --vrrp-status names it as keepalived, /metrics by its label', async (t) => {
  // b runs alone and becomes MASTER; a, of a higher priority, then preempts it: until a's
  // timer fires it discards b's lower-priority adverts
  const net = new MemNet();
  const quiet = (): void => {};
  const a = new VrrpRuntime(parseConfigText(conf(150), 'a.conf').config.vrrpConfig, { log: quiet, backend: net.backend('a', '10.0.0.1') });
  const b = new VrrpRuntime(parseConfigText(conf(100), 'b.conf').config.vrrpConfig, { log: quiet, backend: net.backend('b', '10.0.0.2') });
  b.start();
  await until(() => b.status().instances[0]!.state === 'MASTER', 2000);
  a.start();
  await until(() => a.status().instances[0]!.state === 'MASTER', 2000);
  const keys = a.status().instances[0]!.counters.discarded;
  t.ok((keys.lower_priority_preempt ?? 0) > 0, `a discarded b's adverts while preempting: ${JSON.stringify(keys)}`);
  t.equal(a.metricsInstances()[0]!.discarded.lower_priority, keys.lower_priority_preempt, 'the same count in the metrics, as lower_priority');
  await a.stop();
  await b.stop();
});
