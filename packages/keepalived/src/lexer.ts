/**
 * The line layer of keepalived's configuration language (lib/parser.c): comments, the
 * normal tokeniser, `include` with globs and braces, `$NAME=` parameters, `@id`
 * conditionals, and the splitting of lines at unquoted `{` and `}` so that every brace
 * becomes a line of its own (which is how one-liners such as `url { path / }` work).
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve, join, isAbsolute } from 'node:path';
import { hostname } from 'node:os';
import type { DiagnosticSink, SourcePos } from './diagnostics.js';

/** One logical line: its words (quotes removed), its raw text, and where it came from. */
export interface Line extends SourcePos {
  words: string[];
  /** the text of this segment after comment removal, before tokenisation */
  raw: string;
}

/** How to read files and which conditionals are active. */
export interface LexOptions {
  /** `@ID` lines are kept only when ID equals this; default: host name up to the first dot */
  configId?: string;
  /** predefined `$NAME` parameters */
  params?: Record<string, string>;
  /** file reader (tests); default fs.readFileSync(..., 'utf8') after the checks below */
  readFile?: (path: string) => string;
  /** largest file read, bytes (default 16 MiB) */
  maxFileBytes?: number;
}

/** Default cap on one configuration file. */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

const INCLUDE_WORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
const MAX_INCLUDE_DEPTH = 32;
const MAXBUF = 1024 * 64;
/** nesting bound for multi-line parameters and sequence blocks (a `$X` that names itself) */
const MAX_EXPANSION_DEPTH = 32;
/** values one ~SEQ may produce */
const MAX_SEQUENCE = 1_000_000;

/** Splits at commas outside `{...}`, trimming each part. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let level = 0;
  let from = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (c === '{') level++;
    else if (c === '}') level--;
    else if (c === ',' && level === 0) {
      out.push(s.slice(from, k).trim());
      from = k + 1;
    }
  }
  out.push(s.slice(from).trim());
  return out;
}

/** `{a, b}` → ['a', 'b']; `a` → ['a']. */
function unbrace(s: string): string[] {
  const t = s.trim();
  if (t.startsWith('{') && t.endsWith('}')) return splitTopLevel(t.slice(1, -1));
  return t.length > 0 ? [t] : [];
}

/** Result of removing comments from one physical line. */
interface Decommented {
  text: string;
  unterminated: boolean;
}

/** Strips `#`/`!` comments outside double quotes; `\#` and `\!` give the literal char. */
export function decomment(line: string): Decommented {
  let out = '';
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (!inQuote && c === '\\' && (line[i + 1] === '#' || line[i + 1] === '!')) {
      out += line[i + 1];
      i++;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    if (!inQuote && (c === '#' || c === '!')) break;
    out += c;
  }
  return { text: out, unterminated: inQuote };
}

/**
 * keepalived's normal tokeniser: whitespace-separated words; a word starting with `"`
 * runs to the next `"` and is stored without the quotes. Returns null word list entry
 * `unmatched` when a quote is not closed.
 */
export function splitWords(text: string): { words: string[]; unmatched: boolean } {
  const words: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return { words, unmatched: true };
      words.push(text.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < n && !/\s/.test(text[j]!)) j++;
    words.push(text.slice(i, j));
    i = j;
  }
  return { words, unmatched: false };
}

