/**
 * The FTP control-channel text the IPVS FTP helper reads (ip_vs_ftp.c), parsed straight
 * from a TCP payload `buf[off, end)`: no stream reassembly, each segment on its own.
 *
 * Client -> server (detection only):
 *   PASV\r\n            anywhere in the segment (IPv4)
 *   EPSV\r  EPSV 1\r    anywhere in the segment (EPSV ALL, EPSV 2 ... stop the scan)
 *   PORT h1,h2,h3,h4,p1,p2   at the start of the segment
 *   EPRT |1|a.b.c.d|port|    at the start of the segment (any delimiter 33..126)
 * Server -> client (rewritten by the helper):
 *   227 ... (h1,h2,h3,h4,p1,p2)   the '(' is optional: the numbers start at the first digit
 *   229 ... (|||port|)           an address and family 1 may be present
 *
 * Every number of the 6-tuple forms is accumulated modulo 256, as the kernel does.
 */

/** What a client's command asks for (the helper's per-connection mode, `cp->app_data`). */
export const FtpMode = {
  /** nothing pending (after PORT/EPRT, or after a reply was rewritten) */
  ACTIVE: 0,
  /** PASV sent: a 227 reply is expected */
  PASV: 1,
  /** EPRT seen (reported by `ftpClientCommand`; the mode stored afterwards is ACTIVE) */
  EPRT: 2,
  /** EPSV sent: a 229 reply is expected */
  EPSV: 3,
  /** PORT seen (reported by `ftpClientCommand`) */
  PORT: 4,
  /** no command of interest */
  NONE: -1,
} as const;

