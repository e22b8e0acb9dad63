/**
 * The values a control operation accepts: one set of rules, run by every entry point
 * (the Director's control API, tunvsd's socket through it, the JSON configuration and the
 * keepalived.conf conversion in tunvsd, `tunvsd --config-test`).
 *
 * The rules are the kernel's (ip_vs_ctl.c: what `ip_vs_add_service`, `ip_vs_add_dest`,
 * `ip_vs_new_dest`, `ip_vs_set_timeout` refuse, with the errno they refuse it with),
 * narrowed to what tunvs implements (IPv4, TCP/UDP, IPIP tunnels). Every check works on
 * `unknown` input (a request line is JSON from anyone): types are checked before values,
 * names are looked up in closed lists (never through an object's prototype), and unknown
 * fields are refused rather than ignored. Each check returns a fresh object holding only
 * the known fields.
 *
 * Failures throw `InvalidValue` (a ControlError) naming the field, with ipvsadm's wording
 * where ipvsadm has one ("illegal weight specified", "invalid fwmark value `X' specified").
 */
import { ControlError } from './control.js';
import type { ControlErrorCode, DefenseSettings, DestSpec, MethodName, ProtocolName, ServiceKey, ServiceSpec, Timeouts } from './control.js';
import { DEFAULT_METHOD, DEFAULT_SCHEDULER, METHODS, SERVICE_PROTOCOLS, methodByName, schedFlag, tunnelCsumByName, tunnelTypeByName } from './names.js';

/** Limits of the control API, as the kernel has them. */
export const Limits = {
  /** the C `int` maximum: weights, thresholds */
  INT_MAX: 0x7fffffff,
  /** fwmark: a u32, 0 means "not a fwmark service" */
  FWMARK_MAX: 0xffffffff,
  PORT_MAX: 65535,
  /** ipvsadm's own `-w` range (the control API takes up to INT_MAX) */
  CLI_WEIGHT_MAX: 65535,
  /** persistence timeout, seconds (ipvsadm's -p range; 31 days) */
  PERSISTENT_MAX: 2678400,
  /**
   * `--set` timeouts, seconds: the kernel refuses more than INT_MAX / HZ; tunvs keeps
   * timeouts in milliseconds, i.e. HZ = 1000.
   */
  TIMEOUT_MAX: Math.floor(0x7fffffff / 1000),
  /** scheduler names: IP_VS_SCHEDNAME_MAXLEN (16) with the NUL */
  SCHED_NAME_MAX: 15,
} as const;

/** A refused value: a ControlError that also names the field (`weight`, `schedFlags[1]`). */
export class InvalidValue extends ControlError {
  constructor(
    code: ControlErrorCode,
    message: string,
    op: string,
    readonly field: string,
  ) {
    super(code, message, op);
  }
}

function bad(op: string, field: string, message: string, code: ControlErrorCode = 'EINVAL'): never {
  throw new InvalidValue(code, message, op, field);
}

/** The forwarding methods a destination may have (model's METHODS without the internal bypass). */
export const METHOD_NAMES: readonly MethodName[] = METHODS.filter((m) => methodByName(m.name) !== undefined).map((m) => m.name as MethodName);

/** The `--set` timeout names. */
export const TIMEOUT_NAMES: readonly (keyof Timeouts)[] = ['tcp', 'tcpfin', 'udp'];


/** True for a method name (never true for "constructor", "__proto__", ...). */
export function isMethodName(v: unknown): v is MethodName {
  return typeof v === 'string' && methodByName(v) !== undefined;
}

/** `v` shown in a message: strings as they are, the rest as JSON (cut short). */
function show(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = typeof v;
    }
  }
  return s.length > 64 ? s.slice(0, 61) + '...' : s;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const DOTTED = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** The four octets of a strict dotted-quad IPv4 address, or null. */
export function ipv4Octets(s: unknown): [number, number, number, number] | null {
  if (typeof s !== 'string' || s.length > 15) return null;
  const m = DOTTED.exec(s);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : null;
}

/**
 * Whether an IPv4 address may be a real server, as `ip_vs_new_dest` requires
 * (`inet_addr_type` is RTN_UNICAST or RTN_LOCAL): not 0.0.0.0/8, not multicast
 * (224.0.0.0/4), not the limited broadcast 255.255.255.255.
 */
