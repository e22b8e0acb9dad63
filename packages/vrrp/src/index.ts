export {
  VrrpField, IPPROTO_VRRP, IPPROTO_AH, VRRP_MCAST_GROUP, VRRP_TTL, VRRP_TOS, VRRP_TYPE_ADVERT, VRRP_MAX_ADDRS, VRRP_PRIO_STOP,
  VRRP_PRIO_OWNER, VRRP_PRIO_DEFAULT, VrrpAuth, vrrpLength, authPassBytes, vrrpPseudoSum, computeVrrpChecksum,
  verifyVrrpChecksum, parseVrrp, emitVrrp, emitAdvertDatagram, ipv4MulticastMac, vrrpVirtualMac, emitAdvertFrame, emitVrrpGarp,
} from './wire.js';
export type { VrrpRepr, ChecksumSpec, AdvertIp } from './wire.js';
export { DiscardReason, checkAdvert, vrrpOffset, datagramVrid } from './check.js';
export type { DiscardReasonName, RxExpect, ValidAdvert, CheckResult } from './check.js';
export { TIMER_HZ, TIMER_CENTI_HZ, skewUs, masterDownUs, adverIntField, adverIntUsOf } from './timers.js';
export { VrrpState, stateName } from './types.js';
export type { VrrpStateValue, GarpSpec, InstanceSpec, InstanceCounters, NotifyEvent, TransitionEvent } from './types.js';
export { ScriptState, effectivePriority } from './tracking.js';
export type { TrackKind, TrackRef, ScriptStatus, Effective, TrackStates } from './tracking.js';
export { VrrpRouter, Instance, Group } from './router.js';
export type { RouterIo, GroupSpec, RxOutcome } from './router.js';
export { fifoLine, notifyJobs } from './notify.js';
export type { NotifyScript, NotifyScripts, NotifyJob } from './notify.js';
export { buildAdvert } from './advert.js';
