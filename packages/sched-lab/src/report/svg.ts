/**
 * Hand-written SVG charts (no dependency): grouped/stacked bars and line charts, each with
 * a title and a footer (the benchmarks name the machine and the run there). Used by the
 * scheduler lab's reports and by `npm run bench`.
 */

/** One data series of a chart. */
export interface Series {
  name: string;
  values: number[];
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#1f77b4', '#8c564b', '#17becf', '#7f7f7f'];

/** Escape text for SVG/XML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  if (a >= 10 || n === 0) return n.toFixed(0);
  return n.toFixed(2);
}

/** A "nice" axis maximum at or above `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface Frame {
  width: number;
  height: number;
  title: string;
  footer: string;
  yLabel?: string;
}

function open(f: Frame): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${f.width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(f.title)}</text>`,
    `<text x="${f.width / 2}" y="${f.height - 6}" text-anchor="middle" font-size="9" fill="#555">${esc(f.footer)}</text>`,
    ...(f.yLabel ? [`<text x="14" y="${f.height / 2}" transform="rotate(-90 14 ${f.height / 2})" text-anchor="middle">${esc(f.yLabel)}</text>`] : []),
  ];
}

function yAxis(out: string[], x0: number, y0: number, h: number, w: number, max: number): void {
  for (let i = 0; i <= 4; i++) {
    const y = y0 + h - (h * i) / 4;
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 - 4}" y="${y + 4}" text-anchor="end">${fmt((max * i) / 4)}</text>`);
  }
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + h}" stroke="#333"/>`);
}

function legend(out: string[], names: string[], x: number, y: number): void {
  names.forEach((n, i) => {
    const yy = y + i * 14;
    out.push(`<rect x="${x}" y="${yy - 9}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${x + 14}" y="${yy}">${esc(n)}</text>`);
  });
}

/**
 * Bars: one group per category, one bar per series (or stacked when `stacked`).
 * `refLine` draws a dashed horizontal line (a target) with its label; `log` puts the y axis
 * on a log10 scale (one gridline per power of ten; not with `stacked`), for values over
 * several orders of magnitude.
 */
export function barChart(opts: {
  title: string;
  footer: string;
  categories: string[];
  series: Series[];
  stacked?: boolean;
  yLabel?: string;
  refLine?: { value: number; label: string };
  width?: number;
  log?: boolean;
}): string {
  const n = opts.categories.length;
  const log = opts.log === true && !opts.stacked;
  const width = opts.width ?? Math.max(480, 110 + n * (opts.stacked ? 40 : 18 * Math.max(1, opts.series.length) + 14) + 150);
  const height = 340;
  const x0 = 60;
  const y0 = 36;
  const w = width - x0 - 150;
  const h = height - y0 - 70;
  let min = Infinity;
  let max = 0;
  for (let c = 0; c < n; c++) {
    const v = (s: Series): number => (Number.isFinite(s.values[c]) ? s.values[c]! : 0);
    if (opts.stacked) max = Math.max(max, opts.series.reduce((a, s) => a + v(s), 0));
    else for (const s of opts.series) max = Math.max(max, v(s));
    for (const s of opts.series) if (v(s) > 0) min = Math.min(min, v(s));
  }
  if (opts.refLine) max = Math.max(max, opts.refLine.value);
  // the y of a value, and the gridlines
  let Y: (v: number) => number;
  const out = open({ width, height, title: opts.title, footer: opts.footer, yLabel: log ? `${opts.yLabel ?? ''} (log scale)`.trim() : opts.yLabel });
  if (log) {
    const lo = Number.isFinite(min) ? Math.floor(Math.log10(min)) : 0;
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(max > 0 ? max : 10)));
    Y = (v) => y0 + h - (h * (Math.log10(Math.max(v, 10 ** lo)) - lo)) / (hi - lo);
    for (let e = lo; e <= hi; e++) {
      out.push(`<line x1="${x0}" y1="${Y(10 ** e)}" x2="${x0 + w}" y2="${Y(10 ** e)}" stroke="#ddd"/>`);
      out.push(`<text x="${x0 - 4}" y="${Y(10 ** e) + 4}" text-anchor="end">${fmt(10 ** e)}</text>`);
    }
    out.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + h}" stroke="#333"/>`);
  } else {
    max = niceMax(max);
    Y = (v) => y0 + h - (h * v) / max;
    yAxis(out, x0, y0, h, w, max);
  }
  const gw = w / Math.max(1, n);
  const k = opts.stacked ? 1 : opts.series.length;
  const bw = Math.max(2, Math.min(28, (gw * 0.8) / Math.max(1, k)));
  for (let c = 0; c < n; c++) {
    const gx = x0 + c * gw + (gw - bw * k) / 2;
    let acc = 0;
    opts.series.forEach((s, si) => {
      const v = s.values[c] ?? 0;
      if (!(v > 0)) return;
      const top = opts.stacked ? Y(acc + v) : Y(v);
      const bottom = opts.stacked ? Y(acc) : y0 + h;
      const x = opts.stacked ? gx : gx + si * bw;
      acc += v;
      out.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(bottom - top).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${opts.categories[c]} ${s.name}: ${fmt(v)}`)}</title></rect>`);
    });
    const lx = x0 + c * gw + gw / 2;
    out.push(`<text x="${lx}" y="${y0 + h + 14}" text-anchor="end" transform="rotate(-35 ${lx} ${y0 + h + 14})">${esc(opts.categories[c]!)}</text>`);
  }
  if (opts.refLine) {
    const y = Y(opts.refLine.value);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#c00" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${x0 + w - 2}" y="${y - 4}" text-anchor="end" fill="#c00">${esc(opts.refLine.label)}</text>`);
  }
  legend(out, opts.series.map((s) => s.name), x0 + w + 14, y0 + 10);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Lines over a shared x axis (`xs`), one per series; `marks` draws labelled vertical lines. */
