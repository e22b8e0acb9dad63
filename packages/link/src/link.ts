/**
 * The one interface between the engine and a packet device.
 *
 * A Link delivers received packets in batches: one slab (`buf`) plus the offset and
 * length of each packet in it. The engine parses and rewrites packets in place in that
 * slab and hands (possibly the same) slab back to `writeBatch`. A batch is only valid
 * during the `onBatch` callback: the link reuses the slab for the next read.
 *
 * On a TUN link a packet starts with the IPv4 header; on a TAP link with the Ethernet
 * header. When the link was opened with a vnet header (`vnetHdrLen > 0`), every packet in
 * both directions starts with that many bytes of `struct virtio_net_hdr` before the
 * IP/Ethernet header (see @tunvs/tuntap for the layout); offsets and lengths include it.
 */

import { doubleCounters } from '@tunvs/model';

/** `tun`: layer 3 (IP packets); `tap`: layer 2 (Ethernet frames). */
export type LinkKind = 'tun' | 'tap';

/** A batch of packets in one slab. `count` entries of `offsets`/`lengths` are valid. */
export interface PacketBatch {
  buf: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  count: number;
}

/** Counters every link keeps; never reset by the link itself. */
export interface LinkCounters {
  rxPackets: number;
  rxBytes: number;
  rxBatches: number;
  txPackets: number;
  txBytes: number;
  /** packets the kernel would not take (EAGAIN/ENOBUFS after retrying) */
  txDropped: number;
  /** write errors other than a full queue (EMSGSIZE, EINVAL, ...) */
  txErrors: number;
  /** read errors other than EAGAIN */
  rxErrors: number;
}

export interface Link {
  readonly kind: LinkKind;
  /** interface name, for logs */
  readonly name: string;
  /** largest packet (IP packet on tun, Ethernet payload on tap) the link carries */
  readonly mtu: number;
  /** bytes of virtio_net_hdr before each packet, 0 without IFF_VNET_HDR */
  readonly vnetHdrLen: number;
  readonly counters: LinkCounters;
  /**
   * Set the receive handler and start reading. Called once per batch; the batch is only
   * valid during the call.
   */
  onBatch(handler: (batch: PacketBatch) => void): void;
  /**
   * Write `batch.count` packets. Returns how many were written; the rest could not be
   * (queue full after retrying, or an error) and are counted in `txDropped`/`txErrors`.
   */
  writeBatch(batch: PacketBatch): number;
  /** Stop reading and release the device. Idempotent. */
  close(): void;
}

/** The names of a link's counters, in listing order (a link may serve them through getters). */
export const LINK_COUNTER_NAMES: readonly (keyof LinkCounters)[] = [
  'rxPackets',
  'rxBytes',
  'rxBatches',
  'txPackets',
  'txBytes',
  'txDropped',
  'txErrors',
  'rxErrors',
];

/** A fresh counters object (double fields: `doubleCounters` of @tunvs/model). */
export function newLinkCounters(): LinkCounters {
  const c: LinkCounters = {
    rxPackets: 0,
    rxBytes: 0,
    rxBatches: 0,
    txPackets: 0,
    txBytes: 0,
    txDropped: 0,
    txErrors: 0,
    rxErrors: 0,
  };
  doubleCounters(c);
  return c;
}

/** Allocate an empty batch able to hold `maxPackets` packets in a slab of `slabBytes`. */
export function allocBatch(maxPackets: number, slabBytes: number): PacketBatch {
  return {
    buf: new Uint8Array(slabBytes),
    offsets: new Uint32Array(maxPackets),
    lengths: new Uint32Array(maxPackets),
    count: 0,
  };
}
