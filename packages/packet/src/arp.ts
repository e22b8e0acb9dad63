/**
 * ARP for Ethernet + IPv4 (RFC 826).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Hardware type (1)         |     Protocol type (0x0800)    |
 * +---------------+---------------+-------------------------------+
 * | HW len (6)    | Proto len (4) |          Operation            |
 * +---------------+---------------+-------------------------------+
 * |                 Sender hardware address (6 bytes)             |
 * +                               +-------------------------------+
 * |                               | Sender protocol address ...   |
 * +-------------------------------+-------------------------------+
 * |   ... (4 bytes)               | Target hardware address ...   |
 * +-------------------------------+                               +
 * |                          ... (6 bytes)                        |
 * +---------------------------------------------------------------+
 * |                 Target protocol address (4 bytes)             |
 * +---------------------------------------------------------------+
 * ```
 */
import { EMPTY, rd16, rd32, wr16, wr32 } from './bytes.js';
import { EthField, EtherType, copyMac, emitEthernet, BROADCAST_MAC } from './ethernet.js';
import { ParseReason } from './reason.js';

/** Byte offsets of the ARP fields. */
export const ArpField = {
  HTYPE: 0,
  PTYPE: 2,
  HLEN: 4,
  PLEN: 5,
  OPER: 6,
  SHA: 8,
  SPA: 14,
  THA: 18,
  TPA: 24,
  LEN: 28,
} as const;

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = ArpField.LEN;

/** ARP operation codes. */
export const ArpOp = {
  Request: 1,
  Reply: 2,
} as const;

/** ARP hardware type for Ethernet. */
export const ARP_HTYPE_ETHERNET = 1;

/** A zero-copy view of an ARP packet. */
export class ArpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** A view over `buf[off, off+len)`. */
  constructor(buf: Uint8Array = EMPTY, off = 0, len = buf.length - off) {
    this.reset(buf, off, len);
  }

  /** Point the view at another packet without allocating. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Hardware type (1 = Ethernet). */
  get htype(): number { return rd16(this.buf, this.off + ArpField.HTYPE); }
  set htype(v: number) { wr16(this.buf, this.off + ArpField.HTYPE, v); }
  /** Protocol type (0x0800 = IPv4). */
  get ptype(): number { return rd16(this.buf, this.off + ArpField.PTYPE); }
  set ptype(v: number) { wr16(this.buf, this.off + ArpField.PTYPE, v); }
  /** Hardware address length. */
  get hlen(): number { return this.buf[this.off + ArpField.HLEN]!; }
  set hlen(v: number) { this.buf[this.off + ArpField.HLEN] = v; }
  /** Protocol address length. */
  get plen(): number { return this.buf[this.off + ArpField.PLEN]!; }
  set plen(v: number) { this.buf[this.off + ArpField.PLEN] = v; }
  /** Operation (ArpOp). */
  get op(): number { return rd16(this.buf, this.off + ArpField.OPER); }
  set op(v: number) { wr16(this.buf, this.off + ArpField.OPER, v); }
  /** Absolute offset of the sender MAC (6 bytes) in `buf`. */
  get senderMacOff(): number { return this.off + ArpField.SHA; }
  /** Absolute offset of the target MAC (6 bytes) in `buf`. */
  get targetMacOff(): number { return this.off + ArpField.THA; }
  /** Sender IPv4 address (uint32). */
  get senderIp(): number { return rd32(this.buf, this.off + ArpField.SPA); }
  set senderIp(v: number) { wr32(this.buf, this.off + ArpField.SPA, v); }
  /** Target IPv4 address (uint32). */
  get targetIp(): number { return rd32(this.buf, this.off + ArpField.TPA); }
  set targetIp(v: number) { wr32(this.buf, this.off + ArpField.TPA, v); }

  /** Copy the sender MAC into `out` and return it. */
  senderMac(out: Uint8Array = new Uint8Array(6), outOff = 0): Uint8Array {
    copyMac(this.buf, this.off + ArpField.SHA, out, outOff);
    return out;
  }
  /** Copy the target MAC into `out` and return it. */
  targetMac(out: Uint8Array = new Uint8Array(6), outOff = 0): Uint8Array {
    copyMac(this.buf, this.off + ArpField.THA, out, outOff);
    return out;
  }
  /** Set the sender MAC from 6 bytes. */
  setSenderMac(mac: Uint8Array, macOff = 0): void {
    copyMac(mac, macOff, this.buf, this.off + ArpField.SHA);
  }
  /** Set the target MAC from 6 bytes. */
  setTargetMac(mac: Uint8Array, macOff = 0): void {
    copyMac(mac, macOff, this.buf, this.off + ArpField.THA);
  }
}

/**
 * Check an ARP packet: 0, `ArpTruncated` (< 28 bytes) or `ArpUnsupported` (not
 * Ethernet/IPv4 with 6/4 address lengths). Never throws.
 */
