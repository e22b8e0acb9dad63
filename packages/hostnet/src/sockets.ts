/**
 * Raw IPv4 sockets for one protocol and packet sockets, as keepalived's VRRP process uses
 * them (vrrp.c open_vrrp_read_socket / open_vrrp_send_socket, vrrp_arp.c).
 */
import { call, native } from './native.js';
import type { WatchHandle } from './native.js';

/** Interface facts: index, MAC, IFF_* flags, MTU. */
export interface IfInfo {
  name: string;
  index: number;
  mac: Uint8Array;
  flags: number;
  mtu: number;
}

/** IFF_UP */
export const IFF_UP = 0x1;
/** IFF_RUNNING (carrier) */
export const IFF_RUNNING = 0x40;
/** IFF_MULTICAST */
export const IFF_MULTICAST = 0x1000;

/** An interface of the current network namespace, or null. */
export function ifInfo(name: string): IfInfo | null {
  const i = call(`interface ${name}`, () => native().ifInfo(name));
  return i ? { name, ...i } : null;
}

/** A datagram received on a raw socket: the IP datagram (header included) and where it arrived. */
export interface RawDatagram {
  data: Uint8Array;
  /** index of the interface it arrived on */
  ifindex: number;
  /** the destination address of the datagram (IP_PKTINFO) */
  dst: number;
}

/**
 * A raw IPv4 socket for one protocol, bound to an interface: sends whole datagrams
 * (IP_HDRINCL), receives every datagram of that protocol for the joined groups and our
 * addresses, with the IP header (TTL visible). Multicast loop is off.
 */
export class RawIpSocket {
  private readonly fd: number;
  private watcher: WatchHandle | null = null;
  private closed = false;

  constructor(
    readonly protocol: number,
    readonly ifname: string,
    onDatagram?: (d: RawDatagram) => void,
  ) {
    this.fd = call(`raw socket (protocol ${protocol}) on ${ifname || 'any interface'}`, () => native().openRawIp(protocol, ifname, true));
    if (onDatagram) {
      this.watcher = call('watch raw socket', () => native().watch(this.fd, 0, (data, ifindex, dst) => onDatagram({ data, ifindex, dst })));
    }
  }

  /** Join (or leave) a multicast group (uint32) on the interface with this index. */
  join(group: number, ifindex: number, on = true): void {
    call(`${on ? 'join' : 'leave'} multicast group`, () => native().joinGroup(this.fd, group, ifindex, on));
  }

  /** Send one datagram (IP header included) towards `dst`. */
  send(datagram: Uint8Array, dst: number): void {
    call(`send on ${this.ifname}`, () => native().sendIp(this.fd, datagram, dst));
  }

  /** Whether a pending read keeps the process alive (default yes). */
  ref(on: boolean): void {
    if (this.watcher) native().setRef(this.watcher, on);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watcher) native().unwatch(this.watcher);
    else native().closeFd(this.fd);
  }
}

/** A packet socket on one interface, to send whole Ethernet frames (gratuitous ARP). */
export class PacketSocket {
  private readonly fd: number;
  private closed = false;

  constructor(readonly ifindex: number) {
    this.fd = call(`packet socket on interface ${ifindex}`, () => native().openPacket(ifindex));
  }

  send(frame: Uint8Array): void {
    call('send frame', () => native().sendFrame(this.fd, frame, this.ifindex));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().closeFd(this.fd);
  }
}
