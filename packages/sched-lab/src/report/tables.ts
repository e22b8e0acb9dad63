/**
 * The report's tables as rows of cells, rendered to Markdown and to HTML by the same code,
 * so the two never disagree.
 */
import type { BenchReport } from '../lab.js';
import type { RunResult } from '../sim.js';
import type { SweepReport } from '../sweep.js';

/** A table: a title, a header row, body rows. */
export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  /** a sentence under the table */
  note?: string;
}

const pct = (x: number, d = 1): string => (x * 100).toFixed(d) + '%';
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** "rs1 17/16, rs2 33/33": share / capacity share in percent, per server. */
function shareCell(r: RunResult): string {
  return Object.keys(r.share)
    .map((n) => `${(r.share[n]! * 100).toFixed(0)}/${(r.capacity_share[n]! * 100).toFixed(0)}`)
    .join(' ');
}

function eventsCell(r: RunResult): string {
  if (r.events.length === 0) return '-';
  return r.events.map((e) => (e.moved === null ? '-' : `${e.moved.toFixed(2)}${e.ideal !== null ? '/' + e.ideal.toFixed(2) : ''}`)).join(' ');
}

function rulesCell(r: RunResult): string {
  if (r.rules.violations === 0) return `0 of ${r.rules.decisions}`;
  const f = r.rules.first!;
  return `${r.rules.violations} (first: decision ${f.decision}, ${f.rule})`;
}

/** The main comparison: one row per scheduler. */
export function mainTable(rep: BenchReport): Table {
  const names = rep.scenario.servers.map((s) => s.name).join(' ');
  const slow = rep.runs[0]?.slowest.server ?? '-';
  const evs = rep.scenario.events.map((e) => `${e.at}s ${e.server} ${e.action}`).join(', ');
  const anyPersist = rep.runs.some((r) => r.persistence_honoured !== null);
  return {
    title: 'Schedulers compared',
    head: [
      'scheduler',
      `share/capacity % (${names})`,
      'share error',
      'rejected',
      'max/mean load (avg, peak)',
      'wait ms p50 / p99 / p99.9',
      `slowest (${slow}) wait ms p99 / p99.9`,
      `moved/ideal at events`,
      'affinity',
      ...(anyPersist ? ['persistence honoured'] : []),
      'rule violations',
    ],
    rows: rep.runs.map((r) => [
      r.label,
      shareCell(r),
      r.share_error.toFixed(3),
      `${pct(r.connections.rejected_share)} (${r.connections.rejected})`,
      `${r.load.max_over_mean.toFixed(2)}, ${r.load.max_over_mean_peak.toFixed(2)}`,
      `${ms(r.wait_ms.p50)} / ${ms(r.wait_ms.p99)} / ${ms(r.wait_ms.p999)}`,
      `${ms(r.slowest.wait_ms.p99)} / ${ms(r.slowest.wait_ms.p999)}`,
      eventsCell(r),
      r.affinity.toFixed(3),
      ...(anyPersist ? [r.persistence_honoured ? `${pct(r.persistence_honoured.honoured, 2)} of ${r.persistence_honoured.expected}` : '-'] : []),
      rulesCell(r),
    ]),
    note:
      'share/capacity: connections each server got vs its share of the capacity over the run (time in service x connections per second it completes); ' +
      'share error: half the sum of the differences. Load: (requests in service + queued) / workers, max over servers / mean, sampled every ' +
      `${rep.scenario.sample_every} s. Wait: from a request's arrival at its server to the start of its service. ` +
      `Moved/ideal at events (${evs || 'none'}): of the clients seen before an event and again within the window after it, the share whose new connection went elsewhere, and the share that had to (their server left) or would to match the new weights. ` +
      'Affinity: returning clients that got the same server as last time. Rejected: the scheduler found no server (the kernel answers ICMP port unreachable).',
  };
}

/** Per phase: load balance and waits. */
export function phaseTable(rep: BenchReport): Table | null {
  const phases = rep.scenario.phases;
  if (phases.length === 0) return null;
  return {
    title: 'Phases',
    head: ['scheduler', ...phases.flatMap((p) => [`${p.name} (${p.from}-${p.to} s): max/mean`, 'wait p99 ms', 'slowest p99 ms', 'rejected'])],
    rows: rep.runs.map((r) => [r.label, ...r.phases.flatMap((p) => [p.max_over_mean.toFixed(2), ms(p.wait_ms.p99), ms(p.slowest_wait_ms.p99), String(p.rejected)])]),
  };
}

/** Per server event: the share of returning clients moved, against the ideal. */
export function eventTable(rep: BenchReport): Table | null {
  const evs = rep.scenario.events;
  if (evs.length === 0) return null;
  return {
    title: 'Flows moved at server events',
    head: ['scheduler', ...evs.map((e) => `${e.at}s ${e.server} ${e.action}${e.weight !== undefined ? ' ' + e.weight : ''}: moved / ideal (clients)`)],
    rows: rep.runs.map((r) => [r.label, ...r.events.map((e) => (e.moved === null ? `- (${e.clients})` : `${e.moved.toFixed(3)} / ${e.ideal === null ? '-' : e.ideal.toFixed(3)} (${e.clients})`))]),
  };
}

