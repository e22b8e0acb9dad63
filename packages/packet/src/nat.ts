/**
 * The NAT hot path: rewrite an address and port of an IPv4 packet in place and fix the IP
 * header checksum and the TCP/UDP checksum incrementally (RFC 1624), in one pass with no
 * allocation. These functions assume the packet already passed `classifyFrame` /
 * `checkIpv4` (they never throw, but do not re-validate lengths).
 */
import { Proto } from '@tunvs/model';
import { rd16, rd32, wr16, wr32 } from './bytes.js';
import { csumPartial } from './checksum.js';
import { setSctpChecksum } from './crc32c.js';
import { IcmpField } from './icmp.js';
import type { FrameInfo } from './classify.js';
import { Ipv4Field, Ipv4Flag } from './ipv4.js';

// Imported tables read through same-module constants: V8 folds these, but loads the
// properties of an imported `as const` object on every call of a hot function.
const { TTL, PROTOCOL, CHECKSUM: IP_CHECKSUM_FIELD, FLAGS_FRAG, SRC, DST } = Ipv4Field;
const { TCP, UDP, SCTP } = Proto;

/**
 * Rewrite the destination address (and, for TCP/UDP/SCTP packets carrying the L4 header,
 * the destination port) of the IPv4 packet at `buf[ipOff]`, updating the IP header
 * checksum and the TCP/UDP checksum (pseudo-header + port) incrementally. A UDP checksum
 * of 0 stays 0; a result of 0 is written as 0xffff. SCTP's CRC32c (no pseudo-header) is
 * computed again over the whole packet after the port, as the kernel's SCTP NAT
 * handlers do. Other protocols' L4 bytes and non-first
 * fragments' payloads are left alone. Returns 1 when the port was rewritten, else 0.
 */
export function natRewriteDst(buf: Uint8Array, ipOff: number, newAddr: number, newPort: number): number {
  return rewrite(buf, ipOff, newAddr, newPort, DST, 2, 0);
}

/** Like `natRewriteDst`, for the source address and port (the reply direction of NAT). */
export function natRewriteSrc(buf: Uint8Array, ipOff: number, newAddr: number, newPort: number): number {
  return rewrite(buf, ipOff, newAddr, newPort, SRC, 0, 0);
}

/**
 * `decTtl` then `natRewriteDst`, with one update of the IP header checksum for both (the
 * TTL's and the address's ones' complement differences added before a single fold): the
 * bytes written are exactly those of the two calls in turn. The forwarding step of NAT
 * (client -> real server). A TTL of 0 is left alone and nothing is rewritten: -1; else
 * what `natRewriteDst` returns (1 when the port was rewritten, else 0).
 */
export function natForwardDst(buf: Uint8Array, ipOff: number, newAddr: number, newPort: number): number {
  const t = buf[ipOff + TTL]!;
  if (t === 0) return -1;
  buf[ipOff + TTL] = t - 1;
  return rewrite(buf, ipOff, newAddr, newPort, DST, 2, TTL_DEC_DELTA);
}

/**
 * The ones' complement difference of one TTL decrement in the header's TTL/protocol word
 * (RFC 1624 eqn. 3, m = TTL<<8|proto, m' = m - 0x100): ~m + m' = 0xfeff exactly.
 */
const TTL_DEC_DELTA = 0xfeff;

/**
 * The address (and port) rewrite; `ipDelta`: a further ones' complement difference of the
 * IP header (another field already changed: the TTL), folded in with the address's.
 */
