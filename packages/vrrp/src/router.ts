/**
 * The VRRP state machine of every instance of a router, as keepalived runs it
 * (vrrp_scheduler.c, vrrp.c, vrrp_sync.c), on an injected clock: no I/O, no timers. The
 * caller feeds received datagrams, tracking results and the time, asks `nextDeadline()`
 * when to call `tick()` again, and carries out the effects through `RouterIo`.
 *
 * Per instance:
 *
 *   start: VIPs removed; FAULT if tracking says so; the address owner (priority 255 and
 *          state MASTER) becomes MASTER after 1 µs; everyone else starts BACKUP with the
 *          full Master_Down_Interval (3 x Master_Adver_Interval + Skew_Time).
 *   BACKUP, valid advert: priority 0 -> down timer := Skew_Time; priority >= ours, or
 *          nopreempt, or a preempt_delay not yet run out -> accept (v3 adopts the
 *          master's interval), down timer := Master_Down_Interval; lower priority ->
 *          discarded, the timer keeps running, so we preempt when it runs out.
 *   BACKUP, down timer expires -> MASTER: one advert first, then the VIPs, GARPs
 *          (repeat now, repeat again after garp_master_delay), notifies; then one advert
 *          per advert_int (our own interval).
 *   MASTER, valid advert: priority 0 -> answer with an advert; lower priority (or equal
 *          from a lower address) -> answer with an advert (unless lower_prio_no_advert),
 *          GARPs if garp_lower_prio_repeat, MASTER_RX_LOWER_PRI; higher (or equal from a
 *          higher address) -> BACKUP, VIPs removed (no priority-0 advert); two owners
 *          (255/255) -> we lower ourselves to 254.
 *   tracking: a weight-0 failure -> FAULT (a master first sends priority 0 and removes its
 *          VIPs); recovery -> BACKUP with a fresh down timer; priority changes are
 *          advertised from the next advert, and a backup's down timer moves with the skew.
 *   shutdown: masters send priority 0 and remove their VIPs; STOP notifies.
 *
 * Sync groups: a member whose down timer runs out becomes MASTER only when every other
 * member also wants MASTER (otherwise it re-arms its timer); then all members become
 * MASTER together. One member going BACKUP takes the others to BACKUP, one going FAULT
 * takes them to FAULT. Instance notifies come first, then the group's (GROUP name STATE 0).
 */
import { checkAdvert, datagramVrid, DiscardReason } from './check.js';
import type { RxExpect } from './check.js';
import { adverIntUsOf, masterDownUs, skewUs } from './timers.js';
import type { Effective } from './tracking.js';
import { VrrpState, stateName } from './types.js';
import type { InstanceCounters, InstanceSpec, NotifyEvent, TransitionEvent, VrrpStateValue } from './types.js';
import { VRRP_PRIO_OWNER, VRRP_PRIO_STOP } from './wire.js';

/** Effects of the state machine, carried out by the caller. */
export interface RouterIo {
  /** Send one advert with `priority` (to each unicast peer, or to the multicast group). */
  sendAdvert(inst: Instance, priority: number): void;
  /** Add (`up`) or remove the instance's VIPs, excluded VIPs and virtual routes. */
  setAddresses(inst: Instance, up: boolean): void;
  /** Send `repeat` gratuitous ARPs for each VIP (VIPs first, then excluded ones). */
  garp(inst: Instance, repeat: number): void;
  /** Run notifications (scripts, FIFO) in keepalived's order for this event. */
  notify(ev: NotifyEvent): void;
  /** A state change. */
  transition(ev: TransitionEvent): void;
  /** Anything else worth a log line. */
  log(instance: string, msg: string, fields?: Record<string, unknown>): void;
}

/** A sync group as configured. */
export interface GroupSpec {
  name: string;
  members: string[];
}

const fmt = (a: number): string => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

function zeroCounters(): InstanceCounters {
  return { advert_rcvd: 0, advert_sent: 0, become_master: 0, release_master: 0, pri_zero_rcvd: 0, pri_zero_sent: 0, discarded: {} };
}

/** A sync group at run time. */
export class Group {
  state: VrrpStateValue = VrrpState.Backup;
  readonly members: Instance[] = [];
  constructor(readonly name: string) {}
}