/** Connections: attempted, scheduled, rejected, refused, reset. */
export function connectionTable(rep: BenchReport): Table {
  return {
    title: 'Connections',
    head: ['scheduler', 'attempted', 'scheduled', 'rejected (no server)', 'table full', 'refused by a full queue', 'reset by a failure', 'requests served', 'response ms p50 / p99 / p99.9'],
    rows: rep.runs.map((r) => [
      r.label,
      String(r.connections.attempted),
      String(r.connections.scheduled),
      String(r.connections.rejected),
      String(r.connections.table_full),
      String(r.connections.refused_by_server),
      String(r.connections.reset_by_failure),
      String(r.requests.served),
      `${ms(r.response_ms.p50)} / ${ms(r.response_ms.p99)} / ${ms(r.response_ms.p999)}`,
    ]),
  };
}

/** The servers of the scenario. */
export function serverTable(rep: BenchReport): Table {
  return {
    title: 'Servers',
    head: ['server', 'address', 'capacity', 'workers', 'weight', 'thresholds', 'service time (s)', 'connections/s at full load', 'at start'],
    rows: rep.scenario.servers.map((s) => [
      s.name,
      `${s.addr}:${s.port}`,
      String(s.capacity),
      String(s.workers),
      String(s.weight),
      s.upper || s.lower ? `${s.upper}/${s.lower}` : '-',
      s.service,
      String(s.capacity_cps),
      s.present ? 'yes' : 'no (added later)',
    ]),
  };
}

/** The rule violations, one row per run that broke a rule. */
export function violationTable(rep: BenchReport): Table | null {
  const bad = rep.runs.filter((r) => r.rules.violations > 0);
  const conf = Object.entries(rep.conformance);
  if (bad.length === 0 && conf.length === 0) return null;
  const rows = bad.map((r) => {
    const f = r.rules.first!;
    return [r.label, String(r.rules.violations), Object.entries(r.rules.by_rule).map(([k, v]) => `${k} ${v}`).join(', '), `decision ${f.decision} at ${f.time} s: ${f.message}`];
  });
  for (const [label, c] of conf) {
    rows.push([`${label} (conformance run)`, c.failure ? '1' : '0', c.failure ? c.failure.rule : '-', c.failure ? `decision ${c.failure.decision}: ${c.failure.message}` : `${c.decisions} decisions on random services, none broke a rule`]);
  }
  return {
    title: 'Shared rules',
    head: ['scheduler', 'violations', 'by rule', 'first'],
    rows,
    note: 'Every decision is checked: no weight-0 pick, no OVERLOADed pick (except lblc reusing its cached server, as the kernel does), no null while a server is eligible (except the hashing schedulers without fallback), only servers of the service.',
  };
}

/** dh/sh/mh flows moved by a server change, over pool sizes. */
export function disruptionTableRows(rep: BenchReport): Table | null {
  if (!rep.disruption) return null;
  const rows: string[][] = [];
  for (const [k, v] of Object.entries(rep.disruption)) {
    for (const x of v) rows.push([k, String(x.servers), x.table !== undefined ? String(x.table) : '-', x.moved_remove.toFixed(4), x.ideal_remove.toFixed(4), x.moved_add.toFixed(4), x.ideal_add.toFixed(4), x.max_over_mean.toFixed(3), x.max_over_mean_slots !== undefined ? x.max_over_mean_slots.toFixed(3) : '-']);
  }
  return {
    title: 'Hashing: flows moved by one server leaving / joining',
    head: ['hash', 'servers', 'table M', 'remove 1: moved', 'ideal', 'add 1: moved', 'ideal', 'max/mean keys', 'max/mean slots'],
    rows,
    ...(rep.disruption_note ? { note: rep.disruption_note } : {}),
  };
}

/** Every table of a bench report, in order. */
export function benchTables(rep: BenchReport): Table[] {
  return [mainTable(rep), phaseTable(rep), eventTable(rep), connectionTable(rep), violationTable(rep), disruptionTableRows(rep)].filter((x): x is Table => x !== null);
}

/** A sweep: the main metric per scheduler and parameter value. */
export function sweepTables(sw: SweepReport): Table[] {
  const out: Table[] = [];
  for (const m of sw.metrics) {
    out.push({
      title: `${m.title} against ${sw.param}`,
      head: ['scheduler', ...sw.values.map((v) => `${sw.param}=${v}`)],
      rows: Object.entries(m.values).map(([label, xs]) => [label, ...xs.map((x) => (Number.isFinite(x) ? String(x) : '-'))]),
    });
  }
  out.push({
    title: 'Best scheduler at each point',
    head: [sw.param, ...sw.metrics.map((m) => m.title)],
    rows: sw.values.map((v, i) => [String(v), ...sw.metrics.map((m) => m.best[i] ?? '-')]),
    ...(sw.crossovers.length > 0 ? { note: 'Crossovers: ' + sw.crossovers.join('; ') + '.' } : {}),
  });
  return out;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** A table as Markdown. */
export function tableMarkdown(t: Table, level = 2): string {
  const lines = [`${'#'.repeat(level)} ${t.title}`, '', `| ${t.head.map(mdCell).join(' | ')} |`, `|${t.head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.map(mdCell).join(' | ')} |`);
  if (t.note) lines.push('', t.note);
  return lines.join('\n');
}
