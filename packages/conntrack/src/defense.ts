/**
 * The kernel's defence levels (ip_vs_ctl.c update_defense_level, ipvs-semantics.md 3.10):
 * once a second, and whenever a setting is written, available memory is compared with
 * `amemthresh` and each automatic mode moves between 1 (armed, off) and 2 (on):
 *
 *   - drop_entry: while on, 1/32 of the table is scanned at random every second and
 *     half-open entries (and idle ones, rate-limited) are dropped (ConnTable.randomDropEntry);
 *   - drop_packet: while on, one new connection in `dropRate` is refused before it is
 *     scheduled; automatic mode: dropRate = amemthresh / (amemthresh - available), so the
 *     rate rises as memory runs out (every one when none is left); mode 3: am_droprate;
 *   - secure_tcp: while on (mode 2 or 3), TCP follows the secure_tcp transition tables.
 *
 * "Available memory" for tunvs is the connection table's free room: free slots times the
 * bytes one entry takes, in 4096-byte pages (the table is the director's bounded memory;
 * the kernel's table grows until the machine's memory runs out instead).
 */
import type { DefenseSettings } from '@tunvs/model';

/** The unit of `amemthresh` (the kernel counts pages). */
export const PAGE_BYTES = 4096;

/** What the settings switched on at the last update (the kernel's dropentry, drop_rate, tcp table). */
export interface DefenseLevel {
  /** drop_entry scans run */
  dropEntry: boolean;
  /** drop_packet: one new connection in dropRate is dropped; 0 = none */
  dropRate: number;
  /** counts down to the next dropped connection */
  dropCounter: number;
  /** secure_tcp transition tables in use */
  secureTcp: boolean;
  /** available memory (pages) seen by the last update */
  availablePages: number;
}

/** A level with every defence off. */
export function defenseLevelOff(): DefenseLevel {
  return { dropEntry: false, dropRate: 0, dropCounter: 0, secureTcp: false, availablePages: 0 };
}

/**
 * One update of the defence level from `availablePages`: moves automatic modes of `s`
 * between 1 and 2 (in place) and sets `level`. Returns true when the secure_tcp tables
 * were switched (on or off).
 */
export function updateDefenseLevel(s: DefenseSettings, level: DefenseLevel, availablePages: number): boolean {
  const thresh = Math.max(s.amemthresh, 0);
  const low = availablePages < thresh;
  level.availablePages = availablePages;

  // drop_entry
  if (s.dropEntry === 1 && low) s.dropEntry = 2;
  else if (s.dropEntry === 2 && !low) s.dropEntry = 1;
  level.dropEntry = s.dropEntry === 3 || (s.dropEntry === 2 && low);

  // drop_packet: the rate grows as the free room shrinks (C integer division)
  if (s.dropPacket === 1 && low) s.dropPacket = 2;
  else if (s.dropPacket === 2 && !low) s.dropPacket = 1;
  if (s.dropPacket === 3) level.dropRate = s.amDroprate;
  else if (s.dropPacket === 2) {
    level.dropRate = Math.trunc(s.amemthresh / (s.amemthresh - availablePages));
    level.dropCounter = level.dropRate;
  } else level.dropRate = 0;

  // secure_tcp: the tables follow the mode after its move (on in 2 and 3)
  if (s.secureTcp === 1 && low) s.secureTcp = 2;
  else if (s.secureTcp === 2 && !low) s.secureTcp = 1;
  const secure = s.secureTcp >= 2;
  const changed = secure !== level.secureTcp;
  level.secureTcp = secure;
  return changed;
}

/** drop_packet's verdict for one new connection (the kernel's ip_vs_todrop). */
export function dropThisPacket(level: DefenseLevel): boolean {
  if (level.dropRate === 0) return false;
  if (--level.dropCounter > 0) return false;
  level.dropCounter = level.dropRate;
  return true;
}