export function isUnicastIpv4(o: readonly number[]): boolean {
  const [a, b, c, d] = o as [number, number, number, number];
  if (a === 0) return false;
  if (a >= 224 && a <= 239) return false;
  if (a === 255 && b === 255 && c === 255 && d === 255) return false;
  return true;
}

/** An object's own fields, refusing non-objects and fields outside `known`. */
function fieldsOf(v: unknown, op: string, what: string, known: readonly string[], at = ''): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(op, at || what, `${what} must be an object, not ${show(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) bad(op, at ? `${at}.${k}` : k, `unknown field '${show(k)}' in ${what}`);
  }
  return o;
}

/** Own field value (never from the prototype). */
function own(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

/** `v`, or `dflt` when absent (null is a value, and refused where a number is wanted). */
function orDefault(v: unknown, dflt: number): unknown {
  return v === undefined ? dflt : v;
}

/** An integer in [min, max]; anything else is refused with `message`. */
function int(v: unknown, min: number, max: number): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : null;
}

/** A firewall mark: an integer 1..2^32-1. */
export function checkFwmark(v: unknown, op: string, field = 'fwmark'): number {
  const n = int(v, 1, Limits.FWMARK_MAX);
  if (n === null) bad(op, field, `invalid fwmark value \`${show(v)}' specified`);
  return n;
}

/** A port: an integer 0..65535. */
export function checkPort(v: unknown, op: string, field: string, message: string): number {
  const n = int(v, 0, Limits.PORT_MAX);
  if (n === null) bad(op, field, message);
  return n;
}

function checkAddr(v: unknown, op: string, field: string, message: string): string {
  if (typeof v === 'string' && v.includes(':')) bad(op, field, `IPv6 is not supported by tunvs ('${show(v)}')`, 'EAFNOSUPPORT');
  if (ipv4Octets(v) === null) bad(op, field, message);
  return v as string;
}

const KEY_FIELDS = ['fwmark', 'ipv6', 'protocol', 'addr', 'port'] as const;
const SPEC_FIELDS = [...KEY_FIELDS, 'scheduler', 'schedFlags', 'persistent', 'netmask', 'onePacket', 'pe'] as const;
const DEST_FIELDS = ['addr', 'port', 'method', 'weight', 'upper', 'lower', 'tunType', 'tunPort', 'tunFlags'] as const;

function keyPart(o: Record<string, unknown>, op: string): ServiceKey {
  const fwmark = own(o, 'fwmark');
  const ipv6 = own(o, 'ipv6');
  if (ipv6 !== undefined && typeof ipv6 !== 'boolean') bad(op, 'ipv6', `ipv6 must be true or false, not ${show(ipv6)}`);
  if (ipv6 === true) bad(op, 'ipv6', 'IPv6 is not supported by tunvs', 'EAFNOSUPPORT');
  if (fwmark !== undefined && fwmark !== 0) {
    const mark = checkFwmark(fwmark, op);
    for (const k of ['protocol', 'addr', 'port']) {
      if (own(o, k) !== undefined) bad(op, k, `a fwmark service has no ${k} (give fwmark, or protocol + addr + port)`);
    }
    return { fwmark: mark };
  }
  const protocol = own(o, 'protocol');
  if (!(typeof protocol === 'string' && (SERVICE_PROTOCOLS as readonly string[]).includes(protocol))) {
    bad(op, 'protocol', `protocol must be "tcp", "udp" or "sctp", not ${show(protocol)}`);
  }
  const addr = checkAddr(own(o, 'addr'), op, 'addr', 'illegal virtual server address[:port] specified');
  const port = checkPort(orDefault(own(o, 'port'), 0), op, 'port', 'illegal virtual server address[:port] specified');
  return { protocol: protocol as ProtocolName, addr, port };
}

/** A service key (`-D`, `-L -t`, the service of `-a`): fwmark, or protocol + addr + port. */
export function checkServiceKey(v: unknown, op: string): ServiceKey {
  // a full spec is a valid key: its other fields say nothing about which service
  return keyPart(fieldsOf(v, op, 'service', SPEC_FIELDS), op);
}

