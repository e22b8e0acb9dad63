export {
  builtinSchedulers,
  DEFAULT_SCHEDULER,
  defaultRegistry,
  getScheduler,
  schedulerNames,
  registerScheduler,
} from './registry.js';
export { SchedulerRegistry, UnknownSchedulerError, newSchedPacket, setKernelMode, kernelMode } from '@tunvs/scheduler';
export type { SchedPacket, SchedulerFactory, SchedulerInstance, SchedulerOptions, KernelMode } from '@tunvs/scheduler';
