/**
 * Value readers with keepalived 2.2.7's messages (lib/parser.c read_unsigned_strvec,
 * read_int_strvec, read_decimal_unsigned_strvec, check_true_false): each failure is
 * reported at the keyword's line and the caller then reports its own sentence, as
 * keepalived does.
 */
import { isIP } from 'node:net';
import type { DiagnosticSink } from './diagnostics.js';
import type { RawNode } from './types.js';

/** Reads values of one keyword line, reporting into a sink. */
export class ValueReader {
  constructor(private readonly sink: DiagnosticSink) {}

  err(n: { file: string; line: number }, msg: string): void {
    this.sink.error(n, msg);
  }

  warn(n: { file: string; line: number }, msg: string): void {
    this.sink.warn(n, msg);
  }

  /** The word at `idx` (1 = first argument), or undefined with keepalived's message. */
  arg(n: RawNode, idx = 1): string | undefined {
    const v = n.args[idx - 1];
    if (v === undefined) {
      // keepalived stops reading there: --config-test exits 2
      this.sink.error(n, `*** Configuration line starting \`${n.keyword}\` is missing a parameter after keyword \`${idx === 1 ? n.keyword : n.args[idx - 2]}\` at word position ${idx + 1}`, 2);
    }
    return v;
  }

  /** An integer in [min, max]; `undefined` after reporting. */
  int(n: RawNode, idx: number, min: number, max: number, allowNeg = min < 0): number | undefined {
    const s = this.arg(n, idx);
    if (s === undefined) return undefined;
    return this.intOf(n, s, min, max, allowNeg);
  }

  intOf(n: { file: string; line: number }, s: string, min: number, max: number, allowNeg = min < 0): number | undefined {
    if (!/^[+-]?\d+$/.test(s)) {
      this.err(n, `invalid number '${s}'`);
      return undefined;
    }
    const v = Number(s);
    if (v < 0 && !allowNeg) {
      this.err(n, `negative number '${s}'`);
      return undefined;
    }
    if (v < min || v > max) {
      this.err(n, `number '${s}' outside range [${min}, ${max}]`);
      return undefined;
    }
    return v;
  }

  /** A decimal (seconds, µs resolution) in [min, max]. */
  decimal(n: RawNode, idx: number, min: number, max: number): number | undefined {
    const s = this.arg(n, idx);
    if (s === undefined) return undefined;
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s)) {
      this.err(n, `invalid number '${s}'`);
      return undefined;
    }
    const v = Number(s);
    if (v < 0 && min >= 0) {
      this.err(n, `negative number '${s}'`);
      return undefined;
    }
    const r = Math.round(v * 1e6) / 1e6;
    if (r < min || r > max) {
      this.err(n, `number '${s}' outside range [${min.toFixed(6)}, ${max.toFixed(6)}]`);
      return undefined;
    }
    return r;
  }

  /** An optional boolean argument: absent = true; on/off/true/false/yes/no. */
  bool(n: RawNode, idx: number, what: string): boolean | undefined {
    const s = n.args[idx - 1];
    if (s === undefined) return true;
    const l = s.toLowerCase();
    if (['on', 'true', 'yes'].includes(l)) return true;
    if (['off', 'false', 'no'].includes(l)) return false;
    this.err(n, `Invalid value for ${what} specified`);
    return undefined;
  }

  /** An IPv4 or IPv6 address. */
  ip(s: string): 4 | 6 | 0 {
    const f = isIP(s);
    return f === 4 ? 4 : f === 6 ? 6 : 0;
  }
}
