/**
 * Interface configuration by ioctl (no shelling out). Every call acts in the network
 * namespace of the calling process: run node under `ip netns exec NS` to configure a
 * device that lives in NS.
 */
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

/** Parse "a.b.c.d" into a uint32, or return -1. */
export function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return -1;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return -1;
    v = v * 256 + o;
  }
  return v;
}

/** Format a uint32 as dotted quad. */
export function formatIpv4(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Parse "10.0.0.1/24" (prefix defaults to 32) into `{ addr, prefix }`; throws TunTapError. */
export function parseCidr(s: string): { addr: number; prefix: number } {
  const slash = s.indexOf('/');
  const ip = slash < 0 ? s : s.slice(0, slash);
  const pfx = slash < 0 ? '32' : s.slice(slash + 1);
  const addr = parseIpv4(ip);
  const prefix = /^\d{1,2}$/.test(pfx) ? Number(pfx) : -1;
  if (addr < 0 || prefix < 0 || prefix > 32)
    throw new TunTapError(`invalid IPv4 address/prefix "${s}" (expected like 10.0.0.1/24)`, 'EINVAL', ERRNO.EINVAL, 'validate');
  return { addr, prefix };
}

/** Parse "02:00:00:aa:bb:cc" into 6 bytes; throws TunTapError. */
export function parseMac(s: string): Uint8Array {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) throw new TunTapError(`invalid MAC address "${s}" (expected like 02:00:00:aa:bb:cc)`, 'EINVAL', ERRNO.EINVAL, 'validate');
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(m[i + 1]!, 16);
  return out;
}

/** Format 6 bytes as "02:00:00:aa:bb:cc". */
export function formatMac(mac: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((mac[i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
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