/**
 * A service to add or edit (`-A`/`-E`), defaults left absent: every rule, in the kernel's
 * order (for a whole configuration checked at once). The service table runs the same rules
 * split around its lookups: `parseServiceSpec`, then EEXIST/ESRCH, the scheduler, `checkPe`.
 */
export function checkServiceSpec(v: unknown, op: string): ServiceSpec {
  const spec = parseServiceSpec(v, op);
  checkPe(spec, op);
  return spec;
}

/**
 * What a malformed add/edit request is refused for before the kernel looks anything up
 * (netlink's attribute checks, ipvsadm's own checks): types, ranges of the fields, the
 * scheduler name's length (the name itself is looked up later: unknown is ENOENT, after
 * EEXIST). The persistence engine is left to `checkPe`.
 */
export function parseServiceSpec(v: unknown, op: string): ServiceSpec {
  const o = fieldsOf(v, op, 'service', SPEC_FIELDS);
  const spec: ServiceSpec = keyPart(o, op);
  const scheduler = own(o, 'scheduler');
  if (scheduler !== undefined) {
    // any string the kernel's NUL-terminated 16-byte field holds; `none` means no scheduler
    if (typeof scheduler !== 'string' || scheduler.length > Limits.SCHED_NAME_MAX || scheduler.includes('\0')) {
      bad(op, 'scheduler', `invalid scheduler name ${show(scheduler)}`);
    }
    spec.scheduler = scheduler;
  }
  const schedName = spec.scheduler ?? DEFAULT_SCHEDULER;
  const flags = own(o, 'schedFlags');
  if (flags !== undefined) {
    if (!Array.isArray(flags)) bad(op, 'schedFlags', `schedFlags must be a list, not ${show(flags)}`);
    const out: string[] = [];
    flags.forEach((f: unknown, i) => {
      const def = typeof f === 'string' ? schedFlag(f) : undefined;
      if (def === undefined) bad(op, `schedFlags[${i}]`, `invalid scheduler flag \`${show(f)}'`);
      if (def.scheduler !== null && def.scheduler !== schedName) bad(op, `schedFlags[${i}]`, `incompatible scheduler flag \`${def.name}'`);
      out.push(def.name);
    });
    spec.schedFlags = out;
  }
  const persistent = own(o, 'persistent');
  if (persistent !== undefined) {
    const p = int(persistent, 0, Limits.PERSISTENT_MAX);
    if (p === null) bad(op, 'persistent', `invalid timeout value \`${show(persistent)}' specified`);
    spec.persistent = p;
  }
  const netmask = own(o, 'netmask');
  if (netmask !== undefined) {
    if (ipv4Octets(netmask) === null) bad(op, 'netmask', 'illegal virtual server persistent mask specified');
    spec.netmask = netmask as string;
  }
  const onePacket = own(o, 'onePacket');
  if (onePacket !== undefined) {
    if (typeof onePacket !== 'boolean') bad(op, 'onePacket', `onePacket must be true or false, not ${show(onePacket)}`);
    spec.onePacket = onePacket;
  }
  const pe = own(o, 'pe');
  if (pe !== undefined && pe !== '') {
    if (typeof pe !== 'string' || pe.length > Limits.SCHED_NAME_MAX) bad(op, 'pe', `invalid persistence engine name ${show(pe)}`);
    spec.pe = pe;
  }
  if (spec.fwmark === undefined && spec.port === 0 && !spec.persistent) {
    bad(op, 'port', 'Zero port specified for non-persistent service');
  }
  return spec;
}

/**
 * The persistence engine, looked up after the scheduler as `ip_vs_add_service` does: tunvs
 * has none (the kernel's `sip` is refused as not implemented, anything else is ENOENT).
 */
export function checkPe(spec: ServiceSpec, op: string): void {
  const pe = spec.pe;
  if (pe === undefined || pe === '') return;
  if (pe === 'sip') bad(op, 'pe', 'the sip persistence engine is not implemented by tunvs', 'ENOPROTOOPT');
  bad(op, 'pe', `Persistence engine not found: ${show(pe)}`, 'ENOENT');
}

