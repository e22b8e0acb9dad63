// The FTP helper's sequence deltas ride along as IPVS_OPT_SEQ_DATA: a master with an FTP
// NAT session whose 227 reply grew by a byte syncs the control connection to a backup; the
// backup takes over and shifts the client's ACKs and the server's sequence numbers as the
// master did. Two Directors on in-memory links, the daemons on an in-memory group.
import t from 'tap';
import { Director } from '@tunvs/engine';
import { MemoryLink } from '@tunvs/link';
import { ConnFlag } from '@tunvs/model';
import { packet, rd16, rd32, Ipv4Field } from '@tunvs/packet';
import { MemorySyncHub, SyncDaemons, SyncRxCounters, decodeSyncMessage, newSyncRecord } from '../src/index.js';
import type { SyncRecord } from '../src/index.js';

const VIP = '10.10.0.100';
const RS = '10.10.1.11';
const CLIENT = '10.20.0.5';

function director(clock: { now: number }): { d: Director; link: MemoryLink } {
  const link = new MemoryLink('tun', 1500);
  const d = new Director({ links: [link], now: () => clock.now, timers: false, sourceAddress: '10.10.1.1' });
  d.start();
  d.addService({ protocol: 'tcp', addr: VIP, port: 21, scheduler: 'rr' });
  d.addDest({ protocol: 'tcp', addr: VIP, port: 21 }, { addr: RS, port: 21, method: 'masq' });
  return { d, link };
}

const seqOf = (p: Uint8Array): number => rd32(p, 20 + 4);
const ackOf = (p: Uint8Array): number => rd32(p, 20 + 8);
const text = (p: Uint8Array): string => {
  const doff = (p[20 + 12]! >>> 4) * 4;
  return new TextDecoder().decode(p.subarray(20 + doff, rd16(p, Ipv4Field.TOTAL_LEN)));
};

function peer(link: MemoryLink) {
  const one = (p: Uint8Array): Uint8Array => {
    link.receive(p);
    const out = link.drain();
    if (out.length !== 1) throw new Error(`${out.length} packets sent`);
    return out[0]!;
  };
  return {
    fromClient: (flags: string, seq: number, ack: number, data = ''): Uint8Array =>
      one(packet().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 40000, dport: 21, flags, seq, ack }).payload(data).build()),
    fromServer: (flags: string, seq: number, ack: number, data = ''): Uint8Array =>
      one(packet().ipv4({ src: RS, dst: CLIENT }).tcp({ sport: 21, dport: 40000, flags, seq, ack }).payload(data).build()),
  };
}

