/**
 * The Director: an LVS director on one packet device (a TUN or TAP Link, possibly several
 * queues of it), or on several layer-2 interfaces it owns (`interfaces`: a client side and
 * a server side, each with its MAC, addresses, subnets and ARP table). It wires the
 * tables and the modules together, kernel-style:
 *
 *   datapath.ts    the per-frame path (parse once, connection lookup, scheduling)
 *   xmit.ts        the per-link transmit side and per-batch context (routes, MTU, sends)
 *   l2.ts          TAP: addresses, ARP, neighbours, Ethernet headers (one per interface)
 *   routes.ts      TAP: which interface a next hop is on; where a VIP is answered
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
import { performance } from 'node:perf_hooks';
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
import { PrefetchGate } from './prefetch-gate.js';
import type { MarkRule } from './marks.js';
import type { Neighbours } from './neighbours.js';
import { Routes } from './routes.js';
import { ServiceTable } from './services.js';
import { Timers } from './timers.js';
import { TxSlab } from './txqueue.js';
import { TapXmit, TunXmit } from './xmit.js';
import type { LinkXmit, XmitShared } from './xmit.js';

const NO_RX = new Uint8Array(0);

export { TUNVS_VERSION } from './control.js';
export type { DirectorEvent } from './control.js';
export type { OwnedAddress } from './l2.js';
export type { LocalHandler } from './datapath.js';

/**
 * One interface of a layer-2 Director with several (`DirectorOptions.interfaces`): its
 * own MAC, addresses, on-link subnets and ARP table, like a NIC a DPDK application owns.
 */
export interface InterfaceOptions {
  /** its name (logs, errors, `addAddress`), unique in the Director */
  name: string;
  /** its queues, one Link each, all layer 2 (TAP, AF_XDP, AF_PACKET); every interface has as many */
  links: Link[];
  /** its MAC (6 bytes): it answers ARP with it and sends from it */
  mac: Uint8Array;
  /** addresses it owns (answers ARP for) with their on-link prefixes: the subnets routed through it */
  addresses?: OwnedAddress[];
  /** default route through this interface, when the Director has no `gateway` (the first interface's that has one) */
  gateway?: string;
  /**
   * Answer ARP (and send gratuitous ARP) here for the VIPs that lie on no subnet of the
   * Director; default: the first interface only. A VIP on a subnet is answered on that
   * subnet's interface.
   */
  vips?: boolean;
}

export interface DirectorOptions {
  /** the device (one Link per queue); all of one kind. Either this or `interfaces`. */
  links?: Link[];
  /**
   * Layer 2 with several interfaces (e.g. a client side and a server side): each its own
   * links, MAC, addresses and ARP; packets leave by the interface of their next hop
   * (longest prefix). Instead of `links`, `mac` and `addresses`.
   */
  interfaces?: InterfaceOptions[];
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
  /** TAP: default gateway for destinations not on any on-link subnet (with `interfaces`: on the interface whose subnet holds it) */
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
  /** TAP: layer 2 (addresses, ARP, neighbours) of the first interface; null on TUN */
  readonly l2: L2 | null;
  /** TAP: every interface's layer 2, by index (one without `interfaces`); [] on TUN */
  readonly ifaces: readonly L2[];
  /** TAP: the routes over the interfaces; null on TUN */
  readonly routes: Routes | null;
  private readonly links: Link[];
  private readonly xmits = new Map<Link, LinkXmit>();
  private readonly estimator = new Estimator();
  private readonly datapath: Datapath;
  private readonly control: Control;
  private readonly timers: Timers;
  private readonly settings: DatapathSettings = { sloppyTcp: false, prefetch: true, prefetchMinEntries: PREFETCH_MIN_ENTRIES };
  /** whether the pre-pass pays on the traffic of now (timed probes) */
  readonly prefetchGate = new PrefetchGate();
  /** local protocol handlers (VRRP), by IPv4 protocol number */
  private readonly local = new Map<number, LocalHandler>();
  private readonly now: () => number;
  private readonly useTimers: boolean;
  private started = false;