/** The address and port that name a destination (`-d`). */
export function checkDestKey(v: unknown, op: string): Pick<DestSpec, 'addr' | 'port'> {
  const o = fieldsOf(v, op, 'destination', DEST_FIELDS);
  const addr = checkAddr(own(o, 'addr'), op, 'addr', 'illegal real server address[:port] specified');
  const port = checkPort(orDefault(own(o, 'port'), 0), op, 'port', 'illegal real server address[:port] specified');
  return { addr, port };
}

/**
 * A destination to add or edit (`-a`/`-e`): every rule, in the kernel's order (for a whole
 * configuration checked at once). The service table runs the same rules split around its
 * lookups, as the kernel does: `parseDestSpec`; the service (ESRCH); `checkDestRange`; the
 * destination (EEXIST on add, ENOENT on edit); `checkDestUnicast` for a new one only.
 */
export function checkDestSpec(v: unknown, op: string): DestSpec {
  const d = parseDestSpec(v, op);
  checkDestRange(d, op);
  checkDestUnicast(d, op);
  return d;
}

/**
 * `ip_vs_add_dest`/`ip_vs_edit_dest`'s value rules, checked once the service is found: a
 * negative weight (or one past INT_MAX, which the kernel reads as negative) and a lower
 * threshold above the upper one (compared even when the upper one is 0) are ERANGE.
 */
export function checkDestRange(d: DestSpec, op: string): void {
  if (d.weight !== undefined && (d.weight < 0 || d.weight > Limits.INT_MAX)) bad(op, 'weight', 'illegal weight specified', 'ERANGE');
  if ((d.lower ?? 0) > (d.upper ?? 0)) bad(op, 'lower', 'lower threshold is higher than upper threshold', 'ERANGE');
}

/**
 * `ip_vs_new_dest`'s rule, checked only when a destination is created (not when one is
 * revived from the trash, nor on edit): a real server is a unicast or local address (EINVAL).
 */
export function checkDestUnicast(d: DestSpec, op: string): void {
  if (!isUnicastIpv4(ipv4Octets(d.addr)!)) bad(op, 'addr', `a real server must be a unicast address, not ${d.addr}`);
}

/**
 * What a malformed destination is refused for before any lookup (types, ipvsadm's own
 * checks, the tunnel options). The port is kept as given for every method: for direct
 * routing and tunnels the kernel stores it and lists it, and the packets keep their own port.
 */
export function parseDestSpec(v: unknown, op: string): DestSpec {
  const o = fieldsOf(v, op, 'destination', DEST_FIELDS);
  const addr = checkAddr(own(o, 'addr'), op, 'addr', 'illegal real server address[:port] specified');
  const port = checkPort(orDefault(own(o, 'port'), 0), op, 'port', 'illegal real server address[:port] specified');
  const d: DestSpec = { addr, port };
  const method = own(o, 'method');
  if (method !== undefined) {
    if (!isMethodName(method)) bad(op, 'method', `unknown forwarding method ${show(method)} (masq, route, tunnel or local)`);
    d.method = method;
  }
  const weight = own(o, 'weight');
  if (weight !== undefined) {
    if (typeof weight !== 'number' || !Number.isInteger(weight)) bad(op, 'weight', 'illegal weight specified');
    d.weight = weight;
  }
  const upper = own(o, 'upper');
  if (upper !== undefined) {
    const u = int(upper, 0, Limits.INT_MAX);
    if (u === null) bad(op, 'upper', 'illegal u_threshold specified');
    d.upper = u;
  }
  const lower = own(o, 'lower');
  if (lower !== undefined) {
    const l = int(lower, 0, Limits.INT_MAX);
    if (l === null) bad(op, 'lower', 'illegal l_threshold specified');
    d.lower = l;
  }
  const tunType = own(o, 'tunType');
  const tunPort = own(o, 'tunPort');
  const tunFlags = own(o, 'tunFlags');
  if (tunType !== undefined || tunPort !== undefined || tunFlags !== undefined) {
    if ((d.method ?? DEFAULT_METHOD) !== 'tunnel') bad(op, 'tunType', 'Tunnel options conflict with forward method');
    const def = tunnelTypeByName(tunType === undefined ? 'ipip' : typeof tunType === 'string' ? tunType : '');
    if (def === undefined) bad(op, 'tunType', 'illegal tunnel type specified');
    if (tunPort !== undefined) {
      const port = int(tunPort, 0, 65535);
      if (port === null) bad(op, 'tunPort', 'illegal tunnel port specified');
      if (!def.needsPort) bad(op, 'tunPort', `Illegal 'tun-port' option with the '${def.name}' tunnel type`);
      d.tunPort = port;
    }
    // the kernel refuses a GUE destination without a port (EINVAL)
    if (def.needsPort && (d.tunPort ?? 0) === 0) bad(op, 'tunPort', `You need to supply the 'tun-port' option for the '${def.name}' tunnel type`);
    if (tunFlags !== undefined) {
      const c = typeof tunFlags === 'string' ? tunnelCsumByName(tunFlags) : undefined;
      if (c === undefined) bad(op, 'tunFlags', 'illegal tunnel checksum option');
      if (!def.csums.includes(c.name)) bad(op, 'tunFlags', `Illegal 'tun-${c.name}' option with the '${def.name}' tunnel type`);
      d.tunFlags = c.name;
    }
    if (tunType !== undefined) d.tunType = def.name;
  }
  return d;
}

