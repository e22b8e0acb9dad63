/**
 * The report's SVG charts: share per server against capacity, imbalance over time, wait
 * percentiles overall and on the slowest server, rejected connections, flows moved at
 * each event against the ideal; for a sweep, each figure against the parameter.
 */
import type { BenchReport } from '../lab.js';
import type { SweepReport } from '../sweep.js';
import { barChart, lineChart } from './svg.js';
import type { Series } from './svg.js';

/** One chart: its file name, title and SVG text. */
export interface Chart {
  file: string;
  title: string;
  svg: string;
}

/** The footer every chart of a bench report carries (deterministic: no clock). */
export function benchFooter(rep: BenchReport): string {
  return `tunvs-sched bench: ${rep.scenario.name}, seed ${rep.scenario.seed}, ${rep.scenario.duration} s simulated`;
}

/** Charts of a bench report (`prefix` is put before every file name). */
export function benchCharts(rep: BenchReport, footer = benchFooter(rep), prefix = ''): Chart[] {
  const out: Chart[] = [];
  const labels = rep.runs.map((r) => r.label);
  const servers = rep.scenario.servers.map((s) => s.name);
  if (rep.runs.length === 0) return out;
  // share per server, with the capacity share as the first bar
  const cats = ['capacity', ...labels];
  const cap = rep.runs[0]!.capacity_share;
  const share: Series[] = servers.map((n) => ({ name: n, values: [cap[n]! * 100, ...rep.runs.map((r) => r.share[n]! * 100)] }));
  out.push({ file: `${prefix}share.svg`, title: 'Share of connections per server vs capacity', svg: barChart({ title: 'Share of connections per server (%); first bar: capacity share', footer, categories: cats, series: share, stacked: true, yLabel: '% of connections' }) });

  const marks = rep.scenario.events.map((e) => ({ x: e.at, label: `${e.server} ${e.action}` }));
  for (const b of rep.scenario.clients.bursts) marks.push({ x: b.at, label: `burst +${b.rate_cps}/s` });
  out.push({
    file: `${prefix}imbalance.svg`,
    title: 'Imbalance over time',
    svg: lineChart({ title: 'Imbalance over time: max / mean capacity-normalised load', footer, xs: rep.times, xLabel: 'simulated seconds', series: rep.runs.map((r) => ({ name: r.label, values: r.load.series })), yLabel: 'max / mean load', marks, yMax: Math.min(6, Math.max(2, ...rep.runs.map((r) => r.load.max_over_mean * 1.5))) }),
  });
  out.push({
    file: `${prefix}wait.svg`,
    title: 'Wait percentiles',
    svg: barChart({ title: 'Wait before service (ms), all requests', footer, categories: labels, series: [{ name: 'p50', values: rep.runs.map((r) => r.wait_ms.p50) }, { name: 'p99', values: rep.runs.map((r) => r.wait_ms.p99) }, { name: 'p99.9', values: rep.runs.map((r) => r.wait_ms.p999) }], yLabel: 'ms', log: true }),
  });
  const slow = rep.runs[0]!.slowest.server;
  out.push({
    file: `${prefix}wait-slowest.svg`,
    title: `Wait on the slowest server (${slow})`,
    svg: barChart({ title: `Wait before service on the slowest server, ${slow} (ms)`, footer, categories: labels, series: [{ name: 'p50', values: rep.runs.map((r) => r.slowest.wait_ms.p50) }, { name: 'p99', values: rep.runs.map((r) => r.slowest.wait_ms.p99) }, { name: 'p99.9', values: rep.runs.map((r) => r.slowest.wait_ms.p999) }], yLabel: 'ms', log: true }),
  });
  out.push({
    file: `${prefix}rejected.svg`,
    title: 'Rejected connections',
    svg: barChart({ title: 'Connections rejected: no server found (%)', footer, categories: labels, series: [{ name: 'rejected', values: rep.runs.map((r) => r.connections.rejected_share * 100) }], yLabel: '% of connections' }),
  });
  if (rep.scenario.events.length > 0) {
    const evCats = rep.scenario.events.map((e) => `${e.at}s ${e.server} ${e.action}`);
    const series: Series[] = rep.runs.map((r) => ({ name: r.label, values: r.events.map((e) => (e.moved ?? NaN) * 100) }));
    series.push({ name: 'ideal', values: rep.runs[0]!.events.map((e) => (e.ideal ?? NaN) * 100) });
    out.push({ file: `${prefix}moved.svg`, title: 'Flows moved at server events', svg: barChart({ title: 'Returning clients moved to another server at each event (%); last bar: ideal', footer, categories: evCats, series, yLabel: '% of returning clients' }) });
  }
  return out;
}

/** Charts of a sweep: each figure against the parameter, one line per scheduler. */
export function sweepCharts(sw: SweepReport): Chart[] {
  const numeric = sw.values.every((v) => typeof v === 'number');
  const xs = numeric ? (sw.values as number[]) : sw.values.map((_, i) => i);
  const footer = `tunvs-sched bench --sweep ${sw.param}: ${sw.scenario}, seed ${sw.seed}${numeric ? '' : ` (x: ${sw.values.join(', ')})`}`;
  return sw.metrics.map((m) => ({
    file: `sweep-${m.key.replace(/_/g, '-')}.svg`,
    title: `${m.title} against ${sw.param}`,
    svg: lineChart({ title: `${m.title} against ${sw.param}`, footer, xs, xLabel: numeric ? sw.param : `${sw.param} (point number)`, series: Object.entries(m.values).map(([name, values]) => ({ name, values })), yLabel: m.title }),
  }));
}
