import { MemoryLink } from '@tunvs/link';
import { parseIpv4, rd16, rd32, Ipv4Field, csumPartial } from '@tunvs/packet';
import { Director } from '../src/index.js';
import type { DirectorOptions } from '../src/index.js';

export const VIP = '10.10.0.100';
export const CLIENT = '10.10.0.2';
export const RS = ['10.10.1.11', '10.10.1.12', '10.10.1.13'];

/** A Director on an in-memory TUN link with a fake clock. */
export function tunDirector(opts: Partial<DirectorOptions> = {}): { d: Director; link: MemoryLink; clock: { now: number } } {
  const link = new MemoryLink('tun', 1500);
  const clock = { now: 1_000_000 };
  const d = new Director({ links: [link], now: () => clock.now, timers: false, sourceAddress: '10.10.1.1', ...opts });
  d.start();
  return { d, link, clock };
}

/** IPv4 header fields of a packet (TUN: starts at 0). */
export function ip(p: Uint8Array, off = 0): { src: string; dst: string; proto: number; ttl: number; sport: number; dport: number; csumOk: boolean } {
  const hl = (p[off]! & 15) * 4;
  const fmt = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return {
    src: fmt(rd32(p, off + Ipv4Field.SRC)),
    dst: fmt(rd32(p, off + Ipv4Field.DST)),
    proto: p[off + Ipv4Field.PROTOCOL]!,
    ttl: p[off + Ipv4Field.TTL]!,
    sport: rd16(p, off + hl),
    dport: rd16(p, off + hl + 2),
    csumOk: csumPartial(p, off, hl) === 0xffff,
  };
}

export { parseIpv4 };
