/**
 * The steps every forwarder takes on its way out, written once (the kernel's
 * `__ip_vs_get_out_rt`, `decrement_ttl`, `ensure_mtu_is_adequate`): the route, the TTL,
 * the path MTU. Each returns false when the packet was dropped (ICMP sent when the rules
 * say so, counted).
 */
import { IcmpTimeExceededCode, IcmpType, IcmpUnreachCode, decTtl } from '@tunvs/packet';
import type { Packet, Xmit } from './contract.js';

/** The next hop toward `dst`, or 0 (counted as `noRoute`). */
export function nextHop(x: Xmit, dst: number): number {
  const hop = x.route(dst);
  if (hop === 0) x.counters.noRoute++;
  return hop;
}

// The drops live in functions of their own: the steps stay small enough for the compiler
// to inline them into every forwarder's per-packet operation.

function ttlExpired(x: Xmit, p: Packet): false {
  x.counters.ttlExceeded++;
  x.icmpError(p, IcmpType.TimeExceeded, IcmpTimeExceededCode.TtlExceeded, 0);
  return false;
}

function tooBig(x: Xmit, p: Packet, mtu: number): false {
  x.counters.fragNeeded++;
  x.icmpError(p, IcmpType.DestUnreachable, IcmpUnreachCode.FragNeeded, mtu);
  return false;
}

/**
 * Decrement the TTL of a packet the director forwards; at TTL 1 or 0 the packet is
 * dropped and ICMP time exceeded is sent to its source.
 */
export function ttlStep(x: Xmit, p: Packet): boolean {
  if (p.info.ttl <= 1) return ttlExpired(x, p);
  decTtl(p.buf, p.info.l3Off);
  return true;
}

/**
 * The path MTU check: a DF packet longer than `mtu` (and not a GSO super-packet, which
 * the kernel segments) is dropped with ICMP fragmentation needed carrying `mtu`.
 */
export function mtuStep(x: Xmit, p: Packet, mtu: number): boolean {
  return mtuFits(p, mtu) || tooBig(x, p, mtu);
}

/** True when `mtuStep` passes the packet: it fits `mtu`, may be fragmented, or is a GSO super-packet. */
export function mtuFits(p: Packet, mtu: number): boolean {
  const info = p.info;
  return info.ipTotalLen <= mtu || !info.df || p.gso;
}
