/**
 * User-facing address parsing and formatting (control plane; may allocate). On the data
 * path addresses are uint32 numbers in host order (10.0.0.1 = 0x0a000001) and MACs are 6
 * bytes. Parsing goes through the `ip-address` package; every failure is an
 * `AddressError` with a `code`, never another exception.
 */
import { Address4, Address6 } from 'ip-address';

/** Codes of `AddressError`. */
export const AddressErrorCode = {
  InvalidIpv4: 'EINVALIPV4',
  Ipv6Unsupported: 'EIPV6',
  InvalidCidr: 'EINVALCIDR',
  InvalidPort: 'EINVALPORT',
  InvalidEndpoint: 'EINVALENDPOINT',
  InvalidMac: 'EINVALMAC',
} as const;

/** One of the `AddressErrorCode` values. */
export type AddressErrorCodeValue = (typeof AddressErrorCode)[keyof typeof AddressErrorCode];

/** A user-facing address could not be parsed; `code` says why, `input` is what was given. */
export class AddressError extends Error {
  readonly code: AddressErrorCodeValue;
  readonly input: string;
  /** An error with its code, message and the offending input. */
  constructor(code: AddressErrorCodeValue, message: string, input: string) {
    super(message);
    this.name = 'AddressError';
    this.code = code;
    this.input = input;
  }
}

function show(s: unknown): string {
  return typeof s === 'string' ? s : String(s);
}

function looksIpv6(s: string): boolean {
  const t = s.startsWith('[') ? s.slice(1, s.indexOf(']') > 0 ? s.indexOf(']') : undefined) : s;
  const noPrefix = t.includes('/') ? t.slice(0, t.indexOf('/')) : t;
  return noPrefix.includes(':') && Address6.isValid(noPrefix);
}

function ipv6Error(s: string): AddressError {
  return new AddressError(AddressErrorCode.Ipv6Unsupported, `IPv6 is not supported yet ('${s}')`, s);
}

/**
 * Parse a dotted-quad IPv4 address ("10.0.0.1") into a uint32 (0x0a000001). Throws
 * `AddressError` (EIPV6 for IPv6 input, EINVALIPV4 otherwise) on anything else,
 * including a prefix ("/24"), leading zeros and surrounding spaces.
 */
