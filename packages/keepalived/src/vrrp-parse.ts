/**
 * Interpreting the VRRP blocks of a keepalived.conf the way keepalived 2.2.7's VRRP process
 * reads them (vrrp_parser.c, vrrp_data.c, vrrp_ipaddress.c, vrrp_iproute.c, track_file.c,
 * global_parser.c), then completing them as vrrp_complete_init() does. Every message that
 * keepalived reports as a configuration error is reported here at the same line (so
 * `--config-test` exits 5 where keepalived exits 5); what keepalived only logs goes to
 * `notes`.
 *
 * Order matters as in keepalived: `track_script`/`track_file` find only scripts and track
 * files defined earlier in the file; sync groups are resolved at the end.
 */
import { isIP } from 'node:net';
import { statSync } from 'node:fs';
import { DiagnosticSink } from './diagnostics.js';
import { parseScriptLine } from './script.js';
import type { GlobalDefs, RawNode, ScriptSpec } from './types.js';
import { findExecutable } from './validate.js';
import { DEFAULT_SCRIPT_USER, lookupUser, scriptAccount, scriptInsecurity } from './script-security.js';
import type { ParseResult } from './parser.js';
import type { HostInfo } from './vrrp-host.js';
import { ValueReader } from './vrrp-values.js';
import type {
  SyncGroupConfig,
  TrackRefConfig,
  VrrpConfig,
  VrrpInstanceConfig,
  VrrpNotifyConfig,
  VrrpRoute,
  VrrpScriptConfig,
  VrrpUnsupported,
  VrrpVip,
  LvsSyncDaemonConfig,
} from './vrrp-types.js';

const TIMER_MAX_SEC = 1000;

/** Top-level keywords this module interprets. */
/** The keywords of a vrrp_track_process block in keepalived 2.2.7. */
const TRACK_PROCESS_KEYWORDS = new Set(['process', 'param_match', 'weight', 'quorum', 'quorum_max', 'fork_delay', 'terminate_delay', 'delay', 'full_command']);

export const VRRP_BLOCKS = ['vrrp_instance', 'vrrp_sync_group', 'vrrp_script', 'vrrp_track_process', 'track_process', 'garp_group', 'vrrp_group'];

/** VRRP keywords of global_defs known to keepalived 2.2.7 (Debian 12 build). */
const GLOBAL_VRRP_KEYWORDS = new Set([
  'vrrp_mcast_group4', 'vrrp_mcast_group6', 'vrrp_garp_master_delay', 'vrrp_garp_master_repeat', 'vrrp_garp_master_refresh',
  'vrrp_garp_master_refresh_repeat', 'vrrp_garp_lower_prio_delay', 'vrrp_garp_lower_prio_repeat', 'vrrp_garp_interval',
  'vrrp_gna_interval', 'vrrp_min_garp', 'vrrp_garp_extra_if', 'vrrp_vmac_garp_intvl', 'vrrp_lower_prio_no_advert',
  'vrrp_higher_prio_send_advert', 'vrrp_version', 'vrrp_iptables', 'vrrp_check_unicast_src', 'vrrp_skip_check_adv_addr',
  'vrrp_strict', 'vrrp_priority', 'vrrp_no_swap', 'vrrp_rt_priority', 'vrrp_cpu_affinity', 'vrrp_rlimit_rttime',
  'vrrp_rlimit_rtime', 'vrrp_notify_fifo', 'vrrp_notify_fifo_script', 'vrrp_notify_priority_changes',
  'vrrp_netlink_cmd_rcv_bufs', 'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs',
  'vrrp_netlink_monitor_rcv_bufs_force', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier', 'vrrp_startup_delay',
  'vrrp_down_timer_adverts',
]);
/** VRRP-related global_defs keywords 2.2.7 does not know (newer keepalived has some). */
const GLOBAL_UNKNOWN_HERE = new Set(['v3_checksum_as_v2']);

interface IfaceNeed {
  name: string;
  file: string;
  line: number;
}

/**
 * The one wording of "keepalived runs it, tunvs will not": --config-test's error and the
 * reason tunvsd's start refuses the instance (packages/daemon vrrp-spec.ts).
 */
export function unsupportedMessage(instance: string, u: Pick<VrrpUnsupported, 'what' | 'why'>): string {
  return `vrrp_instance ${instance}: ${u.what} is not supported by tunvs: ${u.why}`;
}

/** Parses the VRRP part of a configuration. */
export class VrrpInterpreter {
  private readonly v: ValueReader;
  private readonly cfg: VrrpConfig;
  private readonly scriptNames = new Set<string>();
  private readonly groupRaw: { node: RawNode; g: SyncGroupConfig }[] = [];
  private readonly instanceNames = new Set<string>();
  /** per instance: which keywords need unicast peers, what was read before completion */
  private readonly pending = new Map<VrrpInstanceConfig, { unicastKeyword: boolean; vridSet: boolean; ifaceOk: boolean; stateSet: boolean; prioSet: boolean; versionSet: boolean; hasV6: boolean; v4: boolean; strictSet: boolean; acceptSet: boolean; garpLowerRepeatSet: boolean; garpLowerDelaySet: boolean; lpnaSet: boolean; hpsaSet: boolean; dtaSet: boolean; npcSet: boolean; skipSet: boolean; checkSrcSet: boolean; ipvlan: { file: string; line: number; addr: boolean } | undefined }>();
  private missingIface = false;
  private globalDefs: GlobalDefs | null = null;
  private readonly bfdNames = new Set<string>();
  private readonly processNames = new Set<string>();
  /** vrrp_scripts referenced by an instance or a group */
  private readonly usedScripts = new Set<string>();

  /** keepalived's VRRP messages go here first (see run: net_namespace) */
  private readonly sink = new DiagnosticSink();

  constructor(
    private readonly outer: DiagnosticSink,
    private readonly host: HostInfo,
    /** the main configuration file (for messages about the configuration as a whole) */
    private readonly mainFile: string,
  ) {
    this.v = new ValueReader(this.sink);
    this.cfg = {
      globals: {
        version: 2,
        mcastGroup4: '224.0.0.18',
        strict: false,
        garpMasterDelay: 5,
        garpMasterRepeat: 5,
        garpMasterRefresh: 0,
        garpMasterRefreshRepeat: 1,
        garpInterval: 0,
        minGarp: false,
        lowerPrioNoAdvert: false,
        higherPrioSendAdvert: false,
        checkUnicastSrc: false,
        skipCheckAdvAddr: false,
        notifyPriorityChanges: false,
        downTimerAdverts: 3,
        startupDelay: 0,
        dynamicInterfaces: false,
        vmacPrefix: 'vrrp',
      },
      instances: [],
      syncGroups: [],
      scripts: [],
      trackFiles: [],
      notes: [],
    };
  }

  private note(n: { file: string; line: number }, message: string): void {
    this.cfg.notes.push({ file: n.file, line: n.line, message });
  }

  /** Run over the global_defs lines and the VRRP blocks (in file order). */
  run(p: ParseResult): VrrpConfig {
    const { global, vrrp: blocks, other } = p;
    this.globalDefs = global;
    for (const b of p.bfdInstances) this.bfdNames.add(b.name);
    // track files are parsed with the checkers' FILE_CHECK (parser.ts); VRRP uses the same ones
    this.cfg.trackFiles = p.trackFiles;
    for (const g of global.raw) this.global(g);
    for (const b of blocks) {
      switch (b.keyword) {
        case 'vrrp_instance':
          this.instance(b);
          break;
        case 'vrrp_script':
          this.script(b);
          break;
        case 'vrrp_sync_group':
          this.syncGroupHeader(b);
          break;
        case 'vrrp_track_process':
        case 'track_process':
          if (b.args[0] !== undefined) this.processNames.add(b.args[0]);
          this.note(b, `${b.keyword} ${b.args[0] ?? ''}: process tracking is not supported by tunvs (tunvsd refuses instances that use it)`);
          // not run, but its keywords are checked as keepalived reads them
          for (const c of b.children ?? []) if (!TRACK_PROCESS_KEYWORDS.has(c.keyword)) this.v.err(c, `Unknown keyword '${c.keyword}'`);
          break;
        default:
          this.note(b, `${b.keyword} is accepted but not used by tunvs`);
      }
    }
    this.complete();
    const netns = other.find((o) => o.keyword === 'net_namespace');
    if (netns) {
      // keepalived's --config-test with net_namespace checks nothing (it cannot enter the
      // namespace); the messages are kept as notes for tunvsd's start-up log
      for (const d of this.sink.list) this.note(d, `${d.message} (net_namespace ${netns.args[0] ?? ''}: not checked by keepalived --config-test)`);
    } else this.outer.list.push(...this.sink.list);
    return this.cfg;
  }

  // ------------------------------------------------------------------ global_defs

