/**
 * Reading a snapshot's numbers as words: the label strings of a service or destination,
 * built where they are needed (the metrics worker, the console for the page it shows),
 * never on the packet thread.
 */
import { Proto, SvcFlag, fwdName } from '@tunvs/model';
import { DEST_FIELDS, SVC_FIELDS } from './snapshot.js';
import type { Snapshot } from './snapshot.js';

/** Dotted quad of a uint32 address. */
export function ipv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** A service of a snapshot, in words. */
export interface ServiceView {
  index: number;
  /** TCP, UDP or FWM */
  proto: string;
  /** dotted VIP, '' for fwmark services */
  vip: string;
  port: number;
  fwmark: number;
  scheduler: string;
  /** persistence timeout, 0 = not persistent */
  persistent: number;
  /** `tcp:ADDR:PORT` or `fwmark:N`, the console's and the API's name of the service */
  key: string;
  /** first destination's index and how many */
  first: number;
  count: number;
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

/** A destination of a snapshot, in words. */
export interface DestView {
  index: number;
  addr: string;
  port: number;
  /** Masq, Local, Tunnel, Route (ipvsadm's words) */
  method: string;
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  weight: number;
  overloaded: boolean;
  upper: number;
  lower: number;
}

/** Every service of a snapshot (first destination index computed). */
export function services(snap: Snapshot): ServiceView[] {
  const out: ServiceView[] = [];
  let first = 0;
  for (let i = 0; i < snap.nSvc; i++) {
    const o = i * SVC_FIELDS;
    const v = snap.svc;
    const protocol = v[o + 5]!;
    const fwmark = v[o + 8]!;
    const fwm = fwmark !== 0;
    const proto = fwm ? 'FWM' : protocol === Proto.TCP ? 'TCP' : protocol === Proto.UDP ? 'UDP' : `IP_${protocol}`;
    const vip = fwm ? '' : ipv4(v[o + 6]!);
    const port = fwm ? 0 : v[o + 7]!;
    const count = v[o + 11]!;
    out.push({
      index: i,
      proto,
      vip,
      port,
      fwmark,
      scheduler: snap.schedulers[i] ?? '',
      persistent: (v[o + 9]! & SvcFlag.PERSISTENT) !== 0 ? v[o + 10]! : 0,
      key: fwm ? `fwmark:${fwmark}` : `${proto.toLowerCase()}:${vip}:${port}`,
      first,
      count,
      conns: v[o]!,
      inPkts: v[o + 1]!,
      outPkts: v[o + 2]!,
      inBytes: v[o + 3]!,
      outBytes: v[o + 4]!,
    });
    first += count;
  }
  return out;
}

/** One destination of a snapshot. */
export function dest(snap: Snapshot, k: number): DestView {
  const v = snap.dest;
  const p = k * DEST_FIELDS;
  return {
    index: k,
    addr: ipv4(v[p + 12]!),
    port: v[p + 13]!,
    method: fwdName(v[p + 14]!),
    conns: v[p]!,
    inPkts: v[p + 1]!,
    outPkts: v[p + 2]!,
    inBytes: v[p + 3]!,
    outBytes: v[p + 4]!,
    activeConns: v[p + 5]!,
    inactConns: v[p + 6]!,
    persistConns: v[p + 7]!,
    weight: v[p + 8]!,
    overloaded: v[p + 9]! !== 0,
    upper: v[p + 10]!,
    lower: v[p + 11]!,
  };
}
