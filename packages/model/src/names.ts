/**
 * The one table of names. Every layer that says a scheduler, a scheduler flag, a
 * forwarding method, a protocol or the kernel generation to mimic takes the word and its
 * number from here: the engine, tunvsadm, the keepalived reader, the replay tool and the
 * scheduler registry. Nothing else keeps a list of these words.
 */
import { ConnFlag, Fwd, Proto, SvcFlag } from './constants.js';
import type { MethodName, ProtocolName, TunnelCsum, TunnelType } from './control.js';

// ------------------------------------------------------------------ schedulers

/** The fourteen IPVS schedulers, by the name ipvsadm's `-s` takes, in registry order. */
export const SCHEDULER_NAMES = [
  'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos',
] as const;

/** A built-in scheduler name. */
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** ipvsadm's default scheduler (`-s` omitted). */
export const DEFAULT_SCHEDULER: SchedulerName = 'wlc';

/**
 * The scheduler name that binds no scheduler (`ipvsadm -s none`, `ip_vs_add_service`): the
 * service schedules nothing new; only its persistence templates and existing connections
 * route. Listed as `none`.
 */
export const NO_SCHEDULER = 'none';

/** True when `s` names a built-in scheduler. */
export function isSchedulerName(s: string): s is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(s);
}

// ------------------------------------------------------------- scheduler flags

/** One scheduler flag word (`-b`): its service flag bit and the scheduler it belongs to. */
export interface SchedFlagDef {
  readonly name: string;
  /** SvcFlag.SCHED1/2/3 */
  readonly bit: number;
  /** the scheduler whose flag it is (sh-*, mh-*), null for the generic flag-N words */
  readonly scheduler: SchedulerName | null;
}

/** Every scheduler flag word ipvsadm accepts; several words share a bit. */
export const SCHED_FLAGS: readonly SchedFlagDef[] = [
  { name: 'flag-1', bit: SvcFlag.SCHED1, scheduler: null },
  { name: 'flag-2', bit: SvcFlag.SCHED2, scheduler: null },
  { name: 'flag-3', bit: SvcFlag.SCHED3, scheduler: null },
  { name: 'sh-fallback', bit: SvcFlag.SCHED1, scheduler: 'sh' },
  { name: 'sh-port', bit: SvcFlag.SCHED2, scheduler: 'sh' },
  { name: 'mh-fallback', bit: SvcFlag.SCHED1, scheduler: 'mh' },
  { name: 'mh-port', bit: SvcFlag.SCHED2, scheduler: 'mh' },
];

/** The three scheduler flag bits of a service's flags. */
export const SCHED_FLAG_MASK = SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3;

/** The definition of a scheduler flag word, or undefined for an unknown word. */
export function schedFlag(name: string): SchedFlagDef | undefined {
  return SCHED_FLAGS.find((f) => f.name === name);
}

/**
 * Names of the scheduler flag bits set in `flags`, as the model and ipvsadm's `-b` say
 * them for scheduler `schedName`: sh and mh name their own bits (`sh-fallback`,
 * `mh-port`), every other bit is `flag-N`.
 */
export function schedFlagNames(schedName: string, flags: number): string[] {
  const out: string[] = [];
  for (const bit of [SvcFlag.SCHED1, SvcFlag.SCHED2, SvcFlag.SCHED3]) {
    if ((flags & bit) === 0) continue;
    const own = SCHED_FLAGS.find((f) => f.bit === bit && f.scheduler !== null && f.scheduler === schedName);
    out.push(own ? own.name : SCHED_FLAGS.find((f) => f.bit === bit && f.scheduler === null)!.name);
  }
  return out;
}

/** The flag bits of a list of flag words (unknown words contribute nothing: check them with `schedFlag`). */
export function schedFlagBits(names: readonly string[]): number {
  let bits = 0;
  for (const n of names) bits |= schedFlag(n)?.bit ?? 0;
  return bits;
}

// -------------------------------------------------------------------- methods

