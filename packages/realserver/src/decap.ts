import type { Link, PacketBatch } from '@tunvs/link';

/**
 * IPIP decapsulation for a real server (LVS-TUN without a kernel ipip module).
 *
 * The input link delivers captured frames (Ethernet on a `tap`-kind link such as a pcap
 * capture of a NIC, bare IPv4 on a `tun`-kind link). Each one must be an IPv4 packet with
 * protocol 4 whose payload is a complete IPv4 packet; the outer header is checked (version,
 * IHL, total length, header checksum, protocol, no fragment, destination one of ours) and
 * the inner packet is written, in place in the receive slab, to the output TUN link, which
 * hands it to the local stack. Nothing is copied or allocated per packet; anything
 * malformed is dropped and counted under a named reason.
 *
 * ECN follows RFC 6040 decapsulation: an outer CE marks an ECN-capable inner packet CE
 * (header checksum updated incrementally); CE over a not-ECT inner packet is dropped.
 */

/** Why a captured packet was not decapsulated (one counter each). */
export const DecapDrop = {
  /** shorter than the link header + 20 bytes */
  tooShort: 'tooShort',
  /** Ethernet frame that is not IPv4 (ethertype) */
  notIpv4: 'notIpv4',
  /** outer IP version is not 4 */
  badVersion: 'badVersion',
  /** outer IHL < 5 or beyond the captured bytes */
  badIhl: 'badIhl',
  /** outer total length shorter than its header or longer than the captured bytes */
  badTotalLength: 'badTotalLength',
  /** outer header checksum wrong */
  badChecksum: 'badChecksum',
  /** outer protocol is not 4 (IPIP) */
  notIpip: 'notIpip',
  /** outer packet is a fragment (no reassembly here) */
  fragment: 'fragment',
  /** outer destination is not one of the local addresses */
  notForUs: 'notForUs',
  /** inner packet shorter than 20 bytes */
  innerTooShort: 'innerTooShort',
  /** inner IP version is not 4 */
  innerBadVersion: 'innerBadVersion',
  /** inner IHL < 5 or beyond the outer payload */
  innerBadIhl: 'innerBadIhl',
  /** inner total length shorter than its header or longer than the outer payload */
  innerBadTotalLength: 'innerBadTotalLength',
  /** outer CE over a not-ECT inner packet (RFC 6040: drop) */
  ecnDrop: 'ecnDrop',
} as const;
/** A drop reason name. */
export type DecapDropReason = (typeof DecapDrop)[keyof typeof DecapDrop];

/** Counters of a Decapsulator; never reset by it. */
export interface DecapCounters extends Record<DecapDropReason, number> {
  /** packets seen on the input link */
  rxPackets: number;
  /** inner packets handed to the output link */
  decapsulated: number;
  /** inner packets the output link accepted */
  txPackets: number;
  /** inner packets the output link refused (queue full or error) */
  txDropped: number;
  /** inner packets whose ECN field was set to CE from the outer header */
  ecnMarked: number;
}

/** A fresh set of counters (all zero). */
export function newDecapCounters(): DecapCounters {
  const c = { rxPackets: 0, decapsulated: 0, txPackets: 0, txDropped: 0, ecnMarked: 0 } as DecapCounters;
  for (const k of Object.values(DecapDrop)) c[k] = 0;
  return c;
}

/** Options of a Decapsulator. */
export interface DecapOptions {
  /**
   * Outer destinations accepted, as uint32 (host order). Empty: accept any (use when the
   * capture is already limited to packets for this host).
   */
  localAddrs?: readonly number[];
}

const ETH_HLEN = 14;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const IPPROTO_IPIP = 4;

/** The result of `Decapsulator.decap`: 0 when the packet was decapsulated, else a reason. */
export type DecapResult = 0 | DecapDropReason;

/** Turns captured IPIP packets into inner IPv4 packets for a TUN link. */
export class Decapsulator {
  /** counters, see DecapCounters */
  readonly counters: DecapCounters = newDecapCounters();
  /** offset of the inner packet after a successful `decap` */
  innerOff = 0;
  /** length of the inner packet after a successful `decap` */
  innerLen = 0;
  private local: Uint32Array;
  private out: PacketBatch = { buf: new Uint8Array(0), offsets: new Uint32Array(0), lengths: new Uint32Array(0), count: 0 };

  constructor(opts: DecapOptions = {}) {
    this.local = Uint32Array.from(opts.localAddrs ?? []);
  }

  /** Replace the accepted outer destinations (uint32); empty accepts any. */
  setLocalAddrs(addrs: readonly number[]): void {
    this.local = Uint32Array.from(addrs);
  }

