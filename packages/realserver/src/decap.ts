import type { Link, PacketBatch } from '@tunvs/link';
import { Proto } from '@tunvs/model';
import {
  CheckFlags, FrameInfo, FrameKind, Ipv4View, REASON_COUNT, TcpField, UDP_HEADER_LEN, UdpField, classifyFrame, classifyIpv4,
  TunnelHeaderError, csumPartial, gueRemcsum, parseGreHeader, parseGueHeader, rd16, reasonName, wr16,
} from '@tunvs/packet';

/**
 * IPIP, GUE and GRE decapsulation for a real server (LVS-TUN without kernel ipip, fou or
 * gre modules): ipvsadm's `--tun-type ipip|gue|gre`.
 *
 * The input link delivers captured frames (Ethernet on a `tap`-kind link such as a pcap
 * capture of a NIC, bare IPv4 on a `tun`-kind link). Each is parsed with @tunvs/packet's
 * `classifyFrame` (outer header: version, IHL, lengths, header checksum) and must be an
 * unfragmented IPv4 packet to one of our addresses carrying a tunnel: protocol 4 (IPIP),
 * protocol 47 with a GRE header as IPVS sends it (`parseGreHeader`: version 0, only the
 * C bit, whose checksum must verify; protocol IPv4), or UDP to one of the GUE ports
 * (`guePorts`; UDP checksum verified when not 0) with a GUE header (`parseGueHeader`:
 * version 0, data, IPv4; a remote checksum option is honoured by finishing the inner
 * L4 checksum, as the kernel's remcsum receive does). The payload after the tunnel
 * headers must parse as a complete IPv4 packet (`classifyIpv4`); it is written, in place in
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
  /** outer protocol is not a tunnel: not 4 (IPIP), not 47 (GRE), not UDP to a GUE port */
  notIpip: 'notIpip',
  /** a GUE header that is malformed or not IPVS's (version, control, flags, not IPv4) */
  badGue: 'badGue',
  /** a GRE header that is malformed or not IPVS's (flags, version, not IPv4) */
  badGre: 'badGre',
  /** the GRE checksum or the outer UDP checksum of a GUE packet does not verify */
  badChecksum: 'badChecksum',
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
  /** decapsulated packets by tunnel type */
  ipip: number;
  gue: number;
  gre: number;
  /** outer frames the parser refused, by ParseReason */
  readonly outer: Float64Array;
  /** inner packets the parser refused, by ParseReason */
  readonly inner: Float64Array;
}

/** A fresh set of counters (all zero). */
export function newDecapCounters(): DecapCounters {
  const c = {
    rxPackets: 0, decapsulated: 0, txPackets: 0, txDropped: 0, ecnMarked: 0, ipip: 0, gue: 0, gre: 0,
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
  /** UDP destination ports carrying GUE (the director's `--tun-port`); none: GUE is not accepted */
  guePorts?: readonly number[];
}

/** The ones' complement sum over the UDP datagram of `o` with its pseudo-header (0xffff: valid). */
function csumPartialUdp(buf: Uint8Array, o: FrameInfo): number {
  const s = (o.src >>> 16) + (o.src & 0xffff) + (o.dst >>> 16) + (o.dst & 0xffff) + Proto.UDP + o.l4Len;
  return csumPartial(buf, o.l4Off, o.l4Len, s);
}

/**
 * GUE remote checksum offload: the option gives, relative to the inner IP header, where
 * the checksum coverage starts (`start`) and where the checksum field is (`field`); it
 * holds the pseudo-header sum; complete it over the bytes from `start` to the end.
 * False when the option points outside the inner packet or at no TCP/UDP checksum.
 */
function finishRemcsum(buf: Uint8Array, n: FrameInfo, start: number, field: number): boolean {
  const l4 = n.l3Off + start;
  const end = n.l3Off + n.ipTotalLen;
  if (start !== n.l4Off - n.l3Off || n.l4Off < 0) return false;
  const want = n.proto === Proto.TCP ? TcpField.CHECKSUM : n.proto === Proto.UDP ? UdpField.CHECKSUM : -1;
  if (want < 0 || field !== start + want || l4 + want + 2 > end) return false;
  const c = ~csumPartial(buf, l4, end - l4) & 0xffff;
  wr16(buf, n.l3Off + field, n.proto === Proto.UDP && c === 0 ? 0xffff : c);
  return true;
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
  private gue: Uint16Array;
  private readonly outerInfo = new FrameInfo();
  private readonly innerInfo = new FrameInfo();
  private readonly outerView = new Ipv4View();
  private readonly innerView = new Ipv4View();
  private out: PacketBatch = { buf: new Uint8Array(0), offsets: new Uint32Array(0), lengths: new Uint32Array(0), count: 0 };

  constructor(opts: DecapOptions = {}) {
    this.local = Uint32Array.from(opts.localAddrs ?? []);
    this.gue = Uint16Array.from(opts.guePorts ?? []);
  }

  /** Replace the GUE ports. */
  setGuePorts(ports: readonly number[]): void {
    this.gue = Uint16Array.from(ports);
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
    if (o.fragment) return this.drop(DecapDrop.fragment);
    let tunnel: 'ipip' | 'gue' | 'gre';
    if (o.proto === Proto.IPIP) tunnel = 'ipip';
    else if (o.proto === Proto.GRE) tunnel = 'gre';
    else if (o.proto === Proto.UDP && this.isGuePort(o.dstPort)) tunnel = 'gue';
    else return this.drop(DecapDrop.notIpip);
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
    // where the inner packet starts, after the tunnel headers
    let at = o.l4Off;
    let remcsum = -1;
    if (tunnel === 'gre') {
      const hl = parseGreHeader(buf, o.l4Off, o.l4Len);
      if (hl < 0) return this.drop(hl === TunnelHeaderError.badChecksum ? DecapDrop.badChecksum : DecapDrop.badGre);
      at += hl;
    } else if (tunnel === 'gue') {
      if (rd16(buf, o.l4Off + UdpField.CHECKSUM) !== 0 && csumPartialUdp(buf, o) !== 0xffff) return this.drop(DecapDrop.badChecksum);
      const g = o.l4Off + UDP_HEADER_LEN;
      const hl = parseGueHeader(buf, g, o.l4Len - UDP_HEADER_LEN);
      if (hl < 0) return this.drop(DecapDrop.badGue);
      remcsum = gueRemcsum(buf, g);
      at = g + hl;
    }
    const n = this.innerInfo;
    // the stack of this host checks the inner header checksum itself
    const ri = classifyIpv4(buf, at, o.l4Off + o.l4Len - at, n, CheckFlags.None);
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
    if (remcsum >= 0 && !finishRemcsum(buf, n, remcsum >>> 16, remcsum & 0xffff)) return this.drop(DecapDrop.badGue);
    this.innerOff = n.l3Off;
    this.innerLen = n.ipTotalLen;
    c[tunnel]++;
    return 0;
  }

  private isGuePort(port: number): boolean {
    const g = this.gue;
    for (let i = 0; i < g.length; i++) if (g[i] === port) return true;
    return false;
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
