/**
 * Flow keys as numbers: a 32-bit hash of the 5-tuple and helpers that read ports or the
 * ICMP echo id straight from a packet (no allocation, no strings).
 */
import { Proto } from '@tunvs/model';
import { rd16 } from './bytes.js';
import { IcmpType } from './icmp.js';
import { Ipv4Field, Ipv4Flag } from './ipv4.js';

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * A 32-bit hash (MurmurHash3-style mixing and finalizer) of (proto, saddr, sport, daddr,
 * dport), seeded; returns an unsigned 32-bit number. Not symmetric: the reply direction
 * hashes differently.
 */
export function flowHash(proto: number, saddr: number, sport: number, daddr: number, dport: number, seed = 0): number {
  let h = seed ^ 13;
  h = mix(h, saddr);
  h = mix(h, daddr);
  h = mix(h, ((sport & 0xffff) << 16) | (dport & 0xffff));
  h = mix(h, proto & 0xff);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Absolute offset of the L4 header of the IPv4 packet at `ipOff`, or -1 for a non-first fragment. */
export function l4Offset(buf: Uint8Array, ipOff: number): number {
  if ((rd16(buf, ipOff + Ipv4Field.FLAGS_FRAG) & Ipv4Flag.OffsetMask) !== 0) return -1;
  return ipOff + ((buf[ipOff]! & 0xf) << 2);
}

/**
 * The ports of a TCP/UDP/SCTP packet as one number `sport << 16 | dport` (unsigned);
 * for an ICMP echo request/reply the identifier (in both halves); 0 otherwise (other
 * protocols, non-first fragments).
 */
export function flowPorts(buf: Uint8Array, ipOff: number): number {
  const l4 = l4Offset(buf, ipOff);
  if (l4 < 0) return 0;
  const p = buf[ipOff + Ipv4Field.PROTOCOL];
  if (p === Proto.TCP || p === Proto.UDP || p === Proto.SCTP) {
    return (((buf[l4]! << 24) | (buf[l4 + 1]! << 16) | (buf[l4 + 2]! << 8) | buf[l4 + 3]!) >>> 0);
  }
  if (p === Proto.ICMP) {
    const t = buf[l4];
    if (t === IcmpType.EchoRequest || t === IcmpType.EchoReply) {
      const id = rd16(buf, l4 + 4);
      return ((id << 16) | id) >>> 0;
    }
  }
  return 0;
}

/** TCP/UDP/SCTP source port of the packet at `ipOff` (0 when it has none). */
export function srcPortOf(buf: Uint8Array, ipOff: number): number {
  const p = buf[ipOff + Ipv4Field.PROTOCOL];
  if (p !== Proto.TCP && p !== Proto.UDP && p !== Proto.SCTP) return 0;
  const l4 = l4Offset(buf, ipOff);
  return l4 < 0 ? 0 : rd16(buf, l4);
}

/** TCP/UDP/SCTP destination port of the packet at `ipOff` (0 when it has none). */
export function dstPortOf(buf: Uint8Array, ipOff: number): number {
  const p = buf[ipOff + Ipv4Field.PROTOCOL];
  if (p !== Proto.TCP && p !== Proto.UDP && p !== Proto.SCTP) return 0;
  const l4 = l4Offset(buf, ipOff);
  return l4 < 0 ? 0 : rd16(buf, l4 + 2);
}

/** ICMP echo identifier of the packet at `ipOff`, or -1 when it is not an echo request/reply. */
export function icmpEchoIdOf(buf: Uint8Array, ipOff: number): number {
  if (buf[ipOff + Ipv4Field.PROTOCOL] !== Proto.ICMP) return -1;
  const l4 = l4Offset(buf, ipOff);
  if (l4 < 0) return -1;
  const t = buf[l4];
  return t === IcmpType.EchoRequest || t === IcmpType.EchoReply ? rd16(buf, l4 + 4) : -1;
}

/** `flowHash` of the IPv4 packet at `ipOff`, with ports from `flowPorts`. */
export function flowHashOf(buf: Uint8Array, ipOff: number, seed = 0): number {
  const ports = flowPorts(buf, ipOff);
  return flowHash(
    buf[ipOff + Ipv4Field.PROTOCOL]!,
    (((buf[ipOff + 12]! << 24) | (buf[ipOff + 13]! << 16) | (buf[ipOff + 14]! << 8) | buf[ipOff + 15]!) >>> 0),
    ports >>> 16,
    (((buf[ipOff + 16]! << 24) | (buf[ipOff + 17]! << 16) | (buf[ipOff + 18]! << 8) | buf[ipOff + 19]!) >>> 0),
    ports & 0xffff,
    seed,
  );
}
