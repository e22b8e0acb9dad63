/**
 * JSON with positions: tunvsd's JSON configuration is read so that every message can name
 * the line of the value it is about (`tunvsd.json:14: error: services[1].dests[0].weight:
 * illegal weight specified`).
 *
 * One pass scans the text (exactly JSON, RFC 8259, plus whole-line `//` comments) and
 * records the line of every member of every object and list, refusing a key repeated in
 * one object (JSON.parse would keep the last one silently); the values themselves are then
 * built by JSON.parse from the same text with the comment lines blanked, which the scan has
 * proved valid. (JSON.parse keeps a `"__proto__"` key as an own property.) The scan
 * allocates only the line tree, so a 16 MiB file is read in well under a second.
 * Paths: `services[1].dests[0].weight`; the root is ''.
 */

/** A syntax error at a line. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** A parsed document: its value and the line each value starts on. */
export interface JsonDocument {
  value: unknown;
  /** line of the value at `path`, or of its nearest ancestor that has one (1 for the root) */
  lineOf(path: string): number;
}

const MAX_DEPTH = 256;

/** The path of a child: `parent.key` / `parent[i]`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** The steps of a path: `a.b[2]` -> ['a', 'b', 2]. */
function pathSteps(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/**
 * Where an object or list starts, and where each member starts (a number for a scalar).
 * Objects keep their keys in a list beside (no Map per object: files hold 100k objects).
 */
interface Place {
  line: number;
  keys: string[] | null;
  members: (Place | number)[];
}

/** Objects with more keys than this check for duplicates with a Set instead of a scan. */
const LINEAR_KEYS = 32;

// character codes
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const SLASH = 0x2f;
const D0 = 0x30;
const D9 = 0x39;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** Parse `text`; throws JsonSyntaxError naming the line. */
export function parseJsonLines(text: string): JsonDocument {
  const n = text.length;
  let pos = 0;
  let line = 1;
  /** start offsets of comment lines, blanked before JSON.parse */
  const comments: [number, number][] = [];

  const fail = (msg: string): never => {
    throw new JsonSyntaxError(msg, line);
  };

  /** Skip a `//` comment line starting at `p` (only blanks before it on its line). */
  const commentAt = (p: number): number => {
    const e = text.indexOf('\n', p);
    const end = e < 0 ? n : e;
    comments.push([p, end]);
    return end;
  };

  const skip = (): void => {
    while (pos < n) {
      const c = text.charCodeAt(pos);
      if (c === LF) {
        line++;
        pos++;
        let p = pos;
        while (p < n) {
          const d = text.charCodeAt(p);
          if (d !== SPACE && d !== TAB && d !== CR) break;
          p++;
        }
        if (text.charCodeAt(p) === SLASH && text.charCodeAt(p + 1) === SLASH) pos = commentAt(p);
      } else if (c === SPACE || c === TAB || c === CR) pos++;
      else break;
    }
  };

  /** Scan a string at `pos` (the opening quote); returns its text only when `want`. */
  const str = (want: boolean): string => {
    const start = pos;
    pos++;
    let escaped = false;
    for (;;) {
      if (pos >= n) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === QUOTE) break;
      if (c < 0x20) fail('control character in a string (escape it)');
      if (c === BACKSLASH) {
        escaped = true;
        const e = text[pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) fail('bad \\u escape');
          pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(`bad escape \\${e ?? ''}`);
        pos += 2;
        continue;
      }
      pos++;
    }
    pos++;
    if (!want) return '';
    return escaped ? (JSON.parse(text.slice(start, pos)) as string) : text.slice(start + 1, pos - 1);
  };

  const digits = (): number => {
    const s = pos;
    while (pos < n) {
      const c = text.charCodeAt(pos);
      if (c < D0 || c > D9) break;
      pos++;
    }
    return pos - s;
  };

  const num = (): void => {
    if (text.charCodeAt(pos) === MINUS) pos++;
    const first = text.charCodeAt(pos);
    const k = digits();
    if (k === 0 || (first === D0 && k > 1)) fail(`bad number`);
    if (text[pos] === '.') {
      pos++;
      if (digits() === 0) fail('bad number');
    }
    if (text[pos] === 'e' || text[pos] === 'E') {
      pos++;
      if (text[pos] === '+' || text[pos] === '-') pos++;
      if (digits() === 0) fail('bad number');
    }
  };

  const value = (depth: number): Place | number => {
    skip();
    if (pos >= n) fail('unexpected end of the file');
    if (depth > MAX_DEPTH) fail('nested too deeply');
    const c = text.charCodeAt(pos);
    if (c === LBRACE) {
      const keys: string[] = [];
      const place: Place = { line, keys, members: [] };
      let many: Set<string> | null = null;
      pos++;
      skip();
      if (text.charCodeAt(pos) === RBRACE) {
        pos++;
        return place;
      }
      for (;;) {
        skip();
        if (text.charCodeAt(pos) !== QUOTE) fail('expected a "key" in the object');
        const key = str(true);
        if (many === null && keys.length >= LINEAR_KEYS) many = new Set(keys);
        if (many !== null ? many.has(key) : keys.includes(key)) fail(`"${key}" appears twice in the same object`);
        many?.add(key);
        skip();
        if (text.charCodeAt(pos) !== COLON) fail(`expected ':' after "${key}"`);
        pos++;
        keys.push(key);
        place.members.push(value(depth + 1));
        skip();
        const d = text.charCodeAt(pos);
        pos++;
        if (d === COMMA) continue;
        if (d === RBRACE) return place;
        pos--;
        fail("expected ',' or '}' in the object");
      }
    }
    if (c === LBRACKET) {
      const place: Place = { line, keys: null, members: [] };
      pos++;
      skip();
      if (text.charCodeAt(pos) === RBRACKET) {
        pos++;
        return place;
      }
      for (;;) {
        place.members.push(value(depth + 1));
        skip();
        const d = text.charCodeAt(pos);
        pos++;
        if (d === COMMA) continue;
        if (d === RBRACKET) return place;
        pos--;
        fail("expected ',' or ']' in the list");
      }
    }
    const at = line;
    if (c === QUOTE) str(false);
    else if (text.startsWith('true', pos)) pos += 4;
    else if (text.startsWith('false', pos)) pos += 5;
    else if (text.startsWith('null', pos)) pos += 4;
    else if (c === MINUS || (c >= D0 && c <= D9)) num();
    else fail(`unexpected ${JSON.stringify(text.slice(pos, pos + 12))}`);
    return at;
  };

  // a // comment on the first line
  {
    let p = 0;
    while (p < n && (text[p] === ' ' || text[p] === '\t' || text[p] === '\r')) p++;
    if (text.startsWith('//', p)) pos = commentAt(p);
  }
  const root = value(0);
  skip();
  if (pos < n) fail('text after the end of the JSON value');
  let clean = text;
  if (comments.length > 0) {
    const parts: string[] = [];
    let at = 0;
    for (const [s, e] of comments) {
      parts.push(text.slice(at, s), ' '.repeat(e - s));
      at = e;
    }
    parts.push(text.slice(at));
    clean = parts.join('');
  }
  const v: unknown = JSON.parse(clean);
  return {
    value: v,
    lineOf(path: string): number {
      let place = root;
      for (const step of pathSteps(path)) {
        if (typeof place === 'number') break;
        const i = place.keys === null ? (typeof step === 'number' ? step : -1) : typeof step === 'string' ? place.keys.indexOf(step) : -1;
        const next = i >= 0 ? place.members[i] : undefined;
        if (next === undefined) break;
        place = next;
      }
      return typeof place === 'number' ? place : place.line;
    },
  };
}
