// CRC32c against published vectors: RFC 3720 appendix B.4 (iSCSI), the "123456789" check
// value of the CRC catalogue, and an SCTP INIT whose checksum is written and verified.
import t from 'tap';
import fc from 'fast-check';
import { crc32c, crc32cUpdate, sctpChecksum, sctpChecksumOk, setSctpChecksum } from '../src/index.js';

t.test('RFC 3720 B.4 and the check value', (t) => {
  t.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283, 'check value');
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa, '32 bytes of zeros');
  t.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43, '32 bytes of ones');
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e, 'incrementing');
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c, 'decrementing');
  const iscsiRead = Uint8Array.from([
    0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
    0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]);
  t.equal(crc32c(iscsiRead), 0xd9963a56, 'an iSCSI read command PDU');
  t.end();
});

t.test('any split of the input gives the same CRC (slicing and byte loops agree)', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (b, k) => {
    const cut = b.length === 0 ? 0 : k % (b.length + 1);
    let bytewise = 0xffffffff;
    for (let i = 0; i < b.length; i++) bytewise = crc32cUpdate(bytewise, b, i, 1);
    const split = crc32cUpdate(crc32cUpdate(0xffffffff, b, 0, cut), b, cut, b.length - cut);
    return split === bytewise && (~split >>> 0) === crc32c(b);
  }));
  t.end();
});

t.test('SCTP checksum: written little-endian, verified, any flipped bit caught', (t) => {
  // common header 5000 > 80, vtag 0, then an INIT chunk (type 1, len 20)
  const p = Uint8Array.from([
    0x13, 0x88, 0x00, 0x50, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef,
    0x01, 0x00, 0x00, 0x14, 0x11, 0x22, 0x33, 0x44, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x0a, 0x55, 0x66, 0x77, 0x88,
  ]);
  setSctpChecksum(p, 0, p.length);
  const c = sctpChecksum(p, 0, p.length);
  t.same([...p.subarray(8, 12)], [c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]);
  const zeroed = Uint8Array.from(p);
  zeroed.fill(0, 8, 12);
  t.equal(crc32c(zeroed), c, 'the CRC of the packet with a zero checksum field');
  t.ok(sctpChecksumOk(p, 0, p.length));
  for (let bit = 0; bit < p.length * 8; bit += 7) {
    const q = Uint8Array.from(p);
    q[bit >> 3] ^= 1 << (bit & 7);
    if (sctpChecksumOk(q, 0, q.length)) t.fail(`bit ${bit} not caught`);
  }
  t.end();
});
