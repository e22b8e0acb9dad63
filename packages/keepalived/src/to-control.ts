/**
 * From the typed keepalived configuration to the director's control API: one ServiceSpec
 * per service address (a virtual_server_group expands to several), a DestSpec per real
 * server and for the sorry server.
 */
import { methodOfLbKind } from '@tunvs/model';
import type { DestSpec, MethodName, ServiceKey, ServiceSpec } from '@tunvs/model';
import { intToIpv4, ipv4ToInt } from './parser.js';
import type { KeepalivedConfig, LbKind, RealServer, SorryServer, TunnelOpts, VirtualServer, VirtualServerGroup } from './types.js';

/** Largest number of services one group may expand to. */
export const MAX_GROUP_EXPANSION = 65536;

/** Thrown when a configuration uses something the director cannot express (IPv6, SCTP). */
export class ConversionError extends Error {
  override readonly name = 'ConversionError';
}

/** keepalived's lb_kind → the control API's method: NAT→masq, DR→route, TUN→tunnel. */
export function lbKindToMethod(kind: LbKind): MethodName {
  return methodOfLbKind(kind);
}

/** The key part of a spec (what addDest/getService take). */
export function serviceKeyOf(spec: ServiceSpec): ServiceKey {
  if (spec.fwmark !== undefined) return { fwmark: spec.fwmark };
  return { protocol: spec.protocol!, addr: spec.addr!, port: spec.port! };
}

/**
 * Why tunvs cannot run a virtual server, in the words of its notice, or undefined when it
 * can: an IPv6 service (its address, a group entry, a real or sorry server, or a fwmark
 * service of `ip_family inet6`), an SCTP one (the engine has no SCTP yet), or one with
 * `persistence_engine sip` (tunvs has no SIP engine). keepalived accepts all three; tunvs --config-test prints `not supported by tunvs: REASON` and tunvsd
 * skips the virtual server with the same sentence logged.
 */
export function unsupportedReason(vs: VirtualServer, groups: VirtualServerGroup[] | KeepalivedConfig = []): string | undefined {
  const list = Array.isArray(groups) ? groups : groups.groups;
  const six = (a: string | undefined): boolean => a !== undefined && a.includes(':');
  const g = vs.kind === 'group' ? list.find((x) => x.name === vs.group) : undefined;
  const ipv6 =
    six(vs.addr) ||
    vs.ipFamily === 'inet6' ||
    (g?.entries.some((e) => (e.kind === 'fwmark' ? e.family === 'inet6' : six(e.first))) ?? false) ||
    vs.realServers.some((rs) => six(rs.addr)) ||
    six(vs.sorryServer?.addr);
  if (ipv6) return 'IPv6 virtual_server';
  if (vs.protocol === 'SCTP') return 'SCTP virtual_server (yet)';
  // keepalived hands the name to the kernel (ip_vs_pe_sip); tunvs has no SIP engine
  if (vs.persistenceEngine === 'sip') return 'persistence_engine sip (the SIP Call-ID persistence engine)';
  return undefined;
}

function v4(addr: string, what: string, at: { file: string; line: number }): string {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(addr)) throw new ConversionError(`${at.file}:${at.line}: ${what} ${addr}: only IPv4 is supported by tunvs`);
  return addr;
}

/** The ServiceSpecs of one virtual server (several for a group). */
export function serviceSpecs(vs: VirtualServer, groups: VirtualServerGroup[] | KeepalivedConfig = []): ServiceSpec[] {
  const list = Array.isArray(groups) ? groups : groups.groups;
  const common: ServiceSpec = { scheduler: vs.lbAlgo };
  if (vs.schedFlags.length > 0) common.schedFlags = [...vs.schedFlags];
  if (vs.persistenceTimeout > 0) common.persistent = vs.persistenceTimeout;
  if (vs.persistenceGranularity !== undefined && vs.persistenceGranularity.includes('.')) common.netmask = vs.persistenceGranularity;
  if (vs.onePacket) common.onePacket = true;
  if (vs.persistenceEngine !== undefined) common.pe = vs.persistenceEngine;
  const proto = (): 'tcp' | 'udp' => {
    if (vs.protocol === 'SCTP') throw new ConversionError(`${vs.file}:${vs.line}: protocol SCTP is not supported by tunvs`);
    return vs.protocol === 'TCP' ? 'tcp' : 'udp';
  };
  if (vs.kind === 'fwmark') return [{ ...common, fwmark: vs.fwmark! }];
  if (vs.kind === 'addr') return [{ ...common, protocol: proto(), addr: v4(vs.addr!, 'virtual server', vs), port: vs.port ?? 0 }];
  const g = list.find((x) => x.name === vs.group);
  if (g === undefined) throw new ConversionError(`${vs.file}:${vs.line}: virtual server group ${vs.group} not found`);
  const out: ServiceSpec[] = [];
  for (const e of g.entries) {
    if (e.kind === 'fwmark') {
      out.push({ ...common, fwmark: e.fwmark });
      continue;
    }
    const a = ipv4ToInt(v4(e.first, 'virtual server group entry', e));
    const b = ipv4ToInt(v4(e.last, 'virtual server group entry', e));
    if (b - a + out.length >= MAX_GROUP_EXPANSION) throw new ConversionError(`${e.file}:${e.line}: group range too large`);
    for (let n = a; n <= b; n++) out.push({ ...common, protocol: proto(), addr: intToIpv4(n), port: e.port });
  }
  return out;
}

/** The DestSpec of a real server; `weight` overrides the configured one (0 = inhibited). */
export function destSpec(rs: RealServer, weight: number = rs.weight): DestSpec {
  const d: DestSpec = { addr: v4(rs.addr, 'real server', rs), port: rs.port, method: lbKindToMethod(rs.lbKind), weight };
  if (rs.uthreshold > 0) d.upper = rs.uthreshold;
  if (rs.lthreshold > 0) d.lower = rs.lthreshold;
  tunnelSpec(d, rs.tunnel);
  return d;
}

/** The tunnel fields of a DestSpec from `lvs_method TUN type ...` (nothing for plain IPIP). */
function tunnelSpec(d: DestSpec, t: TunnelOpts | undefined): void {
  if (t === undefined) return;
  d.tunType = t.type;
  if (t.port !== undefined) d.tunPort = t.port;
  if (t.csum !== undefined) d.tunFlags = t.csum;
}

/** The DestSpec of the sorry server (weight 1, or 0 when `sorry_server_inhibit` keeps it idle). */
export function sorryDestSpec(s: SorryServer, weight = 1): DestSpec {
  const d: DestSpec = { addr: v4(s.addr, 'sorry server', s), port: s.port, method: lbKindToMethod(s.lbKind), weight };
  tunnelSpec(d, s.tunnel);
  return d;
}
