/**
 * The built-in schedulers, listed explicitly (no directory scanning), and the default
 * registry that `ipvsadm -s NAME` / `ServiceSpec.scheduler` resolve against.
 */
import { DEFAULT_SCHEDULER, SCHEDULER_NAMES } from '@tunvs/model';
import type { SchedulerName } from '@tunvs/model';
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

/** The factory of every scheduler name of @tunvs/model (the compiler checks none is missing). */
const FACTORIES: Record<SchedulerName, SchedulerFactory> = {
  rr: rrScheduler,
  wrr: wrrScheduler,
  lc: lcScheduler,
  wlc: wlcScheduler,
  lblc: lblcScheduler,
  lblcr: lblcrScheduler,
  dh: dhScheduler,
  sh: shScheduler,
  sed: sedScheduler,
  nq: nqScheduler,
  fo: foScheduler,
  ovf: ovfScheduler,
  mh: mhScheduler,
  twos: twosScheduler,
};

/** The fourteen kernel schedulers, in the order of @tunvs/model's SCHEDULER_NAMES. */
export const builtinSchedulers: readonly SchedulerFactory[] = SCHEDULER_NAMES.map((n) => {
  const f = FACTORIES[n];
  if (f.name !== n) throw new Error(`scheduler factory ${f.name} registered as ${n}`);
  return f;
});

/** ipvsadm's default scheduler. */
export { DEFAULT_SCHEDULER };

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
