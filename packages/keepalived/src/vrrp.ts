/**
 * The VRRP part of a keepalived.conf: the one entry point the block parser calls (from
 * buildConfig) with the raw VRRP blocks and the global_defs lines. See vrrp-parse.ts.
 */
import type { DiagnosticSink } from './diagnostics.js';
import type { ParseResult } from './parser.js';
import { sysfsHost } from './vrrp-host.js';
import type { HostInfo } from './vrrp-host.js';
import { VrrpInterpreter } from './vrrp-parse.js';
import type { VrrpConfig } from './vrrp-types.js';

/** The host keepalived's checks look at; tests replace it with staticHost(). */
let host: HostInfo = sysfsHost;

/** Use another view of the host's interfaces (tests); returns the previous one. */
export function setVrrpHost(h: HostInfo): HostInfo {
  const old = host;
  host = h;
  return old;
}

/**
 * Interpret the VRRP blocks of a parse, with its global_defs, track files, BFD instances and
 * other top-level blocks (net_namespace), reporting into `sink`.
 */
export function interpretVrrp(p: ParseResult, sink: DiagnosticSink, mainFile: string): VrrpConfig {
  return new VrrpInterpreter(sink, host, mainFile).run(p);
}
