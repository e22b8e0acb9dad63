/**
 * The control API of a director (`DirectorControl` of @tunvs/model, the kernel's
 * ip_vs_ctl.c): services and destinations, timeouts, listings and counters, over the
 * same tables the data path reads. Errors are ControlErrors with the kernel's errno.
 * A destination is admitted by its forwarder (a method the link cannot carry is refused
 * with EINVAL and the reason) and bound to it once added or edited.
 */
import type { ConnTable } from '@tunvs/conntrack';
import type { Link } from '@tunvs/link';
import { LINK_COUNTER_NAMES } from '@tunvs/link';
import { checkDefense, checkTimeouts } from '@tunvs/model';
import { formatIpv4 } from '@tunvs/packet';
import type {
  ConnInfo, DefenseSettings, DestSpec, DirectorControl, DirectorInfo, ServiceInfo, ServiceKey, ServiceSpec, Timeouts,
} from '@tunvs/model';
import type { DirectorCounters } from './counters.js';
import { fail } from './errors.js';
import type { Estimator } from './estimator.js';
import type { ForwarderTable } from './forwarders.js';
import type { Neighbours } from './neighbours.js';
import { ServiceTable } from './services.js';

/** tunvs version, shown by `tunvsadm --version` and the listing header. */
export const TUNVS_VERSION = '0.1.0';

/** What the control API tells its listener (tunvsd logs it). */
export type DirectorEvent =
  | { type: 'service-added' | 'service-edited' | 'service-deleted'; service: ServiceKey }
  | { type: 'dest-added' | 'dest-edited' | 'dest-deleted'; service: ServiceKey; dest: Pick<DestSpec, 'addr' | 'port'> }
  | { type: 'cleared' }
  | { type: 'timeouts'; timeouts: Timeouts }
  | { type: 'defense'; defense: DefenseSettings };

/** The tables and helpers the control API works on. */
export interface ControlParts {
  readonly table: ServiceTable;
  readonly conns: ConnTable;
  readonly estimator: Estimator;
  readonly fwds: ForwarderTable;
  readonly counters: DirectorCounters;
  /** the neighbour cache of every interface (TAP), [] on TUN */
  readonly neighbours: readonly Neighbours[];
  readonly links: readonly Link[];
  readonly now: () => number;
  readonly onEvent: (ev: DirectorEvent) => void;
}

export class Control implements DirectorControl {
  constructor(private readonly d: ControlParts) {}

  addService(spec: ServiceSpec): void {
    const svc = this.d.table.addService(spec);
    this.d.estimator.add(svc.stats);
    this.d.onEvent({ type: 'service-added', service: keyOf(spec) });
  }

  editService(spec: ServiceSpec): void {
    this.d.table.editService(spec);
    this.d.onEvent({ type: 'service-edited', service: keyOf(spec) });
  }

  deleteService(key: ServiceKey): void {
    const svc = this.d.table.lookup(key, 'deleteService');
    this.d.table.deleteService(key);
    if (svc) this.d.estimator.remove(svc.stats);
    this.d.onEvent({ type: 'service-deleted', service: keyOf(key) });
  }

  clear(): void {
    for (const s of this.d.table.services) this.d.estimator.remove(s.stats);
    this.d.table.clear();
    this.d.onEvent({ type: 'cleared' });
  }

  addDest(key: ServiceKey, raw: DestSpec): void {
    // the kernel's checks in the kernel's order (the table), then the link's own refusals
    const d = this.d.table.addDest(key, raw, (spec) => this.d.fwds.admit(spec, 'addDest'));
    this.d.fwds.bind(d);
    this.d.estimator.add(d.stats);
    this.d.onEvent({ type: 'dest-added', service: keyOf(key), dest: { addr: formatIpv4(d.addr), port: d.port } });
  }

  editDest(key: ServiceKey, raw: DestSpec): void {
    const d = this.d.table.editDest(key, raw, (spec) => this.d.fwds.admit(spec, 'editDest'));
    this.d.fwds.bind(d);
    this.d.onEvent({ type: 'dest-edited', service: keyOf(key), dest: { addr: formatIpv4(d.addr), port: d.port } });
  }

