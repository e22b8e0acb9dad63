/**
 * "Save to configuration": the running rules written back into tunvsd's JSON file. Only
 * the `services` value is replaced, in place, so every other line of the file (comments
 * included) stays as the administrator wrote it; services that come from keepalived.conf
 * are not written (their file is keepalived.conf). The console shows the diff first; the
 * write goes to a temporary file in the same directory, then renames over the original,
 * and is refused if the file changed since the diff was shown.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, statSync, chmodSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { DestSpec, ServiceInfo, ServiceSpec } from '@tunvs/model';

/** A proposed save. */
export interface SavePlan {
  file: string;
  /** sha256 of the current file text, to detect a change before writing */
  base: string;
  current: string;
  proposed: string;
  /** unified diff current → proposed ('' when equal) */
  diff: string;
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The span [start, end) of the value of the top-level key `key` in JSON text with `//` comment lines. */
export function topLevelValueSpan(text: string, key: string): { start: number; end: number } | null {
  let depth = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const str = text.slice(i + 1, j);
      i = j + 1;
      if (depth === 1 && str === key) {
        let k = i;
        while (k < n && /\s/.test(text[k]!)) k++;
        if (text[k] !== ':') continue;
        k++;
        while (k < n && /\s/.test(text[k]!)) k++;
        const start = k;
        let d = 0;
        for (; k < n; k++) {
          const c = text[k]!;
          if (c === '"') {
            k++;
            while (k < n && text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
            continue;
          }
          if (c === '[' || c === '{') d++;
          else if (c === ']' || c === '}') {
            d--;
            if (d === 0) return { start, end: k + 1 };
          } else if (d === 0 && (c === ',' || c === '\n')) return { start, end: k };
        }
        return null;
      }
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
    i++;
  }
  return null;
}

/** A listed service as the JSON configuration writes it (defaults left out). */
export function serviceConfigOf(s: ServiceInfo): ServiceSpec & { dests: DestSpec[] } {
  const spec: ServiceSpec & { dests: DestSpec[] } = s.fwmark
    ? { fwmark: s.fwmark, scheduler: s.scheduler, dests: [] }
    : { protocol: s.protocol ?? 'tcp', addr: s.addr, port: s.port, scheduler: s.scheduler, dests: [] };
  if (s.schedFlags.length) spec.schedFlags = [...s.schedFlags];
  if (s.persistent) spec.persistent = s.persistent;
  if (s.persistent && s.netmask !== '255.255.255.255') spec.netmask = s.netmask;
  if (s.onePacket) spec.onePacket = true;
  // the kernel lists the last added first; the file lists them in the order to add
  for (const d of [...s.dests].reverse()) {
    const out: DestSpec = { addr: d.addr, port: d.port, method: d.method, weight: d.weight };
    if (d.upper) out.upper = d.upper;
    if (d.lower) out.lower = d.lower;
    spec.dests.push(out);
  }
  return spec;
}

/** Indent JSON `value` to sit at `indent` columns (its first line already placed). */
function jsonAt(value: unknown, indent: number): string {
  const pad = ' '.repeat(indent);
  return JSON.stringify(value, null, 2)
    .split('\n')
    .map((l, i) => (i === 0 ? l : pad + l))
    .join('\n');
}

/** Build the save plan for `file` with the `services` to write. */
export function planSave(file: string, services: ServiceInfo[]): SavePlan {
  const current = readFileSync(file, 'utf8');
  const value = services.map(serviceConfigOf);
  const span = topLevelValueSpan(current, 'services');
  let proposed: string;
  if (span) {
    const lineStart = current.lastIndexOf('\n', span.start - 1) + 1;
    const indent = /^\s*/.exec(current.slice(lineStart, span.start))![0].length;
    proposed = current.slice(0, span.start) + jsonAt(value, indent) + current.slice(span.end);
  } else {
    const close = current.lastIndexOf('}');
    if (close < 0) throw new Error(`${file}: not a JSON object`);
    const before = current.slice(0, close).replace(/\s*$/, '');
    const comma = before.endsWith('{') ? '' : ',';
    proposed = `${before}${comma}\n  "services": ${jsonAt(value, 2)}\n${current.slice(close)}`;
  }
  const diff = current === proposed ? '' : createTwoFilesPatch(file, file, current, proposed, 'running file', 'running rules', { context: 3 });
  return { file, base: sha(current), current, proposed, diff };
}

/** Write a plan: refused (Error with code ESTALE) when the file changed since the plan. */
export function applySave(plan: Pick<SavePlan, 'file' | 'base' | 'proposed'>): void {
  const now = readFileSync(plan.file, 'utf8');
  if (sha(now) !== plan.base) {
    const e = new Error(`${plan.file} changed since the diff was shown; review the new diff`) as Error & { code: string };
    e.code = 'ESTALE';
    throw e;
  }
  const tmp = join(dirname(plan.file), `.${basename(plan.file)}.tunvs-${process.pid}.tmp`);
  const mode = statSync(plan.file).mode & 0o777;
  try {
    writeFileSync(tmp, plan.proposed, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, plan.file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
