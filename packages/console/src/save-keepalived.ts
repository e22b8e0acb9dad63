/**
 * "Save to configuration" for a keepalived.conf: the running rules written back by editing
 * the file in place, line by line, so that it stays the file the administrator wrote.
 * Only these lines change: `lb_algo`/`lvs_sched` and `persistence_timeout` of a
 * virtual_server, `weight`/`uthreshold`/`lthreshold` of a real_server, whole real_server
 * blocks (added before the virtual_server's closing brace, or removed) and whole
 * virtual_server blocks (appended at the end of the main file, or removed). Comments,
 * includes, blank lines and every other line stay as they are.
 *
 * A change that would have to touch a block living in an included file, a line built by
 * a `$PARAM` expansion or a `~SEQ`, a virtual_server_group, or a setting this writer does
 * not edit (method, scheduler flags, netmask, tunnel, ops) is refused with a message
 * naming file:line: the administrator edits that by hand.
 *
 * Real servers that their checkers hold down (taken out of the pool, or at weight 0 by
 * inhibit_on_failure) keep their block and their weight: their absence from the running
 * table is the checker's doing, not a change to save. The sorry server is not a real
 * server. The result is checked by parsing it again: the proposed file must give the
 * running table, or the save is refused.
 */
import { readFileSync } from 'node:fs';
import { decomment, destSpec, parseConfigText, serviceSpecs, sorryDestSpec, unsupportedReason, vsName } from '@tunvs/keepalived';
import type { KeepalivedConfig, ParseOptions, RealServer, VirtualServer } from '@tunvs/keepalived';
import { methodByName } from '@tunvs/model';
import type { DestSpec, ServiceInfo, ServiceSpec } from '@tunvs/model';

/** Thrown when the change cannot be written faithfully; the message names file:line. */
export class SaveRefused extends Error {
  override readonly name = 'SaveRefused';
  readonly code = 'EINVAL';
}

/** What the writer needs besides the file. */
export interface KeepalivedSaveInput {
  /** the running services this file is responsible for */
  running: ServiceInfo[];
  /** real servers their checkers hold down: `VSNAME|ADDR:PORT` (VSNAME as keepalived names it, vsName()) */
  down?: ReadonlySet<string>;
  parse?: ParseOptions;
}

/** A service as compared: the fields this writer maps, and its destinations by ADDR:PORT. */
interface Row {
  key: string;
  spec: ServiceSpec;
  dests: Map<string, DestSpec>;
  vs?: VirtualServer;
}

function svcKey(s: { fwmark?: number; protocol?: string | null; addr?: string; port?: number }): string {
  return s.fwmark ? `fwmark:${s.fwmark}` : `${s.protocol}:${s.addr}:${s.port}`;
}

const destKey = (d: { addr: string; port: number }): string => `${d.addr}:${d.port}`;

/** The running table, as rows (IPv6 fwmark services are not this file's). */
function runningRows(list: ServiceInfo[]): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const s of list) {
    if (s.ipv6 || s.addr.includes(':')) continue;
    const spec: ServiceSpec = s.fwmark ? { fwmark: s.fwmark, scheduler: s.scheduler } : { protocol: s.protocol ?? 'tcp', addr: s.addr, port: s.port, scheduler: s.scheduler };
    if (s.schedFlags.length) spec.schedFlags = [...s.schedFlags];
    if (s.persistent) spec.persistent = s.persistent;
    if (s.persistent && s.netmask !== '255.255.255.255') spec.netmask = s.netmask;
    if (s.onePacket) spec.onePacket = true;
    const dests = new Map<string, DestSpec>();
    for (const d of [...s.dests].reverse()) {
      const o: DestSpec = { addr: d.addr, port: d.port, method: d.method, weight: d.weight };
      if (d.upper) o.upper = d.upper;
      if (d.lower) o.lower = d.lower;
      if (d.tunType) o.tunType = d.tunType;
      dests.set(destKey(d), o);
    }
    out.set(svcKey(spec), { key: svcKey(spec), spec, dests });
  }
  return out;
}

