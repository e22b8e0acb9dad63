/**
 * VRRP on the host's own interfaces, as keepalived does it (and as a TUN director needs it,
 * where VIPs and routes are host state): one raw protocol-112 socket per interface (joined
 * to 224.0.0.18 when an instance there is multicast), gratuitous ARP through a packet
 * socket, VIPs and virtual routes added and removed through rtnetlink, interface state from
 * netlink events, and `use_vmac` as a private macvlan with MAC 00:00:5e:00:01:VRID.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { NetlinkMonitor, PacketSocket, RawIpSocket, Rtnetlink, ROUTE_TYPES, SCOPES, ifInfo, IFF_UP, IFF_RUNNING, HostnetError } from '@tunvs/hostnet';
import type { IfInfo } from '@tunvs/hostnet';
import { formatIpv4, parseIpv4 } from '@tunvs/packet';
import { IPPROTO_VRRP, VRRP_MCAST_GROUP, emitVrrpGarp, vrrpVirtualMac } from '@tunvs/vrrp';
import type { VrrpInstanceConfig, VrrpRoute, VrrpVip } from '@tunvs/keepalived';

/** What the runtime asks of the host. */
export interface VrrpBackend {
  /** Open sockets for the instances; received datagrams are handed to `rx` with the interface name. */
  open(instances: readonly BackendInstance[], rx: (ifname: string, data: Uint8Array) => void): void;
  /** Our source address for adverts of this instance (configured, else the interface's primary). */
  sourceAddress(bi: BackendInstance): number;
  sendAdvert(bi: BackendInstance, datagrams: { dst: number; datagram: Uint8Array }[]): void;
  setAddresses(bi: BackendInstance, up: boolean): void;
  garp(bi: BackendInstance, repeat: number): void;
  /** IFF_UP and IFF_RUNNING */
  interfaceUp(name: string): boolean;
  /** Called when an interface changes state. */
  onLinkChange(cb: (name: string) => void): void;
  close(): void;
}

/** An instance as the backend sees it. */
export interface BackendInstance {
  cfg: VrrpInstanceConfig;
  /** where adverts go out and come in: the vmac interface, or the configured one */
  ifname: string;
  /** the configured interface (the vmac's lower device) */
  baseIf: string;
  /** the vmac interface when use_vmac */
  vmac?: string;
}

/** The interface name an instance runs on (its vmac name when use_vmac). */
export function vmacName(cfg: VrrpInstanceConfig, prefix = 'vrrp'): string | undefined {
  if (!cfg.useVmac) return undefined;
  return cfg.useVmac.name ?? `${prefix}.${cfg.vrid}`;
}

const warnOnce = new Set<string>();

/** The kernel backend. */
export class KernelBackend implements VrrpBackend {
  private readonly nl = new Rtnetlink();
  private monitor: NetlinkMonitor | null = null;
  private readonly sockets = new Map<string, RawIpSocket>();
  private readonly packets = new Map<string, PacketSocket>();
  private readonly ifs = new Map<string, IfInfo>();
  private readonly up = new Map<string, boolean>();
  private linkCb: (name: string) => void = () => {};
  private readonly createdVmacs: { name: string; index: number }[] = [];
  private readonly sysctlRestore: { path: string; value: string }[] = [];

