/**
 * Bring a Director's rules to a configuration by applying the difference: services and
 * destinations added, changed or removed, nothing else touched. Established connections
 * are never disturbed (the Director's operations guarantee it); a removed destination's
 * connections finish on their own.
 */
import type { DestInfo, DestSpec, DirectorControl, ServiceInfo, ServiceKey, ServiceSpec } from '@tunvs/model';
import type { ServiceConfig } from './config.js';

/** One change applied, for the structured log. */
export interface Change {
  action: 'add-service' | 'edit-service' | 'delete-service' | 'add-dest' | 'edit-dest' | 'delete-dest';
  service: string;
  dest?: string;
}

/** The key string of a service, as used in change records: `tcp:ADDR:PORT` or `fwmark:N`. */
export function svcKeyString(k: { fwmark?: number; protocol?: string | null; addr?: string; port?: number }): string {
  return k.fwmark ? `fwmark:${k.fwmark}` : `${k.protocol}:${k.addr}:${k.port}`;
}

function keyOf(s: ServiceInfo): ServiceKey {
  return s.fwmark ? { fwmark: s.fwmark } : { protocol: s.protocol ?? 'tcp', addr: s.addr, port: s.port };
}

/** A destination spec with ipvsadm's defaults filled in (and DR/TUN ports forced). */
export function normalizeDest(svc: ServiceSpec, d: DestSpec): Required<Pick<DestSpec, 'addr' | 'port' | 'method' | 'weight' | 'upper' | 'lower'>> {
  const method = d.method ?? 'route';
  const port = !svc.fwmark && (method === 'route' || method === 'tunnel') ? (svc.port ?? 0) : d.port;
  return { addr: d.addr, port, method, weight: d.weight ?? 1, upper: d.upper ?? 0, lower: d.lower ?? 0 };
}

function serviceDiffers(cur: ServiceInfo, want: ServiceSpec): boolean {
  return (
    cur.scheduler !== (want.scheduler ?? 'wlc') ||
    cur.persistent !== (want.persistent ?? 0) ||
    cur.netmask !== (want.netmask ?? '255.255.255.255') ||
    cur.onePacket !== Boolean(want.onePacket) ||
    [...cur.schedFlags].sort().join(',') !== [...(want.schedFlags ?? [])].sort().join(',')
  );
}

function destDiffers(cur: DestInfo, want: ReturnType<typeof normalizeDest>): boolean {
  return cur.method !== want.method || cur.weight !== want.weight || cur.upper !== want.upper || cur.lower !== want.lower;
}

/**
 * Apply `wanted` to `ctl`; returns the changes made. Throws on the first failing operation.
 * Services whose key (svcKeyString) is in `managed` are added, edited and deleted, but their
 * destinations are left alone (a health checker owns them).
 */
export function reconcile(ctl: DirectorControl, wanted: ServiceConfig[], managed: ReadonlySet<string> = new Set()): Change[] {
  const changes: Change[] = [];
  const current = new Map(ctl.listServices().map((s) => [svcKeyString(s), s]));
  const seen = new Set<string>();
  for (const w of wanted) {
    const { dests = [], ...spec } = w;
    const k = svcKeyString(spec);
    seen.add(k);
    const cur = current.get(k);
    if (!cur) {
      ctl.addService(spec);
      changes.push({ action: 'add-service', service: k });
    } else if (serviceDiffers(cur, spec)) {
      ctl.editService(spec);
      changes.push({ action: 'edit-service', service: k });
    }
    if (managed.has(k)) continue;
    const curDests = new Map((cur?.dests ?? []).map((d) => [`${d.addr}:${d.port}`, d]));
    const wantDests = new Set<string>();
    // add in configuration order (the kernel list ends up reversed, as with ipvsadm -a)
    for (const d of dests) {
      const n = normalizeDest(spec, d);
      const dk = `${n.addr}:${n.port}`;
      wantDests.add(dk);
      const c = curDests.get(dk);
      if (!c) {
        ctl.addDest(spec, n);
        changes.push({ action: 'add-dest', service: k, dest: dk });
      } else if (destDiffers(c, n)) {
        ctl.editDest(spec, n);
        changes.push({ action: 'edit-dest', service: k, dest: dk });
      }
    }
    for (const [dk, d] of curDests) {
      if (!wantDests.has(dk)) {
        ctl.deleteDest(spec, { addr: d.addr, port: d.port });
        changes.push({ action: 'delete-dest', service: k, dest: dk });
      }
    }
  }
  for (const [k, s] of current) {
    if (!seen.has(k)) {
      ctl.deleteService(keyOf(s));
      changes.push({ action: 'delete-service', service: k });
    }
  }
  return changes;
}
