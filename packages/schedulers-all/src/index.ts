export {
  builtinSchedulers,
  DEFAULT_SCHEDULER,
  defaultRegistry,
  getScheduler,
  schedulerNames,
  registerScheduler,
} from './registry.js';
export { SchedulerRegistry, UnknownSchedulerError, newSchedPacket } from '@tunvs/scheduler';
export type { SchedPacket, SchedulerFactory, SchedulerInstance, SchedulerOptions } from '@tunvs/scheduler';
export { DecisionRules, conformance, describeDest } from './rules.js';
export type { RuleName, RuleViolation, ConformanceFailure, ConformanceResult } from './rules.js';
export { PluginError, insecurePathReason, loadSchedulerPlugin } from './plugin.js';
export type { PluginErrorCode, PluginLoadOptions } from './plugin.js';
