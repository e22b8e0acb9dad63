/**
 * ipvsadm 1.31's command line, parsed and validated the way ipvsadm does it (popt option
 * syntax, the command/option compatibility table, the same messages in the same order and
 * the same exit statuses). Pure: nothing here talks to the daemon.
 */
import { DEFAULT_SCHEDULER, SCHEDULER_NAMES, schedFlag, schedFlagNames } from '@tunvs/model';
import type { DestSpec, MethodName, ServiceKey, ServiceSpec, Timeouts, TunnelCsum, TunnelType } from '@tunvs/model';
import { atoi, inetAton, inetPton6, ntoa, ntop6, parseWholeInt, stringToNumber } from './addr.js';
import { nullResolver, type Resolver } from './names.js';

/** Scheduler names tunvs knows (an unknown one fails like the kernel's ENOENT): @tunvs/model's. */
export { SCHEDULER_NAMES as SCHEDULERS };

/** Persistence engines tunvs knows. */
export const PERSISTENCE_ENGINES = ['sip'] as const;

/** `--set` and `-p` upper bound: 31 days. */
export const MAX_TIMEOUT = 86400 * 31;

/** The version line of `-v` and the first line of `-h`. */
export const VERSION_LINE = 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)';

/** Listing format switches (`-n --stats --rate --thresholds --persistent-conn --tun-info --nosort --exact`). */
export interface FormatOptions {
  numeric: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  tunInfo: boolean;
  nosort: boolean;
  exact: boolean;
}

/** A fully validated command line. */
export type Command =
  | { cmd: 'help'; text: string }
  | { cmd: 'version'; text: string }
  | {
      cmd: 'list';
      target: 'all' | 'service' | 'connections' | 'timeout' | 'daemon';
      service?: ServiceKey;
      format: FormatOptions;
    }
  | { cmd: 'save'; format: FormatOptions }
  | { cmd: 'restore' }
  | { cmd: 'clear' }
  | { cmd: 'addService' | 'editService'; spec: ServiceSpec }
  | { cmd: 'deleteService'; key: ServiceKey }
  | { cmd: 'zero'; key?: ServiceKey }
  | { cmd: 'addDest' | 'editDest'; key: ServiceKey; dest: DestSpec }
  | { cmd: 'deleteDest'; key: ServiceKey; dest: Pick<DestSpec, 'addr' | 'port'> }
  | { cmd: 'setTimeouts'; timeouts: Timeouts }
  | { cmd: 'startDaemon'; role: 'master' | 'backup'; config: DaemonSpec }
  | { cmd: 'stopDaemon'; role: 'master' | 'backup' };

/** `--start-daemon` options; absent ones take the kernel's defaults in the daemon. */
export interface DaemonSpec {
  /** --mcast-interface (ipvsadm's default: eth0) */
  ifname: string;
  /** --syncid (default 0) */
  syncid: number;
  maxlen?: number;
  group?: string;
  port?: number;
  ttl?: number;
}

/**
 * A command line ipvsadm would refuse. `text` is exactly what it prints (with newline),
 * `exitCode` its status; `abort` = ipvsadm exits on the spot (so `-R` stops too), otherwise
 * the command just fails (`-R` goes on with the next line).
 */
export class UsageError {
  readonly kind = 'usage-error';
  constructor(
    readonly text: string,
    readonly exitCode: number,
    readonly abort: boolean = true,
  ) {}
}

/** Options for `parseArgs`. */
export interface ParseOptions {
  /** program name used in the help texts, default `tunvsadm` */
  program?: string;
  /** true while reading `-R` input (a nested `-R` is refused) */
  readingStdin?: boolean;
  /** host/port name lookups for `host[:port]` arguments (default: none, numeric only) */
  resolver?: Resolver;
}

// ---------------------------------------------------------------------------------------
// The option table (popt's view): long name, short letter, argument kind, tag.

type ArgKind = 'none' | 'required' | 'optional';
interface OptDef {
  long: string;
  short?: string;
  arg: ArgKind;
  tag: string;
}

/** tunvsadm's own long options (not ipvsadm's), each with a required value: `--socket PATH`, `--socket-timeout SECONDS` */
export const OWN_OPTIONS = ['socket', 'socket-timeout'] as const;

