// The software GSO segmenter: every segment a complete, valid packet; payload, sequence
// numbers, IP IDs, flags and lengths as the kernel's tcp/udp GSO would make them.
import { Proto } from '@tunvs/model';
import t from 'tap';
import {
  CheckFlags, FrameInfo, TcpFlag, classifyFrame, csumFold, emitGsoSegment, gsoHeadersLen, packet, parseIpv4, pseudoHeaderSum,
  rd16, rd32, wr16,
} from '../src/index.js';

const SRC = '10.0.0.1';
const DST = '10.0.0.2';

/** A payload whose bytes tell where they were (so a misplaced slice shows). */
function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 8)) & 0xff;
  return b;
}

/** Every segment of the super-packet `sp` at payload size `mss`, as separate arrays. */
function segments(sp: Uint8Array, mss: number): Uint8Array[] {
  const heads = gsoHeadersLen(sp, 0);
  const payload = rd16(sp, 2) - heads;
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(0x10000);
  for (let from = 0, k = 0; k === 0 || from < payload; k++) {
    const n = Math.min(mss, payload - from);
    const len = emitGsoSegment(sp, 0, from, n, k, buf, 0);
    out.push(buf.slice(0, len));
    from += n;
  }
  return out;
}

/** Parse with every checksum (IP header and L4) verified from scratch; throws on a bad one. */
function valid(seg: Uint8Array): FrameInfo {
  const info = new FrameInfo();
  const r = classifyFrame(seg, 0, seg.length, 'tun', info, CheckFlags.All);
  if (r !== 0) throw new Error(`invalid segment (reason ${r})`);
  return info;
}

function concatPayloads(segs: Uint8Array[]): Uint8Array {
  const parts = segs.map((s) => s.subarray(gsoHeadersLen(s, 0)));
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

const tcp = (payload: Uint8Array, flags: string, opts: { options?: Uint8Array; ipOptions?: Uint8Array; id?: number } = {}) =>
  packet().ipv4({ src: SRC, dst: DST, ttl: 63, df: true, id: opts.id ?? 0x1234, ...(opts.ipOptions ? { options: opts.ipOptions } : {}) })
    .tcp({ sport: 40000, dport: 80, seq: 0xfffff000, ack: 77, flags, window: 512, ...(opts.options ? { options: opts.options } : {}) })
    .payload(payload).build();

t.test('TCP: a payload not a multiple of the MSS', (t) => {
  const data = bytes(4000);
  const sp = tcp(data, 'FPAC');
  const segs = segments(sp, 1448);
  t.equal(segs.length, 3, 'ceil(4000 / 1448) segments');
  t.same([...concatPayloads(segs)], [...data], 'the payloads put together are the original');
  const lens = [1448, 1448, 1104];
  segs.forEach((s, k) => {
    const i = valid(s);
    t.equal(i.ipTotalLen, s.length, `#${k} total length`);
    t.equal(i.l4Len - 20, lens[k], `#${k} payload bytes`);
    t.equal(i.ipId, (0x1234 + k) & 0xffff, `#${k} IP ID + ${k}`);
    t.ok(i.df, `#${k} DF kept`);
    t.equal(i.ttl, 63, `#${k} TTL kept`);
    t.equal(rd32(s, 20 + 4), (0xfffff000 + 1448 * k) >>> 0, `#${k} seq advanced (wrapping)`);
    t.equal(rd32(s, 20 + 8), 77, `#${k} ack kept`);
    t.equal(rd16(s, 20 + 14), 512, `#${k} window kept`);
    const last = k === segs.length - 1;
    const f = i.tcpFlags;
    t.equal((f & TcpFlag.FIN) !== 0, last, `#${k} FIN only on the last`);
    t.equal((f & TcpFlag.PSH) !== 0, last, `#${k} PSH only on the last`);
    t.equal((f & TcpFlag.CWR) !== 0, k === 0, `#${k} CWR only on the first`);
    t.ok(f & TcpFlag.ACK, `#${k} ACK on all`);
  });
  t.end();
});

t.test('TCP: a multiple of the MSS, TCP and IP options copied into each segment', (t) => {
  const data = bytes(3 * 1000);
  // NOP NOP timestamp (12 bytes of options), and an IP option (NOP x3 + EOL)
  const ts = Uint8Array.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
  const sp = tcp(data, 'A', { options: ts, ipOptions: Uint8Array.from([1, 1, 1, 0]), id: 0xffff });
  t.equal(gsoHeadersLen(sp, 0), 24 + 32, 'headers: IP 24 + TCP 32');
  const segs = segments(sp, 1000);
  t.equal(segs.length, 3);
  segs.forEach((s, k) => {
    const i = valid(s);
    t.equal(i.ipHeaderLen, 24, `#${k} IP options kept`);
    t.equal(s[i.l4Off + 12]! >>> 4, 8, `#${k} TCP data offset kept`);
    t.same([...s.subarray(i.l4Off + 20, i.l4Off + 32)], [...ts], `#${k} TCP options copied`);
    t.equal(i.l4Len - 32, 1000);
    t.equal(i.ipId, (0xffff + k) & 0xffff, `#${k} IP ID wraps`);
  });
  t.same([...concatPayloads(segs)], [...data]);
  t.end();
});

t.test('TCP: a partial (pseudo-header only) checksum in the super-packet', (t) => {
  const data = bytes(3000);
  const sp = tcp(data, 'PA');
  // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum
  wr16(sp, 20 + 16, csumFold(pseudoHeaderSum(parseIpv4(SRC), parseIpv4(DST), Proto.TCP, sp.length - 20)));
  const segs = segments(sp, 1460);
  t.equal(segs.length, 3);
  for (const s of segs) valid(s);
  t.same([...concatPayloads(segs)], [...data]);
  t.pass('every segment has a full, valid TCP checksum');
  t.end();
});

t.test('TCP: one segment (payload up to the MSS) is the packet itself with a full checksum', (t) => {
  const sp = tcp(bytes(500), 'FPA');
  const segs = segments(sp, 1448);
  t.equal(segs.length, 1);
  t.same([...segs[0]!], [...sp], 'byte for byte (flags kept: it is the last segment and the first)');
  // and with no payload at all
  const empty = segments(tcp(new Uint8Array(0), 'A'), 1448);
  t.equal(empty.length, 1);
  t.equal(valid(empty[0]!).l4Len, 20);
  t.end();
});

t.test('UDP (USO): equal datagrams, the last shorter, lengths and checksums anew', (t) => {
  const data = bytes(2500);
  const sp = packet().ipv4({ src: SRC, dst: DST, id: 9 }).udp({ sport: 5000, dport: 6000 }).payload(data).build();
  t.equal(gsoHeadersLen(sp, 0), 28);
  const segs = segments(sp, 1200);
  t.same(segs.map((s) => s.length), [1228, 1228, 128]);
  segs.forEach((s, k) => {
    const i = valid(s);
    t.equal(rd16(s, 20 + 4), i.l4Len, `#${k} UDP length`);
    t.equal(i.ipId, 9 + k, `#${k} IP ID`);
    t.equal(i.srcPort, 5000);
    t.equal(i.dstPort, 6000);
  });
  t.same([...concatPayloads(segs)], [...data]);
  t.end();
});

t.test('neither TCP nor UDP: nothing written', (t) => {
  const icmp = packet().ipv4({ src: SRC, dst: DST }).icmp({ type: 8, code: 0 }).payload(100).build();
  t.equal(gsoHeadersLen(icmp, 0), 0);
  t.equal(emitGsoSegment(icmp, 0, 0, 50, 0, new Uint8Array(2000), 0), 0);
  t.end();
});
