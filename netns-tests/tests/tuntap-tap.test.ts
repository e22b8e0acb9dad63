// A TAP device bridged to a second namespace: JS answers ARP and ICMP echo with its own MAC,
// and the other namespace pings it through the bridge.
import t from 'tap';
import { attachToBridge, isRoot, openLab } from '../src/netns.js';

interface Ready {
  ready: boolean;
  name: string;
  mac: string;
  mtu: number;
}
interface Stats {
  queues: { replied: number; arps: number; txErrors: number }[];
}

t.test('TAP: ARP and ICMP echo answered from JS through a bridge', { skip: !isRoot() && 'needs root' }, async (t) => {
  const lab = openLab(t, 'tt');
  const br = lab.netns('tapbr');
  const pc = lab.netns('tappc');
  lab.bridge(br, 'ttbr0');
  lab.veth({ name: 'ttpb0', ns: br }, { name: 'ttpc0', ns: pc, address: '10.78.0.2/24' });
  attachToBridge(br, 'ttpb0', 'ttbr0');

  const jsMac = '02:00:00:00:7e:01';
  const child = lab.spawnNode(br, 'fixtures/tuntap-responder.mjs', [
    JSON.stringify({ kind: 'tap', name: 'tttap0', mac: '02:00:00:00:7e:02', myMac: jsMac, myAddr: '10.78.0.1' }),
  ]);
  const ready = await child.json<Ready>((m) => m.ready === true);
  t.equal(ready.mac, '02:00:00:00:7e:02', 'kernel-side MAC set by SIOCSIFHWADDR, read by SIOCGIFHWADDR');
  t.equal(ready.mtu, 1500);
  const shown = JSON.parse(lab.ip(br, '-j link show dev tttap0')) as { address: string; flags: string[] }[];
  t.equal(shown[0]!.address, '02:00:00:00:7e:02');
  t.ok(shown[0]!.flags.includes('UP'), 'TAP is up');
  attachToBridge(br, 'tttap0', 'ttbr0');

  const ping = lab.exec(pc, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.78.0.1'], { timeoutMs: 15_000 });
  t.equal(ping.status, 0, `ping through the bridge: ${ping.stdout.split('\n').slice(-3).join(' ')} ${ping.stderr}`);
  t.match(ping.stdout, /3 packets transmitted, 3 received/);

  const neigh = lab.ip(pc, 'neigh show 10.78.0.1 dev ttpc0');
  t.match(neigh, jsMac, `the pinger learned the JS MAC by ARP: ${neigh.trim()}`);

  const stats = await child.request<Stats>({ op: 'stats' });
  t.ok(stats.queues[0]!.arps >= 1, 'JS answered ARP');
  t.ok(stats.queues[0]!.replied >= 4, 'JS wrote ARP + echo replies');
  t.equal(stats.queues[0]!.txErrors, 0);
  t.equal(await child.stop(), 0);
});
