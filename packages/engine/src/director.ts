/**
 * The Director: an LVS director on one packet device (a TUN or TAP Link, possibly several
 * queues of it). It wires the tables and the modules together, kernel-style:
 *
 *   datapath.ts    the per-frame path (parse once, connection lookup, scheduling)
 *   xmit.ts        the per-link transmit side and per-batch context (routes, MTU, sends)
 *   l2.ts          TAP: addresses, ARP, neighbours, Ethernet headers
 *   icmp.ts        ICMP errors about tracked flows, echo replies
 *   fragments.ts   fragments that follow their first fragment's connection
 *   forwarders.ts  the forwarding methods, bound to each connection once
 *   timers.ts      expiry, estimator, neighbour upkeep
 *   control.ts     the control API (DirectorControl) over the same tables
 *
 * The per-packet path allocates nothing: the parser fills a reused descriptor, addresses
 * are numbers, the connection table is typed arrays.
 */
import type { ConnHooks, ConnTableSwitches } from '@tunvs/conntrack';
import { ConnTable } from '@tunvs/conntrack';
import type { Link, PacketBatch } from '@tunvs/link';
import { DEFAULT_KERNEL, Proto, isKernelMode } from '@tunvs/model';
import type {
  ConnInfo, DefenseSettings, DestSpec, DirectorControl, DirectorInfo, KernelMode, ServiceInfo, ServiceKey, ServiceSpec, Timeouts,
} from '@tunvs/model';
import { Ipv4Field, parseIpv4 } from '@tunvs/packet';
import { FTP_DEFAULT_PORTS, FTP_MAX_PORTS } from '@tunvs/forwarder-nat';
import type { Dest } from '@tunvs/model';
import { Control } from './control.js';
import type { DirectorEvent } from './control.js';
import { DirectorCounters } from './counters.js';
import { Datapath, PREFETCH_GROUP, PREFETCH_MIN_ENTRIES } from './datapath.js';
import type { DatapathSettings, LocalHandler, SyncHook } from './datapath.js';
import { Estimator } from './estimator.js';
import { ForwarderTable } from './forwarders.js';
import { FragmentPath, Fragments } from './fragments.js';
import { IcmpRelay } from './icmp.js';
import { L2 } from './l2.js';
import type { OwnedAddress } from './l2.js';
import { MarkClassifier } from './marks.js';
import type { MarkRule } from './marks.js';
import type { Neighbours } from './neighbours.js';
import { ServiceTable } from './services.js';
import { Timers } from './timers.js';
import { TapXmit, TunXmit } from './xmit.js';
import type { LinkXmit, XmitShared } from './xmit.js';

const NO_RX = new Uint8Array(0);

export { TUNVS_VERSION } from './control.js';
export type { DirectorEvent } from './control.js';
export type { OwnedAddress } from './l2.js';
export type { LocalHandler } from './datapath.js';

export interface DirectorOptions {
  /** the device (one Link per queue); all of one kind */
  links: Link[];
  /** connection table capacity (hard cap), default 262144 */
  connCapacity?: number;
  /**
   * The kernel generation to mimic where the 2026 fixes changed behaviour: 'classic'
   * (default) or '2026'. Carried to the connection table (OVERLOAD on bind/unbind),
   * threshold edits and the schedulers' connection overhead.
   */
  kernel?: KernelMode;
  /** TAP: our MAC (6 bytes); required in TAP mode */
  mac?: Uint8Array;
  /** TAP: addresses we own (DIPs) with their on-link prefixes; VIPs are added by services */
  addresses?: OwnedAddress[];
  /** TAP: default gateway for destinations not on any on-link subnet */
  gateway?: string;
  /** source address for IPIP outer headers (and ICMP errors not about a VIP); default: the first owned address */
  sourceAddress?: string;
  /** connection-table switches (expire_nodest_conn, conn_reuse_mode, ...); the kernel mode is the `kernel` option */
  conntrack?: Partial<Omit<ConnTableSwitches, 'kernel'>>;
  /**
   * Told when a connection is created, changes state or leaves the table (slot numbers,
   * no allocation): the hook of a connection-sync master.
   */
  connHooks?: ConnHooks;
  /** sysctl pmtu_disc for tunnels (copy DF to the outer header), default true */
  pmtuDisc?: boolean;
  /** the clock, in milliseconds; default Date.now (tests pass a fake) */
  now?: () => number;
  /** start timers (estimator, expiry) on start(); default true. Tests call tick() themselves. */
  timers?: boolean;
  /**
   * The FTP helper's ports (the kernel's `modprobe ip_vs_ftp ports=21,...`), default [21];
   * [] turns the helper off. It acts on NAT services (TCP, VIP:port) on these ports.
   */
  ftpPorts?: readonly number[];
  /** firewall-mark rules (the iptables MARK equivalent) */
  marks?: MarkRule[];
  /** called for events: service/dest changes, for logs */
  onEvent?: (ev: DirectorEvent) => void;
}