function rewrite(buf: Uint8Array, ipOff: number, newAddr: number, newPort: number, addrField: number, portField: number, ipDelta: number): number {
  const ao = ipOff + addrField;
  const oldAddr = ((buf[ao]! << 24) | (buf[ao + 1]! << 16) | (buf[ao + 2]! << 8) | buf[ao + 3]!) >>> 0;
  // ~old + new for both address words (ones' complement difference, unfolded)
  const delta = (~oldAddr >>> 16 & 0xffff) + (~oldAddr & 0xffff) + (newAddr >>> 16 & 0xffff) + (newAddr & 0xffff);
  const co = ipOff + IP_CHECKSUM_FIELD;
  // at most 6 * 0xffff: two folds bring it to 16 bits
  let s = (~((buf[co]! << 8) | buf[co + 1]!) & 0xffff) + delta + ipDelta;
  s = (s & 0xffff) + (s >>> 16);
  s = ~((s & 0xffff) + (s >>> 16));
  buf[co] = s >>> 8;
  buf[co + 1] = s;
  buf[ao] = newAddr >>> 24;
  buf[ao + 1] = newAddr >>> 16;
  buf[ao + 2] = newAddr >>> 8;
  buf[ao + 3] = newAddr;
  if (((buf[ipOff + FLAGS_FRAG]! & 0x1f) | buf[ipOff + FLAGS_FRAG + 1]!) !== 0) return 0;
  const proto = buf[ipOff + PROTOCOL];
  const l4 = ipOff + ((buf[ipOff]! & 0xf) << 2);
  let lc: number;
  if (proto === TCP) lc = l4 + 16;
  else if (proto === UDP) lc = l4 + 6;
  else if (proto === SCTP) return rewriteSctpPort(buf, ipOff, l4, l4 + portField, newPort);
  else return 0;
  const po = l4 + portField;
  return rewritePort(buf, proto, po, (buf[po]! << 8) | buf[po + 1]!, newPort, lc, delta);
}

/**
 * The TCP/UDP part of a rewrite: port at `po` from `oldPort` to `newPort`, the checksum at
 * `lc` updated for it and for the pseudo-header's address difference `delta`. A UDP
 * checksum of 0 stays 0; a result of 0 is written as 0xffff. Returns 1.
 */
