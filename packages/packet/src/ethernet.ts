/**
 * Ethernet II frames, with an optional IEEE 802.1Q VLAN tag.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination MAC address                    |
 * +                               +-------------------------------+
 * |                               |                               |
 * +-------------------------------+                               +
 * |                      Source MAC address                       |
 * +-------------------------------+-------------------------------+
 * |   EtherType (or TPID 0x8100)  |  PCP|D|   VLAN id (if tagged) |
 * +-------------------------------+-------------------------------+
 * |   inner EtherType (if tagged) |  payload ...
 * +-------------------------------+
 * ```
 */
import { EMPTY, rd16, wr16 } from './bytes.js';
import { ParseReason } from './reason.js';

/** Byte offsets of the Ethernet fields (from the start of the frame). */
export const EthField = {
  DST: 0,
  SRC: 6,
  ETHERTYPE: 12,
  /** 802.1Q tag control information (when ETHERTYPE is a VLAN TPID) */
  VLAN_TCI: 14,
  /** the real EtherType after one VLAN tag */
  VLAN_ETHERTYPE: 16,
  HEADER_LEN: 14,
  VLAN_HEADER_LEN: 18,
} as const;

/** Length of an Ethernet header without a VLAN tag. */
export const ETH_HEADER_LEN = EthField.HEADER_LEN;

/** Well-known EtherType values. */
export const EtherType = {
  Ipv4: 0x0800,
  Arp: 0x0806,
  Vlan: 0x8100,
  QinQ: 0x88a8,
  Ipv6: 0x86dd,
} as const;

/** Length of a MAC address in bytes. */
export const MAC_LEN = 6;

/** The broadcast MAC ff:ff:ff:ff:ff:ff (do not modify). */
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function isVlanTpid(t: number): boolean {
  return t === EtherType.Vlan || t === EtherType.QinQ;
}

/** A zero-copy view of an Ethernet header; re-point it with `reset`. */
export class EthernetView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** A view over `buf[off, off+len)` (or over nothing until `reset`). */
  constructor(buf: Uint8Array = EMPTY, off = 0, len = buf.length - off) {
    this.reset(buf, off, len);
  }

  /** Point the view at another frame without allocating. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** The first EtherType field (a TPID when the frame is tagged). */
  get etherType(): number {
    return rd16(this.buf, this.off + EthField.ETHERTYPE);
  }
  set etherType(v: number) {
    wr16(this.buf, this.off + EthField.ETHERTYPE, v);
  }

  /** True when the frame carries an 802.1Q (or 802.1ad) tag. */
  get hasVlan(): boolean {
    return isVlanTpid(this.etherType);
  }

  /** The EtherType of the payload, after a VLAN tag if there is one. */
  get payloadType(): number {
    const t = this.etherType;
    return isVlanTpid(t) ? rd16(this.buf, this.off + EthField.VLAN_ETHERTYPE) : t;
  }
  set payloadType(v: number) {
    wr16(this.buf, this.off + (this.hasVlan ? EthField.VLAN_ETHERTYPE : EthField.ETHERTYPE), v);
  }

  /** Header length: 14, or 18 with a VLAN tag. */
  get headerLen(): number {
    return this.hasVlan ? EthField.VLAN_HEADER_LEN : EthField.HEADER_LEN;
  }

  /** Absolute offset of the payload in `buf`. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }

  /** The 16-bit VLAN tag control information (0 when untagged). */
  get vlanTci(): number {
    return this.hasVlan ? rd16(this.buf, this.off + EthField.VLAN_TCI) : 0;
  }
  set vlanTci(v: number) {
    wr16(this.buf, this.off + EthField.VLAN_TCI, v);
  }

  /** VLAN id (12 bits; 0 when untagged). */
  get vlanId(): number {
    return this.vlanTci & 0x0fff;
  }

  /** VLAN priority code point (3 bits). */
  get vlanPcp(): number {
    return this.vlanTci >>> 13;
  }

  /** VLAN drop-eligible indicator. */
  get vlanDei(): boolean {
    return (this.vlanTci & 0x1000) !== 0;
  }

  /** The destination MAC as a 48-bit number. */
  get dst48(): number {
    return readMac48(this.buf, this.off + EthField.DST);
  }
  set dst48(v: number) {
    writeMac48(this.buf, this.off + EthField.DST, v);
  }

  /** The source MAC as a 48-bit number. */
  get src48(): number {
    return readMac48(this.buf, this.off + EthField.SRC);
  }
  set src48(v: number) {
    writeMac48(this.buf, this.off + EthField.SRC, v);
  }

  /** Copy the destination MAC into `out` (6 bytes at `outOff`) and return `out`. */
  dstMac(out: Uint8Array = new Uint8Array(6), outOff = 0): Uint8Array {
    copyMac(this.buf, this.off + EthField.DST, out, outOff);
    return out;
  }

  /** Copy the source MAC into `out` (6 bytes at `outOff`) and return `out`. */
  srcMac(out: Uint8Array = new Uint8Array(6), outOff = 0): Uint8Array {
    copyMac(this.buf, this.off + EthField.SRC, out, outOff);
    return out;
  }

  /** Set the destination MAC from 6 bytes. */
  setDstMac(mac: Uint8Array, macOff = 0): void {
    copyMac(mac, macOff, this.buf, this.off + EthField.DST);
  }

  /** Set the source MAC from 6 bytes. */
  setSrcMac(mac: Uint8Array, macOff = 0): void {
    copyMac(mac, macOff, this.buf, this.off + EthField.SRC);
  }

  /** True when the destination is a group (multicast or broadcast) address. */
  get dstIsMulticast(): boolean {
    return (this.buf[this.off]! & 1) === 1;
  }
}

