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

/** Tracked datagrams at once. */
export const FRAG_TABLE_SIZE = 4096;
/** How long a tracked datagram is remembered (the kernel's ipfrag_time is 30 s). */
export const FRAG_TIMEOUT_MS = 30_000;
/** Bytes of early fragments held, in all. */
export const FRAG_HOLD_BYTES = 1 << 20;

interface Held {
  pkts: { data: Uint8Array; ipOff: number }[];
  since: number;
}

type Forward = (buf: Uint8Array, off: number, len: number, ip: number) => void;

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
   * (-1: not forwarded). Early fragments held for it are forwarded now through `fwd`.
   */
  firstSeen(src: number, dst: number, id: number, proto: number, slot: number, now: number, fwd: Forward): void {
    const i = this.index(src, dst, id, proto);
    this.src[i] = src;
    this.dst[i] = dst;
    this.key[i] = ((id << 8) | proto) + 1;
    this.slot[i] = slot;
    this.seen[i] = now;
    this.counters.tracked++;
    const hk = i;
    const h = this.held.get(hk);
    if (h) {
      this.held.delete(hk);
      for (const p of h.pkts) {
        this.heldBytes -= p.data.length;
        if (slot >= 0) fwd(p.data, 0, p.data.length, p.ipOff);
      }
    }
  }

  /** Connection slot for a later fragment: >= 0, -1 (first fragment was dropped), -2 (unknown yet). */
  lookup(src: number, dst: number, id: number, proto: number): number {
    const i = this.index(src, dst, id, proto);
    if (this.key[i] === ((id << 8) | proto) + 1 && this.src[i] === src && this.dst[i] === dst) return this.slot[i]!;
    return -2;
  }

  /** Hold a copy of an early fragment (bounded). */
  hold(src: number, dst: number, id: number, proto: number, buf: Uint8Array, off: number, len: number, ipRel: number, now: number, c: { fragDropped: number }): void {
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
    h.pkts.push({ data: buf.slice(off, off + len), ipOff: ipRel });
    this.heldBytes += len;
    this.counters.held++;
  }

  /** Drop tracking and held fragments older than FRAG_TIMEOUT_MS. */
  expire(now: number, c: { fragDropped: number }): void {
    for (const [k, h] of this.held) {
      if (now - h.since > FRAG_TIMEOUT_MS) {
        for (const p of h.pkts) this.heldBytes -= p.data.length;
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
