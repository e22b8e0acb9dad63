/**
 * From the interpreted keepalived configuration (VrrpConfig of @tunvs/keepalived) to what
 * the VRRP state machine runs (InstanceSpec of @tunvs/vrrp), and the list of things
 * keepalived accepts that tunvsd refuses to run, each with file:line and a reason.
 */
import { parseIpv4 } from '@tunvs/packet';
import { authPassBytes } from '@tunvs/vrrp';
import type { InstanceSpec, NotifyScript, NotifyScripts, TrackRef } from '@tunvs/vrrp';
import { unsupportedMessage } from '@tunvs/keepalived';
import type { Diagnostic, KeepalivedConfig, ScriptSpec, SyncGroupConfig, TrackFile, TrackRefConfig, VrrpConfig, VrrpInstanceConfig, VrrpNotifyConfig, VrrpScriptConfig } from '@tunvs/keepalived';
import { tapRefusals } from './vrrp-tap.js';

/** A refusal: keepalived would run it, tunvsd will not. */
export interface VrrpRefusal {
  file: string;
  line: number;
  message: string;
}

const S = 1_000_000;

/** The InstanceSpec of a configured instance. */
export function instanceSpec(c: VrrpInstanceConfig): InstanceSpec {
  return {
    name: c.name,
    vrid: c.vrid,
    version: c.version,
    priority: c.priority,
    adverIntUs: Math.round(c.advertInt * S),
    wantMaster: c.wantMaster,
    nopreempt: c.nopreempt,
    preemptDelayUs: Math.round(c.preemptDelay * S),
    downTimerAdverts: c.downTimerAdverts,
    authType: c.authType === 'PASS' ? 1 : 0,
    authData: c.authType === 'PASS' ? authPassBytes(c.authPass ?? '') : new Uint8Array(8),
    vips: c.vips.filter((v) => v.family === 4).map((v) => parseIpv4(v.addr)),
    unicastPeers: c.unicastPeers.map((p) => parseIpv4(p.addr)),
    checkUnicastSrc: c.checkUnicastSrc,
    v3ChecksumAsV2: false,
    skipCheckAdvAddr: c.skipCheckAdvAddr,
    lowerPrioNoAdvert: c.lowerPrioNoAdvert,
    higherPrioSendAdvert: c.higherPrioSendAdvert,
    notifyPriorityChanges: c.notifyPriorityChanges,
    garp: {
      masterDelayUs: c.garpMasterDelay * S,
      masterRepeat: c.garpMasterRepeat,
      masterRefreshUs: c.garpMasterRefresh * S,
      masterRefreshRepeat: c.garpMasterRefreshRepeat,
      lowerPrioRepeat: c.garpLowerPrioRepeat,
      lowerPrioDelayUs: c.garpLowerPrioDelay * S,
    },
  };
}

/** Tracking references of an instance: its own, its sync group's, and the implicit ones. */
export function trackRefs(
  c: VrrpInstanceConfig,
  group: SyncGroupConfig | undefined,
  files: readonly TrackFile[] = [],
  scripts: readonly VrrpScriptConfig[] = [],
): TrackRef[] {
  const ref = (kind: TrackRef['kind'], t: TrackRefConfig): TrackRef => {
    if (kind === 'script' && !t.weightSet) {
      // a track_script reference without its own weight takes the vrrp_script's
      const sc = scripts.find((x) => x.name === t.name);
      if (sc) return { kind, name: t.name, weight: sc.weight, reverse: sc.weightReverse };
    }
    if (kind === 'file' && !t.weightSet) {
      // a track_file reference without its own weight takes the vrrp_track_file's
      const f = files.find((x) => x.name === t.name);
      if (f) return { kind, name: t.name, weight: f.weight, reverse: f.reverse };
    }
    return { kind, name: t.name, weight: t.weight, reverse: t.reverse };
  };
  const out: TrackRef[] = [];
  // keepalived always tracks the instance's own interface (weight 0) unless dont_track_primary,
  // and the interface of every VIP that is not no_track
  if (c.interface && !c.dontTrackPrimary) out.push({ kind: 'interface', name: c.interface, weight: 0, reverse: false });
  for (const v of [...c.vips, ...c.excludedVips]) {
    if (v.dev && !v.noTrack && v.dev !== c.interface && !out.some((r) => r.kind === 'interface' && r.name === v.dev)) {
      out.push({ kind: 'interface', name: v.dev, weight: 0, reverse: false });
    }
  }
  for (const t of c.trackInterfaces) out.push(ref('interface', t));
  // keepalived removes the tracking of a disabled (missing or insecure) script
  const off = new Set(scripts.filter((x) => x.script.refused !== undefined).map((x) => x.name));
  for (const t of c.trackScripts) if (!off.has(t.name)) out.push(ref('script', t));
  for (const t of c.trackFiles) out.push(ref('file', t));
  if (group) {
    for (const t of group.trackInterfaces) out.push(ref('interface', t));
    for (const t of group.trackScripts) if (!off.has(t.name)) out.push(ref('script', t));
    for (const t of group.trackFiles) out.push(ref('file', t));
  }
  return out;
}

