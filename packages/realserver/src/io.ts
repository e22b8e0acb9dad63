/**
 * The two devices tunvs-realserver uses: a capture of the NIC (@tunvs/pcap) and a TUN
 * device (@tunvs/tuntap). Loaded lazily so the decapsulation code and its tests need
 * neither native module.
 */
import { createRequire } from 'node:module';
import type { Link, LinkCounters, LinkKind, PacketBatch } from '@tunvs/link';
import { newLinkCounters } from '@tunvs/link';

/** An open TUN device: its Link and how to release it. */
export interface TunHandle {
  readonly link: Link;
  close(): void;
}

/** Open (create) the TUN device `name` and bring it up. */
export async function openTunDevice(name: string): Promise<TunHandle> {
  const spec = '@tunvs/tuntap';
  const m = (await import(spec)) as {
    openTun(opts: { name: string; up?: boolean; persist?: boolean }): { link: Link; close(): void };
  };
  const dev = m.openTun({ name, up: true, persist: false });
  return { link: dev.link, close: () => dev.close() };
}

/** Capture packets matching the BPF `filter` arriving on interface `ifname`. */
export async function openCapture(ifname: string, filter: string): Promise<Link> {
  const spec = '@tunvs/pcap';
  type PcapModule = { openPcap?: (opts: { device: string; filter?: string }) => Link };
  const m = (await import(spec).catch(() => null)) as PcapModule | null;
  if (m && typeof m.openPcap === 'function') return m.openPcap({ device: ifname, filter });
  return new CapLink(ifname, filter);
}

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(ev: 'packet', cb: (nbytes: number, trunc: boolean) => void): void;
  setMinBytes?(n: number): void;
  close(): void;
}

/**
 * A minimal capture-only Link over the `cap` npm package, used while @tunvs/pcap is not
 * available: one packet per callback (libpcap in immediate mode), the capture buffer is
 * the batch slab. Writing is not supported (counted as txErrors).
 */
export class CapLink implements Link {
  readonly kind: LinkKind;
  readonly mtu = 65535;
  readonly vnetHdrLen = 0;
  readonly counters: LinkCounters = newLinkCounters();
  private readonly cap: CapHandle;
  private readonly batch: PacketBatch;
  private handler: ((b: PacketBatch) => void) | null = null;
  private closed = false;

  constructor(readonly name: string, filter: string) {
    const require = createRequire(import.meta.url);
    const { Cap } = require('cap') as { Cap: new () => CapHandle };
    this.cap = new Cap();
    const buf = Buffer.alloc(65536);
    const linkType = this.cap.open(name, filter, 4 * 1024 * 1024, buf);
    if (linkType === 'ETHERNET') this.kind = 'tap';
    else if (linkType === 'IPV4' || linkType === 'RAW') this.kind = 'tun';
    else {
      this.cap.close();
      throw new Error(`cannot capture on ${name}: link type ${linkType} (Ethernet or raw IP expected)`);
    }
    this.batch = { buf, offsets: new Uint32Array(1), lengths: new Uint32Array(1), count: 0 };
    this.cap.setMinBytes?.(0);
    this.cap.on('packet', (nbytes, trunc) => {
      const c = this.counters;
      if (trunc) {
        c.rxErrors++;
        return;
      }
      c.rxPackets++;
      c.rxBytes += nbytes;
      c.rxBatches++;
      if (!this.handler) return;
      this.batch.lengths[0] = nbytes;
      this.batch.count = 1;
      this.handler(this.batch);
    });
  }

  onBatch(handler: (batch: PacketBatch) => void): void {
    this.handler = handler;
  }

  writeBatch(batch: PacketBatch): number {
    this.counters.txErrors += batch.count;
    return 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.cap.close();
  }
}
