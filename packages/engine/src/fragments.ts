/**
 * IP fragments of flows through the director. The kernel reassembles before IPVS looks at
 * a packet; we track instead: the first fragment (it carries the ports) is handled like
 * any packet and its connection slot is remembered under (src, dst, id, protocol); later
 * fragments follow the same connection. Fragments that arrive before their first one are
 * held (copied) in a bounded buffer until it arrives or the entry expires.
 *
 * Memory is capped: a fixed table of tracked datagrams (typed arrays) and a byte cap on
 * held fragments; what does not fit is dropped and counted.
 */
import type { ConnTable } from '@tunvs/conntrack';
import { Packet } from '@tunvs/forwarder';
import { classifyFrame } from '@tunvs/packet';
import type { DirectorCounters } from './counters.js';
import type { ForwarderTable } from './forwarders.js';
import type { LinkXmit } from './xmit.js';

/** Tracked datagrams at once. */
export const FRAG_TABLE_SIZE = 4096;
/** How long a tracked datagram is remembered (the kernel's ipfrag_time is 30 s). */
export const FRAG_TIMEOUT_MS = 30_000;
/** Bytes of early fragments held, in all. */
export const FRAG_HOLD_BYTES = 1 << 20;

interface Held {
  pkts: Uint8Array[];
  since: number;
}

export class Fragments {
  private readonly src = new Uint32Array(FRAG_TABLE_SIZE);
  private readonly dst = new Uint32Array(FRAG_TABLE_SIZE);
  private readonly key = new Uint32Array(FRAG_TABLE_SIZE); // id << 8 | proto, +1 so 0 = empty
  private readonly slot = new Int32Array(FRAG_TABLE_SIZE);
  private readonly seen = new Float64Array(FRAG_TABLE_SIZE);
  private readonly held = new Map<number, Held>();
  private heldBytes = 0;
  /** datagrams tracked, early fragments held, dropped over the cap, expired */
  readonly counters = { tracked: 0, held: 0, heldDropped: 0, expired: 0 };

  private index(src: number, dst: number, id: number, proto: number): number {
    let h = (src ^ Math.imul(dst, 0x9e3779b1) ^ Math.imul(id * 256 + proto, 0x85ebca6b)) >>> 0;
    h ^= h >>> 15;
    return h & (FRAG_TABLE_SIZE - 1);
  }

  /**
   * The first fragment of (src, dst, id, proto) was handled with connection `slot`
   * (-1: not forwarded). Returns the early fragments held for it (copies of their link
   * slots, to be forwarded or dropped by the caller), or null.
   */
  firstSeen(src: number, dst: number, id: number, proto: number, slot: number, now: number): Uint8Array[] | null {
    const i = this.index(src, dst, id, proto);
    this.src[i] = src;
    this.dst[i] = dst;
    this.key[i] = ((id << 8) | proto) + 1;
    this.slot[i] = slot;
    this.seen[i] = now;
    this.counters.tracked++;
    const h = this.held.get(i);
    if (!h) return null;
    this.held.delete(i);
    for (const p of h.pkts) this.heldBytes -= p.length;
    return h.pkts;
  }

  /** Connection slot for a later fragment: >= 0, -1 (first fragment was dropped), -2 (unknown yet). */
  lookup(src: number, dst: number, id: number, proto: number): number {
    const i = this.index(src, dst, id, proto);
    if (this.key[i] === ((id << 8) | proto) + 1 && this.src[i] === src && this.dst[i] === dst) return this.slot[i]!;
    return -2;
  }

  /** Hold a copy of the link slot `buf[off, off+len)` of an early fragment (bounded). */
  hold(src: number, dst: number, id: number, proto: number, buf: Uint8Array, off: number, len: number, now: number, c: { fragDropped: number }): void {
    if (this.heldBytes + len > FRAG_HOLD_BYTES) {
      this.counters.heldDropped++;
      c.fragDropped++;
      return;
    }
    const i = this.index(src, dst, id, proto);
    let h = this.held.get(i);
    if (!h) {
      h = { pkts: [], since: now };
      this.held.set(i, h);
    }
    h.pkts.push(buf.slice(off, off + len));
    this.heldBytes += len;
    this.counters.held++;
  }

  /** Drop tracking and held fragments older than FRAG_TIMEOUT_MS. */
  expire(now: number, c: { fragDropped: number }): void {
    for (const [k, h] of this.held) {
      if (now - h.since > FRAG_TIMEOUT_MS) {
        for (const p of h.pkts) this.heldBytes -= p.length;
        c.fragDropped += h.pkts.length;
        this.counters.expired += h.pkts.length;
        this.held.delete(k);
      }
    }
    for (let i = 0; i < FRAG_TABLE_SIZE; i++) {
      if (this.key[i] !== 0 && now - this.seen[i]! > FRAG_TIMEOUT_MS) this.key[i] = 0;
    }
  }

  /** Bytes held right now. */
  get bytesHeld(): number {
    return this.heldBytes;
  }
}

/**
 * The fragment path of the data plane: a later fragment follows the connection of its
 * first fragment (bound forwarder, direction by source address); early ones are held
 * until the first fragment comes. Fragments do not move connection state or statistics.
 */
export class FragmentPath {
  /** the packet descriptor of a held fragment being forwarded (a copy, not in the receive slab) */
  private readonly held = new Packet();

  constructor(
    readonly table: Fragments,
    private readonly conns: ConnTable,
    private readonly fwds: ForwarderTable,
    private readonly counters: DirectorCounters,
  ) {
    this.held.inRx = false;
  }

  /** A non-first fragment (no L4 header). */
  later(x: LinkXmit, p: Packet): void {
    const info = p.info;
    const slot = this.table.lookup(info.src, info.dst, info.ipId, info.proto);
    if (slot === -2) {
      // its first fragment has not been seen yet: hold a copy (bounded)
      this.table.hold(info.src, info.dst, info.ipId, info.proto, p.buf, p.off, p.len, x.now, this.counters);
      return;
    }
    if (slot < 0) {
      this.counters.fragDropped++;
      return;
    }
    this.forward(x, p, slot);
  }

  /** The first fragment `p` was handled with connection `slot` (-1: dropped): release what waited for it. */
  firstSeen(x: LinkXmit, p: Packet, slot: number): void {
    const info = p.info;
    const waiting = this.table.firstSeen(info.src, info.dst, info.ipId, info.proto, slot, x.now);
    if (waiting === null) return;
    if (slot < 0) {
      this.counters.fragDropped += waiting.length;
      return;
    }
    const q = this.held;
    for (const data of waiting) {
      // a held copy was valid when it came; parse it again where it now lies
      if (classifyFrame(data, x.vnet, data.length - x.vnet, x.kind, q.info, x.checks) !== 0) continue;
      q.buf = data;
      q.off = 0;
      q.len = q.info.l3Off + q.info.ipTotalLen;
      q.partialCsum = false;
      q.gso = false;
      this.forward(x, q, slot);
    }
  }

  private forward(x: LinkXmit, p: Packet, slot: number): void {
    const conns = this.conns;
    if (!conns.isLive(slot)) {
      this.counters.fragDropped++;
      return;
    }
    this.counters.fragForwarded++;
    const fwd = this.fwds.at(conns.xmit(slot));
    if (p.info.src === conns.caddr(slot)) fwd.inbound(x, p, conns, slot);
    else fwd.outbound(x, p, conns, slot);
  }
}
