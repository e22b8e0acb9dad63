// The shared body of lab-nat/lab-dr/lab-tun: bring the lab up with one method, check it,
// tear it down and check nothing is left.
import type { Test } from 'tap';
import { exists, lab, namespaces, processesMatching, curl, udpEcho, sh, LAB_PREFIX, LAB_RUN_DIR } from './lab-util.js';

export { LAB_SKIP } from './lab-util.js';

interface Host {
  name: string;
  ns: string;
  ip: string;
  mac: string;
  peer: { ns: string; ifname: string; mac: string };
}
interface Status {
  up: boolean;
  method: string;
  vip: string;
  ports: { http: number; udpEcho: number };
  director: { ns: string; device: string; deviceKind: string; dip: string; mac: string | null; lan: { ifname: string; addr: string | null } };
  clients: Host[];
  servers: (Host & { vipOnLo: boolean; realserver: { tun: string } | null })[];
  namespaces: string[];
  live: { namespaces: string[]; processes: { name: string; pid: number; alive: boolean }[]; devices: Record<string, { ifname: string; mac: string; master: string | null }[]> };
}

/** Bring the lab up with `method` and check everything the issue lists (call it from a test with `{ skip: LAB_SKIP }`). */
export async function checkLab(t: Test, method: 'nat' | 'dr' | 'tun', servers = 3, clients = 1): Promise<void> {
  lab('down');
  t.teardown(() => {
    lab('down');
  });

  const up = lab('up', '--method', method, '--servers', String(servers), '--clients', String(clients));
  t.equal(up.code, 0, `lab up --method ${method}: ${up.stderr}`);
  if (up.code !== 0) return;
  t.match(up.stdout, /VIP 10\.10\.0\.100/, 'summary names the VIP');
  t.match(up.stdout, new RegExp(`The director must run in ${LAB_PREFIX}dir`), 'summary says what the director runs');

  const st = JSON.parse(lab('status', '--json').stdout) as Status;
  t.equal(st.up, true, 'status: up');
  t.equal(st.method, method);
  t.equal(st.vip, '10.10.0.100');
  t.equal(st.director.ns, `${LAB_PREFIX}dir`);
  t.equal(st.director.device, 'tunvs0');
  t.equal(st.director.deviceKind, method === 'dr' ? 'tap' : 'tun');
  t.equal(st.clients.length, clients);
  t.equal(st.servers.length, servers);
  t.equal(st.clients[0]!.ip, '10.10.0.2');
  st.servers.forEach((s, k) => {
    const i = k + 1;
    t.equal(s.name, `rs${i}`);
    t.equal(s.ip, method === 'dr' ? `10.10.0.${10 + i}` : `10.10.1.${10 + i}`, `${s.name} address`);
    t.equal(s.vipOnLo, method !== 'nat');
  });
  t.same([...st.live.namespaces].sort(), [...st.namespaces].sort(), 'exactly the lab namespaces exist');
  t.ok(st.live.processes.length >= servers && st.live.processes.every((p) => p.alive), 'all lab processes run');
  // MACs in the JSON are the ones on the wire.
  for (const h of [...st.clients, ...st.servers]) {
    const dev = st.live.devices[h.ns]?.find((d) => d.ifname === 'eth0');
    t.equal(dev?.mac, h.mac, `${h.name} eth0 MAC`);
    const peer = st.live.devices[h.peer.ns]?.find((d) => d.ifname === h.peer.ifname);
    t.equal(peer?.mac, h.peer.mac, `${h.name} peer ${h.peer.ifname} MAC`);
  }
  const tun = st.live.devices[`${LAB_PREFIX}dir`]?.find((d) => d.ifname === 'tunvs0');
  t.ok(tun, 'tunvs0 exists in the director namespace');
  if (method === 'dr') t.equal(tun?.master, 'br-lan', 'the TAP is on br-lan');

  // The servers answer directly: from the director in nat/tun (it has addresses on both
  // nets), from client1 in dr (the director owns no kernel address there).
  const from = method === 'dr' ? st.clients[0]!.ns : `${LAB_PREFIX}dir`;
  for (const s of st.servers) {
    t.equal(curl(from, `http://${s.ip}/`), `${s.name}\n`, `GET / on ${s.name} from ${from}`);
    t.equal(udpEcho(from, s.ip, st.ports.udpEcho, 'ping'), `${s.ip} ${s.name} ping`, `UDP echo on ${s.name}`);
  }
  t.equal(curl(from, `http://${st.servers[0]!.ip}/bytes/100000`).length, 100000, 'GET /bytes/N returns N bytes');
  const two = curl(from, `http://${st.servers[0]!.ip}/`, ['-w', '%{num_connects}\\n', '-o', '/dev/null', '-o', '/dev/null', `http://${st.servers[0]!.ip}/`]);
  t.same(two.trim().split('\n'), ['1', '0'], 'keep-alive: two requests, one connection');

  const dirSysctl = (k: string) => sh('ip', ['netns', 'exec', `${LAB_PREFIX}dir`, 'sysctl', '-n', k]).stdout.trim();
  t.equal(dirSysctl('net.ipv4.tcp_early_demux'), '0');
  t.equal(dirSysctl('net.bridge.bridge-nf-call-iptables'), '0');
  t.equal(dirSysctl('net.ipv4.conf.all.rp_filter'), '0');
  if (method === 'nat') {
    t.match(sh('ip', ['-n', `${LAB_PREFIX}dir`, 'rule']).stdout, /iif br-rs lookup 100/, 'policy rule for NAT replies');
    t.match(sh('ip', ['-n', `${LAB_PREFIX}dir`, 'route', 'show', 'table', '100']).stdout, /default dev tunvs0/);
  }
  if (method !== 'dr') t.match(sh('ip', ['-n', `${LAB_PREFIX}dir`, 'route']).stdout, /10\.10\.0\.100 dev tunvs0/, 'VIP routed into the TUN');
  if (method !== 'nat') {
    const rs = (k: string) => sh('ip', ['netns', 'exec', `${LAB_PREFIX}rs1`, 'sysctl', '-n', k]).stdout.trim();
    t.equal(rs('net.ipv4.conf.all.arp_ignore'), '1');
    t.equal(rs('net.ipv4.conf.all.arp_announce'), '2');
    t.match(sh('ip', ['-n', `${LAB_PREFIX}rs1`, 'addr', 'show', 'lo']).stdout, /10\.10\.0\.100\/32/, 'VIP on lo');
  }
  if (method === 'tun') {
    t.match(sh('ip', ['netns', 'exec', `${LAB_PREFIX}rs1`, 'nft', 'list', 'tables']).stdout, /tunvs_rs_eth0/, 'realserver nft rule');
    t.ok(st.live.processes.some((p) => p.name === 'rs1-realserver' && p.alive), 'tunvs-realserver runs');
  }

  // Running `up` again with the same topology is a no-op.
  const again = lab('up', '--method', method, '--servers', String(servers), '--clients', String(clients));
  t.equal(again.code, 0);
  t.match(again.stdout, /already up/);

  const pids = st.live.processes.map((p) => p.pid);
  const down = lab('down');
  t.equal(down.code, 0, `lab down: ${down.stderr}`);
  t.same(namespaces(LAB_PREFIX), [], 'no lab namespaces left');
  t.notOk(exists(LAB_RUN_DIR), 'no pidfiles left');
  t.same(pids.filter((p) => exists(`/proc/${p}`)), [], 'no lab processes left');
  t.same(processesMatching(LAB_RUN_DIR + '/'), [], 'no process started by the lab is left');
  t.equal(lab('down').code, 0, 'down again is fine');
  t.match(lab('status').stdout, /down/);
}
