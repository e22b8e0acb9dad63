export { parseArgs, UsageError, usageText, schedFlagNames, schedFlagBits, SCHEDULERS, PERSISTENCE_ENGINES, MAX_TIMEOUT, VERSION_LINE } from './args.js';
export type { Command, DaemonSpec, FormatOptions, ParseOptions } from './args.js';
export {
  formatList,
  formatService,
  formatSave,
  formatConnections,
  formatTimeouts,
  formatDaemons,
  largeNum,
  addrPort,
  compareServices,
  compareDests,
  sortServices,
  IPVS_VERSION,
} from './format.js';
export type { ListOptions } from './format.js';
export { controlErrorMessage } from './errors.js';
export { nullResolver, systemResolver, tableResolver, parseHosts, parseServices } from './names.js';
export type { Resolver } from './names.js';
export {
  serveControl,
  claimSocketPath,
  dispatchRequest,
  asyncControl,
  ControlClient,
  ControlTimeoutError,
  SocketInUseError,
  socketPath,
  DEFAULT_SOCKET,
  CONTROL_OPS,
  DIRECTOR_OPS,
  SERVE_DEFAULTS,
} from './control-socket.js';
export type {
  AsyncDirectorControl,
  ClientOptions,
  ControlErrorBody,
  ControlOp,
  ControlOpHandler,
  ControlRequest,
  ControlResponse,
  ServeOptions,
  SocketClaim,
} from './control-socket.js';
export { LineSplitter, LINE_TOO_LONG } from './lines.js';
export { runTunvsadm, extractOwnOptions, restoreTokens, scrubControlChars, DEFAULT_TIMEOUT_S } from './tunvsadm.js';
export type { OwnOptions } from './tunvsadm.js';
export type { CliIO } from './tunvsadm.js';
export { inetAton, inetPton4, inetPton6, ntop6, ntoa } from './addr.js';
