/**
 * ipvsadm 1.31's listings, as pure functions of the control API's data: `-L` in every mode,
 * `-S` (save/restore format), `-L -c`, `--timeout`, `--daemon`. Output is byte-identical to
 * ipvsadm's printf formats (trailing spaces included).
 */
import { Proto, SvcFlag, TUNNEL_CSUMS, methodByName, protocolNumber, schedFlagBits, schedFlagNames } from '@tunvs/model';
import type { ConnInfo, DestInfo, DirectorInfo, ServiceInfo, SyncDaemonInfo, Timeouts } from '@tunvs/model';
import { addrWords, inetAton, inetPton4, isV6, normAddr, ntoa } from './addr.js';
import type { FormatOptions } from './args.js';
import { nullResolver, type Resolver } from './names.js';

/** The IPVS version ipvsadm prints in the header (the kernel's IP_VS_VERSION_CODE). */
export const IPVS_VERSION = '1.2.1';

/** Listing options: ipvsadm's format switches plus the name resolver (default: numeric fallback only). */
export interface ListOptions extends Partial<FormatOptions> {
  resolver?: Resolver;
}

const padR = (s: string, w: number): string => (s.length >= w ? s : s + ' '.repeat(w - s.length));
const padL = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
const u32 = (v: number): number => v % 4294967296;

