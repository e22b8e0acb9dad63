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
  smtpProbe,
  dnsProbe,
  dnsQuery,
  udpProbe,
  udpReplyMatches,
  pingProbe,
  spawnScript,
  killRunningScripts,
} from './probes.js';
export type {
  ProbeResult,
  ConnectOptions,
  HttpProbeOptions,
  HttpResponse,
  UrlCriteria,
  ScriptProbeOptions,
  SendExpectOptions,
  SmtpProbeOptions,
  DnsProbeOptions,
  UdpProbeOptions,
  PingProbeOptions,
} from './probes.js';
export { CheckerRunner, FileCheckRunner, BfdCheckRunner, defaultProbe, realTimers } from './checker.js';
export type { Timers, ProbeFn, CheckerEvents, Runner, BfdSessionLike } from './checker.js';
export { TrackFileWatcher, readTrackFile, trackFileEffect, strtol0 } from './track-file.js';
export { HealthManager } from './health-manager.js';
export type { HealthManagerOptions, HealthEvent } from './health-manager.js';
export { genhash, runGenhash, parseGenhashArgs, formatGenhash, hexDump, GENHASH_USAGE } from './genhash.js';
export type { GenhashOptions } from './genhash.js';
export { importLvsCf, parseLvsCf, LvsCfError } from './lvs-cf.js';
export { BfdSession, BfdManager, encodeBfd, decodeBfd, BFD_STATE, BFD_DIAG, BFD_CONTROL_PORT, BFD_PACKET_LEN } from './bfd.js';
export type { BfdPacket, BfdState } from './bfd.js';
