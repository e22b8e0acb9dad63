// SCTP through a NAT Director on an in-memory link: an association's 4-way handshake, data
// and shutdown, built with the packet builder, checked state by state (ipvsadm -Lc's names,
// the kernel's transitions of ip_vs_proto_sctp.c) with ports, addresses and CRC32c of the
// rewritten packets, which are then written to a pcap for tshark to dissect and verify.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IcmpType, IcmpUnreachCode, LinkType, ParseReason, emitIcmpError, packet, parseIpv4, rd16, sctpChecksumOk, writePcap,
} from '@tunvs/packet';
import type { SctpChunkSpec } from '@tunvs/packet';
import { SctpChunk } from '@tunvs/conntrack';
import { tunDirector, ip, VIP, CLIENT, RS } from './helpers.js';

const VPORT = 5000;
const RPORT = 6000;
const CPORT = 40123;
const CTAG = 0x11223344; // the client's verification tag (the server puts it on its packets)
const STAG = 0x55667788;

function be(...words: [number, number][]): Uint8Array {
  const n = words.reduce((a, [, w]) => a + w, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const [v, w] of words) {
    for (let i = w - 1; i >= 0; i--) out[o + (w - 1 - i)] = Math.floor(v / 2 ** (8 * i)) & 0xff;
    o += w;
  }
  return out;
}

/** INIT / INIT ACK value: initiate tag, a_rwnd, outbound streams, inbound streams, initial TSN (+ parameters). */
function initValue(tag: number, tsn: number, params: Uint8Array = new Uint8Array(0)): Uint8Array {
  const v = be([tag, 4], [65536, 4], [10, 2], [10, 2], [tsn, 4]);
  const out = new Uint8Array(v.length + params.length);
  out.set(v);
  out.set(params, v.length);
  return out;
}

const COOKIE = Uint8Array.from({ length: 24 }, (_, i) => 0xc0 + i);
/** The State Cookie parameter (type 7) of an INIT ACK. */
const cookieParam = (): Uint8Array => {
  const out = new Uint8Array(4 + COOKIE.length);
  out.set(be([7, 2], [4 + COOKIE.length, 2]));
  out.set(COOKIE, 4);
  return out;
};

const fromClient = (vtag: number, chunks: SctpChunkSpec[]): Uint8Array =>
  packet().ipv4({ src: CLIENT, dst: VIP }).sctp({ sport: CPORT, dport: VPORT, vtag, chunks }).build();
const fromServer = (vtag: number, chunks: SctpChunkSpec[]): Uint8Array =>
  packet().ipv4({ src: RS[0]!, dst: CLIENT }).sctp({ sport: RPORT, dport: CPORT, vtag, chunks }).build();

/** The SCTP checksum of a TUN packet is right. */
function crcOk(p: Uint8Array): boolean {
  const hl = (p[0]! & 15) * 4;
  return sctpChecksumOk(p, hl, rd16(p, 2) - hl);
}

function natDirector() {
  const r = tunDirector();
  r.d.addService({ protocol: 'sctp', addr: VIP, port: VPORT, scheduler: 'rr' });
  r.d.addDest({ protocol: 'sctp', addr: VIP, port: VPORT }, { addr: RS[0]!, port: RPORT, method: 'masq' });
  return r;
}

const tsharkRun = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
const noTshark = tsharkRun.error ? 'tshark is not installed (apt-get install tshark)' : false;