export class Director implements DirectorControl {
  readonly kind: 'tun' | 'tap';
  readonly kernel: KernelMode;
  readonly table: ServiceTable;
  readonly conns: ConnTable;
  readonly counters = new DirectorCounters();
  readonly fragments = new Fragments();
  readonly marks: MarkClassifier;
  readonly forwarders: ForwarderTable;
  /** TAP: layer 2 (addresses, ARP, neighbours); null on TUN */
  readonly l2: L2 | null;
  private readonly links: Link[];
  private readonly xmits = new Map<Link, LinkXmit>();
  private readonly estimator = new Estimator();
  private readonly datapath: Datapath;
  private readonly control: Control;
  private readonly timers: Timers;
  private readonly settings: DatapathSettings = { sloppyTcp: false, prefetch: true, prefetchMinEntries: PREFETCH_MIN_ENTRIES };
  /** local protocol handlers (VRRP), by IPv4 protocol number */
  private readonly local = new Map<number, LocalHandler>();
  private readonly now: () => number;
  private readonly useTimers: boolean;
  private started = false;

  constructor(opts: DirectorOptions) {
    if (opts.links.length === 0) throw new Error('a Director needs at least one link');
    const kernel = opts.kernel ?? DEFAULT_KERNEL;
    if (!isKernelMode(kernel)) throw new Error(`unknown kernel mode '${String(kernel)}' (classic or 2026)`);
    this.kernel = kernel;
    this.links = opts.links;
    this.kind = opts.links[0]!.kind;
    this.now = opts.now ?? Date.now;
    this.useTimers = opts.timers ?? true;
    this.marks = new MarkClassifier(opts.marks ?? []);
    this.table = new ServiceTable({ vipAdded: (vip) => this.announce(vip), destRemoved: () => this.onDestRemoved() }, { kernel, now: this.now });
    this.conns = new ConnTable({
      capacity: opts.connCapacity ?? 262144,
      registry: this.table.registry,
      options: { ...opts.conntrack, kernel },
      hooks: this.connHooks(opts.connHooks ?? {}),
    });
    let src = opts.sourceAddress ? parseIpv4(opts.sourceAddress) : 0;
    if (this.kind === 'tap') {
      if (!opts.mac || opts.mac.length !== 6) throw new Error('a TAP Director needs its MAC address (mac: 6 bytes)');
      const gateway = opts.gateway ? parseIpv4(opts.gateway) : 0;
      this.l2 = new L2(opts.mac, this.table, this.counters, this.links[0]!, gateway, src);
      for (const a of opts.addresses ?? []) this.l2.addAddress(a);
    } else {
      this.l2 = null;
      if (src === 0 && opts.addresses?.[0]) src = parseIpv4(opts.addresses[0].addr);
    }
    const shared: XmitShared = { counters: this.counters, table: this.table, pmtuDisc: opts.pmtuDisc ?? true, local: this.local };
    for (const l of this.links) {
      this.xmits.set(l, this.l2 !== null ? new TapXmit(l, shared, this.l2) : new TunXmit(l, shared, src));
    }
    this.forwarders = new ForwarderTable(this.xmits.get(this.links[0]!)!.facts(), checkFtpPorts(opts.ftpPorts ?? FTP_DEFAULT_PORTS));
    const icmp = new IcmpRelay(this.conns, this.forwarders, this.counters);
    const frags = new FragmentPath(this.fragments, this.conns, this.forwarders, this.counters);
    this.datapath = new Datapath(this.conns, this.table, this.forwarders, this.marks, icmp, frags, this.counters, this.settings, this.local);
    this.timers = new Timers(this.conns, this.table, this.fragments, this.estimator, this.counters, this.l2, this.now);
    this.control = new Control({
      table: this.table, conns: this.conns, estimator: this.estimator, fwds: this.forwarders, counters: this.counters,
      neighbours: this.neighbours, links: this.links, now: this.now, onEvent: opts.onEvent ?? (() => {}),
    });
  }