/** `--set tcp tcpfin udp`: integers 0..INT_MAX/HZ seconds, 0 keeps the current value. */
export function checkTimeouts(v: unknown, op: string): Partial<Timeouts> {
  const o = fieldsOf(v, op, 'timeouts', TIMEOUT_NAMES);
  const out: Partial<Timeouts> = {};
  for (const k of TIMEOUT_NAMES) {
    const x = own(o, k);
    if (x === undefined) continue;
    const n = int(x, 0, Limits.TIMEOUT_MAX);
    if (n === null) bad(op, k, `invalid timeout value \`${show(x)}' specified`);
    out[k] = n;
  }
  return out;
}

/** The defence settings' names (camelCase of the kernel's sysctls) with their sysctl names. */
export const DEFENSE_SYSCTLS: Readonly<Record<keyof DefenseSettings, string>> = {
  dropEntry: 'drop_entry',
  dropPacket: 'drop_packet',
  secureTcp: 'secure_tcp',
  amemthresh: 'amemthresh',
  amDroprate: 'am_droprate',
};

/** The defence settings' names. */
export const DEFENSE_NAMES: readonly (keyof DefenseSettings)[] = ['dropEntry', 'dropPacket', 'secureTcp', 'amemthresh', 'amDroprate'];

/** The kernel's defaults: every defence off, amemthresh 1024 pages, am_droprate 10. */
export const DEFENSE_DEFAULTS: Readonly<DefenseSettings> = { dropEntry: 0, dropPacket: 0, secureTcp: 0, amemthresh: 1024, amDroprate: 10 };

const DEFENSE_MODES: ReadonlySet<string> = new Set(['dropEntry', 'dropPacket', 'secureTcp']);

/**
 * Defence settings as the kernel's sysctl handlers take them: the three modes are integers
 * 0..3 (proc_do_defense_mode refuses the rest with EINVAL); amemthresh and am_droprate are
 * C ints (proc_dointvec; a negative amemthresh acts as 0). Absent fields stay unchanged.
 */
export function checkDefense(v: unknown, op: string): Partial<DefenseSettings> {
  const o = fieldsOf(v, op, 'defense settings', DEFENSE_NAMES);
  const out: Partial<DefenseSettings> = {};
  for (const k of DEFENSE_NAMES) {
    const x = own(o, k);
    if (x === undefined) continue;
    const n = DEFENSE_MODES.has(k) ? int(x, 0, 3) : int(x, -Limits.INT_MAX - 1, Limits.INT_MAX);
    if (n === null) {
      bad(op, k, DEFENSE_MODES.has(k) ? `invalid ${DEFENSE_SYSCTLS[k]} mode \`${show(x)}' (0 never, 1 automatic, 2 automatic and active, 3 always)` : `invalid ${DEFENSE_SYSCTLS[k]} value \`${show(x)}' (an integer)`);
    }
    out[k] = n;
  }
  return out;
}