  /**
   * Check one captured packet at `buf[off, off+len)` with `l2` link-header bytes
   * (14 for Ethernet; VLAN tags are skipped; 0 for bare IP) and locate its inner packet in
   * `innerOff`/`innerLen`. May update the inner ECN bits in place. Counts the drop reason
   * (not the success: the caller counts what it forwards). Never throws on packet bytes.
   */
  decap(buf: Uint8Array, off: number, len: number, l2: number): DecapResult {
    const c = this.counters;
    if (l2 === ETH_HLEN) {
      if (len < ETH_HLEN + 20) return this.drop(DecapDrop.tooShort);
      let type = (buf[off + 12]! << 8) | buf[off + 13]!;
      if (type === ETHERTYPE_VLAN) {
        l2 += 4;
        if (len < l2 + 20) return this.drop(DecapDrop.tooShort);
        type = (buf[off + 16]! << 8) | buf[off + 17]!;
      }
      if (type !== ETHERTYPE_IPV4) return this.drop(DecapDrop.notIpv4);
    } else if (len < l2 + 20) return this.drop(DecapDrop.tooShort);

    const o = off + l2;
    const avail = len - l2;
    const vihl = buf[o]!;
    if (vihl >> 4 !== 4) return this.drop(DecapDrop.badVersion);
    const hl = (vihl & 0x0f) << 2;
    if (hl < 20 || hl > avail) return this.drop(DecapDrop.badIhl);
    const tot = (buf[o + 2]! << 8) | buf[o + 3]!;
    // Trailing bytes beyond the total length (Ethernet padding) are ignored.
    if (tot < hl || tot > avail) return this.drop(DecapDrop.badTotalLength);
    if (headerSum(buf, o, hl) !== 0xffff) return this.drop(DecapDrop.badChecksum);
    if (buf[o + 9] !== IPPROTO_IPIP) return this.drop(DecapDrop.notIpip);
    if (((buf[o + 6]! & 0x3f) | buf[o + 7]!) !== 0) return this.drop(DecapDrop.fragment);
    const loc = this.local;
    if (loc.length > 0) {
      const dst = ((buf[o + 16]! << 24) | (buf[o + 17]! << 16) | (buf[o + 18]! << 8) | buf[o + 19]!) >>> 0;
      let found = false;
      for (let i = 0; i < loc.length; i++) {
        if (loc[i] === dst) {
          found = true;
          break;
        }
      }
      if (!found) return this.drop(DecapDrop.notForUs);
    }

    const i = o + hl;
    const iavail = tot - hl;
    if (iavail < 20) return this.drop(DecapDrop.innerTooShort);
    const ivihl = buf[i]!;
    if (ivihl >> 4 !== 4) return this.drop(DecapDrop.innerBadVersion);
    const ihl = (ivihl & 0x0f) << 2;
    if (ihl < 20 || ihl > iavail) return this.drop(DecapDrop.innerBadIhl);
    const itot = (buf[i + 2]! << 8) | buf[i + 3]!;
    if (itot < ihl || itot > iavail) return this.drop(DecapDrop.innerBadTotalLength);

    // RFC 6040 §4.2: outer CE -> inner CE if ECN-capable; drop if not-ECT.
    if ((buf[o + 1]! & 3) === 3) {
      const itos = buf[i + 1]!;
      const iecn = itos & 3;
      if (iecn === 0) return this.drop(DecapDrop.ecnDrop);
      if (iecn !== 3) {
        // RFC 1624: HC' = ~(~HC + ~m + m') on the 16-bit word holding version/IHL/TOS.
        const oldWord = (ivihl << 8) | itos;
        const newWord = oldWord | 3;
        buf[i + 1] = itos | 3;
        let s = (~((buf[i + 10]! << 8) | buf[i + 11]!) & 0xffff) + (~oldWord & 0xffff) + newWord;
        s = (s & 0xffff) + (s >>> 16);
        s = (s & 0xffff) + (s >>> 16);
        const ck = ~s & 0xffff;
        buf[i + 10] = ck >>> 8;
        buf[i + 11] = ck & 0xff;
        c.ecnMarked++;
      }
    }
    this.innerOff = i;
    this.innerLen = itot;
    return 0;
  }

  /**
   * Decapsulate every packet of `batch` (captured on a link of kind `inputKind`) and write
   * the inner packets to `output` in one `writeBatch`, in place in the batch's slab.
   * Returns how many the output accepted.
   */
  processBatch(batch: PacketBatch, inputKind: Link['kind'], inputVnetHdrLen: number, output: Link): number {
    const c = this.counters;
    const l2 = inputKind === 'tap' ? ETH_HLEN : 0;
    const vh = output.vnetHdrLen;
    let out = this.out;
    if (out.offsets.length < batch.count) {
      // Grows once to the largest batch seen; not per packet.
      out = this.out = { buf: batch.buf, offsets: new Uint32Array(batch.count), lengths: new Uint32Array(batch.count), count: 0 };
    }
    out.buf = batch.buf;
    let n = 0;
    const buf = batch.buf;
    for (let k = 0; k < batch.count; k++) {
      c.rxPackets++;
      const off = batch.offsets[k]! + inputVnetHdrLen;
      const len = batch.lengths[k]! - inputVnetHdrLen;
      if (this.decap(buf, off, len, l2) !== 0) continue;
      let start = this.innerOff;
      let plen = this.innerLen;
      if (vh > 0) {
        // The outer header (>= 20 bytes) sits before the inner packet: room for a zeroed
        // virtio_net_hdr (no offload requested).
        start -= vh;
        plen += vh;
        buf.fill(0, start, start + vh);
      }
      out.offsets[n] = start;
      out.lengths[n] = plen;
      n++;
    }
    out.count = n;
    c.decapsulated += n;
    if (n === 0) return 0;
    const w = output.writeBatch(out);
    c.txPackets += w;
    c.txDropped += n - w;
    return w;
  }

  /**
   * Wire `input` to `output`: every batch read from `input` is decapsulated into
   * `output`. Packets the kernel sends out of `output` (if any) are read and discarded.
   */
  attach(input: Link, output: Link): void {
    input.onBatch((b) => {
      this.processBatch(b, input.kind, input.vnetHdrLen, output);
    });
    output.onBatch(() => {
      /* nothing to do with packets the stack routes into the TUN */
    });
  }

  private drop(r: DecapDropReason): DecapDropReason {
    this.counters[r]++;
    return r;
  }
}

/** Ones' complement sum (folded, not complemented) of an IPv4 header: 0xffff when valid. */
function headerSum(buf: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let j = 0; j < len; j += 2) s += (buf[off + j]! << 8) | buf[off + j + 1]!;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}
