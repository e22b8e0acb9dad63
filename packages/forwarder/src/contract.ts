/**
 * The forwarding-method contract, shaped like the kernel's transmitters (ip_vs_xmit.c):
 * a forwarding method is an ops object that owns the whole per-packet job of its method,
 * in both directions, for ICMP errors both ways and for fragments: the route (next hop),
 * the TTL, the MTU, the rewrite and the send. It is bound to a connection once, when the
 * connection is created (the connection stores the forwarder's index, see
 * `ConnTable.xmit`), so the per-packet code of the engine never asks which method a
 * connection uses.
 *
 * A forwarder drives an `Xmit`: the transmit side of one link for one batch, which the
 * engine implements (TUN: IP packets into the device; TAP: Ethernet frames, next hops
 * resolved by ARP) and a fixture runner fakes (`@tunvs/forwarder/testing`).
 */
import type { ConnTable } from '@tunvs/conntrack';
import type { LinkKind } from '@tunvs/link';
import { FrameInfo } from '@tunvs/packet';

const EMPTY = new Uint8Array(0);

/**
 * The packet being handled: where it is and what the parser (`classifyFrame`) found in it.
 * The engine keeps one per link and re-points it for every frame (no allocation).
 */
export class Packet {
  /** the buffer holding it: the receive slab, or a copy (a held fragment) */
  buf: Uint8Array = EMPTY;
  /** start of its slot in `buf` (the vnet header, when the link has one) */
  off = 0;
  /** bytes from `off` to the end of the IP datagram (link padding trimmed) */
  len = 0;
  /** the parser's findings: offsets (`l3Off`, `l4Off`, ...) and header fields */
  readonly info = new FrameInfo();
  /** the vnet header says the L4 checksum is partial (CHECKSUM_PARTIAL: pseudo-header only) */
  partialCsum = false;
  /** the vnet header's gso_type (VNET_GSO.* of @tunvs/link, ECN bit included); 0: not GSO */
  gsoType = 0;
  /** when `gso`: the vnet header's gso_size, payload bytes per segment (the MSS for TCP) */
  gsoSize = 0;
  /** true: the packet lies in the receive slab and is sent in place; false: it is copied out */
  inRx = true;

  /** the vnet header marks a GSO super-packet (larger than the MTU by design) */
  get gso(): boolean {
    return this.gsoType !== 0;
  }
}

/** Counters a forwarder bumps when it does not send (the engine's named drop counters). */
export interface XmitCounters {
  /** TTL expired (ICMP time exceeded sent) */
  ttlExceeded: number;
  /** DF packet too big for the path (ICMP fragmentation needed sent) */
  fragNeeded: number;
  /** no next hop for the destination */
  noRoute: number;
  /** the encapsulated packet would exceed 65535 bytes */
  encapTooBig: number;
  /** the path MTU less the tunnel's headers is under 68 (the kernel's tunnel MTU check) */
  tunnelMtuTooSmall: number;
  /** a GSO super-packet that cannot be segmented as it says: gso_size 0 or absurd, gso_type not the packet's protocol, no room for payload */
  gsoBad: number;
  /** a GSO super-packet of a kind the director does not segment in software (UFO: VNET_GSO.UDP) */
  gsoUnsupported: number;
  /** transmit slab full: packet dropped */
  txSlabFull: number;
}

/**
 * The transmit side a forwarder drives: one link, one batch. Next hops are IPv4
 * addresses; the Xmit turns them into link-layer addresses (TAP) or ignores them (TUN).
 */
export interface Xmit {
  /** the kind of link packets leave on */
  readonly kind: LinkKind;
  /** sysctl pmtu_disc: tunnels copy DF to the outer header and check the path MTU */
  readonly pmtuDisc: boolean;
  /** drop counters */
  readonly counters: XmitCounters;
  /** the batch's clock in ms (connections a forwarder creates, e.g. FTP data connections) */
  readonly now: number;
  /** the buffer `reserve` hands out room in */
  readonly genBuf: Uint8Array;
  /** The next hop toward `dst`: itself when on-link, a gateway, or 0 when there is no route. */
  route(dst: number): number;
  /** The largest IP packet the path through next hop `hop` carries. */
  mtu(hop: number): number;
  /** The director's own address toward `dst` (source of tunnel outer headers). */
  source(dst: number): number;
  /** The next IP identification for a packet the director builds. */
  nextIpId(): number;
  /** Send `p` (rewritten in place) to next hop `hop`. */
  send(p: Packet, hop: number): void;
  /**
   * Room for a new IP packet of up to `len` bytes: the offset of its IP header in
   * `genBuf`, or -1 when the transmit slab is full (counted). Nothing is sent until
   * `sendNew`; an unused reservation costs nothing.
   */
  reserve(len: number): number;
  /** Send the new IP packet at `genBuf[ip, ip+len)` (from `reserve`) to next hop `hop`. */
  sendNew(ip: number, len: number, hop: number): void;
  /**
   * Answer `p` with an ICMP error (RFC 792) from the director toward its source: time
   * exceeded, fragmentation needed (with `mtu`), port unreachable. Counted as sent.
   */
  icmpError(p: Packet, type: number, code: number, mtu: number): void;
}

/** What a director's link can carry, for `Forwarder.refuse`. */
export interface LinkFacts {
  /** layer 3 (tun) or layer 2 (tap) */
  readonly kind: LinkKind;
  /** the director's own address (source of tunnel outer headers); 0 when it has none */
  readonly source: number;
}

/**
 * A forwarding method. Every operation gets the connection (`conns`, `slot`) the packet
 * belongs to and finishes the packet: sent, or dropped under a counter.
 */
export interface Forwarder {
  /** Fwd.* of @tunvs/model */
  readonly method: number;
  /** how logs and errors name it ('masq', 'tunnel/ipip', 'route', 'local', 'bypass') */
  readonly name: string;
  /**
   * Why this method cannot be carried by a director on `link` (a sentence for the
   * operator), or null when it can. Checked when a destination is added or edited.
   */
  refuse(link: LinkFacts): string | null;
  /** Client -> real server (first packets, the rest, and non-first fragments without ports). */
  inbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void;
  /** Real server -> client (replies routed through the director; non-first fragments too). */
  outbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void;
  /** An ICMP error from the client side about the connection (it quotes a reply). */
  icmpInbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void;
  /** An ICMP error from the real server's side (it quotes a packet the server received). */
  icmpOutbound(x: Xmit, p: Packet, conns: ConnTable, slot: number): void;
}

/** Which operation of a Forwarder: the direction and whether the packet is an ICMP error about the flow. */
export type ForwarderOp = 'inbound' | 'outbound' | 'icmpInbound' | 'icmpOutbound';