const OPTS: OptDef[] = [
  { long: 'add-service', short: 'A', arg: 'none', tag: 'A' },
  { long: 'edit-service', short: 'E', arg: 'none', tag: 'E' },
  { long: 'delete-service', short: 'D', arg: 'none', tag: 'D' },
  { long: 'clear', short: 'C', arg: 'none', tag: 'C' },
  { long: 'list', short: 'L', arg: 'none', tag: 'L' },
  { long: 'list', short: 'l', arg: 'none', tag: 'L' },
  { long: 'zero', short: 'Z', arg: 'none', tag: 'Z' },
  { long: 'add-server', short: 'a', arg: 'none', tag: 'a' },
  { long: 'edit-server', short: 'e', arg: 'none', tag: 'e' },
  { long: 'delete-server', short: 'd', arg: 'none', tag: 'd' },
  { long: 'set', arg: 'none', tag: 'set' },
  { long: 'help', short: 'h', arg: 'none', tag: 'h' },
  { long: 'version', short: 'v', arg: 'none', tag: 'v' },
  { long: 'restore', short: 'R', arg: 'none', tag: 'R' },
  { long: 'save', short: 'S', arg: 'none', tag: 'S' },
  { long: 'start-daemon', arg: 'required', tag: 'start-daemon' },
  { long: 'stop-daemon', arg: 'required', tag: 'stop-daemon' },
  { long: 'tcp-service', short: 't', arg: 'required', tag: 't' },
  { long: 'udp-service', short: 'u', arg: 'required', tag: 'u' },
  { long: 'sctp-service', arg: 'required', tag: 'sctp' },
  { long: 'fwmark-service', short: 'f', arg: 'required', tag: 'f' },
  { long: 'scheduler', short: 's', arg: 'required', tag: 's' },
  { long: 'persistent', short: 'p', arg: 'optional', tag: 'p' },
  { long: 'netmask', short: 'M', arg: 'required', tag: 'M' },
  { long: 'real-server', short: 'r', arg: 'required', tag: 'r' },
  { long: 'masquerading', short: 'm', arg: 'none', tag: 'm' },
  { long: 'ipip', short: 'i', arg: 'none', tag: 'i' },
  { long: 'gatewaying', short: 'g', arg: 'none', tag: 'g' },
  { long: 'weight', short: 'w', arg: 'required', tag: 'w' },
  { long: 'u-threshold', short: 'x', arg: 'required', tag: 'x' },
  { long: 'l-threshold', short: 'y', arg: 'required', tag: 'y' },
  { long: 'numeric', short: 'n', arg: 'none', tag: 'n' },
  { long: 'connection', short: 'c', arg: 'none', tag: 'c' },
  { long: 'mcast-interface', arg: 'required', tag: 'mcast-interface' },
  { long: 'syncid', arg: 'required', tag: 'syncid' },
  { long: 'timeout', arg: 'none', tag: 'timeout' },
  { long: 'daemon', arg: 'none', tag: 'daemon' },
  { long: 'stats', arg: 'none', tag: 'stats' },
  { long: 'rate', arg: 'none', tag: 'rate' },
  { long: 'thresholds', arg: 'none', tag: 'thresholds' },
  { long: 'persistent-conn', arg: 'none', tag: 'persistent-conn' },
  { long: 'nosort', arg: 'none', tag: 'nosort' },
  { long: 'sort', arg: 'none', tag: 'sort' },
  { long: 'exact', short: 'X', arg: 'none', tag: 'X' },
  { long: 'ipv6', short: '6', arg: 'none', tag: '6' },
  { long: 'ops', short: 'o', arg: 'none', tag: 'o' },
  { long: 'pe', arg: 'required', tag: 'pe' },
  { long: 'sched-flags', short: 'b', arg: 'required', tag: 'b' },
  { long: 'mcast-group', arg: 'required', tag: 'mcast-group' },
  { long: 'mcast-port', arg: 'required', tag: 'mcast-port' },
  { long: 'mcast-ttl', arg: 'required', tag: 'mcast-ttl' },
  { long: 'sync-maxlen', arg: 'required', tag: 'sync-maxlen' },
  { long: 'tun-info', arg: 'none', tag: 'tun-info' },
  { long: 'tun-type', arg: 'required', tag: 'tun-type' },
  { long: 'tun-port', arg: 'required', tag: 'tun-port' },
  { long: 'tun-nocsum', arg: 'none', tag: 'tun-nocsum' },
  { long: 'tun-csum', arg: 'none', tag: 'tun-csum' },
  { long: 'tun-remcsum', arg: 'none', tag: 'tun-remcsum' },
];

type Tok =
  | { t: 'opt'; tag: string; arg: string | null; item: string }
  | { t: 'err'; item: string; msg: string };

