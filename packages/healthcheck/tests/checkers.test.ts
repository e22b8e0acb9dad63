import t from 'tap';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHexString } from '@tunvs/keepalived';
import {
  BfdManager,
  BFD_STATE,
  decodeBfd,
  dnsQuery,
  encodeBfd,
  readTrackFile,
  strtol0,
  trackFileEffect,
  udpProbe,
  udpReplyMatches,
} from '../src/index.js';

t.test('hex strings as keepalived reads them (UDP_CHECK payload / require_reply)', (t) => {
  t.same([...readHexString('0102', false)!.data], [1, 2]);
  t.same([...readHexString('1 2 0a', false)!.data], [1, 2, 10], 'a lone digit before a space is one octet');
  t.same([...readHexString('010', false)!.data], [1, 0]);
  t.equal(readHexString('ff', false), null, "keepalived's quirk: a last octet 0xff is refused");
  t.equal(readHexString('x1', false), null, 'no wildcard in a payload');
  const r = readHexString('50 4x', true)!;
  t.same([...r.data], [0x50, 0x40]);
  t.same([...r.mask!], [0, 0x0f]);
  t.end();
});

t.test('UDP reply matching: length bounds, masked prefix', (t) => {
  const o = { replyData: Uint8Array.from([0x50, 0x40]), replyMask: Uint8Array.from([0, 0x0f]), minReplyLength: 2, maxReplyLength: 8 };
  t.ok(udpReplyMatches(Buffer.from('PONG'), o));
  t.notOk(udpReplyMatches(Buffer.from('QONG'), o));
  t.notOk(udpReplyMatches(Buffer.from('P'), o), 'shorter than min_reply_length');
  t.notOk(udpReplyMatches(Buffer.from('PONGPONGPONG'), o), 'longer than max_reply_length');
  t.end();
});

t.test('UDP_CHECK over loopback: reply required, ICMP port unreachable fails', async (t) => {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  s.on('message', (m, from) => s.send(Buffer.concat([Buffer.from('PONG'), m]), from.port, from.address));
  const port = s.address().port;
  const base = { host: '127.0.0.1', port, timeoutMs: 500, minReplyLength: 0, maxReplyLength: 255 };
  t.match(await udpProbe({ ...base, payload: Buffer.from('PING'), requireReply: true, replyData: Buffer.from('PONG') }), { ok: true });
  t.match(await udpProbe({ ...base, requireReply: true, replyData: Buffer.from('Z') }), { ok: false });
  s.close();
  t.match(await udpProbe({ ...base, requireReply: false }), { ok: false, detail: /ECONNREFUSED/ }, 'port unreachable');
});

t.test('DNS query bytes', (t) => {
  const q = dnsQuery(0x1234, 'www.lab.test', 1);
  t.equal(q.toString('hex'), '123401000001000000000000' + '03777777' + '036c6162' + '0474657374' + '00' + '0001' + '0001');
  t.equal(dnsQuery(1, '.', 6).toString('hex'), '000101000001000000000000' + '00' + '0006' + '0001', 'the root');
  t.end();
});

t.test('track_file values and weight rules', (t) => {
  t.equal(strtol0(' 12abc'), 12);
  t.equal(strtol0('0x1f'), 31);
  t.equal(strtol0('010'), 8);
  t.equal(strtol0('-3'), -3);
  t.equal(strtol0('abc'), 0);
  const dir = mkdtempSync(join(tmpdir(), 'tf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(readTrackFile(join(dir, 'missing')), 0, 'a missing file reads 0');
  writeFileSync(join(dir, 'f'), '7\n');
  t.equal(readTrackFile(join(dir, 'f')), 7);
  writeFileSync(join(dir, 'f'), '99999999999\n');
  t.equal(readTrackFile(join(dir, 'f')), null, 'out of int32 range: ignored');
  t.same(trackFileEffect(0, 0, false), { up: true, delta: 0 });
  t.same(trackFileEffect(1, 0, false), { up: false, delta: 0 });
  t.same(trackFileEffect(0, 0, true), { up: false, delta: 0 }, 'reverse: 0 is down');
  t.same(trackFileEffect(3, 2, false), { up: true, delta: 6 });
  t.same(trackFileEffect(3, 2, true), { up: true, delta: -6 });
  t.same(trackFileEffect(-2147483648, 1, false), { up: false, delta: 0 }, 'INT32_MIN is the fault value');
  t.end();
});

t.test('BFD packets round-trip and the discard rules', (t) => {
  const p = {
    diag: 0, state: BFD_STATE.Init, poll: true, final: false, cpi: true, auth: false, demand: false, multipoint: false,
    detectMult: 3, myDiscr: 7, yourDiscr: 9, desiredMinTx: 100000, requiredMinRx: 100000, requiredMinEchoRx: 0,
  } as const;
  const b = encodeBfd(p);
  t.equal(b.toString('hex'), '20a80318' + '00000007' + '00000009' + '000186a0' + '000186a0' + '00000000');
  t.match(decodeBfd(b), { ...p, version: 1, length: 24 });
  t.equal(decodeBfd(encodeBfd({ ...p, version: 2 })), null, 'version 2');
  t.equal(decodeBfd(encodeBfd({ ...p, detectMult: 0 })), null, 'detect mult 0');
  t.equal(decodeBfd(encodeBfd({ ...p, myDiscr: 0 })), null, 'my discriminator 0');
  t.equal(decodeBfd(encodeBfd({ ...p, yourDiscr: 0 })), null, 'your discriminator 0 in Init');
  t.equal(decodeBfd(b.subarray(0, 20)), null, 'short');
  t.end();
});

t.test('two BFD sessions over loopback come Up, and Down on AdminDown', async (t) => {
  const spec = (name: string, neighbor: string, source: string) => ({
    name, neighbor, source, minRx: 20, minTx: 20, idleTx: 1000, multiplier: 3, passive: false, ttl: 255, maxHops: 0, file: 'x', line: 1,
  });
  // both on one host: A listens on 13784 and sends to 13785, B the other way round
  const a = new BfdManager(() => undefined, { port: 13784, peerPort: 13785 });
  const b = new BfdManager(() => undefined, { port: 13785, peerPort: 13784 });
  t.teardown(() => {
    a.stop();
    b.stop();
  });
  await a.update([spec('a', '127.0.0.2', '127.0.0.1')]);
  await b.update([spec('b', '127.0.0.1', '127.0.0.2')]);
  const sa = a.sessions.get('a')!;
  const sb = b.sessions.get('b')!;
  const up = (s: typeof sa): Promise<void> => new Promise((r) => (s.isUp ? r() : s.subscribe((u) => u && r())));
  await Promise.all([up(sa), up(sb)]);
  t.ok(sa.isUp && sb.isUp, 'three-way handshake: both Up');
  const down = new Promise<string>((r) => sb.subscribe((u, d) => !u && r(d)));
  a.stop();
  t.match(await down, /administratively down/, 'B goes Down when A stops');
});
