/**
 * tunvsd's configuration: the device, the addresses the director owns, and the rules to
 * keep (services and destinations, timeouts, firewall-mark rules), whatever form the file
 * is written in (JSON here; tunvsd.conf and keepalived.conf in sources.ts).
 *
 * `validateDaemonConfig` is the one check every form goes through: it takes the raw value
 * (`unknown`), refuses unknown keys, wrong types and out-of-range values with the path of
 * the value (mapped to file:line by the caller), checks every service and destination with
 * the control API's own rules (@tunvs/model's checkServiceSpec/checkDestSpec, the
 * scheduler registry), and refuses duplicates. What it accepts, the daemon applies whole.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { checkDefense, checkDestSpec, checkFwmark, checkServiceSpec, checkTimeouts, ipv4Octets, InvalidValue, Limits } from '@tunvs/model';
import type { DefenseSettings, DestSpec, ServiceSpec, Timeouts } from '@tunvs/model';
import { parseCidr, parseIpv4, parseMac } from '@tunvs/packet';
import { schedulerNames } from '@tunvs/schedulers';
import { methodRefusal } from '@tunvs/engine';
import type { MarkRule } from '@tunvs/engine';
import { parseHttpConfig } from '@tunvs/console/config';
import { validateXdpOptions } from '@tunvs/xdp';
import { formatCpuList, MAX_CPUS, parseCpuList, threadCpus } from '@tunvs/hostnet';
import type { HttpConfig } from '@tunvs/console/config';
import { checkSyncSysctls } from '@tunvs/sync/sysctls';
import type { SyncSysctls } from '@tunvs/sync/sysctls';
import { childPath, parseJsonLines, JsonSyntaxError } from './json-lines.js';
import { isPluginPath, pluginPathProblem } from './plugins.js';

/** How tunvsd reaches the wire. */
export type DeviceKind = 'tun' | 'tap' | 'xdp' | 'packet';
export const DEVICE_KINDS: readonly DeviceKind[] = ['tun', 'tap', 'xdp', 'packet'];

export interface DeviceConfig {
  /** interface name, default tunvs0 */
  name: string;
  /**
   * 'tun' (layer 3: NAT, IPIP) or 'tap' (layer 2: NAT, IPIP, DR), both devices tunvsd
   * creates; or a kernel-bypass link on an existing Ethernet interface `name` (layer 2, the
   * director owns `addresses` with the interface's MAC): 'xdp' (AF_XDP) or 'packet'
   * (AF_PACKET), see @tunvs/xdp
   */
  kind: DeviceKind;
  /** number of queues (IFF_MULTI_QUEUE when > 1), default 1 */
  queues: number;
  /**
   * prefix packets with a virtio_net_hdr and enable offloads (GSO). TUN/TAP: IFF_VNET_HDR,
   * default false; kind "packet": PACKET_VNET_HDR (64 KiB GSO frames both ways), default
   * true; not "xdp".
   */
  vnetHdr: boolean;
  /** device MTU, default: leave as is */
  mtu?: number;
  /** TAP: the director's own MAC (not the kernel interface's), default 02:00:00:00:00:01 */
  mac: string;
  /** TAP: addresses the director owns, with on-link prefix, e.g. "10.10.0.1/24" */
  addresses: string[];
  /** TAP: default gateway */
  gateway?: string;
  /**
   * Kind xdp or packet: more interfaces the Director owns besides `name` (e.g. `name` the
   * client side, one more the real servers' side), each with its own MAC (the
   * interface's), addresses and ARP; packets leave by the interface of their next hop, so
   * the director's namespace needs no ip_forward.
   */
  interfaces?: InterfaceConfig[];
  /** kind xdp: how the AF_XDP sockets run (see XdpTuning), on every interface */
  xdp?: XdpTuning;
}

/** A further interface of a kernel-bypass Director (`device.interfaces`). */
export interface InterfaceConfig {
  /** the existing Ethernet interface */
  name: string;
  /** the director's own addresses on it, with on-link prefix: the subnets routed through it */
  addresses: string[];
  /** a default route through it, when `device.gateway` is not set */
  gateway?: string;
  /** answer ARP here for VIPs on no subnet of the director (default: only on `name`) */
  vips?: boolean;
}

/**
 * kind xdp: the @tunvs/xdp options tunvsd passes to `openXdp` (checked by it, the message
 * naming the option): `txKick` 'inline' (default: the Director's thread kicks after each
 * write) or 'thread' (a native thread per socket runs the sendto kicks);
 * `kickCpus` (the CPUs those threads may run on; default the process's); `ringSize` (RX/TX
 * ring entries per socket, default 2048), `batchSize` (frames per receive batch, default
 * 64), `needWakeup` (bind with XDP_USE_NEED_WAKEUP, default true)
 */
