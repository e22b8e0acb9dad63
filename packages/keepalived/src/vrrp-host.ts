/**
 * What keepalived looks up on the host while it reads VRRP configuration: whether an
 * interface exists, whether it is a loopback, its flags and MTU (vrrp_if.c reads them by
 * netlink at start-up). Read from /sys/class/net of the network namespace we run in, so
 * `--config-test` judges an `interface` the way keepalived does on the same host.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** An interface as the checks need it. */
export interface HostInterface {
  name: string;
  /** ARPHRD_LOOPBACK */
  loopback: boolean;
  /** ARPHRD_ETHER */
  ethernet: boolean;
  /** IFF_MULTICAST */
  multicast: boolean;
  mtu: number;
}

/** The host's interfaces (injected in tests). */
export interface HostInfo {
  iface(name: string): HostInterface | null;
}

const IFF_MULTICAST = 0x1000;
const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;

/** /sys/class/net of the current network namespace. */
export const sysfsHost: HostInfo = {
  iface(name: string): HostInterface | null {
    if (name === '' || name.includes('/') || name === '.' || name === '..') return null;
    const dir = `/sys/class/net/${name}`;
    try {
      const type = Number(readFileSync(`${dir}/type`, 'utf8').trim());
      const flags = Number(readFileSync(`${dir}/flags`, 'utf8').trim());
      const mtu = Number(readFileSync(`${dir}/mtu`, 'utf8').trim());
      return { name, loopback: type === ARPHRD_LOOPBACK, ethernet: type === ARPHRD_ETHER, multicast: (flags & IFF_MULTICAST) !== 0, mtu };
    } catch {
      return null;
    }
  },
};

/** A fixed set of interfaces (tests, and documentation of what the checks read). */
export function staticHost(ifaces: HostInterface[]): HostInfo {
  const m = new Map(ifaces.map((i) => [i.name, i]));
  return { iface: (n) => m.get(n) ?? null };
}

/** The names of the host's interfaces. */
export function hostInterfaceNames(): string[] {
  try {
    return readdirSync('/sys/class/net');
  } catch {
    return [];
  }
}
