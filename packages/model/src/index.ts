export { Proto, SvcFlag, DestFlag, Fwd, ConnFlag, fwdName } from './constants.js';
export { Stats } from './stats.js';
export { Dest } from './dest.js';
export { Service } from './service.js';
export { DestRegistry } from './dest-registry.js';
export { ControlError } from './control.js';
export {
  Limits,
  InvalidValue,
  METHOD_NAMES,
  SCHED_FLAGS,
  TIMEOUT_NAMES,
  isMethodName,
  ipv4Octets,
  isUnicastIpv4,
  checkFwmark,
  checkPort,
  checkServiceKey,
  checkServiceSpec,
  checkDestKey,
  checkDestSpec,
  checkTimeouts,
  schedFlagBits,
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
  DirectorInfo,
  SyncDaemonInfo,
  TunnelType,
  TunnelCsum,
  ControlErrorCode,
  DirectorControl,
} from './control.js';
