/**
 * Fixture table of the tunnel forwarder with GUE and GRE (`--tun-type gue|gre`): input
 * frame -> frames sent. The expected frames were computed by an independent builder (a
 * separate script writing each header field by hand: outer IPv4, UDP with the source port
 * from the flow hash folded as `udp_flow_src_port` does, GUE, GRE, the checksums). The
 * connection and director are TUNNEL_CONN's: 192.0.2.10:40000 -> 198.51.100.1:80 on real
 * server 10.0.0.11, director 10.0.0.1; IP IDs of non-DF outer headers are 1, 2, ...
 */
import type { Fixture, FixtureConn } from '@tunvs/forwarder/testing';
import { TunFlag } from '../src/index.js';

/** A fixture with the tunnel settings of its real server (type 1 gue, 2 gre). */
export type EncapFixture = Fixture & { tunnel: NonNullable<FixtureConn['tunnel']> };

const SYN = `
  45 00 0028 1234 4000 40 06 3c5d c000020a c6336401  # IPv4 192.0.2.10 > 198.51.100.1 len 40 ttl 64 proto 6 DF
  9c40 0050 000003e8 000007d0 50 02 faf0 206a 0000   # TCP 40000 > 80 S
`;
const DATA = `
  45 00 003a 1234 0000 40 06 7c4b c000020a c6336401  # IPv4 192.0.2.10 > 198.51.100.1 len 58 ttl 64 proto 6
  9c40 0050 000003e8 000007d0 50 18 faf0 41a2 0000   # TCP 40000 > 80 PA csum 41a2
  474554202f20485454502f312e300d0a0d0a               # "GET / HTTP/1.0\\r\\n\\r\\n"
`;
/** DATA with the TCP checksum left to offload: the field holds the pseudo-header sum 0xec6b */
const DATA_PARTIAL = `
  45 00 003a 1234 0000 40 06 7c4b c000020a c6336401
  9c40 0050 000003e8 000007d0 50 18 faf0 ec6b 0000   # TCP csum field = pseudo-header sum
  474554202f20485454502f312e300d0a0d0a
`;
/** the inner packet DATA after the TTL decrement */
const DATA_IN = `
  45 00 003a 1234 0000 3f 06 7d4b c000020a c6336401  # inner IPv4 ttl 63
  9c40 0050 000003e8 000007d0 50 18 faf0 41a2 0000
  474554202f20485454502f312e300d0a0d0a
`;
/** a 100-byte DF packet */
const BIG = `
  45 00 0064 1234 4000 40 06 3c21 c000020a c6336401  # IPv4 len 100 DF
  9c40 0050 000003e8 000007d0 50 18 faf0 01fa 0000
  78787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878
`;