export interface XdpTuning {
  txKick?: 'inline' | 'thread';
  kickCpus?: number[];
  ringSize?: number;
  batchSize?: number;
  needWakeup?: boolean;
}
const XDP_TUNING_KEYS = ['txKick', 'kickCpus', 'ringSize', 'batchSize', 'needWakeup'];

export interface ServiceConfig extends ServiceSpec {
  dests?: DestSpec[];
}

export interface MarkConfig {
  mark: number;
  protocol?: 'tcp' | 'udp' | 'all';
  /** destination address or CIDR */
  daddr?: string;
  /** "80", "80,443" or "1000-2000" */
  ports?: string;
}

export interface DaemonConfig {
  device: DeviceConfig;
  /** source address of IPIP outer headers and ICMP errors */
  sourceAddress?: string;
  /** control socket path, default /run/tunvs/tunvsd.sock */
  socket?: string;
  /** connection table capacity, default 262144 */
  connCapacity?: number;
  /**
   * Directors, one per worker thread (default 1). More than one on a kernel-bypass link
   * (kind xdp or packet) only: each worker owns one slot of the link (the steering program
   * hashes the client to a slot) and its own connection table; see workers.ts
   */
  workers?: number;
  /**
   * The CPU of each Director's thread, one per worker (worker i runs on `cpus[i]`; with one
   * worker that is the main thread, control plane included): JSON a list `[2, 3]` or a CPU
   * list `"2-3"`, tunvsd.conf `cpus 2-3`. Without it the threads are not pinned.
   */
  cpus?: number[];
  timeouts?: Partial<Timeouts>;
  marks?: MarkConfig[];
  services: ServiceConfig[];
  /** kernel switches */
  expireNodestConn?: boolean;
  expireQuiescentTemplate?: boolean;
  connReuseMode?: number;
  /**
   * sysctl sloppy_tcp: a TCP segment other than a SYN may open a connection (tunvsd.conf
   * `sloppy_tcp 1`). What a failover pair runs so that a connection the old master never
   * synced (opened in its last moments, or idle) is scheduled again by the new one instead
   * of dropped; with persistence it lands on the same real server. Default off; a reload
   * applies it.
   */
  sloppyTcp?: boolean;
  /** the FTP helper (the kernel's `modprobe ip_vs_ftp ports=...`): its ports, default [21]; [] = off */
  ftp?: { ports: number[] };
  /**
   * the kernel's defence sysctls (drop_entry, drop_packet, secure_tcp modes 0..3, amemthresh
   * in pages of free connection-table room, am_droprate); absent ones take the kernel's
   * defaults; a reload applies them
   */
  defense?: Partial<DefenseSettings>;
  /**
   * the kernel's sync sysctls for the master sync daemon (started by tunvsadm
   * --start-daemon or lvs_sync_daemon): threshold and period (sync_threshold "3 50"),
   * refreshPeriod (s), retries, qlenMax, version, persistMode, ports (1 only); absent ones
   * take the kernel's defaults; a reload applies them to a running master in place
   */
  sync?: Partial<SyncSysctls>;
  /** keepalived.conf whose virtual_servers tunvsd runs with health checks (JSON key `keepalivedConf`, relative to the config file) */
  keepalivedConf?: string;
  /** /metrics, the status API and the console (JSON key `http`; off when absent) */
  http?: HttpConfig;
}

/** A configuration error naming the file and what is wrong (one `file:line: error: ...` per line). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The connection table's hard maximum (ConnTable: 2^26 entries). */
export const MAX_CONN_CAPACITY = 0x4000000;

/** One finding about a value, by its path (`services[1].dests[0].weight`). */
export interface Finding {
  severity: 'error' | 'warning';
  path: string;
  message: string;
}

/** The device of a configuration that names none. */
export function defaultDevice(): DeviceConfig {
  return { name: 'tunvs0', kind: 'tun', queues: 1, vnetHdr: false, mac: '02:00:00:00:00:01', addresses: [] };
}

/** `{}`-like objects only: own enumerable keys, not an array. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

const show = (v: unknown): string => {
  const s = typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
};

/**
 * The "ftp" section: `{ "ports": [21, 2121] }`, the FTP helper's ports as the kernel
 * module's `ports=` parameter (1..65535, at most 8, no repeats); [] turns the helper off.
 */
function checkFtp(v: unknown, path: string, out: Findings): void {
  const o = out.object(v, path, 'the ftp section', new Map<string, Field>([
    [
      'ports',
      (pv, pp, o2) => {
        if (!Array.isArray(pv)) {
          o2.error(pp, `must be a list of ports, not ${show(pv)}`);
          return;
        }
        if (pv.length > 8) o2.error(pp, `at most 8 ports (the module's IP_VS_APP_MAX_PORTS), got ${pv.length}`);
        const seen = new Set<number>();
        pv.forEach((p: unknown, i) => {
          if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) o2.error(childPath(pp, i), `${show(p)} is not a port (1-65535)`);
          else if (seen.has(p)) o2.error(childPath(pp, i), `port ${p} is listed twice`);
          else seen.add(p);
        });
      },
    ],
  ]));
  if (o !== null && own(o, 'ports') === undefined) out.warn(path, 'no "ports": the helper keeps its default, port 21');
}

