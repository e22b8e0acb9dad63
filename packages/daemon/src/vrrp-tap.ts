/**
 * VRRP on tunvsd's TAP device. A TAP director is a host of its own on the segment: its
 * VIPs are not kernel addresses but addresses the Director answers ARP and ping for. So an
 * instance whose `interface` is the TAP device runs through the Director: adverts come in
 * as the Director's local protocol 112 and go out as datagrams it originates (multicast
 * MAC, or the unicast peer's resolved MAC), gratuitous ARP goes out as frames with the
 * Director's MAC, and "adding a VIP" means the Director starts answering for it (master)
 * while "removing" it means it falls silent (backup). Instances on other interfaces keep
 * using the kernel backend; `SplitBackend` sends each instance to the right one.
 */
import { formatIpv4, parseCidr, parseIpv4 } from '@tunvs/packet';
import { IPPROTO_VRRP, emitVrrpGarp } from '@tunvs/vrrp';
import type { Director } from '@tunvs/engine';
import type { VrrpConfig, VrrpInstanceConfig } from '@tunvs/keepalived';
import type { BackendInstance, VrrpBackend } from './vrrp-kernel.js';

/** tunvsd's TAP device as VRRP needs it. */
export interface TapVrrpTarget {
  director: Director;
  /** the TAP device's name: instances with this `interface` run through the Director */
  device: string;
  /** the Director's own addresses (CIDR), the default source of adverts */
  addresses: readonly string[];
  /** the device's kind in messages: TAP (default), AF_XDP, AF_PACKET */
  label?: string;
}

/** The IPv4 VIPs an instance on the TAP device holds in the Director. */
export function tapVips(cfg: VrrpConfig | undefined, device: string): Set<string> {
  const out = new Set<string>();
  for (const c of cfg?.instances ?? []) {
    if (c.interface !== device) continue;
    for (const v of [...c.vips, ...c.excludedVips]) if (v.family === 4) out.add(v.addr);
  }
  return out;
}

/**
 * What an instance on tunvsd's own device cannot do, in one sentence each. `label` names the
 * device's kind in the messages: TAP, or the kernel-bypass link (AF_XDP, AF_PACKET), where
 * the Director is a host on the segment just the same.
 */
export function tapRefusals(c: VrrpInstanceConfig, device: string, label = 'TAP'): string[] {
  if (c.interface !== device) return [];
  const out: string[] = [];
  const on = `the ${label} device ${device}`;
  if (c.useVmac) out.push(`use_vmac on ${on}: the director's MAC is the device's own${label === 'TAP' ? ', set in tunvsd.conf; give the device the virtual MAC there instead' : ' (the interface\'s); give the interface the virtual MAC instead'}`);
  if (c.routes.length) out.push(`virtual_routes on ${on}: the director owns addresses, not a routing table; put the routes on a kernel interface's instance`);
  for (const v of [...c.vips, ...c.excludedVips]) {
    if (v.family !== 4) out.push(`virtual_ipaddress ${v.addr}: the ${label} director answers for IPv4 addresses only`);
    else if (v.dev !== undefined && v.dev !== device) out.push(`virtual_ipaddress ${v.addr} dev ${v.dev}: an instance on ${on} holds its VIPs in the director, not on another interface`);
  }
  return out;
}

/** The Director side of VRRP (instances on the TAP device). */
export class DirectorBackend implements VrrpBackend {
  private readonly defaultSrc: number;
  private opened = false;

  constructor(
    private readonly t: TapVrrpTarget,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string, f?: Record<string, unknown>) => void,
  ) {
    this.defaultSrc = t.addresses.length ? parseCidr(t.addresses[0]!).addr : 0;
  }

  open(instances: readonly BackendInstance[], rx: (ifname: string, data: Uint8Array) => void): void {
    for (const bi of instances) this.setAddresses(bi, false);
    this.t.director.onLocalProtocol(IPPROTO_VRRP, (dg) => rx(this.t.device, dg));
    this.opened = true;
  }

  sourceAddress(bi: BackendInstance): number {
    const conf = bi.cfg.unicastSrcIp ?? bi.cfg.mcastSrcIp;
    if (conf) return parseIpv4(conf);
    if (this.defaultSrc === 0) this.log('warn', 'vrrp: the TAP device has no address to send adverts from', { instance: bi.cfg.name, device: this.t.device });
    return this.defaultSrc;
  }

  sendAdvert(bi: BackendInstance, datagrams: { dst: number; datagram: Uint8Array }[]): void {
    for (const d of datagrams) {
      // an unresolved unicast peer: the Director asked by ARP, the next advert goes out
      if (!this.t.director.sendDatagram(d.datagram)) this.log('info', 'vrrp: advert not sent, peer not resolved yet', { instance: bi.cfg.name, to: formatIpv4(d.dst) });
    }
  }

  setAddresses(bi: BackendInstance, up: boolean): void {
    for (const v of [...bi.cfg.vips, ...bi.cfg.excludedVips]) if (v.family === 4) this.t.director.setAddressActive(v.addr, up);
  }

  garp(bi: BackendInstance, repeat: number): void {
    const mac = this.t.director.macAddress;
    for (let r = 0; r < repeat; r++) {
      for (const v of [...bi.cfg.vips, ...bi.cfg.excludedVips]) if (v.family === 4) this.t.director.sendFrame(emitVrrpGarp(mac, parseIpv4(v.addr)));
    }
  }

  /** The TAP device's state is the kernel backend's (netlink), see SplitBackend. */
  interfaceUp(): boolean {
    return true;
  }

  onLinkChange(): void {}

  close(): void {
    if (this.opened) this.t.director.onLocalProtocol(IPPROTO_VRRP, null);
    this.opened = false;
  }
}

/**
 * Instances on the TAP device go to the Director, all others to the kernel; interface
 * state (also the TAP device's) comes from the kernel backend's netlink monitor.
 */
export class SplitBackend implements VrrpBackend {
  constructor(
    private readonly kernel: VrrpBackend,
    private readonly tap: DirectorBackend,
    private readonly device: string,
  ) {}

  private pick(bi: BackendInstance): VrrpBackend {
    return bi.baseIf === this.device ? this.tap : this.kernel;
  }

  open(instances: readonly BackendInstance[], rx: (ifname: string, data: Uint8Array) => void): void {
    this.tap.open(instances.filter((b) => b.baseIf === this.device), rx);
    this.kernel.open(instances.filter((b) => b.baseIf !== this.device), rx);
  }

  sourceAddress(bi: BackendInstance): number {
    return this.pick(bi).sourceAddress(bi);
  }

  sendAdvert(bi: BackendInstance, datagrams: { dst: number; datagram: Uint8Array }[]): void {
    this.pick(bi).sendAdvert(bi, datagrams);
  }

  setAddresses(bi: BackendInstance, up: boolean): void {
    this.pick(bi).setAddresses(bi, up);
  }

  garp(bi: BackendInstance, repeat: number): void {
    this.pick(bi).garp(bi, repeat);
  }

  interfaceUp(name: string): boolean {
    return this.kernel.interfaceUp(name);
  }

  onLinkChange(cb: (name: string) => void): void {
    this.kernel.onLinkChange(cb);
  }

  close(): void {
    this.tap.close();
    this.kernel.close();
  }
}