export const ENCAP_FIXTURES: EncapFixture[] = [
  {
    name: 'GUE, no checksum: UDP 50692 > 6080 (source port from the inner flow hash), UDP checksum 0, GUE v0 hlen 0 proto 4',
    tunnel: { type: 1, port: 6080 },
    op: 'inbound',
    input: SYN,
    output: [`
      45 00 0048 0000 4000 3f 11 279a 0a000001 0a00000b  # IPv4 10.0.0.1 > 10.0.0.11 len 72 id 0 ttl 63 proto 17 DF
      c604 17c0 0034 0000                                # UDP 50692 > 6080 len 52 csum 0
      00 04 0000                                         # GUE version 0 C 0 hlen 0 proto 4 flags 0
      45 00 0028 1234 4000 3f 06 3d5d c000020a c6336401  # inner IPv4 ttl 63
      9c40 0050 000003e8 000007d0 50 02 faf0 206a 0000
    `],
  },
  {
    name: 'GUE --tun-csum: the UDP checksum covers pseudo-header, UDP, GUE and the inner packet; outer ID 1 (no DF)',
    tunnel: { type: 1, port: 6080, flags: TunFlag.CSUM },
    op: 'inbound',
    input: DATA,
    output: [`
      45 00 005a 0001 0000 3f 11 6787 0a000001 0a00000b  # IPv4 10.0.0.1 > 10.0.0.11 len 90 id 1 ttl 63 proto 17
      c604 17c0 0046 f9f9                                # UDP 50692 > 6080 len 70 csum f9f9
      00 04 0000                                         # GUE
      ${DATA_IN}
    `],
  },
  {
    name: 'GUE --tun-remcsum on a fully checksummed packet: no option, UDP checksum as with csum',
    tunnel: { type: 1, port: 6080, flags: TunFlag.REMCSUM },
    op: 'inbound',
    input: DATA,
    output: [`
      45 00 005a 0001 0000 3f 11 6787 0a000001 0a00000b
      c604 17c0 0046 f9f9
      00 04 0000
      ${DATA_IN}
    `],
  },
  {
    name: 'GUE --tun-remcsum on a partially checksummed packet: private flag REMCSUM, start 20 offset 36, inner left partial',
    tunnel: { type: 1, port: 6080, flags: TunFlag.REMCSUM },
    op: 'inbound',
    partialCsum: true,
    input: DATA_PARTIAL,
    output: [`
      45 00 0062 0001 0000 3f 11 677f 0a000001 0a00000b  # IPv4 len 98 proto 17
      c604 17c0 004e cce6                                # UDP len 78 csum cce6
      02 04 0001                                         # GUE hlen 2 proto 4 flags PRIV
      80000000                                           # private flags: REMCSUM
      0014 0024                                          # checksum start 20, field at 36 (from the inner IP header)
      45 00 003a 1234 0000 3f 06 7d4b c000020a c6336401
      9c40 0050 000003e8 000007d0 50 18 faf0 ec6b 0000   # inner TCP checksum still partial
      474554202f20485454502f312e300d0a0d0a
    `],
  },
  {
    name: 'GUE --tun-csum on a partially checksummed packet: the inner TCP checksum is completed (41a2)',
    tunnel: { type: 1, port: 6080, flags: TunFlag.CSUM },
    op: 'inbound',
    partialCsum: true,
    input: DATA_PARTIAL,
    output: [`
      45 00 005a 0001 0000 3f 11 6787 0a000001 0a00000b
      c604 17c0 0046 f9f9
      00 04 0000
      ${DATA_IN}
    `],
  },
  {
    name: 'GRE, no checksum: protocol 47, GRE flags 0 version 0, protocol 0x0800',
    tunnel: { type: 2 },
    op: 'inbound',
    input: SYN,
    output: [`
      45 00 0040 0000 4000 3f 2f 2784 0a000001 0a00000b  # IPv4 10.0.0.1 > 10.0.0.11 len 64 id 0 ttl 63 proto 47 DF
      0000 0800                                          # GRE
      45 00 0028 1234 4000 3f 06 3d5d c000020a c6336401
      9c40 0050 000003e8 000007d0 50 02 faf0 206a 0000
    `],
  },
  {
    name: 'GRE --tun-csum: C bit, checksum over GRE header and payload, reserved 0',
    tunnel: { type: 2, flags: TunFlag.CSUM },
    op: 'inbound',
    input: DATA,
    output: [`
      45 00 0056 0001 0000 3f 2f 676d 0a000001 0a00000b  # IPv4 len 86 id 1 proto 47
      8000 0800 646b 0000                                # GRE C, csum 646b
      ${DATA_IN}
    `],
  },
  {
    name: 'GUE path MTU: link MTU 120 leaves 88 bytes (120 - 20 - 8 - 4); a 100-byte DF packet gets frag-needed 88',
    tunnel: { type: 1, port: 6080 },
    op: 'inbound',
    mtu: 120,
    input: BIG,
    output: [`
      45 c0 0038 0000 0000 40 01 8dc6 c6336401 c000020a  # IPv4 198.51.100.1 > 192.0.2.10 proto 1
      03 04 5c2b 00000058                                # ICMP type 3 code 4 mtu 88
      45 00 0064 1234 4000 3f 06 3d21 c000020a c6336401  # quoted IPv4
      9c40 0050 000003e8
    `],
    counters: { fragNeeded: 1, icmpSent: 1 },
  },
  {
    name: 'GRE --tun-csum path MTU: 120 - 20 - 8 = 92',
    tunnel: { type: 2, flags: TunFlag.CSUM },
    op: 'inbound',
    mtu: 120,
    input: BIG,
    output: [`
      45 c0 0038 0000 0000 40 01 8dc6 c6336401 c000020a
      03 04 5c27 0000005c                                # ICMP type 3 code 4 mtu 92
      45 00 0064 1234 4000 3f 06 3d21 c000020a c6336401
      9c40 0050 000003e8
    `],
    counters: { fragNeeded: 1, icmpSent: 1 },
  },
  {
    name: 'GUE tunnel MTU under 68: link MTU 99 leaves 67 (99 - 32): dropped without ICMP, counted',
    tunnel: { type: 1, port: 6080 },
    op: 'inbound',
    mtu: 99,
    input: SYN,
    output: [],
    counters: { tunnelMtuTooSmall: 1 },
  },
  {
    name: 'GUE tunnel MTU exactly 68 (link MTU 100): the small packet goes',
    tunnel: { type: 1, port: 6080 },
    op: 'inbound',
    mtu: 100,
    input: SYN,
    output: [`
      45 00 0048 0000 4000 3f 11 279a 0a000001 0a00000b
      c604 17c0 0034 0000
      00 04 0000
      45 00 0028 1234 4000 3f 06 3d5d c000020a c6336401
      9c40 0050 000003e8 000007d0 50 02 faf0 206a 0000
    `],
  },
  {
    name: 'GRE --tun-csum tunnel MTU under 68: link MTU 95 leaves 67 (95 - 28), also with pmtu_disc off',
    tunnel: { type: 2, flags: TunFlag.CSUM },
    op: 'inbound',
    mtu: 95,
    pmtuDisc: false,
    input: SYN,
    output: [],
    counters: { tunnelMtuTooSmall: 1 },
  },
  {
    name: 'GRE without checksum at link MTU 95 leaves 71 (95 - 24): the small packet goes',
    tunnel: { type: 2 },
    op: 'inbound',
    mtu: 95,
    input: SYN,
    output: [`
      45 00 0040 0000 4000 3f 2f 2784 0a000001 0a00000b
      0000 0800
      45 00 0028 1234 4000 3f 06 3d5d c000020a c6336401
      9c40 0050 000003e8 000007d0 50 02 faf0 206a 0000
    `],
  },
  {
    name: 'a relayed ICMP error meets the same tunnel MTU check (GRE --tun-csum at 95: dropped)',
    tunnel: { type: 2, flags: TunFlag.CSUM },
    op: 'icmpInbound',
    mtu: 95,
    input: `
      45 00 0038 4567 0000 40 01 4928 c0000201 c6336401  # IPv4 192.0.2.1 > 198.51.100.1 ICMP
      03 01 589e 00000000                                # host unreachable
      45 00 003a 5555 4000 3f 06 fa29 c6336401 c000020a  # quoted VIP > client
      0050 9c40 000007d0
    `,
    output: [],
    counters: { tunnelMtuTooSmall: 1 },
  },
];