  /** The table's hooks: the caller's, and the sync daemons' `created` when they run. */
  private connHooks(user: ConnHooks): ConnHooks {
    const created = user.created;
    const expired = user.expired;
    return {
      ...user,
      // the FTP helper's per-connection state goes with its connection
      expired: (slot, reason) => {
        const ftp = this.forwarders.ftp;
        if (ftp.tracked > 0) ftp.forget(slot);
        if (expired) expired(slot, reason);
      },
      created: (slot) => {
        if (created) created(slot);
        const h = this.datapath.sync;
        if (h !== null) h.created(slot);
      },
    };
  }

  /** Install (or remove, null) the connection-sync hook (@tunvs/sync's daemons). */
  setSyncHook(hook: SyncHook | null): void {
    this.datapath.sync = hook;
  }

  /** The fwmark the mark rules give a packet of (proto, daddr, dport); 0 = none. */
  markOf(proto: number, daddr: number, dport: number): number {
    return this.marks.size > 0 ? this.marks.classify(proto, daddr, dport) : 0;
  }

  /** sysctl sloppy_tcp: create connections from any TCP segment, not only SYN. */
  get sloppyTcp(): boolean {
    return this.settings.sloppyTcp;
  }
  set sloppyTcp(v: boolean) {
    this.settings.sloppyTcp = v;
  }

  /**
   * The batch pre-pass (Datapath.prefetch): read the connection-table lines of a group of
   * frames together before processing them one by one, while the table holds at least
   * `prefetchMinEntries` entries. On by default; off, each lookup waits for its own cache
   * misses. Either way the packets are handled alike.
   */
  get prefetch(): boolean {
    return this.settings.prefetch;
  }
  set prefetch(v: boolean) {
    this.settings.prefetch = v;
  }

  /** The table size from which the pre-pass runs (PREFETCH_MIN_ENTRIES by default). */
  get prefetchMinEntries(): number {
    return this.settings.prefetchMinEntries;
  }
  set prefetchMinEntries(v: number) {
    if (!(v >= 0)) throw new RangeError('prefetchMinEntries must be >= 0');
    this.settings.prefetchMinEntries = v;
  }

  /** The FTP helper's ports ([] = off). */
  get ftpPorts(): readonly number[] {
    return this.forwarders.ftp.ports;
  }

  /**
   * Change the FTP helper's ports (1..65535, at most 8; [] turns it off). New connections
   * follow the new list; existing ones keep their helper, as in the kernel.
   */
  setFtpPorts(ports: readonly number[]): void {
    const list = checkFtpPorts(ports);
    this.forwarders.setFtpPorts(list, this.allDests());
  }

  private *allDests(): IterableIterator<Dest> {
    for (const s of this.table.services) yield* s.dests;
  }

  /** TAP: the ARP cache; null on TUN. */
  get neighbours(): Neighbours | null {
    return this.l2 !== null ? this.l2.neighbours : null;
  }

