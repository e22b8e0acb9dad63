/**
 * tunvsd's configuration file: JSON with `//` comment lines allowed. It names the device,
 * the addresses the director owns, and the rules to keep (services and destinations,
 * timeouts, firewall-mark rules). See the README for a commented example.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { DestSpec, ServiceSpec, Timeouts } from '@tunvs/model';
import { parseCidr, parseIpv4 } from '@tunvs/packet';
import type { MarkRule } from '@tunvs/engine';
import { parseHttpConfig } from '@tunvs/console';
import type { HttpConfig } from '@tunvs/console';
import { isPluginPath, pluginPathProblem } from './plugins.js';

export interface DeviceConfig {
  /** interface name, default tunvs0 */
  name: string;
  /** 'tun' (layer 3: NAT, IPIP) or 'tap' (layer 2: NAT, IPIP, DR) */
  kind: 'tun' | 'tap';
  /** number of queues (IFF_MULTI_QUEUE when > 1), default 1 */
  queues: number;
  /** prefix packets with a virtio_net_hdr and enable offloads (GSO), default false */
  vnetHdr: boolean;
  /** device MTU, default: leave as is */
  mtu?: number;
  /** TAP: the director's own MAC (not the kernel interface's), default 02:00:00:00:00:01 */
  mac: string;
  /** TAP: addresses the director owns, with on-link prefix, e.g. "10.10.0.1/24" */
  addresses: string[];
  /** TAP: default gateway */
  gateway?: string;
}

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
  timeouts?: Partial<Timeouts>;
  marks?: MarkConfig[];
  services: ServiceConfig[];
  /** kernel switches */
  expireNodestConn?: boolean;
  expireQuiescentTemplate?: boolean;
  connReuseMode?: number;
  /** keepalived.conf whose virtual_servers tunvsd runs with health checks (JSON key `keepalivedConf`, relative to the config file) */
  keepalivedConf?: string;
  /** /metrics, the status API and the console (JSON key `http`; off when absent) */
  http?: HttpConfig;
}

/** A configuration error naming the file and what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Read and validate a configuration file. */
export function loadConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseConfig(text, path);
}

/** Parse configuration text (JSON, `//` comment lines allowed). */
export function parseConfig(text: string, file = '<config>'): DaemonConfig {
  const stripped = text
    .split('\n')
    .map((l) => (/^\s*\/\//.test(l) ? '' : l))
    .join('\n');
  let raw: unknown;
  try {
    raw = JSON.parse(stripped);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = m ? stripped.slice(0, Number(m[1])).split('\n').length : 0;
    throw new ConfigError(`${file}${line ? ':' + line : ''}: ${(e as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new ConfigError(`${file}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) bad('the configuration must be a JSON object');
  const c = raw as Record<string, unknown>;
  const dev = (c.device ?? {}) as Record<string, unknown>;
  const kind = dev.kind ?? 'tun';
  if (kind !== 'tun' && kind !== 'tap') bad(`device.kind must be "tun" or "tap", not ${JSON.stringify(kind)}`);
  const addresses = (dev.addresses ?? []) as unknown[];
  for (const a of addresses) {
    try {
      parseCidr(String(a));
    } catch (e) {
      bad(`device.addresses: ${(e as Error).message}`);
    }
  }
  const device: DeviceConfig = {
    name: String(dev.name ?? 'tunvs0'),
    kind: kind as 'tun' | 'tap',
    queues: Number(dev.queues ?? 1),
    vnetHdr: Boolean(dev.vnetHdr ?? false),
    mac: String(dev.mac ?? '02:00:00:00:00:01'),
    addresses: addresses.map(String),
  };
  if (dev.mtu !== undefined) device.mtu = Number(dev.mtu);
  if (dev.gateway !== undefined) device.gateway = String(dev.gateway);
  if (!Number.isInteger(device.queues) || device.queues < 1 || device.queues > 16) bad('device.queues must be 1..16');
  const services = (c.services ?? []) as ServiceConfig[];
  if (!Array.isArray(services)) bad('services must be a list');
  services.forEach((s, i) => {
    if (!s.fwmark && (!s.protocol || !s.addr || s.port === undefined)) bad(`services[${i}]: needs fwmark, or protocol + addr + port`);
    if (s.addr) {
      try {
        parseIpv4(s.addr);
      } catch (e) {
        bad(`services[${i}].addr: ${(e as Error).message}`);
      }
    }
    if (isPluginPath(s.scheduler)) {
      const why = pluginPathProblem(s.scheduler);
      if (why !== null) bad(`services[${i}].scheduler: ${why}`);
    }
  });
  const cfg: DaemonConfig = { device, services };
  if (c.sourceAddress !== undefined) cfg.sourceAddress = String(c.sourceAddress);
  if (c.socket !== undefined) cfg.socket = String(c.socket);
  if (c.connCapacity !== undefined) cfg.connCapacity = Number(c.connCapacity);
  if (c.timeouts !== undefined) cfg.timeouts = c.timeouts as Partial<Timeouts>;
  if (c.marks !== undefined) cfg.marks = c.marks as MarkConfig[];
  if (c.expireNodestConn !== undefined) cfg.expireNodestConn = Boolean(c.expireNodestConn);
  if (c.expireQuiescentTemplate !== undefined) cfg.expireQuiescentTemplate = Boolean(c.expireQuiescentTemplate);
  if (c.connReuseMode !== undefined) cfg.connReuseMode = Number(c.connReuseMode);
  if (c.http !== undefined) {
    try {
      cfg.http = parseHttpConfig(c.http, file);
    } catch (e) {
      bad((e as Error).message);
    }
  }
  if (c.keepalivedConf !== undefined) {
    const k = String(c.keepalivedConf);
    cfg.keepalivedConf = isAbsolute(k) || file === '<config>' ? k : join(dirname(file), k);
  }
  return cfg;
}

/** Compile mark rules of the configuration for the engine (one rule per port range). */
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