/** Expands csh-style `{a,b}` alternatives (nested allowed) into a list of patterns. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) return [pattern];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const parts: string[] = [];
  let from = open + 1;
  for (const c of [...commas, close]) {
    parts.push(pattern.slice(from, c));
    from = c + 1;
  }
  const out: string[] = [];
  for (const p of parts) for (const e of expandBraces(head + p + tail)) out.push(e);
  return out;
}

function globSegmentToRegExp(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = seg.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += '[' + cls.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

const hasMagic = (s: string): boolean => /[*?[]/.test(s);

/** Matches a glob pattern (`*`, `?`, `[...]` per path segment) against the file system. */
export function globFiles(pattern: string): string[] {
  const abs = resolve(pattern);
  const segs = abs.split('/').filter((s) => s.length > 0);
  let paths = ['/'];
  for (const seg of segs) {
    const next: string[] = [];
    for (const base of paths) {
      if (!hasMagic(seg)) {
        next.push(join(base, seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      const re = globSegmentToRegExp(seg);
      for (const name of names.sort()) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(name)) next.push(join(base, name));
      }
    }
    paths = next;
  }
  return paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/** Turns configuration text (and the files it includes) into logical lines. */
export class Lexer {
  readonly lines: Line[] = [];
  private readonly params = new Map<string, string>();
  private readonly configId: string;
  private readonly read: (path: string) => string;
  private depth = 0;
  /** files being read, outermost first (include cycle detection) */
  private readonly stack: string[] = [];
  private readonly maxBytes: number;
  private braceDepth = 0;
  private lastPos: SourcePos = { file: '', line: 0 };

  constructor(
    private readonly sink: DiagnosticSink,
    opts: LexOptions = {},
  ) {
    this.configId = opts.configId ?? hostname().split('.')[0] ?? '';
    this.maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.read = opts.readFile ?? ((p) => this.readChecked(p));
    for (const [k, v] of Object.entries(opts.params ?? {})) this.params.set(k, v);
    this.params.set('_HASH', '#');
  }

  /** Reads a regular file of at most maxFileBytes; throws with a code otherwise. */
  private readChecked(p: string): string {
    const st = statSync(p);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    if (st.size > this.maxBytes) throw Object.assign(new Error(`larger than ${this.maxBytes} bytes`), { code: 'EFBIG' });
    const text = readFileSync(p, 'utf8');
    if (Buffer.byteLength(text) > this.maxBytes) throw Object.assign(new Error(`larger than ${this.maxBytes} bytes`), { code: 'EFBIG' });
    return text;
  }

  /**
   * Reads a file; returns false if it cannot be read. Missing files are reported by the
   * caller's rules (plain include tolerates them); every other failure (not a regular
   * file, too large, permission, I/O) is an error here. An include cycle is refused with
   * the chain of files.
   */
  lexFile(path: string, from: SourcePos | null = null): boolean {
    let key = path;
    try {
      key = realpathSync(path);
    } catch {
      // reported below by the read
    }
    if (this.stack.includes(key)) {
      const chain = [...this.stack.slice(this.stack.indexOf(key)), key].join(' -> ');
      this.sink.error(from ?? { file: path, line: 0 }, `include cycle: ${chain} - not read again`);
      return true;
    }
    let text: string;
    try {
      text = this.read(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      const at = from ?? { file: path, line: 0 };
      const msg = `cannot read configuration file '${path}': ${(e as Error).message}`;
      if (code === 'ENOENT') this.sink.error(at, msg, 4);
      else {
        this.sink.error(at, msg, this.stack.length === 0 ? 4 : 5);
        this.readFailed = true;
      }
      return false;
    }
    this.stack.push(key);
    this.lexText(text, path);
    this.stack.pop();
    return true;
  }

  /** set when a read failed for another reason than a missing file */
  readFailed = false;

  /** Lexes text that came from `file` (used for relative includes and messages). */
  lexText(text: string, file: string): void {
    const physical = text.split(/\r?\n/);
    for (let i = 0; i < physical.length; i++) {
      const content = physical[i]!;
      const pos = { file, line: i + 1 };
      if (content.length > MAXBUF) {
        this.sink.error(pos, 'Line too long - ignoring');
        continue;
      }
      // $NAME=value; a trailing backslash continues the definition on the next line, and
      // such a multi-line value is replayed line by line where `$NAME` stands alone
      const def = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(content);
      if (def) {
        let value = def[2]!;
        if (!value.endsWith('\\')) {
          // a comment in the definition is not part of the value (keepalived 2.2.7: `$X=# y`
          // defines X empty)
          this.params.set(def[1]!, decomment(value).text.trim());
          continue;
        }
        const body: string[] = [];
        while (value.endsWith('\\')) {
          body.push(value.slice(0, -1));
          if (i + 1 >= physical.length) break;
          value = physical[++i]!;
          if (!value.endsWith('\\')) body.push(value);
        }
        const lines = body.filter((l) => l.trim().length > 0);
        this.params.delete(def[1]!);
        this.multi.set(def[1]!, lines);
        continue;
      }
      this.line(content, pos, 0);
    }
  }

  /** multi-line `$NAME` definitions: their physical lines, unsubstituted */
  private readonly multi = new Map<string, string[]>();

  /** One line: comments, include, `@id`, `~SEQ`/`~LST`, a multi-line `$NAME`, then words. */
  private line(text: string, pos: SourcePos, depth: number): void {
    const dc = decomment(text);
    let content = dc.text;
    // keepalived 2.2.7 keeps the continuation mark of a comment that ends in `\`: the line
    // then reads as the word `\` (`Unknown keyword '\'` on a line of its own; checked)
    if (content.length < text.length && text.trimEnd().endsWith('\\')) content += ' \\';
    if (dc.unterminated) this.sink.error(pos, `Unterminated quote '${content.trim()}'`);
    const trimmed = content.trim();
    if (trimmed.length === 0) return;
    const first = trimmed.split(/\s+/, 1)[0]!;
    if (INCLUDE_WORDS.has(first)) {
      this.include(first, trimmed.slice(first.length).trim(), pos);
      return;
    }
    content = trimmed;
    if (content.startsWith('@')) {
      const m = /^@(\^?)(\S+)\s*(.*)$/.exec(content);
      if (!m) return;
      const match = m[2] === this.configId;
      if (m[1] === '^' ? match : !match) return;
      content = m[3]!;
      if (content.length === 0) return;
    }
    if (/^~(SEQx?|LST)\(/.test(content)) {
      this.sequence(content, pos, depth);
      return;
    }
    const whole = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(content);
    const body = whole ? this.multi.get((whole[1] ?? whole[2])!) : undefined;
    if (body !== undefined) {
      if (depth >= MAX_EXPANSION_DEPTH) {
        this.sink.error(pos, `parameter ${content} nested too deeply - ignoring`);
        return;
      }
      for (const l of body) this.line(l, pos, depth + 1);
      return;
    }
    // a `#` or `!` that substitution brings in (`${_HASH}`) starts a comment, as in keepalived
    const substituted = this.substitute(content, pos.file);
    this.emitSegments(substituted === content ? content : decomment(substituted).text, pos);
  }

  /**
   * `~SEQ(var, [start, [step,]] end) REST`, `~SEQx(...)` (hexadecimal values) and
   * `~LST(var|{v1,v2}, val|{a,b}, ...) REST`: REST is processed once per value with the
   * variable(s) set; they nest, and REST may itself start with another block.
   */
  private sequence(content: string, pos: SourcePos, depth: number): void {
    const kind = /^~(SEQx?|LST)\(/.exec(content)![1]!;
    const open = kind.length + 1;
    let level = 0;
    let close = -1;
    for (let k = open + 1; k < content.length; k++) {
      const c = content[k];
      if (c === '{') level++;
      else if (c === '}') level--;
      else if (c === ')' && level === 0) {
        close = k;
        break;
      }
    }
    if (close < 0) {
      this.sink.error(pos, `~${kind} missing ')' - ignoring line`);
      return;
    }
    const args = splitTopLevel(this.substitute(content.slice(open + 1, close), pos.file));
    const rest = content.slice(close + 1).trim();
    const sets: Array<Array<[string, string]>> = [];
    if (kind === 'LST') {
      const vars = unbrace(args[0] ?? '');
      if (vars.length === 0 || args.length < 2 || vars.some((v) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))) {
        this.sink.error(pos, `~LST needs a variable and at least one value - ignoring line`);
        return;
      }
      for (const a of args.slice(1)) {
        const vals = unbrace(a);
        if (vals.length !== vars.length) {
          this.sink.error(pos, `~LST value '${a}' does not match variables '${args[0]}' - ignoring line`);
          return;
        }
        sets.push(vars.map((v, k) => [v, vals[k]!]));
      }
    } else {
      const v = args[0] ?? '';
      const nums = args.slice(1).map((a) => (/^[+-]?(0x[0-9a-fA-F]+|\d+)$/.test(a) ? parseInt(a, a.toLowerCase().includes('0x') ? 16 : 10) : NaN));
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) || nums.length < 1 || nums.length > 3 || nums.some(Number.isNaN)) {
        this.sink.error(pos, `invalid ~${kind}(${args.join(',')}) - ignoring line`);
        return;
      }
      const end = nums[nums.length - 1]!;
      const start = nums.length >= 2 ? nums[0]! : end >= 0 ? 1 : -1;
      const step = nums.length === 3 ? nums[1]! : end >= start ? 1 : -1;
      if (step === 0) {
        this.sink.error(pos, `~${kind} step 0 - ignoring line`);
        return;
      }
      for (let x = start; step > 0 ? x <= end : x >= end; x += step) {
        if (sets.length >= MAX_SEQUENCE) {
          this.sink.error(pos, `~${kind} produces more than ${MAX_SEQUENCE} values - truncated`);
          break;
        }
        sets.push([[v, kind === 'SEQx' ? x.toString(16) : String(x)]]);
      }
    }
    if (rest.length === 0) return;
    for (const set of sets) {
      const saved = set.map(([k]) => [k, this.params.get(k)] as const);
      for (const [k, val] of set) this.params.set(k, val);
      this.line(rest, pos, depth + 1);
      for (const [k, val] of saved) {
        if (val === undefined) this.params.delete(k);
        else this.params.set(k, val);
      }
    }
  }

  /** Reports unbalanced braces at the end of the whole stream. */
  finish(): void {
    if (this.braceDepth > 0) {
      this.sink.error(this.lastPos, `There are ${this.braceDepth} missing '}'s or extra '{'s`);
    }
  }

  private include(kind: string, arg: string, pos: SourcePos): void {
    const { words } = splitWords(arg);
    const pattern = words[0];
    if (pattern === undefined) {
      this.sink.error(pos, `${kind} requires a file name`);
      return;
    }
    if (this.depth >= MAX_INCLUDE_DEPTH) {
      this.sink.error(pos, `include depth exceeded at '${pattern}'`, 4);
      return;
    }
    const base = dirname(pos.file);
    let matched = 0;
    let missingAlts = 0;
    for (const alt of expandBraces(this.substitute(pattern, pos.file))) {
      const full = isAbsolute(alt) ? alt : join(base, alt);
      const files = hasMagic(alt) ? globFiles(full) : [full];
      let altMatched = 0;
      for (const f of files) {
        this.depth++;
        const failedBefore = this.readFailed;
        this.readFailed = false;
        const ok = this.lexFile(f, pos);
        this.depth--;
        if (ok) altMatched++;
        else if (kind === 'include' && !this.readFailed) this.sink.list.pop(); // plain include tolerates missing files
        this.readFailed ||= failedBefore;
      }
      if (altMatched === 0 && (kind === 'includeb' || kind === 'includea' || (kind === 'includew' && hasMagic(alt)))) {
        this.sink.error(pos, `${kind} '${alt}' matched no file`);
      }
      if (altMatched === 0) missingAlts++;
      matched += altMatched;
    }
    // a plain include that finds nothing (or not every file of a {a,b} list): keepalived
    // says so and goes on (exit 0)
    if (kind === 'include' && matched === 0) this.sink.warn(pos, `Config files missing '${pattern}'.`, 0);
    else if (kind === 'include' && missingAlts > 0) this.sink.warn(pos, `Some config files missing: "${pattern}".`, 0);
    if (matched === 0 && kind === 'includem') this.sink.error(pos, `includem '${pattern}' matched no file`);
  }

  private substitute(text: string, file: string): string {
    if (!text.includes('$')) return text;
    let out = text;
    for (let round = 0; round < 10; round++) {
      const before = out;
      out = out.replace(/\$\{_RANDOM(?:\s+(\d+)(?:\s+(\d+))?)?\}/g, (_m, lo: string | undefined, hi: string | undefined) => {
        // keepalived's ${_RANDOM [MIN] MAX}-style builtin: an integer in the range
        const a = hi === undefined ? 0 : Number(lo);
        const b = hi === undefined ? Number(lo ?? 32767) : Number(hi);
        return String(a + Math.floor(Math.random() * (Math.max(b - a, 0) + 1)));
      });
      out = out.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => {
        const name = (a ?? b)!;
        if (name === '_PWD') return dirname(resolve(file));
        const v = this.params.get(name);
        return v === undefined ? m : v;
      });
      if (out === before) break;
    }
    return out;
  }

  private emitSegments(content: string, pos: SourcePos): void {
    let inQuote = false;
    let start = 0;
    const push = (seg: string): void => {
      const raw = seg.trim();
      if (raw.length === 0) return;
      const { words, unmatched } = splitWords(raw);
      if (unmatched) this.sink.error(pos, `Unmatched quote: '${raw}'`);
      if (words.length === 0) return;
      this.lines.push({ words, raw, file: pos.file, line: pos.line });
    };
    for (let i = 0; i < content.length; i++) {
      const c = content[i];
      if (c === '"') inQuote = !inQuote;
      if (inQuote || (c !== '{' && c !== '}')) continue;
      push(content.slice(start, i));
      if (c === '{') this.braceDepth++;
      else if (--this.braceDepth < 0) {
        this.sink.error(pos, "Extra '}' found");
        this.braceDepth = 0;
      }
      this.lines.push({ words: [c], raw: c, file: pos.file, line: pos.line });
      start = i + 1;
    }
    push(content.slice(start));
    this.lastPos = pos;
  }
}