/** Run-time state of one instance. */
export class Instance {
  state: VrrpStateValue = VrrpState.Init;
  wantState: VrrpStateValue = VrrpState.Backup;
  /** configured priority (an owner that met another owner drops to 254) */
  basePriority: number;
  effectivePriority: number;
  /** reasons the instance is held in FAULT by tracking (empty = none) */
  trackFault: string[] = [];
  /** why the effective priority is what it is */
  priorityWhy: string[] = [];
  masterAdverIntUs: number;
  /** when the running timer (down timer in BACKUP, next advert in MASTER) expires */
  sands = Infinity;
  /** preempt_delay: when preemption is allowed again (0 = not running) */
  preemptAt = 0;
  /** the current master's address and priority (last accepted advert) */
  masterAddr: number | null = null;
  masterPriority = 0;
  /** our source address (mcast_src_ip / unicast_src_ip / the interface's primary) */
  srcAddr = 0;
  vipsSet = false;
  readonly counters: InstanceCounters = zeroCounters();
  group: Group | null = null;
  /** what the timer running out will mean, for the log */
  expireReason = '';
  lastTransition: { atUs: number; from: string; to: string; reason: string } | null = null;
  garpAt = Infinity;
  refreshAt = Infinity;
  lowerGarpAt = Infinity;
  private ipId = 0;
  notifiesSent = false;

  constructor(readonly spec: InstanceSpec) {
    this.basePriority = spec.priority;
    this.effectivePriority = spec.priority;
    this.masterAdverIntUs = spec.adverIntUs;
    this.wantState = spec.wantMaster ? VrrpState.Master : VrrpState.Backup;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The next IP identification (1, 2, ... skipping 0, as keepalived). */
  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    if (this.ipId === 0) this.ipId = 1;
    return this.ipId;
  }

  /** Master_Down_Interval now. */
  masterDownUs(): number {
    return masterDownUs(this.spec.version, this.effectivePriority, this.masterAdverIntUs, this.spec.downTimerAdverts);
  }

  skewUs(): number {
    return skewUs(this.spec.version, this.effectivePriority, this.masterAdverIntUs);
  }

  /** What the receive checks expect, for an advert from `src`. */
  rxExpect(src: number): RxExpect {
    return {
      version: this.spec.version,
      authType: this.spec.authType,
      authData: this.spec.authData,
      adverIntUs: this.spec.adverIntUs,
      vips: this.spec.vips,
      unicast: this.spec.unicastPeers.length > 0,
      peers: this.spec.unicastPeers,
      checkUnicastSrc: this.spec.checkUnicastSrc,
      v3ChecksumAsV2: this.spec.v3ChecksumAsV2,
      skipVipCheck: this.spec.skipCheckAdvAddr && this.masterAddr === src,
    };
  }

  discard(reason: string): void {
    this.counters.discarded[reason] = (this.counters.discarded[reason] ?? 0) + 1;
  }
}

/** Outcome of handing a datagram to the router. */
export interface RxOutcome {
  /** the instance it was for, if any */
  instance: string | null;
  accepted: boolean;
  reason?: string;
  detail?: string;
}

/** All instances of one router and their sync groups. */
export class VrrpRouter {
  readonly instances = new Map<string, Instance>();
  readonly groups = new Map<string, Group>();
  private started = false;

  constructor(
    specs: readonly InstanceSpec[],
    groups: readonly GroupSpec[],
    private readonly io: RouterIo,
  ) {
    for (const s of specs) this.instances.set(s.name, new Instance(s));
    for (const g of groups) {
      const grp = new Group(g.name);
      for (const m of g.members) {
        const i = this.instances.get(m);
        if (i && i.group === null) {
          i.group = grp;
          grp.members.push(i);
        }
      }
      if (grp.members.length > 1) this.groups.set(g.name, grp);
      else for (const i of grp.members) i.group = null;
    }
  }

