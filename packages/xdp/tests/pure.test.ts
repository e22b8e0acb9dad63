// The parts of @tunvs/xdp that need no root: the client hash and map keys, the assembler's
// encoding, option validation, error hints, and the native ring index arithmetic (run on
// an in-memory ring across the 2^32 wrap).
import t from 'tap';
import fc from 'fast-check';
import { Asm, decode, encode, FP, R0, R1, R2, Op } from '../src/bpf/asm.js';
import { clientHash, slotOf, socketIndex, endpointKey, addrKey, u32Value } from '../src/steer.js';
import { validateXdpOptions, validatePacketOptions, parseSteering, framesNeeded } from '../src/config.js';
import { XdpError, fromNative, hintFor } from '../src/errors.js';
import { native } from '../src/native.js';

t.test('clientHash: deterministic, 32-bit, and slotOf stays in range without modulo bias', async (t) => {
  t.equal(clientHash(0x0a000001, 80), clientHash(0x0a000001, 80));
  t.not(clientHash(0x0a000001, 80), clientHash(0x0a000001, 81), 'the port counts');
  t.not(clientHash(0x0a000001, 80), clientHash(0x0a000002, 80), 'the address counts');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 1, max: 64 }), (a, p, s) => {
      const h = clientHash(a, p);
      const slot = slotOf(a, p, s);
      return Number.isInteger(h) && h >= 0 && h <= 0xffffffff && slot >= 0 && slot < s && slotOf(a, p, 1) === 0;
    }),
  );
  // sequential clients (one subnet, one port range) spread evenly over 3 slots
  const n = [0, 0, 0];
  for (let i = 0; i < 3000; i++) n[slotOf(0x0a000000 + (i >> 4), 30000 + (i & 15), 3)]!++;
  for (const c of n) t.ok(c > 850 && c < 1150, `even spread (${n.join(' ')})`);
});

t.test('the same client, seen from either side, picks the same socket', async (t) => {
  // what the program computes on the inbound packet (client = source) and on the NAT reply
  // (client = destination) is the same function of the same two numbers
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 8 }), (a, p, q, s) => {
      const inbound = { saddr: a, sport: p };
      const reply = { daddr: a, dport: p };
      return socketIndex(q, slotOf(inbound.saddr, inbound.sport, s), s) === socketIndex(q, slotOf(reply.daddr, reply.dport, s), s);
    }),
  );
  t.equal(socketIndex(1, 2, 4), 6);
});

t.test('map keys are in network order', async (t) => {
  t.same([...endpointKey(0x0a000164, 8080, 6)], [10, 0, 1, 100, 0x1f, 0x90, 6, 0]);
  t.same([...addrKey(0xc0a80001)], [192, 168, 0, 1]);
  t.same([...u32Value(0x01020304)], [4, 3, 2, 1], 'values little-endian (the program loads them as u32)');
});

t.test('assembler: encoding, labels, listing, errors', async (t) => {
  const a = new Asm();
  a.label('top').alu64('mov', R0, { imm: 2 }).jmp('eq', R1, { imm: 0 }, 'out').alu64('add', R0, R1).ja('top').label('out').exit();
  a.ldMap(R2, 7);
  const bytes = a.assemble();
  t.equal(bytes.length, 7 * 8, 'ld_imm64 takes two slots');
  const insns = decode(bytes);
  t.same(insns[0], { code: Op.ALU64 | Op.MOV | Op.K, dst: 0, src: 0, off: 0, imm: 2 });
  t.equal(insns[1]!.off, 2, 'forward jump to "out" skips two instructions');
  t.equal(insns[3]!.off, -4, 'backward jump to "top"');
  t.equal(insns[3]!.code, Op.JMP | Op.JA);
  t.same(insns[5], { code: Op.LD | Op.DW | Op.IMM, dst: 2, src: 1, off: 0, imm: 7 }, 'map fd load marked BPF_PSEUDO_MAP_FD');
  t.same(decode(encode(insns)), insns, 'decode(encode(x)) = x');
  t.match(a.listing(), /top:\n\s+0\s+0xb7 r0 r0 off=0 imm=2/);
  t.equal(bytes[8 + 1], (0 << 4) | 1, 'dst in the low nibble, src in the high nibble');
  t.throws(() => new Asm().ja('nowhere').assemble(), /undefined label nowhere/);
  t.throws(() => new Asm().alu64('mov', R0, { imm: 2 ** 33 }), /does not fit 32 bits/);
  t.throws(() => new Asm().label('x').label('x'), /defined twice/);
  t.equal(new Asm().stx('w', FP, -4, R1).length, 1);
});

