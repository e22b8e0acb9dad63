/**
 * Newline-delimited framing for the control socket, in linear time: every byte is scanned
 * once (Buffer.indexOf from where the last scan stopped) and a line is joined once, when
 * its newline arrives. A line longer than `maxLine` bytes is reported as soon as it is
 * longer, without waiting for (or keeping) the rest of it.
 */

/** What `next()` returns for a line over the limit; the splitter is unusable afterwards. */
export const LINE_TOO_LONG = Symbol('line too long');

export class LineSplitter {
  /** chunks of the unfinished line / unread data, oldest first */
  private chunks: Buffer[] = [];
  /** read position in chunks[0] */
  private head = 0;
  /** bytes of chunks[0..i) already scanned with no newline, plus scanned part of the current one */
  private scanned = 0;
  /** scan position in the last examined chunk */
  private scanChunk = 0;
  private scanOff = 0;
  private total = 0;
  private failed = false;

  constructor(private readonly maxLine = Infinity) {}

  /** Bytes received and not returned yet. */
  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The next complete line (without its newline), null when there is none yet. */
  next(): Buffer | null | typeof LINE_TOO_LONG {
    if (this.failed) return LINE_TOO_LONG;
    while (this.scanChunk < this.chunks.length) {
      const c = this.chunks[this.scanChunk]!;
      const from = this.scanChunk === 0 ? Math.max(this.scanOff, this.head) : this.scanOff;
      const nl = c.indexOf(0x0a, from);
      if (nl < 0) {
        this.scanned += c.length - from;
        if (this.scanned > this.maxLine) return this.fail();
        this.scanChunk++;
        this.scanOff = 0;
        continue;
      }
      if (this.scanned + (nl - from) > this.maxLine) return this.fail();
      return this.take(this.scanChunk, nl);
    }
    return null;
  }

  private fail(): typeof LINE_TOO_LONG {
    this.failed = true;
    this.chunks = [];
    this.total = 0;
    return LINE_TOO_LONG;
  }

  /** Cut the line that ends at byte `nl` of chunk `ci`. */
  private take(ci: number, nl: number): Buffer {
    let line: Buffer;
    if (ci === 0) {
      line = this.chunks[0]!.subarray(this.head, nl);
    } else {
      const parts = [this.chunks[0]!.subarray(this.head)];
      for (let i = 1; i < ci; i++) parts.push(this.chunks[i]!);
      parts.push(this.chunks[ci]!.subarray(0, nl));
      line = Buffer.concat(parts);
      this.chunks.splice(0, ci);
    }
    this.total -= line.length + 1;
    this.head = nl + 1;
    if (this.head >= this.chunks[0]!.length) {
      this.chunks.shift();
      this.head = 0;
    }
    this.scanChunk = 0;
    this.scanOff = this.head;
    this.scanned = 0;
    return line;
  }
}
