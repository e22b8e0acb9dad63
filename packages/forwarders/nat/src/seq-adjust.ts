/**
 * TCP sequence adjustment after a payload changed length (the kernel's ip_vs_app.c
 * `struct ip_vs_seq`, `vs_fix_seq`, `vs_fix_ack_seq`, `vs_seq_update`).
 *
 * One `SeqAdjust` per direction of a connection. `init` is the (original) sequence number
 * of the last resized segment, `delta` the total shift of bytes after it, `previous` the
 * shift before it (used for that segment itself and for retransmissions of older data).
 * All comparisons are modulo 2^32.
 */

/** `a` is after `b` in sequence space (the kernel's `after()`). */
export function seqAfter(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

export class SeqAdjust {
  /** sequence number (original numbering) of the last resized segment */
  init = 0;
  /** shift of every byte after `init` */
  delta = 0;
  /** shift before the last resize */
  previous = 0;
  /** a resize was recorded (the kernel's IN_SEQ/OUT_SEQ flag) */
  set = false;

  /** True when packets of this direction (or acks of the other) need fixing. */
  get active(): boolean {
    return this.delta !== 0 || this.previous !== 0;
  }

  /** The sequence number a segment of this direction goes out with. */
  seq(seq: number): number {
    if (!this.active) return seq >>> 0;
    return (seq + (seqAfter(seq, this.init) ? this.delta : this.previous)) >>> 0;
  }

  /** The acknowledgement number of the other direction, back in the sender's numbering. */
  ack(ack: number): number {
    if (!this.active) return ack >>> 0;
    return (ack - (seqAfter(ack, (this.init + this.delta) >>> 0) ? this.delta : this.previous)) >>> 0;
  }

  /**
   * Take over an adjustment recorded elsewhere (a sync record's in_seq/out_seq: init_seq,
   * delta, previous_delta as 32-bit words).
   */
  load(init: number, delta: number, previous: number): void {
    this.init = init >>> 0;
    this.delta = delta | 0;
    this.previous = previous | 0;
    this.set = true;
  }

  /**
   * A segment starting at `seq` (original numbering, before `seq()`) grew by `diff`
   * bytes (negative: shrank). Recorded when it is the first resize or lies after the last
   * one; a retransmission of the last resized segment changes nothing.
   */
  update(seq: number, diff: number): void {
    if (diff === 0) return;
    if (!this.set || seqAfter(seq, this.init)) {
      this.previous = this.delta;
      this.delta = (this.delta + diff) | 0;
      this.init = seq >>> 0;
      this.set = true;
    }
  }
}
