/**
 * The whole-frame classifier for untrusted input: Ethernet (+ one VLAN tag) -> ARP or
 * IPv4 -> TCP/UDP/ICMP, returning 0 or a `ParseReason`, and filling a reusable
 * `FrameInfo` with the offsets the engine needs next. Never throws, never allocates.
 */
import { Proto } from '@tunvs/model';
import { rd16 } from './bytes.js';
import { checkArp } from './arp.js';
import { EthField, EtherType } from './ethernet.js';
import { checkIcmp } from './icmp.js';
import { checkIpv4, Ipv4Field, Ipv4Flag } from './ipv4.js';
import { CheckFlags, ParseReason } from './reason.js';
import { checkTcp, TcpField } from './tcp.js';
import { checkUdp, UdpField } from './udp.js';
import { IcmpField } from './icmp.js';

/** What a classified frame is. */
export const FrameKind = {
  None: 0,
  Ipv4: 1,
  Arp: 2,
} as const;

/** Offsets and facts about the last classified frame; reuse one instance per loop. */
export class FrameInfo {
  /** FrameKind of the frame (None when classification failed) */
  kind = 0;
  /** EtherType of the payload (0x0800 on tun) */
  etherType = 0;
  /** VLAN id, or -1 when untagged (always -1 on tun) */
  vlanId = -1;
  /** absolute offset of the ARP packet or IPv4 header */
  l3Off = 0;
  /** IPv4 header length */
  ipHeaderLen = 0;
  /** IPv4 total length (may be less than the frame: padding) */
  ipTotalLen = 0;
  /** IP protocol */
  proto = 0;
  /** absolute offset of the L4 header, or -1 (non-first fragment) */
  l4Off = -1;
  /** bytes from the L4 header to the end of the IP datagram (this fragment) */
  l4Len = 0;
  /** MF set or fragment offset non-zero */
  fragment = false;

  /** Clear every field. */
  clear(): void {
    this.kind = FrameKind.None;
    this.etherType = 0;
    this.vlanId = -1;
    this.l3Off = 0;
    this.ipHeaderLen = 0;
    this.ipTotalLen = 0;
    this.proto = 0;
    this.l4Off = -1;
    this.l4Len = 0;
    this.fragment = false;
  }
}

const scratch = new FrameInfo();

/**
 * Classify `buf[off, off+len)`: an Ethernet frame (`layer` 'tap') or an IPv4 packet
 * ('tun'). Returns 0 when the frame is a well-formed ARP or IPv4 packet (any IP
 * protocol; TCP/UDP/ICMP headers checked; non-first fragments carry no L4 header, first
 * fragments must hold the whole L4 header) or a `ParseReason`. `flags` (CheckFlags)
 * selects checksum verification: by default the IPv4 header checksum only. `info`, if
 * given, is filled in.
 */
export function classifyFrame(
  buf: Uint8Array, off: number, len: number, layer: 'tun' | 'tap',
  info: FrameInfo = scratch, flags: number = CheckFlags.IpChecksum,
): number {
  info.clear();
  if (off < 0 || len < 0 || off + len > buf.length) {
    return layer === 'tap' ? ParseReason.EthTruncated : ParseReason.Ipv4Truncated;
  }
  let ip = off;
  let ipLen = len;
  if (layer === 'tap') {
    if (len < EthField.HEADER_LEN) return ParseReason.EthTruncated;
    let et = rd16(buf, off + EthField.ETHERTYPE);
    let hl: number = EthField.HEADER_LEN;
    if (et === EtherType.Vlan || et === EtherType.QinQ) {
      if (len < EthField.VLAN_HEADER_LEN) return ParseReason.VlanTruncated;
      info.vlanId = rd16(buf, off + EthField.VLAN_TCI) & 0xfff;
      et = rd16(buf, off + EthField.VLAN_ETHERTYPE);
      hl = EthField.VLAN_HEADER_LEN;
    }
    info.etherType = et;
    ip = off + hl;
    ipLen = len - hl;
    if (et === EtherType.Arp) {
      const r = checkArp(buf, ip, ipLen);
      if (r !== 0) return r;
      info.kind = FrameKind.Arp;
      info.l3Off = ip;
      return ParseReason.Ok;
    }
    if (et === EtherType.Ipv6) return ParseReason.Ipv6Unsupported;
    if (et !== EtherType.Ipv4) return ParseReason.EtherTypeUnsupported;
  } else {
    info.etherType = EtherType.Ipv4;
  }
  const r = checkIpv4(buf, ip, ipLen, flags);
  if (r !== 0) return r;
  const hl = (buf[ip]! & 0xf) << 2;
  const total = rd16(buf, ip + Ipv4Field.TOTAL_LEN);
  const ff = rd16(buf, ip + Ipv4Field.FLAGS_FRAG);
  const proto = buf[ip + Ipv4Field.PROTOCOL]!;
  info.l3Off = ip;
  info.ipHeaderLen = hl;
  info.ipTotalLen = total;
  info.proto = proto;
  const fragment = (ff & (Ipv4Flag.MF | Ipv4Flag.OffsetMask)) !== 0;
  info.fragment = fragment;
  if ((ff & Ipv4Flag.OffsetMask) !== 0) {
    // A later fragment: valid, but it carries no L4 header.
    info.kind = FrameKind.Ipv4;
    return ParseReason.Ok;
  }
  const l4 = ip + hl;
  const l4Len = total - hl;
  info.l4Off = l4;
  info.l4Len = l4Len;
  let r4: number = ParseReason.Ok;
  if (fragment) {
    // First fragment: the L4 header must be complete here (RFC 1858); the checksum and
    // UDP length cover the whole datagram and cannot be checked.
    if (proto === Proto.TCP) {
      r4 = l4Len < TcpField.HEADER_LEN ? ParseReason.FirstFragmentTruncated : checkTcp(buf, l4, l4Len);
    } else if (proto === Proto.UDP) {
      r4 = l4Len < UdpField.HEADER_LEN ? ParseReason.FirstFragmentTruncated : checkUdp(buf, l4, l4Len, 0, 0, 0, true);
    } else if (proto === Proto.ICMP) {
      r4 = l4Len < IcmpField.HEADER_LEN ? ParseReason.FirstFragmentTruncated : checkIcmp(buf, l4, l4Len, 0, true);
    }
  } else if (proto === Proto.TCP || proto === Proto.UDP) {
    let src = 0;
    let dst = 0;
    if ((flags & CheckFlags.L4Checksum) !== 0) {
      src = ((buf[ip + 12]! << 24) | (buf[ip + 13]! << 16) | (buf[ip + 14]! << 8) | buf[ip + 15]!) >>> 0;
      dst = ((buf[ip + 16]! << 24) | (buf[ip + 17]! << 16) | (buf[ip + 18]! << 8) | buf[ip + 19]!) >>> 0;
    }
    r4 = proto === Proto.TCP ? checkTcp(buf, l4, l4Len, flags, src, dst) : checkUdp(buf, l4, l4Len, flags, src, dst, false);
  } else if (proto === Proto.ICMP) {
    r4 = checkIcmp(buf, l4, l4Len, flags);
  }
  if (r4 !== 0) return r4;
  info.kind = FrameKind.Ipv4;
  return ParseReason.Ok;
}