  /** Add an address the Director owns (TAP: answers ARP for it, on-link prefix). */
  addAddress(a: OwnedAddress): void {
    if (this.l2 === null) throw new Error('addresses are owned on a TAP link; a TUN director has its host\'s');
    this.l2.addAddress(a);
  }

  // --------------------------------------------------------------- lifecycle

  /** Start reading the links and the periodic timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const link of this.links) link.onBatch((b) => this.processBatch(link, b));
    if (this.useTimers) this.timers.start();
    for (const vip of this.table.vipList()) this.announce(vip);
  }

  /** Stop timers and close the links. */
  stop(): void {
    this.timers.stop();
    for (const l of this.links) l.close();
    this.started = false;
  }

  /** Periodic work: connection expiry, neighbour upkeep, fragment expiry. */
  tick(now = this.now()): void {
    this.timers.tick(now);
  }

  /** Run the rate estimator once (tests; the timer does it every 2 s). */
  estimate(): void {
    this.estimator.tick();
  }

  /** Process one batch received on `link`: every frame through the data path, then one write. */
  processBatch(link: Link, batch: PacketBatch): void {
    const x = this.xmits.get(link)!;
    x.begin(this.now());
    const buf = batch.buf;
    const dp = this.datapath;
    const n = batch.count;
    this.counters.rxPackets += n;
    const offsets = batch.offsets;
    const lengths = batch.lengths;
    // in groups: the pre-pass reads the group's connection-table lines (their misses
    // overlap), then its frames go through the data path one by one, in order
    const pre = this.settings.prefetch && this.conns.size >= this.settings.prefetchMinEntries;
    for (let g = 0; g < n; g += PREFETCH_GROUP) {
      const end = Math.min(n, g + PREFETCH_GROUP);
      if (pre && end - g > 1) dp.prefetch(x, buf, offsets, lengths, g, end);
      for (let i = g; i < end; i++) dp.receive(x, buf, offsets[i]!, lengths[i]!);
    }
    this.counters.txPackets += x.flush(buf);
  }

  /** Gratuitous ARP for a new VIP (TAP, once started). */
  private announce(vip: number): void {
    if (this.l2 !== null && this.started) this.l2.announce(vip);
  }

  // ------------------------------------------ VRRP on TAP (the host side of VIPs)

  /**
   * Put an address under a VRRP instance's control (TAP): while standby (backup) the
   * Director neither answers ARP or ping for it nor announces it, even when it is the VIP
   * of a virtual service; while active (master) it answers for it like an owned address,
   * also when no virtual service uses it (a real servers' gateway VIP). Announcing the
   * change (gratuitous ARP) is the caller's: VRRP has its own timing.
   */
  setAddressActive(addr: string, active: boolean): void {
    this.tapL2('setAddressActive').hold(parseIpv4(addr), active);
  }

  /** Release an address from VRRP control (back to the Director's own rules). */
  releaseAddress(addr: string): void {
    this.tapL2('releaseAddress').release(parseIpv4(addr));
  }

  /**
   * Receive IPv4 datagrams of `protocol` that the Director does not forward (VRRP: 112),
   * addressed to our MAC, broadcast or (TAP) an IPv4 multicast MAC: the handler gets a
   * copy from the IP header (TTL as received, IP checksum verified). `null` removes it.
   */
  onLocalProtocol(protocol: number, handler: LocalHandler | null): void {
    if (protocol === Proto.TCP || protocol === Proto.UDP || protocol === Proto.SCTP || protocol === Proto.ICMP) {
      throw new Error(`protocol ${protocol} is the Director's own`);
    }
    if (handler) this.local.set(protocol, handler);
    else this.local.delete(protocol);
  }

  /**
   * Send an IPv4 datagram the Director originates (TAP), through the first link's
   * transmit queue (at once, or with the batch being handled): to an IPv4 group's MAC, or
   * to the next hop's from the neighbour table. When the next hop is not resolved yet an
   * ARP request goes out instead and false is returned (the caller sends again later, as
   * VRRP does with its next advert); false also without a route (counted).
   */
  sendDatagram(datagram: Uint8Array): boolean {
    if (datagram.length < Ipv4Field.HEADER_LEN) throw new RangeError(`sendDatagram: ${datagram.length} bytes is no IPv4 datagram`);
    return this.originating('sendDatagram', (x) => x.originate(datagram));
  }

