/**
 * The VRRP part of a keepalived.conf: the one entry point the block parser calls (from
 * buildConfig) with the raw VRRP blocks and the global_defs lines. See vrrp-parse.ts.
 */
import type { DiagnosticSink } from './diagnostics.js';
import type { GlobalDefs, RawNode } from './types.js';
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
 * Interpret the VRRP blocks, with the global_defs and the other top-level blocks
 * (bfd_instance names, net_namespace), reporting into `sink`.
 */
export function interpretVrrp(blocks: RawNode[], global: GlobalDefs, other: RawNode[], sink: DiagnosticSink, mainFile: string): VrrpConfig {
  return new VrrpInterpreter(sink, host, mainFile).run(global, blocks, other);
}