function script(s: ScriptSpec | undefined): NotifyScript | undefined {
  // refused (insecure under enable_script_security): keepalived drops it, it never runs
  if (!s || s.refused !== undefined) return undefined;
  const o: NotifyScript = { argv: s.argv };
  if (s.user !== undefined) o.user = s.user;
  if (s.group !== undefined) o.group = s.group;
  return o;
}

/** Notify scripts in @tunvs/vrrp's terms. */
export function notifyScripts(n: VrrpNotifyConfig): NotifyScripts {
  const o: NotifyScripts = {};
  const set = (k: keyof NotifyScripts, s: ScriptSpec | undefined): void => {
    const x = script(s);
    if (x) o[k] = x;
  };
  set('master', n.master);
  set('backup', n.backup);
  set('fault', n.fault);
  set('stop', n.stop);
  set('deleted', n.deleted);
  set('notify', n.notify);
  set('masterRxLowerPri', n.masterRxLowerPri);
  return o;
}

/** What tunvsd will not run, with where it is configured (`device`: tunvsd's TAP or kernel-bypass device, `label` its kind in messages). */
export function refusals(v: VrrpConfig, tapDevice?: string, label?: string): VrrpRefusal[] {
  const out: VrrpRefusal[] = [];
  for (const i of v.instances) {
    // i.unsupported is the one list, and this its one wording: --config-test reports each
    // entry as an error, so a file that passes has none
    for (const u of i.unsupported) out.push({ file: u.file, line: u.line, message: unsupportedMessage(i.name, u) });
    if (!i.interface) out.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name}: no interface` });
    if (tapDevice !== undefined) for (const m of tapRefusals(i, tapDevice, label)) out.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name}: ${m}` });
  }
  return out;
}

/** How a device kind is named in the messages about VRRP on it. */
export function deviceLabel(kind: string): string {
  return kind === 'xdp' ? 'AF_XDP' : kind === 'packet' ? 'AF_PACKET' : kind.toUpperCase();
}

/**
 * What an instance on tunvsd's own device (TAP, or the kernel-bypass interface of kind xdp
 * or packet) cannot do, as `--config-test` errors (the configuration check of sources.ts):
 * keepalived knows no userspace director, so these are tunvsd's own verdicts. On such a
 * device the instance runs through the Director (vrrp-tap.ts): its VIPs are answered by the
 * Director's ARP while MASTER and silent while BACKUP; with `workers` N every worker's
 * Director follows the state, adverts reach the instance from any worker and it sends
 * through worker 0 (workers.ts).
 */
export function vrrpDeviceErrors(device: { kind: string; name: string }, k: KeepalivedConfig): Diagnostic[] {
  if (device.kind !== 'tap' && device.kind !== 'xdp' && device.kind !== 'packet') return [];
  const out: Diagnostic[] = [];
  const label = deviceLabel(device.kind);
  for (const i of k.vrrpConfig.instances) {
    for (const m of tapRefusals(i, device.name, label)) out.push({ severity: 'error', file: i.file, line: i.line, message: `vrrp_instance ${i.name}: ${m}`, exitCode: 5 });
  }
  return out;
}
