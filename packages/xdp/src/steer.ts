/**
 * Steering: which frames belong to the director, and which socket of the arrival queue
 * gets each one. Pure functions and constants shared by the XDP program generator
 * (bpf/program.ts), the map updates (xdp-link.ts) and the tests.
 *
 * A frame is steered by its *client*: (source address, source port) of a packet to a
 * virtual service, (destination address, destination port) of a packet from a real server
 * (the NAT reply). Both directions of a flow therefore hash the same client and land on
 * the same socket slot, whatever the virtual and real addresses are.
 */
import { prefixToMask } from '@tunvs/packet';

/** Bits of an address entry in the `addrs` map. */
export const AddrFlag = {
  /** some virtual service uses this address (fragments and ICMP errors to it are ours) */
  Vip: 1,
  /** a real server has this address (fragments from it are ours) */
  Real: 2,
  /** the host owns this address: frames to it pass to the kernel unless a service matches */
  Host: 4,
  /** ARP requests and replies for this address go to the director (slot 0) */
  Arp: 8,
} as const;

/** Bits of a virtual-service or real-server entry (`vips`/`reals` map values). */
export const EndpointFlag = {
  /** hash the client's address only, not its port (persistence: one client, one slot) */
  AddrOnly: 0x100,
  /**
   * with AddrOnly: how many low bits of the client's address the hash ignores (0..32), so
   * that the clients of one persistence netmask share a slot
   */
  HostBits: 0x3f,
} as const;

/** Counters of the program (a per-CPU array): why frames passed or were redirected. */
export const Stat = {
  /** not the director's: passed to the kernel */
  Pass: 0,
  /** too short for its headers (or not IPv4 version 4): passed */
  Short: 1,
  /** ARP for a director address: redirected to slot 0 */
  Arp: 2,
  /** a later fragment: where its first went (the frags map), else by address */
  Fragment: 3,
  /** an ICMP error quoting a director flow */
  IcmpError: 4,
  /** a packet to a virtual service or from a real server */
  Ip: 5,
  /** redirect attempts per socket index (queue * slots + slot) start here */
  SocketBase: 8,
} as const;

/** Names of the reason counters, by index. */
export const STAT_NAMES = ['pass', 'short', 'arp', 'fragment', 'icmpError', 'ip'] as const;

/** IP protocol numbers the steering understands by name. */
export const PROTO = { icmp: 1, tcp: 6, udp: 17, sctp: 132 } as const;
export type ProtoName = keyof typeof PROTO;

/**
 * VRRP's IP protocol number. It has no ports: the steering uses the advert's VRID as its
 * destination port (1..255; port 0 in an entry = every VRID).
 */
export const VRRP_PROTO = 112;

/** Multipliers of the client hash (odd 32-bit constants with well-spread bits). */
export const HASH_K1 = 0x9e3779b1;
export const HASH_K2 = 0x85ebca6b;

/**
 * The client hash: a 32-bit mix of the client's IPv4 address (host order, 10.0.0.1 =
 * 0x0a000001) and port. The XDP program computes exactly this (see bpf/program.ts).
 */
export function clientHash(addr: number, port: number): number {
  let h = Math.imul(addr >>> 0, HASH_K1);
  h = (h ^ (port & 0xffff)) >>> 0;
  h = Math.imul(h, HASH_K2) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h;
}

/** A client's address with only its first `prefix` bits (0..32) kept, as an AddrOnly entry hashes it. */
export function clientPrefix(addr: number, prefix: number): number {
  return (addr & prefixToMask(prefix)) >>> 0;
}

/** The slot (0..slots-1) of a client: the hash scaled to the slot count (no modulo bias). */
export function slotOf(addr: number, port: number, slots: number): number {
  return Math.floor((clientHash(addr, port) * slots) / 0x100000000);
}

/** Index of the socket of (queue, slot) in the XSKMAP and in the per-socket counters. */
export function socketIndex(queue: number, slot: number, slots: number): number {
  return queue * slots + slot;
}

/** Key of a `vips`/`reals` entry: address (network order), port (network order), protocol, 0. */
export function endpointKey(addr: number, port: number, proto: number): Uint8Array {
  const k = new Uint8Array(8);
  k[0] = (addr >>> 24) & 255;
  k[1] = (addr >>> 16) & 255;
  k[2] = (addr >>> 8) & 255;
  k[3] = addr & 255;
  k[4] = (port >>> 8) & 255;
  k[5] = port & 255;
  k[6] = proto & 255;
  k[7] = 0;
  return k;
}

/** Key of an `addrs` entry: the address in network order. */
export function addrKey(addr: number): Uint8Array {
  return Uint8Array.of((addr >>> 24) & 255, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255);
}

/** A u32 map value (little-endian, as the program loads it on x86-64 and arm64). */
export function u32Value(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
