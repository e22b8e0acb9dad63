/**
 * Fixture table of the bypass forwarder (connections without a destination): input frame
 * -> frames sent, built independently with the packet builder.
 */
import type { FixtureConn, FixtureRow } from '@tunvs/forwarder/testing';

/** The connection every row belongs to (unless the row says otherwise). */
export const BYPASS_CONN: FixtureConn = { protocol: 'udp', client: '192.0.2.10:40000', vip: '198.51.100.1:53', rs: '0.0.0.0:0' };

export const BYPASS_FIXTURES: FixtureRow[] = [
  {
    name: 'inbound: forwarded to its own destination, TTL - 1',
    op: 'inbound',
    input: `
      45 00 0021 2345 0000 40 11 5975 c000020a cb007107  # IPv4 192.0.2.10 > 203.0.113.7 len 33 id 9029 ttl 64 proto 17
      9c40 0035 000d 217a                                # UDP 40000 > 53 len 13 csum 217a
      68656c6c6f                                         # payload
    `,
    output: [
    `
      45 00 0021 2345 0000 3f 11 5a75 c000020a cb007107  # IPv4 192.0.2.10 > 203.0.113.7 len 33 id 9029 ttl 63 proto 17
      9c40 0035 000d 217a                                # UDP 40000 > 53 len 13 csum 217a
      68656c6c6f                                         # payload
    `,
    ],
  },
  {
    name: 'outbound: forwarded unchanged',
    op: 'outbound',
    input: `
      45 00 0021 2345 0000 40 11 5975 cb007107 c000020a  # IPv4 203.0.113.7 > 192.0.2.10 len 33 id 9029 ttl 64 proto 17
      0035 9c40 000d 217a                                # UDP 53 > 40000 len 13 csum 217a
      68656c6c6f                                         # payload
    `,
    output: [
    `
      45 00 0021 2345 0000 40 11 5975 cb007107 c000020a  # IPv4 203.0.113.7 > 192.0.2.10 len 33 id 9029 ttl 64 proto 17
      0035 9c40 000d 217a                                # UDP 53 > 40000 len 13 csum 217a
      68656c6c6f                                         # payload
    `,
    ],
  },
  {
    name: 'inbound TTL 1: ICMP time exceeded from the director',
    op: 'inbound',
    input: `
      45 00 0021 2345 0000 01 11 9875 c000020a cb007107  # IPv4 192.0.2.10 > 203.0.113.7 len 33 id 9029 ttl 1 proto 17
      9c40 0035 000d 217a                                # UDP 40000 > 53 len 13 csum 217a
      68656c6c6f                                         # payload
    `,
    output: [
    `
      45 c0 0038 0000 0000 40 01 adfa 0a000001 c000020a  # IPv4 10.0.0.1 > 192.0.2.10 len 56 id 0 ttl 64 proto 1 tos 0xc0
      0b 00 3703 00000000                                # ICMP type 11 code 0
      45 00 0021 2345 0000 01 11 9875 c000020a cb007107  # quoted IPv4 192.0.2.10 > 203.0.113.7 len 33 id 9029 ttl 1 proto 17
      9c40 0035 000d 217a                                # quoted UDP 40000 > 53 len 13 csum 217a
    `,
    ],
    counters: { ttlExceeded: 1, icmpSent: 1 },
  },
];