export function lineChart(opts: {
  title: string;
  footer: string;
  xs: number[];
  xLabel: string;
  series: Series[];
  yLabel?: string;
  marks?: { x: number; label: string }[];
  yMax?: number;
}): string {
  const width = 760;
  const height = 380;
  const x0 = 60;
  const y0 = 36;
  const w = width - x0 - 150;
  const h = height - y0 - 70;
  let max = 0;
  for (const s of opts.series) for (const v of s.values) if (Number.isFinite(v)) max = Math.max(max, v);
  max = niceMax(opts.yMax ?? max);
  const xmin = opts.xs[0] ?? 0;
  const xmax = opts.xs[opts.xs.length - 1] ?? 1;
  const X = (x: number): number => x0 + (w * (x - xmin)) / Math.max(1e-9, xmax - xmin);
  const Y = (v: number): number => y0 + h - (h * Math.min(v, max)) / max;
  const out = open({ width, height, title: opts.title, footer: opts.footer, yLabel: opts.yLabel });
  yAxis(out, x0, y0, h, w, max);
  for (let i = 0; i <= 5; i++) {
    const x = xmin + ((xmax - xmin) * i) / 5;
    out.push(`<text x="${X(x)}" y="${y0 + h + 14}" text-anchor="middle">${fmt(x)}</text>`);
  }
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 32}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  for (const m of opts.marks ?? []) {
    out.push(`<line x1="${X(m.x)}" y1="${y0}" x2="${X(m.x)}" y2="${y0 + h}" stroke="#999" stroke-dasharray="3,3"/>`);
    out.push(`<text x="${X(m.x) + 3}" y="${y0 + 10}" fill="#666" font-size="9">${esc(m.label)}</text>`);
  }
  opts.series.forEach((s, si) => {
    const pts: string[] = [];
    s.values.forEach((v, i) => {
      if (Number.isFinite(v) && opts.xs[i] !== undefined) pts.push(`${X(opts.xs[i]!).toFixed(1)},${Y(v).toFixed(1)}`);
    });
    out.push(`<polyline fill="none" stroke="${PALETTE[si % PALETTE.length]}" stroke-width="1.5" points="${pts.join(' ')}"><title>${esc(s.name)}</title></polyline>`);
  });
  legend(out, opts.series.map((s) => s.name), x0 + w + 14, y0 + 10);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
