/**
 * keepalived's notifications (vrrp_notify.c) as an ordered list of jobs:
 *
 *   1. the per-state script (notify_master / _backup / _fault / _stop), as configured, with
 *      no added arguments (STOP: killed after 1 s);
 *   2. the generic `notify` script with four more arguments:
 *      INSTANCE|GROUP, the name, MASTER|BACKUP|FAULT|STOP, the priority (the effective
 *      priority of an instance, 0 for a group);
 *   3. one FIFO line: `INSTANCE "VI_1" MASTER 150\n` (GROUP "G" BACKUP 0 ...).
 *
 * Events: MASTER_RX_LOWER_PRI runs notify_master_rx_lower_pri then writes the FIFO;
 * MASTER_PRIORITY / BACKUP_PRIORITY only write the FIFO.
 */
import type { NotifyEvent } from './types.js';

/** A script as configured: program and arguments, optional user and group. */
export interface NotifyScript {
  argv: string[];
  user?: string;
  group?: string;
}

/** The scripts of one instance or sync group. */
export interface NotifyScripts {
  master?: NotifyScript;
  backup?: NotifyScript;
  fault?: NotifyScript;
  stop?: NotifyScript;
  /** notify_deleted (parsed; tunvs never deletes instances at run time) */
  deleted?: NotifyScript;
  /** the generic `notify` script */
  notify?: NotifyScript;
  masterRxLowerPri?: NotifyScript;
}

/** One thing to do for a notification. */
export type NotifyJob =
  | { kind: 'script'; argv: string[]; user?: string; group?: string; /** kill after this long (STOP: 1000) */ timeoutMs?: number; role: string }
  | { kind: 'fifo'; line: string };

/** The FIFO line for an event, exactly as keepalived writes it. */
export function fifoLine(ev: NotifyEvent): string {
  return `${ev.kind} "${ev.name}" ${ev.state} ${ev.priority}\n`;
}

function job(s: NotifyScript, argv: string[], role: string, timeoutMs?: number): NotifyJob {
  const j: NotifyJob = { kind: 'script', argv, role };
  if (s.user !== undefined) j.user = s.user;
  if (s.group !== undefined) j.group = s.group;
  if (timeoutMs !== undefined) j.timeoutMs = timeoutMs;
  return j;
}

/** The jobs for one event, in keepalived's order. `fifo` = a notify FIFO is configured. */
export function notifyJobs(ev: NotifyEvent, scripts: NotifyScripts, fifo: boolean): NotifyJob[] {
  const out: NotifyJob[] = [];
  if (ev.event) {
    if (ev.state === 'MASTER_RX_LOWER_PRI' && scripts.masterRxLowerPri) {
      out.push(job(scripts.masterRxLowerPri, [...scripts.masterRxLowerPri.argv], 'notify_master_rx_lower_pri'));
    }
    if (fifo) out.push({ kind: 'fifo', line: fifoLine(ev) });
    return out;
  }
  const perState =
    ev.state === 'MASTER' ? scripts.master : ev.state === 'BACKUP' ? scripts.backup : ev.state === 'FAULT' ? scripts.fault : ev.state === 'STOP' ? scripts.stop : undefined;
  const stop = ev.state === 'STOP' ? 1000 : undefined;
  if (perState) out.push(job(perState, [...perState.argv], `notify_${ev.state.toLowerCase()}`, stop));
  if (scripts.notify) out.push(job(scripts.notify, [...scripts.notify.argv, ev.kind, ev.name, ev.state, String(ev.priority)], 'notify', stop));
  if (fifo) out.push({ kind: 'fifo', line: fifoLine(ev) });
  return out;
}
