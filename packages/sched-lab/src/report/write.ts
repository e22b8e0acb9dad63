/**
 * The report files of `tunvs-sched bench`: report.json (deterministic for a seed),
 * report.md, one SVG per chart, report.html (one self-contained page: tables and the
 * charts side by side, no external resource) and timing.json (how long it took).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport, BenchTiming } from '../lab.js';
import type { SweepReport } from '../sweep.js';
import { benchCharts, sweepCharts } from './charts.js';
import type { Chart } from './charts.js';
import { esc } from './svg.js';
import { benchTables, serverTable, sweepTables, tableMarkdown } from './tables.js';
import type { Table } from './tables.js';

function scenarioLines(rep: BenchReport): string[] {
  const s = rep.scenario;
  const c = s.clients;
  const out: string[] = [];
  if (s.description) out.push(s.description, '');
  const svc = s.service;
  out.push(`- file: \`${s.file}\`, seed ${s.seed}, ${s.duration} s simulated`);
  out.push(`- service: ${svc.protocol} ${svc.vip}:${svc.port}${svc.persistence ? `, persistence ${svc.persistence} s (netmask ${svc.netmask})` : ''}${svc.flags.length ? `, flags ${svc.flags.join(',')}` : ''}${svc.onePacket ? ', one-packet' : ''}`);
  out.push(
    `- clients: ${c.count} addresses, Zipf s=${c.zipf}, ${c.rate_cps} connections/s${c.load !== null ? ` (load ${c.load} of the capacity)` : ''}` +
      `${c.curve.length ? `, rate curve ${c.curve.map(([t, m]) => `${t}s x${m}`).join(' ')}` : ''}; ports ${c.ports}; persistent clients ${(c.persistent_share * 100).toFixed(0)}% (${c.requests} requests, think ${c.think})` +
      `${c.duration ? `; connections open at least ${c.duration}` : ''}; ${c.mean_requests_per_connection} request${c.mean_requests_per_connection === 1 ? '' : 's'} per connection on average`,
  );
  for (const b of c.bursts) out.push(`- burst at ${b.at} s for ${b.duration} s: +${b.rate_cps} connections/s${b.load !== null ? ` (load ${b.load})` : ''}${b.clients ? ` from ${b.clients} new clients` : ''}`);
  if (s.events.length) out.push(`- events: ${s.events.map((e) => `${e.at} s ${e.server} ${e.action}${e.weight !== undefined ? ' ' + e.weight : ''}${e.upper !== undefined ? ` ${e.upper}/${e.lower}` : ''}`).join('; ')}`);
  if (rep.trace) out.push(`- arrivals from the trace \`${rep.trace.file}\`: ${rep.trace.connects} connects from ${rep.trace.clients} clients over ${rep.trace.span} s`);
  for (const w of rep.warnings) out.push(`- warning: ${w}`);
  return out;
}

function timingLine(t: BenchTiming | undefined): string {
  if (!t) return '';
  return `Simulated ${t.connections.toLocaleString('en-US')} connections in ${t.seconds} s: ${t.connections_per_second.toLocaleString('en-US')} connections/s.`;
}

/** report.md */
export function benchMarkdown(rep: BenchReport, timing?: BenchTiming, charts: Chart[] = []): string {
  const out = [`# Scheduler lab: ${rep.scenario.name}`, '', ...scenarioLines(rep), '', tableMarkdown(serverTable(rep))];
  for (const t of benchTables(rep)) out.push('', tableMarkdown(t));
  if (charts.length) {
    out.push('', '## Charts', '');
    for (const c of charts) out.push(`![${c.title}](${c.file})`);
  }
  if (timing) out.push('', timingLine(timing));
  out.push('');
  return out.join('\n');
}

/** The Markdown of a bench report as a section of a larger document (the bench suite's report). */
export function benchMarkdownSection(rep: BenchReport, level = 3): string[] {
  const out = [...scenarioLines(rep), '', tableMarkdown(serverTable(rep), level)];
  for (const t of benchTables(rep)) out.push('', tableMarkdown(t, level));
  return out;
}