  constructor(
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string, f?: Record<string, unknown>) => void,
    /**
     * tunvsd's TUN device, if it runs on one: a VIP configured `dev <that device>` is a
     * service VIP the director forwards, so the master routes it into the device and
     * answers ARP for it on the instance's interface (proxy neighbour entry), instead of
     * making it a local address (which the host would answer itself).
     */
    private readonly tunDevice?: string,
  ) {}

  private isTunVip(v: VrrpVip): boolean {
    return this.tunDevice !== undefined && v.dev === this.tunDevice;
  }

  private iface(name: string): IfInfo {
    let i = this.ifs.get(name);
    if (!i) {
      const x = ifInfo(name);
      if (!x) throw new HostnetError(`interface ${name} does not exist`, 'ENODEV', 19, 'ifInfo');
      i = x;
      this.ifs.set(name, i);
      this.up.set(name, (i.flags & (IFF_UP | IFF_RUNNING)) === (IFF_UP | IFF_RUNNING));
    }
    return i;
  }

  private sysctl(path: string, value: string): void {
    try {
      const old = readFileSync(path, 'utf8').trim();
      if (old !== value) {
        writeFileSync(path, value);
        this.sysctlRestore.push({ path, value: old });
      }
    } catch (e) {
      this.log('warn', 'vrrp: cannot set sysctl', { path, value, error: (e as Error).message });
    }
  }

  /** Create (or adopt) the macvlan of a use_vmac instance, up, with the RFC virtual MAC. */
  private ensureVmac(bi: BackendInstance): void {
    const name = bi.vmac!;
    const base = this.iface(bi.baseIf);
    const mac = bi.cfg.useVmac?.mac ? Uint8Array.from(bi.cfg.useVmac.mac.split(':').map((h) => parseInt(h, 16))) : vrrpVirtualMac(bi.cfg.vrid);
    const have = ifInfo(name);
    if (!have) {
      this.nl.addMacvlan(name, base.index, mac);
      const made = ifInfo(name)!;
      this.createdVmacs.push({ name, index: made.index });
      this.log('info', 'vrrp: created vmac interface', { interface: name, lower: bi.baseIf, mac: [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':') });
    }
    const v = ifInfo(name)!;
    this.nl.setLinkUp(v.index, true);
    this.ifs.delete(name);
    // as keepalived: the VIPs live on the vmac, so neither interface may answer ARP for
    // addresses of the other one
    this.sysctl(`/proc/sys/net/ipv4/conf/${bi.baseIf}/arp_ignore`, '1');
    this.sysctl(`/proc/sys/net/ipv4/conf/${bi.baseIf}/arp_filter`, '1');
    this.sysctl(`/proc/sys/net/ipv4/conf/${name}/arp_ignore`, '1');
    this.sysctl(`/proc/sys/net/ipv4/conf/${name}/arp_filter`, '1');
    this.sysctl(`/proc/sys/net/ipv4/conf/${name}/accept_local`, '1');
    this.sysctl(`/proc/sys/net/ipv4/conf/${name}/rp_filter`, '0');
  }

  open(instances: readonly BackendInstance[], rx: (ifname: string, data: Uint8Array) => void): void {
    for (const bi of instances) if (bi.vmac) this.ensureVmac(bi);
    const byIf = new Map<string, BackendInstance[]>();
    for (const bi of instances) {
      // vmac_xmit_base: adverts on the base interface; otherwise on the vmac
      const io = bi.vmac && !bi.cfg.vmacXmitBase ? bi.vmac : bi.baseIf;
      const l = byIf.get(io) ?? [];
      l.push(bi);
      byIf.set(io, l);
    }
    for (const [ifname, list] of byIf) {
      const info = this.iface(ifname);
      const s = new RawIpSocket(IPPROTO_VRRP, ifname, (d) => rx(ifname, d.data));
      s.ref(false);
      if (list.some((b) => b.cfg.unicastPeers.length === 0)) s.join(VRRP_MCAST_GROUP, info.index);
      this.sockets.set(ifname, s);
    }
    this.monitor = new NetlinkMonitor({
      link: (l) => {
        const was = this.up.get(l.name);
        const now = !l.deleted && (l.flags & (IFF_UP | IFF_RUNNING)) === (IFF_UP | IFF_RUNNING);
        this.up.set(l.name, now);
        if (l.deleted) this.ifs.delete(l.name);
        if (was !== now) this.linkCb(l.name);
      },
    });
    this.monitor.ref(false);
  }

  private socketFor(bi: BackendInstance): RawIpSocket {
    const io = bi.vmac && !bi.cfg.vmacXmitBase ? bi.vmac : bi.baseIf;
    return this.sockets.get(io)!;
  }

  sourceAddress(bi: BackendInstance): number {
    const c = bi.cfg;
    const conf = c.unicastSrcIp ?? c.mcastSrcIp;
    if (conf) return parseIpv4(conf);
    const vips = new Set([...c.vips, ...c.excludedVips].map((v) => v.addr));
    const idx = this.iface(bi.baseIf).index;
    const a = this.nl.addresses().find((x) => x.index === idx && x.scope === 0 && !vips.has(formatIpv4(x.addr)));
    if (!a) {
      const key = `nosrc:${c.name}`;
      if (!warnOnce.has(key)) {
        warnOnce.add(key);
        this.log('warn', 'vrrp: no IPv4 address on the interface to send adverts from', { instance: c.name, interface: bi.baseIf });
      }
      return 0;
    }
    return a.addr;
  }

  sendAdvert(bi: BackendInstance, datagrams: { dst: number; datagram: Uint8Array }[]): void {
    const s = this.socketFor(bi);
    for (const d of datagrams) {
      try {
        s.send(d.datagram, d.dst);
      } catch (e) {
        this.log('warn', 'vrrp: send advert failed', { instance: bi.cfg.name, to: formatIpv4(d.dst), error: (e as Error).message });
      }
    }
  }

  private vipIfindex(bi: BackendInstance, v: VrrpVip): number {
    return this.iface(v.dev ?? bi.vmac ?? bi.baseIf).index;
  }

  private addrSpec(bi: BackendInstance, v: VrrpVip) {
    const addr = parseIpv4(v.addr);
    const spec: Parameters<Rtnetlink['addAddress']>[0] = { ifindex: this.vipIfindex(bi, v), addr, prefix: v.prefix };
    if (v.scope !== undefined) spec.scope = /^\d+$/.test(v.scope) ? Number(v.scope) : (SCOPES[v.scope] ?? 0);
    if (v.label !== undefined) spec.label = v.label;
    if (v.broadcast !== undefined && v.broadcast !== '-') {
      const mask = v.prefix === 0 ? 0 : (0xffffffff << (32 - v.prefix)) >>> 0;
      spec.broadcast = v.broadcast === '+' ? (addr | (~mask >>> 0)) >>> 0 : parseIpv4(v.broadcast);
    }
    if (v.peer !== undefined) spec.peer = parseIpv4(v.peer.split('/')[0]!);
    return spec;
  }

  private routeSpec(r: VrrpRoute) {
    const [d, p] = r.dst === 'default' || r.dst === 'default4' || r.dst === 'all' || r.dst === 'any' ? ['0.0.0.0', '0'] : r.dst.split('/');
    const spec: Parameters<Rtnetlink['addRoute']>[0] = { dst: parseIpv4(d!), prefix: p === undefined ? 32 : Number(p) };
    if (r.via) spec.via = parseIpv4(r.via);
    if (r.src) spec.src = parseIpv4(r.src);
    if (r.dev) spec.ifindex = this.iface(r.dev).index;
    if (r.metric !== undefined) spec.metric = r.metric;
    if (r.table !== undefined) spec.table = r.table === 'main' ? 254 : r.table === 'local' ? 255 : r.table === 'default' ? 253 : Number(r.table);
    if (r.scope !== undefined) spec.scope = /^\d+$/.test(r.scope) ? Number(r.scope) : (SCOPES[r.scope] ?? 0);
    if (r.type !== undefined) spec.type = ROUTE_TYPES[r.type] ?? 1;
    return spec;
  }

  setAddresses(bi: BackendInstance, up: boolean): void {
    const c = bi.cfg;
    const vips = [...c.vips, ...c.excludedVips].filter((v) => v.family === 4);
    if (up) {
      for (const v of vips) {
        try {
          if (this.isTunVip(v)) this.tunVip(bi, v, true);
          else this.nl.addAddress(this.addrSpec(bi, v));
        } catch (e) {
          if ((e as HostnetError).code !== 'EEXIST') this.log('error', 'vrrp: cannot add VIP', { instance: c.name, vip: `${v.addr}/${v.prefix}`, error: (e as Error).message });
        }
      }
      for (const r of c.routes) {
        try {
          this.nl.addRoute(this.routeSpec(r));
        } catch (e) {
          if ((e as HostnetError).code !== 'EEXIST') this.log('error', 'vrrp: cannot add virtual route', { instance: c.name, route: r.words.join(' '), error: (e as Error).message });
        }
      }
      return;
    }
    // keepalived removes routes first, then addresses
    for (const r of c.routes) {
      try {
        this.nl.delRoute(this.routeSpec(r));
      } catch (e) {
        const code = (e as HostnetError).code;
        if (code !== 'ESRCH' && code !== 'ENOENT' && code !== 'ENODEV') this.log('warn', 'vrrp: cannot remove virtual route', { instance: c.name, route: r.words.join(' '), error: (e as Error).message });
      }
    }
    for (const v of vips) {
      try {
        if (this.isTunVip(v)) this.tunVip(bi, v, false);
        else this.nl.delAddress(this.addrSpec(bi, v));
      } catch (e) {
        const code = (e as HostnetError).code;
        if (code !== 'EADDRNOTAVAIL' && code !== 'ENODEV' && code !== 'ESRCH' && code !== 'ENOENT') {
          this.log('warn', 'vrrp: cannot remove VIP', { instance: c.name, vip: `${v.addr}/${v.prefix}`, error: (e as Error).message });
        }
      }
    }
  }

  /** A service VIP of the TUN device: host route into the device + proxy ARP on the instance's interface. */
  private tunVip(bi: BackendInstance, v: VrrpVip, up: boolean): void {
    const addr = parseIpv4(v.addr);
    const dev = this.iface(this.tunDevice!).index;
    const arpIf = this.iface(bi.vmac ?? bi.baseIf).index;
    const route = { dst: addr, prefix: 32, ifindex: dev, scope: 253 };
    if (up) {
      try {
        this.nl.addRoute(route);
      } catch (e) {
        if ((e as HostnetError).code !== 'EEXIST') throw e;
      }
      this.nl.addProxyNeigh(arpIf, addr);
      return;
    }
    let err: unknown = null;
    try {
      this.nl.delRoute(route);
    } catch (e) {
      err = e;
    }
    this.nl.delProxyNeigh(arpIf, addr);
    if (err) throw err;
  }

  garp(bi: BackendInstance, repeat: number): void {
    const c = bi.cfg;
    const vips = [...c.vips, ...c.excludedVips].filter((v) => v.family === 4);
    for (let r = 0; r < repeat; r++) {
      for (const v of vips) {
        const ifname = v.dev && !this.isTunVip(v) ? v.dev : (bi.vmac ?? bi.baseIf);
        try {
          const info = this.iface(ifname);
          let p = this.packets.get(ifname);
          if (!p) {
            p = new PacketSocket(info.index);
            this.packets.set(ifname, p);
          }
          p.send(emitVrrpGarp(info.mac, parseIpv4(v.addr)));
        } catch (e) {
          this.log('warn', 'vrrp: cannot send gratuitous ARP', { instance: c.name, vip: v.addr, interface: ifname, error: (e as Error).message });
        }
      }
    }
  }

  interfaceUp(name: string): boolean {
    if (!this.up.has(name)) {
      try {
        this.iface(name);
      } catch {
        return false;
      }
    }
    return this.up.get(name) ?? false;
  }

  onLinkChange(cb: (name: string) => void): void {
    this.linkCb = cb;
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of this.packets.values()) p.close();
    this.packets.clear();
    this.monitor?.close();
    this.monitor = null;
    for (const v of this.createdVmacs.splice(0)) {
      try {
        this.nl.delLink(v.index);
      } catch {
        // gone already
      }
    }
    for (const s of this.sysctlRestore.splice(0).reverse()) {
      try {
        writeFileSync(s.path, s.value);
      } catch {
        // the interface went away
      }
    }
    this.nl.close();
  }
}