/** popt-style scanner: yields options in order, collects positional arguments in `rest`. */
function* scan(argv: readonly string[], rest: string[]): Generator<Tok> {
  let i = 0;
  while (i < argv.length) {
    const item = argv[i++]!;
    if (item === '--') {
      rest.push(...argv.slice(i));
      return;
    }
    if (item.startsWith('--')) {
      const eq = item.indexOf('=');
      const name = eq >= 0 ? item.slice(2, eq) : item.slice(2);
      const def = OPTS.find((o) => o.long === name);
      if (!def) {
        // tunvsadm's own options reach here only without their value (extractOwnOptions takes them)
        yield { t: 'err', item, msg: (OWN_OPTIONS as readonly string[]).includes(name) && eq < 0 ? 'missing argument' : 'unknown option' };
        continue;
      }
      let arg: string | null = null;
      if (def.arg === 'none') {
        if (eq >= 0) {
          yield { t: 'err', item, msg: 'option does not take an argument' };
          continue;
        }
      } else if (eq >= 0) arg = item.slice(eq + 1);
      else if (def.arg === 'required') {
        if (i >= argv.length) {
          yield { t: 'err', item, msg: 'missing argument' };
          continue;
        }
        arg = argv[i++]!;
      } else if (i < argv.length && !argv[i]!.startsWith('-')) arg = argv[i++]!;
      yield { t: 'opt', tag: def.tag, arg, item };
      continue;
    }
    if (item.startsWith('-') && item.length > 1) {
      for (let k = 1; k < item.length; k++) {
        const def = OPTS.find((o) => o.short === item[k]);
        if (!def) {
          yield { t: 'err', item, msg: 'unknown option' };
          break;
        }
        if (def.arg === 'none') {
          yield { t: 'opt', tag: def.tag, arg: null, item };
          continue;
        }
        let arg: string | null = null;
        if (k + 1 < item.length) arg = item.slice(k + 1);
        else if (def.arg === 'required') {
          if (i >= argv.length) {
            yield { t: 'err', item, msg: 'missing argument' };
            break;
          }
          arg = argv[i++]!;
        } else if (i < argv.length && !argv[i]!.startsWith('-')) arg = argv[i++]!;
        yield { t: 'opt', tag: def.tag, arg, item };
        break;
      }
      continue;
    }
    rest.push(item);
  }
}

// ---------------------------------------------------------------------------------------
// ipvsadm's command/option table.

const OPTNAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server',
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon',
  'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe',
  'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type',
  'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum',
] as const;
const O = Object.fromEntries(OPTNAMES.map((n, i) => [n, i])) as Record<(typeof OPTNAMES)[number], number>;

const CMDNAMES = [
  'add-service', 'edit-service', 'delete-service', 'flush', 'list', 'add-server', 'delete-server',
  'edit-server', 'set', 'start-daemon', 'stop-daemon', 'restore', 'save', 'zero',
] as const;
const C = {
  ADD: 0, EDIT: 1, DEL: 2, FLUSH: 3, LIST: 4, ADDDEST: 5, DELDEST: 6, EDITDEST: 7, TIMEOUT: 8,
  STARTD: 9, STOPD: 10, RESTORE: 11, SAVE: 12, ZERO: 13,
} as const;

// '+' required, 'x' illegal, '1' at most one of them, '.' optional; columns in OPTNAMES order.
const X34 = 'x'.repeat(34);
const TABLE: readonly string[] = [
  'xx+...' + 'x'.repeat(15) + '...' + 'x'.repeat(10), // add-service
  'xx+...' + 'x'.repeat(15) + '...' + 'x'.repeat(10), // edit-service
  'xx+' + 'x'.repeat(31), // delete-service
  X34, // flush
  '.11' + 'x'.repeat(9) + '11' + '.......' + 'xxx' + 'xxxx' + '.' + 'xxxxx', // list
  'xx+xxx+....' + 'x'.repeat(18) + '.....', // add-server
  'xx+xxx+' + 'x'.repeat(27), // delete-server
  'xx+xxx+....' + 'x'.repeat(18) + '.....', // edit-server
  X34, // set
  'x'.repeat(11) + '.' + 'x'.repeat(7) + '.' + 'xxxx' + '....' + 'x'.repeat(6), // start-daemon
  'x'.repeat(19) + '.' + 'x'.repeat(14), // stop-daemon
  X34, // restore
  '.' + 'x'.repeat(33), // save
  'xx.' + 'x'.repeat(31), // zero
];

const TUN_NAMES = ['ipip', 'gue', 'gre'] as const;
const TUN_OPTS = [O['tun-port'], O['tun-nocsum'], O['tun-csum'], O['tun-remcsum']];
const TUN_TABLE = ['xxxx', '+111', 'x11x'];


const AF_INET = 2;
const AF_INET6 = 10;
const P_TCP = 6;
const P_UDP = 17;
const P_SCTP = 132;

/** Internal: the failure that stops parsing. */
class Fail {
  constructor(
    readonly err: UsageError,
  ) {}
}

const fail = (msg: string, code = 2): never => {
  throw new Fail(new UsageError(msg + '\n', code, true));
};

interface SvcState {
  af: number;
  protocol: number;
  addr: number[]; // [v4] or 8 IPv6 words
  port: number;
  fwmark: number;
  sched: string;
  flags: number;
  persistent: boolean;
  timeout: number;
  netmask: number; // IPv4 uint32, or IPv6 prefix
  ops: boolean;
  pe: string;
}

