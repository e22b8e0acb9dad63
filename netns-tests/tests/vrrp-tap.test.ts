/**
 * VRRP on a TAP director against keepalived: the director is a host of its own on the
 * segment (its TAP device bridged to the router's eth0), the VIP is not a kernel address
 * but one the Director answers ARP for as master and ignores as backup. The service is LVS-DR
 * to a real server whose HTTP says "rs"; keepalived's router answers "ka" itself, so
 * `curl VIP` says who holds the VIP.
 *
 *   client .50, ka .2 (keepalived, VIP on eth0), rs .30 (VIP on lo, arp_ignore)
 *   tv ns: br0 = eth0 + tv0 (TAP); the Director is 10.99.0.21, MAC 02:99:00:00:01:21
 */
import t from 'tap';
import { join } from 'node:path';
import { writeFileSync, existsSync, rmSync } from 'node:fs';
import { isRoot } from '../src/netns.js';
import { vrrpLab, instance, haveKeepalived, TUNVSD, VIP } from '../fixtures/vrrp-lab.js';

const DIRECTOR = '10.99.0.21';
const DMAC = '02:99:00:00:01:21';

t.test('TAP director: backup stays silent, takes the VIP when keepalived dies, gives it back', { skip: (!isRoot() && 'needs root') || (!haveKeepalived && 'keepalived is not installed') }, async (t) => {
  const lab = vrrpLab(t, 'tp');
  const ka = await lab.router('ka', 2, 'keepalived');
  const tv = await lab.router('tv', 3, 'tunvs');
  const rs = lab.attach('tprs', '10.99.0.30');
  lab.lab.ip(rs, `addr add ${VIP}/32 dev lo`);
  for (const k of ['net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2', 'net.ipv4.conf.eth0.arp_ignore=1', 'net.ipv4.conf.eth0.arp_announce=2']) lab.lab.exec(rs, 'sysctl', ['-qw', k]);
  const http = lab.lab.spawnNode(rs, 'fixtures/vrrp-http.mjs', ['rs', '8080']);
  await http.json((m) => m.ready === true);

  // the router's eth0 becomes a bridge port shared with the TAP device
  // (the host keeps its address, on the bridge: the health checks start there)
  lab.lab.ip(tv.ns, `addr flush dev eth0`);
  lab.lab.ip(tv.ns, 'link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0');
  lab.lab.ip(tv.ns, `addr add ${tv.ip}/24 dev br0`);
  lab.lab.ip(tv.ns, 'tuntap add dev tv0 mode tap');
  lab.lab.ip(tv.ns, 'link set eth0 master br0');
  lab.lab.ip(tv.ns, 'link set tv0 master br0');
  for (const d of ['br0', 'tv0']) lab.lab.ip(tv.ns, `link set ${d} up`);

  await lab.startKeepalived(ka, `global_defs {\n    vrrp_garp_master_delay 0\n}\n${instance({ priority: 150, advert: 0.2 })}`);
  await lab.until(() => lab.holdsVip(ka), 5000, 'keepalived MASTER');

  const conf = `${instance({ priority: 100, advert: 0.2, iface: 'tv0', vips: [`${VIP}/24`] })}
virtual_server ${VIP} 8080 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.99.0.30 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;
  writeFileSync(join(tv.dir, 'keepalived.conf'), conf);
  writeFileSync(join(tv.dir, 'tunvsd.conf'), `keepalived_conf keepalived.conf\ndevice tv0\nmode tap\naddress ${DIRECTOR}/24\nmac ${DMAC}\ncontrol_socket ${join(tv.dir, 'tunvsd.sock')}\n`);
  rmSync(join(tv.dir, 'tunvsd.sock'), { force: true });
  tv.proc = lab.lab.spawn(tv.ns, process.execPath, [TUNVSD, '-f', join(tv.dir, 'tunvsd.conf')], 'tunvsd tv');
  await lab.until(() => existsSync(join(tv.dir, 'tunvsd.sock')) || tv.proc!.exitCode !== null, 30000, 'tunvsd control socket');
  t.equal(tv.proc.exitCode, null, `tunvsd runs ${tv.proc.stderr}`);

  await lab.until(async () => (await lab.state(tv)) === 'BACKUP', 5000, 'tunvs BACKUP');
  // the backup director stays silent: the client asks for the VIP, only keepalived answers
  lab.lab.exec(lab.client, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
  t.equal(lab.who(), 'ka', 'keepalived holds the VIP');
  const neigh = (): string => lab.lab.exec(lab.client, 'ip', ['neigh', 'show', VIP]).stdout;
  t.notMatch(neigh(), DMAC, 'the backup director did not answer ARP for the VIP');
  t.match(lab.lab.exec(lab.client, 'ping', ['-c', '1', '-W', '1', DIRECTOR]).stdout, /1 received/, 'the director answers for its own address');
  // two health-check rounds done (the third connection from the director host): the real
  // server must stay up
  await http.json((m) => m.from === tv.ip && Number(m.connection) >= 3, 10000);
  t.notMatch(tv.proc.stderr, /rs-down/, 'the health check reaches the real server');
  let st = (await lab.status(tv)).instances[0]!;
  t.equal(st.master?.address, ka.ip, 'status names the master');
  t.ok(st.counters.advertsReceived > 0, 'adverts received through the Director');

  // crash keepalived: the TAP director takes over and its real server answers on the VIP
  lab.killKeepalived(ka);
  await lab.stop(ka);
  const took = await lab.until(async () => (await lab.state(tv)) === 'MASTER', 5000, 'tunvs MASTER');
  t.ok(took < 5000, `tunvs MASTER ${took} ms after the crash (master down ${st.masterDown} s)`);
  await lab.until(() => lab.who() === 'rs', 5000, 'the real server behind the TAP director answers on the VIP');
  t.match(neigh(), DMAC, 'the client reaches the VIP at the director MAC (gratuitous ARP)');
  st = (await lab.status(tv)).instances[0]!;
  t.ok(st.counters.advertsSent > 0, 'the TAP master sends adverts');

  // keepalived comes back with the higher priority and preempts
  await lab.startKeepalived(ka, `global_defs {\n    vrrp_garp_master_delay 0\n}\n${instance({ priority: 150, advert: 0.2 })}`);
  await lab.until(async () => (await lab.state(tv)) === 'BACKUP', 5000, 'tunvs back to BACKUP');
  await lab.until(() => lab.who() === 'ka', 5000, 'keepalived answers on the VIP again');
  const rx = (await lab.status(tv)).instances[0]!.counters.advertsReceived;
  await lab.until(async () => (await lab.status(tv)).instances[0]!.counters.advertsReceived > rx, 3000, 'one more advert from keepalived');
  lab.lab.exec(lab.client, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
  t.equal(lab.who(), 'ka', 'after a fresh ARP the backup director is silent again');
  t.notMatch(neigh(), DMAC);
  const trans = lab.logs(tv).filter((l) => l.msg === 'vrrp transition').map((l) => `${l.from}->${l.to}`);
  t.ok(trans.includes('BACKUP->MASTER') && trans.includes('MASTER->BACKUP'), `transitions: ${trans.join(', ')}`);
});