/** ipvsadm's `print_largenum`: K/M/G/T suffixes (truncating), or exact with `--exact`. */
export function largeNum(v: number, exact = false): string {
  const n = Math.max(0, Math.floor(v));
  if (exact) {
    const s = String(n);
    return padL(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (n < 1e8) return padL(String(n), 9);
  if (n < 1e9) return padL(String(Math.floor(n / 1e3)), 8) + 'K';
  if (n < 1e11) return padL(String(Math.floor(n / 1e6)), 8) + 'M';
  if (n < 1e14) return padL(String(Math.floor(n / 1e9)), 8) + 'G';
  return padL(String(Math.floor(n / 1e12)), 8) + 'T';
}

/** libipvs compares services by protocol number (TCP 6 < UDP 17 < SCTP 132); a fwmark service's is TCP's */
const protoNum = (p: string | null): number => (p ? protocolNumber(p) : Proto.TCP);
const svcV6 = (s: ServiceInfo): boolean => (s.fwmark ? !!s.ipv6 : isV6(s.addr));
const int32 = (v: number): number => v | 0;

function cmpWords(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const r = int32((a[i] ?? 0) - (b[i] ?? 0));
    if (r !== 0) return r;
  }
  return 0;
}

/** libipvs `ipvs_cmp_services`: fwmark, family, protocol, address, port (differences as signed 32-bit). */
export function compareServices(a: ServiceInfo, b: ServiceInfo): number {
  let r = int32(a.fwmark - b.fwmark);
  if (r) return r;
  r = (svcV6(a) ? 10 : 2) - (svcV6(b) ? 10 : 2);
  if (r) return r;
  r = protoNum(a.protocol) - protoNum(b.protocol);
  if (r) return r;
  if (!a.fwmark || !b.fwmark) {
    r = cmpWords(addrWords(a.addr || '0.0.0.0'), addrWords(b.addr || '0.0.0.0'));
    if (r) return r;
  }
  return a.port - b.port;
}

/** libipvs `ipvs_cmp_dests`: address, then port. */
export function compareDests(a: DestInfo, b: DestInfo): number {
  const r = cmpWords(addrWords(a.addr), addrWords(b.addr));
  return r || a.port - b.port;
}

/** Services (and their destinations) in the order ipvsadm prints them. */
export function sortServices(services: readonly ServiceInfo[], nosort = false): ServiceInfo[] {
  if (nosort) return [...services];
  return [...services]
    .sort(compareServices)
    .map((s) => ({ ...s, dests: [...s.dests].sort(compareDests) }));
}

/** `addrport_to_anyname`: numeric `a.b.c.d:port` / `[v6]:port`, or names via the resolver. */
export function addrPort(addr: string, port: number, proto: string, opts: ListOptions): string {
  const v6 = isV6(addr);
  const num = normAddr(addr);
  if (opts.numeric) return v6 ? `[${num}]:${port}` : `${num}:${port}`;
  const r = opts.resolver ?? nullResolver;
  const host = r.hostByAddr(num) ?? num;
  const p = (proto && r.portName(port, proto)) || String(port);
  return v6 ? `[${host}]:${p}` : `${host}:${p}`;
}

function maskText(s: ServiceInfo): string | null {
  if (svcV6(s)) {
    const m = Number(s.netmask || 128);
    return m !== 128 ? String(m) : null;
  }
  const m = inetPton4(s.netmask) ?? inetAton(s.netmask) ?? 0xffffffff;
  return m !== 0xffffffff ? ntoa(m) : null;
}

/**
 * The `-b` names of a service's flags, as ipvsadm prints them. ipvsadm omits flag-3 for sh
 * and mh (so its `-S` can print a bare `-b ` that its own `-R` refuses); `forSave` keeps it,
 * so that what tunvsadm saves it can restore.
 */
function schedFlagsText(s: ServiceInfo, forSave = false): string {
  let bits = schedFlagBits(s.schedFlags);
  if (!forSave && (s.scheduler === 'sh' || s.scheduler === 'mh')) bits &= ~SvcFlag.SCHED3;
  return schedFlagNames(s.scheduler, bits).join(',');
}

function fwdName(m: string): string {
  return methodByName(m)?.listing ?? 'Route';
}

function fwdSwitch(m: string): string {
  return methodByName(m)?.ipvsadm ?? '-g';
}

const CSUM_INFO: Record<string, string> = Object.fromEntries(TUNNEL_CSUMS.map((c) => [c.name, c.info]));
const CSUM_OPT: Record<string, string> = Object.fromEntries(TUNNEL_CSUMS.map((c) => [c.name, c.option]));

function tunInfo(d: DestInfo): string {
  if (d.method !== 'tunnel') return 'n/a';
  const t = d.tunType ?? 'ipip';
  const c = CSUM_INFO[d.tunFlags ?? 'nocsum'];
  if (t === 'gue') return `gue:${d.tunPort ?? 0}:${c}`;
  if (t === 'gre') return `gre:${c}`;
  return 'ipip';
}

function titles(o: ListOptions): string {
  if (o.stats)
    return `${padR('Prot LocalAddress:Port', 33)} ${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((t) => padL(t, 8)).join(' ')}\n  -> RemoteAddress:Port\n`;
  if (o.rate)
    return `${padR('Prot LocalAddress:Port', 33)} ${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((t) => padL(t, 8)).join(' ')}\n  -> RemoteAddress:Port\n`;
  if (o.thresholds)
    return `${padR('Prot LocalAddress:Port', 33)} ${['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'].map((t) => padR(t, 10)).join(' ')}\n  -> RemoteAddress:Port\n`;
  if (o.persistentConn)
    return `${padR('Prot LocalAddress:Port', 33)} ${padR('Weight', 9)} ${padR('PersistConn', 11)} ${padR('ActiveConn', 10)} ${padR('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  if (o.tunInfo)
    return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

/** The service selector: `TCP  addr:port` / `FWM  1` in listings, `-t addr:port` / `-f 1` in rules. */
function serviceName(s: ServiceInfo, o: ListOptions, rule: boolean): string {
  if (s.fwmark) {
    // ipvsadm prints the u32 mark with %d: marks of 2^31 and more come out negative
    const mark = String(s.fwmark | 0);
    if (rule) return s.ipv6 ? `-f ${mark} -6` : `-f ${mark}`;
    return s.ipv6 ? `FWM  ${mark} IPv6` : `FWM  ${mark}`;
  }
  const name = addrPort(s.addr, s.port, s.protocol ?? '', o);
  if (rule) return `${s.protocol === 'udp' ? '-u' : s.protocol === 'sctp' ? '--sctp-service' : '-t'} ${name}`;
  // ipvsadm: "%s  %s" with TCP, UDP or SCTP
  const line = `${s.protocol === 'udp' ? 'UDP' : s.protocol === 'sctp' ? 'SCTP' : 'TCP'}  ${name}`;
  return isV6(s.addr) ? line : line.slice(0, 33);
}

/** One service and its destinations (destinations in the order given), in the chosen mode. */
function serviceEntry(s: ServiceInfo, o: ListOptions, rule: boolean): string {
  const name = serviceName(s, o, rule);
  let out: string;
  const ex = !!o.exact;
  if (rule) {
    out = `-A ${name} -s ${s.scheduler}`;
    if (s.persistent) {
      out += ` -p ${s.persistent}`;
      const m = maskText(s);
      if (m !== null) out += ` -M ${m}`;
    }
    if (s.pe) out += ` --pe ${s.pe}`;
    if (s.onePacket) out += ' -o';
    if (schedFlagBits(s.schedFlags)) out += ` -b ${schedFlagsText(s, true)}`;
  } else if (o.stats) {
    const st = s.stats;
    out = padR(name, 33) + [st.conns, st.inPkts, st.outPkts, st.inBytes, st.outBytes].map((v) => largeNum(v, ex)).join('');
  } else if (o.rate) {
    const st = s.stats;
    out = padR(name, 33) + [st.cps, st.inPps, st.outPps, st.inBps, st.outBps].map((v) => largeNum(v, ex)).join('');
  } else {
    out = `${name} ${s.scheduler}`;
    if (schedFlagBits(s.schedFlags)) out += ` (${schedFlagsText(s)})`;
    if (s.persistent) {
      out += ` persistent ${s.persistent}`;
      const m = maskText(s);
      if (m !== null) out += ` mask ${m}`;
      if (s.pe) out += ` pe ${s.pe}`;
    }
    if (s.onePacket) out += ' ops';
  }
  out += '\n';
  const proto = s.fwmark ? (s.protocol ?? 'tcp') : (s.protocol ?? '');
  for (const d of s.dests) {
    let dname = addrPort(d.addr, d.port, proto, o);
    if (!rule && !isV6(d.addr)) dname = dname.slice(0, 28);
    if (rule) {
      out += `-a ${name} -r ${dname} ${fwdSwitch(d.method)} -w ${d.weight}`;
      if (d.method === 'tunnel') {
        const t = d.tunType ?? 'ipip';
        if (t === 'gre') out += ` --tun-type gre ${CSUM_OPT[d.tunFlags ?? 'nocsum']}`;
        else if (t === 'gue') out += ` --tun-type gue --tun-port ${d.tunPort ?? 0} ${CSUM_OPT[d.tunFlags ?? 'nocsum']}`;
        else out += ' --tun-type ipip';
      }
      out += '\n';
    } else if (o.stats) {
      const st = d.stats;
      out += `  -> ${padR(dname, 28)}` +
        [u32(st.conns), u32(st.inPkts), u32(st.outPkts), st.inBytes, st.outBytes].map((v) => largeNum(v, ex)).join('') + '\n';
    } else if (o.rate) {
      const st = d.stats;
      out += `  -> ${padR(dname, 28)} ${padL(String(u32(st.cps)), 8)} ${padL(String(u32(st.inPps)), 8)} ${padL(String(u32(st.outPps)), 8)}` +
        largeNum(st.inBps, ex) + largeNum(st.outBps, ex) + '\n';
    } else if (o.thresholds) {
      out += `  -> ${padR(dname, 28)} ${[d.upper, d.lower, d.activeConns, d.inactConns].map((v) => padR(String(v), 10)).join(' ')}\n`;
    } else if (o.persistentConn) {
      out += `  -> ${padR(dname, 28)} ${padR(String(d.weight), 9)} ${padR(String(d.persistConns), 11)} ${padR(String(d.activeConns), 10)} ${padR(String(d.inactConns), 10)}\n`;
    } else if (o.tunInfo) {
      out += `  -> ${padR(dname, 28)} ${padR(fwdName(d.method), 7)} ${padR(tunInfo(d), 13)} ${padR(String(d.weight), 6)} ${padR(String(d.activeConns), 10)} ${padR(String(d.inactConns), 10)}\n`;
    } else {
      out += `  -> ${padR(dname, 28)} ${padR(fwdName(d.method), 7)} ${padR(String(d.weight), 6)} ${padR(String(d.activeConns), 10)} ${padR(String(d.inactConns), 10)}\n`;
    }
  }
  return out;
}

/** `ipvsadm -L [options]`: header with the table size, titles, every service (sorted unless `nosort`). */
export function formatList(services: readonly ServiceInfo[], info: DirectorInfo, opts: ListOptions = {}): string {
  let out = `IP Virtual Server version ${IPVS_VERSION} (size=${info.connTableSize})\n`;
  out += titles(opts);
  for (const s of sortServices(services, opts.nosort)) out += serviceEntry(s, opts, false);
  return out;
}

/** `ipvsadm -L -t VIP:port [options]`: titles and that one service, no header line. */
export function formatService(service: ServiceInfo, opts: ListOptions = {}): string {
  const [s] = sortServices([service], opts.nosort);
  return titles(opts) + serviceEntry(s!, opts, false);
}

/** `ipvsadm -S [-n]`: the rules in restore format (services and servers sorted; thresholds are not saved). */
export function formatSave(services: readonly ServiceInfo[], opts: ListOptions = {}): string {
  let out = '';
  for (const s of sortServices(services, false)) out += serviceEntry(s, opts, true);
  return out;
}

/** `ipvsadm -L -c [-n] [--persistent-conn]`: the connection table, in the order given. */
export function formatConnections(conns: readonly ConnInfo[], opts: ListOptions = {}): string {
  let out = 'IPVS connection entries\n';
  if (opts.persistentConn)
    out += `pro expire ${padR('state', 11)} ${padR('source', 18)} ${padR('virtual', 18)} ${padR('destination', 18)} ${padR('pe name', 16)} pe_data\n`;
  else out += `pro expire ${padR('state', 11)} ${padR('source', 18)} ${padR('virtual', 18)} destination\n`;
  for (const c of conns) {
    const proto = c.protocol === 'TCP' ? 'tcp' : c.protocol === 'UDP' ? 'udp' : c.protocol === 'SCTP' ? 'sctp' : '';
    const vaddr = c.protocol === 'IP' && c.fwmark ? ntoa(c.fwmark >>> 0) : c.virtualAddr;
    const cname = addrPort(c.clientAddr, c.clientPort, proto, opts);
    const vname = addrPort(vaddr, c.virtualPort, proto, opts);
    const dname = addrPort(c.destAddr, c.destPort, proto, opts);
    const secs = Math.max(0, Math.floor(c.expires));
    const exp = `${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
    if (opts.persistentConn && c.peName && c.peData)
      out += `${padR(c.protocol, 3)} ${padR(exp, 6)} ${padR(c.state, 11)} ${padR(cname, 18)} ${padR(vname, 18)} ${padR(dname, 16)} ${padR(c.peName, 18)} ${c.peData}\n`;
    else out += `${padR(c.protocol, 3)} ${padR(exp, 6)} ${padR(c.state, 11)} ${padR(cname, 18)} ${padR(vname, 18)} ${dname}\n`;
  }
  return out;
}

/** `ipvsadm -L --timeout`. */
export function formatTimeouts(t: Timeouts): string {
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
}

/**
 * `ipvsadm -L --daemon`: one line per running sync daemon (master first), nothing when none
 * runs. Takes a `DirectorInfo` or just the daemons (`{ daemons: syncDaemons.list() }`).
 */
export function formatDaemons(info: DirectorInfo | { readonly daemons: readonly SyncDaemonInfo[] }): string {
  const ds = [...(info.daemons ?? [])].sort((a, b) => (a.state === b.state ? 0 : a.state === 'master' ? -1 : 1));
  let out = '';
  for (const d of ds) {
    out += `${d.state} sync daemon (mcast=${d.mcastIfn}, syncid=${d.syncid}`;
    if (d.maxlen) out += `, maxlen=${d.maxlen}`;
    if (d.group) out += `, group=${d.group}`;
    if (d.port) out += `, port=${d.port}`;
    if (d.ttl) out += `, ttl=${d.ttl}`;
    out += ')\n';
  }
  return out;
}
