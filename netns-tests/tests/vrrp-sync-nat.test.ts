/**
 * (g) A sync group for LVS-NAT on two tunvs TUN directors: VI_CLIENT carries the service
 * VIP on the client side (a VIP `dev tv0`: routed into the TUN device, ARP answered on eth0
 * by the master only), VI_GW carries the real servers' default gateway on the server side
 * (an ordinary address on eth1). Both move together; NAT traffic (curl through the VIP to
 * the real servers and back through the gateway) works before the move, after the master
 * crashes, and after it comes back and preempts.
 *
 *   client 10.99.0.50 --[brc]-- d1 eth0 .1 / d2 eth0 .2     VIP 10.99.0.100 (VI_CLIENT)
 *   rs1 10.98.0.11, rs2 .12 --[brs]-- d1 eth1 .1 / d2 eth1 .2  gateway 10.98.0.254 (VI_GW)
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, openLab, delay } from '../src/netns.js';
import type { Child } from '../src/netns.js';
import { ControlClient } from '@tunvs/cli';
import { TUNVSD } from '../fixtures/vrrp-lab.js';

const VIP = '10.99.0.100';
const GW = '10.98.0.254';

function conf(prio: number): string {
  const inst = (name: string, iface: string, vrid: number, vip: string): string => `vrrp_instance ${name} {
    state BACKUP
    interface ${iface}
    virtual_router_id ${vrid}
    priority ${prio}
    version 3
    advert_int 0.1
    virtual_ipaddress {
        ${vip}
    }
}
`;
  return `vrrp_sync_group VG_NAT {
    group {
        VI_CLIENT
        VI_GW
    }
}
${inst('VI_CLIENT', 'eth0', 61, `${VIP}/32 dev tv0`)}${inst('VI_GW', 'eth1', 62, `${GW}/24 dev eth1`)}
virtual_server ${VIP} 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.98.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.98.0.12 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;
}

t.test('(g) sync group for LVS-NAT: the client VIP and the gateway move together', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'lvr');
  const work = mkdtempSync(join(tmpdir(), 'lvr-g-'));
  lab.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const swc = lab.netns('gswc');
  const sws = lab.netns('gsws');
  for (const [ns, br] of [[swc, 'brc'], [sws, 'brs']] as const) {
    lab.ip(ns, `link add ${br} type bridge mcast_snooping 0 stp_state 0 forward_delay 0`);
    lab.ip(ns, `link set ${br} up`);
    lab.exec(ns, 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0']);
  }
  let port = 0;
  const plug = (ns: string, dev: string, sw: string, br: string, addr: string): void => {
    const p = `q${++port}`;
    lab.ip(ns, `link add ${dev} type veth peer name ${p} netns ${sw}`);
    lab.ip(ns, `addr add ${addr} dev ${dev}`);
    lab.ip(ns, `link set ${dev} up`);
    lab.ip(sw, `link set ${p} master ${br}`);
    lab.ip(sw, `link set ${p} up`);
  };
  const client = lab.netns('gcl');
  plug(client, 'eth0', swc, 'brc', '10.99.0.50/24');
  const rss: string[] = [];
  for (const [i, name] of [[11, 'rs1'], [12, 'rs2']] as const) {
    const ns = lab.netns(`g${name}`);
    plug(ns, 'eth0', sws, 'brs', `10.98.0.${i}/24`);
    lab.ip(ns, `route add default via ${GW}`);
    const http = lab.spawnNode(ns, 'fixtures/vrrp-http.mjs', [name, '80']);
    await http.json((m) => m.ready === true);
    rss.push(ns);
  }
  const dirs: { ns: string; dir: string; proc: Child | null; prio: number; name: string }[] = [];
  for (const [n, prio] of [[1, 150], [2, 100]] as const) {
    const ns = lab.netns(`gd${n}`);
    plug(ns, 'eth0', swc, 'brc', `10.99.0.${n}/24`);
    plug(ns, 'eth1', sws, 'brs', `10.98.0.${n}/24`);
    // the TUN device exists before tunvsd (so that `dev tv0` names a real interface, as
    // keepalived checks), and the director routes: replies from the real servers go into it
    lab.ip(ns, 'tuntap add dev tv0 mode tun');
    lab.ip(ns, 'link set tv0 up');
    for (const [k, v] of [
      ['net.ipv4.ip_forward', '1'], ['net.ipv4.conf.all.rp_filter', '0'], ['net.ipv4.conf.default.rp_filter', '0'], ['net.ipv4.conf.eth0.rp_filter', '0'],
      ['net.ipv4.conf.eth1.rp_filter', '0'], ['net.ipv4.conf.tv0.rp_filter', '0'], ['net.ipv4.tcp_early_demux', '0'],
    ]) lab.exec(ns, 'sysctl', ['-qw', `${k}=${v}`]);
    lab.ip(ns, 'rule add iif eth1 lookup 100');
    lab.ip(ns, 'route add default dev tv0 table 100');
    const dir = join(work, `d${n}`);
    lab.exec(ns, 'mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'keepalived.conf'), conf(prio));
    writeFileSync(join(dir, 'tunvsd.conf'), `keepalived_conf keepalived.conf\ndevice tv0\nmode tun\ncontrol_socket ${join(dir, 'sock')}\n`);
    dirs.push({ ns, dir, proc: null, prio, name: `d${n}` });
  }
  const [d1, d2] = dirs as [(typeof dirs)[0], (typeof dirs)[0]];

  const start = async (d: typeof d1): Promise<void> => {
    rmSync(join(d.dir, 'sock'), { force: true });
    d.proc = lab.spawn(d.ns, process.execPath, [TUNVSD, '-f', join(d.dir, 'tunvsd.conf')], `tunvsd ${d.name}`);
    // up to 30 s: a loaded CI machine starts node slowly
    for (let i = 0; i < 600 && !existsSync(join(d.dir, 'sock')); i++) {
      if (d.proc.exitCode !== null) throw new Error(`tunvsd ${d.name}: ${d.proc.stderr}`);
      await delay(50);
    }
    if (!existsSync(join(d.dir, 'sock'))) throw new Error(`tunvsd ${d.name}: no control socket: ${d.proc.stderr}`);
  };
  const status = async (d: typeof d1): Promise<{ instances: { name: string; state: string }[]; syncGroups: { name: string; state: string }[] } | null> => {
    try {
      const c = await ControlClient.connect(join(d.dir, 'sock'));
      try {
        return (await c.call('vrrpStatus')) as never;
      } finally {
        c.close();
      }
    } catch {
      return null;
    }
  };
  const groupState = async (d: typeof d1): Promise<string> => {
    const s = await status(d);
    if (!s) return 'DOWN';
    const states = new Set(s.instances.map((i) => i.state));
    return states.size === 1 ? [...states][0]! : `mixed ${[...states].join('/')}`;
  };
  const until = async (pred: () => Promise<boolean> | boolean, ms: number, what: string): Promise<number> => {
    const t0 = Date.now();
    while (!(await pred())) {
      if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await delay(50);
    }
    return Date.now() - t0;
  };
  const get = (): string => lab.exec(client, 'curl', ['-s', '-m', '1', `http://${VIP}/`]).stdout.trim();
  const served = async (what: string): Promise<void> => {
    const seen = new Set<string>();
    await until(() => {
      const r = get();
      if (r) seen.add(r);
      return seen.has('rs1') && seen.has('rs2');
    }, 10_000, `${what}: both real servers answering through the VIP`);
    t.pass(`${what}: NAT through the VIP reaches rs1 and rs2 (and their replies come back through the gateway)`);
  };
  const holds = (d: typeof d1): { gw: boolean; route: boolean; proxy: boolean } => ({
    gw: lab.exec(d.ns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth1']).stdout.includes(` ${GW}/`),
    route: lab.exec(d.ns, 'ip', ['route', 'show', `${VIP}/32`]).stdout.includes('dev tv0'),
    proxy: lab.exec(d.ns, 'ip', ['neigh', 'show', 'proxy']).stdout.includes(VIP),
  });

  await start(d1);
  await start(d2);
  await until(async () => (await groupState(d1)) === 'MASTER' && (await groupState(d2)) === 'BACKUP', 8000, 'd1 MASTER, d2 BACKUP');
  t.same(holds(d1), { gw: true, route: true, proxy: true }, 'd1 holds the gateway, routes the VIP into tv0, answers ARP for it');
  t.same(holds(d2), { gw: false, route: false, proxy: false }, 'd2 holds nothing');
  t.match((await status(d1))!.syncGroups, [{ name: 'VG_NAT', state: 'MASTER' }]);
  await served('d1 master');

  // d1 crashes: the process dies and the machine with it (its links go down)
  d1.proc!.kill();
  await d1.proc!.wait(3000);
  lab.ip(d1.ns, 'link set eth0 down');
  lab.ip(d1.ns, 'link set eth1 down');
  const took = await until(async () => (await groupState(d2)) === 'MASTER', 3000, 'd2: both instances MASTER');
  t.pass(`d2 took both instances ${took} ms after the crash`);
  t.same(holds(d2), { gw: true, route: true, proxy: true }, 'd2 now holds the gateway and the VIP');
  t.match((await status(d2))!.syncGroups, [{ name: 'VG_NAT', state: 'MASTER' }]);
  await served('after the move to d2');

  // d1 comes back (links up, tunvsd restarted): it preempts, both instances move back
  lab.exec(d1.ns, 'ip', ['addr', 'del', `${GW}/24`, 'dev', 'eth1']);
  lab.exec(d1.ns, 'ip', ['route', 'del', `${VIP}/32`]);
  lab.exec(d1.ns, 'ip', ['neigh', 'del', 'proxy', VIP, 'dev', 'eth0']);
  lab.ip(d1.ns, 'link set eth0 up');
  lab.ip(d1.ns, 'link set eth1 up');
  await start(d1);
  await until(async () => (await groupState(d1)) === 'MASTER' && (await groupState(d2)) === 'BACKUP', 8000, 'd1 MASTER again, d2 BACKUP');
  t.same(holds(d2), { gw: false, route: false, proxy: false }, 'd2 gave everything back');
  await served('after d1 preempted');
  const notifies = d2.proc!.stderr.split('\n').filter((l) => l.includes('"vrrp transition"')).map((l) => JSON.parse(l) as { instance: string; to: string; group?: string });
  t.ok(notifies.some((n) => n.instance === 'VI_GW' && n.to === 'MASTER' && n.group === 'VG_NAT'), 'the transitions name their sync group');
});
