/**
 * Scheduler plug-ins: a JavaScript module that exports a SchedulerFactory (the contract of
 * @tunvs/scheduler) is loaded by path and registered under its own name, next to the
 * fourteen built-ins. The scheduler lab loads any readable module; tunvsd (`secure`) loads
 * only a root-owned file that no other user can write, in a directory chain no other user
 * can write, and runs the shared rules against it first.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SchedulerFactory } from '@tunvs/scheduler';
import { builtinSchedulers, defaultRegistry } from './registry.js';
import { conformance } from './rules.js';

/** Why a plug-in was refused. */
export type PluginErrorCode = 'ENOENT' | 'EINSECURE' | 'ETYPESCRIPT' | 'EBADPLUGIN' | 'EEXIST' | 'ERULES';

/** A plug-in that cannot be used; the message is one sentence naming the file. */
export class PluginError extends Error {
  override readonly name = 'PluginError';
  constructor(
    readonly code: PluginErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Options of `loadSchedulerPlugin`. */
export interface PluginLoadOptions {
  /** tunvsd's rule: a root-owned file and directory chain no other user can write */
  secure?: boolean;
  /** run the shared rules (`conformance`) and refuse a plug-in that breaks one (default: with `secure`) */
  conformance?: boolean;
  /** register it in the default registry (default true); the same factory twice is fine */
  register?: boolean;
}

/** Kernel limit on scheduler names (IP_VS_SCHEDNAME_MAXLEN, 16 with the NUL). */
const NAME_MAX = 15;

const mode = (m: number): string => '0' + (m & 0o7777).toString(8);

/**
 * Why `path` may not be loaded by a privileged process, or null when it may: it must
 * resolve to a regular file owned by root and writable by nobody else (no group or other
 * write bit), and every directory above it must be owned by root and not writable by group
 * or others, unless the directory is sticky (like /tmp: others cannot rename or delete what
 * root put there). Symbolic links are followed and the real path is checked.
 */
export function insecurePathReason(path: string): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (e) {
    return `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
  }
  const st = lstatSync(real);
  if (!st.isFile()) return `${path}: not a regular file`;
  if (st.uid !== 0) return `${path}: the file is owned by uid ${st.uid}, not root; tunvsd loads scheduler plug-ins only from root-owned files`;
  if ((st.mode & 0o022) !== 0) return `${path}: the file is writable by ${(st.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${mode(st.mode)}); only root may be able to change a plug-in tunvsd loads`;
  let dir = dirname(real);
  for (;;) {
    const ds = lstatSync(dir);
    if (ds.uid !== 0) return `${path}: the directory ${dir} is owned by uid ${ds.uid}, not root, so that user could replace the plug-in`;
    if ((ds.mode & 0o022) !== 0 && (ds.mode & 0o1000) === 0) return `${path}: the directory ${dir} is writable by ${(ds.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${mode(ds.mode)}), so the plug-in could be replaced`;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

function validName(n: unknown): n is string {
  return typeof n === 'string' && n.length > 0 && n.length <= NAME_MAX && /^[A-Za-z0-9_.-]+$/.test(n);
}

/** The SchedulerFactory a module exports (`scheduler`, or the default export), checked. */
function factoryOf(mod: Record<string, unknown>, path: string): SchedulerFactory {
  const f = (mod['scheduler'] ?? mod['default']) as Partial<SchedulerFactory> | undefined;
  if (f === undefined || f === null || typeof f !== 'object') {
    throw new PluginError('EBADPLUGIN', `${path}: the module exports no scheduler (export const scheduler = { name, description, create })`);
  }
  if (!validName(f.name)) {
    throw new PluginError('EBADPLUGIN', `${path}: the scheduler's name must be 1..${NAME_MAX} letters, digits, '_', '-' or '.', not ${JSON.stringify(f.name)}`);
  }
  if (typeof f.create !== 'function') throw new PluginError('EBADPLUGIN', `${path}: scheduler '${f.name}' has no create(svc, opts) function`);
  if (typeof f.description !== 'string') throw new PluginError('EBADPLUGIN', `${path}: scheduler '${f.name}' has no description string`);
  return f as SchedulerFactory;
}

/**
 * Load the scheduler a JavaScript module exports. `path` is made absolute against the
 * current directory (tunvsd requires it absolute). TypeScript is refused with the hint
 * to build it first. Throws PluginError.
 */
export async function loadSchedulerPlugin(path: string, opts: PluginLoadOptions = {}): Promise<SchedulerFactory> {
  if (opts.secure && !isAbsolute(path)) throw new PluginError('EINSECURE', `${path}: a scheduler plug-in must be named by an absolute path`);
  const abs = resolve(path);
  const ext = extname(abs);
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
    throw new PluginError('ETYPESCRIPT', `${path}: this is TypeScript; compile it first (tsc, or add it to the tsc -b build) and name the .js file`);
  }
  if (opts.secure) {
    const why = insecurePathReason(abs);
    if (why !== null) throw new PluginError(why.endsWith('no such file') ? 'ENOENT' : 'EINSECURE', why);
  }
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new PluginError('ENOENT', `${path}: no such file`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(real).href)) as Record<string, unknown>;
  } catch (e) {
    throw new PluginError('EBADPLUGIN', `${path}: the module failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  const f = factoryOf(mod, path);
  if (builtinSchedulers.some((b) => b.name === f.name)) {
    throw new PluginError('EEXIST', `${path}: the name '${f.name}' belongs to a built-in scheduler; give the plug-in another name`);
  }
  if (opts.conformance ?? opts.secure ?? false) {
    const c = conformance(f);
    if (c.failure) {
      const x = c.failure;
      throw new PluginError('ERULES', `${path}: scheduler '${f.name}' breaks the shared rule '${x.rule}' at decision ${x.decision} of its conformance run: it ${x.message} (service: ${x.service})`);
    }
  }
  if (opts.register ?? true) {
    if (defaultRegistry.has(f.name)) {
      if (defaultRegistry.get(f.name) !== f) throw new PluginError('EEXIST', `${path}: another plug-in already registered the name '${f.name}'`);
    } else defaultRegistry.register(f);
  }
  return f;
}
