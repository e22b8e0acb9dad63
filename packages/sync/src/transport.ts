/**
 * Transports for sync messages. `UdpSyncTransport`: the kernel's sockets, UDP multicast on
 * one interface, over IPv4 or an IPv6 group (master: bound to the interface's first IPv4
 * address, or any IPv6 address with the interface as multicast interface; multicast TTL
 * (hop limit), loopback off, connected to group:port; backup: bound to group:port with
 * address reuse, member of the group on that interface). `MemorySyncHub`: the same in memory, for tests.
 *
 * The protocol has no authentication (as in the kernel): run it on a dedicated interface
 * or VLAN.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { SyncSender } from './master.js';

/** Where the daemons talk: group, port, TTL, interface. */
export interface SyncEndpoint {
  /** the multicast interface name (--mcast-interface) */
  ifname: string;
  group: string;
  port: number;
  ttl: number;
}

/** A transport: sends datagrams, delivers received ones to `onMessage`. */
export interface SyncTransport extends SyncSender {
  onMessage(cb: (buf: Uint8Array, len: number) => void): void;
  close(): void;
  /** what the operator should know about how it was opened (e.g. a capped receive buffer), null: nothing */
  readonly warning?: string | null;
}

/** A typed error of the daemons (`code` as errno names it). */
export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The first IPv4 address of interface `ifname`, or throws ENODEV. */
export function interfaceAddress(ifname: string): string {
  const list = networkInterfaces()[ifname];
  if (!list) throw new SyncError('ENODEV', `No such device: ${ifname}`);
  const a = list.find((x) => x.family === 'IPv4');
  if (!a) throw new SyncError('EADDRNOTAVAIL', `${ifname} has no IPv4 address`);
  return a.address;
}

/** Interface `ifname` as an IPv6 multicast interface ("::%ifname"), or throws ENODEV. */
export function interfaceScope(ifname: string): string {
  if (!networkInterfaces()[ifname]) throw new SyncError('ENODEV', `No such device: ${ifname}`);
  return `::%${ifname}`;
}

/** The receive buffer a backup socket asks for (bytes). */
export const BACKUP_RCVBUF = 4 << 20;

/**
 * The warning for a receive buffer the kernel granted smaller than `asked`: `reported` is
 * what SO_RCVBUF reads back (Linux reports twice the size it set, and sets at most
 * net.core.rmem_max). Null when it got what it asked for.
 */
export function rcvbufWarning(asked: number, reported: number): string | null {
  const got = Math.floor(reported / 2);
  if (got >= asked) return null;
  return `sync backup: the receive buffer is ${Math.floor(got / 1024)} KiB, not the ${Math.floor(asked / 1024)} KiB asked for: ` +
    `net.core.rmem_max caps it (sysctl -w net.core.rmem_max=${asked}); a burst of sync messages may be lost (counted by the kernel as UDP receive errors)`;
}

/** UDP multicast, one socket per role. */
export class UdpSyncTransport implements SyncTransport {
  private cb: ((buf: Uint8Array, len: number) => void) | null = null;

  private constructor(
    private readonly sock: Socket,
    private readonly role: 'master' | 'backup',
    readonly ep: SyncEndpoint,
    readonly warning: string | null,
  ) {
    sock.on('message', (m) => this.cb?.(m, m.length));
    sock.on('error', () => {});
  }

  /** Open the socket of `role` on `ep` (resolves once bound). */
  static async open(role: 'master' | 'backup', ep: SyncEndpoint): Promise<UdpSyncTransport> {
    const v6 = isIPv6(ep.group);
    // IPv4: the interface's first address; IPv6: the interface as a scope ("::%eth1")
    const local = v6 ? interfaceScope(ep.ifname) : interfaceAddress(ep.ifname);
    // a backup takes bursts of full messages (a 10k-connection burst is 250 datagrams at
    // once): ask for 4 MiB of receive buffer (the kernel caps it at net.core.rmem_max)
    const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: role === 'backup', ...(role === 'backup' ? { recvBufferSize: BACKUP_RCVBUF } : {}) });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      if (role === 'master') sock.bind(0, v6 ? '::' : local, () => resolve());
      else sock.bind(ep.port, v6 ? `${ep.group}%${ep.ifname}` : ep.group, () => resolve());
    });
    if (role === 'master') {
      sock.setMulticastInterface(local);
      sock.setMulticastTTL(ep.ttl);
      sock.setMulticastLoopback(false);
      // connected to group:port, as the kernel's send socket: a send goes to the socket at
      // once (an unconnected one resolves the address first and sends on the next tick)
      // (node hands a failed connect to the callback, not to 'error': without this check the
      // socket stayed unconnected and every send failed)
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.connect(ep.port, ep.group, (err?: Error) => {
          sock.off('error', reject);
          if (!err) return resolve();
          sock.close();
          const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
          reject(new SyncError(code, `sync master: cannot send to ${ep.group} port ${ep.port} on ${ep.ifname}: ${err.message}`));
        });
      });
    } else {
      sock.addMembership(ep.group, local);
    }
    const warning = role === 'backup' ? rcvbufWarning(BACKUP_RCVBUF, sock.getRecvBufferSize()) : null;
    return new UdpSyncTransport(sock, role, ep, warning);
  }

  /** Send `buf[0, len)` without copying it: the master reuses the buffer once `done` is called. */
  send(buf: Uint8Array, len: number, done: (err?: Error | null) => void): void {
    if (this.role !== 'master') throw new SyncError('EINVAL', 'a backup socket does not send');
    this.sock.send(buf, 0, len, done);
  }

  onMessage(cb: (buf: Uint8Array, len: number) => void): void {
    this.cb = cb;
  }

  close(): void {
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }
}

/** An in-memory multicast group: every endpoint's sends reach every other endpoint. */
export class MemorySyncHub {
  private readonly members = new Set<MemorySyncTransport>();
  /** datagrams delivered (to any member) */
  delivered = 0;

  join(): MemorySyncTransport {
    const t = new MemorySyncTransport(this);
    this.members.add(t);
    return t;
  }

  /** @internal */
  leave(t: MemorySyncTransport): void {
    this.members.delete(t);
  }

  /** @internal */
  deliver(from: MemorySyncTransport, buf: Uint8Array, len: number): void {
    for (const m of this.members) {
      if (m === from) continue;
      this.delivered++;
      m.input(buf.slice(0, len));
    }
  }
}

export class MemorySyncTransport implements SyncTransport {
  private cb: ((buf: Uint8Array, len: number) => void) | null = null;
  constructor(private readonly hub: MemorySyncHub) {}
  /** Delivers copies to the other members at once, then releases `buf`. */
  send(buf: Uint8Array, len: number, done: (err?: Error | null) => void): void {
    this.hub.deliver(this, buf, len);
    done(null);
  }
  onMessage(cb: (buf: Uint8Array, len: number) => void): void {
    this.cb = cb;
  }
  /** @internal */
  input(buf: Uint8Array): void {
    this.cb?.(buf, buf.length);
  }
  close(): void {
    this.hub.leave(this);
  }
}
