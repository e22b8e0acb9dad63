/**
 * The built-in schedulers, listed explicitly (no directory scanning), and the default
 * registry that `ipvsadm -s NAME` / `ServiceSpec.scheduler` resolve against.
 */
import { SchedulerRegistry } from '@tunvs/scheduler';
import type { SchedulerFactory } from '@tunvs/scheduler';
import { rrScheduler } from '@tunvs/scheduler-rr';
import { wrrScheduler } from '@tunvs/scheduler-wrr';
import { lcScheduler } from '@tunvs/scheduler-lc';
import { wlcScheduler } from '@tunvs/scheduler-wlc';
import { lblcScheduler } from '@tunvs/scheduler-lblc';
import { lblcrScheduler } from '@tunvs/scheduler-lblcr';
import { dhScheduler } from '@tunvs/scheduler-dh';
import { shScheduler } from '@tunvs/scheduler-sh';
import { sedScheduler } from '@tunvs/scheduler-sed';
import { nqScheduler } from '@tunvs/scheduler-nq';
import { foScheduler } from '@tunvs/scheduler-fo';
import { ovfScheduler } from '@tunvs/scheduler-ovf';
import { mhScheduler } from '@tunvs/scheduler-mh';
import { twosScheduler } from '@tunvs/scheduler-twos';

/** The fourteen kernel schedulers, in the order ipvsadm's manual lists them. */
export const builtinSchedulers: readonly SchedulerFactory[] = [
  rrScheduler,
  wrrScheduler,
  lcScheduler,
  wlcScheduler,
  lblcScheduler,
  lblcrScheduler,
  dhScheduler,
  shScheduler,
  sedScheduler,
  nqScheduler,
  foScheduler,
  ovfScheduler,
  mhScheduler,
  twosScheduler,
];

/** ipvsadm's default scheduler. */
export const DEFAULT_SCHEDULER = 'wlc';

/** The process-wide registry, pre-filled with the built-in schedulers. */
export const defaultRegistry = new SchedulerRegistry(builtinSchedulers);

/** The scheduler called `name`; throws UnknownSchedulerError (ControlError ENOENT) listing the valid names. */
export function getScheduler(name: string): SchedulerFactory {
  return defaultRegistry.get(name);
}

/** Every registered name (built-ins first, then any registered later). */
export function schedulerNames(): string[] {
  return defaultRegistry.names();
}

/** Register an extra scheduler; an empty or duplicate name throws ControlError EINVAL / EEXIST. */
export function registerScheduler(f: SchedulerFactory): void {
  defaultRegistry.register(f);
}
