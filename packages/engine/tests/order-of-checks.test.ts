// Which error wins when several things are wrong: the service table checks in the kernel's
// order (do_ip_vs_set_ctl, ip_vs_add_service/ip_vs_edit_service, ip_vs_add_dest/
// ip_vs_edit_dest, ip_vs_new_dest), and `-s none` binds no scheduler as the kernel does.
import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { packet, rd32 } from '@tunvs/packet';
import { ControlError } from '@tunvs/model';
import type { DestSpec, ServiceSpec } from '@tunvs/model';
import { Director } from '../src/index.js';

const VIP = '10.10.0.100';
const KEY = { protocol: 'tcp' as const, addr: VIP, port: 80 };
const OTHER = { protocol: 'tcp' as const, addr: VIP, port: 81 };

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

t.test('add/edit service: EEXIST/ESRCH before the scheduler, the scheduler before the engine', async (t) => {
  const { d } = director();
  d.addService({ ...KEY, scheduler: 'rr' });
  const cases: [string, () => unknown, string][] = [
    ['-A existing -s bogus', () => d.addService({ ...KEY, scheduler: 'bogus' }), 'EEXIST'],
    ['-A existing --pe bogus', () => d.addService({ ...KEY, pe: 'bogus' } as ServiceSpec), 'EEXIST'],
    ['-A new -s bogus --pe bogus', () => d.addService({ ...OTHER, scheduler: 'bogus', pe: 'x' }), 'ENOENT'],
    ['-A new -s rr --pe bogus', () => d.addService({ ...OTHER, scheduler: 'rr', pe: 'x' }), 'ENOENT'],
    ['-A new --pe sip (not implemented)', () => d.addService({ ...OTHER, pe: 'sip' }), 'ENOPROTOOPT'],
    ['-A existing, scheduler name too long', () => d.addService({ ...KEY, scheduler: 'x'.repeat(16) }), 'EINVAL'],
    ['-E missing -s bogus', () => d.editService({ ...OTHER, scheduler: 'bogus' }), 'ESRCH'],
    ['-E existing -s bogus', () => d.editService({ ...KEY, scheduler: 'bogus' }), 'ENOENT'],
    ['-E existing -s rr --pe bogus', () => d.editService({ ...KEY, scheduler: 'rr', pe: 'x' }), 'ENOENT'],
  ];
  for (const [what, fn, want] of cases) t.equal(code(fn), want, what);
  t.equal(d.listServices().length, 1, 'nothing was added');
  t.equal(d.getService(KEY).scheduler, 'rr', 'nothing was edited');
});

t.test('add/edit dest: ESRCH, then ERANGE, then EEXIST/ENOENT, then unicast (new only), then the link', async (t) => {
  const { d } = director();
  d.addService(KEY);
  d.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'masq' });
  const add = (k: typeof KEY, s: DestSpec) => () => d.addDest(k, s);
  const edit = (k: typeof KEY, s: DestSpec) => () => d.editDest(k, s);
  const cases: [string, () => unknown, string][] = [
    // the service is looked up before any value rule
    ['-a no service, multicast', add(OTHER, { addr: '224.0.0.5', port: 80 }), 'ESRCH'],
    ['-a no service, -w -1', add(OTHER, { addr: '10.10.1.12', port: 80, weight: -1 }), 'ESRCH'],
    ['-a no service, -y 10', add(OTHER, { addr: '10.10.1.12', port: 80, lower: 10 }), 'ESRCH'],
    ['-e no service, unknown dest', edit(OTHER, { addr: '10.10.1.99', port: 80 }), 'ESRCH'],
    // ERANGE before the destination is looked up
    ['-a existing dest, -w -1', add(KEY, { addr: '10.10.1.11', port: 80, weight: -1 }), 'ERANGE'],
    ['-a existing dest, -w 2^31', add(KEY, { addr: '10.10.1.11', port: 80, weight: 2 ** 31 }), 'ERANGE'],
    ['-a existing dest, -y 10 (no -x)', add(KEY, { addr: '10.10.1.11', port: 80, lower: 10 }), 'ERANGE'],
    ['-a multicast, -x 5 -y 10', add(KEY, { addr: '224.0.0.5', port: 80, upper: 5, lower: 10 }), 'ERANGE'],
    ['-e unknown dest, -y 10', edit(KEY, { addr: '10.10.1.99', port: 80, lower: 10 }), 'ERANGE'],
    ['-e existing dest, -x 1 -y 2', edit(KEY, { addr: '10.10.1.11', port: 80, method: 'masq', upper: 1, lower: 2 }), 'ERANGE'],
    // EEXIST / ENOENT before the unicast rule (which only a new destination meets)
    ['-e multicast dest', edit(KEY, { addr: '224.0.0.5', port: 80 }), 'ENOENT'],
    ['-a multicast', add(KEY, { addr: '224.0.0.5', port: 80 }), 'EINVAL'],
    ['-a 255.255.255.255', add(KEY, { addr: '255.255.255.255', port: 80 }), 'EINVAL'],
    ['-a 0.0.0.0', add(KEY, { addr: '0.0.0.0', port: 80 }), 'EINVAL'],
    ['-a existing dest again', add(KEY, { addr: '10.10.1.11', port: 80, method: 'masq' }), 'EEXIST'],
    // the link's own refusal comes last: a TUN link cannot do direct routing
    ['-a existing dest, -g on a TUN link', add(KEY, { addr: '10.10.1.11', port: 80, method: 'route' }), 'EEXIST'],
    ['-a no service, -g on a TUN link', add(OTHER, { addr: '10.10.1.12', port: 80, method: 'route' }), 'ESRCH'],
    ['-a new dest, -g on a TUN link', add(KEY, { addr: '10.10.1.13', port: 80, method: 'route' }), 'EINVAL'],
  ];
  for (const [what, fn, want] of cases) t.equal(code(fn), want, what);
  t.same(d.getService(KEY).dests.map((x) => [x.addr, x.weight, x.upper, x.lower]), [['10.10.1.11', 1, 0, 0]], 'the table is unchanged');
  t.equal(code(add(KEY, { addr: '10.10.1.12', port: 80, upper: 10, lower: 10, method: 'masq' })), 'ok', 'lower == upper is fine');
});

t.test('-s none: listed as none, schedules nothing; switching to rr schedules again', async (t) => {
  const { d, link } = director();
  d.addService({ ...KEY, scheduler: 'none' });
  d.addDest(KEY, { addr: '10.10.1.11', port: 80, method: 'masq' });
  t.equal(d.getService(KEY).scheduler, 'none');
  const syn = (sport: number) => packet().ipv4({ src: '10.10.0.2', dst: VIP }).tcp({ sport, dport: 80, flags: 'S' }).build();
  const toDest = (): number => link.drain().filter((p) => rd32(p, 16) === 0x0a0a010b).length;
  link.drain();
  link.receive(syn(4000));
  t.equal(toDest(), 0, 'no new connection without a scheduler');
  t.equal(d.listConnections().length, 0);
  d.editService({ ...KEY, scheduler: 'rr' });
  link.receive(syn(4001));
  t.equal(toDest(), 1, 'rr forwards the next SYN');
  t.equal(d.listConnections().length, 1);
  // back to none: the existing connection keeps routing, new ones do not
  d.editService({ ...KEY, scheduler: 'none' });
  link.receive(packet().ipv4({ src: '10.10.0.2', dst: VIP }).tcp({ sport: 4001, dport: 80, flags: 'A' }).build());
  t.equal(toDest(), 1, 'the existing connection still routes');
  link.receive(syn(4002));
  t.equal(toDest(), 0, 'a new one does not');
});
