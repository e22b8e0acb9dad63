/**
 * Why a frame or packet was refused by a `check*` function or `classifyFrame`. 0 is OK.
 * The engine keeps one drop counter per reason, so every code has a stable short name.
 */
export const ParseReason = {
  Ok: 0,
  EthTruncated: 1,
  VlanTruncated: 2,
  EtherTypeUnsupported: 3,
  Ipv6Unsupported: 4,
  ArpTruncated: 5,
  ArpUnsupported: 6,
  Ipv4Truncated: 7,
  Ipv4BadVersion: 8,
  Ipv4BadIhl: 9,
  Ipv4HeaderTruncated: 10,
  Ipv4TotalLengthBeyondBuffer: 11,
  Ipv4TotalLengthShort: 12,
  Ipv4BadChecksum: 13,
  Ipv4BadOptions: 14,
  Ipv4FragmentTooLarge: 15,
  TcpTruncated: 16,
  TcpBadDataOffset: 17,
  TcpBadChecksum: 18,
  UdpTruncated: 19,
  UdpBadLength: 20,
  UdpBadChecksum: 21,
  IcmpTruncated: 22,
  IcmpBadChecksum: 23,
  IcmpQuoteTruncated: 24,
  IcmpQuoteBad: 25,
  FirstFragmentTruncated: 26,
  SctpTruncated: 27,
  SctpBadChunkLength: 28,
  SctpBadChecksum: 29,
} as const;

/** One of the `ParseReason` codes. */
export type ParseReasonCode = (typeof ParseReason)[keyof typeof ParseReason];

const NAMES: string[] = [];
for (const [k, v] of Object.entries(ParseReason)) NAMES[v] = k.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Kebab-case name of a reason code ("ipv4-bad-ihl"); "unknown-<n>" for other numbers. */
export function reasonName(code: number): string {
  return NAMES[code] ?? `unknown-${code}`;
}

/** Number of reason codes (for sizing a per-reason counter array). */
export const REASON_COUNT: number = NAMES.length;

/** Which optional verifications a check performs (bit flags). */
export const CheckFlags = {
  /** verify nothing beyond lengths and header sanity */
  None: 0,
  /** verify the IPv4 header checksum */
  IpChecksum: 1,
  /** verify TCP/UDP/ICMP checksums and the SCTP CRC32c over the whole L4 payload */
  L4Checksum: 2,
  /** both checksums */
  All: 3,
  /**
   * verify the ICMP checksum only (ICMP is rare and its errors are acted on; TCP/UDP
   * payloads are left to the end hosts, as a router does)
   */
  IcmpChecksum: 4,
} as const;