t.test('option validation names the option and touches no kernel', async (t) => {
  const bad: [object, RegExp][] = [
    [{}, /ifname must be a non-empty string/],
    [{ ifname: 'a-very-long-interface-name' }, /too long \(26 bytes, max 15\)/],
    [{ ifname: 'eth0', slots: 0 }, /slots must be 1\.\.64/],
    [{ ifname: 'eth0', ringSize: 1000 }, /ringSize must be a power of two/],
    [{ ifname: 'eth0', frameSize: 3000 }, /frameSize must be 2048 or 4096/],
    [{ ifname: 'eth0', mode: 'fast' }, /mode must be 'auto', 'native' or 'skb'/],
    [{ ifname: 'eth0', queues: [0, 0] }, /a queue is listed twice/],
    [{ ifname: 'eth0', queues: [] }, /queues must be 'all' or a non-empty array/],
    [{ ifname: 'eth0', slots: 2, openSlots: [2] }, /openSlots: 2 is not a slot \(0\.\.1\)/],
    [{ ifname: 'eth0', batchSize: 5000 }, /batchSize must be 1\.\.ringSize/],
    [{ ifname: 'eth0', zeroCopy: 'yes' }, /zeroCopy must be/],
    [{ ifname: 'eth0', colour: 'blue' }, /unknown option "colour"/],
    [{ ifname: 'eth0', txKick: 'later' }, /txKick must be 'inline' or 'thread'/],
    [{ ifname: 'eth0', txKick: 'thread', kickCpus: [-1] }, /kickCpus must be an array of CPU numbers/],
    [{ ifname: 'eth0', kickCpus: [0] }, /kickCpus needs txKick 'thread'/],
    [{ ifname: 'eth0', needWakeup: 'yes' }, /needWakeup must be true or false/],
    [{ ifname: 'eth0', steer: { vips: [{ addr: '10.0.0.300', proto: 'tcp' }] } }, /steer\.vips\[0\]\.addr: "10\.0\.0\.300" is not an IPv4 address/],
    [{ ifname: 'eth0', steer: { vips: [{ addr: '10.0.0.1', proto: 'gre' }] } }, /steer\.vips\[0\]\.proto: "gre" is not a protocol/],
    [{ ifname: 'eth0', steer: { reals: [{ addr: '10.0.0.1', proto: 'icmp', port: 8 }] } }, /port must be 0 for protocol 1/],
    [{ ifname: 'eth0', steer: { vips: [{ addr: '10.0.0.1', proto: 'udp', port: 70000 }] } }, /port must be 0\.\.65535/],
    [{ ifname: 'eth0', steer: { vips: [{ addr: '224.0.0.18', proto: 112, port: 256 }] } }, /port must be 0\.\.255 for protocol 112 \(VRRP: the port is the VRID/],
    [{ ifname: 'eth0', steer: { vips: [{ addr: '10.0.0.1', proto: 2, port: 1 }] } }, /port must be 0 for protocol 2/],
    [{ ifname: 'eth0', steer: { nat: [] } }, /steer\.nat is not an option/],
  ];
  for (const [o, re] of bad) {
    const err = t.throws(() => validateXdpOptions(o as never)) as XdpError;
    t.ok(err instanceof XdpError && err.code === 'EINVAL' && err.syscall === 'validate', 'a validation XdpError');
    t.match(err.message, re);
  }
  const ok = validateXdpOptions({ ifname: 'eth0', queues: [1, 0], slots: 2, steer: { vips: [{ addr: '10.0.0.1', proto: 'tcp', port: 80, addrOnly: true }], arp: ['10.0.0.1'] } });
  t.same(ok.queues, [0, 1], 'queues sorted');
  t.same(ok.openSlots, [0, 1], 'every slot by default');
  t.equal(ok.fillSize, 4096, 'fill ring 2x the RX ring');
  t.equal(ok.txKick, 'inline', 'the writing thread kicks by default');
  t.equal(ok.needWakeup, true, 'XDP_USE_NEED_WAKEUP by default');
  t.same(validateXdpOptions({ ifname: 'eth0', txKick: 'thread', kickCpus: [1, 0, 1] }).kickCpus, [1, 0], 'kick CPUs, each once');
  t.same(ok.steer.vips, [{ addr: 0x0a000001, proto: 6, port: 80, addrOnly: true, prefix: 32 }]);
  t.same(parseSteering({ vips: [{ addr: '10.0.0.1', proto: 'tcp', port: 80, addrOnly: true, prefix: 24 }] }).vips[0]!.prefix, 24, 'a persistence netmask\'s prefix');
  t.match((t.throws(() => parseSteering({ vips: [{ addr: '10.0.0.1', proto: 'tcp', addrOnly: true, prefix: 33 }] })) as Error).message, /steer\.vips\[0\]\.prefix must be 0\.\.32 \(got 33\)/);
  t.match((t.throws(() => parseSteering({ vips: [{ addr: '10.0.0.1', proto: 'tcp', prefix: 24 }] })) as Error).message, /prefix needs addrOnly/);
  t.same(parseSteering({ host: [0x0a000002] }).host, [0x0a000002], 'numbers are addresses too');
  t.same(parseSteering({ vips: [{ addr: '224.0.0.18', proto: 112, port: 51 }] }).vips, [{ addr: 0xe0000012, proto: 112, port: 51, addrOnly: false, prefix: 32 }], 'VRRP: the port is the VRID');
  t.equal(framesNeeded(2, 2, 1024, 2048), 2 * (2 * 2048 + 2 * 2 * 1024));
  t.match((t.throws(() => validatePacketOptions({ ifname: 'eth0', fanout: 'random' as never })) as Error).message, /fanout must be one of/);
  t.match((t.throws(() => validatePacketOptions({ ifname: 'eth0', rxFrames: 8 })) as Error).message, /rxFrames must be 16\.\.1048576 \(got 8\)/);
  // TPACKET_V3's block options are gone with its block timer: refused by name, not ignored
  t.match((t.throws(() => validatePacketOptions({ ifname: 'eth0', retireMs: 1 } as never)) as Error).message, /unknown option "retireMs"/);
  t.equal(validatePacketOptions({ ifname: 'eth0', sockets: 2, fanout: 'cpu' }).fanout, 2);
});

t.test('native errors become XdpErrors with a hint', async (t) => {
  const e = fromNative(Object.assign(new Error('x'), { code: 'EAFNOSUPPORT', errno: 97, syscall: 'socket(AF_XDP)' }), 'opening eth0');
  t.equal(e.message, 'socket(AF_XDP) failed: EAFNOSUPPORT (the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)), opening eth0');
  t.equal(e.errno, 97);
  const v = fromNative(Object.assign(new Error('x'), { code: 'EACCES', errno: 13, syscall: 'BPF_PROG_LOAD', log: 'R1 invalid mem access' }), '');
  t.equal(v.log, 'R1 invalid mem access', 'the verifier log is kept');
  t.match(v.message, /needs CAP_BPF and CAP_NET_ADMIN/);
  t.equal(hintFor('bind(AF_XDP)', 'EBUSY'), 'the queue already has an AF_XDP socket (another process?)');
  t.equal(hintFor('BPF_LINK_CREATE', 'EEXIST'), 'another XDP program is attached to the interface');
  t.equal(hintFor('write', 'EIO'), '');
});

t.test('ring index arithmetic (the native helpers) across the 2^32 wrap', async (t) => {
  const n = native();
  // producer/consumer indices start 5 below 2^32 and wrap during the run
  const ops = Int32Array.from([8, 3, -2, 0, 8, -16, 0, 1, 16, -3, 16, -16, -16, 0, 7, -7]);
  const out = new Float64Array(ops.length + 1);
  n.ringModel(8, 2 ** 32 - 5, ops, out);
  t.same(
    Array.from(out.subarray(0, ops.length)),
    [8, 0, 2, 6, 2, 8, 0, 1, 7, 3, 3, 8, 0, 0, 7, 7],
    'full at 8; refills only what was consumed; empty reads 0',
  );
  t.equal(out[ops.length], 0, 'entries come out in the order they went in');
  fc.assert(
    fc.property(
      fc.constantFrom(4, 16, 64),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.integer({ min: -80, max: 80 }), { minLength: 1, maxLength: 60 }),
      (size, start, list) => {
        const o = new Float64Array(list.length + 1);
        n.ringModel(size, start, Int32Array.from(list), o);
        // a model with plain numbers: how many are in the ring
        let fill = 0;
        for (let i = 0; i < list.length; i++) {
          const op = list[i]!;
          const want = op > 0 ? Math.min(op, size - fill) : op < 0 ? Math.min(-op, fill) : fill;
          if (o[i] !== want) return false;
          if (op > 0) fill += want;
          else if (op < 0) fill -= want;
        }
        return o[list.length] === 0;
      },
    ),
  );
  t.throws(() => n.ringModel(6, 0, new Int32Array(1), new Float64Array(2)), /power of two/);
});
