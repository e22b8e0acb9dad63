import type { Dest } from './dest.js';
import { SvcFlag } from './constants.js';
import { Stats } from './stats.js';
import { DEFAULT_KERNEL } from './names.js';
import type { KernelMode } from './names.js';

/**
 * A virtual service (the kernel's `struct ip_vs_service`): either protocol + VIP + port,
 * or a firewall mark (then protocol, addr and port are 0).
 *
 * `dests` is in the kernel's list order: a destination added later goes to the head
 * (index 0), so the order is the reverse of the order of `ipvsadm -a`. Schedulers depend
 * on this order for rr/wrr sequences and every "first wins" tie-break.
 */
export class Service {
  /** Proto.TCP / Proto.UDP, or 0 for a firewall-mark service */
  protocol: number;
  /** VIP as uint32, 0 for a firewall-mark service */
  addr: number;
  /** port, 0 for fwmark services and for "all ports" services */
  port: number;
  /** firewall mark, 0 for address services */
  fwmark: number;
  /** SvcFlag bits */
  flags: number;
  /** scheduler name, as ipvsadm's `-s` takes it */
  schedName: string;
  /** persistence timeout in seconds (meaningful with SvcFlag.PERSISTENT) */
  timeout: number;
  /** persistence netmask as uint32, default 255.255.255.255 */
  netmask: number;
  /** the kernel generation whose rules apply (the overhead of the counting schedulers, lblc/lblcr limits) */
  readonly kernel: KernelMode;
  readonly dests: Dest[] = [];
  readonly stats = new Stats();

  constructor(opts: {
    protocol?: number;
    addr?: number;
    port?: number;
    fwmark?: number;
    flags?: number;
    schedName?: string;
    timeout?: number;
    netmask?: number;
    kernel?: KernelMode;
  }) {
    this.protocol = opts.protocol ?? 0;
    this.addr = (opts.addr ?? 0) >>> 0;
    this.port = opts.port ?? 0;
    this.fwmark = opts.fwmark ?? 0;
    this.flags = opts.flags ?? 0;
    this.schedName = opts.schedName ?? 'wlc';
    this.timeout = opts.timeout ?? 0;
    this.netmask = (opts.netmask ?? 0xffffffff) >>> 0;
    this.kernel = opts.kernel ?? DEFAULT_KERNEL;
  }

  get persistent(): boolean {
    return (this.flags & SvcFlag.PERSISTENT) !== 0;
  }

  /** Add a destination at the head of the list, as the kernel does. */
  insertDest(dest: Dest): void {
    this.dests.unshift(dest);
    dest.service = this;
  }

  /** Remove a destination from the list; returns false when it was not there. */
  removeDest(dest: Dest): boolean {
    const i = this.dests.indexOf(dest);
    if (i < 0) return false;
    this.dests.splice(i, 1);
    return true;
  }

  /** Find a destination by address and port. */
  findDest(addr: number, port: number): Dest | undefined {
    for (const d of this.dests) if (d.addr === addr >>> 0 && d.port === port) return d;
    return undefined;
  }
}
