import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { ConnFlag } from '@tunvs/model';
import { SyncRxCounters, SyncWriter, decodeSyncMessage, newSyncRecord } from '../src/index.js';
import type { SyncRecord, SyncRecordSpec } from '../src/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const A = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);

// Written from the field tables: NAT service TCP 198.51.100.1:80 persistent, client
// 192.0.2.10:40000 -> 10.0.0.11:80, syncid 5; connection ESTABLISHED (900 s) + template
// ASSURED (360 s).
const CONN: SyncRecordSpec = {
  protocol: 6, flags: 0, state: 1, cport: 40000, vport: 80, dport: 80, fwmark: 0, timeout: 900,
  caddr: A('192.0.2.10'), vaddr: A('198.51.100.1'), daddr: A('10.0.0.11'),
};
const TMPL: SyncRecordSpec = { ...CONN, flags: ConnFlag.TEMPLATE, cport: 0, timeout: 360 };
const V1_TWO =
  '00 05 0050 02 01 0000' + // header: reserved, syncid 5, size 80, 2 records, version 1
  '00 06 0024 00000000 0001 9c40 0050 0050 00000000 00000384 c000020a c6336401 0a00000b' +
  '00 06 0024 00001000 0001 0000 0050 0050 00000000 00000168 c000020a c6336401 0a00000b';
const V0_DR = '01 05 001c' + '00 06 9c40 0050 0050 c000020a c6336401 0a00000b 0003 0001';
const SEQ: SyncRecordSpec = {
  ...CONN, flags: ConnFlag.IN_SEQ | ConnFlag.OUT_SEQ, cport: 40001, vport: 21, dport: 21, seq: [1000, 4, 0, 2000, 0, 0],
};
const V1_SEQ =
  '00 05 006c 02 01 0000' +
  '00 06 003e 00000600 0001 9c41 0015 0015 00000000 00000384 c000020a c6336401 0a00000b' +
  '01 18 000003e8 00000004 00000000 000007d0 00000000 00000000' + '0000' + // option, then 2 bytes of padding
  '00 06 0024 00000000 0001 9c40 0050 0050 00000000 00000384 c000020a c6336401 0a00000b';

function encode(version: number, recs: SyncRecordSpec[]): string {
  const w = new SyncWriter(1472);
  w.begin(version, 5);
  for (const r of recs) if (!w.add(r)) throw new Error('no room');
  return toHex(w.buf.subarray(0, w.finish()));
}

function decode(b: Uint8Array, syncid = 0): { version: number; recs: SyncRecord[]; c: SyncRxCounters } {
  const c = new SyncRxCounters();
  const recs: SyncRecord[] = [];
  const version = decodeSyncMessage(b, b.length, syncid, newSyncRecord(), (r) => recs.push({ ...r, seq: r.seq.slice() }), c);
  return { version, recs, c };
}

t.test('v1 connection + template: encode and decode', (t) => {
  t.equal(encode(1, [CONN, TMPL]), toHex(hex(V1_TWO)));
  const d = decode(hex(V1_TWO), 5);
  t.equal(d.version, 1);
  t.equal(d.recs.length, 2);
  t.match(d.recs[0], { protocol: 6, flags: 0, state: 1, cport: 40000, vport: 80, dport: 80, timeout: 900, caddr: CONN.caddr, vaddr: CONN.vaddr, daddr: CONN.daddr, hasSeq: false });
  t.match(d.recs[1], { flags: ConnFlag.TEMPLATE, cport: 0, timeout: 360 });
  t.end();
});

t.test('v0: encode and decode (no timeout, no fwmark)', (t) => {
  t.equal(encode(0, [{ ...CONN, flags: 3 }]), toHex(hex(V0_DR)));
  const d = decode(hex(V0_DR));
  t.equal(d.version, 0);
  t.match(d.recs, [{ version: 0, protocol: 6, flags: 3, state: 1, cport: 40000, timeout: 0, fwmark: 0 }]);
  t.end();
});

t.test('v1 sequence option with padding', (t) => {
  t.equal(encode(1, [SEQ, CONN]), toHex(hex(V1_SEQ)));
  const d = decode(hex(V1_SEQ));
  t.equal(d.recs.length, 2);
  t.ok(d.recs[0]!.hasSeq);
  t.same([...d.recs[0]!.seq], [1000, 4, 0, 2000, 0, 0]);
  t.equal(d.recs[1]!.cport, 40000);
  t.end();
});

t.test('HASHED and the internal REPLY_FROM_DEST never go on the wire', (t) => {
  const s = encode(1, [{ ...CONN, flags: ConnFlag.HASHED | ConnFlag.REPLY_FROM_DEST | ConnFlag.INACTIVE }]);
  t.equal(s.slice(16 + 8, 16 + 16), '00000100');
  t.end();
});