/** Where a parsed address/port lies in the segment, and its value. */
export class FtpMatch {
  /** IPv4 address (uint32), 0 when the text carried none (229 without an address) */
  addr = 0;
  port = 0;
  /** offset of the first byte of the text the helper replaces */
  start = 0;
  /** offset just after the last byte it replaces */
  end = 0;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const LPAREN = 0x28;
const COMMA = 0x2c;
const DOT = 0x2e;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** ASCII case-insensitive comparison of `buf[off..]` with `word` (letters, digits, space, CR, LF). */
export function matchWord(buf: Uint8Array, off: number, end: number, word: string): boolean {
  if (end - off < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    const w = word.charCodeAt(i);
    let c = buf[off + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    const lw = w >= 0x41 && w <= 0x5a ? w | 0x20 : w;
    if (c !== lw) return false;
  }
  return true;
}

/**
 * A client's segment: PASV or EPSV anywhere (their mode), else PORT or EPRT at the start
 * (mode PORT/EPRT, the announced address and port in `out`), else NONE. `ipv4` is always
 * true for tunvs (IPv4 only), kept for the rules that depend on the family.
 */
export function ftpClientCommand(buf: Uint8Array, off: number, end: number, out: FtpMatch): number {
  for (let i = off; i <= end - 6; i++) {
    const c = buf[i]! | 0x20;
    if (c !== 0x70 /* p */ && c !== 0x65 /* e */) continue;
    if (matchWord(buf, i, end, 'PASV\r\n')) return FtpMode.PASV;
    if (matchWord(buf, i, end, 'EPSV')) {
      const c4 = buf[i + 4]!;
      if (c4 === CR) return FtpMode.EPSV;
      if (c4 !== SP) continue;
      // "EPSV 1\r" asks for IPv4; "EPSV ALL", "EPSV 2" and anything else end the scan
      if (buf[i + 5] === 0x31 && i + 6 < end && buf[i + 6] === CR) return FtpMode.EPSV;
      return FtpMode.NONE;
    }
  }
  if (matchWord(buf, off, end, 'PORT')) return parseTuple(buf, off + 4, end, out) ? FtpMode.PORT : FtpMode.NONE;
  if (matchWord(buf, off, end, 'EPRT')) return parseEprt(buf, off + 4, end, out) ? FtpMode.EPRT : FtpMode.NONE;
  return FtpMode.NONE;
}

/**
 * A server's "227 " reply: the 6-tuple (the text from the first digit of h1 to the last
 * digit of p2 is the match). False when the segment is not a complete 227 reply.
 */
export function parse227(buf: Uint8Array, off: number, end: number, out: FtpMatch): boolean {
  return matchWord(buf, off, end, '227 ') && parseTuple(buf, off + 4, end, out);
}

/**
 * A server's "229 " reply: `(<d><af><d><addr><d><port><d>)` where family and address may
 * be empty; the match runs from the opening delimiter to the closing one inclusive.
 * `out.addr` is 0 when the reply names no address.
 */
export function parse229(buf: Uint8Array, off: number, end: number, out: FtpMatch): boolean {
  if (!matchWord(buf, off, end, '229 ')) return false;
  let i = off + 4;
  while (i < end && buf[i] !== LPAREN) i++;
  if (i >= end) return false;
  return parseExtended(buf, i + 1, end, out, true);
}

/**
 * After PORT or "227 ": skip to the first digit, then `h1,h2,h3,h4,p1,p2` ended by a
 * byte that is neither digit nor comma, inside the segment.
 */
function parseTuple(buf: Uint8Array, i: number, end: number, out: FtpMatch): boolean {
  while (i < end && !isDigit(buf[i]!)) {
    if (buf[i] === CR || buf[i] === LF) return false;
    i++;
  }
  if (i >= end) return false;
  const start = i;
  let addr = 0;
  let port = 0;
  for (let n = 0; n < 6; n++) {
    if (i >= end || !isDigit(buf[i]!)) return false;
    let v = 0;
    while (i < end && isDigit(buf[i]!)) v = (v * 10 + buf[i++]! - 0x30) & 0xff;
    if (i >= end) return false; // the terminator must be inside the segment
    if (n < 4) addr = (addr * 256 + v) >>> 0;
    else port = port * 256 + v;
    if (n < 5) {
      if (buf[i] !== COMMA) return false;
      i++;
    } else if (buf[i] === COMMA) {
      return false;
    }
  }
  out.addr = addr;
  out.port = port;
  out.start = start;
  out.end = i;
  return true;
}

/** After EPRT: spaces, then the extended form (family and address required). */
function parseEprt(buf: Uint8Array, i: number, end: number, out: FtpMatch): boolean {
  if (i >= end || buf[i] !== SP) return false;
  while (i < end && buf[i] === SP) i++;
  return parseExtended(buf, i, end, out, false);
}

/** `<d><af><d><addr><d><port><d>` from `i` (the opening delimiter). */
function parseExtended(buf: Uint8Array, i: number, end: number, out: FtpMatch, emptyAllowed: boolean): boolean {
  if (i >= end) return false;
  const d = buf[i]!;
  if (d < 33 || d > 126) return false;
  const start = i++;
  // family: "1" (IPv4), or empty in a 229 reply
  if (i < end && buf[i] === d) {
    if (!emptyAllowed) return false;
  } else {
    if (buf[i] !== 0x31) return false;
    i++;
  }
  if (i >= end || buf[i] !== d) return false;
  i++;
  let addr = 0;
  if (i < end && buf[i] === d) {
    if (!emptyAllowed) return false;
  } else {
    // dotted quad, each part 0..255
    for (let n = 0; n < 4; n++) {
      if (i >= end || !isDigit(buf[i]!)) return false;
      let v = 0;
      let digits = 0;
      while (i < end && isDigit(buf[i]!)) {
        v = v * 10 + buf[i++]! - 0x30;
        if (++digits > 3 || v > 255) return false;
      }
      addr = (addr * 256 + v) >>> 0;
      if (n < 3) {
        if (i >= end || buf[i] !== DOT) return false;
        i++;
      }
    }
    if (i >= end || buf[i] !== d) return false;
  }
  i++;
  let port = 0;
  let digits = 0;
  while (i < end && isDigit(buf[i]!)) {
    port = port * 10 + buf[i++]! - 0x30;
    if (++digits > 5) return false;
  }
  if (digits === 0 || port === 0 || port > 65535) return false;
  if (i >= end || buf[i] !== d) return false;
  out.addr = addr;
  out.port = port;
  out.start = start;
  out.end = i + 1;
  return true;
}

/**
 * Write the replacement text at `buf[off]` and return its length: "h1,h2,h3,h4,p1,p2" of
 * `addr:port` (227), or "|||port|" (229: no address, the client keeps the VIP).
 */
export function writeReplacement(buf: Uint8Array, off: number, extended: boolean, addr: number, port: number): number {
  let o = off;
  if (extended) {
    buf[o++] = 0x7c;
    buf[o++] = 0x7c;
    buf[o++] = 0x7c;
    o = writeDecimal(buf, o, port);
    buf[o++] = 0x7c;
    return o - off;
  }
  const parts = [addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff, port >>> 8, port & 0xff];
  for (let n = 0; n < 6; n++) {
    if (n > 0) buf[o++] = COMMA;
    o = writeDecimal(buf, o, parts[n]!);
  }
  return o - off;
}

/** The length `writeReplacement` will write. */
export function replacementLength(extended: boolean, addr: number, port: number): number {
  if (extended) return 4 + decimalLength(port);
  return 5 + decimalLength(addr >>> 24) + decimalLength((addr >>> 16) & 0xff) + decimalLength((addr >>> 8) & 0xff) +
    decimalLength(addr & 0xff) + decimalLength(port >>> 8) + decimalLength(port & 0xff);
}

function decimalLength(v: number): number {
  return v >= 10000 ? 5 : v >= 1000 ? 4 : v >= 100 ? 3 : v >= 10 ? 2 : 1;
}

function writeDecimal(buf: Uint8Array, o: number, v: number): number {
  const n = decimalLength(v);
  for (let k = n - 1; k >= 0; k--) {
    buf[o + k] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return o + n;
}
