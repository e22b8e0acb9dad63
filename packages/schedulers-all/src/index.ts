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
