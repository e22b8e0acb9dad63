/**
 * `tunvsd --config-test -f FILE`: parse, print file:line messages, and exit like
 * keepalived's own --config-test (0 clean, 5 config errors, 4 cannot run, 6 script
 * security).
 */
import { formatDiagnostic } from './diagnostics.js';
import type { Diagnostic } from './diagnostics.js';
import { parseConfigFile } from './config.js';
import type { ParseOptions } from './config.js';
import type { KeepalivedConfig } from './types.js';

/** Where keepalived looks when no -f is given. */
export const DEFAULT_CONFIG_FILE = '/etc/keepalived/keepalived.conf';

/** Result of checking one configuration file. */
export interface ConfigTestResult {
  /** true iff keepalived --config-test would exit 0 */
  ok: boolean;
  /** `file:line: severity: message`, in order */
  messages: string[];
  /** the exit code keepalived --config-test would give */
  exitCode: number;
}

/**
 * keepalived's --config-test exit code for a list of diagnostics: a missing parameter is
 * a hard 2; then 4 (cannot run); then 6 (script security), which outranks 5 (errors).
 * Notices (exit code 0) do not count.
 */
export function exitCodeOf(diags: readonly Diagnostic[], config?: Pick<KeepalivedConfig, 'other'>): number {
  // keepalived 2.2.7's --config-test exits 0 whenever a top-level net_namespace is set
  // (messages are still printed); checked against the binary
  if (config?.other.some((n) => n.keyword === 'net_namespace')) return 0;
  const codes = new Set(diags.map((d) => d.exitCode));
  for (const c of [2, 4, 6, 5] as const) if (codes.has(c)) return c;
  return 0;
}

/** Checks a configuration file (and everything it includes). */
export function configTest(file: string, opts: ParseOptions = {}): ConfigTestResult {
  const r = parseConfigFile(file, opts);
  const messages = r.diagnostics.map(formatDiagnostic);
  const exitCode = exitCodeOf(r.diagnostics, r.config);
  return { ok: exitCode === 0, messages, exitCode };
}

/**
 * Command-line form: `[-t|--config-test] [-f FILE | --use-file FILE | --use-file=FILE]
 * [-i ID | --config-id ID]`. Prints messages with `print` (default: stderr) and returns
 * the exit code (1 for a usage error).
 */
export function runConfigTest(argv: string[], print: (line: string) => void = (l) => process.stderr.write(l + '\n')): number {
  let file = DEFAULT_CONFIG_FILE;
  const opts: ParseOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-t' || a === '--config-test') continue;
    if (a === '-f' || a === '--use-file' || a === '-i' || a === '--config-id') {
      const v = argv[++i];
      if (v === undefined) {
        print(`option ${a} needs an argument`);
        return 1;
      }
      if (a === '-f' || a === '--use-file') file = v;
      else opts.configId = v;
    } else if (a.startsWith('--use-file=')) file = a.slice('--use-file='.length);
    else if (a.startsWith('--config-id=')) opts.configId = a.slice('--config-id='.length);
    else {
      print(`unknown option ${a}`);
      return 1;
    }
  }
  const r = configTest(file, opts);
  for (const m of r.messages) print(m);
  return r.exitCode;
}