function tableHtml(t: Table): string {
  const rows = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`).join('\n');
  return `<section><h2>${esc(t.title)}</h2>
<div class="scroll"><table><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table></div>${t.note ? `\n<p class="note">${esc(t.note)}</p>` : ''}</section>`;
}

const CSS = `body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1800px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;white-space:nowrap}
thead th{background:#f3f3f3;text-align:center}tbody th{text-align:left;background:#fafafa}
.scroll{overflow-x:auto}.note{font-size:.85em;color:#555;max-width:110em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(620px,1fr));gap:1em}
.charts figure{margin:0;border:1px solid #ddd;padding:.4em;overflow-x:auto}.charts svg{max-width:100%;height:auto}
ul{font-size:.9em}`;

function page(title: string, intro: string[], tables: Table[], charts: Chart[], foot: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<ul>
${intro.filter((l) => l.startsWith('- ')).map((l) => `<li>${esc(l.slice(2))}</li>`).join('\n')}
</ul>
${intro.filter((l) => l !== '' && !l.startsWith('- ')).map((l) => `<p>${esc(l)}</p>`).join('\n')}
<div class="charts">
${charts.map((c) => `<figure>${c.svg.replace(/^<\?xml[^>]*>/, '')}</figure>`).join('\n')}
</div>
${tables.map(tableHtml).join('\n')}
${foot ? `<p class="note">${esc(foot)}</p>` : ''}
</body></html>
`;
}

/** report.html: one page, the charts side by side and every table; nothing loaded from elsewhere. */
export function benchHtml(rep: BenchReport, timing?: BenchTiming, charts: Chart[] = benchCharts(rep)): string {
  return page(`Scheduler lab: ${rep.scenario.name}`, scenarioLines(rep), [serverTable(rep), ...benchTables(rep)], charts, timingLine(timing));
}

function put(dir: string, files: string[], name: string, text: string): void {
  writeFileSync(join(dir, name), text);
  files.push(join(dir, name));
}

/** Write every file of a bench report into `dir`; returns the paths written. */
export function writeBenchReport(dir: string, rep: BenchReport, timing?: BenchTiming): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const charts = benchCharts(rep);
  put(dir, files, 'report.json', JSON.stringify(rep, null, 1) + '\n');
  for (const c of charts) put(dir, files, c.file, c.svg);
  put(dir, files, 'report.md', benchMarkdown(rep, timing, charts));
  put(dir, files, 'report.html', benchHtml(rep, timing, charts));
  if (timing) put(dir, files, 'timing.json', JSON.stringify(timing, null, 1) + '\n');
  return files;
}

/** sweep.md */
export function sweepMarkdown(sw: SweepReport, timing?: BenchTiming, charts: Chart[] = []): string {
  const out = [`# Scheduler lab sweep: ${sw.scenario}, ${sw.param}`, '', `Values: ${sw.values.join(', ')}; seed ${sw.seed}${sw.repeat > 1 ? `; every figure the mean of ${sw.repeat} runs (seeds ${sw.seed}..${sw.seed + sw.repeat - 1})` : ''}.`];
  for (const t of sweepTables(sw)) out.push('', tableMarkdown(t));
  if (charts.length) {
    out.push('', '## Charts', '');
    for (const c of charts) out.push(`![${c.title}](${c.file})`);
  }
  if (timing) out.push('', timingLine(timing));
  out.push('');
  return out.join('\n');
}

/** Write the files of a sweep (sweep.json, sweep.md, sweep-*.svg, sweep.html, timing.json). */
export function writeSweepReport(dir: string, sw: SweepReport, timing?: BenchTiming): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const charts = sweepCharts(sw);
  put(dir, files, 'sweep.json', JSON.stringify(sw, null, 1) + '\n');
  for (const c of charts) put(dir, files, c.file, c.svg);
  put(dir, files, 'sweep.md', sweepMarkdown(sw, timing, charts));
  put(dir, files, 'sweep.html', page(`Scheduler lab sweep: ${sw.scenario}, ${sw.param}`, [`- values: ${sw.values.join(', ')}; seed ${sw.seed}${sw.repeat > 1 ? `, mean of ${sw.repeat} seeds` : ''}`, ...sw.crossovers.map((c) => `- ${c}`)], sweepTables(sw), charts, timingLine(timing)));
  if (timing) put(dir, files, 'timing.json', JSON.stringify(timing, null, 1) + '\n');
  return files;
}
