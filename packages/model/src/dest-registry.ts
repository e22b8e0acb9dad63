import type { Dest } from './dest.js';

/**
 * Maps small integer ids to Dest objects, so that the connection table can store a
 * destination as an Int32 and find the object again in O(1). Ids are reused after release.
 */
export class DestRegistry {
  private readonly slots: (Dest | null)[] = [];
  private readonly free: number[] = [];

  /** Give `dest` an id (its `id` field) and return it. */
  register(dest: Dest): number {
    if (dest.id >= 0 && this.slots[dest.id] === dest) return dest.id;
    const id = this.free.length > 0 ? (this.free.pop() as number) : this.slots.length;
    this.slots[id] = dest;
    dest.id = id;
    return id;
  }

  /** Forget a destination; its id may be given to another one later. */
  release(dest: Dest): void {
    if (dest.id >= 0 && this.slots[dest.id] === dest) {
      this.slots[dest.id] = null;
      this.free.push(dest.id);
    }
    dest.id = -1;
  }

  /** The destination with this id, or null. */
  get(id: number): Dest | null {
    return id >= 0 && id < this.slots.length ? (this.slots[id] ?? null) : null;
  }

  /** Number of live ids. */
  get size(): number {
    return this.slots.length - this.free.length;
  }
}
