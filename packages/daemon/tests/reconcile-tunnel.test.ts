/**
 * tunvsd's configuration reaches the tunnel settings of its real servers: the type, the
 * GUE port and the checksum mode are applied on add, a change of any of them is an edit,
 * an unchanged configuration is no change, and a failed reload restores them.
 */
import t from 'tap';
import { MemoryLink } from '@tunvs/link';
import { Director } from '@tunvs/engine';
import type { DestSpec } from '@tunvs/model';
import { Transaction, reconcile } from '../src/index.js';
import type { ServiceConfig } from '../src/index.js';

function director(): Director {
  const d = new Director({ links: [new MemoryLink('tun', 1500)], timers: false, sourceAddress: '10.10.1.1', now: () => 1000 });
  d.start();
  return d;
}

const svc = (tun: Partial<DestSpec>): ServiceConfig[] => [
  { protocol: 'udp', addr: '10.10.0.100', port: 7, scheduler: 'rr', dests: [{ addr: '10.10.1.11', port: 7, method: 'tunnel', ...tun }] },
];
const tunnel = (d: Director): unknown => {
  const x = d.listServices()[0]!.dests[0]!;
  return { tunType: x.tunType, tunPort: x.tunPort, tunFlags: x.tunFlags };
};

t.test('tunnel type, port and checksum from the configuration', (t) => {
  const d = director();
  t.same(reconcile(d, svc({ tunType: 'gue', tunPort: 6080 })).map((c) => c.action), ['add-service', 'add-dest']);
  t.same(tunnel(d), { tunType: 'gue', tunPort: 6080, tunFlags: 'nocsum' }, 'GUE as configured');
  t.same(reconcile(d, svc({ tunType: 'gue', tunPort: 6080 })), [], 'the same configuration changes nothing');
  t.same(reconcile(d, svc({ tunType: 'gue', tunPort: 6080, tunFlags: 'nocsum' })), [], 'the default checksum mode spelled out changes nothing');
  t.same(reconcile(d, svc({ tunType: 'gue', tunPort: 6081, tunFlags: 'csum' })).map((c) => c.action), ['edit-dest'], 'another port and checksum: an edit');
  t.same(tunnel(d), { tunType: 'gue', tunPort: 6081, tunFlags: 'csum' });
  t.same(reconcile(d, svc({ tunType: 'gre', tunFlags: 'csum' })).map((c) => c.action), ['edit-dest']);
  t.same(tunnel(d), { tunType: 'gre', tunPort: undefined, tunFlags: 'csum' });
  t.same(reconcile(d, svc({})).map((c) => c.action), ['edit-dest'], 'no type given: back to ipip');
  t.same(tunnel(d), { tunType: 'ipip', tunPort: undefined, tunFlags: undefined });
  t.end();
});

t.test('a transaction that fails restores the tunnel settings it edited', (t) => {
  const d = director();
  reconcile(d, svc({ tunType: 'gue', tunPort: 6080, tunFlags: 'remcsum' }));
  const tx = new Transaction(d);
  reconcile(tx, svc({ tunType: 'gre' }));
  t.same(tunnel(d), { tunType: 'gre', tunPort: undefined, tunFlags: 'nocsum' });
  t.same(reconcile(tx, svc({ tunType: 'gre' })), [], "the transaction's view has the edit");
  tx.rollback();
  t.same(tunnel(d), { tunType: 'gue', tunPort: 6080, tunFlags: 'remcsum' }, 'rolled back whole');
  t.end();
});