  constructor(opts: DirectorOptions) {
    const ifs = opts.interfaces !== undefined ? checkInterfaces(opts) : null;
    const links = ifs !== null ? ifs.flatMap((i) => i.links) : opts.links ?? [];
    if (links.length === 0) throw new Error('a Director needs at least one link');
    const kernel = opts.kernel ?? DEFAULT_KERNEL;
    if (!isKernelMode(kernel)) throw new Error(`unknown kernel mode '${String(kernel)}' (classic or 2026)`);
    this.kernel = kernel;
    this.links = links;
    this.kind = links[0]!.kind;
    // one layer for all: a TAP frame read as a TUN packet would be dropped as malformed
    const other = links.find((l) => l.kind !== this.kind);
    if (other !== undefined) throw new Error(`a Director's links are all TUN or all TAP: ${links[0]!.name} is ${this.kind.toUpperCase()}, ${other.name} is ${other.kind.toUpperCase()}`);
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
    const shared: XmitShared = { counters: this.counters, table: this.table, pmtuDisc: opts.pmtuDisc ?? true, local: this.local };
    const gateway = opts.gateway ? parseIpv4(opts.gateway) : 0;
    if (ifs !== null) {
      this.ifaces = ifs.map((i, index) => {
        const l2 = new L2(i.mac, this.table, this.counters, i.links[0]!, i.gateway ? parseIpv4(i.gateway) : 0, src);
        l2.name = i.name;
        l2.index = index;
        l2.offLinkVips = i.vips ?? index === 0;
        return l2;
      });
    } else if (this.kind === 'tap') {
      if (!opts.mac || opts.mac.length !== 6) throw new Error('a TAP Director needs its MAC address (mac: 6 bytes)');
      this.ifaces = [new L2(opts.mac, this.table, this.counters, this.links[0]!, gateway, src)];
    } else {
      this.ifaces = [];
      if (src === 0 && opts.addresses?.[0]) src = parseIpv4(opts.addresses[0].addr);
    }
    this.l2 = this.ifaces[0] ?? null;
    if (this.ifaces.length > 0) {
      const routes = new Routes(this.ifaces, gateway);
      this.routes = routes;
      for (const l2 of this.ifaces) l2.routes = routes;
      if (ifs !== null) ifs.forEach((i, k) => { for (const a of i.addresses ?? []) this.ifaces[k]!.addAddress(a); });
      else for (const a of opts.addresses ?? []) this.l2!.addAddress(a);
      if (ifs !== null) {
        // queue q of every interface transmits for a batch of any of them: one group, one slab
        for (let q = 0; q < ifs[0]!.links.length; q++) {
          const slab = new TxSlab(256);
          const peers = ifs.map((i, k) => new TapXmit(i.links[q]!, shared, this.ifaces[k]!, routes, slab));
          for (const x of peers) {
            x.peers = peers;
            x.group = peers;
            this.xmits.set(x.link, x);
          }
        }
      } else {
        for (const l of this.links) this.xmits.set(l, new TapXmit(l, shared, this.l2!, routes));
      }
    } else {
      this.routes = null;
      for (const l of this.links) this.xmits.set(l, new TunXmit(l, shared, src));
    }
    this.forwarders = new ForwarderTable(this.xmits.get(this.links[0]!)!.facts(), checkFtpPorts(opts.ftpPorts ?? FTP_DEFAULT_PORTS));
    const icmp = new IcmpRelay(this.conns, this.forwarders, this.counters);
    const frags = new FragmentPath(this.fragments, this.conns, this.forwarders, this.counters);
    this.datapath = new Datapath(this.conns, this.table, this.forwarders, this.marks, icmp, frags, this.counters, this.settings, this.local);
    this.timers = new Timers(this.conns, this.table, this.fragments, this.estimator, this.counters, this.ifaces, this.now);
    this.control = new Control({
      table: this.table, conns: this.conns, estimator: this.estimator, fwds: this.forwarders, counters: this.counters,
      neighbours: this.ifaces.map((l) => l.neighbours), links: this.links, now: this.now, onEvent: opts.onEvent ?? (() => {}),
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
   * `prefetchMinEntries` entries and timed probes (`prefetchGate`) say it pays. On by
   * default; off, each lookup waits for its own cache misses. Either way the packets are
   * handled alike.
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

  /** TAP: the ARP cache (of the first interface: `ifaces[i].neighbours` for the others); null on TUN. */
  get neighbours(): Neighbours | null {
    return this.l2 !== null ? this.l2.neighbours : null;
  }

  /** Add an address the Director owns (TAP: answers ARP for it, on-link prefix), on interface `iface` (default: the first). */
  addAddress(a: OwnedAddress, iface?: string): void {
    if (this.l2 === null) throw new Error('addresses are owned on a TAP link; a TUN director has its host\'s');
    this.iface(iface, 'addAddress').addAddress(a);
  }

  /** The layer 2 of interface `name` (default: the first). */
  private iface(name: string | undefined, what: string): L2 {
    if (name === undefined) return this.tapL2(what);
    const l2 = this.ifaces.find((l) => l.name === name);
    if (l2 === undefined) throw new Error(`${what}: no interface '${name}' (the Director has ${this.ifaces.map((l) => `'${l.name}'`).join(', ') || 'none named'})`);
    return l2;
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
    // with several interfaces, what the batch sends may leave by any of them
    x.beginGroup(this.now());
    const buf = batch.buf;
    const dp = this.datapath;
    const n = batch.count;
    this.counters.rxPackets += n;
    const offsets = batch.offsets;
    const lengths = batch.lengths;
    // in groups: the pre-pass reads the group's connection-table lines (their misses
    // overlap), then its frames go through the data path one by one, in order; whether it
    // runs, the gate's timed probes decide (it does not pay on lines already in cache)
    let pre = this.settings.prefetch && this.conns.size >= this.settings.prefetchMinEntries;
    let probe = 0;
    let t0 = 0;
    if (pre) {
      const gate = this.prefetchGate;
      probe = gate.probe(n);
      if (probe === 0) pre = gate.on;
      else {
        pre = probe === 1;
        t0 = performance.now();
      }
    }
    for (let g = 0; g < n; g += PREFETCH_GROUP) {
      const end = Math.min(n, g + PREFETCH_GROUP);
      if (pre && end - g > 1) {
        dp.prefetch(x, buf, offsets, lengths, g, end);
        // each lookup reuses the bucket the pass hashed its frame's key to
        const buckets = dp.buckets;
        for (let i = g; i < end; i++) dp.receive(x, buf, offsets[i]!, lengths[i]!, buckets[i - g]!);
      } else {
        for (let i = g; i < end; i++) dp.receive(x, buf, offsets[i]!, lengths[i]!);
      }
    }
    if (probe !== 0) this.prefetchGate.record(probe, (performance.now() - t0) * 1e6, n);
    this.counters.txPackets += x.flushGroup(buf);
  }

  /** Gratuitous ARP for a new VIP (TAP, once started), on the interface it is placed on. */
  private announce(vip: number): void {
    if (!this.started) return;
    for (const l2 of this.ifaces) l2.announce(vip);
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
    this.tapL2('setAddressActive');
    const a = parseIpv4(addr);
    for (const l2 of this.ifaces) l2.hold(a, active);
  }

  /** Release an address from VRRP control (back to the Director's own rules). */
  releaseAddress(addr: string): void {
    this.tapL2('releaseAddress');
    const a = parseIpv4(addr);
    for (const l2 of this.ifaces) l2.release(a);
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
   * transmit queue (at once, or with the batch being handled): to an IPv4 group's MAC (on
   * interface `iface`, default the first), or to the next hop's from the neighbour table
   * (on the next hop's interface). When the next hop is not resolved yet an
   * ARP request goes out instead and false is returned (the caller sends again later, as
   * VRRP does with its next advert); false also without a route (counted).
   */
  sendDatagram(datagram: Uint8Array, iface?: string): boolean {
    if (datagram.length < Ipv4Field.HEADER_LEN) throw new RangeError(`sendDatagram: ${datagram.length} bytes is no IPv4 datagram`);
    return this.originating('sendDatagram', iface, (x) => x.originate(datagram));
  }

  /** Send one Ethernet frame as given (TAP; VRRP's gratuitous ARP) on the first link of interface `iface` (default the first). */
  sendFrame(frame: Uint8Array, iface?: string): void {
    this.originating('sendFrame', iface, (x) => x.originateFrame(frame));
  }

  /** The Director's MAC address (TAP; of the first interface, `ifaces[i].mac` for the others). */
  get macAddress(): Uint8Array {
    return this.tapL2('macAddress').mac;
  }

  private tapL2(what: string): L2 {
    if (this.l2 === null) throw new Error(`${what} is for a TAP Director`);
    return this.l2;
  }

  /** Run `send` on the first transmit side of an interface; outside a batch, flush its group at once. */
  private originating<T>(what: string, iface: string | undefined, send: (x: TapXmit) => T): T {
    const l2 = this.iface(iface, what);
    const x = this.xmits.get(this.linkOf(l2)) as TapXmit;
    if (x.inBatch) return send(x);
    x.beginGroup(this.now());
    try {
      return send(x);
    } finally {
      this.counters.txPackets += x.flushGroup(NO_RX);
    }
  }

  /** The first link of an interface. */
  private linkOf(l2: L2): Link {
    for (const [link, x] of this.xmits) if ((x as TapXmit).l2 === l2) return link;
    throw new Error(`interface '${l2.name}' has no link`);
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


/** Check the `interfaces` option: what a Director with several interfaces cannot take, named. */
function checkInterfaces(opts: DirectorOptions): InterfaceOptions[] {
  const ifs = opts.interfaces!;
  const top = (['links', 'mac', 'addresses'] as const).filter((k) => opts[k] !== undefined);
  if (top.length > 0) throw new Error(`interfaces: ${top.join(', ')} belong inside each interface, not next to "interfaces"`);
  if (ifs.length === 0) throw new Error('interfaces: at least one interface');
  const names = new Set<string>();
  const queues = ifs[0]!.links.length;
  const vnet = ifs[0]!.links[0]?.vnetHdrLen ?? 0;
  for (const i of ifs) {
    const at = `interfaces: '${i.name}'`;
    if (!i.name) throw new Error('interfaces: every interface needs a name');
    if (names.has(i.name)) throw new Error(`${at} is given twice`);
    names.add(i.name);
    if (i.links.length === 0) throw new Error(`${at} has no links`);
    if (!i.mac || i.mac.length !== 6) throw new Error(`${at} needs its MAC address (mac: 6 bytes)`);
    for (const l of i.links) {
      if (l.kind !== 'tap') throw new Error(`${at}: link ${l.name} is a TUN device (layer 3); the interfaces of a Director are layer 2 (TAP, AF_XDP, AF_PACKET), each with its MAC and ARP`);
      if (l.vnetHdrLen !== vnet) throw new Error(`${at}: link ${l.name} has a ${l.vnetHdrLen}-byte vnet header, the first interface's links ${vnet}: a packet goes out of one interface as it came in on another, so all must agree`);
    }
    // queue q of every interface sends what a batch of queue q of any of them forwards
    if (i.links.length !== queues) throw new Error(`${at} has ${i.links.length} links, '${ifs[0]!.name}' ${queues}: every interface needs as many queues (queue i of each transmits for queue i of the others)`);
  }
  return ifs;
}

/** The FTP helper's port list as the module's `ports=` takes it: 1..65535, at most 8. */
export function checkFtpPorts(ports: readonly number[]): number[] {
  if (ports.length > FTP_MAX_PORTS) throw new RangeError(`ftp ports: at most ${FTP_MAX_PORTS} ports (IP_VS_APP_MAX_PORTS), got ${ports.length}`);
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`ftp ports: ${String(p)} is not a port (1-65535)`);
  }
  return [...ports];
}
