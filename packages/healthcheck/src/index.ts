export {
  tcpProbe,
  httpGet,
  httpProbe,
  httpRequest,
  parseHttpResponse,
  judgeHttp,
  scriptProbe,
  sendExpectProbe,
  decodeNannyEscapes,
} from './probes.js';
export type {
  ProbeResult,
  ConnectOptions,
  HttpProbeOptions,
  HttpResponse,
  UrlCriteria,
  ScriptProbeOptions,
  SendExpectOptions,
} from './probes.js';
export { CheckerRunner, defaultProbe, realTimers } from './checker.js';
export type { Timers, ProbeFn, CheckerEvents } from './checker.js';
export { HealthManager } from './health-manager.js';
export type { HealthManagerOptions, HealthEvent } from './health-manager.js';
export { genhash, runGenhash, parseGenhashArgs, formatGenhash, hexDump, GENHASH_USAGE } from './genhash.js';
export type { GenhashOptions } from './genhash.js';
export { importLvsCf, parseLvsCf, LvsCfError } from './lvs-cf.js';