for (const version of [1, 0]) t.test(`FTP NAT, protocol v${version}: the 227 delta reaches the backup, which rewrites the next client ACK after takeover`, async (t) => {
  const clock = { now: 5_000_000 };
  const hub = new MemorySyncHub();
  const a = director(clock);
  const b = director(clock);
  const opts = { transport: async () => hub.join(), autoFlush: false, clock: () => clock.now };
  const sa = new SyncDaemons(a.d, { ...opts, master: { version } });
  const sb = new SyncDaemons(b.d, opts);
  await sa.start('master', { ifname: 'eth1', syncid: 9 });
  await sb.start('backup', { ifname: 'eth1', syncid: 9 });
  // what goes over the wire
  const tap = hub.join();
  const recs: SyncRecord[] = [];
  const rx = new SyncRxCounters();
  const rec = newSyncRecord();
  tap.onMessage((buf, len) => {
    decodeSyncMessage(buf, len, 9, rec, (r) => recs.push({ ...r, seq: r.seq.slice() }), rx);
  });
  const m = sa.masterDaemon!;
  const A = peer(a.link);

  // handshake, greeting, PASV (the 3rd incoming packet: synced, nothing resized yet)
  A.fromClient('S', 1000, 0);
  A.fromServer('SA', 5000, 1001);
  A.fromClient('A', 1001, 5001);
  A.fromServer('PA', 5001, 1001, '220 hi\r\n');
  A.fromClient('PA', 1001, 5009, 'PASV\r\n');
  m.flush(clock.now, true);
  t.equal(recs.length, 1, 'synced on its 3rd packet');
  t.notOk(recs[0]!.hasSeq, 'no sequence data before the 227');
  // the 227: 10,10,1,11 becomes 10,10,0,100, one byte longer
  const reply = '227 Entering Passive Mode (10,10,1,11,195,80).\r\n';
  const r = A.fromServer('PA', 5009, 1007, reply);
  t.equal(text(r), '227 Entering Passive Mode (10,10,0,100,195,80).\r\n');
  let sseq = 5009 + reply.length; // the server's numbering
  let cseq = 1007;
  // 50 more commands from the client: its 53rd packet is the next one synced (sync_period 50)
  for (let i = 0; i < 50; i++) {
    const c = A.fromClient('PA', cseq, sseq + 1, 'NOOP\r\n');
    t.equal(ackOf(c), sseq, 'the master shifts the ack back');
    cseq += 6;
    const s = A.fromServer('PA', sseq, cseq, '200 ok\r\n');
    t.equal(seqOf(s), sseq + 1, 'the master shifts the server\'s sequence');
    sseq += 8;
  }
  m.flush(clock.now, true);
  t.equal(recs.length, 2, 'synced again on its 53rd packet');
  const last = recs[1]!;
  t.equal(last.version, version);
  t.ok(last.hasSeq, version === 1 ? 'with IPVS_OPT_SEQ_DATA' : 'with the 24-byte sequence block');
  t.equal(last.flags & (ConnFlag.IN_SEQ | ConnFlag.OUT_SEQ), ConnFlag.OUT_SEQ, 'OUT_SEQ: only the server -> client direction was resized');
  t.same([...last.seq], [0, 0, 0, 5009, 1, 0], 'out_seq = {init_seq 5009, delta 1, previous_delta 0}');
  sb.backupDaemon!.drain();
  t.equal(sb.backupDaemon!.applied.seqData, 1, 'the backup\'s FTP helper took the deltas over');
  t.equal(sb.backupDaemon!.applied.seqNoHelper, 0);
  const onB = [...b.d.conns.entries(clock.now)].find((e) => e.vport === 21)!;
  const st = b.d.forwarders.ftp.stateOf(onB.slot)!;
  t.same([st.outSeq.init, st.outSeq.delta, st.outSeq.previous, st.inSeq.set], [5009, 1, 0, false], 'the helper state of the backup\'s entry');

  // takeover: the client's next ACK (its numbering) reaches the server in the server's
  const B = peer(b.link);
  const ack = B.fromClient('A', cseq, sseq + 1);
  t.equal(ip4dst(ack), RS, 'to the same real server');
  t.equal(ackOf(ack), sseq, 'the backup shifts the ack back by the synced delta');
  t.ok(l4Ok(ack), 'TCP checksum');
  const s2 = B.fromServer('PA', sseq, cseq, '226 done\r\n');
  t.equal(seqOf(s2), sseq + 1, 'and the server\'s sequence forward');
  t.ok(l4Ok(s2));
  t.equal(b.d.stats()['ftp.rewrites'] ?? 0, 0, 'the backup rewrote nothing itself');
  sa.stop();
  sb.stop();
});

t.test('without the delta the backup would get the ack wrong (the test can fail)', async (t) => {
  // the same session, but the backup learns the connection only from its 3rd packet (before the 227)
  const clock = { now: 5_000_000 };
  const hub = new MemorySyncHub();
  const a = director(clock);
  const b = director(clock);
  const opts = { transport: async () => hub.join(), autoFlush: false, clock: () => clock.now };
  const sa = new SyncDaemons(a.d, opts);
  const sb = new SyncDaemons(b.d, opts);
  await sa.start('master', { ifname: 'eth1' });
  await sb.start('backup', { ifname: 'eth1' });
  const A = peer(a.link);
  A.fromClient('S', 1000, 0);
  A.fromServer('SA', 5000, 1001);
  A.fromClient('A', 1001, 5001);
  A.fromServer('PA', 5001, 1001, '220 hi\r\n');
  A.fromClient('PA', 1001, 5009, 'PASV\r\n');
  const reply = '227 Entering Passive Mode (10,10,1,11,195,80).\r\n';
  A.fromServer('PA', 5009, 1007, reply);
  sa.masterDaemon!.flush(clock.now, true);
  sb.backupDaemon!.drain();
  const sseq = 5009 + reply.length;
  const ack = peer(b.link).fromClient('A', 1007, sseq + 1);
  t.equal(ackOf(ack), sseq + 1, 'unshifted: the 227 came after the last sync (the kernel\'s rules too)');
  sa.stop();
  sb.stop();
});

function ip4dst(p: Uint8Array): string {
  return [16, 17, 18, 19].map((i) => p[i]).join('.');
}

function l4Ok(p: Uint8Array): boolean {
  const total = rd16(p, Ipv4Field.TOTAL_LEN);
  let sum = 0;
  const add16 = (v: number): void => {
    sum += v;
  };
  for (let i = 12; i < 20; i += 2) add16(rd16(p, i));
  add16(6);
  add16(total - 20);
  for (let i = 20; i < total; i += 2) add16(i + 1 < total ? rd16(p, i) : p[i]! << 8);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}
