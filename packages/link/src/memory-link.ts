import type { Link, LinkCounters, LinkKind, PacketBatch } from './link.js';
import { allocBatch, newLinkCounters } from './link.js';
import { vnetIsGso } from './vnet.js';

/**
 * An in-memory Link for tests and simulations: `inject` queues packets as if the device
 * had received them, `deliver` hands them to the handler in one batch (as a device read
 * would), and everything the engine writes is kept in `sent` (copies) until `drain`.
 */
export class MemoryLink implements Link {
  readonly counters: LinkCounters = newLinkCounters();
  /** copies of the packets written, oldest first */
  readonly sent: Uint8Array[] = [];
  private handler: ((batch: PacketBatch) => void) | null = null;
  private readonly rx: PacketBatch;
  private used = 0;
  private closed = false;
  /** when set, writeBatch accepts at most this many more packets (to test a full queue) */
  txBudget = Infinity;

  constructor(
    readonly kind: LinkKind = 'tun',
    readonly mtu = 1500,
    readonly name = 'mem0',
    readonly vnetHdrLen = 0,
    maxBatch = 256,
  ) {
    this.rx = allocBatch(maxBatch, maxBatch * (mtu + 64 + vnetHdrLen));
  }

  onBatch(handler: (batch: PacketBatch) => void): void {
    this.handler = handler;
  }

  /** Queue one received packet (copied into the receive slab). Returns false when full. */
  inject(pkt: Uint8Array): boolean {
    const b = this.rx;
    if (this.closed || b.count >= b.offsets.length || this.used + pkt.length > b.buf.length) return false;
    b.buf.set(pkt, this.used);
    b.offsets[b.count] = this.used;
    b.lengths[b.count] = pkt.length;
    b.count++;
    this.used += pkt.length;
    return true;
  }

  /** Hand the queued packets to the handler as one batch; returns how many. */
  deliver(): number {
    const b = this.rx;
    const n = b.count;
    if (n === 0 || !this.handler) return 0;
    for (let i = 0; i < n; i++) {
      this.counters.rxPackets++;
      this.counters.rxBytes += b.lengths[i]!;
    }
    this.counters.rxBatches++;
    this.handler(b);
    b.count = 0;
    this.used = 0;
    return n;
  }

  /** Inject packets and deliver them as one batch. */
  receive(...pkts: Uint8Array[]): void {
    for (const p of pkts) this.inject(p);
    this.deliver();
  }

  writeBatch(batch: PacketBatch): number {
    let written = 0;
    for (let i = 0; i < batch.count; i++) {
      const len = batch.lengths[i]!;
      if (this.closed || this.txBudget <= 0) {
        this.counters.txDropped++;
        continue;
      }
      const off = batch.offsets[i]!;
      // like a TUN/TAP device: larger than the MTU only as a GSO super-packet (vnet header)
      const max = this.vnetHdrLen > 0 && vnetIsGso(batch.buf, off) ? 65535 + 18 : this.mtu + (this.kind === 'tap' ? 18 : 0);
      if (len > this.vnetHdrLen + max) {
        this.counters.txErrors++;
        continue;
      }
      this.sent.push(batch.buf.slice(off, off + len));
      this.counters.txPackets++;
      this.counters.txBytes += len;
      this.txBudget--;
      written++;
    }
    return written;
  }

  /** Take (and forget) everything written so far. */
  drain(): Uint8Array[] {
    return this.sent.splice(0, this.sent.length);
  }

  close(): void {
    this.closed = true;
    this.handler = null;
  }
}