/** A key of one configuration object: how to check its value. */
type Field = (v: unknown, path: string, out: Findings) => void;

/** Findings collected while checking a configuration. */
export class Findings {
  readonly list: Finding[] = [];
  error(path: string, message: string): void {
    this.list.push({ severity: 'error', path, message });
  }
  warn(path: string, message: string): void {
    this.list.push({ severity: 'warning', path, message });
  }
  /** Check an object's keys against `fields`, refusing unknown ones. */
  object(v: unknown, path: string, what: string, fields: ReadonlyMap<string, Field>): Record<string, unknown> | null {
    if (!isPlainObject(v)) {
      this.error(path, `${what} must be an object, not ${show(v)}`);
      return null;
    }
    for (const k of Object.keys(v)) {
      const f = fields.get(k);
      if (f === undefined) this.error(childPath(path, k), `unknown key "${k}" in ${what} (known: ${[...fields.keys()].join(', ')})`);
      else f(v[k], childPath(path, k), this);
    }
    return v;
  }
}

const int = (min: number, max: number, what = `an integer ${min}..${max}`): Field => (v, path, out) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) out.error(path, `must be ${what}, not ${show(v)}`);
};
const bool: Field = (v, path, out) => {
  if (typeof v !== 'boolean') out.error(path, `must be true or false, not ${show(v)}`);
};
const str = (test: (s: string) => string | null): Field => (v, path, out) => {
  if (typeof v !== 'string') return out.error(path, `must be a string, not ${show(v)}`);
  const problem = test(v);
  if (problem !== null) out.error(path, problem);
};
const ipv4: Field = str((s) => (ipv4Octets(s) === null ? `invalid IPv4 address ${show(s)}` : null));
const cidr = (s: string): string | null => {
  const slash = s.indexOf('/');
  if (ipv4Octets(slash < 0 ? s : s.slice(0, slash)) === null) return `invalid address ${show(s)} (want IPv4/prefix)`;
  try {
    parseCidr(s);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

const deviceName = str((s) => (/^[A-Za-z0-9_.-]{1,15}$/.test(s) ? null : `invalid device name ${show(s)} (1..15 of A-Z a-z 0-9 _ . -)`));
const addressList: Field = (v, path, out) => {
  if (!Array.isArray(v)) return out.error(path, `must be a list of "address/prefix", not ${show(v)}`);
  v.forEach((a: unknown, i) => str(cidr)(a, childPath(path, i), out));
};

const INTERFACE_FIELDS: ReadonlyMap<string, Field> = new Map<string, Field>([
  ['name', deviceName],
  ['addresses', addressList],
  ['gateway', ipv4],
  ['vips', bool],
]);

/** `device.interfaces`: further interfaces of a kernel-bypass Director, each named once with addresses of its own. */
const interfacesField: Field = (v, path, out) => {
  if (!Array.isArray(v) || v.length === 0) return out.error(path, `must be a non-empty list of interfaces ({ "name", "addresses" }), not ${show(v)}`);
  v.forEach((i: unknown, k) => {
    const ip = childPath(path, k);
    const o = out.object(i, ip, 'an interface', INTERFACE_FIELDS);
    if (o === null) return;
    if (own(o, 'name') === undefined) out.error(ip, 'an interface needs "name": the existing Ethernet interface');
    const addrs = own(o, 'addresses');
    if (!Array.isArray(addrs) || addrs.length === 0) out.error(ip, 'an interface needs "addresses": the director\'s own addresses on its segment (they say which subnets are routed through it)');
  });
};

const DEVICE_FIELDS: ReadonlyMap<string, Field> = new Map<string, Field>([
  ['name', deviceName],
  ['kind', str((s) => ((DEVICE_KINDS as readonly string[]).includes(s) ? null : `must be "tun", "tap", "xdp" or "packet", not ${show(s)}`))],
  ['queues', int(1, 16)],
  ['vnetHdr', bool],
  ['mtu', int(68, 65535)],
  [
    'mac',
    str((s) => {
      try {
        return (parseMac(s)[0]! & 1) === 0 ? null : `${s} is a multicast MAC address`;
      } catch (e) {
        return (e as Error).message;
      }
    }),
  ],
  ['addresses', addressList],
  ['gateway', ipv4],
  ['interfaces', interfacesField],
  [
    'xdp',
    (v, path, out) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return out.error(path, `must be an object with some of ${XDP_TUNING_KEYS.join(', ')}, not ${show(v)}`);
      for (const k of Object.keys(v)) if (!XDP_TUNING_KEYS.includes(k)) out.error(childPath(path, k), `unknown key (one of ${XDP_TUNING_KEYS.join(', ')})`);
      try {
        validateXdpOptions({ ifname: 'xdp0', ...(v as XdpTuning) });
      } catch (e) {
        out.error(path, (e as Error).message);
      }
    },
  ],
]);

const MARK_FIELDS: ReadonlyMap<string, Field> = new Map<string, Field>([
  [
    'mark',
    (v, path, out) => {
      try {
        checkFwmark(v, 'marks');
      } catch (e) {
        out.error(path, (e as Error).message);
      }
    },
  ],
  ['protocol', str((s) => (s === 'tcp' || s === 'udp' || s === 'all' ? null : `must be "tcp", "udp" or "all", not ${show(s)}`))],
  ['daddr', str((s) => cidr(s))],
  [
    'ports',
    str((s) => {
      for (const r of s.split(',')) {
        const m = /^\s*([0-9]{1,5})\s*(?:-\s*([0-9]{1,5})\s*)?$/.exec(r);
        const lo = m ? Number(m[1]) : NaN;
        const hi = m ? Number(m[2] ?? m[1]) : NaN;
        if (!m || lo > 65535 || hi > 65535 || lo > hi) return `invalid port list ${show(s)} (want "80", "80,443" or "1000-2000")`;
      }
      return null;
    }),
  ],
]);

/** The service keys a ServiceConfig may have: the spec's and `dests`. */
const SERVICE_KEYS = ['fwmark', 'ipv6', 'protocol', 'addr', 'port', 'scheduler', 'schedFlags', 'persistent', 'netmask', 'onePacket', 'pe', 'dests'];

/** A spec checked by the control API's rules, or null (the finding recorded at `path.field`). */
function checked<T>(fn: () => T, path: string, out: Findings): T | null {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidValue) out.error(childPath(path, e.field), e.message);
    else out.error(path, (e as Error).message);
    return null;
  }
}

