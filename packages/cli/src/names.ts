/**
 * Name lookups, as ipvsadm does them through the C library: host names and service (port)
 * names. Everything is synchronous and file-based (/etc/hosts, /etc/services), so output is
 * deterministic: there is no DNS here, and when a lookup finds nothing the numeric form is
 * used, which is ipvsadm's own fallback.
 */
import { readFileSync } from 'node:fs';

/** The four lookups ipvsadm makes. A null answer means "not found". */
export interface Resolver {
  /** gethostbyaddr: the host name of an address (dotted IPv4 or IPv6 text) */
  hostByAddr(addr: string): string | null;
  /** gethostbyname: the first IPv4 address of a host name, dotted */
  addrByHost(name: string): string | null;
  /** getservbyport: the service name of a port for `tcp`/`udp`/`sctp` */
  portName(port: number, proto: string): string | null;
  /** getservbyname: the port of a service name for `tcp`/`udp`/`sctp` */
  portByName(name: string, proto: string): number | null;
}

/** A resolver that never finds anything (numeric everywhere). */
export const nullResolver: Resolver = {
  hostByAddr: () => null,
  addrByHost: () => null,
  portName: () => null,
  portByName: () => null,
};

interface ServEntry {
  name: string;
  aliases: string[];
  port: number;
  proto: string;
}

interface HostEntry {
  addr: string;
  names: string[];
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Parse /etc/services text: `name port/proto [aliases...] [# comment]`. */
export function parseServices(text: string): ServEntry[] {
  const out: ServEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(f[1] ?? '');
    if (!m) continue;
    out.push({ name: f[0]!, aliases: f.slice(2), port: Number(m[1]), proto: m[2]! });
  }
  return out;
}

/** Parse /etc/hosts text: `addr canonical [aliases...]`. */
export function parseHosts(text: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    if (f.length < 2) continue;
    out.push({ addr: f[0]!, names: f.slice(1) });
  }
  return out;
}

/** A resolver over hosts/services file contents (the first matching line wins, like the C library). */
export function tableResolver(hostsText: string, servicesText: string): Resolver {
  const services = parseServices(servicesText);
  const hosts = parseHosts(hostsText);
  return {
    hostByAddr(addr) {
      const h = hosts.find((e) => e.addr === addr);
      return h ? h.names[0]! : null;
    },
    addrByHost(name) {
      const h = hosts.find((e) => /^\d+\.\d+\.\d+\.\d+$/.test(e.addr) && e.names.includes(name));
      return h ? h.addr : null;
    },
    portName(port, proto) {
      const s = services.find((e) => e.port === port && e.proto === proto);
      return s ? s.name : null;
    },
    portByName(name, proto) {
      const s = services.find((e) => e.proto === proto && (e.name === name || e.aliases.includes(name)));
      return s ? s.port : null;
    },
  };
}

let systemCache: Resolver | null = null;

/** The system resolver: /etc/hosts and /etc/services, read once. */
export function systemResolver(): Resolver {
  systemCache ??= tableResolver(readOr('/etc/hosts'), readOr('/etc/services'));
  return systemCache;
}
