/**
 * VRRP advertisements on the wire (RFC 3768 v2, RFC 5798 v3, IPv4), as keepalived sends
 * and expects them.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Type  | Virtual Rtr ID|   Priority    | Count IPvX    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * v2: | Auth Type  | Adver Int (s) |          Checksum             |
 * v3: |Rsv| Max Adver Int (12 bits, centiseconds) |   Checksum     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 IPv4 address(es), 4 bytes each                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * v2 only: authentication data, 8 bytes (PASS: the password, zero padded)
 * ```
 *
 * Checksums (RFC 1071 over the covered bytes with the checksum field zero):
 *   - v2: the VRRP message only (header, addresses, auth data);
 *   - v3/IPv4: a 12-byte pseudo-header (source, destination, 0, 112, VRRP length) and the
 *     message; keepalived's `v3_checksum_as_v2` (2.2.8+, and what some vendors send) leaves
 *     the pseudo-header out. The destination is the one on the wire: 224.0.0.18, or each
 *     unicast peer.
 *
 * Datagrams carry TOS 0xc0 and TTL 255, no DF, and an IP id that counts per instance.
 */
import {
  BROADCAST_MAC,
  EtherType,
  IPV4_HEADER_LEN,
  Ipv4Field,
  ArpOp,
  checksum,
  csumPartial,
  csumFinish,
  emitArp,
  emitEthernet,
  emitIpv4,
  pseudoHeaderSum,
  rd16,
  rd32,
  wr16,
  wr32,
} from '@tunvs/packet';

/** Byte offsets of the VRRP header fields (from the start of the VRRP message). */
export const VrrpField = {
  VERS_TYPE: 0,
  VRID: 1,
  PRIORITY: 2,
  COUNT: 3,
  /** v2 */
  AUTH_TYPE: 4,
  /** v2: whole seconds (1 byte) */
  ADVER_INT_V2: 5,
  /** v3: 4 reserved bits + 12 bits of centiseconds */
  ADVER_INT_V3: 4,
  CHECKSUM: 6,
  ADDRS: 8,
  HEADER_LEN: 8,
  /** v2 authentication data after the addresses */
  AUTH_LEN: 8,
} as const;

/** IP protocol number of VRRP. */
export const IPPROTO_VRRP = 112;
/** IP protocol number of IPsec AH (v2 `auth_type AH`). */
export const IPPROTO_AH = 51;
/** 224.0.0.18 as a number. */
export const VRRP_MCAST_GROUP = 0xe0000012;
/** TTL adverts are sent with and (multicast) must arrive with. */
export const VRRP_TTL = 255;
/** TOS of adverts: precedence "internetwork control". */
export const VRRP_TOS = 0xc0;
/** The only VRRP packet type. */
export const VRRP_TYPE_ADVERT = 1;
/** Most addresses one advert carries (the count field is 8 bits). */
export const VRRP_MAX_ADDRS = 255;
/** Priority meaning "the master is stopping". */
export const VRRP_PRIO_STOP = 0;
/** Priority of the address owner. */
export const VRRP_PRIO_OWNER = 255;
/** keepalived's default priority. */
export const VRRP_PRIO_DEFAULT = 100;

/** v2 authentication types. */
export const VrrpAuth = {
  None: 0,
  Pass: 1,
  Ah: 2,
} as const;

/** A VRRP message, decoded (IPv4 addresses as numbers). */
export interface VrrpRepr {
  version: 2 | 3;
  type: number;
  vrid: number;
  priority: number;
  /** addresses (the count field is `addrs.length` when emitting) */
  addrs: number[];
  /** v2: the Adver Int byte in seconds; v3: the 12-bit field in centiseconds */
  adverInt: number;
  /** v2 only (0 none, 1 PASS, 2 AH) */
  authType: number;
  /** v2 only: the 8 authentication bytes */
  authData: Uint8Array;
  /** v3: the 4 reserved bits (sent as 0) */
  reserved: number;
  /** the checksum field as received (filled by emit) */
  checksum: number;
}

/** Length of the VRRP message for a version and address count. */
export function vrrpLength(version: 2 | 3, count: number): number {
  return VrrpField.HEADER_LEN + 4 * count + (version === 2 ? VrrpField.AUTH_LEN : 0);
}

