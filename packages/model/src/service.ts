import type { Dest } from './dest.js';
import { SvcFlag } from './constants.js';
import { Stats } from './stats.js';
import { DEFAULT_KERNEL, DEFAULT_SCHEDULER } from './names.js';
import type { KernelMode } from './names.js';

/**
 * A virtual service (the kernel's `struct ip_vs_service`): either protocol + VIP + port,
 * or a firewall mark (then protocol, addr and port are 0).
 *
 * `dests` is in the kernel's list order: a destination added later goes to the head
 * (index 0), so the order is the reverse of the order of `ipvsadm -a`. Schedulers depend
 * on this order for rr/wrr sequences and every "first wins" tie-break.
 *
 * Adding, finding and removing a destination cost O(1): the members are kept in insertion
 * order with an (addr, port) index, and the `dests` array is rebuilt (O(n)) the first time
 * it is read after a change, so adding n destinations in a row costs O(n), not O(n^2).
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
  readonly stats = new Stats();
  /** the destinations in insertion order (oldest first): `dests` is its reverse */
  private readonly members = new Set<Dest>();
  /** addr * 65536 + port -> destination */
  private readonly index = new Map<number, Dest>();
  private view: Dest[] = [];
  private stale = false;

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
    this.schedName = opts.schedName ?? DEFAULT_SCHEDULER;
    this.timeout = opts.timeout ?? 0;
    this.netmask = (opts.netmask ?? 0xffffffff) >>> 0;
    this.kernel = opts.kernel ?? DEFAULT_KERNEL;
  }

  get persistent(): boolean {
    return (this.flags & SvcFlag.PERSISTENT) !== 0;
  }

  /** The destinations in the kernel's list order (the last added first). Do not modify. */
  get dests(): Dest[] {
    if (this.stale) {
      // a packed array (not a holey one): the schedulers walk it per new connection
      const a: Dest[] = [];
      for (const d of this.members) a.push(d);
      this.view = a.reverse();
      this.stale = false;
    }
    return this.view;
  }

  /** Add a destination at the head of the list, as the kernel does. */
  insertDest(dest: Dest): void {
    this.members.delete(dest);
    this.members.add(dest);
    this.index.set(dest.addr * 65536 + dest.port, dest);
    this.stale = true;
    dest.service = this;
  }

  /** Remove a destination from the list; returns false when it was not there. */
  removeDest(dest: Dest): boolean {
    if (!this.members.delete(dest)) return false;
    const k = dest.addr * 65536 + dest.port;
    if (this.index.get(k) === dest) this.index.delete(k);
    this.stale = true;
    return true;
  }

  /** Find a destination by address and port. */
  findDest(addr: number, port: number): Dest | undefined {
    return this.index.get((addr >>> 0) * 65536 + port);
  }
}