t.test('bad input is dropped and counted by reason', (t) => {
  const good = hex(V1_TWO);
  const cases: [string, Uint8Array, keyof SyncRxCounters, number][] = [];
  cases.push(['short', good.slice(0, 3), 'short', 0]);
  const size = good.slice();
  size[3] = 0x51;
  cases.push(['size field', size, 'wrongSize', 0]);
  const ver = good.slice();
  ver[5] = 2;
  cases.push(['message version', ver, 'unknownVersion', 0]);
  const rver = good.slice();
  rver[8 + 2] = 0x10; // record version 1
  cases.push(['record version', rver, 'unknownVersion', 0]);
  const trunc = good.slice(0, 60);
  trunc[2] = 0;
  trunc[3] = 60;
  cases.push(['truncated second record', trunc, 'truncated', 1]);
  const rlen = good.slice();
  rlen[8 + 3] = 0x30; // first record claims 48 bytes: its 12 extra bytes read as options
  cases.push(['record length', rlen, 'badOption', 0]);
  const type = good.slice();
  type[8] = 2;
  cases.push(['record type', type, 'badType', 0]);
  const proto = good.slice();
  proto[8 + 1] = 47;
  cases.push(['unknown protocol (skips one record)', proto, 'unknownProto', 1]);
  const state = good.slice();
  state[8 + 9] = 11;
  cases.push(['TCP state 11', state, 'badState', 1]);
  const sctp = good.slice();
  sctp[8 + 1] = 132;
  sctp[8 + 9] = 14;
  cases.push(['SCTP state 14 (beyond CLOSED)', sctp, 'badState', 1]);
  // option with length 0, option overrunning, duplicate seq option, unknown mandatory option
  const opt = (o: string): Uint8Array => {
    const rec = '00 06 ' + (36 + o.replace(/ /g, '').length / 2).toString(16).padStart(4, '0') + V1_TWO.replace(/ /g, '').slice(16 + 8, 16 + 72);
    const body = rec.replace(/ /g, '') + o.replace(/ /g, '');
    const len = 8 + body.length / 2;
    return hex('00 05 ' + len.toString(16).padStart(4, '0') + ' 01 01 0000' + body);
  };
  cases.push(['option length 0', opt('0100'), 'badOption', 0]);
  cases.push(['option overruns record', opt('0118 0000'), 'badOption', 0]);
  cases.push(['PE data without name', opt('0201 aa'), 'badOption', 0]);
  cases.push(['unknown mandatory option', opt('0701 aa'), 'unknownOption', 0]);
  cases.push(['PE name (no PE here)', opt('0201 aa 0303 736970'), 'noPe', 0]);
  for (const [name, b, reason, nrecs] of cases) {
    const d = decode(b);
    t.equal(d.c[reason], 1, `${name}: counted as ${reason}`);
    t.equal(d.recs.length, nrecs, `${name}: ${nrecs} records delivered`);
  }
  const optional = decode(opt('4701 aa'));
  t.equal(optional.recs.length, 1, 'an unknown optional option is skipped');
  const wrong = decode(good, 6);
  t.equal(wrong.c.wrongSyncid, 1);
  t.equal(decode(good, 0).recs.length, 2, 'syncid 0 accepts all');
  t.end();
});

t.test('SCTP records: each of the 14 states is taken, a 15th is not', (t) => {
  const recs = Array.from({ length: 15 }, (_, state) => ({ ...CONN, protocol: 132, state, cport: 40000 + state }));
  const d = decode(hex(encode(1, recs)));
  t.same(d.recs.map((r) => r.state), Array.from({ length: 14 }, (_, i) => i), 'NONE .. CLOSED delivered');
  t.equal(d.c.badState, 1, 'state 14 counted');
  t.equal(d.c.unknownProto, 0, 'SCTP is a protocol the backup tracks');
  t.end();
});

t.test('full messages: the writer refuses what does not fit maxlen', (t) => {
  const w = new SyncWriter(8 + 36 * 2 + 10);
  w.begin(1, 0);
  t.ok(w.add(CONN));
  t.ok(w.add(CONN));
  t.notOk(w.add(CONN));
  t.equal(w.finish(), 80);
  t.end();
});

const REF = '/work/shared/reference/ipvs-sync.md';
t.test('cross-check with the reference hex examples', { skip: existsSync(REF) ? false : `${REF} absent` }, (t) => {
  const text = readFileSync(REF, 'utf8');
  const blocks = [...text.matchAll(/```\n((?:[0-9a-f]{4}: .*\n)+)```/g)].map((m) =>
    m[1]!.split('\n').filter(Boolean).map((l) => l.slice(6).replace(/\|/g, '').replace(/\s/g, '')).join(''),
  );
  t.equal(blocks.length, 3, 'three examples');
  t.equal(blocks[0], toHex(hex(V1_TWO)), 'v1 example');
  t.equal(blocks[1], toHex(hex(V0_DR)), 'v0 example');
  t.equal(blocks[2], toHex(hex(V1_SEQ)), 'sequence-option example');
  t.end();
});