/** The key string of a service: `tcp:ADDR:PORT` or `fwmark:N`. */
export function serviceKeyString(k: { fwmark?: number; protocol?: string | null; addr?: string; port?: number }): string {
  return k.fwmark ? `fwmark:${k.fwmark}` : `${k.protocol}:${k.addr}:${k.port}`;
}

/**
 * Check one service (spec and destinations) with the control API's rules; returns the
 * normalised ServiceConfig, or null. Also used for keepalived's virtual servers.
 */
export function checkServiceConfig(v: unknown, path: string, out: Findings, knownSchedulers: ReadonlySet<string>): ServiceConfig | null {
  if (!isPlainObject(v)) {
    out.error(path, `a service must be an object, not ${show(v)}`);
    return null;
  }
  const { dests: rawDests, ...rawSpec } = v;
  for (const k of Object.keys(v)) if (!SERVICE_KEYS.includes(k)) out.error(childPath(path, k), `unknown key "${k}" in a service`);
  const known = Object.fromEntries(Object.entries(rawSpec).filter(([k]) => SERVICE_KEYS.includes(k)));
  // a scheduler plug-in named by its path (plugins.ts): the path is checked here, the
  // module is loaded (and checked) by tunvsd before it applies the configuration
  const plugin = typeof known.scheduler === 'string' && isPluginPath(known.scheduler) ? known.scheduler : null;
  if (plugin !== null) {
    const why = pluginPathProblem(plugin);
    if (why !== null) out.error(childPath(path, 'scheduler'), why);
    known.scheduler = 'plug-in';
  }
  const spec = checked(() => checkServiceSpec(known, 'addService'), path, out);
  if (spec === null) return null;
  const sched = spec.scheduler ?? 'wlc';
  if (plugin !== null) spec.scheduler = plugin;
  else if (!knownSchedulers.has(sched)) out.error(childPath(path, 'scheduler'), `Scheduler not found: ${show(sched)} (known: ${[...knownSchedulers].join(' ')})`);
  const cfg: ServiceConfig = { ...spec };
  if (rawDests === undefined) return cfg;
  if (!Array.isArray(rawDests)) {
    out.error(childPath(path, 'dests'), `must be a list of destinations, not ${show(rawDests)}`);
    return null;
  }
  const seen = new Map<string, number>();
  const dests: DestSpec[] = [];
  rawDests.forEach((d: unknown, i) => {
    const dp = childPath(childPath(path, 'dests'), i);
    const dest = checked(() => checkDestSpec(d, 'addDest'), dp, out);
    if (dest === null) return;
    const k = `${dest.addr}:${dest.port}`;
    const first = seen.get(k);
    if (first !== undefined) out.error(dp, `destination ${k} is listed twice (also dests[${first}])`);
    seen.set(k, i);
    const method = dest.method ?? 'route';
    if (!spec.fwmark && (method === 'route' || method === 'tunnel') && dest.port !== spec.port && dest.port !== 0) {
      out.warn(childPath(dp, 'port'), `${method === 'route' ? 'direct routing' : 'a tunnel'} does not change the port: packets keep port ${spec.port}; ${dest.port} is only recorded (as the kernel does)`);
    }
    dests.push(dest);
  });
  cfg.dests = dests;
  return cfg;
}

