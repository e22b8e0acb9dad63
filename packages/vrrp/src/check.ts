/**
 * What keepalived 2.2.7 checks when an advert arrives (vrrp_check_packet()), in its order,
 * and which of its counters each failure bumps. The input is the IPv4 datagram as a raw
 * socket delivers it (header included, no Ethernet padding).
 *
 *   1  an AH header iff auth_type AH                  authtype_mismatch
 *   2  length = IP header (+AH) + VRRP length for the advert's own address count
 *                                                     packet_len_err
 *   3  TTL 255, unless the instance is unicast         ip_ttl_err
 *   4  version = ours                                  version_err (keepalived: log only)
 *   5  v2: auth type 0/1/2, = ours, PASS matches       invalid_authtype, authtype_mismatch, auth_failure
 *   6  v2: Adver Int = ours, else the advert is DROPPED
 *                                                     advert_interval_err
 *   7  type 1                                          invalid_type_rcvd
 *   8  address count = ours (2.2.7)                    addr_list_err
 *   9  IP total length = bytes received                packet_len_err
 *  10  checksum (v2 message; v3 with pseudo-header unless v3_checksum_as_v2)
 *                                                     chk_err
 *  11  multicast destination iff not unicast          addr_list_err
 *      -> counted as advert_rcvd
 *  12  every VIP of ours present (unless skip_check_adv_addr and same master)
 *                                                     addr_list_err
 *  13  check_unicast_src: the source is a unicast_peer  unicast_src_err
 *  14  (priority 0 is counted: pri_zero_rcvd)
 */
import { IPV4_HEADER_LEN, Ipv4Field, rd16, rd32 } from '@tunvs/packet';
import { IPPROTO_AH, IPPROTO_VRRP, VRRP_TTL, VRRP_TYPE_ADVERT, VrrpAuth, VrrpField, parseVrrp, verifyVrrpChecksum, vrrpLength } from './wire.js';
import type { VrrpRepr } from './wire.js';

/** Why an advert was discarded; the names are keepalived's stats keys where it has one. */
export const DiscardReason = {
  /** not even an IPv4 VRRP datagram (too short for the headers, not protocol 112/51) */
  Malformed: 'malformed',
  AuthtypeMismatch: 'authtype_mismatch',
  PacketLen: 'packet_len_err',
  IpTtl: 'ip_ttl_err',
  Version: 'version_err',
  InvalidAuthtype: 'invalid_authtype',
  AuthFailure: 'auth_failure',
  AdvertInterval: 'advert_interval_err',
  InvalidType: 'invalid_type_rcvd',
  AddrList: 'addr_list_err',
  Checksum: 'chk_err',
  UnicastSrc: 'unicast_src_err',
  /** a VRID no instance on that interface has (keepalived ignores them silently) */
  UnknownVrid: 'unknown_vrid',
  /** our own advert looped back */
  OwnAdvert: 'own_advert',
  /** a valid advert of a lower priority, discarded while we take over (preempt) */
  LowerPriority: 'lower_priority_preempt',
} as const;

/** One of the discard reasons. */
export type DiscardReasonName = (typeof DiscardReason)[keyof typeof DiscardReason];

/** What an instance expects of the adverts for its VRID. */
export interface RxExpect {
  version: 2 | 3;
  /** 0 none, 1 PASS, 2 AH */
  authType: number;
  /** the 8 PASS bytes */
  authData: Uint8Array;
  /** our advert interval in µs (v2: must match the advert's) */
  adverIntUs: number;
  /** our advertised VIPs */
  vips: readonly number[];
  /** unicast peers configured (TTL not checked; unicast destination expected) */
  unicast: boolean;
  /** the configured peers (for check_unicast_src) */
  peers: readonly number[];
  checkUnicastSrc: boolean;
  /** v3 checksum without the pseudo-header */
  v3ChecksumAsV2: boolean;
  /** skip the VIP check (skip_check_adv_addr and the advert comes from the current master) */
  skipVipCheck: boolean;
}

/** An advert that passed the checks. */
export interface ValidAdvert {
  repr: VrrpRepr;
  src: number;
  dst: number;
  ttl: number;
}

/** The outcome of checking one datagram for one instance. */
export type CheckResult =
  | { ok: true; advert: ValidAdvert; counted: true }
  | {
      ok: false;
      reason: DiscardReasonName;
      /** keepalived's wording */
      detail: string;
      /** true when keepalived drops it silently rather than counting it (interval mismatch) */
      drop: boolean;
      /** true when keepalived had already counted it as advert_rcvd */
      counted: boolean;
    };

function ko(reason: DiscardReasonName, detail: string, drop = false, counted = false): CheckResult {
  return { ok: false, reason, detail, drop, counted };
}

/** Where the VRRP message starts in a datagram (after IP and AH headers), or -1. */
export function vrrpOffset(buf: Uint8Array, off: number, len: number): number {
  if (len < IPV4_HEADER_LEN || buf[off]! >>> 4 !== 4) return -1;
  const ihl = (buf[off]! & 0x0f) * 4;
  if (ihl < IPV4_HEADER_LEN || len < ihl) return -1;
  const proto = buf[off + Ipv4Field.PROTOCOL]!;
  if (proto === IPPROTO_VRRP) return ihl;
  if (proto === IPPROTO_AH) return ihl + 24 <= len ? ihl + 24 : -1;
  return -1;
}