/** Copy 6 bytes of MAC from `src[so..]` to `dst[do..]` (no allocation). */
export function copyMac(src: Uint8Array, so: number, dst: Uint8Array, dOff: number): void {
  dst[dOff] = src[so]!;
  dst[dOff + 1] = src[so + 1]!;
  dst[dOff + 2] = src[so + 2]!;
  dst[dOff + 3] = src[so + 3]!;
  dst[dOff + 4] = src[so + 4]!;
  dst[dOff + 5] = src[so + 5]!;
}

/** Read a MAC at `off` as a 48-bit number. */
export function readMac48(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) * 0x100000000 +
    (((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0);
}

/** Write a 48-bit number as a MAC at `off`. */
export function writeMac48(b: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / 0x100000000);
  const lo = v >>> 0;
  b[off] = hi >>> 8;
  b[off + 1] = hi;
  b[off + 2] = lo >>> 24;
  b[off + 3] = lo >>> 16;
  b[off + 4] = lo >>> 8;
  b[off + 5] = lo;
}

/**
 * Check an Ethernet header in `buf[off, off+len)`: returns 0, `EthTruncated` or
 * `VlanTruncated`. Never throws.
 */
export function checkEthernet(buf: Uint8Array, off: number, len: number): number {
  if (len < EthField.HEADER_LEN || off + len > buf.length || off < 0) return ParseReason.EthTruncated;
  if (isVlanTpid(rd16(buf, off + EthField.ETHERTYPE)) && len < EthField.VLAN_HEADER_LEN) {
    return ParseReason.VlanTruncated;
  }
  return ParseReason.Ok;
}

/** An 802.1Q tag. */
export interface VlanTag {
  /** VLAN id, 0..4095 */
  id: number;
  /** priority code point, 0..7 */
  pcp: number;
  /** drop eligible indicator */
  dei: boolean;
}

/** The meaningful fields of an Ethernet header. */
export interface EthernetRepr {
  dst: Uint8Array;
  src: Uint8Array;
  /** the payload's EtherType (after the tag when `vlan` is set) */
  etherType: number;
  /** present when the frame is 802.1Q tagged */
  vlan?: VlanTag;
}

/** Header length `emitEthernet` will write for `repr` (14 or 18). */
export function ethernetHeaderLen(repr: EthernetRepr): number {
  return repr.vlan ? EthField.VLAN_HEADER_LEN : EthField.HEADER_LEN;
}

/** Write an Ethernet header at `off`; returns the header length. */
export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off: number): number {
  copyMac(repr.dst, 0, buf, off + EthField.DST);
  copyMac(repr.src, 0, buf, off + EthField.SRC);
  if (repr.vlan) {
    const v = repr.vlan;
    wr16(buf, off + EthField.ETHERTYPE, EtherType.Vlan);
    wr16(buf, off + EthField.VLAN_TCI, ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.id & 0xfff));
    wr16(buf, off + EthField.VLAN_ETHERTYPE, repr.etherType);
    return EthField.VLAN_HEADER_LEN;
  }
  wr16(buf, off + EthField.ETHERTYPE, repr.etherType);
  return EthField.HEADER_LEN;
}

/** Parse an Ethernet header into a Repr, or null when it is truncated. */
export function parseEthernet(buf: Uint8Array, off: number, len: number): EthernetRepr | null {
  if (checkEthernet(buf, off, len) !== 0) return null;
  const v = new EthernetView(buf, off, len);
  const repr: EthernetRepr = { dst: v.dstMac(), src: v.srcMac(), etherType: v.payloadType };
  if (v.hasVlan) repr.vlan = { id: v.vlanId, pcp: v.vlanPcp, dei: v.vlanDei };
  return repr;
}