export function checkArp(buf: Uint8Array, off: number, len: number): number {
  if (len < ArpField.LEN || off < 0 || off + len > buf.length) return ParseReason.ArpTruncated;
  if (rd16(buf, off + ArpField.HTYPE) !== ARP_HTYPE_ETHERNET || rd16(buf, off + ArpField.PTYPE) !== EtherType.Ipv4 ||
    buf[off + ArpField.HLEN] !== 6 || buf[off + ArpField.PLEN] !== 4) {
    return ParseReason.ArpUnsupported;
  }
  return ParseReason.Ok;
}

/** The meaningful fields of an Ethernet/IPv4 ARP packet. */
export interface ArpRepr {
  op: number;
  senderMac: Uint8Array;
  senderIp: number;
  targetMac: Uint8Array;
  targetIp: number;
}

/** Write an ARP packet (28 bytes) at `off`; returns 28. */
export function emitArp(repr: ArpRepr, buf: Uint8Array, off: number): number {
  wr16(buf, off + ArpField.HTYPE, ARP_HTYPE_ETHERNET);
  wr16(buf, off + ArpField.PTYPE, EtherType.Ipv4);
  buf[off + ArpField.HLEN] = 6;
  buf[off + ArpField.PLEN] = 4;
  wr16(buf, off + ArpField.OPER, repr.op);
  copyMac(repr.senderMac, 0, buf, off + ArpField.SHA);
  wr32(buf, off + ArpField.SPA, repr.senderIp);
  copyMac(repr.targetMac, 0, buf, off + ArpField.THA);
  wr32(buf, off + ArpField.TPA, repr.targetIp);
  return ArpField.LEN;
}

/** Parse an ARP packet into a Repr, or null when it fails `checkArp`. */
export function parseArp(buf: Uint8Array, off: number, len: number): ArpRepr | null {
  if (checkArp(buf, off, len) !== 0) return null;
  const v = new ArpView(buf, off, len);
  return { op: v.op, senderMac: v.senderMac(), senderIp: v.senderIp, targetMac: v.targetMac(), targetIp: v.targetIp };
}

/** Length of an untagged Ethernet frame carrying ARP (14 + 28; no padding). */
export const ARP_FRAME_LEN = EthField.HEADER_LEN + ArpField.LEN;

/**
 * Write an ARP reply frame (Ethernet + ARP, 42 bytes) at `out[off]` answering a request
 * whose ARP part is at `req[reqArpOff]`: "targetIp is at `ourMac`". Returns 42.
 */
export function emitArpReply(out: Uint8Array, off: number, req: Uint8Array, reqArpOff: number, ourMac: Uint8Array): number {
  const a = off + EthField.HEADER_LEN;
  // Read what we need before writing, in case `out` and `req` overlap.
  const askedIp = rd32(req, reqArpOff + ArpField.TPA);
  const askerIp = rd32(req, reqArpOff + ArpField.SPA);
  copyMac(req, reqArpOff + ArpField.SHA, out, a + ArpField.THA);
  copyMac(out, a + ArpField.THA, out, off + EthField.DST);
  copyMac(ourMac, 0, out, off + EthField.SRC);
  wr16(out, off + EthField.ETHERTYPE, EtherType.Arp);
  wr16(out, a + ArpField.HTYPE, ARP_HTYPE_ETHERNET);
  wr16(out, a + ArpField.PTYPE, EtherType.Ipv4);
  out[a + ArpField.HLEN] = 6;
  out[a + ArpField.PLEN] = 4;
  wr16(out, a + ArpField.OPER, ArpOp.Reply);
  copyMac(ourMac, 0, out, a + ArpField.SHA);
  wr32(out, a + ArpField.SPA, askedIp);
  wr32(out, a + ArpField.TPA, askerIp);
  return ARP_FRAME_LEN;
}

/**
 * Write a gratuitous ARP frame (a broadcast request announcing `ip` is at `mac`; sender
 * and target IP are both `ip`) at `out[off]`. Returns 42.
 */
export function emitGratuitousArp(out: Uint8Array, off: number, mac: Uint8Array, ip: number): number {
  const h = emitEthernet({ dst: BROADCAST_MAC, src: mac, etherType: EtherType.Arp }, out, off);
  emitArp({ op: ArpOp.Request, senderMac: mac, senderIp: ip, targetMac: ZERO_MAC, targetIp: ip }, out, off + h);
  return ARP_FRAME_LEN;
}

/**
 * Write a broadcast ARP request frame asking who has `targetIp`, from `mac` / `senderIp`,
 * at `out[off]`. Returns 42.
 */
export function emitArpRequest(out: Uint8Array, off: number, mac: Uint8Array, senderIp: number, targetIp: number): number {
  const h = emitEthernet({ dst: BROADCAST_MAC, src: mac, etherType: EtherType.Arp }, out, off);
  emitArp({ op: ArpOp.Request, senderMac: mac, senderIp, targetMac: ZERO_MAC, targetIp }, out, off + h);
  return ARP_FRAME_LEN;
}

const ZERO_MAC = new Uint8Array(6);
