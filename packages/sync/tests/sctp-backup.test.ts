// The backup applies SCTP records as the kernel's ip_vs_proc_conn does for every protocol
// with states: the entry takes the record's state (active or inactive with it) and, when
// the record carries no timeout (v0, or 0), that state's timeout. A state beyond SCTP's
// 14 is refused and counted, on the wire and when a record reaches apply another way.
import t from 'tap';
import type { Test } from 'tap';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import { parseIpv4 } from '@tunvs/packet';
import { SCTP_DEFAULT_TIMEOUTS, SctpState } from '@tunvs/conntrack';
import type { ConnEntry } from '@tunvs/conntrack';
import { MemorySyncHub, SyncDaemons, SyncWriter, newSyncRecord } from '../src/index.js';
import type { SyncBackup, SyncRecordSpec } from '../src/index.js';

const VIP = '10.30.0.100';
const RS = '10.30.1.11';

async function backup(): Promise<{ d: Director; b: SyncBackup; clock: { now: number }; stop: () => void }> {
  const clock = { now: 1_000_000 };
  const d = new Director({ links: [new MemoryLink('tun', 1500)], now: () => clock.now, timers: false, sourceAddress: '10.30.1.1' });
  d.start();
  d.addService({ protocol: 'sctp', addr: VIP, port: 5000, scheduler: 'rr' });
  d.addDest({ protocol: 'sctp', addr: VIP, port: 5000 }, { addr: RS, port: 5000, method: 'masq' });
  const hub = new MemorySyncHub();
  const s = new SyncDaemons(d, { transport: async () => hub.join(), autoFlush: false, clock: () => clock.now });
  await s.start('backup', { ifname: 'eth1', syncid: 0 });
  return { d, b: s.backupDaemon!, clock, stop: () => s.stop() };
}

const rec = (cport: number, state: number, extra: Partial<SyncRecordSpec> = {}): SyncRecordSpec => ({
  protocol: Proto.SCTP, flags: 0, state, cport, vport: 5000, dport: 5000, timeout: 0,
  caddr: parseIpv4('10.40.0.2'), vaddr: parseIpv4(VIP), daddr: parseIpv4(RS), ...extra,
});

function send(t: Test, b: SyncBackup, version: number, recs: SyncRecordSpec[]): void {
  const w = new SyncWriter();
  w.begin(version, 0);
  for (const r of recs) if (!w.add(r)) throw new Error('no room');
  t.equal(b.handle(w.buf, w.finish()), version, `a v${version} message accepted`);
}

const entry = (d: Director, cport: number, now: number): ConnEntry | undefined => [...d.conns.entries(now)].find((e) => e.cport === cport);
const dest = (d: Director): { activeConns: number; inactConns: number } => d.listServices()[0]!.dests[0]!;

t.test('SCTP records: the entry takes the record\'s state and, without a timeout, the state\'s', async (t) => {
  const { d, b, clock, stop } = await backup();
  // v1 with timeout 0 and v0 (no timeout field): the state's timeout
  send(t, b, 1, [rec(1001, SctpState.ESTABLISHED), rec(1002, SctpState.COOKIE_ECHOED, { flags: 0x0100 })]);
  send(t, b, 0, [rec(1003, SctpState.SHUTDOWN_SENT, { flags: 0x0100 })]);
  t.equal(b.applied.created, 3, 'three entries created');
  t.equal(b.rx.unknownProto, 0, 'none refused as an unknown protocol');
  const est = entry(d, 1001, clock.now)!;
  t.equal(est.state, 'ESTABLISHED', 'ESTABLISHED as sent');
  t.equal(est.expires, SCTP_DEFAULT_TIMEOUTS[SctpState.ESTABLISHED], 'with ESTABLISHED\'s timeout (900 s)');
  t.equal(d.conns.oldState(est.slot), SctpState.ESTABLISHED, 'old_state is the record\'s state');
  const echoed = entry(d, 1002, clock.now)!;
  t.equal(echoed.state, 'C-ECHOED');
  t.equal(echoed.expires, SCTP_DEFAULT_TIMEOUTS[SctpState.COOKIE_ECHOED]);
  const shut = entry(d, 1003, clock.now)!;
  t.equal(shut.state, 'S-SENT', 'v0: the state too');
  t.equal(shut.expires, SCTP_DEFAULT_TIMEOUTS[SctpState.SHUTDOWN_SENT]);
  t.same(dest(d), { ...dest(d), activeConns: 1, inactConns: 2 }, 'ESTABLISHED counts active, the others inactive');

  // a record with a timeout: that one; a later record moves the state (and the counters)
  send(t, b, 1, [rec(1002, SctpState.ESTABLISHED, { timeout: 700 }), rec(1001, SctpState.SHUTDOWN_RECEIVED, { flags: 0x0100 })]);
  t.equal(b.applied.updated, 2);
  t.equal(entry(d, 1002, clock.now)!.state, 'ESTABLISHED');
  t.equal(entry(d, 1002, clock.now)!.expires, 700, 'the record\'s timeout');
  t.equal(entry(d, 1001, clock.now)!.state, 'S-RECEIVED');
  t.equal(entry(d, 1001, clock.now)!.expires, SCTP_DEFAULT_TIMEOUTS[SctpState.SHUTDOWN_RECEIVED]);
  t.same(dest(d), { ...dest(d), activeConns: 1, inactConns: 2 }, 'one left ESTABLISHED, one entered it');
  stop();
});

