export { Proto, SvcFlag, DestFlag, Fwd, ConnFlag } from './constants.js';
export {
  SCHEDULER_NAMES, DEFAULT_SCHEDULER, NO_SCHEDULER, isSchedulerName,
  SCHED_FLAGS, SCHED_FLAG_MASK, schedFlag, schedFlagNames, schedFlagBits,
  METHODS, DEFAULT_METHOD, methodByName, methodName, fwdName, methodOfLbKind, ftpHelperBinds,
  PROTOCOLS, SERVICE_PROTOCOLS, protocolNumber, serviceProtocolName, protocolListing,
  KERNEL_MODES, DEFAULT_KERNEL, isKernelMode,
  TUNNEL_TYPES, TUNNEL_CSUMS, tunnelTypeByName, tunnelCsumByName, tunnelCsumOfFlag,
} from './names.js';
export type { SchedulerName, SchedFlagDef, MethodDef, ProtocolDef, KernelMode, TunnelTypeDef, TunnelCsumDef } from './names.js';
export { Stats } from './stats.js';
export { doubleCounters } from './doubles.js';
export { Dest } from './dest.js';
export { Service } from './service.js';
export { DestRegistry } from './dest-registry.js';
export { ControlError } from './control.js';
export {
  Limits,
  InvalidValue,
  METHOD_NAMES,
  TIMEOUT_NAMES,
  isMethodName,
  ipv4Octets,
  isUnicastIpv4,
  checkFwmark,
  checkPort,
  checkServiceKey,
  checkServiceSpec,
  parseServiceSpec,
  checkPe,
  checkDestKey,
  checkDestSpec,
  parseDestSpec,
  checkDestRange,
  checkDestUnicast,
  checkTimeouts,
  checkDefense,
  DEFENSE_NAMES,
  DEFENSE_SYSCTLS,
  DEFENSE_DEFAULTS,
} from './validate.js';
export type {
  ProtocolName,
  MethodName,
  ServiceKey,
  ServiceSpec,
  DestSpec,
  StatsInfo,
  DestInfo,
  ServiceInfo,
  ConnInfo,
  Timeouts,
  DefenseSettings,
  DirectorInfo,
  SyncDaemonInfo,
  TunnelType,
  TunnelCsum,
  ControlErrorCode,
  DirectorControl,
} from './control.js';