  /** `lvs_sync_daemon IF [[inst] NAME] [id N] [maxlen N] [port P] [ttl T] [group A]`, keepalived 2.2.7's checks. */
  private lvsSyncDaemon(n: RawNode): void {
    const v = this.v;
    const prev = this.cfg.lvsSyncDaemon;
    if (prev) {
      v.err(n, `lvs_sync_daemon has already been specified as ${prev.ifname} ${prev.instance ?? '(null)'} - ignoring`);
      return;
    }
    const a = n.args;
    if (a[0] === undefined) return void v.err(n, 'lvs_sync_daemon requires interface');
    if (a[0].length >= 16) return void v.err(n, `lvs_sync_daemon interface name '${a[0]}' too long - ignoring`);
    const d: LvsSyncDaemonConfig = { ifname: a[0], file: n.file, line: n.line };
    const KW = new Set(['id', 'maxlen', 'port', 'ttl', 'group', 'inst']);
    let i = 1;
    // before 2.0.12: IF INSTANCE [SYNCID]
    if (a[i] !== undefined && !KW.has(a[i]!)) {
      d.instance = a[i++];
      if (a[i] !== undefined && !KW.has(a[i]!)) {
        const id = v.intOf(n, a[i]!, 0, 255);
        if (id === undefined) v.err(n, `Invalid syncid (${a[i]}) - defaulting to vrid`);
        else {
          v.err(n, 'Please use keyword "id" before lvs_sync_daemon SYNCID');
          d.syncid = id;
        }
        i++;
      }
    }
    const num = (what: string, key: 'maxlen' | 'port' | 'ttl', max: number): void => {
      const s = a[i + 1];
      if (s === undefined) return void v.err(n, `No value specified for lvs_sync_daemon ${what} - ignoring`);
      i++;
      const x = v.intOf(n, s, 1, max);
      if (x === undefined) v.err(n, `Invalid lvs_sync_daemon ${what} (${s}) - ignoring`);
      else d[key] = x;
    };
    for (; i < a.length; i++) {
      const w = a[i]!;
      switch (w) {
        case 'id': {
          const s = a[i + 1];
          if (s === undefined) {
            v.err(n, 'No value specified for lvs_sync_daemon id, defaulting to vrid');
            break;
          }
          i++;
          const x = v.intOf(n, s, 0, 255);
          if (x === undefined) v.err(n, `Invalid syncid (${s}) - defaulting to vrid`);
          else d.syncid = x;
          break;
        }
        case 'maxlen':
          num('maxlen', 'maxlen', 65507);
          break;
        case 'port':
          num('port', 'port', 65535);
          break;
        case 'ttl':
          num('ttl', 'ttl', 255);
          break;
        case 'group': {
          const s = a[i + 1];
          if (s === undefined) {
            v.err(n, 'No value specified for lvs_sync_daemon group - ignoring');
            break;
          }
          i++;
          const fam = isIP(s);
          if (fam === 0) v.err(n, `Invalid lvs_sync_daemon group (${s}) - ignoring`);
          else if (fam === 4 ? (Number(s.split('.')[0]) & 0xf0) !== 0xe0 : !/^ff/i.test(s)) v.err(n, `lvs_sync_daemon group address ${s} is not multicast - ignoring`);
          else d.group = s;
          break;
        }
        case 'inst': {
          const s = v.arg(n, i + 2);
          if (s === undefined) return;
          i++;
          if (d.instance !== undefined) v.err(n, `lvs_sync_daemon vrrp instance has already been specified as ${d.instance} - ignoring`);
          else d.instance = s;
          break;
        }
        default:
          v.err(n, `Unknown option ${w} specified for lvs_sync_daemon`);
      }
    }
    this.cfg.lvsSyncDaemon = d;
  }

