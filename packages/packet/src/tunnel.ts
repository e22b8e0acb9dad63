/**
 * Tunnel headers IPVS puts in front of a tunnelled packet besides IPIP: GUE (Generic UDP
 * Encapsulation, draft-ietf-intarea-gue, Linux `include/net/gue.h`) after a UDP header,
 * and GRE (RFC 2784, Linux `include/net/gre.h`) as IP protocol 47.
 *
 * ```
 * GUE (variant 0):
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|C|  Hlen   |  Proto/ctype  |             Flags             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Fields (Hlen 32-bit words): private flags, then remote checksum start/offset |
 *
 * GRE:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |C|       Reserved0       | Ver |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Checksum (optional)      |       Reserved1 (optional)    |
 * ```
 */
import { rd16, rd32 } from './bytes.js';
import { csumVerify } from './checksum.js';

/** Byte offsets and bits of the GUE header. */
export const GueField = {
  /** version (2 bits), control (1 bit), hlen (5 bits: option words) */
  VER_C_HLEN: 0,
  /** IP protocol of the payload (4 IPv4, 41 IPv6) */
  PROTO: 1,
  FLAGS: 2,
  HEADER_LEN: 4,
  /** GUE_FLAG_PRIV: a 4-byte private flags field follows */
  FLAG_PRIV: 0x0001,
  /** GUE_PFLAG_REMCSUM in the private flags: a 4-byte remote checksum option follows */
  PFLAG_REMCSUM: 0x80000000,
  /** bytes of the private flags field and of the remote checksum option */
  LEN_PRIV: 4,
  PLEN_REMCSUM: 4,
  /** the control bit in byte 0 */
  CONTROL: 0x20,
  HLEN_MASK: 0x1f,
} as const;

/** Byte offsets and bits of the GRE header. */
export const GreField = {
  FLAGS_VER: 0,
  PROTO: 2,
  /** checksum and reserved1, present with FLAG_CSUM */
  CHECKSUM: 4,
  BASE_LEN: 4,
  CSUM_LEN: 4,
  /** the C bit */
  FLAG_CSUM: 0x8000,
  /** EtherType of an IPv4 payload */
  PROTO_IPV4: 0x0800,
} as const;

/** The GRE header length for the C bit set or not (no key, no sequence number). */
export function greHeaderLen(csum: boolean): number {
  return GreField.BASE_LEN + (csum ? GreField.CSUM_LEN : 0);
}

/** Why a GUE or GRE header was refused (negative results of the parsers below). */
export const TunnelHeaderError = {
  truncated: -1,
  /** GUE version not 0, a control message, or flags other than the private flags */
  unsupported: -2,
  /** the payload is not IPv4 */
  notIpv4: -3,
  /** the GRE checksum (C bit set) does not verify */
  badChecksum: -4,
} as const;

/**
 * Check the GUE header at `buf[off, off+len)` (the UDP payload) as the kernel's GUE
 * receive path does for IPVS's encapsulation: version 0, data (not control), payload
 * IPv4, only the private flags; a remote checksum option is accepted. Returns the header
 * length (the inner packet starts there), or a TunnelHeaderError.
 */
export function parseGueHeader(buf: Uint8Array, off: number, len: number): number {
  if (len < GueField.HEADER_LEN) return TunnelHeaderError.truncated;
  const b0 = buf[off]!;
  if (b0 >> 6 !== 0 || (b0 & GueField.CONTROL) !== 0) return TunnelHeaderError.unsupported;
  const hlen = GueField.HEADER_LEN + (b0 & GueField.HLEN_MASK) * 4;
  if (len < hlen) return TunnelHeaderError.truncated;
  if (buf[off + GueField.PROTO] !== 4) return TunnelHeaderError.notIpv4;
  const flags = rd16(buf, off + GueField.FLAGS);
  if ((flags & ~GueField.FLAG_PRIV) !== 0) return TunnelHeaderError.unsupported;
  if (flags & GueField.FLAG_PRIV) {
    if (hlen < GueField.HEADER_LEN + GueField.LEN_PRIV) return TunnelHeaderError.truncated;
    const pflags = rd32(buf, off + GueField.HEADER_LEN);
    if ((pflags & ~GueField.PFLAG_REMCSUM) !== 0) return TunnelHeaderError.unsupported;
    if (pflags & GueField.PFLAG_REMCSUM && hlen < GueField.HEADER_LEN + GueField.LEN_PRIV + GueField.PLEN_REMCSUM) {
      return TunnelHeaderError.truncated;
    }
  } else if (hlen !== GueField.HEADER_LEN) return TunnelHeaderError.unsupported;
  return hlen;
}

/**
 * The remote checksum option of the GUE header at `off` (parsed by `parseGueHeader`), as
 * `start << 16 | offset` (both relative to the inner packet), or -1 when there is none.
 */
export function gueRemcsum(buf: Uint8Array, off: number): number {
  if ((rd16(buf, off + GueField.FLAGS) & GueField.FLAG_PRIV) === 0) return -1;
  if ((rd32(buf, off + GueField.HEADER_LEN) & GueField.PFLAG_REMCSUM) === 0) return -1;
  return rd32(buf, off + GueField.HEADER_LEN + GueField.LEN_PRIV);
}

/**
 * Check the GRE header at `buf[off, off+len)` (the IP payload) as IPVS sends it: version
 * 0, only the C bit, protocol IPv4; with C, the checksum over header and payload must
 * verify (unless `verifyCsum` is false: a packet quoted in an ICMP error is cut short).
 * Returns the header length or a TunnelHeaderError.
 */
export function parseGreHeader(buf: Uint8Array, off: number, len: number, verifyCsum = true): number {
  if (len < GreField.BASE_LEN) return TunnelHeaderError.truncated;
  const fv = rd16(buf, off + GreField.FLAGS_VER);
  if ((fv & ~GreField.FLAG_CSUM) !== 0) return TunnelHeaderError.unsupported;
  if (rd16(buf, off + GreField.PROTO) !== GreField.PROTO_IPV4) return TunnelHeaderError.notIpv4;
  const csum = (fv & GreField.FLAG_CSUM) !== 0;
  const hl = greHeaderLen(csum);
  if (len < hl) return TunnelHeaderError.truncated;
  if (csum && verifyCsum && !csumVerify(buf, off, len)) return TunnelHeaderError.badChecksum;
  return hl;
}
