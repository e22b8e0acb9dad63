// The backup's receive buffer: a buffer capped by net.core.rmem_max is reported, not ignored.
import t from 'tap';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { BACKUP_RCVBUF, MemorySyncHub, SyncDaemons, rcvbufWarning } from '../src/index.js';

t.test('rcvbufWarning: what SO_RCVBUF reads back (twice the size set) against what was asked', async (t) => {
  t.equal(rcvbufWarning(BACKUP_RCVBUF, 2 * BACKUP_RCVBUF), null, 'granted');
  t.equal(rcvbufWarning(BACKUP_RCVBUF, 4 * BACKUP_RCVBUF), null, 'more than asked');
  const w = rcvbufWarning(BACKUP_RCVBUF, 2 * 212992)!;
  t.match(w, /receive buffer is 208 KiB, not the 4096 KiB asked for/);
  t.match(w, /net\.core\.rmem_max.*sysctl -w net\.core\.rmem_max=4194304/);
});

t.test('a transport\'s warning reaches the daemons\' warn callback', async (t) => {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], timers: false, sourceAddress: '10.10.1.1' });
  const hub = new MemorySyncHub();
  const warned: string[] = [];
  const capped = async () => Object.assign(hub.join(), { warning: rcvbufWarning(BACKUP_RCVBUF, 2 * 212992) });
  const s = new SyncDaemons(d, { transport: capped, autoFlush: false, warn: (m) => warned.push(m) });
  await s.start('backup', { ifname: 'eth1' });
  t.equal(warned.length, 1);
  t.match(warned[0], /208 KiB/);
  s.stop();
  const quiet = new SyncDaemons(d, { transport: async () => hub.join(), autoFlush: false, warn: (m) => warned.push(m) });
  await quiet.start('backup', { ifname: 'eth1' });
  t.equal(warned.length, 1, 'nothing when the buffer was granted');
  quiet.stop();
});
