// The Director's control API refuses what the kernel refuses (issue 13 item 7), with the
// kernel's errno, and leaves the table unchanged when it does; a DR/TUN destination's port
// is kept as given and the packets keep their own port, as in the kernel.
import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { packet, rd16, rd32 } from '@tunvs/packet';
import { ControlError } from '@tunvs/model';
import { Director } from '../src/index.js';

const VIP = '10.10.0.100';
const KEY = { protocol: 'tcp' as const, addr: VIP, port: 80 };

function director(): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], sourceAddress: '10.10.1.1', timers: false, now: () => 1000 });
  d.start();
  return { d, link };
}

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof ControlError)) return `not a ControlError: ${String(e)}`;
    return e.code;
  }
}

t.test('fwmarks outside 1..2^32-1 are refused; the table stays clean', async (t) => {
  const { d } = director();
  for (const fwmark of [2 ** 32, -1, 1.5, 2 ** 53]) t.equal(code(() => d.addService({ fwmark })), 'EINVAL', `fwmark ${fwmark}`);
  t.same(d.listServices(), [], 'no service was created (2^32 used to become an undeletable UDP 0.0.0.0:0)');
  d.addService({ fwmark: 2 ** 32 - 1 });
  t.equal(d.listServices()[0]!.fwmark, 4294967295);
  d.deleteService({ fwmark: 4294967295 });
  t.same(d.listServices(), []);
});

t.test('weights, thresholds, methods, scheduler flags and destinations as the kernel checks them', async (t) => {
  const { d } = director();
  d.addService(KEY);
  const add = (x: Record<string, unknown>): string => code(() => d.addDest(KEY, { addr: '10.10.1.11', port: 80, ...x } as never));
  t.equal(add({ weight: 1099511627776 }), 'ERANGE');
  t.equal(add({ weight: -1 }), 'ERANGE');
  t.equal(add({ weight: 2.5 }), 'EINVAL');
  t.equal(add({ upper: 2 ** 31 }), 'EINVAL');
  t.equal(add({ lower: 5 }), 'ERANGE', 'l_threshold > u_threshold (0)');
  for (const method of ['constructor', '__proto__', 'toString']) t.equal(add({ method }), 'EINVAL', `method ${method}`);
  for (const addr of ['0.0.0.0', '224.0.0.5', '255.255.255.255']) t.equal(code(() => d.addDest(KEY, { addr, port: 80 })), 'EINVAL', `dest ${addr}`);
  t.equal(code(() => d.addService({ ...KEY, port: 81, schedFlags: ['constructor'] })), 'EINVAL');
  t.equal(code(() => d.addService({ ...KEY, port: 81, scheduler: 'toString' })), 'ENOENT', 'scheduler names are looked up in the registry');
  t.equal(code(() => d.addService({ ...KEY, port: 81, scheduler: 'constructor' })), 'ENOENT');
  t.equal(code(() => d.addService(null as never)), 'EINVAL', 'null spec: an EINVAL, not a TypeError');
  t.equal(code(() => d.getService({ protocol: 'tcp', addr: VIP, port: 70000 })), 'EINVAL');
  t.same(d.getService(KEY).dests, [], 'nothing half-added');
  t.equal(add({ weight: 2147483647, method: 'masq' }), 'ok');
  t.equal(d.getService(KEY).dests[0]!.weight, 2147483647);
});

t.test('timeouts: -1, "x", 1e300 are refused; 0 keeps the value', async (t) => {
  const { d } = director();
  for (const v of [-1, 'x', 1e300, 1.5]) t.equal(code(() => d.setTimeouts({ tcp: v } as never)), 'EINVAL', `tcp ${String(v)}`);
  t.equal(code(() => d.setTimeouts({ tcpfin: 10, bogus: 1 } as never)), 'EINVAL', 'unknown field');
  t.same(d.getTimeouts(), { tcp: 900, tcpfin: 120, udp: 300 }, 'unchanged');
  d.setTimeouts({ tcp: 0, tcpfin: 30, udp: 2147483 });
  t.same(d.getTimeouts(), { tcp: 900, tcpfin: 30, udp: 2147483 });
});

t.test('a DR/TUN destination port is stored and listed as given; packets keep their port', async (t) => {
  const { d, link } = director();
  d.addService({ ...KEY, scheduler: 'rr' });
  d.addDest(KEY, { addr: '10.10.1.11', port: 8080, method: 'tunnel' });
  const dest = d.getService(KEY).dests[0]!;
  t.match(dest, { addr: '10.10.1.11', port: 8080, method: 'tunnel' }, 'as given (ip_vs_new_dest stores udest->port)');
  link.receive(packet().ipv4({ src: '10.10.0.2', dst: VIP }).tcp({ sport: 1000, dport: 80, flags: 'S' }).build());
  const [o] = link.drain();
  t.equal(o![9], 4, 'IPIP');
  t.equal(rd32(o!, 16) >>> 0, 0x0a0a010b, 'to the real server');
  t.equal(rd16(o!, 20 + 20 + 2), 80, 'the inner packet keeps the VIP port');
  const [c] = d.listConnections();
  t.match(c, { destAddr: '10.10.1.11', destPort: 8080, virtualPort: 80 }, 'the entry shows the destination port, as ip_vs_conn_new does');
  d.editDest(KEY, { addr: '10.10.1.11', port: 8080, method: 'tunnel', weight: 3 });
  d.deleteDest(KEY, { addr: '10.10.1.11', port: 8080 });
  t.same(d.getService(KEY).dests, []);
});