  /** Send one Ethernet frame as given (TAP; VRRP's gratuitous ARP) on the first link. */
  sendFrame(frame: Uint8Array): void {
    this.originating('sendFrame', (x) => x.originateFrame(frame));
  }

  /** The Director's MAC address (TAP). */
  get macAddress(): Uint8Array {
    return this.tapL2('macAddress').mac;
  }

  private tapL2(what: string): L2 {
    if (this.l2 === null) throw new Error(`${what} is for a TAP Director`);
    return this.l2;
  }

  /** Run `send` on the first link's transmit side; outside a batch, flush its queue at once. */
  private originating<T>(what: string, send: (x: TapXmit) => T): T {
    this.tapL2(what);
    const x = this.xmits.get(this.links[0]!) as TapXmit;
    if (x.inBatch) return send(x);
    x.begin(this.now());
    try {
      return send(x);
    } finally {
      this.counters.txPackets += x.flush(NO_RX);
    }
  }

  /** expire_nodest_conn: the kernel's background flush of entries whose destination left. */
  private onDestRemoved(): void {
    if (this.conns.options.expireNodestConn) this.conns.expireNodest(this.now());
  }

  // ---------------------------------------------------------- DirectorControl

  addService(spec: ServiceSpec): void {
    this.control.addService(spec);
  }
  editService(spec: ServiceSpec): void {
    this.control.editService(spec);
  }
  deleteService(key: ServiceKey): void {
    this.control.deleteService(key);
  }
  clear(): void {
    this.control.clear();
  }
  addDest(key: ServiceKey, dest: DestSpec): void {
    this.control.addDest(key, dest);
  }
  editDest(key: ServiceKey, dest: DestSpec): void {
    this.control.editDest(key, dest);
  }
  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    this.control.deleteDest(key, dest);
  }
  zero(key?: ServiceKey): void {
    this.control.zero(key);
  }
  listServices(): ServiceInfo[] {
    return this.control.listServices();
  }
  getService(key: ServiceKey): ServiceInfo {
    return this.control.getService(key);
  }
  listConnections(): ConnInfo[] {
    return this.control.listConnections();
  }

  /** The connection table read lazily (the control socket streams it in chunks). */
  connections(): IterableIterator<ConnInfo> {
    return this.control.connections();
  }
  setTimeouts(t: Partial<Timeouts>): void {
    this.control.setTimeouts(t);
  }
  getTimeouts(): Timeouts {
    return this.control.getTimeouts();
  }
  /**
   * The kernel's defence sysctls (ipvs-sysctl): `dropEntry`, `dropPacket`, `secureTcp`
   * modes 0..3, `amemthresh` (pages of free connection-table room), `amDroprate`. Values
   * are checked as the kernel checks them (InvalidValue otherwise) and take effect at once.
   */
  setDefense(d: Partial<DefenseSettings>): void {
    this.control.setDefense(d);
  }
  /** The defence settings; an automatic mode reads 1 or 2 as the last update left it. */
  getDefense(): DefenseSettings {
    return this.control.getDefense();
  }
  info(): DirectorInfo {
    return this.control.info();
  }
  /** Named counters of the Director, its table, its neighbour cache and its links. */
  stats(): Record<string, number> {
    return this.control.stats();
  }
}


/** The FTP helper's port list as the module's `ports=` takes it: 1..65535, at most 8. */
export function checkFtpPorts(ports: readonly number[]): number[] {
  if (ports.length > FTP_MAX_PORTS) throw new RangeError(`ftp ports: at most ${FTP_MAX_PORTS} ports (IP_VS_APP_MAX_PORTS), got ${ports.length}`);
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`ftp ports: ${String(p)} is not a port (1-65535)`);
  }
  return [...ports];
}