/** 1 = address, 2 = port, 0 = failed (ipvsadm's parse_service result bits). */
function parseService(buf: string, svc: SvcState, resolver: Resolver): number {
  if (/^\d*$/.test(buf)) return 0;
  let s = buf;
  let portStr: string | null = null;
  let bracket = false;
  if (s[0] === '[') {
    const close = s.indexOf(']');
    if (close < 0) return 0;
    if (s[close + 1] !== ':') return 0;
    portStr = s.slice(close + 2);
    s = s.slice(1, close);
    bracket = true;
  }
  const w6 = inetPton6(s);
  if (w6) {
    svc.addr = w6;
    svc.af = AF_INET6;
    svc.netmask = 128;
  } else {
    if (bracket) portStr = null;
    const colon = s.lastIndexOf(':');
    if (colon >= 0) {
      portStr = s.slice(colon + 1);
      s = s.slice(0, colon);
      // in the bracket form the port was already cut; a ':' inside the brackets is this one
    }
    const v4 = inetAton(s);
    if (v4 !== null) {
      svc.addr = [v4];
      svc.af = AF_INET;
    } else {
      const h = resolver.addrByHost(s);
      const hv = h === null ? null : inetAton(h);
      if (hv === null) return 0;
      svc.addr = [hv];
      svc.af = AF_INET;
    }
  }
  let result = 1;
  if (portStr !== null) {
    result |= 2;
    const n = stringToNumber(portStr, 0, 65535);
    if (n !== -1) svc.port = n;
    else {
      const proto = svc.protocol === P_TCP ? 'tcp' : svc.protocol === P_UDP ? 'udp' : svc.protocol === P_SCTP ? 'sctp' : '';
      const p = proto ? resolver.portByName(portStr, proto) : null;
      if (p === null) return 0;
      svc.port = p;
    }
  }
  return result;
}

/** `-b` flags, checked in ipvsadm's order and words; the SvcFlag bits of @tunvs/model. */
function parseSchedFlags(sched: string, arg: string): number {
  const name = sched || DEFAULT_SCHEDULER;
  let flags = 0;
  const list = arg.split(',').filter((f) => f !== '');
  if (list.length === 0) fail("invalid scheduler flag `'");
  for (const flag of list) {
    const def = schedFlag(flag);
    if (def === undefined) {
      fail(`invalid scheduler flag \`${flag}'`);
      continue;
    }
    flags |= def.bit;
    if (def.scheduler !== null && def.scheduler !== name) fail(`incompatible scheduler flag \`${flag}'`);
  }
  return flags;
}

export { schedFlagNames, schedFlagBits } from '@tunvs/model';

function tryHelp(program: string): UsageError {
  return new UsageError(`Try \`${program} -h' or '${program} --help' for more information.\n`, 255, true);
}

/** ipvsadm's `-h` text for a program name. */
export function usageText(program: string): string {
  const p = program;
  return [
    VERSION_LINE,
    'Usage:',
    `  ${p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]`,
    `  ${p} -D virtual-service`,
    `  ${p} -C`,
    `  ${p} -R`,
    `  ${p} -S [-n]`,
    `  ${p} -a|e virtual-service -r server-address [options]`,
    `  ${p} -d virtual-service -r server-address`,
    `  ${p} -L|l [virtual-service] [options]`,
    `  ${p} -Z [virtual-service]`,
    `  ${p} --set tcp tcpfin udp`,
    `  ${p} --start-daemon {master|backup} [daemon-options]`,
    `  ${p} --stop-daemon {master|backup}`,
    `  ${p} -h`,
    '',
    'Commands:',
    'Either long or short options are allowed.',
    '  --add-service     -A        add virtual service with options',
    '  --edit-service    -E        edit virtual service with options',
    '  --delete-service  -D        delete virtual service',
    '  --clear           -C        clear the whole table',
    '  --restore         -R        restore rules from stdin',
    '  --save            -S        save rules to stdout',
    '  --add-server      -a        add real server with options',
    '  --edit-server     -e        edit real server with options',
    '  --delete-server   -d        delete real server',
    '  --list            -L|-l     list the table',
    '  --zero            -Z        zero counters in a service or all services',
    '  --set tcp tcpfin udp        set connection timeout values',
    '  --start-daemon              start connection sync daemon',
    '  --stop-daemon               stop connection sync daemon',
    '  --help            -h        display this help message',
    '',
    'virtual-service:',
    '  --tcp-service|-t  service-address   service-address is host[:port]',
    '  --udp-service|-u  service-address   service-address is host[:port]',
    '  --sctp-service    service-address   service-address is host[:port]',
    '  --fwmark-service|-f fwmark          fwmark is an integer greater than zero',
    '',
    'Options:',
    '  --ipv6         -6                   fwmark entry uses IPv6',
    '  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,',
    '                                      the default scheduler is wlc.',
    '  --pe            engine              alternate persistence engine may be sip,',
    '                                      not set by default.',
    '  --persistent   -p [timeout]         persistent service',
    '  --netmask      -M netmask           persistent granularity mask',
    '  --real-server  -r server-address    server-address is host (and port)',
    '  --gatewaying   -g                   gatewaying (direct routing) (default)',
    '  --ipip         -i                   ipip encapsulation (tunneling)',
    '  --masquerading -m                   masquerading (NAT)',
    '  --tun-type      type                one of ipip|gue|gre,',
    '                                      the default tunnel type is ipip.',
    '  --tun-port      port                tunnel destination port',
    '  --tun-nocsum                        tunnel encapsulation without checksum',
    '  --tun-csum                          tunnel encapsulation with checksum',
    '  --tun-remcsum                       tunnel encapsulation with remote checksum',
    '  --weight       -w weight            capacity of real server',
    '  --u-threshold  -x uthreshold        upper threshold of connections',
    '  --l-threshold  -y lthreshold        lower threshold of connections',
    '  --connection   -c                   output of current IPVS connections',
    '  --timeout                           output of timeout (tcp tcpfin udp)',
    '  --daemon                            output of daemon information',
    '  --stats                             output of statistics information',
    '  --rate                              output of rate information',
    '  --exact                             expand numbers (display exact values)',
    '  --thresholds                        output of thresholds information',
    '  --persistent-conn                   output of persistent connection info',
    '  --tun-info                          output of tunnel information',
    '  --nosort                            disable sorting output of service/server entries',
    '  --sort                              does nothing, for backwards compatibility',
    '  --ops          -o                   one-packet scheduling',
    '  --numeric      -n                   numeric output of addresses and ports',
    '  --sched-flags  -b flags             scheduler flags (comma-separated)',
    'Daemon Options:',
    '  --syncid sid                        syncid for connection sync (default=255)',
    '  --sync-maxlen length                Max sync message length (default=1472)',
    '  --mcast-interface interface         multicast interface for connection sync',
    '  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)',
    '  --mcast-port port                   UDP port (default=8848)',
    '  --mcast-ttl ttl                     Multicast TTL (default=1)',
    '',
  ].join('\n');
}

