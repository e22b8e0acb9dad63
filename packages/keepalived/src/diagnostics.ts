/**
 * Messages produced while reading a configuration: each carries the file and line it is
 * about (line 0 when the message concerns the configuration as a whole).
 */

/** `warning`: keepalived carries on with a default; `error`: a value was rejected. */
export type Severity = 'warning' | 'error';

/** One message about the configuration, located by file and line. */
export interface Diagnostic {
  severity: Severity;
  file: string;
  /** 1-based; 0 = not tied to a line */
  line: number;
  message: string;
  /**
   * Which keepalived --config-test exit code this message implies:
   * 5 = config errors (keepalived still runs), 4 = cannot run, 6 = script security,
   * 2 = a missing parameter (hard exit), 0 = a notice that keepalived's --config-test
   * does not count (printed, exit code unchanged).
   */
  exitCode: 0 | 2 | 4 | 5 | 6;
}

/** A place in the configuration. */
export interface SourcePos {
  file: string;
  line: number;
}

/** `file:line: severity: message`, the form configTest prints. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}` : d.file;
  return `${where}: ${d.severity}: ${d.message}`;
}

/** Collects diagnostics; shared by the lexer, the parser and the validation pass. */
export class DiagnosticSink {
  readonly list: Diagnostic[] = [];

  /** Records a warning (keepalived continues with a default or skips the line). */
  warn(pos: SourcePos | null, message: string, exitCode: 0 | 2 | 4 | 5 | 6 = 5): void {
    this.list.push({ severity: 'warning', file: pos?.file ?? '', line: pos?.line ?? 0, message, exitCode });
  }

  /** Records an error (a rejected value, a malformed line). */
  error(pos: SourcePos | null, message: string, exitCode: 0 | 2 | 4 | 5 | 6 = 5): void {
    this.list.push({ severity: 'error', file: pos?.file ?? '', line: pos?.line ?? 0, message, exitCode });
  }
}
