export { Proto, SvcFlag, DestFlag, Fwd, ConnFlag, fwdName } from './constants.js';
export { Stats } from './stats.js';
export { Dest } from './dest.js';
export { Service } from './service.js';
export { DestRegistry } from './dest-registry.js';
export { ControlError } from './control.js';
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
