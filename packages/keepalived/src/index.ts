export { formatDiagnostic, DiagnosticSink } from './diagnostics.js';
export type { Diagnostic, Severity, SourcePos } from './diagnostics.js';
export { Lexer, decomment, splitWords, expandBraces, globFiles, DEFAULT_MAX_FILE_BYTES } from './lexer.js';
export type { Line, LexOptions } from './lexer.js';
export { splitQuoted, parseScriptLine } from './script.js';
export { Parser, ipv4ToInt, intToIpv4, readHexString, DNS_TYPES } from './parser.js';
export type { UnknownBlockMode } from './parser.js';
export { buildConfig, vsName, findExecutable } from './validate.js';
export { parseConfigFile, parseConfigText } from './config.js';
export type { ParseOptions, ParseOutcome } from './config.js';
export { configTest, runConfigTest, exitCodeOf, DEFAULT_CONFIG_FILE } from './config-test.js';
export { lookupUser, lookupGroup, scriptInsecurity, SCRIPT_ENV, DEFAULT_SCRIPT_USER } from './script-security.js';
export type { Account } from './script-security.js';
export type { ConfigTestResult } from './config-test.js';
export { serviceSpecs, destSpec, sorryDestSpec, lbKindToMethod, serviceKeyOf, unsupportedReason, ConversionError, MAX_GROUP_EXPANSION } from './to-control.js';
export { parseTunvsdConf } from './tunvsd-conf.js';
export type { TunvsdSettings } from './tunvsd-conf.js';
export type {
  LbKind,
  VsProtocol,
  RawNode,
  ScriptSpec,
  CheckerCommon,
  TcpCheck,
  HttpUrl,
  HttpCheck,
  MiscCheck,
  SendExpectCheck,
  SmtpCheck,
  DnsCheck,
  UdpCheck,
  PingCheck,
  FileCheck,
  BfdCheck,
  TrackFile,
  BfdInstance,
  Checker,
  RealServer,
  SorryServer,
  VsGroupEntry,
  VirtualServerGroup,
  VirtualServer,
  GlobalDefs,
  KeepalivedConfig,
} from './types.js';
export { interpretVrrp, setVrrpHost } from './vrrp.js';
export { VRRP_BLOCKS, unsupportedMessage } from './vrrp-parse.js';
export { sysfsHost, staticHost, hostInterfaceNames } from './vrrp-host.js';
export type { HostInfo, HostInterface } from './vrrp-host.js';
export type {
  VrrpConfig, VrrpGlobals, VrrpInstanceConfig, VrrpVip, VrrpRoute, TrackRefConfig, VrrpScriptConfig, VrrpNotifyConfig,
  VrrpUnsupported, SyncGroupConfig, VrrpNote, LvsSyncDaemonConfig,
} from './vrrp-types.js';
export { piranhaVrrp, piranhaRole } from './vrrp-piranha.js';
export type { PiranhaRole, LvsCfKeys } from './vrrp-piranha.js';
