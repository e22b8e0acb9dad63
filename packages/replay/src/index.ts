export { Replayer, ReplayError, replay, formatDecision, seedScheduler, TRACE_OPS } from './replay.js';
export type { Decision, ReplayOptions } from './replay.js';
export { runCli, USAGE } from './cli.js';
export type { CliIo } from './cli.js';
