// Shared fixtures for the conntrack tests (not a test file itself).
import { Dest, DestRegistry, Fwd } from '@tunvs/model';
import { ConnTable } from '../src/index.js';
import type { ConnTableOptions } from '../src/index.js';

export const TCP = 6;
export const UDP = 17;
export const CLIENT = 0xc0a80164; // 192.168.1.100
export const VIP = 0x0a000001; // 10.0.0.1
export const RS1 = 0xc0a80a01; // 192.168.10.1
export const RS2 = 0xc0a80a02;

/** A table with two registered destinations: NAT (a) and DR (b). */
export function setup(opts: Partial<ConnTableOptions> = {}): {
  table: ConnTable;
  registry: DestRegistry;
  nat: Dest;
  dr: Dest;
} {
  const registry = new DestRegistry();
  const nat = new Dest(RS1, 80, { fwd: Fwd.MASQ });
  const dr = new Dest(RS2, 80, { fwd: Fwd.DROUTE });
  registry.register(nat);
  registry.register(dr);
  const table = new ConnTable({ capacity: 64, registry, seed: 1, ...opts });
  return { table, registry, nat, dr };
}
