/**
 * Turns a snapshot into the Prometheus text format with prom-client: one prom-client
 * Registry whose metrics are the families of names.ts, each answering `get()` with the
 * values of the snapshot being rendered (prom-client does the escaping, HELP/TYPE lines
 * and number formatting). Label objects are built once per topology change and reused.
 * Runs in the metrics worker (or inline in tests and tools).
 */
import { Registry } from 'prom-client';
import type { Metric } from 'prom-client';
import { FAMILIES } from './names.js';
import type { FamilyDef, FamilyKey } from './names.js';
import { DEST_FIELDS, SVC_FIELDS } from './snapshot.js';
import type { Snapshot } from './snapshot.js';
import { services as serviceViews, ipv4 } from './view.js';
import { VRRP_STATES } from './feeds.js';

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
}

/** The Prometheus text format content type prom-client writes. */
export const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

interface LabelCache {
  gen: number;
  ipvs: Labels[];
  svc: Labels[];
  dest: Labels[];
}

/** Renders snapshots; keeps the registry and the label cache between scrapes. */
export class Exposition {
  private readonly registry = new Registry();
  private snap: Snapshot | null = null;
  private labels: LabelCache = { gen: -1, ipvs: [], svc: [], dest: [] };

  constructor() {
    for (const key of Object.keys(FAMILIES) as FamilyKey[]) {
      const def: FamilyDef = FAMILIES[key];
      const metric = {
        name: def.name,
        help: def.help,
        type: def.type,
        get: async () => ({ name: def.name, help: def.help, type: def.type, aggregator: 'sum', values: this.values(key) }),
      };
      this.registry.registerMetric(metric as unknown as Metric);
    }
  }

  /** Render one snapshot. */
  async render(snap: Snapshot): Promise<string> {
    this.snap = snap;
    this.buildLabels();
    try {
      return await this.registry.metrics();
    } finally {
      this.snap = null;
    }
  }

  /** Label objects of every service and destination, rebuilt when the set changed. */
  private buildLabels(): void {
    const snap = this.snap!;
    if (this.labels.gen === snap.gen) return;
    const ipvs: Labels[] = [];
    const svc: Labels[] = [];
    const dest: Labels[] = [];
    for (const s of serviceViews(snap)) {
      const fwm = s.proto === 'FWM';
      const sl: Labels = { proto: s.proto, vip: s.vip, port: String(s.port), fwmark: fwm ? String(s.fwmark) : '' };
      svc.push(sl);
      for (let k = s.first; k < s.first + s.count; k++) {
        const rip = ipv4(snap.dest[k * DEST_FIELDS + 12]!);
        const rport = String(snap.dest[k * DEST_FIELDS + 13]!);
        // node_exporter's label order (sorted) and values: empty address and the
        // kernel's 8 hex digits of the mark for fwmark services
        ipvs.push({
          local_address: s.vip,
          local_mark: fwm ? (s.fwmark >>> 0).toString(16).toUpperCase().padStart(8, '0') : '',
          local_port: String(s.port),
          proto: s.proto,
          remote_address: rip,
          remote_port: rport,
        });
        dest.push({ ...sl, rip, rport });
      }
    }
    this.labels = { gen: snap.gen, ipvs, svc, dest };
  }

  private perSvc(field: number): Value[] {
    const s = this.snap!;
    const out: Value[] = new Array(s.nSvc);
    for (let i = 0; i < s.nSvc; i++) out[i] = { labels: this.labels.svc[i]!, value: s.svc[i * SVC_FIELDS + field]! };
    return out;
  }

  private perDest(field: number, labels: Labels[] = this.labels.dest): Value[] {
    const s = this.snap!;
    const out: Value[] = new Array(s.nDest);
    for (let i = 0; i < s.nDest; i++) out[i] = { labels: labels[i]!, value: s.dest[i * DEST_FIELDS + field]! };
    return out;
  }

  private total(field: number): Value[] {
    const s = this.snap!;
    let v = s.scalars.retired[field] ?? 0;
    for (let i = 0; i < s.nSvc; i++) v += s.svc[i * SVC_FIELDS + field]!;
    return [{ labels: {}, value: v }];
  }

