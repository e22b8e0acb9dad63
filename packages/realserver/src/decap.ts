import type { Link, PacketBatch } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import { CheckFlags, FrameInfo, FrameKind, Ipv4View, REASON_COUNT, classifyFrame, classifyIpv4, reasonName } from '@tunvs/packet';

/**
 * IPIP decapsulation for a real server (LVS-TUN without a kernel ipip module).
 *
 * The input link delivers captured frames (Ethernet on a `tap`-kind link such as a pcap
 * capture of a NIC, bare IPv4 on a `tun`-kind link). Each is parsed with @tunvs/packet's
 * `classifyFrame` (outer header: version, IHL, lengths, header checksum) and must be an
 * unfragmented IPv4 packet with protocol 4 to one of our addresses, whose payload parses
 * as a complete IPv4 packet (`classifyIpv4`); the inner packet is written, in place in
 * the receive slab, to the output TUN link, which hands it to the local stack. Nothing is
 * copied or allocated per packet; anything refused is counted under a named reason.
 *
 * ECN follows RFC 6040 decapsulation: an outer CE marks an ECN-capable inner packet CE
 * (header checksum updated incrementally); CE over a not-ECT inner packet is dropped.
 */

/** Why a captured packet was not decapsulated (one counter each). */
export const DecapDrop = {
  /** the outer frame does not parse (the reason is counted in `outer`) */
  outerMalformed: 'outerMalformed',
  /** a well-formed frame that is not IPv4 (ARP) */
  notIpv4: 'notIpv4',
  /** outer protocol is not 4 (IPIP) */
  notIpip: 'notIpip',
  /** outer packet is a fragment (no reassembly here) */
  fragment: 'fragment',
  /** outer destination is not one of the local addresses */
  notForUs: 'notForUs',
  /** the inner packet does not parse (the reason is counted in `inner`) */
  innerMalformed: 'innerMalformed',
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
  /** outer frames the parser refused, by ParseReason */
  readonly outer: Float64Array;
  /** inner packets the parser refused, by ParseReason */
  readonly inner: Float64Array;
}

/** A fresh set of counters (all zero). */
export function newDecapCounters(): DecapCounters {
  const c = {
    rxPackets: 0, decapsulated: 0, txPackets: 0, txDropped: 0, ecnMarked: 0,
    outer: new Float64Array(REASON_COUNT), inner: new Float64Array(REASON_COUNT),
  } as DecapCounters;
  for (const k of Object.values(DecapDrop)) c[k] = 0;
  return c;
}

/**
 * The counters as one flat object for logs and JSON: the totals, then every parser
 * reason that occurred as `outer.<reason>` / `inner.<reason>` (e.g. `outer.ipv4-bad-checksum`).
 */
export function decapCountersSnapshot(c: DecapCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (typeof v === 'number') out[k] = v;
  for (let i = 1; i < REASON_COUNT; i++) {
    if (c.outer[i]! > 0) out[`outer.${reasonName(i)}`] = c.outer[i]!;
    if (c.inner[i]! > 0) out[`inner.${reasonName(i)}`] = c.inner[i]!;
  }
  return out;
}

/** Options of a Decapsulator. */
export interface DecapOptions {
  /**
   * Outer destinations accepted, as uint32 (host order). Empty: accept any (use when the
   * capture is already limited to packets for this host).
   */
  localAddrs?: readonly number[];
}

/** ECN field values (the low 2 bits of the TOS byte). */
const ECN_NOT_ECT = 0;
const ECN_CE = 3;

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
  private readonly outerInfo = new FrameInfo();
  private readonly innerInfo = new FrameInfo();
  private readonly outerView = new Ipv4View();
  private readonly innerView = new Ipv4View();
  private out: PacketBatch = { buf: new Uint8Array(0), offsets: new Uint32Array(0), lengths: new Uint32Array(0), count: 0 };

  constructor(opts: DecapOptions = {}) {
    this.local = Uint32Array.from(opts.localAddrs ?? []);
  }

  /** Replace the accepted outer destinations (uint32); empty accepts any. */
  setLocalAddrs(addrs: readonly number[]): void {
    this.local = Uint32Array.from(addrs);
  }

  /**
   * Check one captured packet at `buf[off, off+len)`, an Ethernet frame (`kind` 'tap') or
   * a bare IPv4 packet ('tun'), and locate its inner packet in `innerOff`/`innerLen`. May
   * update the inner ECN bits in place. Counts the drop reason (not the success: the
   * caller counts what it forwards). Never throws on packet bytes.
   */
  decap(buf: Uint8Array, off: number, len: number, kind: Link['kind']): DecapResult {
    const c = this.counters;
    const o = this.outerInfo;
    const r = classifyFrame(buf, off, len, kind, o, CheckFlags.IpChecksum);
    if (r !== 0) {
      c.outer[r]!++;
      return this.drop(DecapDrop.outerMalformed);
    }
    if (o.kind !== FrameKind.Ipv4) return this.drop(DecapDrop.notIpv4);
    if (o.proto !== Proto.IPIP) return this.drop(DecapDrop.notIpip);
    if (o.fragment) return this.drop(DecapDrop.fragment);
    const loc = this.local;
    if (loc.length > 0) {
      let found = false;
      for (let i = 0; i < loc.length; i++) {
        if (loc[i] === o.dst) {
          found = true;
          break;
        }
      }
      if (!found) return this.drop(DecapDrop.notForUs);
    }
    const n = this.innerInfo;
    // the stack of this host checks the inner header checksum itself
    const ri = classifyIpv4(buf, o.l4Off, o.l4Len, n, CheckFlags.None);
    if (ri !== 0) {
      c.inner[ri]!++;
      return this.drop(DecapDrop.innerMalformed);
    }
    // RFC 6040 section 4.2: outer CE -> inner CE if ECN-capable; drop if not-ECT.
    if (this.outerView.reset(buf, o.l3Off, o.ipHeaderLen).ecn === ECN_CE) {
      const iv = this.innerView.reset(buf, n.l3Off, n.ipHeaderLen);
      const iecn = iv.ecn;
      if (iecn === ECN_NOT_ECT) return this.drop(DecapDrop.ecnDrop);
      if (iecn !== ECN_CE) {
        iv.setTosCsum(iv.tos | ECN_CE);
        c.ecnMarked++;
      }
    }
    this.innerOff = n.l3Off;
    this.innerLen = n.ipTotalLen;
    return 0;
  }

  /**
   * Decapsulate every packet of `batch` (captured on a link of kind `inputKind`) and write
   * the inner packets to `output` in one `writeBatch`, in place in the batch's slab.
   * Returns how many the output accepted.
   */
  processBatch(batch: PacketBatch, inputKind: Link['kind'], inputVnetHdrLen: number, output: Link): number {
    const c = this.counters;
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
      if (this.decap(buf, off, len, inputKind) !== 0) continue;
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
