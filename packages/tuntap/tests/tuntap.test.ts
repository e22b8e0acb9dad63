import t from 'tap';
import { formatIpv4, formatMac } from '@tunvs/packet';
import fc from 'fast-check';
import { openSync, closeSync } from 'node:fs';
import {
  TunTapError,
  TunTapLink,
  openTun,
  openTap,
  setMtu,
  checkIfName,
  parseCidr,
  parseMac,
  hintFor,
  readVnetHeader,
  writeVnetNone,
  VNET_HDR,
  VNET_GSO,
  VNET_F,
  TUN_F,
  DEFAULT_OFFLOADS,
} from '../src/index.js';
import { fromNative } from '../src/errors.js';

t.test('interface names longer than 15 bytes are refused before any syscall', (t) => {
  const err = t.throws(() => openTun({ name: 'a-name-that-is-16' })) as TunTapError;
  t.ok(err instanceof TunTapError);
  t.equal(err.code, 'ENAMETOOLONG');
  t.equal(err.errno, 36);
  t.match(err.message, /^interface name too long \(max 15 bytes\)/);
  t.throws(() => openTap({ name: 'é'.repeat(8) }), { code: 'ENAMETOOLONG' }, 'bytes, not characters');
  t.throws(() => setMtu('x'.repeat(16), 1400), { code: 'ENAMETOOLONG' });
  t.throws(() => checkIfName('a/b'), { code: 'EINVAL' });
  t.throws(() => checkIfName(''), { code: 'EINVAL' });
  t.doesNotThrow(() => checkIfName('x'.repeat(15)));
  t.end();
});

t.test('bad options are refused before touching the kernel', (t) => {
  t.throws(() => openTun({ name: 'ttx0', address: '10.0.0.300/24' }), { code: 'EINVAL', message: /invalid IPv4 address/ });
  t.throws(() => openTun({ name: 'ttx0', address: '10.0.0.1/33' }), { code: 'EINVAL' });
  t.throws(() => openTun({ name: 'ttx0', queues: 0 }), { code: 'EINVAL' });
  t.throws(() => openTun({ name: 'ttx0', vnetHdr: 11 as unknown as 10 }), { code: 'EINVAL' });
  t.throws(() => openTap({ name: 'ttx0', mac: '02:00:00:00:00' }), { code: 'EINVAL', message: /invalid MAC/ });
  t.throws(() => setMtu('lo', 20), { code: 'EINVAL', message: /out of range/ });
  t.end();
});

t.test('addresses and MACs parse and format', (t) => {
  t.same(parseCidr('10.0.0.1/24'), { addr: 0x0a000001, prefix: 24 });
  t.same(parseCidr('192.168.1.2'), { addr: 0xc0a80102, prefix: 32 });
  t.throws(() => parseCidr('1.2.3'), { code: 'EINVAL' });
  t.same(parseMac('02:AB:cd:00:01:ff'), Uint8Array.of(2, 0xab, 0xcd, 0, 1, 0xff));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => parseCidr(formatIpv4(a)).addr === a),
    { seed: 42, numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (m) => formatMac(parseMac(formatMac(m))) === formatMac(m)),
    { seed: 42, numRuns: 200 },
  );
  t.end();
});

t.test('native errors become sentences', (t) => {
  const e = fromNative({ code: 'EPERM', errno: 1, syscall: 'TUNSETIFF', message: 'x' }, 'opening TUN device tt0');
  t.equal(e.message, 'TUNSETIFF failed: EPERM (needs CAP_NET_ADMIN), opening TUN device tt0');
  t.equal(e.code, 'EPERM');
  t.equal(e.errno, 1);
  t.equal(e.syscall, 'TUNSETIFF');
  t.match(hintFor('TUNSETIFF', 'EBUSY'), /already attached/);
  t.match(hintFor('SIOCSIFMTU', 'ENODEV'), /no such interface/);
  t.match(hintFor('open /dev/net/tun', 'ENOENT'), /tun module/);
  t.equal(hintFor('TUNSETIFF', 'EIO'), '');
  t.end();
});

t.test('virtio_net_hdr layout', (t) => {
  // a TCPv4 GSO super-packet header: NEEDS_CSUM, TCPV4, hdr_len 66, gso_size 1448,
  // csum_start 20, csum_offset 16 (little endian)
  const hdr = Uint8Array.from([0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x14, 0x00, 0x10, 0x00]);
  t.same(readVnetHeader(hdr, 0), { flags: 1, gsoType: 1, hdrLen: 66, gsoSize: 1448, csumStart: 20, csumOffset: 16 });
  t.equal(hdr[VNET_HDR.GSO_TYPE], VNET_GSO.TCPV4);
  t.equal(hdr[VNET_HDR.FLAGS]! & VNET_F.NEEDS_CSUM, 1);
  t.same(Object.values(VNET_HDR), [0, 1, 2, 4, 6, 8, 10]);
  writeVnetNone(hdr, 0);
  t.same([...hdr], new Array(10).fill(0));
  t.equal(DEFAULT_OFFLOADS & 0x0f, TUN_F.CSUM | TUN_F.TSO4 | TUN_F.TSO6 | TUN_F.TSO_ECN);
  t.end();
});

t.test('writeBatch: MTU check, bad offsets and counters (on /dev/null, no root)', (t) => {
  const fd = openSync('/dev/null', 'r+');
  const link = new TunTapLink('tun', 'null0', 1500, 0, 0, 0, fd, 8);
  const buf = new Uint8Array(20000);
  const batch = {
    buf,
    offsets: Uint32Array.from([0, 100, 2000, 19990]),
    lengths: Uint32Array.from([100, 1500, 9000, 100]),
    count: 4,
  };
  t.equal(link.writeBatch(batch), 2, 'two packets written');
  t.equal(link.counters.txPackets, 2);
  t.equal(link.counters.txBytes, 1600);
  t.equal(link.counters.txErrors, 2, 'the 9000-byte packet and the one past the end');
  t.equal(link.counters.txDropped, 0);
  // the last error is the out-of-bounds one
  t.equal(link.lastTxError?.code, 'EFAULT');
  const err = t.throws(() => link.send(new Uint8Array(9000))) as TunTapError;
  t.equal(err.message, 'packet of 9000 bytes is larger than the MTU 1500');
  t.equal(err.code, 'EMSGSIZE');
  t.equal(err.syscall, 'write');
  t.doesNotThrow(() => link.send(new Uint8Array(1500)));
  link.updateMtu(9000);
  t.doesNotThrow(() => link.send(new Uint8Array(9000)), 'after an MTU change the limit follows');
  link.close();
  link.close();
  t.equal(link.fd, -1, 'closed (idempotent)');
  t.equal(link.writeBatch(batch), 0, 'nothing written after close');
  t.equal(link.counters.txDropped, 4, 'counted as dropped');
  t.throws(() => closeSync(fd), 'the fd was closed by the link');
  t.end();
});

t.test('writeBatch with a vnet header lets GSO packets exceed the MTU', (t) => {
  const fd = openSync('/dev/null', 'r+');
  const link = new TunTapLink('tap', 'null1', 1500, 10, 0, DEFAULT_OFFLOADS, fd, 8);
  const big = new Uint8Array(10 + 14 + 30000);
  t.throws(() => link.send(big), { code: 'EMSGSIZE', message: /frame of 30014 bytes is larger than the MTU 1500/ });
  big[VNET_HDR.GSO_TYPE] = VNET_GSO.TCPV4;
  t.doesNotThrow(() => link.send(big), 'a GSO frame may be up to 64 KiB');
  t.equal(link.vnetHdrLen, 10);
  link.close();
  t.end();
});
