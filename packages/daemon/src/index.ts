export { startDaemon, jsonLogger } from './daemon.js';
export type { RunningDaemon, Logger } from './daemon.js';
export { loadConfig, parseConfig, markRules, ConfigError } from './config.js';
export type { DaemonConfig, DeviceConfig, ServiceConfig, MarkConfig } from './config.js';
export { reconcile, normalizeDest, svcKeyString } from './reconcile.js';
export type { Change } from './reconcile.js';
export { detectConfigKind, checkConfig, loadSetup, runTunvsdConfigTest } from './sources.js';
export type { ConfigKind, DaemonSetup, Checked } from './sources.js';
export { ManagedControl, ServiceRunner } from './health.js';
