import t from 'tap';
import { openPcap, PcapError, pcapErrorCode } from '../src/index.js';

t.test('libpcap messages map to codes', (t) => {
  t.equal(pcapErrorCode("ttx0: You don't have permission to capture on that device (socket: Operation not permitted)"), 'EPERM');
  t.equal(pcapErrorCode('ttx0: No such device exists (SIOCGIFHWADDR: No such device)'), 'ENODEV');
  t.equal(pcapErrorCode('syntax error in filter expression'), 'EINVAL');
  t.equal(pcapErrorCode('send: Message too long'), 'EMSGSIZE');
  t.equal(pcapErrorCode('something else'), 'EIO');
  t.end();
});

t.test('bad interface names are refused before libpcap', (t) => {
  const err = t.throws(() => openPcap({ iface: 'x'.repeat(16) })) as PcapError;
  t.ok(err instanceof PcapError);
  t.equal(err.code, 'EINVAL');
  t.throws(() => openPcap({ iface: '' }), { code: 'EINVAL' });
  t.end();
});

t.test('a missing interface (or no privileges) is a PcapError naming it', (t) => {
  const err = t.throws(() => openPcap({ iface: 'ttnosuchif0', filter: 'udp' })) as PcapError;
  t.ok(err instanceof PcapError);
  // root: no such device; otherwise: no permission
  t.ok(err.code === 'ENODEV' || err.code === 'EPERM', err.code);
  t.match(err.message, /^pcap open on ttnosuchif0 failed: /);
  t.end();
});