t.test('SCTP NAT: handshake, data, shutdown; states, rewrites, CRC32c, and tshark agrees', (t) => {
  const { d, link, clock } = natDirector();
  const wire: { name: string; chunk: number; bytes: Uint8Array }[] = [];
  const conn = () => d.listConnections().find((c) => c.protocol === 'SCTP');
  const dest = () => d.listServices()[0]!.dests[0]!;

  /** Send one packet, expect it forwarded with the NAT rewrite, and the state after it. */
  const step = (name: string, chunk: number, pkt: Uint8Array, inbound: boolean, state: string) => {
    clock.now += 10;
    link.receive(pkt);
    const out = link.drain();
    t.equal(out.length, 1, `${name}: forwarded`);
    const o = out[0]!;
    const h = ip(o);
    if (inbound) {
      t.same([h.src, h.sport, h.dst, h.dport], [CLIENT, CPORT, RS[0], RPORT], `${name}: destination rewritten to the real server`);
    } else {
      t.same([h.src, h.sport, h.dst, h.dport], [VIP, VPORT, CLIENT, CPORT], `${name}: source rewritten to the VIP`);
    }
    t.equal(h.proto, 132, `${name}: still SCTP`);
    t.ok(h.csumOk, `${name}: IP checksum`);
    t.ok(crcOk(o), `${name}: CRC32c computed again`);
    t.not(o.subarray(28, 32).join(), pkt.subarray(28, 32).join(), `${name}: the CRC32c changed with the port`);
    t.equal(conn()?.state, state, `${name}: state ${state}`);
    wire.push({ name, chunk, bytes: o });
  };

  step('INIT', SctpChunk.INIT, fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG, 1000) }]), true, 'INIT1');
  t.equal(dest().inactConns, 1, 'a new association counts inactive');
  step('INIT ACK', SctpChunk.INIT_ACK, fromServer(CTAG, [{ type: SctpChunk.INIT_ACK, value: initValue(STAG, 5000, cookieParam()) }]), false, 'C-SENT');
  step('COOKIE ECHO', SctpChunk.COOKIE_ECHO, fromClient(STAG, [{ type: SctpChunk.COOKIE_ECHO, value: COOKIE }]), true, 'C-REPLIED');
  step('COOKIE ACK', SctpChunk.COOKIE_ACK, fromServer(CTAG, [{ type: SctpChunk.COOKIE_ACK }]), false, 'ESTABLISHED');
  t.equal(dest().activeConns, 1, 'ESTABLISHED counts active');
  t.equal(dest().inactConns, 0);
  t.equal(conn()?.expires, 900, 'ESTABLISHED: the kernel\'s 900 s timeout');
  const data = new Uint8Array(16 + 11);
  data.set(be([1000, 4], [0, 2], [0, 2], [0, 4]));
  data.set(new TextEncoder().encode('hello sctp!'), 16);
  step('DATA', SctpChunk.DATA, fromClient(STAG, [{ type: SctpChunk.DATA, flags: 3, value: data }]), true, 'ESTABLISHED');
  step('SACK', SctpChunk.SACK, fromServer(CTAG, [{ type: SctpChunk.SACK, value: be([1000, 4], [65536, 4], [0, 2], [0, 2]) }]), false, 'ESTABLISHED');
  step('SHUTDOWN', SctpChunk.SHUTDOWN, fromClient(STAG, [{ type: SctpChunk.SHUTDOWN, value: be([5000, 4]) }]), true, 'S-RECEIVED');
  t.equal(dest().activeConns, 0, 'leaving ESTABLISHED counts inactive');
  t.equal(dest().inactConns, 1);
  step('SHUTDOWN ACK', SctpChunk.SHUTDOWN_ACK, fromServer(CTAG, [{ type: SctpChunk.SHUTDOWN_ACK }]), false, 'S-ACK-SENT');
  step('SHUTDOWN COMPLETE', SctpChunk.SHUTDOWN_COMPLETE, fromClient(STAG, [{ type: SctpChunk.SHUTDOWN_COMPLETE }]), true, 'CLOSED');
  t.equal(conn()?.expires, 61, 'CLOSED: 61 s');
  const svc = d.listServices()[0]!;
  t.equal(svc.stats.conns, 1, 'one association scheduled');
  t.equal(svc.stats.inPkts, 5);
  t.equal(svc.stats.outPkts, 4);

  t.test('tshark dissects the rewritten packets and verifies their CRC32c', { skip: noTshark }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sctp-tshark-'));
    try {
      const file = join(dir, 'sctp.pcap');
      writePcap(file, wire.map((w) => w.bytes), LinkType.Raw);
      const r = spawnSync('tshark', ['-r', file, '-o', 'sctp.checksum:CRC 32c', '-o', 'ip.check_checksum:TRUE',
        '-T', 'fields', '-E', 'separator=\t', '-e', 'sctp.checksum.status', '-e', 'sctp.chunk_type', '-e', 'sctp.srcport',
        '-e', 'sctp.dstport', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.checksum.status', '-e', '_ws.malformed'], { encoding: 'utf8' });
      t.equal(r.status, 0, `tshark ran (${r.stderr})`);
      const rows = r.stdout.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
      t.equal(rows.length, wire.length, 'every packet read');
      rows.forEach((row, i) => {
        const w = wire[i]!;
        const [st, chunk, sport, dport, src, dst, ipSt, malformed] = row;
        t.equal(st, '1', `${w.name}: tshark says the CRC32c is good`);
        t.equal(chunk, String(w.chunk), `${w.name}: chunk type ${w.chunk}`);
        t.equal(ipSt, '1', `${w.name}: IP checksum good`);
        t.equal(malformed ?? '', '', `${w.name}: not malformed`);
        const inbound = src === CLIENT;
        t.same([src, sport, dst, dport], inbound ? [CLIENT, String(CPORT), RS[0], String(RPORT)] : [VIP, String(VPORT), CLIENT, String(CPORT)], `${w.name}: addresses and ports`);
      });
      // and a packet whose CRC was not computed again is caught by the same check
      const stale = wire[0]!.bytes.slice();
      stale[stale.length - 1]! ^= 1;
      writePcap(file, [stale], LinkType.Raw);
      const bad = spawnSync('tshark', ['-r', file, '-o', 'sctp.checksum:CRC 32c', '-T', 'fields', '-e', 'sctp.checksum.status'], { encoding: 'utf8' });
      t.equal(bad.stdout.trim(), '0', 'a stale CRC32c is reported bad');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    t.end();
  });
  t.end();
});

