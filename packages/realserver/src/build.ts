/**
 * Packet builders for tests and tools (they allocate; not for the data path): IPv4
 * headers, UDP datagrams, TCP SYNs, IPIP encapsulation and Ethernet framing.
 */

/** Parse "a.b.c.d" into a uint32 (host order); throws on a malformed address. */
export function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new Error(`invalid IPv4 address '${s}'`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new Error(`invalid IPv4 address '${s}'`);
    v = v * 256 + o;
  }
  return v;
}

/** Format a uint32 as a dotted quad. */
export function formatIpv4(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Parse "02:00:0a:0a:01:0b" into 6 bytes; throws on a malformed MAC. */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`invalid MAC '${s}'`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** RFC 1071 checksum (complemented, 16 bits) of `len` bytes at `off`, plus `initial`. */
export function inetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let s = initial;
  let j = 0;
  for (; j + 1 < len; j += 2) s += (buf[off + j]! << 8) | buf[off + j + 1]!;
  if (j < len) s += buf[off + j]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** Fields of an IPv4 header for `ipv4Packet`; defaults make a valid DF packet, TTL 64. */
export interface Ipv4Fields {
  src: number;
  dst: number;
  protocol: number;
  tos?: number;
  ttl?: number;
  id?: number;
  /** flags+fragment offset word; default 0x4000 (DF) */
  fragWord?: number;
}

/** An IPv4 packet (20-byte header, correct checksum) around `payload`. */
export function ipv4Packet(f: Ipv4Fields, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const tot = p.length;
  p[0] = 0x45;
  p[1] = f.tos ?? 0;
  p[2] = tot >>> 8;
  p[3] = tot & 0xff;
  const id = f.id ?? 0;
  p[4] = id >>> 8;
  p[5] = id & 0xff;
  const fw = f.fragWord ?? 0x4000;
  p[6] = fw >>> 8;
  p[7] = fw & 0xff;
  p[8] = f.ttl ?? 64;
  p[9] = f.protocol;
  writeU32(p, 12, f.src);
  writeU32(p, 16, f.dst);
  const ck = inetChecksum(p, 0, 20);
  p[10] = ck >>> 8;
  p[11] = ck & 0xff;
  p.set(payload, 20);
  return p;
}

/** Recompute the IPv4 header checksum of `p` (header at 0) in place; returns `p`. */
export function fixIpv4Checksum(p: Uint8Array): Uint8Array {
  const hl = (p[0]! & 0x0f) << 2;
  p[10] = 0;
  p[11] = 0;
  const ck = inetChecksum(p, 0, hl);
  p[10] = ck >>> 8;
  p[11] = ck & 0xff;
  return p;
}

function pseudoSum(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

function writeU32(p: Uint8Array, o: number, v: number): void {
  p[o] = (v >>> 24) & 0xff;
  p[o + 1] = (v >>> 16) & 0xff;
  p[o + 2] = (v >>> 8) & 0xff;
  p[o + 3] = v & 0xff;
}

/** A complete IPv4/UDP datagram with correct checksums. */
export function udpPacket(src: number, dst: number, sport: number, dport: number, data: Uint8Array, ip: Partial<Ipv4Fields> = {}): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u[0] = sport >>> 8;
  u[1] = sport & 0xff;
  u[2] = dport >>> 8;
  u[3] = dport & 0xff;
  u[4] = u.length >>> 8;
  u[5] = u.length & 0xff;
  u.set(data, 8);
  let ck = inetChecksum(u, 0, u.length, pseudoSum(src, dst, 17, u.length));
  if (ck === 0) ck = 0xffff;
  u[6] = ck >>> 8;
  u[7] = ck & 0xff;
  return ipv4Packet({ ...ip, src, dst, protocol: 17 }, u);
}

/** A complete IPv4/TCP SYN (20-byte TCP header, window 64240, no options). */
export function tcpSynPacket(src: number, dst: number, sport: number, dport: number, seq: number, ip: Partial<Ipv4Fields> = {}): Uint8Array {
  const t = new Uint8Array(20);
  t[0] = sport >>> 8;
  t[1] = sport & 0xff;
  t[2] = dport >>> 8;
  t[3] = dport & 0xff;
  writeU32(t, 4, seq >>> 0);
  t[12] = 5 << 4;
  t[13] = 0x02;
  t[14] = 64240 >>> 8;
  t[15] = 64240 & 0xff;
  const ck = inetChecksum(t, 0, 20, pseudoSum(src, dst, 6, 20));
  t[16] = ck >>> 8;
  t[17] = ck & 0xff;
  return ipv4Packet({ ...ip, src, dst, protocol: 6 }, t);
}

/** Encapsulate an inner IPv4 packet in an outer IPv4 header with protocol 4 (IPIP). */
export function ipipEncap(inner: Uint8Array, src: number, dst: number, outer: Partial<Ipv4Fields> = {}): Uint8Array {
  return ipv4Packet({ ttl: inner[8] ?? 64, ...outer, src, dst, protocol: 4 }, inner);
}

/** An Ethernet II frame: dst MAC, src MAC, ethertype (default IPv4), payload. */
export function ethernetFrame(dst: Uint8Array, src: Uint8Array, payload: Uint8Array, ethertype = 0x0800): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = ethertype >>> 8;
  f[13] = ethertype & 0xff;
  f.set(payload, 14);
  return f;
}
