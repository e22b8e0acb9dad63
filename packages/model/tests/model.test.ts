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
