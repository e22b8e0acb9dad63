/**
 * Address and number parsing the way the C library does it for ipvsadm: `inet_aton`
 * (which accepts `10.1`, `0x0a000001`, octal parts ...), `inet_pton(AF_INET6)`,
 * `inet_ntop`, `strtol`-style integers and `atoi`. Control-plane code: allocation is fine.
 */

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

/** `strtol(s, &end, 10)` that must consume the whole string: the integer, or null. */
export function parseWholeInt(s: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(s);
  if (!m) return null;
  const v = Number(m[2]);
  return m[1] === '-' ? -v : v;
}

/** ipvsadm's `string_to_number`: a whole decimal integer within [min, max], else -1. */
export function stringToNumber(s: string, min: number, max: number): number {
  const v = parseWholeInt(s);
  if (v === null || v < min || v > max) return -1;
  return v;
}

/** C `atoi`: leading blanks, optional sign, digits up to the first non-digit; 0 if none. */
export function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(s);
  if (!m || m[2] === '') return 0;
  const v = Number(m[2]);
  return m[1] === '-' ? -v : v;
}

/** glibc `inet_aton`: 1 to 4 parts (decimal, 0x hex or 0 octal); trailing blanks end it. Returns the uint32 or null. */
export function inetAton(s: string): number | null {
  const parts: number[] = [];
  let i = 0;
  for (;;) {
    if (i >= s.length || !/[0-9]/.test(s[i]!)) return null;
    let base = 10;
    if (s[i] === '0') {
      if (s[i + 1] === 'x' || s[i + 1] === 'X') {
        base = 16;
        i += 2;
      } else base = 8;
    }
    let v = 0;
    while (i < s.length) {
      const c = s[i]!;
      const d = base === 16 ? parseInt(c, 16) : /[0-9]/.test(c) ? Number(c) : NaN;
      if (Number.isNaN(d) || d >= base) break;
      v = v * base + d;
      if (v > 0xffffffff) return null;
      i++;
    }
    parts.push(v);
    if (s[i] === '.') {
      if (parts.length >= 4) return null;
      i++;
      continue;
    }
    break;
  }
  if (i < s.length && !isSpace(s[i]!)) return null;
  const n = parts.length;
  const [a, b, c, d] = parts as [number, number, number, number];
  if (n === 1) return a >>> 0;
  if (n === 2) return a > 0xff || b > 0xffffff ? null : ((a << 24) | b) >>> 0;
  if (n === 3) return a > 0xff || b > 0xff || c > 0xffff ? null : ((a << 24) | (b << 16) | c) >>> 0;
  return a > 0xff || b > 0xff || c > 0xff || d > 0xff ? null : ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Strict dotted-quad `inet_pton(AF_INET)`: the uint32 or null. */
export function inetPton4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let v = 0;
  for (let k = 1; k <= 4; k++) {
    const p = m[k]!;
    if (p.length > 1 && p[0] === '0') return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

/** uint32 -> dotted quad. */
export function ntoa(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** `inet_pton(AF_INET6)`: eight 16-bit words, or null. */
export function inetPton6(s: string): number[] | null {
  if (s.length === 0 || /[^0-9a-fA-F:.]/.test(s)) return null;
  let str = s;
  if (str.includes('.')) {
    const lastColon = str.lastIndexOf(':');
    const v4 = inetPton4(str.slice(lastColon + 1));
    if (v4 === null) return null;
    str = `${str.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const dbl = str.indexOf('::');
  if (dbl !== str.lastIndexOf('::') && dbl >= 0) return null;
  const parseGroups = (g: string): number[] | null => {
    if (g === '') return [];
    const out: number[] = [];
    for (const h of g.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return null;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  const want = 8;
  let words: number[];
  if (dbl >= 0) {
    const head = parseGroups(str.slice(0, dbl));
    const rest = parseGroups(str.slice(dbl + 2));
    if (!head || !rest || head.length + rest.length > want - 1) return null;
    words = [...head, ...new Array<number>(want - head.length - rest.length).fill(0), ...rest];
  } else {
    const all = parseGroups(str);
    if (!all || all.length !== want) return null;
    words = all;
  }
  return words;
}

/** glibc `inet_ntop(AF_INET6)`: the longest run (>= 2) of zero words compressed, embedded IPv4 for mapped/compatible forms. */
export function ntop6(w: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += ntoa(((w[6]! << 16) | w[7]!) >>> 0);
      break;
    }
    out += w[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** True when an address string from the model is IPv6. */
export function isV6(addr: string): boolean {
  return addr.includes(':');
}

/** Sort key words of a model address: [uint32] for IPv4, eight... four 32-bit words for IPv6. */
export function addrWords(addr: string): number[] {
  if (isV6(addr)) {
    const w = inetPton6(addr) ?? [0, 0, 0, 0, 0, 0, 0, 0];
    return [0, 1, 2, 3].map((k) => ((w[2 * k]! << 16) | w[2 * k + 1]!) >>> 0);
  }
  return [inetPton4(addr) ?? inetAton(addr) ?? 0];
}

/** Normalise an address string for display: IPv6 compressed as inet_ntop does, IPv4 dotted. */
export function normAddr(addr: string): string {
  if (isV6(addr)) {
    const w = inetPton6(addr);
    return w ? ntop6(w) : addr;
  }
  const v = inetPton4(addr) ?? inetAton(addr);
  return v === null ? addr : ntoa(v);
}
