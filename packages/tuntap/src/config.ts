/**
 * Interface configuration by ioctl (no shelling out). Every call acts in the network
 * namespace of the calling process: run node under `ip netns exec NS` to configure a
 * device that lives in NS.
 */
import { parseCidr as parseCidrText, parseMac as parseMacText } from '@tunvs/packet';
import { call, ERRNO, TunTapError } from './errors.js';
import { native } from './native.js';

const IFNAMSIZ = 16;
const IFF_UP = 0x1;

/** Throw a TunTapError unless `name` is a valid interface name (1..15 bytes). */
export function checkIfName(name: string, allowEmpty = false): void {
  if (typeof name !== 'string') throw new TunTapError('interface name must be a string', 'EINVAL', ERRNO.EINVAL, 'validate');
  const bytes = Buffer.byteLength(name);
  if (bytes >= IFNAMSIZ)
    throw new TunTapError(
      `interface name too long (max 15 bytes): "${name}" has ${bytes}`,
      'ENAMETOOLONG',
      ERRNO.ENAMETOOLONG,
      'validate',
    );
  if (!allowEmpty && bytes === 0) throw new TunTapError('interface name is empty', 'EINVAL', ERRNO.EINVAL, 'validate');
  if (/[/\s:]/.test(name))
    throw new TunTapError(`interface name "${name}" contains '/', ':' or a space`, 'EINVAL', ERRNO.EINVAL, 'validate');
}

/**
 * Parse "10.0.0.1/24" (prefix defaults to 32) into `{ addr, prefix }` with @tunvs/packet's
 * parser; throws TunTapError EINVAL.
 */
export function parseCidr(s: string): { addr: number; prefix: number } {
  try {
    const c = parseCidrText(s);
    return { addr: c.addr, prefix: c.prefix };
  } catch (e) {
    throw new TunTapError(`${(e as Error).message} (expected like 10.0.0.1/24)`, 'EINVAL', ERRNO.EINVAL, 'validate');
  }
}

/** Parse "02:00:00:aa:bb:cc" into 6 bytes with @tunvs/packet's parser; throws TunTapError EINVAL. */
export function parseMac(s: string): Uint8Array {
  try {
    return parseMacText(s);
  } catch {
    throw new TunTapError(`invalid MAC address "${s}" (expected like 02:00:00:aa:bb:cc)`, 'EINVAL', ERRNO.EINVAL, 'validate');
  }
}

/** The interface's MTU (SIOCGIFMTU). */
export function getMtu(name: string): number {
  checkIfName(name);
  return call(`reading the MTU of ${name}`, () => native().getMtu(name));
}

/** Set the MTU (SIOCSIFMTU). */
export function setMtu(name: string, mtu: number): void {
  checkIfName(name);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
    throw new TunTapError(`MTU ${mtu} is out of range (68..65535)`, 'EINVAL', ERRNO.EINVAL, 'validate');
  call(`setting the MTU of ${name} to ${mtu}`, () => native().setMtu(name, mtu));
}

/** Bring the interface up or down (SIOCGIFFLAGS + SIOCSIFFLAGS). */
export function setUp(name: string, up: boolean): void {
  checkIfName(name);
  call(`setting ${name} ${up ? 'up' : 'down'}`, () => native().setUp(name, up));
}

/** Whether the interface is administratively up. */
export function isUp(name: string): boolean {
  checkIfName(name);
  return (call(`reading the flags of ${name}`, () => native().getFlags(name)) & IFF_UP) !== 0;
}

/** Set the IPv4 address and prefix, e.g. "10.0.0.1/24" (SIOCSIFADDR + SIOCSIFNETMASK). */
export function setAddress(name: string, cidr: string): void {
  checkIfName(name);
  const { addr, prefix } = parseCidr(cidr);
  call(`setting address ${cidr} on ${name}`, () => native().setAddress(name, addr, prefix));
}

/** Set the hardware address of a TAP (or any Ethernet) interface (SIOCSIFHWADDR). */
export function setMac(name: string, mac: string | Uint8Array): void {
  checkIfName(name);
  const bytes = typeof mac === 'string' ? parseMac(mac) : mac;
  if (bytes.length !== 6) throw new TunTapError('a MAC address is 6 bytes', 'EINVAL', ERRNO.EINVAL, 'validate');
  call(`setting the MAC of ${name}`, () => native().setMac(name, bytes));
}

/** The hardware address of an interface, 6 bytes (SIOCGIFHWADDR); all zero on TUN. */
export function getMac(name: string): Uint8Array {
  checkIfName(name);
  return call(`reading the MAC of ${name}`, () => native().getMac(name));
}

/** The interface index, or 0 when there is no such interface here. */
export function ifIndex(name: string): number {
  checkIfName(name);
  return call(`looking up ${name}`, () => native().ifIndex(name));
}
