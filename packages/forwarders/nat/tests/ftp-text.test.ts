import t from 'tap';
import { FtpMatch, FtpMode, ftpClientCommand, parse227, parse229, replacementLength, writeReplacement } from '../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array, s: number, e: number): string => new TextDecoder().decode(b.subarray(s, e));
const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

function client(s: string): { mode: number; m: FtpMatch } {
  const b = enc(s);
  const m = new FtpMatch();
  return { mode: ftpClientCommand(b, 0, b.length, m), m };
}

t.test('PASV and EPSV are found anywhere in the segment, case-insensitively', (t) => {
  t.equal(client('PASV\r\n').mode, FtpMode.PASV);
  t.equal(client('NOOP\r\npasv\r\n').mode, FtpMode.PASV);
  t.equal(client('EPSV\r\n').mode, FtpMode.EPSV);
  t.equal(client('epsv 1\r\n').mode, FtpMode.EPSV);
  t.equal(client('EPSV 2\r\n').mode, FtpMode.NONE, 'IPv6 family on an IPv4 connection');
  t.equal(client('EPSV ALL\r\n').mode, FtpMode.NONE);
  t.equal(client('PASV').mode, FtpMode.NONE, 'no CRLF: not a complete command');
  t.equal(client('RETR file\r\n').mode, FtpMode.NONE);
  t.end();
});

t.test('PORT at the start: address, port, bytes modulo 256, terminator inside the segment', (t) => {
  let r = client('PORT 10,10,0,2,195,80\r\n');
  t.equal(r.mode, FtpMode.PORT);
  t.equal(r.m.addr, ip(10, 10, 0, 2));
  t.equal(r.m.port, 195 * 256 + 80);
  r = client('port 1,2,3,260,0,21\r\n');
  t.equal(r.m.addr, ip(1, 2, 3, 4), '260 is 4 modulo 256 as the kernel accumulates');
  t.equal(r.m.port, 21);
  t.equal(client('PORT 10,10,0,2,195,80').mode, FtpMode.NONE, 'no terminator in the segment');
  t.equal(client('PORT 10,10,0,2,195\r\n').mode, FtpMode.NONE, 'five numbers');
  t.equal(client('PORT 10,10,0,2,195,80,1\r\n').mode, FtpMode.NONE, 'seven numbers');
  t.equal(client('NOOP\r\nPORT 10,10,0,2,195,80\r\n').mode, FtpMode.NONE, 'PORT only at the start');
  t.end();
});

t.test('EPRT: any delimiter, family 1, dotted quad, non-zero port', (t) => {
  let r = client('EPRT |1|10.10.0.2|50000|\r\n');
  t.equal(r.mode, FtpMode.EPRT);
  t.equal(r.m.addr, ip(10, 10, 0, 2));
  t.equal(r.m.port, 50000);
  r = client('eprt  !1!192.168.1.200!21!\r\n');
  t.equal(r.mode, FtpMode.EPRT);
  t.equal(r.m.addr, ip(192, 168, 1, 200));
  t.equal(client('EPRT |2|::1|50000|\r\n').mode, FtpMode.NONE, 'IPv6 on an IPv4 connection');
  t.equal(client('EPRT |1|10.10.0.256|50000|\r\n').mode, FtpMode.NONE);
  t.equal(client('EPRT |1|10.10.0.2|0|\r\n').mode, FtpMode.NONE, 'port 0');
  t.equal(client('EPRT |1|10.10.0.2|70000|\r\n').mode, FtpMode.NONE);
  t.equal(client('EPRT |1|10.10.0.2|50000').mode, FtpMode.NONE, 'no closing delimiter');
  t.end();
});

t.test('227: the 6-tuple and the span the helper replaces', (t) => {
  const s = '227 Entering Passive Mode (10,10,1,11,195,80).\r\n';
  const b = enc(s);
  const m = new FtpMatch();
  t.ok(parse227(b, 0, b.length, m));
  t.equal(m.addr, ip(10, 10, 1, 11));
  t.equal(m.port, 50000);
  t.equal(dec(b, m.start, m.end), '10,10,1,11,195,80');
  const b2 = enc('227 =10,0,0,1,4,1\r\n');
  t.ok(parse227(b2, 0, b2.length, m), 'no parenthesis: the numbers start at the first digit');
  t.equal(m.port, 1025);
  const b3 = enc('227 Entering Passive Mode (10,10,1,11,19');
  t.notOk(parse227(b3, 0, b3.length, m), 'split across segments');
  const b4 = enc('200 PORT command successful\r\n');
  t.notOk(parse227(b4, 0, b4.length, m));
  t.end();
});

t.test('229: port, optional address, span from delimiter to delimiter', (t) => {
  const m = new FtpMatch();
  const b = enc('229 Entering Extended Passive Mode (|||50000|)\r\n');
  t.ok(parse229(b, 0, b.length, m));
  t.equal(m.port, 50000);
  t.equal(m.addr, 0);
  t.equal(dec(b, m.start, m.end), '|||50000|');
  const b2 = enc('229 Entering Extended Passive Mode (|1|10.10.1.11|40001|)\r\n');
  t.ok(parse229(b2, 0, b2.length, m));
  t.equal(m.addr, ip(10, 10, 1, 11));
  t.equal(m.port, 40001);
  const b3 = enc('229 Entering Extended Passive Mode (|||50000');
  t.notOk(parse229(b3, 0, b3.length, m));
  t.end();
});

t.test('replacement text: VIP and port for 227, |||port| for 229, lengths as written', (t) => {
  const out = new Uint8Array(64);
  for (const [ext, addr, port, want] of [
    [false, ip(198, 51, 100, 1), 50000, '198,51,100,1,195,80'],
    [false, ip(1, 2, 3, 4), 21, '1,2,3,4,0,21'],
    [true, 0, 50000, '|||50000|'],
    [true, 0, 1, '|||1|'],
  ] as const) {
    const n = writeReplacement(out, 0, ext, addr, port);
    t.equal(dec(out, 0, n), want);
    t.equal(replacementLength(ext, addr, port), n);
  }
  t.end();
});