/** The scheduler names this process knows (the registry of @tunvs/schedulers). */
export function knownSchedulers(): ReadonlySet<string> {
  return new Set(schedulerNames());
}

/** What a configuration's top-level keys are, and how each is checked. */
function topFields(services: ServiceConfig[], schedulers: ReadonlySet<string>, file: string): ReadonlyMap<string, Field> {
  return new Map<string, Field>([
    [
      'device',
      (v, path, out) => {
        const o = out.object(v, path, 'device', DEVICE_FIELDS);
        if (o === null) return;
        const kind = own(o, 'kind');
        if (kind !== 'xdp' && own(o, 'xdp') !== undefined) out.error(childPath(path, 'xdp'), `applies to kind "xdp" only (AF_XDP sockets), not ${show(kind ?? 'tun')}`);
        const more = own(o, 'interfaces');
        if (kind !== 'xdp' && kind !== 'packet') {
          if (more !== undefined) out.error(childPath(path, 'interfaces'), `is for kind "xdp" or "packet" (existing interfaces the director owns), not ${show(kind ?? 'tun')}: tunvsd creates one ${String(kind ?? 'tun').toUpperCase()} device`);
          return;
        }
        if (Array.isArray(more)) {
          const names = new Map<string, string>([[String(own(o, 'name')), childPath(path, 'name')]]);
          more.forEach((i: unknown, k) => {
            const n = isPlainObject(i) ? own(i, 'name') : undefined;
            if (typeof n !== 'string') return;
            const first = names.get(n);
            if (first !== undefined) out.error(childPath(childPath(childPath(path, 'interfaces'), k), 'name'), `interface ${n} is given twice (also ${first})`);
            names.set(n, childPath(childPath(childPath(path, 'interfaces'), k), 'name'));
          });
        }
        // a kernel-bypass link runs on an existing interface as it is: the device keys of a
        // device tunvsd creates do not apply (refused, not ignored); AF_PACKET takes a vnet
        // header (PACKET_VNET_HDR), AF_XDP has none
        for (const k of ['queues', 'vnetHdr', 'mtu', 'mac'] as const) {
          if (k === 'vnetHdr' && kind === 'packet') continue;
          if (own(o, k) !== undefined) {
            out.error(childPath(path, k), k === 'vnetHdr'
              ? `does not apply to kind "${kind}": AF_XDP frames carry no vnet header (GSO); kind "packet" takes one`
              : `does not apply to kind "${kind}": the link uses the interface as it is (its queues, MTU and MAC)`);
          }
        }
        if (own(o, 'name') === undefined) out.error(path, `kind "${kind}" needs "name": the existing Ethernet interface to run on`);
        const addrs = own(o, 'addresses');
        if (!Array.isArray(addrs) || addrs.length === 0) out.error(path, `kind "${kind}" needs "addresses": the director's own addresses on the interface's segment(s)`);
      },
    ],
    ['sourceAddress', ipv4],
    ['socket', str((s) => (s.length === 0 || Buffer.byteLength(s) > 107 ? `a socket path must be 1..107 bytes long` : null))],
    ['connCapacity', int(1, MAX_CONN_CAPACITY)],
    [
      'workers',
      (v, path, out) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 64) out.error(path, `must be an integer 1..64, not ${show(v)}`);
      },
    ],
    [
      'cpus',
      (v, path, out) => {
        const r = cpusOf(v);
        if (typeof r === 'string') out.error(path, r);
      },
    ],
    [
      'timeouts',
      (v, path, out) => {
        checked(() => checkTimeouts(v, 'setTimeouts'), path, out);
      },
    ],
    [
      'defense',
      (v, path, out) => {
        checked(() => checkDefense(v, 'setDefense'), path, out);
      },
    ],
    [
      'sync',
      (v, path, out) => {
        for (const p of checkSyncSysctls(v).problems) out.error(p.key ? childPath(path, p.key) : path, p.message);
      },
    ],
    [
      'marks',
      (v, path, out) => {
        if (!Array.isArray(v)) return out.error(path, `must be a list of mark rules, not ${show(v)}`);
        v.forEach((m: unknown, i) => {
          const o = out.object(m, childPath(path, i), 'a mark rule', MARK_FIELDS);
          if (o !== null && own(o, 'mark') === undefined) out.error(childPath(path, i), 'a mark rule needs "mark"');
        });
      },
    ],
    [
      'services',
      (v, path, out) => {
        if (!Array.isArray(v)) return out.error(path, `must be a list of services, not ${show(v)}`);
        const seen = new Map<string, number>();
        v.forEach((s: unknown, i) => {
          const sp = childPath(path, i);
          const cfg = checkServiceConfig(s, sp, out, schedulers);
          if (cfg === null) return;
          const k = serviceKeyString(cfg);
          const first = seen.get(k);
          if (first !== undefined) out.error(sp, `service ${k} is listed twice (also services[${first}])`);
          seen.set(k, i);
          services.push(cfg);
        });
      },
    ],
    ['expireNodestConn', bool],
    ['expireQuiescentTemplate', bool],
    ['connReuseMode', int(0, Limits.INT_MAX)],
    ['sloppyTcp', bool],
    ['ftp', checkFtp],
    ['keepalivedConf', str((s) => (s.length === 0 ? 'must name a file' : null))],
    [
      'http',
      (v, path, out) => {
        // the console's own check of its section
        try {
          parseHttpConfig(v, file);
        } catch (e) {
          out.error(path, (e as Error).message.replace(/^http\.?[: ]*/, ''));
        }
      },
    ],
  ]);
}

