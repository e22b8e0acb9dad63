// The codec against keepalived 2.2.7's own adverts: every VRRP frame and every GARP of the
// captures in /work/shared/fixtures/vrrp is decoded, its checksum verified (or, for the
// interop runs' deliberately broken ones, found wrong), and re-encoded byte for byte.
// Then the worked examples of reference/vrrp.md §4 as golden hex.
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readPcap, parseIpv4 } from '@tunvs/packet';
import {
  IPPROTO_VRRP, VRRP_MCAST_GROUP, authPassBytes, computeVrrpChecksum, emitAdvertDatagram, emitAdvertFrame, emitVrrpGarp, parseVrrp,
  verifyVrrpChecksum, vrrpLength, checkAdvert, buildAdvert, adverIntUsOf,
} from '../src/index.js';
import type { InstanceSpec, VrrpRepr } from '../src/index.js';

const FIX = '/work/shared/fixtures/vrrp';
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('every advert and GARP of the keepalived captures', { skip: existsSync(FIX) ? false : `${FIX} is not here` }, (t) => {
  let adverts = 0;
  let garps = 0;
  let broken = 0;
  for (const run of readdirSync(FIX).sort()) {
    const file = join(FIX, run, 'capture.pcap');
    if (!existsSync(file)) continue;
    const cap = readPcap(file);
    for (const rec of cap.records) {
      const f = rec.data;
      const etype = (f[12]! << 8) | f[13]!;
      if (etype === 0x0806) {
        // keepalived's GARP: request, sender = target = VIP, target MAC broadcast
        const mac = f.slice(6, 12);
        const ip = ((f[28]! << 24) | (f[29]! << 16) | (f[30]! << 8) | f[31]!) >>> 0;
        if (f[21] === 1 && ip === (((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0)) {
          t.equal(toHex(emitVrrpGarp(mac, ip)), toHex(f.slice(0, 42)), `${run}: GARP re-encoded`);
          garps++;
        }
        continue;
      }
      if (etype !== 0x0800 || f[14 + 9] !== IPPROTO_VRRP) continue;
      const ip = f.subarray(14);
      const totLen = (ip[2]! << 8) | ip[3]!;
      const dgram = ip.subarray(0, totLen);
      const src = ((ip[12]! << 24) | (ip[13]! << 16) | (ip[14]! << 8) | ip[15]!) >>> 0;
      const dst = ((ip[16]! << 24) | (ip[17]! << 16) | (ip[18]! << 8) | ip[19]!) >>> 0;
      const repr = parseVrrp(dgram, 20, totLen - 20);
      t.ok(repr, `${run}: decodes`);
      if (!repr) continue;
      t.equal(totLen - 20, vrrpLength(repr.version, repr.addrs.length), `${run}: length = header + addresses (+auth)`);
      const pseudo = repr.version === 3 ? { src, dst } : null;
      const good = verifyVrrpChecksum(dgram, 20, totLen - 20, pseudo);
      const right = computeVrrpChecksum(dgram, 20, totLen - 20, pseudo);
      if (good) t.equal(right, repr.checksum, `${run}: checksum recomputes`);
      else {
        broken++;
        t.ok(run.startsWith('run-interop'), `${run}: a bad checksum only in the interop runs (injected), was ${repr.checksum.toString(16)}, right ${right.toString(16)}`);
      }
      // re-encode byte for byte (with the same checksum field when it was broken on purpose)
      const re = emitAdvertDatagram(
        repr,
        { src, dst, id: (ip[4]! << 8) | ip[5]!, ttl: ip[8]!, tos: ip[1]! },
        good ? {} : { override: repr.checksum },
      );
      t.equal(toHex(re), toHex(dgram), `${run}: datagram re-encoded byte for byte`);
      const frame = emitAdvertFrame(re, f.slice(6, 12), f.slice(0, 6));
      t.equal(toHex(frame), toHex(f.slice(0, 14 + totLen)), `${run}: frame re-encoded`);
      adverts++;
    }
  }
  t.ok(adverts >= 100, `${adverts} adverts checked`);
  t.ok(garps >= 20, `${garps} GARPs checked`);
  t.ok(broken > 0, `${broken} injected bad checksums recognised`);
  t.end();
});

t.test('worked examples (reference/vrrp.md §4)', (t) => {
  const A = parseIpv4('10.99.0.1');
  const base: VrrpRepr = {
    version: 2, type: 1, vrid: 51, priority: 150, addrs: [parseIpv4('10.99.0.100')], adverInt: 1, authType: 0,
    authData: new Uint8Array(8), reserved: 0, checksum: 0,
  };
  const d = emitAdvertDatagram(base, { src: A, dst: VRRP_MCAST_GROUP, id: 1 });
  t.equal(toHex(d), toHex(hex('45c0 0028 0001 0000 ff70 d02e 0a63 0001 e000 0012 2133 9601 0001 3e03 0a63 0064 0000 0000 0000 0000')), 'v2, no auth');
  const p0 = emitAdvertDatagram({ ...base, priority: 0 }, { src: A, dst: VRRP_MCAST_GROUP, id: 1 });
  t.equal(toHex(p0.subarray(20)), toHex(hex('2133 0001 0001 d403 0a63 0064 0000 0000 0000 0000')), 'v2 priority 0');
  const pass = emitAdvertDatagram({ ...base, authType: 1, authData: authPassBytes('lab1234') }, { src: A, dst: VRRP_MCAST_GROUP, id: 1 });
  t.equal(toHex(pass.subarray(20)), toHex(hex('2133 9601 0101 083d 0a63 0064 6c61 6231 3233 3400')), 'v2 PASS lab1234');
  t.equal(toHex(authPassBytes('longerthan8')), toHex(Buffer.from('longerth')), 'only the first 8 characters of a password count');
  const v3: VrrpRepr = { ...base, version: 3, adverInt: 100, authData: new Uint8Array(0) };
  const d3 = emitAdvertDatagram(v3, { src: A, dst: VRRP_MCAST_GROUP, id: 1 });
  t.equal(toHex(d3), toHex(hex('45c0 0020 0001 0000 ff70 d036 0a63 0001 e000 0012 3133 9601 0064 42ad 0a63 0064')), 'v3 with pseudo-header');
  t.equal(toHex(emitAdvertDatagram({ ...v3, priority: 0 }, { src: A, dst: VRRP_MCAST_GROUP, id: 1 }).subarray(20)), '31330001006 4d8ad0a630064'.replace(/ /g, ''), 'v3 priority 0');
  t.equal(toHex(emitAdvertDatagram(v3, { src: A, dst: VRRP_MCAST_GROUP, id: 1 }, { asV2: true }).subarray(20)), '313396010064 2da0 0a630064'.replace(/ /g, ''), 'v3_checksum_as_v2');

  // example B: two VIPs, unicast copy
  const B = parseIpv4('192.168.1.10');
  const vipsB = [parseIpv4('192.168.1.100'), parseIpv4('192.168.1.101')];
  const bv2 = emitAdvertDatagram({ ...base, vrid: 10, priority: 100, addrs: vipsB }, { src: B, dst: VRRP_MCAST_GROUP, id: 1 });
  t.equal(toHex(bv2), toHex(hex('45c0 002c 0001 0000 ff70 18dc c0a8 010a e000 0012 210a 6402 0001 f6d7 c0a8 0164 c0a8 0165 0000 0000 0000 0000')), 'B v2');
  const bv3 = { ...v3, vrid: 10, priority: 100, addrs: vipsB };
  t.equal(toHex(emitAdvertDatagram(bv3, { src: B, dst: VRRP_MCAST_GROUP, id: 1 })), toHex(hex('45c0 0024 0001 0000 ff70 18e4 c0a8 010a e000 0012 310a 6402 0064 442f c0a8 0164 c0a8 0165')), 'B v3');
  const uni = emitAdvertDatagram(bv3, { src: B, dst: parseIpv4('192.168.1.11'), id: 1 });
  t.equal(toHex(uni.subarray(0, 20)), toHex(hex('45c0 0024 0001 0000 ff70 3743 c0a8 010a c0a8 010b')), 'B v3 unicast IP header');
  t.equal(((uni[26]! << 8) | uni[27]!).toString(16), '628e', 'B v3 unicast checksum follows the destination');
  const asv2 = emitAdvertDatagram(bv3, { src: B, dst: VRRP_MCAST_GROUP, id: 1 }, { asV2: true });
  t.equal(((asv2[26]! << 8) | asv2[27]!).toString(16), 'e674', 'B v3 as v2');
  t.end();
});

t.test('buildAdvert: one datagram per unicast peer, same id, own checksum', (t) => {
  const spec: InstanceSpec = {
    name: 'VI', vrid: 10, version: 3, priority: 100, adverIntUs: 1_000_000, wantMaster: false, nopreempt: false, preemptDelayUs: 0,
    downTimerAdverts: 3, authType: 0, authData: new Uint8Array(8), vips: [parseIpv4('192.168.1.100'), parseIpv4('192.168.1.101')],
    unicastPeers: [parseIpv4('192.168.1.11'), parseIpv4('192.168.1.12')], checkUnicastSrc: false, v3ChecksumAsV2: false,
    skipCheckAdvAddr: false, lowerPrioNoAdvert: false, higherPrioSendAdvert: false, notifyPriorityChanges: false,
    garp: { masterDelayUs: 5e6, masterRepeat: 5, masterRefreshUs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 5, lowerPrioDelayUs: 5e6 },
  };
  const out = buildAdvert(spec, 100, parseIpv4('192.168.1.10'), 7);
  t.equal(out.length, 2);
  t.equal(((out[0]!.datagram[26]! << 8) | out[0]!.datagram[27]!).toString(16), '628e');
  t.not(out[1]!.datagram[27], out[0]!.datagram[27], 'second peer: other checksum');
  t.same([out[0]!.datagram[5], out[1]!.datagram[5]], [7, 7], 'same IP id');
  t.equal(adverIntUsOf(3, 100), 1_000_000);
  // and they pass our own receive checks as unicast
  const r = checkAdvert(out[0]!.datagram, 0, out[0]!.datagram.length, {
    version: 3, authType: 0, authData: new Uint8Array(8), adverIntUs: 1e6, vips: spec.vips, unicast: true, peers: [parseIpv4('192.168.1.10')],
    checkUnicastSrc: true, v3ChecksumAsV2: false, skipVipCheck: false,
  });
  t.ok(r.ok, 'accepted by checkAdvert');
  t.end();
});
