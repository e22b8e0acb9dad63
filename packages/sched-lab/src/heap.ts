/**
 * The simulator's event queue: a binary min-heap ordered by (time, insertion number), so
 * events at the same time run in the order they were scheduled (deterministic). Each event
 * is a kind, an id and the id's generation (a stale event is recognised by its generation).
 * Parallel typed arrays, grown by doubling; no allocation per event.
 */
export class EventHeap {
  private time = new Float64Array(1024);
  private seq = new Float64Array(1024);
  private kind = new Uint8Array(1024);
  private id = new Int32Array(1024);
  private gen = new Uint32Array(1024);
  private n = 0;
  private counter = 0;

  get size(): number {
    return this.n;
  }

  /** Time of the earliest event (Infinity when empty). */
  get topTime(): number {
    return this.n > 0 ? this.time[0]! : Infinity;
  }

  /** Kind, id and generation of the earliest event (valid while size > 0). */
  get topKind(): number {
    return this.kind[0]!;
  }
  get topId(): number {
    return this.id[0]!;
  }
  get topGen(): number {
    return this.gen[0]!;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const g = <T extends Float64Array | Uint8Array | Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.time = g(this.time, (n) => new Float64Array(n));
    this.seq = g(this.seq, (n) => new Float64Array(n));
    this.kind = g(this.kind, (n) => new Uint8Array(n));
    this.id = g(this.id, (n) => new Int32Array(n));
    this.gen = g(this.gen, (n) => new Uint32Array(n));
  }

  private less(a: number, b: number): boolean {
    const ta = this.time[a]!;
    const tb = this.time[b]!;
    return ta < tb || (ta === tb && this.seq[a]! < this.seq[b]!);
  }

  private swap(a: number, b: number): void {
    const t = this.time[a]!;
    this.time[a] = this.time[b]!;
    this.time[b] = t;
    const s = this.seq[a]!;
    this.seq[a] = this.seq[b]!;
    this.seq[b] = s;
    const k = this.kind[a]!;
    this.kind[a] = this.kind[b]!;
    this.kind[b] = k;
    const i = this.id[a]!;
    this.id[a] = this.id[b]!;
    this.id[b] = i;
    const g = this.gen[a]!;
    this.gen[a] = this.gen[b]!;
    this.gen[b] = g;
  }

  push(time: number, kind: number, id: number, gen: number): void {
    if (this.n === this.time.length) this.grow();
    let i = this.n++;
    this.time[i] = time;
    this.seq[i] = this.counter++;
    this.kind[i] = kind;
    this.id[i] = id;
    this.gen[i] = gen;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Remove the earliest event (read it with top* first). */
  pop(): void {
    const last = --this.n;
    if (last === 0) return;
    this.swap(0, last);
    let i = 0;
    const n = this.n;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.less(r, l) ? r : l;
      if (!this.less(m, i)) break;
      this.swap(i, m);
      i = m;
    }
  }
}