/**
 * The CPUs of a `cpus` value (a list of CPU numbers, or a CPU list string such as "0-3,6"),
 * in worker order, or what is wrong with it. One Director per core: no CPU twice.
 */
export function cpusOf(v: unknown): number[] | string {
  let cpus: number[];
  if (typeof v === 'string') {
    try {
      cpus = parseCpuList(v);
    } catch (e) {
      return (e as Error).message;
    }
  } else if (Array.isArray(v) && v.length > 0) {
    const bad = v.find((c) => typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= MAX_CPUS);
    if (bad !== undefined) return `a CPU is an integer 0..${MAX_CPUS - 1}, not ${show(bad)}`;
    cpus = v as number[];
  } else {
    return `must be a list of CPU numbers ([2, 3]) or a CPU list ("2-3"), not ${show(v)}`;
  }
  const twice = cpus.find((c, i) => cpus.indexOf(c) !== i);
  if (twice !== undefined) return `CPU ${twice} is named twice: one Director per core`;
  return cpus;
}

/** `cpus` names one CPU per Director thread: as many as `workers` (1 when not given). */
function cpusFindings(top: Record<string, unknown>, out: Findings): void {
  const cpus = cpusOf(own(top, 'cpus'));
  const n = own(top, 'workers') ?? 1;
  if (typeof cpus === 'string' || typeof n !== 'number') return;
  if (cpus.length !== n) out.error('cpus', `names ${cpus.length} CPU${cpus.length === 1 ? '' : 's'} (${formatCpuList(cpus)}) for ${n} Director thread${n === 1 ? '' : 's'} (workers ${n}): give one CPU per worker`);
}

/**
 * Why tunvsd could not run its Directors on `cpus` on this machine (a CPU the calling thread
 * may not run on: offline, outside the process's taskset or cgroup), or null. tunvsd's
 * start refuses it; `--config-test` warns (the file may be meant for another machine).
 */
export function cpusNotHere(cpus: readonly number[]): string | null {
  const allowed = threadCpus();
  const foreign = cpus.find((c) => !allowed.includes(c));
  return foreign === undefined ? null : `cpus: CPU ${foreign} is not one tunvsd may run on (its CPUs: ${formatCpuList(allowed)})`;
}

/**
 * `workers` > 1 needs a kernel-bypass link: there the steering program sends both
 * directions of a flow (client -> VIP, and the NAT real server's reply) to the slot of the
 * client, so each worker sees whole flows. A TUN/TAP device cannot: with TUN multi-queue the
 * kernel picks the queue by its own hash of the packet's addresses, which for a NAT reply
 * (real server -> client) differs from the request's, so the reply would reach a worker that
 * does not hold the connection. Scheduler plug-ins are loaded in the main thread only.
 */