/** A forwarding method: its numbers and every word the tools use for it. */
export interface MethodDef {
  /** the control API's word; 'bypass' is internal (no destination) */
  readonly name: MethodName | 'bypass';
  /** Fwd.* (the low bits of the connection flags) */
  readonly fwd: number;
  /** as ipvsadm lists it: Masq, Local, Tunnel, Route, Bypass */
  readonly listing: string;
  /** ipvsadm's switch (`-m`, `-i`, `-g`; local saves as `-g` like ipvsadm) */
  readonly ipvsadm: string;
  /** keepalived's `lb_kind` word, null when keepalived has none */
  readonly lbKind: 'NAT' | 'DR' | 'TUN' | null;
  /**
   * The connection flags a destination of this method gives its connections (the
   * kernel's `dest->conn_flags`, without INACTIVE which every new connection gets):
   * NOOUTPUT for methods whose replies bypass the director, REPLY_FROM_DEST for methods
   * whose replies come back from the destination's own address and port.
   */
  readonly connFlags: number;
}

/** Every forwarding method, indexed by its Fwd number. */
export const METHODS: readonly MethodDef[] = [
  { name: 'masq', fwd: Fwd.MASQ, listing: 'Masq', ipvsadm: '-m', lbKind: 'NAT', connFlags: ConnFlag.REPLY_FROM_DEST },
  { name: 'local', fwd: Fwd.LOCALNODE, listing: 'Local', ipvsadm: '-g', lbKind: null, connFlags: ConnFlag.REPLY_FROM_DEST },
  { name: 'tunnel', fwd: Fwd.TUNNEL, listing: 'Tunnel', ipvsadm: '-i', lbKind: 'TUN', connFlags: ConnFlag.NOOUTPUT },
  { name: 'route', fwd: Fwd.DROUTE, listing: 'Route', ipvsadm: '-g', lbKind: 'DR', connFlags: ConnFlag.NOOUTPUT },
  { name: 'bypass', fwd: Fwd.BYPASS, listing: 'Bypass', ipvsadm: '', lbKind: null, connFlags: ConnFlag.NOOUTPUT },
];

/** The method the control API uses by default (ipvsadm's `-g`). */
export const DEFAULT_METHOD: MethodName = 'route';

/** A method by its control-API word, or undefined (bypass is not selectable). */
export function methodByName(name: string): MethodDef | undefined {
  const m = METHODS.find((x) => x.name === name);
  return m && m.fwd !== Fwd.BYPASS ? m : undefined;
}

/**
 * Does the FTP helper bind a destination (the kernel's `tcp_app_conn_bind` for ip_vs_ftp):
 * masquerading, to a TCP service (not a firewall mark) whose port is one of the helper's
 * (`hasPort`; port-0 services have no port to match). The engine binds its forwarder by it;
 * the bypass steering steers the data connections of such services by it.
 */
export function ftpHelperBinds(fwd: number, svc: { protocol: number; fwmark: number; port: number }, hasPort: (port: number) => boolean): boolean {
  return fwd === Fwd.MASQ && svc.fwmark === 0 && svc.protocol === Proto.TCP && svc.port !== 0 && hasPort(svc.port);
}

/** The control-API word of a Fwd number (unknown numbers read as `route`, ipvsadm's default). */
export function methodName(fwd: number): MethodName {
  const m = METHODS[fwd & ConnFlag.FWD_MASK];
  return m && m.name !== 'bypass' ? m.name : DEFAULT_METHOD;
}

/** Name of a forwarding method as ipvsadm prints it in listings (Masq, Route, ...). */
export function fwdName(fwd: number): string {
  return (METHODS[fwd & ConnFlag.FWD_MASK] ?? METHODS[Fwd.BYPASS]!).listing;
}

/** The method of keepalived's `lb_kind` word (NAT, DR, TUN). */
export function methodOfLbKind(kind: 'NAT' | 'DR' | 'TUN'): MethodName {
  return METHODS.find((m) => m.lbKind === kind)!.name as MethodName;
}

// ------------------------------------------------------------------ protocols

/** A transport protocol the tools name. */
export interface ProtocolDef {
  readonly number: number;
  /** the control API's word (lower case) */
  readonly name: string;
  /** as ipvsadm lists it (upper case) */
  readonly listing: string;
}

/** The protocols IPVS services and connections carry. */
export const PROTOCOLS: readonly ProtocolDef[] = [
  { number: Proto.TCP, name: 'tcp', listing: 'TCP' },
  { number: Proto.UDP, name: 'udp', listing: 'UDP' },
  { number: Proto.SCTP, name: 'sctp', listing: 'SCTP' },
  { number: Proto.ICMP, name: 'icmp', listing: 'ICMP' },
];

/** The protocols an address service may have in the control API. */
export const SERVICE_PROTOCOLS: readonly ProtocolName[] = ['tcp', 'udp', 'sctp'];