function rewritePort(buf: Uint8Array, proto: number, po: number, oldPort: number, newPort: number, lc: number, delta: number): number {
  buf[po] = newPort >>> 8;
  buf[po + 1] = newPort;
  const c = (buf[lc]! << 8) | buf[lc + 1]!;
  if (c === 0 && proto === UDP) return 1; // UDP without checksum: leave it
  let s = (~c & 0xffff) + delta + (~oldPort & 0xffff) + (newPort & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = ~((s & 0xffff) + (s >>> 16)) & 0xffff;
  if (s === 0 && proto === UDP) s = 0xffff;
  buf[lc] = s >>> 8;
  buf[lc + 1] = s;
  return 1;
}

/**
 * `natForwardDst` of a packet as `classifyFrame` / `classifyIpv4` described it in `info`
 * (its bytes not changed since): what the parser read (the TTL, the old address and port,
 * the protocol, the L4 offset) comes from `info` instead of the bytes. The same bytes
 * written and the same result as `natForwardDst(buf, info.l3Off, newAddr, newPort)`.
 */
export function natForwardDstParsed(buf: Uint8Array, info: FrameInfo, newAddr: number, newPort: number): number {
  const proto = info.proto;
  const l4 = info.l4Off;
  const ipOff = info.l3Off;
  // fragments, other protocols: the general rewrite
  if (info.fragment || l4 < 0 || (proto !== TCP && proto !== UDP)) return natForwardDst(buf, ipOff, newAddr, newPort);
  const t = info.ttl;
  if (t === 0) return -1;
  buf[ipOff + TTL] = t - 1;
  const oldAddr = info.dst;
  const delta = (~oldAddr >>> 16 & 0xffff) + (~oldAddr & 0xffff) + (newAddr >>> 16 & 0xffff) + (newAddr & 0xffff);
  const co = ipOff + IP_CHECKSUM_FIELD;
  let s = (~((buf[co]! << 8) | buf[co + 1]!) & 0xffff) + delta + TTL_DEC_DELTA;
  s = (s & 0xffff) + (s >>> 16);
  s = ~((s & 0xffff) + (s >>> 16));
  buf[co] = s >>> 8;
  buf[co + 1] = s;
  const ao = ipOff + DST;
  buf[ao] = newAddr >>> 24;
  buf[ao + 1] = newAddr >>> 16;
  buf[ao + 2] = newAddr >>> 8;
  buf[ao + 3] = newAddr;
  return rewritePort(buf, proto, l4 + 2, info.dstPort, newPort, proto === TCP ? l4 + 16 : l4 + 6, delta);
}

function rewriteSctpPort(buf: Uint8Array, ipOff: number, l4: number, po: number, newPort: number): number {
  buf[po] = newPort >>> 8;
  buf[po + 1] = newPort;
  const total = (buf[ipOff + 2]! << 8) | buf[ipOff + 3]!;
  setSctpChecksum(buf, l4, total - (l4 - ipOff));
  return 1;
}

/**
 * Decrement the TTL of the IPv4 packet at `buf[ipOff]`, updating the header checksum
 * incrementally. Returns the new TTL; a TTL already 0 is left alone and -1 is returned.
 * (The caller sends Time Exceeded instead of forwarding when the TTL was <= 1.)
 */
export function decTtl(buf: Uint8Array, ipOff: number): number {
  const t = buf[ipOff + TTL]!;
  if (t === 0) return -1;
  buf[ipOff + TTL] = t - 1;
  const co = ipOff + IP_CHECKSUM_FIELD;
  let s = (~((buf[co]! << 8) | buf[co + 1]!) & 0xffff) + TTL_DEC_DELTA;
  s = (s & 0xffff) + (s >>> 16);
  s = ~((s & 0xffff) + (s >>> 16));
  buf[co] = s >>> 8;
  buf[co + 1] = s;
  return t - 1;
}

/**
 * Rewrite the quoted (original) datagram inside an ICMP error: its source address and,
 * for TCP/UDP/SCTP, source port, fixing the quoted IP header checksum and a quoted UDP/TCP
 * checksum that lies within the quote incrementally, then recomputing the ICMP checksum
 * over `icmpLen` bytes. `icmpOff` is the ICMP header's offset. Returns 1 when a port was
 * rewritten, else 0. The outer header is the caller's (use `natRewriteSrc/Dst`, which
 * leave ICMP payloads alone).
 */
export function natRewriteQuoteSrc(buf: Uint8Array, icmpOff: number, icmpLen: number, newAddr: number, newPort: number): number {
  return rewriteQuote(buf, icmpOff, icmpLen, newAddr, newPort, SRC, 0);
}

/** Like `natRewriteQuoteSrc`, for the quoted destination address and port. */
export function natRewriteQuoteDst(buf: Uint8Array, icmpOff: number, icmpLen: number, newAddr: number, newPort: number): number {
  return rewriteQuote(buf, icmpOff, icmpLen, newAddr, newPort, DST, 2);
}

function rewriteQuote(buf: Uint8Array, icmpOff: number, icmpLen: number, newAddr: number, newPort: number, addrField: number, portField: number): number {
  const q = icmpOff + IcmpField.DATA;
  const qLen = icmpLen - IcmpField.DATA;
  let ported = 0;
  if (qLen >= Ipv4Field.HEADER_LEN) {
    const hl = (buf[q]! & 0xf) << 2;
    const oldAddr = rd32(buf, q + addrField);
    const delta = (~oldAddr >>> 16 & 0xffff) + (~oldAddr & 0xffff) + (newAddr >>> 16 & 0xffff) + (newAddr & 0xffff);
    wr16(buf, q + IP_CHECKSUM_FIELD, update(rd16(buf, q + IP_CHECKSUM_FIELD), delta));
    wr32(buf, q + addrField, newAddr);
    const proto = buf[q + PROTOCOL];
    const firstFrag = (rd16(buf, q + FLAGS_FRAG) & Ipv4Flag.OffsetMask) === 0;
    const l4 = q + hl;
    const l4Avail = qLen - hl;
    if (firstFrag && proto === SCTP && l4Avail >= 4) {
      // the quote holds the ports (and perhaps the CRC32c, which covers what was cut off:
      // left as quoted, as the kernel does)
      wr16(buf, l4 + portField, newPort);
      ported = 1;
    } else if (firstFrag && (proto === TCP || proto === UDP) && l4Avail >= 4) {
      const oldPort = rd16(buf, l4 + portField);
      wr16(buf, l4 + portField, newPort);
      ported = 1;
      const lc = proto === TCP ? 16 : 6;
      if (l4Avail >= lc + 2) {
        const c = rd16(buf, l4 + lc);
        if (!(c === 0 && proto === UDP)) {
          let n = update(c, delta + (~oldPort & 0xffff) + (newPort & 0xffff));
          if (n === 0 && proto === UDP) n = 0xffff;
          wr16(buf, l4 + lc, n);
        }
      }
    }
  }
  wr16(buf, icmpOff + IcmpField.CHECKSUM, 0);
  wr16(buf, icmpOff + IcmpField.CHECKSUM, ~csumPartial(buf, icmpOff, icmpLen) & 0xffff);
  return ported;
}

function update(c: number, delta: number): number {
  let s = (~c & 0xffff) + delta;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