/** What a parsed file asks for, as rows (one per service address; a group gives several). */
function fileRows(cfg: KeepalivedConfig): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const vs of cfg.virtualServers) {
    if (unsupportedReason(vs, cfg) !== undefined) continue;
    for (const spec of serviceSpecs(vs, cfg)) {
      const dests = new Map<string, DestSpec>();
      for (const rs of vs.realServers) dests.set(destKey(rs), destSpec(rs));
      out.set(svcKey(spec), { key: svcKey(spec), spec, dests, vs });
    }
  }
  return out;
}

const at = (p: { file: string; line: number }): string => `${p.file}:${p.line}`;

// ------------------------------------------------------------------ the text

interface Block {
  /** 0-based index of the header line, and of the line holding the closing brace */
  start: number;
  end: number;
  /** the line holding the opening brace */
  open: number;
}

/** Braces of a line outside quotes, after comment removal. */
function braces(line: string): string[] {
  const t = decomment(line).text;
  const out: string[] = [];
  let q = false;
  for (const c of t) {
    if (c === '"') q = !q;
    else if (!q && (c === '{' || c === '}')) out.push(c);
  }
  return out;
}

const codeOf = (line: string): string => decomment(line).text.trim();

class Text {
  readonly lines: string[];
  private readonly edits: { from: number; to: number; text: string[] }[] = [];

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.lines = text.split('\n');
  }

  where(i: number): string {
    return `${this.file}:${i + 1}`;
  }

  /** The block whose header is on 0-based line `i` (refused when it shares lines with other statements). */
  block(i: number, what: string): Block {
    const head = this.lines[i];
    if (head === undefined) throw new SaveRefused(`${this.where(i)}: ${what} not found in the file`);
    this.plain(i, what);
    let depth = 0;
    let open = -1;
    for (let k = i; k < this.lines.length; k++) {
      for (const b of braces(this.lines[k]!)) {
        if (b === '{') {
          depth++;
          if (open < 0) open = k;
        } else depth--;
        if (open >= 0 && depth === 0) {
          const c = codeOf(this.lines[k]!);
          if (c !== '}' && k !== i) throw new SaveRefused(`${this.where(k)}: the closing brace of the ${what} shares its line with other text: edit it by hand`);
          if (k === i) throw new SaveRefused(`${this.where(i)}: the ${what} is written on one line: edit it by hand`);
          const afterOpen = codeOf(this.lines[open]!).replace(/^.*?\{/, '').trim();
          if (afterOpen !== '') throw new SaveRefused(`${this.where(open)}: the ${what} has statements on its opening line: edit it by hand`);
          return { start: i, end: k, open };
        }
      }
      if (open < 0 && k > i && codeOf(this.lines[k]!) !== '') break;
    }
    throw new SaveRefused(`${this.where(i)}: cannot find the braces of the ${what}`);
  }

  /** Refuse a line made by a parameter or a sequence. */
  plain(i: number, what: string): void {
    const c = codeOf(this.lines[i] ?? '');
    if (c.includes('$') || /~SEQ/.test(c)) throw new SaveRefused(`${this.where(i)}: the ${what} is built by a $PARAM or ~SEQ expansion: edit it by hand`);
  }

  /** Lines directly inside the block (depth 1): [index, first word]. */
  children(b: Block): [number, string][] {
    const out: [number, string][] = [];
    let depth = 0;
    for (let k = b.open; k <= b.end; k++) {
      const c = codeOf(this.lines[k]!);
      if (k > b.open && depth === 1 && c !== '' && c !== '}') out.push([k, c.split(/\s+/)[0]!]);
      for (const x of braces(this.lines[k]!)) depth += x === '{' ? 1 : -1;
    }
    return out;
  }

  /** Indentation for a new line inside the block. */
  innerIndent(b: Block): string {
    const first = this.children(b)[0];
    if (first) return /^\s*/.exec(this.lines[first[0]]!)![0];
    const h = /^\s*/.exec(this.lines[b.start]!)![0];
    return h + (h.includes('\t') ? '\t' : '    ');
  }

  /** Set `keyword VALUE` inside the block: the existing line's value replaced, or a line added after the opening brace; null removes it. */
  setValue(b: Block, keywords: string[], value: string | null, what: string): void {
    const found = this.children(b).filter(([, w]) => keywords.includes(w));
    if (found.length > 1) throw new SaveRefused(`${this.where(found[1]![0])}: ${what} has ${found[1]![1]} more than once: edit it by hand`);
    const f = found[0];
    if (f) {
      this.plain(f[0], `${f[1]} line`);
      if (value === null) {
        this.edits.push({ from: f[0], to: f[0] + 1, text: [] });
        return;
      }
      const line = this.lines[f[0]]!;
      const m = /^(\s*\S+)(\s+)(\S+)(.*)$/.exec(line);
      const next = m ? `${m[1]}${m[2]}${value}${m[4]}` : `${line.replace(/\s*$/, '')} ${value}`;
      this.edits.push({ from: f[0], to: f[0] + 1, text: [next] });
      return;
    }
    if (value === null) return;
    this.edits.push({ from: b.open + 1, to: b.open + 1, text: [`${this.innerIndent(b)}${keywords[0]} ${value}`] });
  }

  remove(b: Block): void {
    this.edits.push({ from: b.start, to: b.end + 1, text: [] });
  }

  insertBefore(i: number, text: string[]): void {
    this.edits.push({ from: i, to: i, text });
  }

  result(): string {
    const lines = [...this.lines];
    const sorted = [...this.edits].sort((a, b) => b.from - a.from || b.to - a.to);
    for (let k = 1; k < sorted.length; k++) {
      if (sorted[k]!.to > sorted[k - 1]!.from) throw new SaveRefused(`${this.where(sorted[k]!.from)}: overlapping edits: edit the file by hand`);
    }
    for (const e of sorted) lines.splice(e.from, e.to - e.from, ...e.text);
    return lines.join('\n');
  }
}