const emptyFormat = (): FormatOptions => ({
  numeric: false,
  stats: false,
  rate: false,
  thresholds: false,
  persistentConn: false,
  tunInfo: false,
  nosort: false,
  exact: false,
});

/**
 * Parse one ipvsadm command line (`argv` without the program name). Returns the command,
 * or the `UsageError` ipvsadm would print. No arguments at all means `-L` (names resolved).
 */
export function parseArgs(argv: readonly string[], opts: ParseOptions = {}): Command | UsageError {
  try {
    return parseInner(argv, opts);
  } catch (e) {
    if (e instanceof Fail) return e.err;
    throw e;
  }
}

function parseInner(argv: readonly string[], opts: ParseOptions): Command | UsageError {
  const program = opts.program ?? 'tunvsadm';
  const resolver = opts.resolver ?? nullResolver;
  if (argv.length === 0) return { cmd: 'list', target: 'all', format: emptyFormat() };

  const rest: string[] = [];
  const it = scan(argv, rest);
  const first = it.next();
  if (first.done || first.value.t === 'err') return tryHelp(program);
  const cmdTok = first.value;
  let cmd: number;
  let daemonArg: string | null = null;
  switch (cmdTok.tag) {
    case 'A': cmd = C.ADD; break;
    case 'E': cmd = C.EDIT; break;
    case 'D': cmd = C.DEL; break;
    case 'a': cmd = C.ADDDEST; break;
    case 'e': cmd = C.EDITDEST; break;
    case 'd': cmd = C.DELDEST; break;
    case 'C': cmd = C.FLUSH; break;
    case 'L': cmd = C.LIST; break;
    case 'Z': cmd = C.ZERO; break;
    case 'set': cmd = C.TIMEOUT; break;
    case 'R': cmd = C.RESTORE; break;
    case 'S': cmd = C.SAVE; break;
    case 'start-daemon':
    case 'stop-daemon':
      cmd = cmdTok.tag === 'start-daemon' ? C.STARTD : C.STOPD;
      daemonArg = cmdTok.arg;
      if (daemonArg !== 'master' && daemonArg !== 'backup')
        fail(cmd === C.STARTD ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
      break;
    case 'h':
      return { cmd: 'help', text: usageText(program) };
    case 'v':
      return { cmd: 'version', text: VERSION_LINE + '\n' };
    default:
      return tryHelp(program);
  }

  let options = 0n;
  const setOption = (j: number): void => {
    const bit = 1n << BigInt(j);
    if (options & bit) fail(`multiple '${OPTNAMES[j]}' options specified`);
    options |= bit;
  };
  const has = (j: number): boolean => (options & (1n << BigInt(j))) !== 0n;

  const svc: SvcState = {
    af: 0, protocol: 0, addr: [0], port: 0, fwmark: 0, sched: '', flags: 0, persistent: false,
    timeout: 0, netmask: 0xffffffff, ops: false, pe: '',
  };
  const dest = {
    af: 0, addr: [0] as number[], port: 0, method: 'route' as MethodName, weight: 1, upper: 0, lower: 0,
    tunType: 0, tunPort: 0, tunFlags: 0,
  };
  const format = emptyFormat();
  let schedFlagsArg = '';
  const daemon: DaemonSpec = { ifname: 'eth0', syncid: 0 };

  for (let n = it.next(); !n.done; n = it.next()) {
    const tok = n.value;
    if (tok.t === 'err') {
      // popt error after the command: printed, and the command fails with -1 (255)
      return new UsageError(`${tok.item}: ${tok.msg}\n`, 255, false);
    }
    const arg = tok.arg ?? '';
    switch (tok.tag) {
      case 't':
      case 'u':
      case 'sctp': {
        setOption(O['service-address']);
        svc.protocol = tok.tag === 't' ? P_TCP : tok.tag === 'u' ? P_UDP : P_SCTP;
        if (!(parseService(arg, svc, resolver) & 1)) fail('illegal virtual server address[:port] specified');
        break;
      }
      case 'f': {
        setOption(O['service-address']);
        svc.af = AF_INET;
        svc.protocol = P_TCP;
        let v = parseWholeInt(arg);
        // -S writes marks of 2^31 and more as ipvsadm does, signed (`-f -1`); ipvsadm's own
        // -R refuses that form, tunvsadm's -R reads it back (the command line stays ipvsadm's)
        if (opts.readingStdin && v !== null && v < 0 && v >= -0x80000000) v += 0x100000000;
        if (v === null || v <= 0 || v > 0xffffffff) fail(`invalid fwmark value \`${arg}' specified`);
        svc.fwmark = v!;
        break;
      }
      case 's':
        setOption(O.scheduler);
        svc.sched = arg.slice(0, 15);
        break;
      case 'p':
        setOption(O.persistent);
        svc.persistent = true;
        svc.timeout = tok.arg === null ? 360 : parseTimeout(tok.arg, 1);
        break;
      case 'M':
        setOption(O.netmask);
        if (svc.af !== AF_INET6) {
          let m = inetAton(arg);
          if (m === null) {
            const h = resolver.addrByHost(arg);
            m = h === null ? null : inetAton(h);
          }
          if (m === null) fail('illegal virtual server persistent mask specified');
          svc.netmask = m!;
        } else {
          svc.netmask = atoi(arg);
          if (svc.netmask < 1 || svc.netmask > 128) fail('illegal ipv6 netmask specified');
        }
        break;
      case 'r': {
        setOption(O['real-server']);
        const t: SvcState = { ...svc };
        const parse = parseService(arg, t, resolver);
        dest.af = t.af;
        dest.addr = t.addr;
        dest.port = t.port;
        if (!(parse & 1)) fail('illegal real server address[:port] specified');
        if (parse === 1) dest.port = svc.port;
        break;
      }
      case 'i':
      case 'g':
      case 'm':
        setOption(O['forwarding-method']);
        dest.method = tok.tag === 'i' ? 'tunnel' : tok.tag === 'g' ? 'route' : 'masq';
        break;
      case 'w':
        setOption(O.weight);
        if ((dest.weight = stringToNumber(arg, 0, 65535)) === -1) fail('illegal weight specified');
        break;
      case 'x':
        setOption(O['u-threshold']);
        if ((dest.upper = stringToNumber(arg, 0, 2147483647)) === -1) fail('illegal u_threshold specified');
        break;
      case 'y':
        setOption(O['l-threshold']);
        if ((dest.lower = stringToNumber(arg, 0, 2147483647)) === -1) fail('illegal l_threshold specified');
        break;
      case 'c':
        setOption(O.connection);
        break;
      case 'n':
        setOption(O.numeric);
        format.numeric = true;
        break;
      case 'mcast-interface':
        setOption(O['mcast-interface']);
        // ipvsadm copies at most IP_VS_IFNAME_MAXLEN (16) bytes; the daemon checks the name
        daemon.ifname = arg.slice(0, 16);
        break;
      case 'syncid':
        setOption(O.syncid);
        daemon.syncid = stringToNumber(arg, 0, 255);
        if (daemon.syncid === -1) fail('illegal syncid specified');
        break;
      case 'timeout':
        setOption(O.timeout);
        break;
      case 'daemon':
        setOption(O.daemon);
        break;
      case 'stats':
        setOption(O.stats);
        format.stats = true;
        break;
      case 'rate':
        setOption(O.rate);
        format.rate = true;
        break;
      case 'thresholds':
        setOption(O.thresholds);
        format.thresholds = true;
        break;
      case 'persistent-conn':
        setOption(O['persistent-conn']);
        format.persistentConn = true;
        break;
      case 'nosort':
        setOption(O.nosort);
        format.nosort = true;
        break;
      case 'sort':
        break;
      case 'X':
        setOption(O.exact);
        format.exact = true;
        break;
      case '6':
        if (svc.fwmark) {
          svc.af = AF_INET6;
          svc.netmask = 128;
        } else fail('-6 used before -f\n');
        break;
      case 'o':
        setOption(O.ops);
        svc.ops = true;
        break;
      case 'pe':
        setOption(O.pe);
        svc.pe = arg.slice(0, 16);
        break;
      case 'b':
        setOption(O['sched-flags']);
        schedFlagsArg = arg.slice(0, 127);
        break;
      case 'mcast-group': {
        setOption(O['mcast-group']);
        if (arg.includes(':')) {
          const w = inetPton6(arg);
          if (!w || (w[0]! & 0xff00) !== 0xff00) fail(`invalid IPv6 mcast-group \`${arg}'`);
        } else {
          const v = /^\d+\.\d+\.\d+\.\d+$/.test(arg) ? inetAton(arg) : null;
          if (v === null || v >>> 28 !== 0xe) fail(`invalid IPv4 mcast-group \`${arg}'`);
        }
        daemon.group = arg;
        break;
      }
      case 'mcast-port':
        setOption(O['mcast-port']);
        daemon.port = stringToNumber(arg, 1, 65535);
        if (daemon.port === -1) fail('illegal mcast-port specified');
        break;
      case 'mcast-ttl':
        setOption(O['mcast-ttl']);
        daemon.ttl = stringToNumber(arg, 1, 255);
        if (daemon.ttl === -1) fail('illegal mcast-ttl specified');
        break;
      case 'sync-maxlen':
        setOption(O['sync-maxlen']);
        daemon.maxlen = stringToNumber(arg, 1, 65535 - 20 - 8);
        if (daemon.maxlen === -1) fail('illegal sync-maxlen specified');
        break;
      case 'tun-info':
        setOption(O['tun-info']);
        format.tunInfo = true;
        break;
      case 'tun-type': {
        setOption(O['tun-type']);
        const k = (TUN_NAMES as readonly string[]).indexOf(arg);
        if (k < 0) fail('illegal tunnel type specified');
        dest.tunType = k;
        break;
      }
      case 'tun-port': {
        setOption(O['tun-port']);
        const v = stringToNumber(arg, 1, 65535);
        if (v === -1) fail('illegal tunnel port specified');
        dest.tunPort = v;
        break;
      }
      case 'tun-nocsum':
        setOption(O['tun-nocsum']);
        break;
      case 'tun-csum':
        setOption(O['tun-csum']);
        dest.tunFlags |= 1;
        break;
      case 'tun-remcsum':
        setOption(O['tun-remcsum']);
        dest.tunFlags |= 2;
        break;
      default:
        // a second command (or -h/-v) after the first
        fail(`invalid option \`${tok.item}'`);
    }
  }

  const timeouts: Timeouts = { tcp: 0, tcpfin: 0, udp: 0 };
  if (cmd === C.TIMEOUT) {
    if (rest.length >= 3) {
      timeouts.tcp = parseTimeout(rest.shift()!, 0);
      timeouts.tcpfin = parseTimeout(rest.shift()!, 0);
      timeouts.udp = parseTimeout(rest.shift()!, 0);
    } else fail('--set option requires 3 timeout values');
  }
  if (rest.length > 0) fail(`unexpected argument ${rest[0]}`);

  if (schedFlagsArg) svc.flags = parseSchedFlags(svc.sched, schedFlagsArg);

  // generic_opt_check
  const row = TABLE[cmd]!;
  let count = 0;
  let last = 0;
  for (let j = 0; j < OPTNAMES.length; j++) {
    const rule = row[j];
    if (!has(j)) {
      if (rule === '+') fail(`You need to supply the '${OPTNAMES[j]}' option for the '${CMDNAMES[cmd]}' command`);
    } else {
      if (rule === 'x') fail(`Illegal '${OPTNAMES[j]}' option with the '${CMDNAMES[cmd]}' command`);
      if (rule === '1') {
        count++;
        if (count === 1) {
          last = j;
          continue;
        }
        fail(`The option '${OPTNAMES[j]}' conflicts with the '${OPTNAMES[last]}' option in the '${CMDNAMES[cmd]}' command`);
      }
    }
  }

  if (cmd === C.ADD || cmd === C.EDIT) {
    if (!svc.fwmark && !svc.port && !svc.persistent) fail('Zero port specified for non-persistent service');
    if (svc.ops && !svc.fwmark && svc.protocol !== P_UDP) fail('One-Packet Scheduling is only for UDP virtual services');
    if (svc.sched === '') svc.sched = 'wlc';
  }

  if (cmd === C.ADDDEST || cmd === C.EDITDEST) {
    if (!svc.fwmark && (dest.method === 'tunnel' || dest.method === 'route')) dest.port = svc.port;
    if (dest.af !== svc.af && dest.method !== 'tunnel') fail('Different address family is allowed only for tunneling servers');
    const tunOpt = [O['tun-type'], O['tun-port'], O['tun-nocsum'], O['tun-csum'], O['tun-remcsum']].some(has);
    if (tunOpt && dest.method !== 'tunnel') fail('Tunnel options conflict with forward method');
    const trow = TUN_TABLE[dest.tunType]!;
    let tcount = 0;
    let tlast = 0;
    for (let j = 0; j < TUN_OPTS.length; j++) {
      const k = TUN_OPTS[j]!;
      if (!has(k)) {
        if (trow[j] === '+') fail(`You need to supply the '${OPTNAMES[k]}' option for the '${TUN_NAMES[dest.tunType]}' tunnel type`);
      } else {
        if (trow[j] === 'x') fail(`Illegal '${OPTNAMES[k]}' option with the '${TUN_NAMES[dest.tunType]}' tunnel type`);
        if (trow[j] === '1') {
          tcount++;
          if (tcount === 1) {
            tlast = k;
            continue;
          }
          fail(`The option '${OPTNAMES[k]}' conflicts with the '${OPTNAMES[tlast]}' option in the '${TUN_NAMES[dest.tunType]}' tunnel type`);
        }
      }
    }
  }

  const key = (): ServiceKey => {
    if (svc.fwmark) return svc.af === AF_INET6 ? { fwmark: svc.fwmark, ipv6: true } : { fwmark: svc.fwmark };
    return {
      protocol: svc.protocol === P_UDP ? 'udp' : svc.protocol === P_SCTP ? 'sctp' : 'tcp',
      addr: svc.af === AF_INET6 ? ntop6(svc.addr) : ntoa(svc.addr[0]!),
      port: svc.port,
    };
  };
  const destAddr = (): string => (dest.af === AF_INET6 ? ntop6(dest.addr) : ntoa(dest.addr[0]!));

  switch (cmd) {
    case C.LIST: {
      if (
        ((has(O.connection) || has(O.timeout) || has(O.daemon)) && (format.stats || format.rate || format.thresholds)) ||
        ((has(O.timeout) || has(O.daemon)) && format.persistentConn)
      )
        fail('options conflicts in the list command');
      if (has(O.connection)) return { cmd: 'list', target: 'connections', format };
      if (has(O['service-address'])) return { cmd: 'list', target: 'service', service: key(), format };
      if (has(O.timeout)) return { cmd: 'list', target: 'timeout', format };
      if (has(O.daemon)) return { cmd: 'list', target: 'daemon', format };
      return { cmd: 'list', target: 'all', format };
    }
    case C.RESTORE:
      if (opts.readingStdin) return tryHelp(program);
      return { cmd: 'restore' };
    case C.SAVE:
      return { cmd: 'save', format };
    case C.FLUSH:
      return { cmd: 'clear' };
    case C.ADD:
    case C.EDIT: {
      // the scheduler and the engine are the daemon's to look up, after the service itself
      // (the kernel answers EEXIST/ESRCH before ENOENT)
      const spec: ServiceSpec = {
        ...key(),
        scheduler: svc.sched,
        schedFlags: schedFlagNames(svc.sched, svc.flags),
        persistent: svc.persistent ? svc.timeout : 0,
        netmask: svc.af === AF_INET6 ? String(svc.netmask) : ntoa(svc.netmask),
        onePacket: svc.ops,
      };
      if (svc.pe) spec.pe = svc.pe;
      return { cmd: cmd === C.ADD ? 'addService' : 'editService', spec };
    }
    case C.DEL:
      return { cmd: 'deleteService', key: key() };
    case C.ZERO:
      return has(O['service-address']) ? { cmd: 'zero', key: key() } : { cmd: 'zero' };
    case C.ADDDEST:
    case C.EDITDEST: {
      const d: DestSpec = {
        addr: destAddr(),
        port: dest.port,
        method: dest.method,
        weight: dest.weight,
        upper: dest.upper,
        lower: dest.lower,
      };
      if (dest.method === 'tunnel') {
        d.tunType = TUN_NAMES[dest.tunType] as TunnelType;
        if (dest.tunType === 1) d.tunPort = dest.tunPort;
        if (dest.tunType !== 0) d.tunFlags = (['nocsum', 'csum', 'remcsum'] as const)[dest.tunFlags] as TunnelCsum;
      }
      return { cmd: cmd === C.ADDDEST ? 'addDest' : 'editDest', key: key(), dest: d };
    }
    case C.DELDEST:
      return { cmd: 'deleteDest', key: key(), dest: { addr: destAddr(), port: dest.port } };
    case C.TIMEOUT:
      return { cmd: 'setTimeouts', timeouts };
    case C.STARTD:
      return { cmd: 'startDaemon', role: daemonArg as 'master' | 'backup', config: daemon };
    default:
      return { cmd: 'stopDaemon', role: daemonArg as 'master' | 'backup' };
  }
}

function parseTimeout(s: string, min: number): number {
  const v = stringToNumber(s, min, MAX_TIMEOUT);
  if (v === -1) fail(`invalid timeout value \`${s}' specified`);
  return v;
}
