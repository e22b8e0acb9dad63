/**
 * A registry of schedulers by name, like the kernel's `register_ip_vs_scheduler` list:
 * names must be non-empty and unique, lookups of unknown names fail with a typed error that
 * lists the valid names.
 */
import { ControlError } from '@tunvs/model';
import type { SchedulerFactory } from './contract.js';

/** Thrown by `get` for a name nobody registered (code ENOENT, as the kernel answers `-s`). */
export class UnknownSchedulerError extends ControlError {
  constructor(
    readonly schedName: string,
    readonly known: readonly string[],
  ) {
    super('ENOENT', `unknown scheduler "${schedName}"; valid schedulers: ${known.join(', ')}`, 'scheduler');
  }
}

/** Schedulers by name, in registration order. */
export class SchedulerRegistry {
  private readonly byName = new Map<string, SchedulerFactory>();

  constructor(factories: readonly SchedulerFactory[] = []) {
    for (const f of factories) this.register(f);
  }

  /** Add a scheduler. An empty or already registered name throws ControlError EINVAL / EEXIST. */
  register(f: SchedulerFactory): void {
    if (typeof f?.name !== 'string' || f.name === '') {
      throw new ControlError('EINVAL', 'scheduler name must be a non-empty string', 'scheduler');
    }
    if (this.byName.has(f.name)) {
      throw new ControlError('EEXIST', `scheduler "${f.name}" is already registered`, 'scheduler');
    }
    this.byName.set(f.name, f);
  }

  /** The scheduler called `name`; UnknownSchedulerError if there is none. */
  get(name: string): SchedulerFactory {
    const f = this.byName.get(name);
    if (!f) throw new UnknownSchedulerError(name, this.names());
    return f;
  }

  /** True when `name` is registered. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Registered names, in registration order. */
  names(): string[] {
    return [...this.byName.keys()];
  }
}