// --------------------------------------------------------------- new blocks

function lbKindOf(method: string, where: string): string {
  const k = methodByName(method)?.lbKind;
  if (!k) throw new SaveRefused(`${where}: the ${method} method has no keepalived lb_kind: edit the file by hand`);
  return k;
}

function rsLines(d: DestSpec, vsKind: string, indent: string, step: string, where: string): string[] {
  if (d.tunType) throw new SaveRefused(`${where}: real server ${destKey(d)} uses a ${d.tunType} tunnel: add it to the file by hand`);
  const out = [`${indent}real_server ${d.addr} ${d.port} {`, `${indent}${step}weight ${d.weight ?? 1}`];
  const kind = lbKindOf(d.method ?? 'route', where);
  if (kind !== vsKind) out.push(`${indent}${step}lvs_method ${kind}`);
  if (d.upper) out.push(`${indent}${step}uthreshold ${d.upper}`);
  if (d.lower) out.push(`${indent}${step}lthreshold ${d.lower}`);
  out.push(`${indent}}`);
  return out;
}

function vsLines(r: Row, where: string): string[] {
  const s = r.spec;
  const step = '    ';
  const dests = [...r.dests.values()];
  const kind = lbKindOf(dests[0]?.method ?? 'route', where);
  const out = [s.fwmark ? `virtual_server fwmark ${s.fwmark} {` : `virtual_server ${s.addr} ${s.port} {`, `${step}lb_algo ${s.scheduler ?? 'wlc'}`, `${step}lb_kind ${kind}`];
  for (const f of s.schedFlags ?? []) out.push(`${step}${f}`);
  if (s.persistent) out.push(`${step}persistence_timeout ${s.persistent}`);
  if (s.netmask) out.push(`${step}persistence_granularity ${s.netmask}`);
  if (s.onePacket) out.push(`${step}ops`);
  if (!s.fwmark) out.push(`${step}protocol ${(s.protocol ?? 'tcp').toUpperCase()}`);
  for (const d of dests) out.push(...rsLines(d, kind, step, step, where));
  out.push('}');
  return out;
}

// ------------------------------------------------------------------- planning

function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  return (a ?? []).join(',') === (b ?? []).join(',');
}

/** Drop what is not the file's to say: held-down real servers and the sorry server. */
function comparable(rows: Map<string, Row>, cfg: KeepalivedConfig, down: ReadonlySet<string>, isRunning: boolean): Map<string, Row> {
  const byKey = fileRows(cfg);
  const out = new Map<string, Row>();
  for (const [k, r] of rows) {
    const f = byKey.get(k);
    const dests = new Map(r.dests);
    if (f?.vs) {
      const name = vsName(f.vs);
      for (const rs of f.vs.realServers) if (down.has(`${name}|${destKey(rs)}`)) dests.delete(destKey(rs));
      const sorry = f.vs.sorryServer;
      if (isRunning && sorry && !f.vs.realServers.some((x) => destKey(x) === destKey(sorrySpec(sorry, f.spec)))) dests.delete(destKey(sorrySpec(sorry, f.spec)));
    }
    out.set(k, { ...r, dests });
  }
  return out;
}