  /** An instance by name (throws when unknown). */
  get(name: string): Instance {
    const i = this.instances.get(name);
    if (!i) throw new Error(`no VRRP instance '${name}'`);
    return i;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Start every instance at time `now` (µs); tracking should have been set before. */
  start(now: number): void {
    this.started = true;
    for (const g of this.groups.values()) {
      g.state = g.members.some((m) => m.trackFault.length > 0) ? VrrpState.Fault : VrrpState.Backup;
    }
    for (const inst of this.instances.values()) {
      this.io.setAddresses(inst, false);
      inst.vipsSet = false;
      const groupFault = inst.group?.state === VrrpState.Fault;
      if (inst.trackFault.length > 0 || groupFault) {
        const why = inst.trackFault.length > 0 ? inst.trackFault.join('; ') : `sync group ${inst.group!.name} in FAULT`;
        this.setState(inst, VrrpState.Fault, `startup: ${why}`, now);
        inst.sands = Infinity;
        continue;
      }
      if (inst.spec.wantMaster && inst.basePriority === VRRP_PRIO_OWNER) {
        // the owner: "become master by timing out of BACKUP after 1 µs"
        inst.state = VrrpState.Backup;
        inst.sands = now + 1;
        inst.expireReason = 'address owner (priority 255) at startup';
        continue;
      }
      inst.sands = now + inst.masterDownUs();
      if (inst.group && inst.spec.wantMaster) {
        // "wait one interval to make sure there is no other master"
        inst.sands = now + inst.masterAdverIntUs + skewUs(inst.spec.version, VRRP_PRIO_OWNER, inst.masterAdverIntUs);
      }
      inst.expireReason = 'no advert from a master since startup';
      this.setState(inst, VrrpState.Backup, 'startup', now);
    }
  }

  /**
   * Stop (SIGTERM): every master sends a priority-0 advert and removes its VIPs; then STOP
   * notifications for instances, then for groups.
   */
  shutdown(now: number): void {
    for (const inst of this.instances.values()) {
      if (inst.state === VrrpState.Master) {
        this.sendAdvert(inst, VRRP_PRIO_STOP);
        inst.counters.pri_zero_sent++;
        this.removeAddresses(inst);
      }
    }
    for (const inst of this.instances.values()) {
      const from = stateName(inst.state);
      inst.state = VrrpState.Stop;
      inst.sands = Infinity;
      inst.garpAt = inst.refreshAt = inst.lowerGarpAt = Infinity;
      this.recordTransition(inst, from, 'STOP', 'shutdown', now);
      this.io.notify({ kind: 'INSTANCE', name: inst.name, state: 'STOP', priority: inst.effectivePriority, event: false });
    }
    for (const g of this.groups.values()) {
      g.state = VrrpState.Stop;
      this.io.notify({ kind: 'GROUP', name: g.name, state: 'STOP', priority: 0, event: false });
    }
    this.started = false;
  }

  // ------------------------------------------------------------------ time

  /** The earliest time (µs) `tick` has work to do, or Infinity. */
  nextDeadline(): number {
    let t = Infinity;
    for (const i of this.instances.values()) t = Math.min(t, i.sands, i.garpAt, i.lowerGarpAt);
    return t;
  }

  /** Run everything due at `now`. */
  tick(now: number): void {
    if (!this.started) return;
    // repeat while something is due (a transition can make another timer due at once)
    for (let guard = 0; guard < 1000; guard++) {
      let did = false;
      for (const inst of this.instances.values()) {
        if (inst.garpAt <= now) {
          inst.garpAt = Infinity;
          if (inst.state === VrrpState.Master) this.io.garp(inst, inst.spec.garp.masterRepeat);
          did = true;
        }
        if (inst.lowerGarpAt <= now) {
          inst.lowerGarpAt = Infinity;
          if (inst.state === VrrpState.Master) this.io.garp(inst, inst.spec.garp.lowerPrioRepeat);
          did = true;
        }
        if (inst.sands <= now) {
          did = true;
          this.expire(inst, now);
        }
      }
      if (!did) return;
    }
  }

  private expire(inst: Instance, now: number): void {
    if (inst.state === VrrpState.Master) {
      this.masterTx(inst, now);
      return;
    }
    if (inst.state === VrrpState.Backup) {
      this.gotoMaster(inst, inst.expireReason || 'master down timer expired', now);
      return;
    }
    inst.sands = Infinity;
  }

  // ------------------------------------------------------------------ receive

  /**
   * Hand over a received IPv4 datagram (protocol 112, header included) that arrived where
   * `candidates` listen (the instances on that interface; default all). Returns what
   * happened to it; nothing here ever throws on bad input.
   */
  receive(buf: Uint8Array, off: number, len: number, now: number, candidates?: readonly Instance[]): RxOutcome {
    const vrid = datagramVrid(buf, off, len);
    const list = candidates ?? [...this.instances.values()];
    if (vrid < 0) {
      // not attributable to an instance: count on every candidate
      for (const i of list) i.discard(DiscardReason.Malformed);
      return { instance: null, accepted: false, reason: DiscardReason.Malformed };
    }
    const inst = list.find((i) => i.spec.vrid === vrid);
    if (!inst) return { instance: null, accepted: false, reason: DiscardReason.UnknownVrid };
    if (!this.started || inst.state === VrrpState.Stop) return { instance: inst.name, accepted: false, reason: 'not running' };
    const src = len >= 16 ? ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0 : 0;
    const res = checkAdvert(buf, off, len, inst.rxExpect(src));
    if (!res.ok) {
      if (res.counted) inst.counters.advert_rcvd++;
      inst.discard(res.reason);
      this.io.log(inst.name, res.detail, { discarded: res.reason, from: fmt(src) });
      if (inst.state === VrrpState.Backup || inst.state === VrrpState.Master) return { instance: inst.name, accepted: false, reason: res.reason, detail: res.detail };
      return { instance: inst.name, accepted: false, reason: res.reason, detail: res.detail };
    }
    inst.counters.advert_rcvd++;
    const adv = res.advert;
    if (adv.repr.priority === 0) inst.counters.pri_zero_rcvd++;
    if (inst.state === VrrpState.Fault || inst.state === VrrpState.Init) {
      // FAULT ignores adverts
      return { instance: inst.name, accepted: false, reason: 'fault' };
    }
    if (inst.state === VrrpState.Backup) this.backupRx(inst, adv.repr.priority, adv.repr.adverInt, adv.src, now);
    else this.masterRx(inst, adv.repr.priority, adv.repr.adverInt, adv.src, now);
    return { instance: inst.name, accepted: true };
  }

  private backupRx(inst: Instance, prio: number, adverField: number, src: number, now: number): void {
    const s = inst.spec;
    if (prio === 0) {
      this.io.log(inst.name, 'Backup received priority 0 advertisement', { from: fmt(src) });
      inst.sands = now + inst.skewUs();
      inst.expireReason = `master ${fmt(src)} sent priority 0`;
      return;
    }
    const delayRunning = s.preemptDelayUs > 0 && (inst.preemptAt === 0 || inst.preemptAt > now);
    if (s.nopreempt || prio >= inst.effectivePriority || delayRunning) {
      if (s.version === 3) {
        const mai = adverIntUsOf(3, adverField);
        if (mai !== inst.masterAdverIntUs && mai > 0) {
          this.io.log(inst.name, `advertisement interval updated to ${mai / 1000} milli-sec from ${inst.masterAdverIntUs / 1000} milli-sec`);
          inst.masterAdverIntUs = mai;
        }
      }
      inst.sands = now + inst.masterDownUs();
      inst.masterAddr = src;
      inst.masterPriority = prio;
      inst.expireReason = `no advert from master ${fmt(src)} within master-down ${inst.masterDownUs()} us`;
      if (s.preemptDelayUs > 0) {
        if (prio >= inst.effectivePriority) inst.preemptAt = 0;
        else if (inst.preemptAt === 0) {
          inst.preemptAt = now + s.preemptDelayUs;
          this.io.log(inst.name, `start preempt delay (${s.preemptDelayUs / 1e6} s)`, { master: fmt(src), priority: prio });
        }
      }
      inst.wantState = VrrpState.Backup;
      return;
    }
    // lower priority and we may preempt: discard, let the running timer expire
    this.io.log(inst.name, `received lower priority (${prio}) advert from ${fmt(src)} - discarding`);
    inst.discard(DiscardReason.LowerPriority);
    inst.masterAddr = src;
    inst.masterPriority = prio;
    inst.expireReason = `preempting lower-priority master ${fmt(src)} (priority ${prio} < ours ${inst.effectivePriority})`;
  }

  private masterRx(inst: Instance, prio: number, adverField: number, src: number, now: number): void {
    const s = inst.spec;
    // compare the sender with our source address, as unsigned numbers
    const cmp = src === inst.srcAddr ? 0 : src > inst.srcAddr ? 1 : -1;
    const higher = prio > inst.effectivePriority || (prio === inst.effectivePriority && cmp > 0);
    if (prio === 0 || (s.higherPrioSendAdvert && higher)) {
      this.io.log(inst.name, 'Master received priority 0 or lower priority advert', { from: fmt(src), priority: prio });
      this.sendAdvert(inst, inst.effectivePriority);
      if (prio === 0) return;
    }
    if (prio === inst.effectivePriority) {
      if (cmp === 0) this.io.log(inst.name, 'WARNING - equal priority advert received from remote host with our IP address.');
      else if (inst.effectivePriority === VRRP_PRIO_OWNER) {
        this.io.log(inst.name, 'CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority');
        inst.effectivePriority = VRRP_PRIO_OWNER - 1;
        inst.basePriority = VRRP_PRIO_OWNER - 1;
      }
    }
    if (prio < inst.effectivePriority || (prio === inst.effectivePriority && cmp < 0)) {
      this.io.log(inst.name, `Received advert from ${fmt(src)} with lower priority ${prio}, ours ${inst.effectivePriority}${s.lowerPrioNoAdvert ? '' : ', forcing new election'}`);
      if (!s.lowerPrioNoAdvert) this.sendAdvert(inst, inst.effectivePriority);
      if (s.garp.lowerPrioRepeat > 0) {
        this.io.garp(inst, s.garp.lowerPrioRepeat);
        if (s.garp.lowerPrioDelayUs > 0) inst.lowerGarpAt = now + s.garp.lowerPrioDelayUs;
      }
      this.io.notify({ kind: 'INSTANCE', name: inst.name, state: 'MASTER_RX_LOWER_PRI', priority: inst.effectivePriority, event: true });
      return;
    }
    // higher priority, or equal priority from a higher address: become BACKUP
    if (s.version === 3) {
      const mai = adverIntUsOf(3, adverField);
      if (mai > 0) inst.masterAdverIntUs = mai;
    }
    inst.masterAddr = src;
    inst.masterPriority = prio;
    const reason =
      prio > inst.effectivePriority
        ? `advert from ${fmt(src)} with higher priority ${prio}, ours ${inst.effectivePriority}`
        : `advert from ${fmt(src)} with same priority ${prio} but higher IP address than ours`;
    this.leaveMaster(inst, VrrpState.Backup, reason, now, false);
    if (inst.group) this.syncBackup(inst, now);
  }

  // ------------------------------------------------------------------ tracking

  /**
   * New tracking result for an instance: effective priority, and the reasons it must be in
   * FAULT (empty = none).
   */
  setTracking(name: string, eff: Effective, now: number): void {
    const inst = this.get(name);
    const oldPrio = inst.effectivePriority;
    inst.priorityWhy = eff.why;
    const wasFault = inst.trackFault.length > 0;
    inst.trackFault = eff.fault;
    const newPrio = inst.basePriority === VRRP_PRIO_OWNER ? VRRP_PRIO_OWNER : eff.priority;
    if (newPrio !== oldPrio) {
      const oldSkew = inst.skewUs();
      inst.effectivePriority = newPrio;
      this.io.log(inst.name, `Changing effective priority from ${oldPrio} to ${newPrio}`, { why: eff.why });
      if (this.started && inst.state === VrrpState.Backup && Number.isFinite(inst.sands)) {
        inst.sands = Math.max(now, inst.sands + inst.skewUs() - oldSkew);
      }
      if (this.started && inst.spec.notifyPriorityChanges && (inst.state === VrrpState.Master || inst.state === VrrpState.Backup)) {
        this.io.notify({ kind: 'INSTANCE', name: inst.name, state: inst.state === VrrpState.Master ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', priority: newPrio, event: true });
      }
    }
    if (!this.started) return;
    const isFault = eff.fault.length > 0;
    if (isFault && !wasFault) this.enterFault(inst, `tracking: ${eff.fault.join('; ')}`, now);
    else if (!isFault && wasFault) this.trackingRecovered(inst, now);
  }

  private enterFault(inst: Instance, reason: string, now: number): void {
    if (inst.state === VrrpState.Fault || inst.state === VrrpState.Stop) return;
    if (inst.state === VrrpState.Master) this.leaveMaster(inst, VrrpState.Fault, reason, now, true);
    else {
      inst.wantState = VrrpState.Fault;
      inst.sands = Infinity;
      this.setState(inst, VrrpState.Fault, reason, now);
    }
    if (inst.group) this.syncFault(inst, now);
  }

  private trackingRecovered(inst: Instance, now: number): void {
    if (inst.state !== VrrpState.Fault) return;
    if (inst.group) {
      // the group leaves FAULT when no member is held by its own tracking
      if (inst.group.members.some((m) => m.trackFault.length > 0)) return;
      for (const m of inst.group.members) this.leaveFault(m, m === inst ? 'tracking recovered' : `sync group ${inst.group.name} left FAULT`, now);
      this.setGroupState(inst.group, VrrpState.Backup);
      return;
    }
    this.leaveFault(inst, 'tracking recovered', now);
  }

  private leaveFault(inst: Instance, reason: string, now: number): void {
    if (inst.state !== VrrpState.Fault) return;
    inst.masterAdverIntUs = inst.spec.adverIntUs;
    inst.preemptAt = 0;
    if (inst.spec.wantMaster && inst.basePriority === VRRP_PRIO_OWNER && !inst.group) {
      inst.state = VrrpState.Backup;
      this.gotoMaster(inst, `${reason}; address owner`, now);
      return;
    }
    inst.wantState = VrrpState.Backup;
    this.setState(inst, VrrpState.Backup, reason, now);
    inst.sands = now + inst.masterDownUs();
    inst.expireReason = 'no advert from a master since leaving FAULT';
  }

  // ------------------------------------------------------------------ transitions

  private sendAdvert(inst: Instance, prio: number): void {
    this.io.sendAdvert(inst, prio);
    inst.counters.advert_sent++;
  }

  private removeAddresses(inst: Instance): void {
    inst.garpAt = inst.refreshAt = inst.lowerGarpAt = Infinity;
    this.io.setAddresses(inst, false);
    inst.vipsSet = false;
  }

  private recordTransition(inst: Instance, from: string, to: string, reason: string, now: number): void {
    inst.lastTransition = { atUs: now, from, to, reason };
    const master = inst.state === VrrpState.Master ? inst.srcAddr : inst.masterAddr;
    const ev: TransitionEvent = { instance: inst.name, from, to, reason, priority: inst.effectivePriority, master: master ? fmt(master) : null };
    if (inst.group) ev.group = inst.group.name;
    this.io.transition(ev);
  }

  /** Set a (non-master) state, log it, run the instance notifies. */
  private setState(inst: Instance, to: VrrpStateValue, reason: string, now: number): void {
    const from = stateName(inst.state);
    inst.state = to;
    this.recordTransition(inst, from, stateName(to), reason, now);
    this.instanceNotifies(inst);
  }

  private instanceNotifies(inst: Instance): void {
    if (inst.notifiesSent && inst.group && inst.state === inst.group.state) return;
    inst.notifiesSent = true;
    this.io.notify({ kind: 'INSTANCE', name: inst.name, state: stateName(inst.state), priority: inst.effectivePriority, event: false });
  }

  private setGroupState(g: Group, to: VrrpStateValue): void {
    if (g.state === to) return;
    g.state = to;
    this.io.log(`group ${g.name}`, `VRRP_Group(${g.name}) Syncing instances to ${stateName(to)} state`);
    this.io.notify({ kind: 'GROUP', name: g.name, state: stateName(to), priority: 0, event: false });
  }

  private canGotoMaster(inst: Instance): boolean {
    const g = inst.group;
    if (!g || g.state === VrrpState.Master) return true;
    return g.members.every((m) => m === inst || m.wantState === VrrpState.Master);
  }

  private gotoMaster(inst: Instance, reason: string, now: number): void {
    if (inst.group && !this.canGotoMaster(inst)) {
      inst.wantState = VrrpState.Master;
      inst.sands = now + inst.masterDownUs();
      this.io.log(inst.name, `wants MASTER; waiting for the rest of sync group ${inst.group.name}`);
      return;
    }
    this.becomeMaster(inst, reason, now);
    if (inst.group && inst.group.state !== VrrpState.Master) {
      const g = inst.group;
      for (const m of g.members) {
        if (m !== inst && m.state !== VrrpState.Master && m.state !== VrrpState.Fault) this.becomeMaster(m, `sync group ${g.name}: ${inst.name} became MASTER`, now);
      }
      this.setGroupState(g, VrrpState.Master);
    }
  }

  /** vrrp_state_goto_master + master_tx + become_master: advert first, then VIPs, GARP, notifies. */
  private becomeMaster(inst: Instance, reason: string, now: number): void {
    const from = stateName(inst.state);
    inst.state = VrrpState.Master;
    inst.wantState = VrrpState.Master;
    if (inst.basePriority === VRRP_PRIO_OWNER - 1 && inst.spec.priority === VRRP_PRIO_OWNER) {
      inst.basePriority = VRRP_PRIO_OWNER;
      inst.effectivePriority = VRRP_PRIO_OWNER;
    }
    inst.masterAdverIntUs = inst.spec.adverIntUs;
    inst.counters.become_master++;
    this.sendAdvert(inst, inst.effectivePriority);
    this.io.setAddresses(inst, true);
    inst.vipsSet = true;
    const g = inst.spec.garp;
    this.io.garp(inst, g.masterRepeat);
    inst.garpAt = g.masterDelayUs > 0 ? now + g.masterDelayUs : Infinity;
    inst.refreshAt = g.masterRefreshUs > 0 ? now + g.masterRefreshUs : Infinity;
    inst.masterAddr = inst.srcAddr;
    inst.masterPriority = inst.effectivePriority;
    inst.preemptAt = 0;
    this.recordTransition(inst, from, 'MASTER', reason, now);
    this.instanceNotifies(inst);
    inst.sands = now + inst.spec.adverIntUs;
  }

  /** Periodic advert of a master (with the GARP refresh when due). */
  private masterTx(inst: Instance, now: number): void {
    if (inst.refreshAt <= now) {
      this.io.garp(inst, inst.spec.garp.masterRefreshRepeat);
      inst.refreshAt = now + inst.spec.garp.masterRefreshUs;
    }
    this.sendAdvert(inst, inst.effectivePriority);
    inst.sands = now + inst.spec.adverIntUs;
  }

  /** vrrp_state_leave_master: to BACKUP (no priority 0) or FAULT (priority 0 first). */
  private leaveMaster(inst: Instance, to: VrrpStateValue, reason: string, now: number, prio0: boolean): void {
    if (prio0) {
      this.sendAdvert(inst, VRRP_PRIO_STOP);
      inst.counters.pri_zero_sent++;
    }
    if (to === VrrpState.Backup) inst.masterAdverIntUs = inst.spec.adverIntUs;
    this.removeAddresses(inst);
    inst.wantState = to;
    inst.counters.release_master++;
    this.setState(inst, to, reason, now);
    if (to === VrrpState.Backup) {
      inst.sands = now + inst.masterDownUs();
      inst.expireReason = inst.masterAddr !== null ? `no advert from master ${fmt(inst.masterAddr)} within master-down` : 'master down timer expired';
      inst.preemptAt = 0;
    } else inst.sands = Infinity;
  }

  private syncBackup(inst: Instance, now: number): void {
    const g = inst.group!;
    if (g.state === VrrpState.Backup) return;
    for (const m of g.members) {
      if (m === inst || m.state === VrrpState.Backup) continue;
      if (m.state === VrrpState.Master) this.leaveMaster(m, VrrpState.Backup, `sync group ${g.name}: ${inst.name} went BACKUP`, now, false);
      else if (m.state === VrrpState.Fault) this.leaveFault(m, `sync group ${g.name}: ${inst.name} went BACKUP`, now);
    }
    this.setGroupState(g, VrrpState.Backup);
  }

  private syncFault(inst: Instance, now: number): void {
    const g = inst.group!;
    if (g.state === VrrpState.Fault) return;
    for (const m of g.members) {
      if (m === inst || m.state === VrrpState.Fault) continue;
      const why = `sync group ${g.name}: ${inst.name} went FAULT`;
      if (m.state === VrrpState.Master) this.leaveMaster(m, VrrpState.Fault, why, now, true);
      else {
        m.wantState = VrrpState.Fault;
        m.sands = Infinity;
        this.setState(m, VrrpState.Fault, why, now);
      }
    }
    this.setGroupState(g, VrrpState.Fault);
  }
}