/** The number of a protocol word (`tcp` = 6), or 0 when unknown. */
export function protocolNumber(name: string): number {
  return PROTOCOLS.find((p) => p.name === name)?.number ?? 0;
}

/** The control-API word of an address service's protocol number, or null. */
export function serviceProtocolName(n: number): ProtocolName | null {
  const p = PROTOCOLS.find((x) => x.number === n);
  return p && (SERVICE_PROTOCOLS as readonly string[]).includes(p.name) ? (p.name as ProtocolName) : null;
}

/** A protocol as ipvsadm's connection listing says it: TCP, UDP, SCTP, IP (0, fwmark templates), IP_<n>. */
export function protocolListing(n: number): string {
  if (n === 0) return 'IP';
  return PROTOCOLS.find((p) => p.number === n)?.listing ?? `IP_${n}`;
}

// --------------------------------------------------------------------- kernel

/** The kernel generations whose behaviour tunvs can mimic where the 2026 fixes changed it. */
export const KERNEL_MODES = ['classic', '2026'] as const;

/**
 * Which kernel to mimic: `classic` (up to mid-2026) or `2026` (the fixes of 6.1.192 and
 * mainline): the connection overhead of the counting schedulers, the OVERLOAD rules of
 * the connection table and of threshold edits, and the lblc/lblcr cache limit.
 */
export type KernelMode = (typeof KERNEL_MODES)[number];

/** The default kernel mode. */
export const DEFAULT_KERNEL: KernelMode = 'classic';

/** True when `s` is a kernel mode word. */
export function isKernelMode(s: unknown): s is KernelMode {
  return typeof s === 'string' && (KERNEL_MODES as readonly string[]).includes(s);
}

/**
 * A tunnel type of a tunnelling destination (`--tun-type`), with the kernel's number
 * (IP_VS_CONN_F_TUNNEL_TYPE_*, the netlink IPVS_DEST_ATTR_TUN_TYPE value) and the
 * checksum modes it accepts (ipvsadm's rules).
 */
export interface TunnelTypeDef {
  readonly name: TunnelType;
  /** IP_VS_CONN_F_TUNNEL_TYPE_IPIP 0, _GUE 1, _GRE 2 */
  readonly kernel: number;
  /** needs `--tun-port` (GUE) */
  readonly needsPort: boolean;
  /** checksum modes allowed (`--tun-nocsum|--tun-csum|--tun-remcsum`) */
  readonly csums: readonly TunnelCsum[];
}

/** Every tunnel type, indexed by its kernel number. */
export const TUNNEL_TYPES: readonly TunnelTypeDef[] = [
  { name: 'ipip', kernel: 0, needsPort: false, csums: [] },
  { name: 'gue', kernel: 1, needsPort: true, csums: ['nocsum', 'csum', 'remcsum'] },
  { name: 'gre', kernel: 2, needsPort: false, csums: ['nocsum', 'csum'] },
];

/** A tunnel checksum mode: its kernel flag bits (IP_VS_TUNNEL_ENCAP_FLAG_*), listing and option. */
export interface TunnelCsumDef {
  readonly name: TunnelCsum;
  /** IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM 0, _CSUM 1, _REMCSUM 2 */
  readonly flag: number;
  /** ipvsadm `--tun-info` column: -c, +c, r+c */
  readonly info: string;
  /** ipvsadm option (and `-S` output) */
  readonly option: string;
}

/** Every checksum mode, indexed by position (nocsum, csum, remcsum). */
export const TUNNEL_CSUMS: readonly TunnelCsumDef[] = [
  { name: 'nocsum', flag: 0, info: '-c', option: '--tun-nocsum' },
  { name: 'csum', flag: 1, info: '+c', option: '--tun-csum' },
  { name: 'remcsum', flag: 2, info: 'r+c', option: '--tun-remcsum' },
];

/** A tunnel type by name, or undefined. */
export function tunnelTypeByName(name: string): TunnelTypeDef | undefined {
  return TUNNEL_TYPES.find((x) => x.name === name);
}

/** A checksum mode by name, or undefined. */
export function tunnelCsumByName(name: string): TunnelCsumDef | undefined {
  return TUNNEL_CSUMS.find((x) => x.name === name);
}

/** A checksum mode by its kernel flag bits (unknown bits read as nocsum). */
export function tunnelCsumOfFlag(flag: number): TunnelCsumDef {
  return TUNNEL_CSUMS.find((x) => x.flag === flag) ?? TUNNEL_CSUMS[0]!;
}
