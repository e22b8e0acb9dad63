// The Link the in-process benches give a Director: it receives nothing by itself and counts
// the frames the Director writes (one copy for fastpath, its workers figure, scrape and sync).
import type { Link, PacketBatch } from '@tunvs/link';
import { newLinkCounters } from '@tunvs/link';

/**
 * A Link that receives nothing by itself and counts what the Director writes: IP packets
 * (`tun`, the default) or Ethernet frames (`tap`: the layer-2 path that TAP, AF_XDP and
 * AF_PACKET links run).
 */
export class CountingLink implements Link {
  constructor(readonly kind: 'tun' | 'tap' = 'tun') {}
  readonly name = 'bench0';
  readonly mtu = 1500;
  readonly vnetHdrLen = 0;
  readonly counters = newLinkCounters();
  written = 0;
  onBatch(): void {}
  writeBatch(b: PacketBatch): number {
    this.written += b.count;
    return b.count;
  }
  close(): void {}
}
