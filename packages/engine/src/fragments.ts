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
/** Bytes of early fragments held, in all, overheads included (the kernel's ipfrag_high_thresh is 4 MiB). */
export const FRAG_HOLD_BYTES = 1 << 20;
/**
 * What one held fragment costs beyond its bytes: the copy's object and its place in the
 * list (the kernel counts an skb's truesize, its struct and shared info, not its length).
 * Tiny fragments are thus charged what they really hold.
 */
export const FRAG_OVERHEAD = 256;
/** What a datagram with held fragments costs beyond them (its record). */
export const FRAG_QUEUE_OVERHEAD = 128;

/** Slots of the open-addressing index: a power of two, at most half full. */
const INDEX_SIZE = FRAG_TABLE_SIZE * 2;
const INDEX_MASK = INDEX_SIZE - 1;
const EMPTY_SLOT = -1;
/** `conn` of an entry created by an early fragment: its first fragment has not come yet. */
const UNKNOWN = -2;

interface Held {
  pkts: Uint8Array[];
  since: number;
}

/**
 * The datagrams whose fragments pass through, each under its full key (source,
 * destination, id, protocol), as the kernel's ipq is: two datagrams never share an entry,
 * whatever their hash. Entries live in typed arrays (an entry index stays put while it
 * lives); an open-addressing index with linear probing maps a key to its entry, and
 * removal shifts the probe run back (no tombstones). When every entry is taken, new
 * datagrams are refused (counted), as the kernel refuses new queues over its threshold.
 */
export class Fragments {
  private readonly src = new Uint32Array(FRAG_TABLE_SIZE);
  private readonly dst = new Uint32Array(FRAG_TABLE_SIZE);
  private readonly key = new Uint32Array(FRAG_TABLE_SIZE); // id << 8 | proto
  /** the connection slot of the first fragment, -1 (it was dropped), or UNKNOWN */
  private readonly conn = new Int32Array(FRAG_TABLE_SIZE);
  /** when the entry was created (it lives FRAG_TIMEOUT_MS from then, as an ipq does) */
  private readonly born = new Float64Array(FRAG_TABLE_SIZE);
  /** the index slot that points to the entry */
  private readonly home = new Int32Array(FRAG_TABLE_SIZE);
  private readonly held: (Held | undefined)[] = new Array<Held | undefined>(FRAG_TABLE_SIZE).fill(undefined);
  private readonly index = new Int32Array(INDEX_SIZE).fill(EMPTY_SLOT);
  private readonly free: number[] = [];
  private live = 0;
  private heldBytes = 0;
  /**
   * datagrams tracked, early fragments held, dropped over the byte cap, expired, datagrams
   * refused because the table was full
   */
  readonly counters = { tracked: 0, held: 0, heldDropped: 0, expired: 0, tableFull: 0 };

  constructor() {
    for (let i = FRAG_TABLE_SIZE - 1; i >= 0; i--) this.free.push(i);
  }

  private hash(src: number, dst: number, k: number): number {
    let h = (src ^ Math.imul(dst, 0x9e3779b1) ^ Math.imul(k, 0x85ebca6b)) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h ^= h >>> 12;
    return h & INDEX_MASK;
  }

  /** The entry of (src, dst, id, proto), or -1. */
  private find(src: number, dst: number, k: number): number {
    const index = this.index;
    for (let i = this.hash(src, dst, k); ; i = (i + 1) & INDEX_MASK) {
      const e = index[i]!;
      if (e === EMPTY_SLOT) return -1;
      if (this.key[e] === k && this.src[e] === src && this.dst[e] === dst) return e;
    }
  }

  /** A new entry for (src, dst, id, proto) (not present), or -1 when the table is full (counted). */
  private insert(src: number, dst: number, k: number, now: number): number {
    const e = this.free.pop();
    if (e === undefined) {
      this.counters.tableFull++;
      return -1;
    }
    let i = this.hash(src, dst, k);
    while (this.index[i] !== EMPTY_SLOT) i = (i + 1) & INDEX_MASK;
    this.index[i] = e;
    this.home[e] = i;
    this.src[e] = src;
    this.dst[e] = dst;
    this.key[e] = k;
    this.conn[e] = UNKNOWN;
    this.born[e] = now;
    this.live++;
    return e;
  }