function sorrySpec(s: NonNullable<VirtualServer['sorryServer']>, spec: ServiceSpec): DestSpec {
  const d = sorryDestSpec(s);
  if (d.port === 0 && !spec.fwmark) d.port = spec.port ?? 0;
  return d;
}

/** Differences between two tables, as sentences (empty = equal). */
export function tableDifferences(want: Map<string, Row>, got: Map<string, Row>): string[] {
  const out: string[] = [];
  for (const [k, w] of want) {
    const g = got.get(k);
    if (!g) {
      out.push(`${k} missing`);
      continue;
    }
    const a = w.spec;
    const b = g.spec;
    if (a.scheduler !== b.scheduler || (a.persistent ?? 0) !== (b.persistent ?? 0) || (a.netmask ?? '') !== (b.netmask ?? '') || !sameList(a.schedFlags, b.schedFlags) || !a.onePacket !== !b.onePacket) out.push(`${k} differs`);
    for (const [dk, wd] of w.dests) {
      const gd = g.dests.get(dk);
      if (!gd) out.push(`${k} ${dk} missing`);
      else if (wd.weight !== gd.weight || wd.method !== gd.method || (wd.upper ?? 0) !== (gd.upper ?? 0) || (wd.lower ?? 0) !== (gd.lower ?? 0)) out.push(`${k} ${dk} differs`);
    }
    for (const dk of g.dests.keys()) if (!w.dests.has(dk)) out.push(`${k} ${dk} extra`);
  }
  for (const k of got.keys()) if (!want.has(k)) out.push(`${k} extra`);
  return out;
}

/**
 * The keepalived.conf `file` edited to hold `input.running`. Returns the proposed text
 * (equal to the current text when nothing differs); throws SaveRefused naming file:line.
 */