/** The VRID of a datagram (for demultiplexing before the checks), or -1. */
export function datagramVrid(buf: Uint8Array, off: number, len: number): number {
  const v = vrrpOffset(buf, off, len);
  if (v < 0 || len < v + VrrpField.HEADER_LEN) return -1;
  return buf[off + v + VrrpField.VRID]!;
}

function isMulticast(a: number): boolean {
  return a >>> 28 === 0xe;
}

const fmt = (a: number): string => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

/** Run keepalived's receive checks on one datagram for one instance. */
export function checkAdvert(buf: Uint8Array, off: number, len: number, exp: RxExpect): CheckResult {
  const vo = vrrpOffset(buf, off, len);
  if (vo < 0 || len < vo + VrrpField.HEADER_LEN) return ko(DiscardReason.Malformed, 'not a VRRP datagram, or shorter than its headers');
  const proto = buf[off + Ipv4Field.PROTOCOL]!;
  const src = rd32(buf, off + Ipv4Field.SRC);
  const dst = rd32(buf, off + Ipv4Field.DST);
  const ttl = buf[off + Ipv4Field.TTL]!;
  const h = off + vo;
  const ver = buf[h]! >>> 4;
  const count = buf[h + VrrpField.COUNT]!;

  // 1: AH header iff AH authentication
  if ((proto === IPPROTO_AH) !== (exp.authType === VrrpAuth.Ah)) {
    return ko(DiscardReason.AuthtypeMismatch, proto === IPPROTO_AH ? 'Received AH header but auth type not AH' : 'No AH header but auth type is AH');
  }
  // 2: the whole VRRP message for the advert's own count must be there, and nothing more
  const vlen = vrrpLength(ver === 2 ? 2 : 3, count);
  const expected = vo + vlen;
  if (len !== expected) {
    return ko(DiscardReason.PacketLen, `vrrp packet too ${len > expected ? 'long' : 'short'}, length ${len} and expect ${expected}`);
  }
  // 3: TTL
  if (!exp.unicast && ttl !== VRRP_TTL) return ko(DiscardReason.IpTtl, `invalid TTL/HL. Received ${ttl} and expect ${VRRP_TTL}`);
  // 4: version
  if (ver !== exp.version) return ko(DiscardReason.Version, `wrong version. Received ${ver} and expect ${exp.version}`);
  // 5, 6: v2 authentication and interval
  if (ver === 2) {
    const at = buf[h + VrrpField.AUTH_TYPE]!;
    if (at !== VrrpAuth.None && at !== VrrpAuth.Pass && at !== VrrpAuth.Ah) return ko(DiscardReason.InvalidAuthtype, `Invalid auth type: ${at}`);
    if (at !== exp.authType) return ko(DiscardReason.AuthtypeMismatch, `received a ${at} auth, expecting ${exp.authType}!`);
    if (at === VrrpAuth.Pass) {
      const p = h + VrrpField.ADDRS + 4 * count;
      let diff = 0;
      for (let i = 0; i < VrrpField.AUTH_LEN; i++) diff |= buf[p + i]! ^ (exp.authData[i] ?? 0);
      if (diff !== 0) return ko(DiscardReason.AuthFailure, 'received an invalid passwd!');
    }
    const ai = buf[h + VrrpField.ADVER_INT_V2]!;
    if (ai * 1_000_000 !== exp.adverIntUs) {
      return ko(DiscardReason.AdvertInterval, `advertisement interval mismatch mine=${Math.floor(exp.adverIntUs / 1_000_000)} sec rcv'd=${ai} sec`, true);
    }
  }
  // 7: type
  const type = buf[h]! & 0x0f;
  if (type !== VRRP_TYPE_ADVERT) return ko(DiscardReason.InvalidType, `Invalid packet type. ${type} and expect ${VRRP_TYPE_ADVERT}`);
  // 8: count
  if (count !== exp.vips.length) return ko(DiscardReason.AddrList, `received an unexpected ip number count ${count}, expected ${exp.vips.length}!`);
  // 9: IP total length
  const tot = rd16(buf, off + Ipv4Field.TOTAL_LEN);
  if (tot !== len) return ko(DiscardReason.PacketLen, `ip_tot_len mismatch against received length. ${tot} and received ${len}`);
  // 10: checksum
  const pseudo = ver === 3 && !exp.v3ChecksumAsV2 ? { src, dst } : null;
  if (!verifyVrrpChecksum(buf, h, vlen, pseudo)) return ko(DiscardReason.Checksum, `Invalid VRRPv${ver} checksum`);
  // 11: multicast iff not unicast
  if (isMulticast(dst) === exp.unicast) {
    return ko(DiscardReason.AddrList, `Expected ${exp.unicast ? 'un' : 'mult'}icast packet but received ${exp.unicast ? 'mult' : 'un'}icast packet`);
  }
  const repr = parseVrrp(buf, h, vlen)!;
  // 12: our VIPs present (counted as received from here on)
  if (!exp.skipVipCheck) {
    for (const v of exp.vips) {
      if (!repr.addrs.includes(v)) return ko(DiscardReason.AddrList, `ip address associated with VRID ${repr.vrid} not present in MASTER advert : ${fmt(v)}`, false, true);
    }
  }
  // 13: unicast source
  if (exp.checkUnicastSrc && exp.unicast && !exp.peers.includes(src)) {
    return ko(DiscardReason.UnicastSrc, `unicast source address ${fmt(src)} not a unicast peer`, false, true);
  }
  return { ok: true, advert: { repr, src, dst, ttl }, counted: true };
}