function workersFindings(top: Record<string, unknown>, services: readonly ServiceConfig[], out: Findings): void {
  const n = own(top, 'workers');
  if (typeof n !== 'number' || n <= 1) return;
  const dev = own(top, 'device') as Record<string, unknown> | undefined;
  const kind = dev?.kind ?? 'tun';
  if (dev !== undefined && isPlainObject(dev) && own(dev, 'interfaces') !== undefined) {
    out.error('workers', `${n} workers with device.interfaces: each worker would need a slot on every interface and both interfaces' steering programs hashing a flow to the same worker; that is not built. Run one worker (the default) with two interfaces, or one interface with ${n} workers`);
  }
  if (kind !== 'xdp' && kind !== 'packet') {
    out.error('workers', `${n} workers need a kernel-bypass device (kind "xdp" or "packet"); a ${String(kind).toUpperCase()} device runs one Director: the kernel picks a TUN/TAP queue by its own flow hash, so a NAT reply could reach a worker that does not hold its connection`);
  }
  const cap = own(top, 'connCapacity');
  if (typeof cap === 'number' && Number.isInteger(cap) && cap >= 1 && cap < n) {
    out.error('connCapacity', `${cap} is smaller than workers (${n}): the table is divided among the workers (tableShares), each needs at least one entry`);
  }
  services.forEach((s, i) => {
    if (isPluginPath(s.scheduler)) out.error(childPath(childPath('services', i), 'scheduler'), `scheduler plug-ins run with one worker only (workers ${n}): the workers would not have the plug-in loaded`);
  });
}

/**
 * Why the Director this configuration starts could not carry a destination's forwarding
 * `method`, or null: the forwarders' own rule (`methodRefusal`), with what the device
 * gives the Director: its layer (a TUN device is layer 3; TAP, AF_XDP and AF_PACKET are
 * layer 2) and whether it has an address of its own for tunnel headers (`sourceAddress`,
 * or one of its addresses).
 */
export function methodProblem(method: string, device: Pick<DeviceConfig, 'kind' | 'addresses' | 'interfaces'>, sourceAddress: string | undefined): string | null {
  const mine = sourceAddress ?? device.addresses?.[0] ?? device.interfaces?.[0]?.addresses[0];
  // checked before this is asked: a valid address, with or without its prefix
  const source = mine === undefined ? 0 : parseCidr(mine).addr;
  return methodRefusal(method, { kind: device.kind === 'tun' ? 'tun' : 'tap', source });
}

/**
 * Check a configuration given as a raw value (JSON, or tunvsd.conf converted to the same
 * shape). `file` anchors a relative `keepalivedConf`. Returns the configuration when there
 * is no error, and every finding.
 */
export function validateDaemonConfig(raw: unknown, file: string): { config: DaemonConfig | null; findings: Finding[] } {
  const out = new Findings();
  const services: ServiceConfig[] = [];
  const schedulers = knownSchedulers();
  const top = out.object(raw, '', 'the configuration', topFields(services, schedulers, file));
  if (top === null) return { config: null, findings: out.list };
  if (own(top, 'services') === undefined && own(top, 'keepalivedConf') === undefined) {
    out.error('', 'the configuration declares no services: give "services" (an empty list [] to run with none) or "keepalivedConf"');
  }
  workersFindings(top, services, out);
  if (own(top, 'cpus') !== undefined) cpusFindings(top, out);
  if (out.list.some((f) => f.severity === 'error')) return { config: null, findings: out.list };
  const dev = (own(top, 'device') ?? {}) as Record<string, unknown>;
  const devKind = { ...defaultDevice(), ...dev } as DeviceConfig;
  services.forEach((svc, i) => svc.dests?.forEach((d, j) => {
    const why = methodProblem(d.method ?? 'route', devKind, own(top, 'sourceAddress') as string | undefined);
    if (why !== null) out.error(childPath(childPath(childPath(childPath('services', i), 'dests'), j), 'method'), `${d.addr}:${d.port}: ${why}`);
  }));
  if (out.list.some((f) => f.severity === 'error')) return { config: null, findings: out.list };
  const device: DeviceConfig = { ...defaultDevice() };
  for (const k of Object.keys(dev)) (device as unknown as Record<string, unknown>)[k] = dev[k];
  // AF_PACKET sees what the interface received after GRO (64 KiB frames on a NIC with GRO
  // on, as on veth with TSO), and only a vnet header says what they are: on by default there
  if (device.kind === 'packet' && dev.vnetHdr === undefined) device.vnetHdr = true;
  device.addresses = [...((dev.addresses as string[] | undefined) ?? [])];
  if (Array.isArray(dev.interfaces)) device.interfaces = (dev.interfaces as InterfaceConfig[]).map((i) => ({ ...i, addresses: [...i.addresses] }));
  const config: DaemonConfig = { device, services };
  const copy = <K extends keyof DaemonConfig>(k: K): void => {
    const v = own(top, k);
    if (v !== undefined) config[k] = v as DaemonConfig[K];
  };
  copy('sourceAddress');
  copy('socket');
  copy('connCapacity');
  copy('workers');
  if (own(top, 'cpus') !== undefined) config.cpus = cpusOf(own(top, 'cpus')) as number[];
  copy('expireNodestConn');
  copy('expireQuiescentTemplate');
  copy('connReuseMode');
  copy('sloppyTcp');
  if (own(top, 'ftp') !== undefined) config.ftp = { ports: [...((own(top, 'ftp') as { ports?: number[] }).ports ?? [21])] };
  if (own(top, 'defense') !== undefined) config.defense = checkDefense(own(top, 'defense'), 'setDefense');
  if (own(top, 'sync') !== undefined) config.sync = checkSyncSysctls(own(top, 'sync')).settings;
  if (own(top, 'timeouts') !== undefined) config.timeouts = checkTimeouts(own(top, 'timeouts'), 'setTimeouts');
  if (own(top, 'marks') !== undefined) config.marks = (own(top, 'marks') as MarkConfig[]).map((m) => ({ ...m }));
  if (own(top, 'http') !== undefined) config.http = parseHttpConfig(own(top, 'http'), file);
  const k = own(top, 'keepalivedConf');
  if (typeof k === 'string') config.keepalivedConf = isAbsolute(k) || file === '<config>' ? k : join(dirname(file), k);
  return { config, findings: out.list };
}