/** The 8 authentication bytes for a PASS password: the first 8 bytes, zero padded. */
export function authPassBytes(pass: string): Uint8Array {
  const out = new Uint8Array(VrrpField.AUTH_LEN);
  const b = Buffer.from(pass, 'latin1');
  out.set(b.subarray(0, VrrpField.AUTH_LEN));
  return out;
}

/**
 * The sum (not complemented) of the IPv4 pseudo-header keepalived puts in front of a v3
 * message: source, destination, zero, protocol 112, VRRP length.
 */
export function vrrpPseudoSum(src: number, dst: number, vrrpLen: number): number {
  return pseudoHeaderSum(src, dst, IPPROTO_VRRP, vrrpLen);
}

/**
 * The checksum a message at `buf[off..off+len)` should carry (its checksum field is taken
 * as zero). `pseudo` = include the IPv4 pseudo-header (v3 default).
 */
export function computeVrrpChecksum(buf: Uint8Array, off: number, len: number, pseudo: { src: number; dst: number } | null): number {
  const init = pseudo ? vrrpPseudoSum(pseudo.src, pseudo.dst, len) : 0;
  const old = rd16(buf, off + VrrpField.CHECKSUM);
  const s = csumPartial(buf, off, len, init) + (~old & 0xffff);
  // removing the field's contribution: sum + ~field == sum - field in ones' complement
  return csumFinish(s);
}

/** True when the message's checksum verifies (with the pseudo-header when given). */
export function verifyVrrpChecksum(buf: Uint8Array, off: number, len: number, pseudo: { src: number; dst: number } | null): boolean {
  const init = pseudo ? vrrpPseudoSum(pseudo.src, pseudo.dst, len) : 0;
  return csumPartial(buf, off, len, init) === 0xffff;
}

/**
 * Structural decode of a VRRP message (no checksum or semantic checks: see check.ts).
 * Returns null when the bytes cannot hold the header and the addresses it announces.
 */
export function parseVrrp(buf: Uint8Array, off: number, len: number): VrrpRepr | null {
  if (len < VrrpField.HEADER_LEN) return null;
  const vt = buf[off + VrrpField.VERS_TYPE]!;
  const ver = vt >>> 4;
  if (ver !== 2 && ver !== 3) return null;
  const count = buf[off + VrrpField.COUNT]!;
  const need = vrrpLength(ver, count);
  if (len < need) return null;
  const addrs: number[] = [];
  for (let i = 0; i < count; i++) addrs.push(rd32(buf, off + VrrpField.ADDRS + 4 * i));
  const repr: VrrpRepr = {
    version: ver,
    type: vt & 0x0f,
    vrid: buf[off + VrrpField.VRID]!,
    priority: buf[off + VrrpField.PRIORITY]!,
    addrs,
    adverInt: ver === 2 ? buf[off + VrrpField.ADVER_INT_V2]! : rd16(buf, off + VrrpField.ADVER_INT_V3) & 0x0fff,
    authType: ver === 2 ? buf[off + VrrpField.AUTH_TYPE]! : 0,
    authData: ver === 2 ? buf.slice(off + VrrpField.ADDRS + 4 * count, off + need) : new Uint8Array(0),
    reserved: ver === 3 ? rd16(buf, off + VrrpField.ADVER_INT_V3) >>> 12 : 0,
    checksum: rd16(buf, off + VrrpField.CHECKSUM),
  };
  return repr;
}

/** How emitVrrp computes the checksum. */
export interface ChecksumSpec {
  /** IPv4 source and destination, for the v3 pseudo-header */
  src: number;
  dst: number;
  /** v3 without the pseudo-header (keepalived's v3_checksum_as_v2) */
  asV2?: boolean;
  /** write this checksum instead of the right one (tests: bad adverts) */
  override?: number;
}

/**
 * Write a VRRP message at `buf[off]` and its checksum; returns its length. `repr.checksum`
 * is set to what was written.
 */