t.test('SCTP: only an INIT opens an association (sctp_conn_schedule)', (t) => {
  const { d, link } = natDirector();
  link.receive(fromClient(STAG, [{ type: SctpChunk.DATA, value: 20 }]));
  link.receive(fromClient(STAG, [{ type: SctpChunk.COOKIE_ECHO, value: COOKIE }]));
  link.receive(fromClient(STAG, [{ type: SctpChunk.ABORT }]));
  t.equal(link.drain().length, 0, 'nothing forwarded');
  t.equal(d.counters.notInit, 3, 'counted as not INIT');
  t.equal(d.listConnections().length, 0, 'no connection');
  link.receive(fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG, 1) }]));
  t.equal(link.drain().length, 1, 'the INIT is scheduled');
  t.equal(d.listConnections()[0]?.state, 'INIT1');
  t.end();
});

t.test('SCTP: an INIT on a CLOSED association schedules it anew (conn_reuse_mode)', (t) => {
  const { d, link } = natDirector();
  d.addDest({ protocol: 'sctp', addr: VIP, port: VPORT }, { addr: RS[1]!, port: RPORT, method: 'masq' });
  link.receive(fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG, 1) }]));
  link.receive(fromClient(STAG, [{ type: SctpChunk.ABORT }]));
  t.equal(d.listConnections()[0]?.state, 'CLOSED', 'ABORT closes it');
  const first = ip(link.drain()[0]!).dst;
  link.receive(fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG + 1, 1) }]));
  const out = link.drain();
  t.equal(out.length, 1);
  t.not(ip(out[0]!).dst, first, 'scheduled again (rr: the other real server)');
  t.equal(d.listConnections().find((c) => c.state !== 'CLOSED')?.state ?? d.listConnections()[0]?.state, 'INIT1');
  t.end();
});

t.test('SCTP: COOKIE ECHO bundled with ABORT counts as ABORT', (t) => {
  const { d, link } = natDirector();
  link.receive(fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG, 1) }]));
  link.receive(fromServer(CTAG, [{ type: SctpChunk.INIT_ACK, value: initValue(STAG, 5, cookieParam()) }]));
  t.equal(d.listConnections()[0]?.state, 'C-SENT');
  link.receive(fromClient(STAG, [{ type: SctpChunk.COOKIE_ECHO, value: COOKIE }, { type: SctpChunk.ABORT }]));
  t.equal(d.listConnections()[0]?.state, 'CLOSED', 'INPUT C-SENT + ABORT -> CLOSED, not C-REPLIED');
  t.end();
});

t.test('SCTP: malformed packets are dropped and counted by reason', (t) => {
  const { d, link } = natDirector();
  const cases: [string, Uint8Array, number][] = [
    ['no chunk', packet().ipv4({ src: CLIENT, dst: VIP, protocol: 132 }).payload(be([CPORT, 2], [VPORT, 2], [0, 4], [0, 4])).build(), ParseReason.SctpTruncated],
    ['chunk longer than the packet', fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG, 1), length: 200 }]), ParseReason.SctpBadChunkLength],
    ['chunk length below its header', fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG, 1), length: 2 }]), ParseReason.SctpBadChunkLength],
  ];
  for (const [name, p, reason] of cases) {
    const before = d.counters.malformed[reason]!;
    link.receive(p);
    t.equal(d.counters.malformed[reason], before + 1, `${name}: counted`);
  }
  t.equal(link.drain().length, 0, 'none forwarded');
  t.equal(d.listConnections().length, 0);
  t.end();
});

t.test('SCTP NAT: an ICMP error from the real server quoting the association is rewritten for the client', (t) => {
  const { d, link } = natDirector();
  link.receive(fromClient(0, [{ type: SctpChunk.INIT, value: initValue(CTAG, 1) }]));
  const [toRs] = link.drain();
  const buf = new Uint8Array(200);
  const n = emitIcmpError(buf, 0, toRs!, 0, toRs!.length, IcmpType.DestUnreachable, IcmpUnreachCode.Port, parseIpv4(RS[0]!));
  link.receive(buf.slice(0, n));
  const out = link.drain();
  t.equal(out.length, 1, 'relayed');
  const o = out[0]!;
  t.equal(ip(o).src, VIP, 'outer source: the VIP');
  t.equal(ip(o).dst, CLIENT);
  const q = ip(o, 28);
  t.same([q.src, q.sport, q.dst, q.dport], [CLIENT, CPORT, VIP, VPORT], 'the quote shows client -> VIP:vport');
  t.ok(q.csumOk, 'quoted IP checksum');
  t.equal(d.counters.icmpRelayed, 1);
  t.end();
});
