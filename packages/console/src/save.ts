/**
 * "Save to configuration": the running rules written back into tunvsd's JSON file. Only
 * the `services` value is replaced, in place, so every other line of the file (comments
 * included) stays as the administrator wrote it; services that come from keepalived.conf
 * are written into that file by save-keepalived.ts. The console shows the diff first; the
 * write goes to a temporary file in the same directory, then renames over the original,
 * and is refused if the file changed since the diff was shown.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, statSync, chmodSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { DestSpec, ServiceInfo, ServiceSpec } from '@tunvs/model';

/** One file of a save: its text now and as it would be written. */
export interface SaveFile {
  file: string;
  current: string;
  proposed: string;
}

/** A proposed save (one file, or a JSON configuration and its keepalived.conf). */
export interface SavePlan {
  /** the file names, comma-separated */
  file: string;
  files: SaveFile[];
  /** sha256 of the current texts, to detect a change before writing */
  base: string;
  /** unified diff current → proposed, per file ('' when equal) */
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

/** The plan of several files (their diffs one after the other). */
export function combinePlans(files: SaveFile[]): SavePlan {
  const diff = files
    .filter((f) => f.current !== f.proposed)
    .map((f) => createTwoFilesPatch(f.file, f.file, f.current, f.proposed, 'running file', 'running rules', { context: 3 }))
    .join('');
  return { file: files.map((f) => f.file).join(', '), files, base: sha(files.map((f) => `${f.file}\0${f.current}`).join('\0')), diff };
}

/** The JSON configuration `file` with its `services` value replaced by `services`. */
export function proposeJson(file: string, services: ServiceInfo[]): SaveFile {
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
  return { file, current, proposed };
}

/** Build the save plan for the JSON configuration `file` with the `services` to write. */
export function planSave(file: string, services: ServiceInfo[]): SavePlan {
  return combinePlans([proposeJson(file, services)]);
}

/**
 * Write a plan, each changed file atomically (a temporary file in its directory, renamed
 * over it, mode kept): refused (Error with code ESTALE) when a file changed since the plan.
 */
export function applySave(plan: Pick<SavePlan, 'files' | 'base'>): void {
  const now = plan.files.map((f) => `${f.file}\0${readFileSync(f.file, 'utf8')}`).join('\0');
  if (sha(now) !== plan.base) {
    const e = new Error(`${plan.files.map((f) => f.file).join(', ')} changed since the diff was shown; review the new diff`) as Error & { code: string };
    e.code = 'ESTALE';
    throw e;
  }
  for (const f of plan.files) {
    if (f.proposed === f.current) continue;
    const tmp = join(dirname(f.file), `.${basename(f.file)}.tunvs-${process.pid}.tmp`);
    const mode = statSync(f.file).mode & 0o777;
    try {
      writeFileSync(tmp, f.proposed, { mode });
      chmodSync(tmp, mode);
      renameSync(tmp, f.file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }
}
