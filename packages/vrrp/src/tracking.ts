/**
 * Tracking as keepalived computes it (vrrp_track.c): tracked interfaces, vrrp_scripts and
 * track files, each referenced with a weight, decide an instance's effective priority and
 * whether it is in FAULT.
 *
 *   - weight 0: the object failing puts the instance in FAULT (recovery leaves FAULT);
 *   - weight W > 0: W is added while the object is up / OK;
 *   - weight W < 0: |W| is subtracted while the object is down / failed;
 *   - `reverse` swaps up and down;
 *   - track_file: the file's integer value times the weight is added (reverse negates),
 *     and a result <= -254 means FAULT; weight 0: a non-zero value (zero with reverse)
 *     means FAULT;
 *   - effective priority = clamp(base + sum, 1, 254); a base priority of 255 is never
 *     adjusted.
 *
 * vrrp_script results go through rise/fall: after the first result (taken as is), the
 * state turns KO after `fall` consecutive failures and OK after `rise` successes. Until the
 * first result a script is INIT: a weight-0 reference keeps the instance in FAULT, a
 * weighted one counts for nothing; `init_fail` starts it as KO.
 *
 * All of this is pure: the daemon feeds results (script exits, interface flags, file
 * contents) and reads the effective priorities back.
 */

/** What kind of object a reference tracks. */
export type TrackKind = 'interface' | 'script' | 'file';

/** A reference from an instance (or a sync group) to a tracked object. */
export interface TrackRef {
  kind: TrackKind;
  /** interface name, vrrp_script name or track_file name */
  name: string;
  weight: number;
  reverse: boolean;
}

/** State of a vrrp_script. */
export type ScriptStatus = 'init' | 'ok' | 'ko';

/** rise/fall bookkeeping of one vrrp_script. */
export class ScriptState {
  status: ScriptStatus;
  private okRun = 0;
  private koRun = 0;

  constructor(
    readonly rise: number,
    readonly fall: number,
    initFail: boolean,
  ) {
    this.status = initFail ? 'ko' : 'init';
  }

  /** Feed one result; returns true when the status changed. */
  result(ok: boolean): boolean {
    const before = this.status;
    if (ok) {
      this.koRun = 0;
      this.okRun++;
      if (this.status === 'init' || (this.status === 'ko' && this.okRun >= this.rise)) this.status = 'ok';
    } else {
      this.okRun = 0;
      this.koRun++;
      if (this.status === 'init' || (this.status === 'ok' && this.koRun >= this.fall)) this.status = 'ko';
    }
    return this.status !== before;
  }
}

/** The effective priority of an instance and the reasons for it. */
export interface Effective {
  priority: number;
  /** non-empty = FAULT; each entry says which object failed */
  fault: string[];
  /** one line per tracked object that changed the priority or holds the instance in FAULT */
  why: string[];
}

/** The object states the tracker reads. */
export interface TrackStates {
  /** interface up (IFF_UP and IFF_RUNNING); missing = down */
  interfaceUp(name: string): boolean;
  script(name: string): ScriptStatus;
  /** integer read from a track_file (0 when unreadable, as keepalived does) */
  fileValue(name: string): number;
}

/** Clamp keepalived applies to a track_file contribution. */
function fileContribution(value: number, weight: number, reverse: boolean): number {
  const c = value * weight * (reverse ? -1 : 1);
  return c;
}

/**
 * Compute the effective priority of an instance with base priority `base` and the given
 * references (its own and its sync group's).
 */
export function effectivePriority(base: number, refs: readonly TrackRef[], st: TrackStates): Effective {
  const fault: string[] = [];
  const why: string[] = [];
  let sum = 0;
  for (const r of refs) {
    if (r.kind === 'file') {
      const v = st.fileValue(r.name);
      if (r.weight === 0) {
        if ((v !== 0) !== r.reverse) {
          fault.push(`track_file ${r.name} = ${v}`);
          why.push(`track_file ${r.name} = ${v} (weight 0${r.reverse ? ' reverse' : ''}): FAULT`);
        }
        continue;
      }
      const c = fileContribution(v, r.weight, r.reverse);
      if (c <= -254) {
        fault.push(`track_file ${r.name} = ${v} (x ${r.weight})`);
        why.push(`track_file ${r.name} = ${v} x weight ${r.weight}${r.reverse ? ' reverse' : ''} <= -254: FAULT`);
        continue;
      }
      const cc = Math.max(-253, Math.min(253, c));
      if (cc !== 0) {
        sum += cc;
        why.push(`track_file ${r.name} = ${v} x weight ${r.weight}${r.reverse ? ' reverse' : ''}: ${cc > 0 ? '+' : ''}${cc}`);
      }
      continue;
    }
    let up: boolean;
    let label: string;
    if (r.kind === 'interface') {
      up = st.interfaceUp(r.name);
      label = `interface ${r.name} ${up ? 'up' : 'down'}`;
    } else {
      const s = st.script(r.name);
      if (s === 'init') {
        if (r.weight === 0) {
          fault.push(`script ${r.name} has not reported yet`);
          why.push(`script ${r.name}: no result yet (weight 0): FAULT`);
        }
        continue;
      }
      up = s === 'ok';
      label = `script ${r.name} ${up ? 'OK' : 'KO'}`;
    }
    if (r.reverse) up = !up;
    if (r.weight === 0) {
      if (!up) {
        fault.push(label);
        why.push(`${label} (weight 0${r.reverse ? ' reverse' : ''}): FAULT`);
      }
      continue;
    }
    if (r.weight > 0 && up) {
      sum += r.weight;
      why.push(`${label}: +${r.weight}${r.reverse ? ' (reverse)' : ''}`);
    } else if (r.weight < 0 && !up) {
      sum += r.weight;
      why.push(`${label}: ${r.weight}${r.reverse ? ' (reverse)' : ''}`);
    }
  }
  if (base === 255) {
    return { priority: 255, fault, why: sum !== 0 ? [...why, 'address owner (255): weights not applied'] : why };
  }
  const total = base + sum;
  const priority = Math.max(1, Math.min(254, total));
  if (priority !== total) why.push(`${base} ${sum >= 0 ? '+' : '-'} ${Math.abs(sum)} = ${total}, clamped to ${priority}`);
  return { priority, fault, why };
}