export function parseIpv4(s: string): number {
  if (typeof s !== 'string') throw new AddressError(AddressErrorCode.InvalidIpv4, `invalid IPv4 address '${show(s)}'`, show(s));
  if (looksIpv6(s)) throw ipv6Error(s);
  if (s.includes('/') || !/^[0-9.]+$/.test(s)) {
    throw new AddressError(AddressErrorCode.InvalidIpv4, `invalid IPv4 address '${s}'`, s);
  }
  let a: Address4;
  try {
    a = new Address4(s);
  } catch {
    throw new AddressError(AddressErrorCode.InvalidIpv4, `invalid IPv4 address '${s}'`, s);
  }
  const p = a.toArray();
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** True when `s` is a plain dotted-quad IPv4 address `parseIpv4` accepts. */
export function isIpv4(s: string): boolean {
  try {
    parseIpv4(s);
    return true;
  } catch {
    return false;
  }
}

/** Format a uint32 address as a dotted quad (0x0a000001 -> "10.0.0.1"). */
export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** A parsed CIDR block. */
export interface Cidr {
  /** the address as written (host bits kept) */
  addr: number;
  /** prefix length 0..32 */
  prefix: number;
  /** netmask as uint32 (/24 = 0xffffff00) */
  mask: number;
  /** addr & mask */
  network: number;
}

/** The netmask of a prefix length as a uint32 (/0 = 0, /32 = 0xffffffff). */
export function prefixToMask(prefix: number): number {
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * The leading one bits of a netmask as a uint32: its prefix length (0xffffff00 is 24). A mask
 * with a hole counts up to the hole (0xff00ff00 is 8): the prefix it contains.
 */
export function maskPrefixLength(mask: number): number {
  let n = 0;
  while (n < 32 && (mask & (0x80000000 >>> n)) !== 0) n++;
  return n;
}

/**
 * Parse "10.0.0.0/24" (a bare address means /32). Throws `AddressError` (EINVALCIDR,
 * EINVALIPV4, EIPV6).
 */
export function parseCidr(s: string): Cidr {
  if (typeof s !== 'string') throw new AddressError(AddressErrorCode.InvalidCidr, `invalid CIDR '${show(s)}'`, show(s));
  if (looksIpv6(s)) throw ipv6Error(s);
  const slash = s.indexOf('/');
  const addrPart = slash < 0 ? s : s.slice(0, slash);
  const prefPart = slash < 0 ? '32' : s.slice(slash + 1);
  if (!/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefPart)) {
    throw new AddressError(AddressErrorCode.InvalidCidr, `invalid prefix length '${prefPart}' in '${s}' (0..32)`, s);
  }
  const addr = parseIpv4(addrPart);
  const prefix = Number(prefPart);
  const mask = prefixToMask(prefix);
  return { addr, prefix, mask, network: (addr & mask) >>> 0 };
}

/** Format a CIDR as "a.b.c.d/p" (of its `network` address). */
export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefix}`;
}

/** True when `addr` lies inside the block. */
export function cidrContains(c: Cidr, addr: number): boolean {
  return ((addr & c.mask) >>> 0) === c.network;
}

/** Parse a port number "0".."65535" (digits only). Throws `AddressError` (EINVALPORT). */
export function parsePort(s: string): number {
  if (typeof s !== 'string' || !/^[0-9]{1,5}$/.test(s) || Number(s) > 65535) {
    throw new AddressError(AddressErrorCode.InvalidPort, `invalid port '${show(s)}' (0..65535)`, show(s));
  }
  return Number(s);
}

/** An IPv4 address and port. */
export interface Endpoint {
  addr: number;
  port: number;
}

/**
 * Parse "1.2.3.4:80". Throws `AddressError`: EIPV6 for "[::1]:80" or "::1",
 * EINVALENDPOINT without a port, EINVALIPV4 / EINVALPORT for bad parts.
 */
export function parseEndpoint(s: string): Endpoint {
  if (typeof s !== 'string') throw new AddressError(AddressErrorCode.InvalidEndpoint, `invalid endpoint '${show(s)}'`, show(s));
  if (s.startsWith('[') || looksIpv6(s)) throw ipv6Error(s);
  const colon = s.lastIndexOf(':');
  if (colon < 0) {
    throw new AddressError(AddressErrorCode.InvalidEndpoint, `invalid endpoint '${s}' (expected ADDRESS:PORT)`, s);
  }
  const host = s.slice(0, colon);
  if (host.includes(':')) throw ipv6Error(s);
  return { addr: parseIpv4(host), port: parsePort(s.slice(colon + 1)) };
}

/** Format an endpoint as "a.b.c.d:port". */
export function formatEndpoint(addr: number, port: number): string {
  return `${formatIpv4(addr)}:${port}`;
}

/**
 * Parse a MAC "02:00:5e:10:00:01" (also with '-' separators) into 6 bytes. Throws
 * `AddressError` (EINVALMAC).
 */
export function parseMac(s: string): Uint8Array {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{1,2}([:-])(?:[0-9a-fA-F]{1,2}\1){4}[0-9a-fA-F]{1,2}$/.test(s)) {
    throw new AddressError(AddressErrorCode.InvalidMac, `invalid MAC address '${show(s)}'`, show(s));
  }
  return Uint8Array.from(s.split(/[:-]/), (h) => parseInt(h, 16));
}

/** Format 6 bytes at `off` as "02:00:5e:10:00:01". */
export function formatMac(mac: Uint8Array, off = 0): string {
  let out = '';
  for (let i = 0; i < 6; i++) {
    if (i > 0) out += ':';
    out += (mac[off + i] ?? 0).toString(16).padStart(2, '0');
  }
  return out;
}

/** A MAC as a 48-bit number (for keys and comparisons). */
export function macToNumber(mac: Uint8Array, off = 0): number {
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + (mac[off + i] ?? 0);
  return n;
}

/** 6 bytes from a 48-bit number. */
export function numberToMac(n: number): Uint8Array {
  const out = new Uint8Array(6);
  for (let i = 5; i >= 0; i--) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
  return out;
}