  private global(n: RawNode): void {
    const k = n.keyword;
    const g = this.cfg.globals;
    const v = this.v;
    if (GLOBAL_UNKNOWN_HERE.has(k)) {
      v.err(n, `Unknown keyword '${k}'`);
      return;
    }
    if (k === 'notify_fifo' || k === 'vrrp_notify_fifo') {
      const p = n.args[0];
      if (p === undefined) v.err(n, `No ${k} name specified`);
      else if (k === 'notify_fifo') g.notifyFifo = p;
      else g.vrrpNotifyFifo = p;
      return;
    }
    if (k === 'notify_fifo_script' || k === 'vrrp_notify_fifo_script') {
      const s = this.scriptOf(n);
      if (!s) v.err(n, `No ${k} specified`);
      else if (k === 'notify_fifo_script') g.notifyFifoScript = s;
      else g.vrrpNotifyFifoScript = s;
      return;
    }
    if (k === 'dynamic_interfaces') {
      g.dynamicInterfaces = true;
      return;
    }
    if (k === 'vmac_prefix') {
      const p = v.arg(n);
      if (p !== undefined) g.vmacPrefix = p;
      return;
    }
    if (k === 'lvs_sync_daemon') return this.lvsSyncDaemon(n);
    if (!k.startsWith('vrrp_')) return;
    if (!GLOBAL_VRRP_KEYWORDS.has(k)) {
      v.err(n, `Unknown keyword '${k}'`);
      return;
    }
    switch (k) {
      case 'vrrp_version': {
        if (n.args[0] === undefined) return void v.arg(n);
        const x = v.int(n, 1, 2, 3);
        if (x === undefined) v.err(n, 'VRRP Error: Version must be either 2 or 3');
        else g.version = x as 2 | 3;
        return;
      }
      case 'vrrp_mcast_group4': {
        const a = v.arg(n);
        if (a === undefined) return;
        if (v.ip(a) !== 4) v.err(n, `Can't parse vrrp_mcast_group4 [${a}]. Skipping`);
        else if (Number(a.split('.')[0]) >>> 4 !== 0xe) v.err(n, `vrrp_mcast_group4 [${a}] is not multicast. Skipping`);
        else g.mcastGroup4 = a;
        return;
      }
      case 'vrrp_mcast_group6': {
        const a = v.arg(n);
        if (a !== undefined && v.ip(a) !== 6) v.err(n, `Can't parse vrrp_mcast_group6 [${a}]. Skipping`);
        return;
      }
      case 'vrrp_garp_master_delay':
      case 'vrrp_garp_lower_prio_delay':
      case 'vrrp_garp_master_refresh': {
        if (n.args[0] === undefined) return void v.arg(n);
        const x = v.int(n, 1, 0, Math.floor(4294967295 / 1e6));
        if (x === undefined) v.err(n, `${k} '${n.args[0]}' invalid - ignoring`);
        else if (k === 'vrrp_garp_master_delay') g.garpMasterDelay = x;
        else if (k === 'vrrp_garp_lower_prio_delay') g.garpLowerPrioDelay = x;
        else g.garpMasterRefresh = x;
        return;
      }
      case 'vrrp_garp_master_repeat':
      case 'vrrp_garp_master_refresh_repeat':
      case 'vrrp_garp_lower_prio_repeat': {
        if (n.args[0] === undefined) return void v.arg(n);
        let x = v.int(n, 1, 0, 2147483647);
        if (x === undefined) {
          v.err(n, `${k} '${n.args[0]}' invalid - ignoring`);
          return;
        }
        if (x === 0 && k !== 'vrrp_garp_lower_prio_repeat') {
          v.err(n, `${k} must be greater than 0, setting to 1`);
          x = 1;
        }
        if (k === 'vrrp_garp_master_repeat') g.garpMasterRepeat = x;
        else if (k === 'vrrp_garp_master_refresh_repeat') g.garpMasterRefreshRepeat = x;
        else g.garpLowerPrioRepeat = x;
        return;
      }
      case 'vrrp_garp_interval':
      case 'vrrp_gna_interval': {
        if (n.args[0] === undefined) return void v.arg(n);
        const x = v.decimal(n, 1, 0.000001, 4294.967295);
        if (x === undefined) v.err(n, `${k} '${n.args[0]}' is invalid`);
        else if (k === 'vrrp_garp_interval') g.garpInterval = x;
        return;
      }
      case 'vrrp_min_garp':
      case 'vrrp_lower_prio_no_advert':
      case 'vrrp_higher_prio_send_advert':
      case 'vrrp_check_unicast_src':
      case 'vrrp_skip_check_adv_addr':
      case 'vrrp_strict':
      case 'vrrp_notify_priority_changes': {
        const b = v.bool(n, 1, k);
        if (b === undefined) return;
        if (k === 'vrrp_min_garp') g.minGarp = b;
        else if (k === 'vrrp_lower_prio_no_advert') g.lowerPrioNoAdvert = b;
        else if (k === 'vrrp_higher_prio_send_advert') g.higherPrioSendAdvert = b;
        else if (k === 'vrrp_check_unicast_src') g.checkUnicastSrc = b;
        else if (k === 'vrrp_skip_check_adv_addr') g.skipCheckAdvAddr = b;
        else if (k === 'vrrp_strict') g.strict = b;
        else g.notifyPriorityChanges = b;
        return;
      }
      case 'vrrp_garp_extra_if':
      case 'vrrp_vmac_garp_intvl': {
        if (k === 'vrrp_vmac_garp_intvl') v.err(n, 'Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"');
        const nums = n.args.filter((a) => a !== 'all');
        if (nums.length === 0) v.err(n, `${k} specified without time - ignoring`);
        else if (v.intOf(n, nums[0]!, 0, 86400) === undefined) v.err(n, `${k} '${nums[0]}' invalid - ignoring`);
        return;
      }
      case 'vrrp_iptables':
        v.err(n, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option");
        return;
      case 'vrrp_priority': {
        if (n.args[0] === undefined) return void v.err(n, 'No vrrp process priority specified');
        if (v.int(n, 1, -20, 19) === undefined) v.err(n, 'Invalid vrrp process priority specified');
        return;
      }
      case 'vrrp_rt_priority':
        if (n.args[0] === undefined) v.err(n, 'No vrrp process real-time priority specified');
        return;
      case 'vrrp_cpu_affinity':
        if (n.args[0] === undefined) v.err(n, 'No vrrp cpu_id set specified');
        return;
      case 'vrrp_rlimit_rttime':
      case 'vrrp_rlimit_rtime':
        if (n.args[0] === undefined) v.arg(n);
        return;
      case 'vrrp_netlink_cmd_rcv_bufs':
      case 'vrrp_netlink_monitor_rcv_bufs':
        if (n.args[0] === undefined) v.err(n, `${k} size missing`);
        return;
      case 'vrrp_rx_bufs_policy':
        if (n.args[0] === undefined) v.err(n, 'vrrp_rx_bufs_policy missing');
        return;
      case 'vrrp_rx_bufs_multiplier':
        if (n.args[0] === undefined || !/^\d+$/.test(n.args[0]) || Number(n.args[0]) < 1) v.err(n, 'Invalid vrrp_rx_bufs_multiplier');
        return;
      case 'vrrp_startup_delay': {
        if (n.args[0] === undefined) return void v.arg(n);
        const x = v.decimal(n, 1, 0, TIMER_MAX_SEC);
        if (x === undefined) v.err(n, `vrrp_startup_delay '${n.args[0]}' is invalid`);
        else g.startupDelay = x;
        return;
      }
      case 'vrrp_down_timer_adverts': {
        if (n.args[0] === undefined) return void v.arg(n);
        const x = v.int(n, 1, 1, 100);
        if (x === undefined) v.err(n, `Invalid vrrp_down_timer_adverts [1:100] '${n.args[0]}'`);
        else g.downTimerAdverts = x;
        return;
      }
      default:
        return;
    }
  }

  // ------------------------------------------------------------------ helpers

  private scriptOf(n: RawNode): ScriptSpec | undefined {
    const rest = n.raw.slice(n.raw.indexOf(n.keyword) + n.keyword.length);
    const p = parseScriptLine(rest);
    if (p === null) return undefined;
    return { ...p, file: n.file, line: n.line };
  }

  /** The interface exists on this host (else keepalived's message, unless dynamic_interfaces). */
  private ifaceExists(need: IfaceNeed, msg: string): boolean {
    if (this.host.iface(need.name)) return true;
    if (this.cfg.globals.dynamicInterfaces) {
      this.note(need, `${msg} (dynamic_interfaces: waiting for it)`);
      return true;
    }
    this.v.err(need, msg);
    this.missingIface = true;
    return false;
  }

  /** Children of a block node, or the words of a one-line block ({ a b c } on one line). */
  private entries(n: RawNode): RawNode[] {
    return n.children ?? [];
  }

  // ------------------------------------------------------------------ vrrp_instance

  private instance(n: RawNode): void {
    const v = this.v;
    if (n.args.length !== 1) {
      v.err(n, 'vrrp_instance must have a name');
      return;
    }
    const name = n.args[0]!;
    if (this.instanceNames.has(name)) {
      v.err(n, `vrrp instance ${name} already defined`);
      return;
    }
    this.instanceNames.add(name);
    const g = this.cfg.globals;
    const inst: VrrpInstanceConfig = {
      name,
      file: n.file,
      line: n.line,
      vrid: 0,
      priority: 0,
      wantMaster: false,
      version: 2,
      advertInt: 0,
      vips: [],
      excludedVips: [],
      routes: [],
      nopreempt: false,
      preemptDelay: 0,
      authType: 'none',
      unicastPeers: [],
      trackInterfaces: [],
      trackScripts: [],
      trackFiles: [],
      dontTrackPrimary: false,
      notify: {},
      garpMasterDelay: g.garpMasterDelay,
      garpMasterRepeat: g.garpMasterRepeat,
      garpMasterRefresh: g.garpMasterRefresh,
      garpMasterRefreshRepeat: g.garpMasterRefreshRepeat,
      garpLowerPrioDelay: 0,
      garpLowerPrioRepeat: 0,
      lowerPrioNoAdvert: false,
      higherPrioSendAdvert: false,
      skipCheckAdvAddr: false,
      checkUnicastSrc: false,
      strict: false,
      accept: true,
      downTimerAdverts: 3,
      notifyPriorityChanges: false,
      vmacXmitBase: false,
      promoteSecondaries: false,
      unsupported: [],
    };
    const p = {
      unicastKeyword: false, vridSet: false, ifaceOk: false, stateSet: false, prioSet: false, versionSet: false, hasV6: false, v4: false,
      strictSet: false, acceptSet: false, garpLowerRepeatSet: false, garpLowerDelaySet: false, lpnaSet: false, hpsaSet: false, dtaSet: false,
      npcSet: false, skipSet: false, checkSrcSet: false,
      ipvlan: undefined as { file: string; line: number; addr: boolean } | undefined,
    };
    this.pending.set(inst, p);
    let versionRead: number | undefined;
    for (const c of this.entries(n)) {
      const k = c.keyword;
      switch (k) {
        case 'interface': {
          const ifn = v.arg(c);
          if (ifn === undefined) break;
          if (ifn.length >= 16) {
            v.err(c, `Interface name '${ifn}' too long - ignoring`);
            break;
          }
          inst.interface = ifn;
          const h = this.host.iface(ifn);
          if (!h) {
            p.ifaceOk = this.ifaceExists({ name: ifn, file: c.file, line: c.line }, `WARNING - interface ${ifn} for vrrp_instance ${name} doesn't exist`);
          } else if (h.loopback) {
            v.err(c, `(${name}) cannot use a loopback interface (${ifn}) for vrrp - ignoring`);
            p.ifaceOk = false;
            delete inst.interface;
          } else p.ifaceOk = true;
          break;
        }
        case 'virtual_router_id': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 1, 255);
          if (x === undefined) v.err(c, `(${name}): VRID '${c.args[0]}' not valid - must be between 1 & 255`);
          else {
            inst.vrid = x;
            p.vridSet = true;
          }
          break;
        }
        case 'priority': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 1, 255);
          if (x === undefined) {
            v.err(c, `(${name}) Priority not valid! must be between 1 & 255. Using default 100`);
            inst.priority = 100;
          } else inst.priority = x;
          p.prioSet = true;
          break;
        }
        case 'state': {
          const s = v.arg(c);
          if (s === undefined) break;
          if (s === 'MASTER') inst.wantMaster = true;
          else if (s === 'BACKUP') {
            if (inst.wantMaster) v.err(c, `(${name}) state previously set as MASTER - ignoring BACKUP`);
          } else v.err(c, `(${name}) unknown state '${s}', defaulting to BACKUP`);
          p.stateSet = true;
          break;
        }
        case 'advert_int': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.decimal(c, 1, 0.01, 255);
          if (x === undefined || x <= 0) v.err(c, `(${name}) Advert interval (${c.args[0]}) not valid! Must be > 0 - ignoring`);
          else inst.advertInt = x;
          break;
        }
        case 'version': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 2, 3);
          if (x === undefined) {
            v.err(c, `(${name}): Version must be either 2 or 3`);
            break;
          }
          if ((versionRead !== undefined && versionRead !== x) || (x === 2 && p.hasV6)) {
            v.err(c, `(${name}) vrrp_version ${x} conflicts with configured or deduced version ${versionRead ?? 3}; ignoring.`);
            break;
          }
          versionRead = x;
          inst.version = x as 2 | 3;
          p.versionSet = true;
          break;
        }
        case 'virtual_ipaddress':
        case 'virtual_ipaddress_excluded': {
          const list = k === 'virtual_ipaddress' ? inst.vips : inst.excludedVips;
          for (const e of this.entries(c)) {
            const vip = this.vip(e, name);
            if (!vip) continue;
            // keepalived matches the family of virtual_ipaddress only: excluded addresses
            // may be of the other family (the usual way to add IPv6 to an IPv4 instance)
            if (k === 'virtual_ipaddress_excluded') {
              if (vip.family === 6) inst.unsupported.push({ file: e.file, line: e.line, what: `IPv6 address ${vip.addr} in virtual_ipaddress_excluded`, why: 'tunvs adds and removes IPv4 addresses only' });
              list.push(vip);
              continue;
            }
            if (vip.family === 6) {
              if (p.v4 && !p.hasV6) {
                v.err(e, `(${name}): address family must match VRRP instance [${vip.addr}] - ignoring`);
                continue;
              }
              if (!p.v4) p.hasV6 = true;
            } else {
              if (p.hasV6) {
                v.err(e, `(${name}): address family must match VRRP instance [${vip.addr}] - ignoring`);
                continue;
              }
              p.v4 = true;
            }
            list.push(vip);
          }
          break;
        }
        case 'virtual_routes':
          for (const e of this.entries(c)) {
            const r = this.route(e);
            if (r) inst.routes.push(r);
          }
          break;
        case 'virtual_rules':
          for (const e of this.entries(c)) {
            const w = [e.keyword, ...e.args];
            if (!w.some((x) => x === 'preference' || x === 'pref' || x === 'priority')) {
              v.err(e, 'Rule has no preference specified - setting to 16384. This is probably not what you want.');
            }
            inst.unsupported.push({ file: e.file, line: e.line, what: 'virtual_rules', why: 'tunvs does not install policy rules' });
          }
          break;
        case 'unicast_peer':
          p.unicastKeyword = true;
          for (const e of this.entries(c)) {
            const a = e.keyword;
            const f = v.ip(a);
            if (f === 0) {
              v.err(e, `Configuration error: VRRP instance[${name}] malformed unicast peer address[${a}]. Skipping...`);
              continue;
            }
            for (let i = 0; i < e.args.length; i++) {
              const o = e.args[i]!;
              if (o === 'min_ttl' || o === 'max_ttl') {
                const val = e.args[++i];
                if (val === undefined || v.intOf(e, val, 0, 255) === undefined) v.err(e, `(${name}) invalid ${o} ${val ?? ''}`);
              } else v.err(e, `(${name}) unknown unicast peer option '${o}'`);
            }
            inst.unicastPeers.push({ addr: a, file: e.file, line: e.line });
          }
          break;
        case 'unicast_src_ip':
        case 'mcast_src_ip': {
          const a = v.arg(c);
          if (a === undefined) break;
          if (k === 'unicast_src_ip') p.unicastKeyword = true;
          const f = v.ip(a);
          if (f === 0) {
            v.err(c, `Configuration error: VRRP instance[${name}] malformed src address[${a}]. Skipping...`);
            break;
          }
          if ((f === 6 && p.v4) || (f === 4 && p.hasV6)) {
            v.err(c, `Configuration error: VRRP instance[${name}] and src address[${a}] MUST be of the same family !!! Skipping...`);
            break;
          }
          if (k === 'unicast_src_ip') inst.unicastSrcIp = a;
          else inst.mcastSrcIp = a;
          break;
        }
        case 'unicast_ttl': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 0, 255);
          if (x === undefined) v.err(c, `(${name}): TTL '${c.args[0]}' not valid - must be between 0 & 255`);
          else inst.unicastTtl = x;
          break;
        }
        case 'check_unicast_src':
          p.unicastKeyword = true;
          inst.checkUnicastSrc = true;
          p.checkSrcSet = true;
          break;
        case 'old_unicast_checksum':
          p.unicastKeyword = true;
          if (c.args[0] !== undefined && c.args[0] !== 'never') v.err(c, `(${name}) Unknown old_unicast_chksum mode ${c.args[0]} - ignoring`);
          break;
        case 'unicast_fault_no_peer':
          p.unicastKeyword = true;
          break;
        case 'native_ipv6':
          if (p.v4) v.err(c, `(${name}) Cannot specify native_ipv6 with IPv4 addresses`);
          else inst.unsupported.push({ file: c.file, line: c.line, what: 'native_ipv6', why: 'tunvs runs IPv4 VRRP only' });
          break;
        case 'track_interface':
          this.trackInterfaces(c, name, inst.trackInterfaces);
          break;
        case 'track_script':
          this.trackScripts(c, name, inst.trackScripts);
          break;
        case 'track_file':
          this.trackFiles(c, name, inst.trackFiles);
          break;
        case 'track_process':
        case 'track_bfd':
          for (const e of this.entries(c)) {
            const known = k === 'track_process' ? this.processNames : this.bfdNames;
            if (!known.has(e.keyword)) v.err(e, `(${name}) track ${k === 'track_process' ? 'process' : 'bfd'} ${e.keyword} not found, ignoring...`);
            else inst.unsupported.push({ file: e.file, line: e.line, what: `${k} ${e.keyword}`, why: k === 'track_process' ? 'process tracking is not implemented by tunvs' : 'BFD is not implemented by tunvs' });
          }
          break;
        case 'dont_track_primary':
          inst.dontTrackPrimary = true;
          break;
        case 'track_src_ip':
        case 'promote_secondaries':
        case 'use_vmac_addr':
          if (k === 'promote_secondaries') inst.promoteSecondaries = true;
          break;
        case 'nopreempt':
          inst.nopreempt = true;
          break;
        case 'preempt':
          inst.nopreempt = false;
          break;
        case 'preempt_delay': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.decimal(c, 1, 0, TIMER_MAX_SEC);
          if (x === undefined) {
            v.err(c, `(${name}) Preempt_delay not valid! must be between 0-${TIMER_MAX_SEC}`);
            inst.preemptDelay = 0;
          } else inst.preemptDelay = x;
          break;
        }
        case 'debug':
          if (c.args[0] !== undefined && v.intOf(c, c.args[0], 0, 4) === undefined) v.err(c, `(${name}) Debug value '${c.args[0]}' not valid; must be between 0-4`);
          break;
        case 'notify_master':
        case 'notify_backup':
        case 'notify_fault':
        case 'notify_stop':
        case 'notify':
        case 'notify_master_rx_lower_pri':
        case 'notify_deleted':
          this.notifyScript(c, inst.notify, `(${name})`);
          break;
        case 'smtp_alert': {
          const b = v.bool(c, 1, 'vrrp_instance smtp_alert parameter');
          void b;
          break;
        }
        case 'notify_priority_changes': {
          const b = v.bool(c, 1, `notify_priority_changes`);
          if (b !== undefined) {
            inst.notifyPriorityChanges = b;
            p.npcSet = true;
          }
          break;
        }
        case 'lvs_sync_daemon_interface':
          v.err(c, `(${name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`);
          v.err(c, '        Please use global lvs_sync_daemon');
          break;
        case 'linkbeat_use_polling':
          v.err(c, `(${name}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block`);
          break;
        case 'garp_master_delay':
        case 'garp_lower_prio_delay':
        case 'garp_master_refresh': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 0, k === 'garp_master_refresh' ? 4294967295 : Math.floor(4294967295 / 1e6));
          if (x === undefined) {
            v.err(c, k === 'garp_master_refresh' ? `(${name}): Invalid garp_master_refresh '${c.args[0]}' - ignoring` : `(${name}): ${k} '${c.args[0]}' invalid - ignoring`);
            if (k === 'garp_master_refresh') inst.garpMasterRefresh = 0;
            break;
          }
          if (k === 'garp_master_delay') inst.garpMasterDelay = x;
          else if (k === 'garp_master_refresh') inst.garpMasterRefresh = x;
          else {
            inst.garpLowerPrioDelay = x;
            p.garpLowerDelaySet = true;
          }
          break;
        }
        case 'garp_master_repeat':
        case 'garp_master_refresh_repeat':
        case 'garp_lower_prio_repeat': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          let x = v.int(c, 1, 0, k === 'garp_lower_prio_repeat' ? 2147483647 : 4294967295);
          if (x === undefined) {
            v.err(c, k === 'garp_lower_prio_repeat' ? `(${name}): Invalid garp_lower_prio_repeat '${c.args[0]}'` : `(${name}): ${k} '${c.args[0]}' invalid - ignoring`);
            break;
          }
          if (x === 0 && k !== 'garp_lower_prio_repeat') {
            v.err(c, `(${name}): ${k} must be greater than 0, setting to 1`);
            x = 1;
          }
          if (k === 'garp_master_repeat') inst.garpMasterRepeat = x;
          else if (k === 'garp_master_refresh_repeat') inst.garpMasterRefreshRepeat = x;
          else {
            inst.garpLowerPrioRepeat = x;
            p.garpLowerRepeatSet = true;
          }
          break;
        }
        case 'down_timer_adverts': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 1, 100);
          if (x === undefined) v.err(c, `(${name}): Invalid down_timer_adverts [1:100] '${c.args[0]}'`);
          else {
            inst.downTimerAdverts = x;
            p.dtaSet = true;
          }
          break;
        }
        case 'garp_extra_if':
        case 'vmac_garp_intvl': {
          if (k === 'vmac_garp_intvl') v.err(c, 'Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"');
          const nums = c.args.filter((a) => a !== 'all');
          if (nums.length === 0) v.err(c, `(${name}): ${k} specified without time - ignoring`);
          else if (v.intOf(c, nums[0]!, 0, 86400) === undefined) v.err(c, `(${name}): ${k} '${nums[0]}' invalid - ignoring`);
          else inst.unsupported.push({ file: c.file, line: c.line, what: k, why: 'GARPs on extra interfaces are not implemented by tunvs' });
          break;
        }
        case 'lower_prio_no_advert':
        case 'higher_prio_send_advert':
        case 'skip_check_adv_addr':
        case 'strict_mode': {
          const b = v.bool(c, 1, k);
          if (b === undefined) {
            this.v.err(c, `(${name}) invalid ${k} ${c.args[0]} specified`);
            break;
          }
          if (k === 'lower_prio_no_advert') {
            inst.lowerPrioNoAdvert = b;
            p.lpnaSet = true;
          } else if (k === 'higher_prio_send_advert') {
            inst.higherPrioSendAdvert = b;
            p.hpsaSet = true;
          } else if (k === 'skip_check_adv_addr') {
            inst.skipCheckAdvAddr = b;
            p.skipSet = true;
          } else {
            inst.strict = b;
            p.strictSet = true;
          }
          break;
        }
        case 'accept':
        case 'no_accept':
          inst.accept = k === 'accept';
          p.acceptSet = true;
          break;
        case 'kernel_rx_buf_size':
          if (c.args.length !== 1 || !/^\d+$/.test(c.args[0]!)) v.err(c, `(${name}) invalid kernel_rx_buf_size specified`);
          break;
        case 'use_vmac': {
          const vm: { name?: string; mac?: string; file: string; line: number } = { file: c.file, line: c.line };
          for (const a of c.args) {
            if (a.includes(':')) {
              if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){4,5}:?$/.test(a)) v.err(c, `VMAC invalid MAC address ${a} - ignored`);
              else vm.mac = a;
            } else if (a.length >= 16 || a === '.' || a === '..' || a.includes('/')) {
              v.err(c, `VMAC interface name '${a}' too long or invalid characters - ignoring`);
            } else {
              const other = this.cfg.instances.find((i) => i.useVmac?.name === a);
              if (other) v.err(c, `(${name}) VRRP instance ${other.name} is already using ${a} - ignoring name`);
              else vm.name = a;
            }
          }
          inst.useVmac = vm;
          break;
        }
        case 'vmac_xmit_base':
          inst.vmacXmitBase = true;
          break;
        case 'use_ipvlan':
          // keepalived needs the ipvlan's own address among the arguments (IPv4: checked below)
          p.ipvlan = { file: c.file, line: c.line, addr: c.args.some((a) => isIP(a.split('/')[0]!) !== 0) };
          inst.unsupported.push({ file: c.file, line: c.line, what: 'use_ipvlan', why: 'this kernel has no ipvlan and tunvs does not create one' });
          break;
        case 'authentication':
          for (const e of this.entries(c)) {
            if (e.keyword === 'auth_type') {
              const t = v.arg(e);
              if (t === 'AH' || t === 'PASS') inst.authType = t;
              else if (t !== undefined) v.err(e, `(${name}) unknown authentication type '${t}'`);
            } else if (e.keyword === 'auth_pass') {
              const pw = v.arg(e);
              if (pw === undefined) continue;
              if (Buffer.byteLength(pw, 'latin1') > 8) v.err(e, 'Truncating auth_pass to 8 characters');
              inst.authPass = pw;
            } else v.err(e, `Unknown keyword '${e.keyword}'`);
          }
          break;
        default:
          v.err(c, `Unknown keyword '${k}'`);
          // an unknown block: keepalived reads its contents as part of this block
          if (c.children) for (const e of c.children) void e;
      }
    }
    // end of block (vrrp_end_handler)
    if (inst.unicastPeers.length === 0 && inst.unicastTtl !== undefined) {
      v.err(n, `(${name}): Cannot use unicast_ttl without unicast peers - resetting`);
      delete inst.unicastTtl;
    }
    if (inst.unicastPeers.length > 0 && inst.useVmac && !inst.vmacXmitBase) {
      if (!inst.interface) {
        v.err(n, `(${name}): Cannot use VMAC/ipvlan with unicast peers and no interface - clearing use_vmac`);
        delete inst.useVmac;
      } else {
        v.err(n, `(${name}) unicast with use_vmac requires vmac_xmit_base - setting`);
        inst.vmacXmitBase = true;
      }
    }
    if (p.ipvlan && !p.ipvlan.addr && !p.hasV6) {
      v.err(p.ipvlan, `(${name}) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state`);
    }
    if (p.hasV6) {
      inst.unsupported.push({ file: n.file, line: n.line, what: 'IPv6 instance', why: 'tunvs runs IPv4 VRRP only' });
    }
    this.cfg.instances.push(inst);
  }

  private vip(e: RawNode, iname: string): VrrpVip | null {
    const v = this.v;
    const w = [e.keyword, ...e.args];
    const spec = w[0]!;
    const m = /^([^/]+)(?:\/(.*))?$/.exec(spec)!;
    const fam = v.ip(m[1]!);
    if (fam === 0) {
      v.err(e, `VRRP parsed invalid IP ${spec}. skipping IP...`);
      return null;
    }
    const vip: VrrpVip = { addr: m[1]!, family: fam, prefix: fam === 4 ? 32 : 128, noTrack: false, flags: [], file: e.file, line: e.line };
    if (m[2] !== undefined) {
      const max = fam === 4 ? 32 : 128;
      const px = v.intOf(e, m[2], 0, max);
      if (px === undefined) v.err(e, `Invalid address prefix len ${m[2]} for address ${spec} - using ${max}`);
      else vip.prefix = px;
    }
    for (let i = 1; i < w.length; i++) {
      const o = w[i]!;
      const next = (): string | undefined => {
        const x = w[++i];
        if (x === undefined) v.err(e, `Missing value for ${o} on ip address ${spec}`);
        return x;
      };
      switch (o) {
        case 'dev': {
          const d = next();
          if (d === undefined) break;
          if (!this.host.iface(d)) {
            if (!this.ifaceExists({ name: d, file: e.file, line: e.line }, `WARNING - interface ${d} for ip address ${spec} doesn't exist`)) break;
          }
          vip.dev = d;
          break;
        }
        case 'scope': {
          const s = next();
          if (s === undefined) break;
          if (['host', 'link', 'global', 'site', 'nowhere'].includes(s) || (/^\d+$/.test(s) && Number(s) <= 255)) vip.scope = s;
          else v.err(e, `Invalid scope '${s}' specified for ${spec} - ignoring`);
          break;
        }
        case 'label': {
          const l = next();
          if (l !== undefined) vip.label = l;
          break;
        }
        case 'brd':
        case 'broadcast': {
          const b = next();
          if (b === undefined) break;
          if (b !== '+' && b !== '-' && v.ip(b) !== 4) v.err(e, `Invalid broadcast address ${b} for ${spec} - ignoring`);
          else vip.broadcast = b;
          break;
        }
        case 'peer': {
          const x = next();
          if (x !== undefined) vip.peer = x;
          break;
        }
        case 'no_track':
          vip.noTrack = true;
          break;
        case 'home':
        case '-nodad':
        case 'nodad':
        case 'noprefixroute':
        case 'autojoin':
          vip.flags.push(o);
          break;
        case 'preferred_lft': {
          const x = next();
          if (x !== undefined && x !== 'forever' && !/^\d+$/.test(x)) v.err(e, `Invalid preferred_lft ${x} for ${spec}`);
          break;
        }
        case 'track_group':
          next();
          break;
        default:
          v.err(e, `Unknown configuration entry '${o}' for ip address - ignoring`);
      }
    }
    void iname;
    return vip;
  }

  private route(e: RawNode): VrrpRoute | null {
    const v = this.v;
    const w = [e.keyword, ...e.args];
    const r: VrrpRoute = { dst: '', noTrack: false, words: w, file: e.file, line: e.line };
    const TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast', 'nat'];
    const VALUE_OPTS = new Set([
      'mtu', 'advmss', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'initcwnd', 'initrwnd', 'ssthresh', 'realms', 'rto_min', 'hoplimit',
      'features', 'quickack', 'congctl', 'expires', 'tos', 'dsfield', 'from', 'track_group', 'pref', 'fastopen_no_cookie', 'nexthop', 'encap', 'ttl-propagate',
    ]);
    const isDst = (x: string): boolean => {
      if (x === 'default' || x === 'default4' || x === 'default6' || x === 'all' || x === 'any') return true;
      const m = /^([^/]+)(?:\/(\d+))?$/.exec(x);
      return m !== null && v.ip(m[1]!) !== 0;
    };
    let i = 0;
    if (TYPES.includes(w[0]!)) {
      r.type = w[0]!;
      i = 1;
    }
    for (; i < w.length; i++) {
      const o = w[i]!;
      const val = (): string | undefined => {
        const x = w[++i];
        if (x === undefined) v.err(e, `Missing value for route option ${o}`);
        return x;
      };
      switch (o) {
        case 'to': {
          const x = val();
          if (x === undefined) break;
          if (!isDst(x)) v.err(e, `VRRP parsed invalid IP ${x}. skipping IP...`);
          else r.dst = x;
          break;
        }
        case 'via':
        case 'gw':
        case 'src': {
          const x = val();
          if (x === undefined) break;
          const ok = (o === 'via' && (x === 'inet' || x === 'inet6')) ? (w[++i] !== undefined && v.ip(w[i]!) !== 0) : v.ip(x) !== 0;
          if (!ok) v.err(e, `VRRP parsed invalid IP ${x}. skipping IP...`);
          else if (o === 'src') r.src = x;
          else r.via = x === 'inet' || x === 'inet6' ? w[i]! : x;
          break;
        }
        case 'dev':
        case 'oif': {
          const x = val();
          if (x === undefined) break;
          if (!this.host.iface(x)) {
            if (!this.ifaceExists({ name: x, file: e.file, line: e.line }, `WARNING - interface ${x} for VROUTE nexthop doesn't exist`)) break;
          }
          r.dev = x;
          break;
        }
        case 'metric':
        case 'priority':
        case 'preference': {
          const x = val();
          if (x !== undefined) {
            const m2 = v.intOf(e, x, 0, 4294967295);
            if (m2 !== undefined) r.metric = m2;
          }
          break;
        }
        case 'table': {
          const x = val();
          if (x !== undefined) r.table = x;
          break;
        }
        case 'scope': {
          const x = val();
          if (x !== undefined) r.scope = x;
          break;
        }
        case 'protocol':
        case 'proto': {
          const x = val();
          if (x !== undefined) r.protocol = x;
          break;
        }
        case 'no_track':
          r.noTrack = true;
          break;
        case 'onlink':
        case 'pervasive':
          break;
        default:
          if (VALUE_OPTS.has(o)) {
            val();
            break;
          }
          if (r.dst === '' && isDst(o)) {
            r.dst = o;
            break;
          }
          if (r.dst === '') v.err(e, `VRRP parsed invalid IP ${o}. skipping IP...`);
          v.err(e, `unknown route keyword ${o}`);
      }
    }
    if (r.dst === '') return null;
    if (!r.dev && !r.noTrack) v.err(e, `Warning - cannot track route ${r.dst} with no interface specified, not tracking`);
    return r;
  }

  /** A track_interface block of an instance or a sync group: the interfaces that exist (or may appear). */
  private trackInterfaces(c: RawNode, owner: string, out: TrackRefConfig[]): void {
    for (const e of this.entries(c)) {
      const t = this.trackRef(e, owner, 'interface', -253, 253);
      if (!t) continue;
      if (!this.host.iface(t.name) && !this.cfg.globals.dynamicInterfaces) {
        this.v.err(e, `(${owner}) tracked interface ${t.name} doesn't exist`);
        this.missingIface = true;
        continue;
      }
      out.push(t);
    }
  }

  /** A track_script block: scripts defined by vrrp_script, with their weights resolved. */
  private trackScripts(c: RawNode, owner: string, out: TrackRefConfig[]): void {
    for (const e of this.entries(c)) {
      const t = this.trackRef(e, owner, 'script', -253, 253);
      if (!t) continue;
      if (!this.scriptNames.has(t.name)) {
        this.v.err(e, `(${owner}) track script ${t.name} not found, ignoring...`);
        continue;
      }
      this.usedScripts.add(t.name);
      this.resolveScriptWeight(t);
      out.push(t);
    }
  }

  /** A track_file block: files defined by track_file (or vrrp_track_file), weights resolved. */
  private trackFiles(c: RawNode, owner: string, out: TrackRefConfig[]): void {
    for (const e of this.entries(c)) {
      const t = this.trackRef(e, owner, 'file', -254, 254);
      if (!t) continue;
      if (!this.trackFileKnown(t.name, e)) {
        this.v.err(e, `(${owner}) track file ${t.name} not found, ignoring...`);
        continue;
      }
      this.resolveFileWeight(t);
      out.push(t);
    }
  }

  /** `NAME [weight W [reverse|noreverse]]` in a track_* block. */
  private trackRef(e: RawNode, owner: string, kind: 'interface' | 'script' | 'file', min: number, max: number): TrackRefConfig | null {
    const v = this.v;
    const t: TrackRefConfig = { name: e.keyword, weight: kind === 'file' ? 1 : 0, reverse: false, weightSet: false, file: e.file, line: e.line };
    if (e.args.length === 0) return t;
    if (e.args[0] !== 'weight') {
      v.err(e, `(${owner}) unknown track_${kind} option ${e.args[0]} - ignoring`);
      return t;
    }
    const ws = e.args[1];
    if (ws === undefined) {
      v.err(e, `(${owner}) weight without value specified for ${kind} ${e.keyword} - ignoring`);
      return t;
    }
    const w = v.intOf(e, ws, min, max);
    if (w === undefined) {
      v.err(e, `(${owner}) weight ${ws} for ${e.keyword} must be between [${kind === 'file' ? '-254..254' : '-253..253'}] inclusive. Ignoring...`);
      return t;
    }
    t.weight = w;
    t.weightSet = true;
    const rv = e.args[2];
    if (rv === 'reverse') t.reverse = true;
    else if (rv !== undefined && rv !== 'noreverse') v.err(e, `(${owner}) unknown track_${kind} ${e.keyword} weight option ${rv}`);
    return t;
  }

  /** keepalived resolves a track_file reference while reading: the block must come before it. */
  private trackFileKnown(name: string, at: { file: string; line: number }): boolean {
    return this.cfg.trackFiles.some((f) => f.name === name && (f.file !== at.file || f.line < at.line));
  }

  /** A track_script reference without its own weight takes the vrrp_script's. */
  private resolveScriptWeight(t: TrackRefConfig): void {
    if (t.weightSet) return;
    const sc = this.cfg.scripts.find((x) => x.name === t.name);
    if (sc) {
      t.weight = sc.weight;
      t.reverse = sc.weightReverse;
    }
  }

  /** A track_file reference without its own weight takes the track file's (default 1). */
  private resolveFileWeight(t: TrackRefConfig): void {
    if (t.weightSet) return;
    const f = this.cfg.trackFiles.find((x) => x.name === t.name);
    if (f) {
      t.weight = f.weight;
      t.reverse = f.reverse;
    }
  }

  private notifyScript(c: RawNode, out: VrrpNotifyConfig, owner: string): void {
    const map: Record<string, keyof VrrpNotifyConfig> = {
      notify_master: 'master', notify_backup: 'backup', notify_fault: 'fault', notify_stop: 'stop', notify: 'notify',
      notify_master_rx_lower_pri: 'masterRxLowerPri', notify_deleted: 'deleted',
    };
    const key = map[c.keyword]!;
    if (out[key]) {
      this.v.err(c, `${owner} ${c.keyword === 'notify' ? 'notify script' : `${c.keyword} script`} already specified - ignoring ${c.args[0] ?? ''}`);
      return;
    }
    if (c.keyword === 'notify_deleted' && c.args.length === 0) return;
    const s = this.scriptOf(c);
    if (!s) {
      this.v.err(c, `${owner} ${c.keyword} has no valid script`);
      return;
    }
    const gd = this.globalDefs;
    if (s.user === undefined && gd?.enableScriptSecurity && gd.scriptUser === undefined && lookupUser(DEFAULT_SCRIPT_USER) === null) {
      // keepalived cannot give the script its default user
      this.v.err(c, `Unable to set default user ${DEFAULT_SCRIPT_USER} for script`);
      return;
    }
    out[key] = s;
  }

  // ------------------------------------------------------------------ vrrp_script

  private script(n: RawNode): void {
    const v = this.v;
    const name = n.args[0];
    if (name === undefined) {
      v.arg(n);
      return;
    }
    let script: ScriptSpec | undefined;
    const s: Omit<VrrpScriptConfig, 'script'> & { script?: ScriptSpec } = {
      name, interval: 1, timeout: 0, weight: 0, weightReverse: false, rise: 1, fall: 1, initFail: false, file: n.file, line: n.line,
    };
    let timeoutSet = false;
    for (const c of this.entries(n)) {
      switch (c.keyword) {
        case 'script':
          script = this.scriptOf(c);
          if (!script) v.err(c, `(${name}) vrrp_script has an empty or unbalanced script`);
          break;
        case 'interval': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 0, Math.floor(4294967295 / 1e6));
          if (x === undefined) v.err(c, `(${name}): vrrp script interval '${c.args[0]}' must be between 1 and ${Math.floor(4294967295 / 1e6)} - ignoring`);
          else if (x === 0) {
            v.err(c, `(${name}): vrrp script interval must be greater than 0, setting to 1`);
            s.interval = 1;
          } else s.interval = x;
          break;
        }
        case 'timeout': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 0, Math.floor(4294967295 / 1e6));
          if (x === undefined) v.err(c, `(${name}): vrrp script timeout '${c.args[0]}' invalid - ignoring`);
          else if (x === 0) {
            v.err(c, `(${name}): vrrp script timeout must be greater than 0, setting to 1`);
            s.timeout = 1;
            timeoutSet = true;
          } else {
            s.timeout = x;
            timeoutSet = true;
          }
          break;
        }
        case 'weight': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, -253, 253);
          if (x === undefined) v.err(c, `vrrp_script ${name} weight ${c.args[0]} must be in [-253, 253]`);
          else s.weight = x;
          if (c.args[1] !== undefined) {
            if (c.args[1] === 'reverse') s.weightReverse = true;
            else v.err(c, `vrrp_script ${name} unknown weight option ${c.args[1]}`);
          }
          break;
        }
        case 'rise':
        case 'fall': {
          if (c.args[0] === undefined) {
            v.arg(c);
            break;
          }
          const x = v.int(c, 1, 1, 2147483647);
          if (x === undefined) v.err(c, `(${name}): vrrp script ${c.keyword} value '${c.args[0]}' invalid, defaulting to 1`);
          s[c.keyword] = x ?? 1;
          break;
        }
        case 'user': {
          const u = v.arg(c);
          if (u !== undefined) {
            s.user = u;
            if (c.args[1] !== undefined) s.group = c.args[1];
          }
          break;
        }
        case 'init_fail':
          s.initFail = true;
          break;
        default:
          v.err(c, `Unknown keyword '${c.keyword}'`);
      }
    }
    if (!script) {
      v.err(n, `No script set for vrrp_script ${name} - removing`);
      return;
    }
    if (!timeoutSet) s.timeout = s.interval;
    if (s.user !== undefined) {
      if (lookupUser(s.user) === null) {
        v.err(n, `Unable to set uid/gid for script '${script.command}'`);
        return;
      }
      script.user = s.user;
      if (s.group !== undefined) script.group = s.group;
    } else {
      const gd = this.globalDefs;
      // no user: keepalived's default (script_user, else keepalived_script, else root
      // without script security); with script security and no usable default it drops
      // the script (the message comes from the script-security check)
      if (gd && gd.enableScriptSecurity && gd.scriptUser === undefined && lookupUser(DEFAULT_SCRIPT_USER) === null) {
        v.err(n, `Unable to set default user ${DEFAULT_SCRIPT_USER} for script`);
        v.err(n, `Unable to set default user for vrrp script ${name} - removing`);
        return;
      }
    }
    this.cfg.scripts.push({ ...s, script });
    this.scriptNames.add(name);
  }

  // ------------------------------------------------------------------ sync groups

  private syncGroupHeader(n: RawNode): void {
    const v = this.v;
    if (n.args.length !== 1) {
      v.err(n, 'vrrp_sync_group must have a name - skipping');
      return;
    }
    const name = n.args[0]!;
    if (this.groupRaw.some((x) => x.g.name === name)) {
      v.err(n, `vrrp sync group ${name} already defined`);
      return;
    }
    const g: SyncGroupConfig = {
      name, members: [], trackInterfaces: [], trackScripts: [], trackFiles: [], notify: {}, trackingWeight: false, notifyPriorityChanges: false,
      file: n.file, line: n.line,
    };
    let groupSeen = false;
    for (const c of this.entries(n)) {
      switch (c.keyword) {
        case 'group':
          if (groupSeen) {
            v.err(c, `Group list already specified for sync group ${name}`);
            break;
          }
          groupSeen = true;
          for (const e of this.entries(c)) g.members.push(e.keyword, ...e.args);
          if (g.members.length === 0) v.err(c, `Warning - sync group ${name} has empty group block`);
          break;
        case 'track_interface':
          this.trackInterfaces(c, name, g.trackInterfaces);
          break;
        case 'track_script':
          this.trackScripts(c, name, g.trackScripts);
          break;
        case 'track_file':
          this.trackFiles(c, name, g.trackFiles);
          break;
        case 'track_process':
        case 'track_bfd':
          for (const e of this.entries(c)) {
            const known = c.keyword === 'track_process' ? this.processNames : this.bfdNames;
            if (!known.has(e.keyword)) v.err(e, `(${name}) track ${c.keyword.slice(6)} ${e.keyword} not found, ignoring...`);
          }
          break;
        case 'notify_master':
        case 'notify_backup':
        case 'notify_fault':
        case 'notify_stop':
        case 'notify':
          this.notifyScript(c, g.notify, `vrrp group ${name}:`);
          break;
        case 'smtp_alert':
          v.bool(c, 1, 'vrrp_group smtp_alert parameter');
          break;
        case 'global_tracking':
          v.err(c, `(${name}) global_tracking is deprecated. Use track_interface/script/file on the sync group`);
          g.trackingWeight = true;
          break;
        case 'sync_group_tracking_weight':
          g.trackingWeight = true;
          break;
        case 'notify_priority_changes': {
          const b = v.bool(c, 1, 'sync group notify_priority_changes');
          if (b !== undefined) g.notifyPriorityChanges = b;
          break;
        }
        default:
          v.err(c, `Unknown keyword '${c.keyword}'`);
      }
    }
    if (!groupSeen) {
      // vrrp_sync_group_end_handler / vrrp_complete_init: no members -> removed
      this.groupRaw.push({ node: n, g });
      return;
    }
    this.groupRaw.push({ node: n, g });
  }

  // ------------------------------------------------------------------ completion

  private complete(): void {
    const v = this.v;
    // keepalived completes the VRRP configuration only when it has vrrp_instance blocks
    if (this.instanceNames.size === 0) return;
    // and only when every interface named exists: with one missing it stops after reading
    // ("Non-existent interface specified in configuration"), so none of the completion
    // checks below is reported then (the values are still completed, for tunvsd's own use)
    const before = this.sink.list.length;
    const g = this.cfg.globals;
    const gLowerRepeat = g.garpLowerPrioRepeat ?? g.garpMasterRepeat;
    const gLowerDelay = g.garpLowerPrioDelay ?? g.garpMasterDelay;

    // sync groups (vrrp_sync_set_group), before the instances
    const inGroup = new Map<string, string>();
    for (const { node, g: sg } of this.groupRaw) {
      if (sg.members.length === 0) {
        v.err(node, `Sync group ${sg.name} has no virtual router(s). removing`);
        continue;
      }
      const members: string[] = [];
      for (const m of sg.members) {
        if (!this.cfg.instances.some((i) => i.name === m)) {
          v.err(node, `Virtual router ${m} specified in sync group ${sg.name} doesn't exist - ignoring`);
          continue;
        }
        if (inGroup.has(m)) {
          v.err(node, `Virtual router ${m} cannot exist in more than one sync group; ignoring ${sg.name}`);
          continue;
        }
        members.push(m);
      }
      if (members.length === 0) {
        v.err(node, `Sync group ${sg.name}, no matching virtual router found in group declaration - removing`);
        continue;
      }
      if (members.length === 1) v.err(node, `Sync group ${sg.name} has only 1 virtual router(s) - this probably isn't what you want`);
      for (const m of members) inGroup.set(m, sg.name);
      sg.members = members;
      this.cfg.syncGroups.push(sg);
    }

    const keep: VrrpInstanceConfig[] = [];
    // keepalived checks script security over every instance it read, also those dropped below
    const parsed = this.cfg.instances;
    for (const inst of this.cfg.instances) {
      const p = this.pending.get(inst)!;
      const name = inst.name;
      const at = { file: inst.file, line: inst.line };
      if (!p.strictSet) inst.strict = g.strict;
      const v6 = p.hasV6;
      if (v6) {
        if (inst.version === 2 && p.versionSet && inst.strict) {
          v.err(at, `(${name}) cannot use IPv6 with VRRP version 2; setting version 3`);
          inst.version = 3;
        } else if (!p.versionSet) inst.version = 3;
      }
      if (!p.versionSet && !v6) inst.version = g.version;
      if (inst.vips.length === 0) {
        if (inst.version === 3 || v6 || inst.strict) {
          v.err(at, `(${name}) No VIP specified; at least one is required`);
          continue;
        }
        v.err(at, `(${name}) No VIP specified; at least one is sensible`);
      }
      if (!p.prioSet) inst.priority = inst.wantMaster ? 255 : 100;
      if (!p.stateSet) inst.wantMaster = inst.priority === 255;
      else if (inst.strict && inst.wantMaster !== (inst.priority === 255)) {
        v.err(at, `(${name}) State MASTER must match being address owner`);
        inst.wantMaster = inst.priority === 255;
      }
      if (inst.authType !== 'none') {
        if (inst.strict) {
          v.err(at, `(${name}) Strict mode does not support authentication. Ignoring.`);
          inst.authType = 'none';
        } else if (inst.version === 3) {
          v.err(at, `(${name}) VRRP version 3 does not support authentication. Ignoring.`);
          inst.authType = 'none';
        } else if (!inst.authPass) {
          v.err(at, `(${name}) Authentication specified but no password given. Ignoring`);
          inst.authType = 'none';
        } else if (inst.authType === 'AH' && inst.wantMaster && inst.priority !== 255) {
          v.err(at, `(${name}) Initial state master is incompatible with AH authentication - clearing`);
          inst.wantMaster = false;
        }
      }
      if (inst.authType === 'AH') {
        inst.unsupported.push({ file: inst.file, line: inst.line, what: 'auth_type AH', why: 'IPsec AH authentication (HMAC-MD5-96 over a mutable-field-zeroed header) is not implemented; use PASS, or no authentication' });
      }
      if (inst.vrid === 0) {
        v.err(at, `(${name}) the virtual router id must be set`);
        continue;
      }
      if (!inst.interface || !p.ifaceOk) {
        if (!inst.interface || !this.cfg.globals.dynamicInterfaces) {
          v.err(at, `(${name}) Unknown interface!`);
          continue;
        }
      }
      const h = inst.interface ? this.host.iface(inst.interface) : null;
      if (inst.strict && inst.unicastPeers.length > 0 && h?.multicast) {
        v.err(at, `(${name}) Unicast peers are not supported in strict mode`);
        continue;
      }
      if (inst.useVmac && h && !h.ethernet) {
        v.err(at, `(${name}): vmacs are only supported on Ethernet type interfaces`);
        delete inst.useVmac;
      }
      if (h && !h.multicast && inst.unicastPeers.length === 0) {
        v.err(at, `(${name}) interface ${inst.interface} does not support multicast, specify unicast peers - disabling`);
      }
      if (p.unicastKeyword && inst.unicastPeers.length === 0) {
        v.err(at, `(${name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.`);
      }
      if (h && inst.version === 2) {
        const max = Math.min(255, Math.floor((h.mtu - 14 - 20 - 8 - 8 - (inst.authType === 'AH' ? 24 : 0)) / 4));
        if (inst.vips.length > max) {
          v.err(at, `(${name}) Number of VIPs (${inst.vips.length}) exceeds maximum/space available in packet (max ${max} addresses) - excess moved to eVIPs`);
          inst.excludedVips.push(...inst.vips.splice(max));
        }
      } else if (h) {
        const max = Math.min(255, Math.floor((h.mtu - 14 - 20 - 8) / (v6 ? 16 : 4)));
        if (inst.vips.length > max) {
          v.err(at, `(${name}) Number of VIPs (${inst.vips.length}) exceeds maximum/space available in packet (max ${max} addresses) - excess moved to eVIPs`);
          inst.excludedVips.push(...inst.vips.splice(max));
        }
      }
      if (inst.priority === 255 && inst.nopreempt) {
        v.err(at, `(${name}) nopreempt is incompatible with priority 255. resetting nopreempt`);
        inst.nopreempt = false;
      }
      if (inst.wantMaster) {
        if (inst.nopreempt) {
          v.err(at, `(${name}) Warning - nopreempt will not work with initial state MASTER - clearing`);
          inst.nopreempt = false;
        }
        if (inst.preemptDelay) {
          v.err(at, `(${name}) Warning - preempt delay will not work with initial state MASTER - clearing`);
          inst.preemptDelay = 0;
        }
      }
      if (inst.preemptDelay) {
        if (inst.strict) {
          v.err(at, `(${name}) preempt_delay is incompatible with strict mode - resetting`);
          inst.preemptDelay = 0;
        }
        if (inst.nopreempt) {
          v.err(at, `(${name}) preempt_delay is incompatible with nopreempt mode - resetting`);
          inst.preemptDelay = 0;
        }
      }
      if (!p.acceptSet) inst.accept = !inst.strict;
      if (inst.accept && inst.priority !== 255 && inst.strict && inst.version === 2) {
        v.err(at, `(${name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting`);
        inst.accept = false;
      }
      if (!p.garpLowerRepeatSet) inst.garpLowerPrioRepeat = inst.strict ? 0 : gLowerRepeat;
      else if (inst.strict && inst.garpLowerPrioRepeat) {
        v.err(at, `(${name}) Strict mode requires no repeat garps - resetting`);
        inst.garpLowerPrioRepeat = 0;
      }
      if (!p.garpLowerDelaySet) inst.garpLowerPrioDelay = inst.strict ? 0 : gLowerDelay;
      else if (inst.strict && inst.garpLowerPrioDelay) {
        v.err(at, `(${name}) Strict mode requires no repeat garp delay - resetting`);
        inst.garpLowerPrioDelay = 0;
      }
      if (!p.lpnaSet) inst.lowerPrioNoAdvert = inst.strict ? true : g.lowerPrioNoAdvert;
      else if (inst.strict && !inst.lowerPrioNoAdvert) {
        v.err(at, `(${name}) Strict mode requires no lower priority advert - resetting`);
        inst.lowerPrioNoAdvert = true;
      }
      if (!p.hpsaSet) inst.higherPrioSendAdvert = inst.strict ? false : g.higherPrioSendAdvert;
      else if (inst.strict && inst.higherPrioSendAdvert) {
        v.err(at, `(${name}) strict mode requires higher_prio_send_advert to be clear - resetting`);
        inst.higherPrioSendAdvert = false;
      }
      if (!p.npcSet) inst.notifyPriorityChanges = g.notifyPriorityChanges;
      if (!p.skipSet) inst.skipCheckAdvAddr = g.skipCheckAdvAddr;
      if (!p.checkSrcSet) inst.checkUnicastSrc = g.checkUnicastSrc;
      if (!p.dtaSet) inst.downTimerAdverts = g.downTimerAdverts;
      else if (inst.strict && inst.downTimerAdverts !== 3) {
        v.err(at, `(${name}) strict mode requires down_timer_adverts to be 3 - resetting`);
        inst.downTimerAdverts = 3;
      }
      if (g.minGarp) {
        inst.garpMasterRepeat = 1;
        inst.garpMasterDelay = 0;
      }
      // advertisement interval
      if (!inst.advertInt) inst.advertInt = 1;
      const us = Math.round(inst.advertInt * 1e6);
      if (inst.version === 2) {
        if (us >= 256 * 1e6) {
          v.err(at, `(${name}) VRRPv2 advertisement interval ${inst.advertInt.toFixed(2)}s is out of range. Must be less than 256s. Setting to 255s`);
          inst.advertInt = 255;
        } else if (us % 1e6) {
          v.err(at, `(${name}) VRRPv2 advertisement interval ${inst.advertInt.toFixed(6)}s must be an integer. rounding`);
          inst.advertInt = Math.max(1, Math.round(inst.advertInt));
        }
      } else if (us >= 4096 * 1e4) {
        v.err(at, `(${name}) VRRPv3 advertisement interval ${inst.advertInt.toFixed(2)}s is out of range. Must be less than 40.96s. Setting to 40.95s`);
        inst.advertInt = 40.95;
      } else if (us % 1e4) {
        v.err(at, `(${name}) VRRPv3 advertisement interval ${inst.advertInt.toFixed(6)}s must be in units of 10ms - rounding`);
        inst.advertInt = Math.max(1, Math.round(us / 1e4)) / 100;
      }
      if (inst.useVmac && inst.vmacXmitBase && inst.strict) {
        v.err(at, `(${name}) xmit_base is incompatible with strict mode - resetting`);
        inst.vmacXmitBase = false;
      }
      // tracking of our own interface
      inst.trackInterfaces = inst.trackInterfaces.filter((t) => {
        if (t.name === inst.interface) {
          v.err(at, `(${name}) Ignoring track_interface ${t.name} since own interface`);
          return false;
        }
        return true;
      });
      if (inst.useVmac && inst.promoteSecondaries) {
        v.err(at, `(${name}) promote_secondaries is automatically set for vmacs - ignoring`);
        inst.promoteSecondaries = false;
      }
      if (inst.vmacXmitBase && !inst.useVmac) {
        v.err(at, `(${name}) vmac_xmit_base is only valid with a vmac`);
        inst.vmacXmitBase = false;
      }
      // sync groups and owners cannot have weighted tracking
      const grp = inGroup.get(name);
      if (grp) inst.syncGroup = grp;
      const sg = grp ? this.cfg.syncGroups.find((s) => s.name === grp) : undefined;
      const noWeights = (sg && !sg.trackingWeight) || inst.priority === 255;
      if (noWeights) {
        const why = sg && !sg.trackingWeight ? 'SYNC group' : 'address owner';
        inst.trackInterfaces = inst.trackInterfaces.filter((t) => {
          if (!t.weight) return true;
          v.err(at, `(${name}) ignoring ${t.name} tracked interface ${sg && !sg.trackingWeight ? 'weight ' : ''}due to ${why}`);
          if (sg && !sg.trackingWeight) {
            t.weight = 0;
            return true;
          }
          return false;
        });
        inst.trackScripts = inst.trackScripts.filter((t) => {
          if (!t.weight) return true;
          v.err(at, `(${name}) ignoring tracked script ${t.name} with weights due to ${sg && !sg.trackingWeight ? 'SYNC group' : 'address_owner'}`);
          return false;
        });
        inst.trackFiles = inst.trackFiles.filter((t) => {
          if (t.weight === 1) {
            // keepalived: weight 1 is the default, so it is taken as "no weight"
            v.err(at, `(${name}) ignoring weight from tracked file ${t.name} due to ${sg && !sg.trackingWeight ? 'SYNC group' : 'address_owner'} - specify weight 0`);
            t.weight = 0;
            return true;
          }
          if (!t.weight) return true;
          v.err(at, `(${name}) ignoring tracked file ${t.name} with weight ${t.weight} due to ${sg && !sg.trackingWeight ? 'SYNC group' : 'address_owner'}`);
          return false;
        });
      }
      keep.push(inst);
    }
    this.cfg.instances = keep;
    // what keepalived accepts and tunvsd will not run: an error (exit 5), the same one
    // tunvsd's start refuses with (packages/daemon vrrp-spec.ts refusals), so that
    // --config-test passes only what tunvsd starts with
    for (const inst of keep) {
      for (const u of inst.unsupported) this.sink.error(u, unsupportedMessage(inst.name, u));
    }

    // the same VRID twice on one interface (same family)
    for (let a = 0; a < keep.length; a++) {
      for (let b = a + 1; b < keep.length; b++) {
        const x = keep[a]!;
        const y = keep[b]!;
        if (!x.interface || x.interface !== y.interface || x.vrid !== y.vrid) continue;
        const fx = x.vips[0]?.family ?? 4;
        const fy = y.vips[0]?.family ?? 4;
        if (fx !== fy) continue;
        v.err({ file: y.file, line: y.line }, `${x.name} and ${y.name} both use VRID ${x.vrid} with IPv${fx} on interface ${x.interface}`);
      }
    }
    // sync group weighted tracking with an owner member
    for (const sg of this.cfg.syncGroups) {
      const owner = sg.members.some((m) => keep.find((i) => i.name === m)?.priority === 255);
      if (!owner) continue;
      for (const t of sg.trackScripts) if (t.weight) {
        v.err(sg, `(${sg.name}) Cannot have weighted track script '${t.name}' with member having priority 255 - clearing weight`);
        t.weight = 0;
      }
      for (const t of sg.trackFiles) if (t.weight) {
        v.err(sg, `(${sg.name}) Cannot have weighted track file '${t.name}' with member having priority 255 - setting weight 0`);
        t.weight = 0;
      }
      for (const t of sg.trackInterfaces) if (t.weight) {
        v.err(sg, `(${sg.name}) Cannot have weighted track interface '${t.name}' with member having priority 255 - clearing weight`);
        t.weight = 0;
      }
    }
    // script security (check_vrrp_script_security): a script that would run (its program
    // found, its user known) without enable_script_security
    const runnable = (sp: ScriptSpec | undefined): boolean =>
      sp !== undefined && findExecutable(sp.argv[0]!) !== null && (sp.user === undefined || lookupUser(sp.user) !== null);
    const notifies = [...parsed.map((i) => i.notify), ...this.cfg.syncGroups.map((sg) => sg.notify)].flatMap((n) => Object.values(n) as ScriptSpec[]);
    const fifoScripts = [g.notifyFifoScript, g.vrrpNotifyFifoScript];
    if (
      !this.globalDefs?.enableScriptSecurity &&
      [...notifies, ...fifoScripts, ...this.cfg.scripts.map((x) => x.script)].some(runnable) &&
      !this.outer.list.some((d) => d.message.startsWith('SECURITY VIOLATION'))
    ) {
      v.warn({ file: this.mainFile, line: 0 }, 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.');
      this.sink.list[this.sink.list.length - 1]!.exitCode = 6;
    }
    // check_vrrp_script_security: a track script whose program is missing, is not a regular
    // file, or (with enable_script_security) could be rewritten by someone other than root
    // and its own user (scriptInsecurity, the rule the checker side uses) is disabled:
    // keepalived drops it and every tracking of it, so it never runs
    const secure = this.globalDefs?.enableScriptSecurity === true;
    const gdefs = this.globalDefs ?? {};
    const disabled = new Set<string>();
    for (const sc of this.cfg.scripts) {
      const exe = findExecutable(sc.script.argv[0]!);
      let why: string | null = null;
      if (exe === null) why = 'not found/accessible';
      else if (!statSync(exe).isFile()) why = `${exe} is not a regular file`;
      else if (secure) {
        const acct = scriptAccount(sc.script, gdefs);
        if (acct !== null) why = scriptInsecurity(exe, acct.uid, acct.gid);
      }
      if (why === null) continue;
      sc.script.refused = why;
      disabled.add(sc.name);
      v.err(sc, exe === null ? `Disabling track script ${sc.name} since not found/accessible` : `Disabling track script ${sc.name} due to insecure`);
      if (exe !== null) this.note(this.sink.list[this.sink.list.length - 1]!, `track script ${sc.name}: ${why}`);
    }
    if (disabled.size) {
      this.cfg.scripts = this.cfg.scripts.filter((sc) => !disabled.has(sc.name));
      for (const o of [...keep, ...this.cfg.syncGroups]) o.trackScripts = o.trackScripts.filter((t) => !disabled.has(t.name));
    }
    // an insecure notify script (of an instance, a sync group, or a FIFO's script) is
    // dropped by keepalived with a log line only: its --config-test says nothing and exits
    // 0, so here a notice, and the script is marked refused (it never runs)
    if (secure) {
      for (const sp of [...notifies, ...fifoScripts]) {
        if (sp === undefined || sp.refused !== undefined) continue;
        const exe = findExecutable(sp.argv[0]!);
        const acct = scriptAccount(sp, gdefs);
        if (exe === null || acct === null) continue;
        const why = scriptInsecurity(exe, acct.uid, acct.gid);
        if (why === null) continue;
        sp.refused = why;
        this.sink.warn(sp, `Unsafe permissions found for script '${sp.argv[0]!}' - disabling.`, 0);
        this.note(sp, `notify script ${sp.argv[0]!}: ${why}`);
      }
    }
    if (this.missingIface) {
      const dropped = this.sink.list.splice(before);
      for (const d of dropped) this.note(d, `${d.message} (not reported by keepalived when an interface is missing)`);
      v.err({ file: this.mainFile, line: 0 }, 'Non-existent interface specified in configuration');
    }
  }
}
