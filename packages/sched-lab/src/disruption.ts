/**
 * Flows moved by a server change for the hashing schedulers (dh, sh, mh): the same probe
 * keys are mapped before and after one of `n` servers leaves, and before and after one
 * joins; compared with the ideal (only the keys of the leaving server, only the keys the
 * new server takes). The pure mapping, without connections: what consistent hashing
 * promises. The key is the client address (sh, mh) or the destination address (dh).
 */
import { Dest, DestFlag, Proto, Service } from '@tunvs/model';
import { getScheduler, newSchedPacket } from '@tunvs/schedulers';
import type { SchedulerInstance } from '@tunvs/schedulers';
import { seededRandom } from '@tunvs/scheduler';
import { round } from './stats.js';

/** One pool size of the disruption table. */
export interface DisruptionRow {
  servers: number;
  /** mh table size M */
  table?: number;
  moved_remove: number;
  ideal_remove: number;
  moved_add: number;
  ideal_add: number;
  /** most keys on one server / mean */
  max_over_mean: number;
  /** mh: most table slots of one server / mean */
  max_over_mean_slots?: number;
}

/** The hashing schedulers this table is about. */
export const HASHING = ['dh', 'sh', 'mh'] as const;

/** Random probe keys (addresses), deterministic for a seed. */
export function probeKeys(n: number, seed: number): Uint32Array {
  const r = seededRandom(seed);
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) keys[i] = Math.floor(r() * 4294967296) >>> 0;
  return keys;
}

/** Flows moved when one of `n` servers leaves / one joins, on `keys`. */
export function disruption(name: string, n: number, keys: Uint32Array, tableIndex?: number): DisruptionRow {
  const svc = new Service({ protocol: Proto.TCP, addr: 0x0a640001, port: 80, schedName: name });
  const mk = (i: number): Dest => {
    const d = new Dest((0x0ac80000 + i * 3 + 1) >>> 0, 80, { weight: 1 });
    d.lastWeight = 1;
    d.flags |= DestFlag.AVAILABLE;
    return d;
  };
  const dests: Dest[] = [];
  for (let i = 0; i < n; i++) {
    const d = mk(i);
    dests.push(d);
    svc.insertDest(d);
  }
  const inst: SchedulerInstance = getScheduler(name).create(svc, tableIndex !== undefined ? { tableIndex } : {});
  const p = newSchedPacket();
  p.protocol = Proto.TCP;
  p.dport = 80;
  p.daddr = svc.addr;
  const map = (): (Dest | null)[] => {
    const out: (Dest | null)[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      if (name === 'dh') p.daddr = keys[i]!;
      else p.saddr = keys[i]!;
      out[i] = inst.schedule(svc, p);
    }
    return out;
  };
  const base = map();
  const counts = new Map<Dest | null, number>();
  for (const d of base) counts.set(d, (counts.get(d) ?? 0) + 1);
  const maxOverMean = Math.max(...dests.map((d) => counts.get(d) ?? 0)) / (keys.length / n);
  let slotBalance: number | undefined;
  const tbl = (inst as unknown as { table?: (Dest | null)[] }).table;
  if (name === 'mh' && Array.isArray(tbl)) {
    const sc = new Map<Dest | null, number>();
    for (const d of tbl) sc.set(d, (sc.get(d) ?? 0) + 1);
    slotBalance = Math.max(...dests.map((d) => sc.get(d) ?? 0)) / (tbl.length / n);
  }
  // one server leaves from the middle of the list
  const victim = dests[n >> 1]!;
  svc.removeDest(victim);
  victim.flags &= ~DestFlag.AVAILABLE;
  inst.delDest?.(svc, victim);
  const afterRemove = map();
  let mr = 0;
  let onVictim = 0;
  for (let i = 0; i < keys.length; i++) {
    if (base[i] !== afterRemove[i]) mr++;
    if (base[i] === victim) onVictim++;
  }
  // it comes back (both measurements start from the same n servers), then a new one joins
  svc.insertDest(victim);
  victim.flags |= DestFlag.AVAILABLE;
  inst.addDest?.(svc, victim);
  const restored = map();
  const extra = mk(n);
  svc.insertDest(extra);
  inst.addDest?.(svc, extra);
  const afterAdd = map();
  let ma = 0;
  let onNew = 0;
  for (let i = 0; i < keys.length; i++) {
    if (restored[i] !== afterAdd[i]) ma++;
    if (afterAdd[i] === extra) onNew++;
  }
  const f = (x: number): number => round(x / keys.length);
  return {
    servers: n,
    ...(name === 'mh' ? { table: (inst as unknown as { size: number }).size } : {}),
    moved_remove: f(mr),
    ideal_remove: f(onVictim),
    moved_add: f(ma),
    ideal_add: f(onNew),
    max_over_mean: round(maxOverMean, 3),
    ...(slotBalance !== undefined ? { max_over_mean_slots: round(slotBalance, 3) } : {}),
  };
}

/** The whole table: dh, sh, mh (kernel table) and mh with the largest kernel table near the Maglev paper's. */
export function disruptionTable(sizes: readonly number[], nkeys: number, seed: number, onRow?: () => void): Record<string, DisruptionRow[]> {
  const keys = probeKeys(nkeys, seed);
  const out: Record<string, DisruptionRow[]> = { dh: [], sh: [], mh: [], 'mh M=65521': [] };
  for (const n of sizes) {
    for (const name of HASHING) {
      out[name]!.push(disruption(name, n, keys));
      onRow?.();
    }
    out['mh M=65521']!.push(disruption('mh', n, keys, 16));
    onRow?.();
  }
  return out;
}

/** What the disruption table is compared with. */
export const MAGLEV_NOTE =
  'Maglev (Eisenbud et al., NSDI 2016) uses M = 65537 and reports near-perfect balance (every backend gets floor or ceil of M/N slots) ' +
  'and disruption that grows with the share of failed backends, smaller for larger M. Our mh follows the kernel (ip_vs_mh): M = 4093 by default ' +
  '(CONFIG_IP_VS_MH_TAB_INDEX 12); the "mh M=65521" rows use the kernel table size closest to the paper\'s 65537 (index 16). ' +
  'dh and sh use the kernel\'s 256-bucket tables (rebuilt round-robin on every change), so they move many more flows than the ideal and cannot balance more than 256 servers.';