  private values(key: FamilyKey): Value[] {
    const s = this.snap!;
    const sc = s.scalars;
    const rec = (r: Record<string, number>, label: string): Value[] => Object.entries(r).map(([k, v]) => ({ labels: { [label]: k }, value: v }));
    switch (key) {
      case 'ipvsConnections':
        return this.total(0);
      case 'ipvsInPackets':
        return this.total(1);
      case 'ipvsOutPackets':
        return this.total(2);
      case 'ipvsInBytes':
        return this.total(3);
      case 'ipvsOutBytes':
        return this.total(4);
      case 'ipvsActive':
        return this.perDest(5, this.labels.ipvs);
      case 'ipvsInactive':
        return this.perDest(6, this.labels.ipvs);
      case 'ipvsWeight':
        return this.perDest(8, this.labels.ipvs);
      case 'svcConns':
        return this.perSvc(0);
      case 'svcInPkts':
        return this.perSvc(1);
      case 'svcOutPkts':
        return this.perSvc(2);
      case 'svcInBytes':
        return this.perSvc(3);
      case 'svcOutBytes':
        return this.perSvc(4);
      case 'destConns':
        return this.perDest(0);
      case 'destInPkts':
        return this.perDest(1);
      case 'destOutPkts':
        return this.perDest(2);
      case 'destInBytes':
        return this.perDest(3);
      case 'destOutBytes':
        return this.perDest(4);
      case 'destPersistent':
        return this.perDest(7);
      case 'destOverloaded':
        return this.perDest(9);
      case 'schedDecisions':
        return rec(sc.sched, 'result');
      case 'drops':
        return rec(sc.drops, 'reason');
      case 'packets':
        return [
          { labels: { direction: 'rx' }, value: sc.packets.rx },
          { labels: { direction: 'tx' }, value: sc.packets.tx },
        ];
      case 'events':
        return rec(sc.events, 'event');
      case 'ctEntries':
        return Object.entries(sc.conntrack.states ?? {}).map(([k, v]) => {
          const [proto, state] = k.split('|');
          return { labels: { proto: proto!, state: state! }, value: v };
        });
      case 'ctCapacity':
        return [{ labels: {}, value: sc.conntrack.capacity }];
      case 'ctEvents':
        return rec(sc.conntrack.events, 'event');
      case 'linkPackets':
      case 'linkBytes':
      case 'linkBatches':
      case 'linkDrops': {
        const out: Value[] = [];
        for (const l of sc.links) {
          const base = { link: l.name, queue: String(l.queue), worker: String(l.worker) };
          if (key === 'linkPackets') out.push({ labels: { ...base, direction: 'rx' }, value: l.rxPackets }, { labels: { ...base, direction: 'tx' }, value: l.txPackets });
          else if (key === 'linkBytes') out.push({ labels: { ...base, direction: 'rx' }, value: l.rxBytes }, { labels: { ...base, direction: 'tx' }, value: l.txBytes });
          else if (key === 'linkBatches') out.push({ labels: base, value: l.rxBatches });
          else
            out.push(
              { labels: { ...base, direction: 'tx', reason: 'dropped' }, value: l.txDropped },
              { labels: { ...base, direction: 'tx', reason: 'error' }, value: l.txErrors },
              { labels: { ...base, direction: 'rx', reason: 'error' }, value: l.rxErrors },
            );
        }
        return out;
      }
      case 'rsUp':
      case 'rsTransitions': {
        const out: Value[] = [];
        for (const r of sc.health ?? []) {
          if (!r.checked) continue;
          const labels = { virtual_server: r.virtualServer, rip: r.addr, rport: String(r.port) };
          out.push({ labels, value: key === 'rsUp' ? (r.up ? 1 : 0) : r.transitions });
        }
        return out;
      }
      case 'checkDuration':
      case 'checkError':
      case 'checkTotal': {
        const out: Value[] = [];
        for (const r of sc.health ?? []) {
          for (const c of r.checkers) {
            const labels = { virtual_server: r.virtualServer, rip: r.addr, rport: String(r.port), checker: c.type, index: String(c.index) };
            if (key === 'checkTotal') {
              out.push({ labels: { ...labels, result: 'ok' }, value: c.checks - c.failures }, { labels: { ...labels, result: 'failed' }, value: c.failures });
            } else if (c.lastCheck > 0) out.push({ labels, value: key === 'checkDuration' ? c.lastDuration : c.lastError });
          }
        }
        return out;
      }
      case 'vrrpState':
      case 'vrrpPrio':
      case 'vrrpBase':
      case 'vrrpSent':
      case 'vrrpRcvd':
      case 'vrrpDiscarded':
      case 'vrrpBecome':
      case 'vrrpRelease':
      case 'vrrpTransitions':
      case 'vrrpPrioZero': {
        const out: Value[] = [];
        for (const v of sc.vrrp?.instances ?? []) {
          const labels = { instance: v.name, vrid: String(v.vrid), interface: v.interface };
          if (key === 'vrrpState') out.push({ labels, value: Math.max(0, VRRP_STATES.indexOf(v.state)) });
          else if (key === 'vrrpPrio') out.push({ labels, value: v.effectivePriority });
          else if (key === 'vrrpBase') out.push({ labels, value: v.basePriority });
          else if (key === 'vrrpSent') out.push({ labels, value: v.advertsSent });
          else if (key === 'vrrpRcvd') out.push({ labels, value: v.advertsReceived });
          else if (key === 'vrrpBecome') out.push({ labels, value: v.becameMaster });
          else if (key === 'vrrpRelease') out.push({ labels, value: v.releasedMaster });
          else if (key === 'vrrpTransitions') out.push({ labels, value: v.transitions });
          else if (key === 'vrrpPrioZero')
            out.push({ labels: { ...labels, direction: 'sent' }, value: v.priorityZeroSent }, { labels: { ...labels, direction: 'received' }, value: v.priorityZeroReceived });
          else for (const [reason, n] of Object.entries(v.discarded)) out.push({ labels: { ...labels, reason }, value: n ?? 0 });
        }
        return out;
      }
      case 'syncMessages':
      case 'syncRecords':
      case 'syncDrops': {
        const out: Value[] = [];
        for (const d of sc.sync ?? []) {
          const labels = { role: d.role, syncid: String(d.syncid) };
          if (key === 'syncMessages')
            out.push({ labels: { ...labels, direction: 'sent' }, value: d.messagesSent }, { labels: { ...labels, direction: 'received' }, value: d.messagesReceived });
          else if (key === 'syncRecords')
            out.push(
              { labels: { ...labels, direction: 'sent' }, value: d.recordsSent },
              { labels: { ...labels, direction: 'received' }, value: d.recordsReceived },
              { labels: { ...labels, direction: 'applied' }, value: d.recordsApplied },
            );
          else for (const [reason, n] of Object.entries(d.drops)) out.push({ labels: { ...labels, reason }, value: n ?? 0 });
        }
        return out;
      }
      case 'reloads':
        return [
          { labels: { result: 'ok' }, value: sc.reloads.ok },
          { labels: { result: 'failed' }, value: sc.reloads.failed },
        ];
      case 'reloadOk':
        return [{ labels: {}, value: sc.reloads.lastOk ? 1 : 0 }];
      case 'reloadTime':
        return [{ labels: {}, value: sc.reloads.lastSuccess / 1000 }];
      case 'controlOps':
        return rec(sc.controlOps, 'op');
      case 'consoleMutations':
        return Object.entries(sc.consoleMutations).map(([k, v]) => {
          const [op, result] = k.split('|');
          return { labels: { op: op!, result: result! }, value: v };
        });
      case 'loginFailures':
        return [{ labels: {}, value: sc.loginFailures }];
      case 'snapshotSeconds':
        return [{ labels: {}, value: sc.snapshotSeconds }];
      case 'buildInfo':
        return [{ labels: { version: sc.version }, value: 1 }];
    }
    return [];
  }
}