  deleteDest(key: ServiceKey, dest: Pick<DestSpec, 'addr' | 'port'>): void {
    this.d.table.deleteDest(key, dest);
    this.d.onEvent({ type: 'dest-deleted', service: keyOf(key), dest: { addr: dest.addr, port: dest.port } });
  }

  zero(key?: ServiceKey): void {
    const t = this.d.table;
    t.zero(key);
    const list = key && (key.fwmark || key.addr) ? [t.lookup(key)!] : t.services;
    for (const s of list) {
      this.d.estimator.reset(s.stats);
      for (const d of s.dests) this.d.estimator.reset(d.stats);
    }
  }

  listServices(): ServiceInfo[] {
    return this.d.table.services.map((s) => ServiceTable.serviceInfo(s));
  }

  getService(key: ServiceKey): ServiceInfo {
    const s = this.d.table.lookup(key, 'getService');
    if (!s) fail('ESRCH', 'getService', 'No such service');
    return ServiceTable.serviceInfo(s);
  }

  listConnections(): ConnInfo[] {
    return [...this.connections()];
  }

  /** The connection table read lazily (the control socket streams it in chunks). */
  *connections(): IterableIterator<ConnInfo> {
    for (const e of this.d.conns.entries(this.d.now())) {
      yield {
        protocol: e.protocolName,
        clientAddr: formatIpv4(e.caddr >>> 0),
        clientPort: e.cport,
        virtualAddr: formatIpv4(e.vaddr >>> 0),
        virtualPort: e.vport,
        destAddr: formatIpv4(e.daddr >>> 0),
        destPort: e.dport,
        state: e.state,
        expires: e.expires,
        template: e.template,
        fwmark: e.fwmark,
      };
    }
  }

  setTimeouts(t: Partial<Timeouts>): void {
    this.d.conns.setTimeouts(checkTimeouts(t, 'setTimeouts'));
    this.d.onEvent({ type: 'timeouts', timeouts: this.d.conns.getTimeouts() });
  }

  getTimeouts(): Timeouts {
    return this.d.conns.getTimeouts();
  }

  /** The defence sysctls (drop_entry, drop_packet, secure_tcp, amemthresh, am_droprate): checked, applied at once. */
  setDefense(d: Partial<DefenseSettings>): void {
    this.d.conns.setDefense(checkDefense(d, 'setDefense'));
    this.d.onEvent({ type: 'defense', defense: this.d.conns.getDefense() });
  }

  getDefense(): DefenseSettings {
    return this.d.conns.getDefense();
  }

  info(): DirectorInfo {
    // like ipvsadm's (size=N): the connection hash's bucket count
    return { version: TUNVS_VERSION, connTableSize: this.d.conns.bucketCount };
  }

  /** Named counters of the director, its table, its neighbour cache and its links. */
  stats(): Record<string, number> {
    const out: Record<string, number> = { ...this.d.counters.snapshot() };
    for (const [k, v] of Object.entries(this.d.conns.counters)) out['conntrack.' + k] = v as number;
    out['conntrack.size'] = this.d.conns.size;
    for (const [k, v] of Object.entries(this.d.fwds.ftp.counters)) out['ftp.' + k] = v;
    // summed over the interfaces
    for (const n of this.d.neighbours) for (const [k, v] of Object.entries(n.counters)) out['neigh.' + k] = (out['neigh.' + k] ?? 0) + v;
    this.d.links.forEach((l, i) => {
      // by name: an AF_XDP/AF_PACKET link serves its counters through getters
      for (const k of LINK_COUNTER_NAMES) out[`link${i}.${k}`] = l.counters[k];
    });
    return out;
  }
}

function keyOf(k: ServiceKey): ServiceKey {
  return k.fwmark ? { fwmark: k.fwmark } : { protocol: k.protocol, addr: k.addr, port: k.port };
}
