/**
 * Entry points of the parser: a keepalived.conf (file or text) → the typed configuration
 * plus file:line diagnostics.
 */
import { DiagnosticSink } from './diagnostics.js';
import type { Diagnostic } from './diagnostics.js';
import { Lexer } from './lexer.js';
import type { LexOptions } from './lexer.js';
import { Parser } from './parser.js';
import type { UnknownBlockMode } from './parser.js';
import type { KeepalivedConfig } from './types.js';
import { buildConfig } from './validate.js';

/** Lexer options plus the treatment of unknown blocks. */
export interface ParseOptions extends LexOptions {
  /**
   * `keepalived` (default): do what keepalived does (its '{' is ignored, the contents join
   * the enclosing block, and its '}' closes the enclosing block), with a warning;
   * `skip`: skip the unknown block whole, with a warning.
   */
  unknownBlocks?: UnknownBlockMode;
}

/** A parsed configuration and what was said about it. */
export interface ParseOutcome {
  config: KeepalivedConfig;
  diagnostics: Diagnostic[];
  /** true when there is no diagnostic at all (keepalived --config-test would exit 0) */
  clean: boolean;
  /** false when the main file could not be read */
  readable: boolean;
}

function run(sink: DiagnosticSink, lexer: Lexer, file: string, opts: ParseOptions, readable: boolean): ParseOutcome {
  lexer.finish();
  const drafts = new Parser(lexer.lines, sink, opts.unknownBlocks ?? 'keepalived').parse();
  const config = buildConfig(drafts, sink, file);
  return { config, diagnostics: sink.list, clean: sink.list.length === 0, readable };
}

/** Parses a keepalived.conf from disk (includes are resolved relative to each file). */
export function parseConfigFile(file: string, opts: ParseOptions = {}): ParseOutcome {
  const sink = new DiagnosticSink();
  const lexer = new Lexer(sink, opts);
  const readable = lexer.lexFile(file);
  return run(sink, lexer, file, opts, readable);
}

/** Parses configuration text; `file` names it in messages and anchors relative includes. */
export function parseConfigText(text: string, file = 'keepalived.conf', opts: ParseOptions = {}): ParseOutcome {
  const sink = new DiagnosticSink();
  const lexer = new Lexer(sink, opts);
  lexer.lexText(text, file);
  return run(sink, lexer, file, opts, true);
}
