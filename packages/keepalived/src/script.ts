/**
 * The second tokeniser of keepalived (lib/notify.c, lib/parser.c), used by script
 * keywords: both `"` and `'` quote, quotes may open or close in the middle of a word, and
 * inside the command backslash escapes are interpreted as a shell would.
 */

const ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * Splits `text` into words honouring `"` and `'` (which may start or stop mid-word). With
 * `escapes`, backslash sequences outside single quotes are decoded (`\n`, `\nnn`, `\xHH`,
 * `\cC`, any other `\C` = `C`). Returns null on an unterminated quote.
 */
export function splitQuoted(text: string, escapes: boolean): string[] | null {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === quote) {
        quote = null;
        continue;
      }
      if (escapes && c === '\\' && quote === '"' && i + 1 < text.length) {
        const r = decodeEscape(text, i + 1);
        cur += r.ch;
        i = r.end - 1;
        continue;
      }
      cur += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") {
      quote = c;
      continue;
    }
    if (escapes && c === '\\' && i + 1 < text.length) {
      const r = decodeEscape(text, i + 1);
      cur += r.ch;
      i = r.end - 1;
      continue;
    }
    cur += c;
  }
  if (quote !== null) return null;
  if (inWord) words.push(cur);
  return words;
}

function decodeEscape(s: string, at: number): { ch: string; end: number } {
  const c = s[at]!;
  if (c in ESCAPES) return { ch: ESCAPES[c]!, end: at + 1 };
  if (/[0-7]/.test(c)) {
    let j = at;
    while (j < s.length && j < at + 3 && /[0-7]/.test(s[j]!)) j++;
    return { ch: String.fromCharCode(parseInt(s.slice(at, j), 8) & 0xff), end: j };
  }
  if (c === 'x') {
    let j = at + 1;
    while (j < s.length && j < at + 3 && /[0-9a-fA-F]/.test(s[j]!)) j++;
    if (j === at + 1) return { ch: 'x', end: at + 1 };
    return { ch: String.fromCharCode(parseInt(s.slice(at + 1, j), 16)), end: j };
  }
  if (c === 'c' && at + 1 < s.length) {
    return { ch: String.fromCharCode(s.charCodeAt(at + 1) & 0x1f), end: at + 2 };
  }
  return { ch: c, end: at + 1 };
}

/**
 * Parses the rest of a script keyword's line: `"command args" [user [group]]`. Returns
 * null when the quoting is broken or the command is empty.
 */
export function parseScriptLine(rest: string): { argv: string[]; command: string; user?: string; group?: string } | null {
  const outer = splitQuoted(rest, false);
  if (outer === null || outer.length === 0) return null;
  const command = outer[0]!;
  const argv = splitQuoted(command, true);
  if (argv === null || argv.length === 0) return null;
  const r: { argv: string[]; command: string; user?: string; group?: string } = { argv, command };
  if (outer[1] !== undefined) r.user = outer[1];
  if (outer[2] !== undefined) r.group = outer[2];
  return r;
}