export function proposeKeepalived(file: string, current: string, input: KeepalivedSaveInput): string {
  const down = input.down ?? new Set<string>();
  const parsed = parseConfigText(current, file, input.parse ?? {});
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new SaveRefused(`${errors[0]!.file}:${errors[0]!.line}: ${errors[0]!.message}: fix the file before saving into it`);
  const cfg = parsed.config;
  const inFile = fileRows(cfg);
  const running = comparable(runningRows(input.running), cfg, down, true);
  const fileSide = comparable(inFile, cfg, down, false);
  const t = new Text(file, current);
  const blockOf = new Map<VirtualServer, Block>();
  const editable = (vs: VirtualServer, why: string): Block => {
    if (vs.file !== file) throw new SaveRefused(`${at(vs)}: ${why}, but this virtual_server lives in an included file: edit it there by hand`);
    if (vs.kind === 'group') throw new SaveRefused(`${at(vs)}: ${why}, but this virtual_server is a virtual_server_group: edit it by hand`);
    if (cfg.virtualServers.filter((x) => x.file === vs.file && x.line === vs.line).length > 1) throw new SaveRefused(`${at(vs)}: ${why}, but this line makes several virtual_servers (~SEQ): edit it by hand`);
    let b = blockOf.get(vs);
    if (!b) {
      b = t.block(vs.line - 1, 'virtual_server');
      blockOf.set(vs, b);
    }
    return b;
  };
  const rsBlock = (vs: VirtualServer, rs: RealServer, why: string): Block => {
    editable(vs, why);
    if (rs.file !== file) throw new SaveRefused(`${at(rs)}: ${why}, but this real_server lives in an included file: edit it there by hand`);
    if (vs.realServers.filter((x) => x.line === rs.line && x.file === rs.file).length > 1) throw new SaveRefused(`${at(rs)}: ${why}, but this line makes several real_servers (~SEQ): edit it by hand`);
    return t.block(rs.line - 1, 'real_server');
  };

  // virtual servers gone
  for (const [k, f] of fileSide) {
    if (running.has(k)) continue;
    const vs = f.vs!;
    t.remove(editable(vs, `${k} is no longer running`));
  }
  // virtual servers changed
  for (const [k, want] of running) {
    const f = fileSide.get(k);
    if (!f) continue;
    const vs = f.vs!;
    const a = want.spec;
    const b = f.spec;
    if (!sameList(a.schedFlags, b.schedFlags) || !a.onePacket !== !b.onePacket || (a.netmask ?? '') !== (b.netmask ?? '')) {
      throw new SaveRefused(`${at(vs)}: ${k}'s scheduler flags, ops or persistence netmask changed: this writer does not edit those; edit the file by hand`);
    }
    if (a.scheduler !== b.scheduler) t.setValue(editable(vs, `${k}'s scheduler changed`), ['lb_algo', 'lvs_sched'], a.scheduler ?? 'wlc', 'the virtual_server');
    if ((a.persistent ?? 0) !== (b.persistent ?? 0)) t.setValue(editable(vs, `${k}'s persistence changed`), ['persistence_timeout'], a.persistent ? String(a.persistent) : null, 'the virtual_server');
    const added: DestSpec[] = [];
    for (const [dk, d] of want.dests) {
      const had = f.dests.get(dk);
      if (!had) {
        added.push(d);
        continue;
      }
      const rs = vs.realServers.find((x) => destKey(x) === dk)!;
      if (d.method !== had.method || d.tunType !== had.tunType) throw new SaveRefused(`${at(rs)}: ${k} ${dk}'s forwarding method changed: edit the file by hand`);
      if (d.weight !== had.weight) t.setValue(rsBlock(vs, rs, `${k} ${dk}'s weight changed`), ['weight'], String(d.weight ?? 1), 'the real_server');
      if ((d.upper ?? 0) !== (had.upper ?? 0)) t.setValue(rsBlock(vs, rs, `${k} ${dk}'s upper threshold changed`), ['uthreshold'], d.upper ? String(d.upper) : null, 'the real_server');
      if ((d.lower ?? 0) !== (had.lower ?? 0)) t.setValue(rsBlock(vs, rs, `${k} ${dk}'s lower threshold changed`), ['lthreshold'], d.lower ? String(d.lower) : null, 'the real_server');
    }
    for (const dk of f.dests.keys()) {
      if (want.dests.has(dk)) continue;
      const rs = vs.realServers.find((x) => destKey(x) === dk)!;
      t.remove(rsBlock(vs, rs, `${k} ${dk} is no longer running`));
    }
    if (added.length) {
      const b = editable(vs, `real servers were added to ${k}`);
      const indent = t.innerIndent(b);
      const headIndent = /^\s*/.exec(t.lines[b.start]!)![0];
      const step = indent.startsWith(headIndent) && indent.length > headIndent.length ? indent.slice(headIndent.length) : '    ';
      const lines: string[] = [];
      for (const d of added) lines.push(...rsLines(d, vs.lbKind, indent, step, at(vs)));
      t.insertBefore(b.end, lines);
    }
  }
  // virtual servers new
  const fresh: string[] = [];
  for (const [k, r] of running) if (!fileSide.has(k)) fresh.push('', ...vsLines(r, `${file}: new ${k}`));
  let proposed = t.result();
  if (fresh.length) proposed = `${proposed.replace(/\n*$/, '')}\n${fresh.join('\n')}\n`;
  if (proposed === current) return current;

  // the check: the proposed file must give the running table
  const again = parseConfigText(proposed, file, input.parse ?? {});
  const bad = again.diagnostics.filter((d) => d.severity === 'error');
  if (bad.length) throw new SaveRefused(`${file}: the edited file would not parse (${bad[0]!.line}: ${bad[0]!.message}): edit it by hand`);
  const diff = tableDifferences(running, comparable(fileRows(again.config), again.config, down, false));
  if (diff.length) throw new SaveRefused(`${file}: the edited file would not give the running rules (${diff.slice(0, 3).join('; ')}): edit it by hand`);
  return proposed;
}

/** proposeKeepalived on the file as it is on disk. */
export function proposeKeepalivedFile(file: string, input: KeepalivedSaveInput): { current: string; proposed: string } {
  const current = readFileSync(file, 'utf8');
  return { current, proposed: proposeKeepalived(file, current, input) };
}
