export { startDaemon, jsonLogger } from './daemon.js';
export type { RunningDaemon, Logger, DaemonOptions } from './daemon.js';
export {
  loadConfig,
  parseConfig,
  checkJsonConfig,
  validateDaemonConfig,
  markRules,
  needsRestart,
  ConfigError,
  MAX_CONN_CAPACITY,
} from './config.js';
export type { DaemonConfig, DeviceConfig, ServiceConfig, MarkConfig, Finding } from './config.js';
export { parseJsonLines, JsonSyntaxError } from './json-lines.js';
export type { JsonDocument } from './json-lines.js';
export { reconcile, normalizeDest, svcKeyString, Transaction } from './reconcile.js';
export type { Change } from './reconcile.js';
export { detectConfigKind, checkConfig, checkConfigPlugins, loadSetup, readConfigText, runTunvsdConfigTest, isBlankConfig, ConfigReadError, MAX_CONFIG_BYTES } from './sources.js';
export type { ConfigKind, DaemonSetup, Checked } from './sources.js';
export { ConfigReader, loadInWorker, LOAD_DEFAULTS } from './loader.js';
export type { LoadOptions } from './loader.js';
export { ApplyError, ManagedControl, ServiceRunner } from './health.js';
export { PluginSchedulers, isPluginPath, pluginPathProblem } from './plugins.js';
export { Observability } from './http.js';
export { DaemonVrrp, VrrpRuntime, VrrpRefusedError, startVrrp, sameVrrp, monoUs } from './vrrp-runtime.js';
export type { VrrpStatus, VrrpInstanceStatus, VrrpRuntimeOptions } from './vrrp-runtime.js';
export { KernelBackend, vmacName } from './vrrp-kernel.js';
export type { VrrpBackend, BackendInstance } from './vrrp-kernel.js';
export { instanceSpec, trackRefs, notifyScripts, refusals, vrrpDeviceErrors } from './vrrp-spec.js';
export type { VrrpRefusal } from './vrrp-spec.js';
export { HUGE_PAGES_TUNABLE, hugePagesEnv, hugePagesDecided, hugePagesStatus, describeHugePages, thpMode } from './huge-pages.js';
export type { HugePagesStatus } from './huge-pages.js';
