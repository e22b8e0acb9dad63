/**
 * Scheduler plug-ins in tunvsd's configuration: a service's `"scheduler"` may name a
 * JavaScript module by its absolute path (`"/etc/tunvs/schedulers/p2c.js"`) instead of a
 * built-in. tunvsd loads it only from a root-owned file no other user can write, in a
 * directory chain no other user can write, and only after it kept the shared scheduler
 * rules on random services (@tunvs/schedulers' conformance run); anything else is refused
 * with a sentence naming the file. The service then runs under the plug-in's own name
 * (what `tunvsadm -L` shows).
 *
 * A module is loaded once per process: a changed file is noticed on reload and reported;
 * the new code needs a restart of tunvsd.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { insecurePathReason, loadSchedulerPlugin } from '@tunvs/schedulers';
import type { DaemonConfig } from './config.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** True when a configured scheduler names a module (a path) rather than a built-in. */
export function isPluginPath(scheduler: string | undefined): scheduler is string {
  return scheduler !== undefined && (scheduler.includes('/') || /\.[cm]?js$/.test(scheduler));
}

/** Why tunvsd would refuse the plug-in path (checked without loading it), or null. */
export function pluginPathProblem(path: string): string | null {
  if (!isAbsolute(path)) return `the scheduler plug-in ${path} must be named by an absolute path`;
  return insecurePathReason(path);
}

/** The plug-ins one tunvsd has loaded: path -> registered name and the file's mtime then. */
export class PluginSchedulers {
  private readonly loaded = new Map<string, { name: string; mtimeMs: number }>();

  constructor(private readonly log: Log) {}

  /**
   * The configuration with every plug-in path replaced by the plug-in's name, loading
   * (and checking) the ones not loaded yet. Throws an Error naming the service and the
   * reason for a plug-in that is refused.
   */
  async resolve(config: DaemonConfig): Promise<DaemonConfig> {
    const services = [];
    for (const [i, s] of config.services.entries()) {
      if (!isPluginPath(s.scheduler)) {
        services.push(s);
        continue;
      }
      const path = s.scheduler;
      let known = this.loaded.get(path);
      if (known) {
        const m = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
        if (m !== undefined && m !== known.mtimeMs) {
          this.log('warn', 'scheduler plug-in changed on disk; tunvsd keeps the code it loaded until it is restarted', { path, scheduler: known.name });
          known.mtimeMs = m;
        }
      } else {
        try {
          const f = await loadSchedulerPlugin(path, { secure: true });
          known = { name: f.name, mtimeMs: statSync(path).mtimeMs };
          this.loaded.set(path, known);
          this.log('info', 'scheduler plug-in loaded', { path, scheduler: f.name, description: f.description });
        } catch (e) {
          throw new Error(`services[${i}].scheduler: ${(e as Error).message}`);
        }
      }
      services.push({ ...s, scheduler: known.name });
    }
    return { ...config, services };
  }
}
