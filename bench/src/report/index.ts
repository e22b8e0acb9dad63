/**
 * The run report: after `npm run bench`, `bench/results/<run-id>/` gets `report.json`
 * (machine + every suite's figures), `report.md` (tables per suite, targets, ratios) and
 * SVG charts. Every chart and table names the machine and the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from '../machine.js';
import { benchCharts, benchMarkdownSection } from '@tunvs/sched-lab';
import type { BenchReport } from '@tunvs/sched-lab';
import { barChart } from './svg.js';

export { progress, setProgressEnabled } from './progress.js';
export type { Progress } from './progress.js';
export { barChart, lineChart, esc } from './svg.js';

/** Everything a report is made of. */
export interface RunReport {
  runId: string;
  date: string;
  command: string;
  machine: MachineInfo;
  suites: Record<string, Record<string, unknown>>;
  /** suites that failed, with their error message */
  errors: Record<string, string>;
}

/** A run id from the date and the suite selection: 20261122-034411-fastpath. */
export function makeRunId(date: Date, what: string): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}-${what}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return Math.abs(v) >= 1e4 ? v.toLocaleString('en-US') : String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

function cell(v: unknown): string {
  if (typeof v === 'number') return fmtNum(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.length > 12 ? `[${v.length} values]` : v.map(cell).join(', ');
  if (isObj(v)) return JSON.stringify(v);
  return String(v).replace(/\|/g, '\\|');
}

function mdTable(rows: unknown[][]): string {
  const [head, ...body] = rows;
  const line = (r: unknown[]): string => `| ${r.map(cell).join(' | ')} |`;
  return [line(head!), `|${head!.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map(line)].join('\n');
}

/** Flatten nested figures to [dotted key, value] rows (arrays of numbers stay whole). */
function flatten(o: Obj, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObj(v)) flatten(v, key, out);
    else out.push([key, v]);
  }
  return out;
}

function machineLine(m: MachineInfo): string {
  return `${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, kernel ${m.kernel}, Node ${m.node}`;
}

/** The footer every chart carries. */
function footer(r: RunReport): string {
  return `tunvs bench ${r.runId} (${r.date}) - ${machineLine(r.machine)}`;
}

// --------------------------------------------------------------------------- fastpath

function fastpathMd(f: Obj): string[] {
  const out: string[] = [];
  const t = isObj(f['targets']) ? f['targets'] : {};
  const met = isObj(f['targets_met']) ? f['targets_met'] : {};
  out.push(mdTable([
    ['figure', 'measured', 'target', 'ratio to target', 'met'],
    ['established Mpps (1M flows, net of slab copy)', f['established_mpps'], t['established_mpps'], num(f['established_mpps']) / num(t['established_mpps']), met['established']],
    ['established Mpps (1M flows in random order, net of slab copy)', f['established_random_mpps'], t['established_mpps'], num(f['established_random_mpps']) / num(t['established_mpps']), met['established_random']],
    ['established Mpps (one cache-hot slab, net of slab copy)', f['established_hot_mpps'], t['established_hot_mpps'], num(f['established_hot_mpps']) / num(t['established_hot_mpps']), met['established_hot']],
    ['new flows/s, best scheduler', f['new_flows_best'], t['new_flows_per_s'], num(f['new_flows_best']) / num(t['new_flows_per_s']), num(f['new_flows_best']) >= num(t['new_flows_per_s'])],
    ['new flows/s, worst scheduler', f['new_flows_worst'], t['new_flows_per_s'], num(f['new_flows_worst']) / num(t['new_flows_per_s']), met['new_flows']],
  ]));
  out.push('');
  out.push(mdTable([
    ['established path (64-byte TCP ACKs, batch 256)', 'Mpps', 'ns/packet'],
    ['Director, flows rotating over the whole table in creation order (net)', f['established_mpps'], 1e3 / num(f['established_mpps'])],
    ['Director, gross (slab restore copy included)', f['established_gross_mpps'], 1e3 / num(f['established_gross_mpps'])],
    ['Director, the same without the batch pre-pass (net)', f['established_no_prepass_mpps'], 1e3 / num(f['established_no_prepass_mpps'])],
    ['Director, the flows in random order (net)', f['established_random_mpps'], 1e3 / num(f['established_random_mpps'])],
    ['Director, the same without the batch pre-pass (net)', f['established_random_no_prepass_mpps'], 1e3 / num(f['established_random_no_prepass_mpps'])],
    ['Director, one cache-hot slab of 256 flows (net)', f['established_hot_mpps'], 1e3 / num(f['established_hot_mpps'])],
    ['Director, the same without the batch pre-pass (net)', f['established_hot_no_prepass_mpps'], 1e3 / num(f['established_hot_no_prepass_mpps'])],
    ['reference: bare checkIpv4 + natRewriteDst + decTtl (net)', f['reference_mpps'], 1e3 / num(f['reference_mpps'])],
  ]));
  out.push('');
  out.push(`Director / reference: **${cell(f['ratio_vs_reference'])}x**; the Director's layers (lookup, state, timers, stats, queueing) cost ${cell(f['director_layers_ns_per_packet'])} ns/packet. The slab restore copy (${cell(f['copy_ns_per_packet'])} ns/packet) was measured alone in the same run and subtracted.`);
  const l2 = isObj(f['layer2']) ? f['layer2'] : null;
  if (l2) {
    out.push('');
    out.push(`Layer 2 (Ethernet frames, the path of TAP, AF_XDP and AF_PACKET links): ${cell(l2['established_mpps'])} Mpps over ${cell(l2['flows'])} flows, ${cell(l2['established_hot_mpps'])} Mpps cache-hot, **${cell(l2['hot_vs_tun'])}x** the TUN path's cache-hot figure in the same rounds (${cell(l2['layer2_ns_per_packet'])} ns/packet more; median of the per-round ratios ${cell(l2['hot_vs_tun_paired'])}x).`);
  }
  const nf = isObj(f['new_flows_per_s']) ? f['new_flows_per_s'] : {};
  const ng = isObj(f['new_flows_gross_per_s']) ? f['new_flows_gross_per_s'] : {};
  out.push('');
  out.push(mdTable([
    ['scheduler', 'new flows/s (net)', 'gross', 'ratio to 2M/s target'],
    ...Object.keys(nf).map((k) => [k, nf[k], ng[k], num(nf[k]) / num(t['new_flows_per_s'])]),
  ]));
  const prof = f['profile_top5'];
  if (isObj(prof)) {
    for (const [what, top] of Object.entries(prof)) {
      if (!Array.isArray(top)) continue;
      out.push('');
      out.push(`Top 5 functions by self time (V8 CPU profile), ${what}:`);
      out.push('');
      out.push(mdTable([['function', 'where', 'self %'], ...top.map((x) => { const o = x as Obj; return [o['fn'], o['where'], o['selfPct']]; })]));
    }
  }
  return out;
}

// --------------------------------------------------------------------------- quality

/** The quality suite's figures are a scheduler-lab report: its tables, as a section. */
function qualityMd(f: Obj): string[] {
  if (!Array.isArray(f['runs'])) return [];
  return benchMarkdownSection(f as unknown as BenchReport);
}

// --------------------------------------------------------------------------- charts

function charts(r: RunReport): { file: string; title: string; svg: string }[] {
  const out: { file: string; title: string; svg: string }[] = [];
  const foot = footer(r);
  const q = r.suites['quality'];
  if (isObj(q) && Array.isArray(q['runs'])) out.push(...benchCharts(q as unknown as BenchReport, foot, 'quality-'));
  const fp = r.suites['fastpath'];
  if (isObj(fp) && isObj(fp['new_flows_per_s'])) {
    const nf = fp['new_flows_per_s'];
    const names = Object.keys(nf);
    out.push({ file: 'fastpath-new-flows.svg', title: 'New flows per second per scheduler', svg: barChart({ title: 'New flows/s per scheduler (Director, one core)', footer: foot, categories: names, series: [{ name: 'new flows/s', values: names.map((n) => num(nf[n])) }], refLine: { value: num((fp['targets'] as Obj | undefined)?.['new_flows_per_s']), label: 'target' } }) });
    out.push({ file: 'fastpath-established.svg', title: 'Established packets per second', svg: barChart({ title: 'Established Mpps (64-byte packets)', footer: foot, categories: ['Director (1M flows)', 'Director (hot slab)', 'bare packet loop'], series: [{ name: 'Mpps', values: [num(fp['established_mpps']), num(fp['established_hot_mpps']), num(fp['reference_mpps'])] }], refLine: { value: num((fp['targets'] as Obj | undefined)?.['established_mpps']), label: 'target' } }) });
  }
  // throughput per anchor, from the e2e suite: {anchors: {name: {conn_per_s, keepalive_rps, tcp_gbps, udp_pps}}}
  const e2e = r.suites['e2e'];
  if (isObj(e2e) && isObj(e2e['anchors'])) {
    const anchors = e2e['anchors'];
    const names = Object.keys(anchors);
    const metrics: [string, string][] = [['conn_per_s', 'new connections/s'], ['keepalive_rps', 'keep-alive requests/s'], ['tcp_gbps', 'TCP Gbit/s'], ['udp_pps', 'UDP packets/s']];
    for (const [m, label] of metrics) {
      const values = names.map((n) => num((anchors[n] as Obj | undefined)?.[m]));
      if (!values.some((v) => Number.isFinite(v))) continue;
      out.push({ file: `anchors-${m.replace(/_/g, '-')}.svg`, title: `Throughput per anchor: ${label}`, svg: barChart({ title: `Throughput per anchor: ${label}`, footer: foot, categories: names, series: [{ name: label, values }] }) });
    }
  }
  return out;
}

// --------------------------------------------------------------------------- writer

/** Markdown for people: the machine, the command, a section per suite. */
export function renderMarkdown(r: RunReport, chartFiles: { file: string; title: string }[] = []): string {
  const out: string[] = [];
  out.push(`# tunvs benchmark report: ${r.runId}`);
  out.push('');
  out.push(`- date: ${r.date}`);
  out.push(`- command: \`${r.command}\``);
  out.push(`- machine: ${machineLine(r.machine)}`);
  out.push(`- memory: ${r.machine.hugePages ?? 'huge pages not recorded'}`);
  out.push('- note: the machine is shared; absolute figures drift by 20% and more between runs, so each suite reports ratios to references measured in the same run.');
  for (const [name, figs] of Object.entries(r.suites)) {
    out.push('');
    out.push(`## ${name}`);
    out.push('');
    if (name === 'fastpath') out.push(...fastpathMd(figs));
    else if (name === 'quality') out.push(...qualityMd(figs));
    else {
      const rows = flatten(figs).filter(([, v]) => !(Array.isArray(v) && v.length > 12));
      out.push(mdTable([['figure', 'value'], ...rows]));
    }
  }
  for (const [name, msg] of Object.entries(r.errors)) {
    out.push('');
    out.push(`## ${name}: FAILED`);
    out.push('');
    out.push('```');
    out.push(msg);
    out.push('```');
  }
  if (chartFiles.length > 0) {
    out.push('');
    out.push('## Charts');
    for (const c of chartFiles) {
      out.push('');
      out.push(`![${c.title}](${c.file})`);
    }
  }
  out.push('');
  return out.join('\n');
}

/** Write report.json, report.md and the charts into `dir`; returns the files written. */
export function writeReport(dir: string, r: RunReport): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const put = (f: string, s: string): void => {
    writeFileSync(join(dir, f), s);
    files.push(join(dir, f));
  };
  put('report.json', JSON.stringify(r, null, 2) + '\n');
  const cs = charts(r);
  for (const c of cs) put(c.file, c.svg);
  put('report.md', renderMarkdown(r, cs));
  return files;
}