t.test('an SCTP state beyond CLOSED is refused and counted, never applied', async (t) => {
  const { d, b, clock, stop } = await backup();
  send(t, b, 1, [rec(2001, 14), rec(2002, 0xffff), rec(2003, SctpState.CLOSED, { flags: 0x0100 })]);
  t.equal(b.rx.badState, 2, 'two records with states 14 and 65535 counted by the decoder');
  t.equal(b.applied.created, 1, 'the CLOSED one applied');
  t.equal(entry(d, 2003, clock.now)!.state, 'CLOSED');
  t.equal(entry(d, 2001, clock.now), undefined);
  // a record handed to apply directly (as a worker gets the records its main thread decoded)
  const r = newSyncRecord();
  Object.assign(r, rec(2004, 200));
  b.apply(r, clock.now);
  t.equal(b.applied.badState, 1, 'apply counts it');
  t.equal(entry(d, 2004, clock.now), undefined, 'and creates nothing');
  Object.assign(r, rec(2003, 99));
  b.apply(r, clock.now);
  t.equal(b.applied.badState, 2);
  t.equal(entry(d, 2003, clock.now)!.state, 'CLOSED', 'an existing entry keeps its state');
  t.equal(entry(d, 2003, clock.now)!.expires, SCTP_DEFAULT_TIMEOUTS[SctpState.CLOSED], 'and its timeout');
  stop();
});

t.test('the master syncs SCTP as the kernel does: ESTABLISHED and the closing states only, a closing change at once', async (t) => {
  const clock = { now: 1_000_000 };
  const hub = new MemorySyncHub();
  const mk = (): Director => {
    const d = new Director({ links: [new MemoryLink('tun', 1500)], now: () => clock.now, timers: false, sourceAddress: '10.30.1.1' });
    d.start();
    d.addService({ protocol: 'sctp', addr: VIP, port: 5000, scheduler: 'rr' });
    d.addDest({ protocol: 'sctp', addr: VIP, port: 5000 }, { addr: RS, port: 5000, method: 'masq' });
    return d;
  };
  const a = mk();
  const b = mk();
  const opts = { transport: async () => hub.join(), autoFlush: false, clock: () => clock.now };
  const sa = new SyncDaemons(a, opts);
  const sb = new SyncDaemons(b, opts);
  await sa.start('master', { ifname: 'eth1', syncid: 0 });
  await sb.start('backup', { ifname: 'eth1', syncid: 0 });
  const m = sa.masterDaemon!;
  const c = a.conns;
  const dest = a.table.find(0, Proto.SCTP, parseIpv4(VIP), 5000)!.findDest(parseIpv4(RS), 5000)!;
  const slot = c.create(Proto.SCTP, parseIpv4('10.40.0.2'), 3001, parseIpv4(VIP), 5000, parseIpv4(RS), 5000, dest, 0, clock.now);
  m.created(slot);
  // the packet count at the threshold (3) in a handshake state: not synced
  c.setState(slot, SctpState.COOKIE_ECHOED, clock.now);
  c.setInPkts(slot, 3);
  m.conn(slot, clock.now);
  t.equal(m.counters.queued, 0, 'C-ECHOED is not synced, even at the threshold');
  // ESTABLISHED: on the threshold's rhythm (3, 53, ...), not at once
  c.setState(slot, SctpState.ESTABLISHED, clock.now);
  c.setInPkts(slot, 4);
  m.conn(slot, clock.now);
  t.equal(m.counters.queued, 0, 'ESTABLISHED at packet 4: not yet');
  c.setInPkts(slot, 53);
  m.conn(slot, clock.now);
  t.equal(m.counters.queued, 1, 'ESTABLISHED at packet 53 (threshold + period): synced');
  // a change to SHUTDOWN_SENT: at once, whatever the count
  c.setState(slot, SctpState.SHUTDOWN_SENT, clock.now);
  c.setInPkts(slot, 54);
  m.conn(slot, clock.now);
  t.equal(m.counters.queued, 2, 'S-SENT: sent at once');
  c.setInPkts(slot, 55);
  m.conn(slot, clock.now);
  t.equal(m.counters.queued, 2, 'and not again while the state stays');
  m.flush(clock.now, true);
  sb.backupDaemon!.drain();
  const e = entry(b, 3001, clock.now);
  t.equal(e?.state, 'S-SENT', 'the backup holds it in the state sent');
  sa.stop();
  sb.stop();
});
