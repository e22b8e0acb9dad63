import t from 'tap';
import { Dest, DestRegistry, Service, Fwd, fwdName, DestFlag } from '../src/index.js';

t.test('destinations are inserted at the head of the list', (t) => {
  const svc = new Service({ protocol: 6, addr: 0x0a000064, port: 80 });
  const a = new Dest(0x0a000101, 80);
  const b = new Dest(0x0a000102, 80);
  svc.insertDest(a);
  svc.insertDest(b);
  t.same(svc.dests, [b, a]);
  t.equal(svc.findDest(0x0a000101, 80), a);
  t.equal(svc.removeDest(a), true);
  t.equal(svc.removeDest(a), false);
  t.end();
});

t.test('registry hands out and reuses ids', (t) => {
  const r = new DestRegistry();
  const a = new Dest(1, 1);
  const b = new Dest(2, 2);
  t.equal(r.register(a), 0);
  t.equal(r.register(b), 1);
  t.equal(r.register(a), 0, 'registering twice keeps the id');
  r.release(a);
  t.equal(a.id, -1);
  t.equal(r.get(0), null);
  const c = new Dest(3, 3);
  t.equal(r.register(c), 0);
  t.equal(r.get(0), c);
  t.equal(r.size, 2);
  t.end();
});

t.test('dest defaults and flags', (t) => {
  const d = new Dest(1, 80, { weight: 0, fwd: Fwd.MASQ });
  t.equal(d.weight, 0);
  t.equal(d.available, true);
  t.equal(d.overloaded, false);
  d.flags |= DestFlag.OVERLOAD;
  t.equal(d.overloaded, true);
  t.equal(fwdName(Fwd.MASQ), 'Masq');
  t.equal(fwdName(Fwd.DROUTE), 'Route');
  t.equal(fwdName(Fwd.TUNNEL), 'Tunnel');
  t.equal(fwdName(Fwd.LOCALNODE), 'Local');
  t.end();
});

t.test('the table of names: schedulers, scheduler flags, methods, protocols, kernel modes', async (t) => {
  const m = await import('../src/index.js');
  t.equal(m.SCHEDULER_NAMES.length, 14);
  t.ok(m.isSchedulerName('wlc'));
  t.notOk(m.isSchedulerName('wlcc'));
  t.equal(m.DEFAULT_SCHEDULER, 'wlc');
  // flags: sh and mh name their own bits, others say flag-N
  const b = m.schedFlagBits(['sh-fallback', 'flag-3', 'bogus']);
  t.equal(b, m.SvcFlag.SCHED1 | m.SvcFlag.SCHED3);
  t.same(m.schedFlagNames('sh', b), ['sh-fallback', 'flag-3']);
  t.same(m.schedFlagNames('mh', m.SvcFlag.SCHED2), ['mh-port']);
  t.same(m.schedFlagNames('wrr', b), ['flag-1', 'flag-3']);
  t.equal(m.schedFlag('mh-port')?.scheduler, 'mh');
  t.equal(m.schedFlag('nope'), undefined);
  // methods, by every name the tools use
  t.same(m.METHODS.map((x) => x.fwd), [0, 1, 2, 3, 4], 'indexed by Fwd number');
  t.equal(m.methodByName('tunnel')?.ipvsadm, '-i');
  t.equal(m.methodByName('bypass'), undefined, 'bypass is internal');
  t.equal(m.methodName(Fwd.DROUTE), 'route');
  t.equal(m.methodOfLbKind('NAT'), 'masq');
  t.equal(m.methodOfLbKind('TUN'), 'tunnel');
  t.equal(m.METHODS[Fwd.MASQ]!.connFlags & m.ConnFlag.REPLY_FROM_DEST, m.ConnFlag.REPLY_FROM_DEST, 'NAT replies come from the real server');
  t.equal(m.METHODS[Fwd.DROUTE]!.connFlags & m.ConnFlag.NOOUTPUT, m.ConnFlag.NOOUTPUT, 'DR replies bypass the director');
  // protocols
  t.equal(m.protocolNumber('udp'), 17);
  t.equal(m.protocolNumber('gre'), 0);
  t.equal(m.serviceProtocolName(6), 'tcp');
  t.equal(m.serviceProtocolName(132), 'sctp', 'SCTP is a service protocol');
  t.same([0, 6, 17, 132, 1, 99].map(m.protocolListing), ['IP', 'TCP', 'UDP', 'SCTP', 'ICMP', 'IP_99']);
  // kernel modes
  t.ok(m.isKernelMode('2026'));
  t.notOk(m.isKernelMode('2027'));
  t.equal(new Service({}).kernel, 'classic');
});
