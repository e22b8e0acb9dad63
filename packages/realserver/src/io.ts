/**
 * The two devices tunvs-realserver uses: a capture of the NIC (@tunvs/pcap) and a TUN
 * device (@tunvs/tuntap). Loaded lazily so the decapsulation code and its tests need
 * neither native module.
 */
import type { Link } from '@tunvs/link';

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
  const m = (await import(spec)) as {
    openPcap(opts: { iface: string; filter?: string; inboundOnly?: boolean }): Link;
  };
  return m.openPcap({ iface: ifname, filter, inboundOnly: true });
}