  /** Remove entry `e`: free it and close the gap in its probe run (backward shift). */
  private remove(e: number): void {
    const index = this.index;
    let gap = this.home[e]!;
    index[gap] = EMPTY_SLOT;
    for (let i = (gap + 1) & INDEX_MASK; index[i] !== EMPTY_SLOT; i = (i + 1) & INDEX_MASK) {
      const m = index[i]!;
      const want = this.hash(this.src[m]!, this.dst[m]!, this.key[m]!);
      // m may move into the gap when its wanted slot is not in (gap, i] (cyclically)
      const inRun = gap <= i ? want > gap && want <= i : want > gap || want <= i;
      if (!inRun) {
        index[gap] = m;
        this.home[m] = gap;
        index[i] = EMPTY_SLOT;
        gap = i;
      }
    }
    this.held[e] = undefined;
    this.free.push(e);
    this.live--;
  }

  /** Release the held fragments of entry `e` from the byte count; returns them. */
  private release(e: number): Uint8Array[] | null {
    const h = this.held[e];
    if (h === undefined) return null;
    this.held[e] = undefined;
    this.heldBytes -= FRAG_QUEUE_OVERHEAD;
    for (const p of h.pkts) this.heldBytes -= p.length + FRAG_OVERHEAD;
    return h.pkts;
  }

  /**
   * The first fragment of (src, dst, id, proto) was handled with connection `slot`
   * (-1: not forwarded). Returns the early fragments held for this very datagram (copies
   * of their link slots, to be forwarded or dropped by the caller), or null.
   */
  firstSeen(src: number, dst: number, id: number, proto: number, slot: number, now: number): Uint8Array[] | null {
    const k = ((id << 8) | proto) >>> 0;
    let e = this.find(src, dst, k);
    if (e < 0) {
      e = this.insert(src, dst, k, now);
      if (e < 0) return null;
    }
    this.conn[e] = slot;
    this.counters.tracked++;
    return this.release(e);
  }

  /** Connection slot for a later fragment: >= 0, -1 (first fragment was dropped), -2 (unknown yet). */
  lookup(src: number, dst: number, id: number, proto: number): number {
    const e = this.find(src, dst, ((id << 8) | proto) >>> 0);
    return e < 0 ? UNKNOWN : this.conn[e]!;
  }

  /**
   * Hold a copy of the link slot `buf[off, off+len)` of an early fragment of (src, dst, id,
   * proto), within the byte cap (each fragment charged its bytes and FRAG_OVERHEAD).
   */
  hold(src: number, dst: number, id: number, proto: number, buf: Uint8Array, off: number, len: number, now: number, c: { fragDropped: number }): void {
    const k = ((id << 8) | proto) >>> 0;
    let e = this.find(src, dst, k);
    const cost = len + FRAG_OVERHEAD + (e < 0 || this.held[e] === undefined ? FRAG_QUEUE_OVERHEAD : 0);
    if (this.heldBytes + cost > FRAG_HOLD_BYTES) {
      this.counters.heldDropped++;
      c.fragDropped++;
      return;
    }
    if (e < 0) e = this.insert(src, dst, k, now);
    if (e < 0) {
      c.fragDropped++;
      return;
    }
    let h = this.held[e];
    if (h === undefined) {
      h = { pkts: [], since: now };
      this.held[e] = h;
    }
    h.pkts.push(buf.slice(off, off + len));
    this.heldBytes += cost;
    this.counters.held++;
  }

  /** Drop tracking and held fragments older than FRAG_TIMEOUT_MS. */
  expire(now: number, c: { fragDropped: number }): void {
    if (this.live === 0) return;
    for (let e = 0; e < FRAG_TABLE_SIZE; e++) {
      if (this.free.length === FRAG_TABLE_SIZE) break;
      if (this.index[this.home[e]!] !== e || now - this.born[e]! <= FRAG_TIMEOUT_MS) continue;
      const pkts = this.release(e);
      if (pkts !== null) {
        c.fragDropped += pkts.length;
        this.counters.expired += pkts.length;
      }
      this.remove(e);
    }
  }

  /** Bytes held right now, overheads included (what the cap limits). */
  get bytesHeld(): number {
    return this.heldBytes;
  }

  /** Datagrams tracked right now. */
  get size(): number {
    return this.live;
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
      q.gsoType = 0;
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
