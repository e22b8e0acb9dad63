/**
 * The datagrams one advert of an instance becomes: one to 224.0.0.18, or one per unicast
 * peer (the same IP id; the v3 checksum follows each destination), as keepalived's
 * vrrp_send_adv() does.
 */
import { adverIntField } from './timers.js';
import type { InstanceSpec } from './types.js';
import { VRRP_MCAST_GROUP, VRRP_TTL, VRRP_TYPE_ADVERT, emitAdvertDatagram } from './wire.js';

/** Build the datagrams of one advert with `priority` from `src`. */
export function buildAdvert(spec: InstanceSpec, priority: number, src: number, ipId: number, unicastTtl = VRRP_TTL): { dst: number; datagram: Uint8Array }[] {
  const dsts = spec.unicastPeers.length > 0 ? spec.unicastPeers : [VRRP_MCAST_GROUP];
  const ttl = spec.unicastPeers.length > 0 ? unicastTtl : VRRP_TTL;
  return dsts.map((dst) => ({
    dst,
    datagram: emitAdvertDatagram(
      {
        version: spec.version,
        type: VRRP_TYPE_ADVERT,
        vrid: spec.vrid,
        priority,
        addrs: spec.vips,
        adverInt: adverIntField(spec.version, spec.adverIntUs),
        authType: spec.version === 2 ? spec.authType : 0,
        authData: spec.version === 2 ? spec.authData : new Uint8Array(0),
        reserved: 0,
        checksum: 0,
      },
      { src, dst, id: ipId, ttl },
      { asV2: spec.v3ChecksumAsV2 },
    ),
  }));
}
