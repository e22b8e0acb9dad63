/**
 * The transmit queue of one link: packets rewritten in place (offsets into the receive
 * slab) and packets the director builds (in a transmit slab), each written once per batch
 * with one `writeBatch`. The links of a Director with several interfaces that transmit
 * for one receive batch (queue i of every interface) share one transmit slab: a packet
 * built while handling a frame of one interface may leave on another without a copy.
 */
import type { Link, PacketBatch } from '@tunvs/link';
import { allocBatch } from '@tunvs/link';

/** Bytes of transmit slab per packet slot (room for a full MTU plus IPIP and Ethernet). */
export const TX_SLOT = 1600;

/** The slab packets are built in, shared by the queues that transmit for one receive batch. */
export class TxSlab {
  readonly buf: Uint8Array;
  /** bytes handed out since the last `clear` */
  used = 0;

  constructor(maxBatch: number) {
    this.buf = new Uint8Array(maxBatch * 2 * TX_SLOT + 65536 + 256);
  }
}

export class TxQueue {
  /** in-place packets: offsets into the receive slab of the batch */
  readonly inplace: PacketBatch;
  /** packets built by the director, in `gen.buf` (the slab's) */
  readonly gen: PacketBatch;

  constructor(
    maxBatch: number,
    /** the transmit slab (shared with the other interfaces' queues of the same batch, if any) */
    readonly slab: TxSlab = new TxSlab(maxBatch),
  ) {
    this.inplace = { buf: new Uint8Array(0), offsets: new Uint32Array(maxBatch * 2), lengths: new Uint32Array(maxBatch * 2), count: 0 };
    this.gen = { ...allocBatch(maxBatch * 2, 0), buf: slab.buf };
  }

  /** Room for `len` bytes in the built slab: their offset, or -1 when it is full. */
  reserve(len: number): number {
    const g = this.gen;
    const used = this.slab.used;
    if (g.count >= g.offsets.length || used + len > g.buf.length) return -1;
    return used;
  }

  /** Queue the built packet written at `off` (from `reserve`). */
  commit(off: number, len: number): void {
    const g = this.gen;
    g.offsets[g.count] = off;
    g.lengths[g.count] = len;
    g.count++;
    this.slab.used = off + len;
  }

  /** Queue a packet of the receive slab; false when the queue is full. */
  push(off: number, len: number): boolean {
    const b = this.inplace;
    if (b.count >= b.offsets.length) return false;
    b.offsets[b.count] = off;
    b.lengths[b.count] = len;
    b.count++;
    return true;
  }

  /** Write everything queued to `link` (in-place packets from `rxBuf`); returns how many were taken. */
  flush(link: Link, rxBuf: Uint8Array): number {
    let n = 0;
    if (this.inplace.count > 0) {
      this.inplace.buf = rxBuf;
      n += link.writeBatch(this.inplace);
      this.inplace.count = 0;
    }
    if (this.gen.count > 0) {
      n += link.writeBatch(this.gen);
      this.gen.count = 0;
    }
    // the queues sharing the slab are flushed one after the other with nothing reserved in
    // between: what they still hold stays where it is, the room is free for the next batch
    this.slab.used = 0;
    return n;
  }
}