export function emitVrrp(repr: VrrpRepr, buf: Uint8Array, off: number, cs: ChecksumSpec): number {
  const n = repr.addrs.length;
  const len = vrrpLength(repr.version, n);
  buf[off + VrrpField.VERS_TYPE] = (repr.version << 4) | (repr.type & 0x0f);
  buf[off + VrrpField.VRID] = repr.vrid;
  buf[off + VrrpField.PRIORITY] = repr.priority;
  buf[off + VrrpField.COUNT] = n & 0xff;
  if (repr.version === 2) {
    buf[off + VrrpField.AUTH_TYPE] = repr.authType;
    buf[off + VrrpField.ADVER_INT_V2] = repr.adverInt & 0xff;
  } else {
    wr16(buf, off + VrrpField.ADVER_INT_V3, ((repr.reserved & 0xf) << 12) | (repr.adverInt & 0x0fff));
  }
  wr16(buf, off + VrrpField.CHECKSUM, 0);
  for (let i = 0; i < n; i++) wr32(buf, off + VrrpField.ADDRS + 4 * i, repr.addrs[i]!);
  if (repr.version === 2) {
    const a = off + VrrpField.ADDRS + 4 * n;
    for (let i = 0; i < VrrpField.AUTH_LEN; i++) buf[a + i] = repr.authData[i] ?? 0;
  }
  const pseudo = repr.version === 3 && !cs.asV2 ? { src: cs.src, dst: cs.dst } : null;
  const sum = cs.override ?? checksum(buf, off, len, pseudo ? vrrpPseudoSum(pseudo.src, pseudo.dst, len) : 0);
  wr16(buf, off + VrrpField.CHECKSUM, sum);
  repr.checksum = sum;
  return len;
}

/** IP header fields of an advert datagram. */
export interface AdvertIp {
  src: number;
  dst: number;
  /** IP identification (keepalived counts 1, 2, 3 ... per instance, skipping 0) */
  id: number;
  /** default 255 */
  ttl?: number;
  /** default 0xc0 */
  tos?: number;
}

/** An IPv4 datagram carrying `repr` (20-byte header, protocol 112). */
export function emitAdvertDatagram(repr: VrrpRepr, ip: AdvertIp, cs: Partial<ChecksumSpec> = {}): Uint8Array {
  const vlen = vrrpLength(repr.version, repr.addrs.length);
  const out = new Uint8Array(IPV4_HEADER_LEN + vlen);
  emitIpv4(
    { src: ip.src, dst: ip.dst, protocol: IPPROTO_VRRP, ttl: ip.ttl ?? VRRP_TTL, tos: ip.tos ?? VRRP_TOS, id: ip.id & 0xffff, df: false, mf: false, fragOffset: 0, payloadLength: vlen },
    out,
    0,
  );
  emitVrrp(repr, out, IPV4_HEADER_LEN, { src: ip.src, dst: ip.dst, ...cs });
  return out;
}

/** The Ethernet multicast MAC for an IPv4 group (01:00:5e + low 23 bits). */
export function ipv4MulticastMac(group: number): Uint8Array {
  return new Uint8Array([0x01, 0x00, 0x5e, (group >>> 16) & 0x7f, (group >>> 8) & 0xff, group & 0xff]);
}

/** The RFC virtual MAC 00:00:5e:00:01:VRID (IPv4). */
export function vrrpVirtualMac(vrid: number): Uint8Array {
  return new Uint8Array([0x00, 0x00, 0x5e, 0x00, 0x01, vrid & 0xff]);
}

/** An Ethernet frame around an advert datagram (TAP): destination = multicast MAC unless given. */
export function emitAdvertFrame(datagram: Uint8Array, srcMac: Uint8Array, dstMac?: Uint8Array): Uint8Array {
  const out = new Uint8Array(14 + datagram.length);
  const dst = dstMac ?? ipv4MulticastMac(rd32(datagram, Ipv4Field.DST));
  emitEthernet({ dst, src: srcMac, etherType: EtherType.Ipv4 }, out, 0);
  out.set(datagram, 14);
  return out;
}

/**
 * A gratuitous ARP as keepalived sends it (vrrp_arp.c): a broadcast ARP request whose
 * sender and target IP are the VIP and whose target MAC is ff:ff:ff:ff:ff:ff. 42 bytes.
 */
export function emitVrrpGarp(mac: Uint8Array, ip: number): Uint8Array {
  const out = new Uint8Array(42);
  emitEthernet({ dst: BROADCAST_MAC, src: mac, etherType: EtherType.Arp }, out, 0);
  emitArp({ op: ArpOp.Request, senderMac: mac, senderIp: ip, targetMac: BROADCAST_MAC, targetIp: ip }, out, 14);
  return out;
}