/** `file:line: severity: message` for findings located with `lineOf`. */
export function formatFindings(findings: readonly Finding[], file: string, lineOf: (path: string) => number): string[] {
  return findings.map((f) => `${file}:${lineOf(f.path)}: ${f.severity}: ${f.path ? f.path + ': ' : ''}${f.message}`);
}

/** Parse and check JSON configuration text; throws ConfigError listing every error. */
export function parseConfig(text: string, file = '<config>'): DaemonConfig {
  const r = checkJsonConfig(text, file);
  if (r.config === null) throw new ConfigError(r.messages.filter((m) => /: error: /.test(m)).join('\n'));
  return r.config;
}

/** Check JSON configuration text: the configuration (null on errors) and every message. */
export function checkJsonConfig(text: string, file = '<config>'): { config: DaemonConfig | null; messages: string[]; hasErrors: boolean } {
  let doc;
  try {
    doc = parseJsonLines(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { config: null, messages: [`${file}:${e.line}: error: ${e.message}`], hasErrors: true };
    throw e;
  }
  const { config, findings } = validateDaemonConfig(doc.value, file);
  return { config, messages: formatFindings(findings, file, doc.lineOf), hasErrors: config === null };
}

/** Read and check a JSON configuration file. */
export function loadConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseConfig(text, path);
}

/** Compile mark rules of a (checked) configuration for the engine (one rule per port range). */
export function markRules(marks: MarkConfig[] = []): MarkRule[] {
  const out: MarkRule[] = [];
  for (const m of marks) {
    const base: MarkRule = { mark: m.mark, protocol: m.protocol ?? 'all' };
    if (m.daddr) {
      const c = m.daddr.includes('/') ? parseCidr(m.daddr) : { addr: parseIpv4(m.daddr), prefix: 32 };
      base.daddr = c.addr;
      base.prefix = c.prefix;
    }
    const ranges = m.ports ? m.ports.split(',') : [''];
    for (const r of ranges) {
      const rule = { ...base };
      if (r) {
        const [a, b] = r.split('-').map((x) => Number(x.trim()));
        rule.portFrom = a!;
        rule.portTo = b ?? a!;
      }
      out.push(rule);
    }
  }
  return out;
}

/** Settings a reload cannot change (the device, the socket, the table): name -> value. */
export function restartSettings(c: DaemonConfig): Record<string, unknown> {
  const d = c.device;
  return {
    'device.name': d.name,
    'device.kind (mode)': d.kind,
    'device.queues': d.queues,
    'device.vnetHdr': d.vnetHdr,
    'device.mtu': d.mtu ?? null,
    'device.mac': d.mac.toLowerCase(),
    'device.addresses': d.addresses.join(' '),
    'device.gateway': d.gateway ?? null,
    'device.interfaces': d.interfaces ?? null,
    'device.xdp': d.xdp ? JSON.stringify(d.xdp) : null,
    'sourceAddress': c.sourceAddress ?? null,
    'socket': c.socket ?? null,
    'connCapacity': c.connCapacity ?? null,
    'workers': c.workers ?? null,
    'cpus': c.cpus?.join(',') ?? null,
    'expireNodestConn': c.expireNodestConn ?? null,
    'expireQuiescentTemplate': c.expireQuiescentTemplate ?? null,
    'connReuseMode': c.connReuseMode ?? null,
    'ftp.ports': (c.ftp ? c.ftp.ports : [21]).join(','),
    'http': c.http ?? null,
  };
}

/** The settings that differ between the running and the new configuration and need a restart. */
export function needsRestart(running: DaemonConfig, next: DaemonConfig): string[] {
  const a = restartSettings(running);
  const b = restartSettings(next);
  const out: string[] = [];
  for (const k of Object.keys(a)) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${k}: ${JSON.stringify(a[k])} -> ${JSON.stringify(b[k])}`);
  }
  return out;
}
