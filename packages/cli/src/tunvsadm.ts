/**
 * tunvsadm's main: parse and validate the command line (no daemon needed for that), connect
 * to tunvsd, run the command, print what ipvsadm prints, and return ipvsadm's exit status.
 * Also `-R`: save-format lines from stdin, each run like its own command line.
 */
import { ControlError } from '@tunvs/model';
import type { SyncDaemonInfo } from '@tunvs/model';
import { CONTROL_OPS } from './control-socket.js';
import { parseArgs, UsageError, type Command, type OWN_OPTIONS } from './args.js';

type OwnOption = (typeof OWN_OPTIONS)[number];
/** where extractOwnOptions puts each of tunvsadm's own options (every one of OWN_OPTIONS) */
const OWN_KEYS: Record<OwnOption, 'socket' | 'timeout'> = { socket: 'socket', 'socket-timeout': 'timeout' };
import { ControlClient, ControlTimeoutError, socketPath, type AsyncDirectorControl, type ClientOptions } from './control-socket.js';
import { controlErrorMessage } from './errors.js';
import { formatConnections, formatDaemons, formatList, formatSave, formatService, formatTimeouts } from './format.js';
import { systemResolver, type Resolver } from './names.js';

/** Where tunvsadm reads and writes, and how it reaches the director (all replaceable in tests). */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** the whole of stdin (for `-R`) */
  readStdin?(): Promise<string>;
  /** environment, for TUNVS_SOCKET (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** open a control connection; default: ControlClient on the socket path */
  connect?(path: string, opts: ClientOptions): Promise<AsyncDirectorControl & { close?(): void }>;
  /** name lookups when -n is absent (default: /etc/hosts + /etc/services) */
  resolver?: Resolver;
  /** program name in help texts (default `tunvsadm`) */
  program?: string;
}

/** How long tunvsadm waits for tunvsd by default (seconds without an answer). */
export const DEFAULT_TIMEOUT_S = 10;

/** tunvsadm's own options (`--socket PATH`, `--socket-timeout S`, also with `=`), taken out of the command line before ipvsadm's parsing. */
export interface OwnOptions {
  argv: string[];
  socket?: string;
  /** raw value of --socket-timeout */
  timeout?: string;
}

export function extractOwnOptions(argv: readonly string[]): OwnOptions {
  const out: OwnOptions = { argv: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.argv.push(...argv.slice(i));
      break;
    }
    let matched = false;
    for (const [own, key] of Object.entries(OWN_KEYS) as [OwnOption, 'socket' | 'timeout'][]) {
      const name = `--${own}`;
      if (a === name && i + 1 < argv.length) {
        out[key] = argv[++i];
        matched = true;
      } else if (a.startsWith(name + '=')) {
        out[key] = a.slice(name.length + 1);
        matched = true;
      }
    }
    if (!matched) out.argv.push(a);
  }
  return out;
}

/**
 * Replace control characters (C0 but newline, DEL, C1) with '?': text that came from the
 * daemon is never allowed to drive the terminal.
 */
export function scrubControlChars(s: string): string {
  return s.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '?');
}

/** A copy of a value from the daemon with every string scrubbed. */
function scrubDeep<T>(v: T): T {
  if (typeof v === 'string') return scrubControlChars(v) as T;
  if (Array.isArray(v)) return v.map((x: unknown) => scrubDeep(x)) as T;
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[scrubControlChars(k)] = scrubDeep(x);
    return out as T;
  }
  return v;
}

/** A ControlError from the daemon with its strings scrubbed. */
function scrubError(e: ControlError): ControlError {
  return new ControlError(scrubControlChars(String(e.code)) as ControlError['code'], scrubControlChars(e.message), scrubControlChars(e.op));
}

/** Thrown when the daemon cannot be reached; ends tunvsadm with one line and status 2. */
class Unreachable extends Error {}

interface Session {
  get(): Promise<Remote>;
  close(): void;
}

/** The one line tunvsadm prints when it cannot connect to `path`. */
function connectFailure(path: string, e: unknown, timeoutS: number): Unreachable {
  const code = (e as { code?: unknown })?.code;
  if (e instanceof ControlTimeoutError) {
    return new Unreachable(`tunvsadm: tunvsd at ${path} does not accept connections (waited ${timeoutS} s; --socket-timeout changes it)\n`);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new Unreachable(`tunvsadm: permission denied on ${path}: the control socket is for its owner only (you must be root)\n`);
  }
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') {
    return new Unreachable(`tunvsadm: cannot reach tunvsd at ${path} (is tunvsd running?)\n`);
  }
  const what = typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : 'unexpected error';
  return new Unreachable(`tunvsadm: cannot reach tunvsd at ${path} (${what})\n`);
}

/** Each call's answer and errors with their strings scrubbed. */
function scrubbed(ctl: Remote): Remote {
  const out: Record<string, unknown> = {};
  for (const op of CONTROL_OPS) {
    out[op] = async (...a: unknown[]) => {
      try {
        return scrubDeep(await (ctl[op] as (...x: unknown[]) => Promise<unknown>)(...a));
      } catch (e) {
        throw e instanceof ControlError ? scrubError(e) : e;
      }
    };
  }
  out.close = () => ctl.close?.();
  // the daemon's own operations (sync daemons): only over a socket
  out.call = async (op: string, args: unknown[]) => {
    if (!ctl.call) throw new ControlError('EINVAL', `${op} needs tunvsd`, op);
    try {
      return scrubDeep(await ctl.call(op, args));
    } catch (e) {
      throw e instanceof ControlError ? scrubError(e) : e;
    }
  };
  return out as unknown as Remote;
}

/** The control operations, and `call` for the daemon's own operations (absent in-process). */
type Remote = AsyncDirectorControl & { close?(): void; call?(op: string, args: unknown[]): Promise<unknown> };

function session(io: CliIO, path: string, timeoutS: number): Session {
  let conn: Promise<Remote> | null = null;
  const opts: ClientOptions = { timeoutMs: Math.round(timeoutS * 1000) };
  return {
    get() {
      conn ??= (io.connect ?? ((p: string, o: ClientOptions) => ControlClient.connect(p, o)))(path, opts).then(scrubbed, (e: unknown) => {
        throw connectFailure(path, e, timeoutS);
      });
      return conn;
    },
    close() {
      void conn?.then((c) => c.close?.()).catch(() => undefined);
    },
  };
}

const OP_OF: Record<string, string> = {
  addService: 'addService',
  editService: 'editService',
  deleteService: 'deleteService',
  zero: 'zero',
  addDest: 'addDest',
  editDest: 'editDest',
  deleteDest: 'deleteDest',
  setTimeouts: 'setTimeouts',
  clear: 'clear',
};

/** Result of one command: the exit status, and whether ipvsadm would exit on the spot. */
interface Outcome {
  code: number;
  abort: boolean;
}

async function execute(cmd: Command, io: CliIO, s: Session, depth: number): Promise<Outcome> {
  const resolver = io.resolver ?? systemResolver();
  switch (cmd.cmd) {
    case 'help':
    case 'version':
      io.stdout(cmd.text);
      return { code: 0, abort: true };
    case 'restore':
      return restore(io, s, depth);
    case 'list': {
      const opts = { ...cmd.format, resolver };
      const ctl = await s.get();
      try {
        if (cmd.target === 'connections') io.stdout(formatConnections(await ctl.listConnections(), opts));
        else if (cmd.target === 'timeout') io.stdout(formatTimeouts(await ctl.getTimeouts()));
        else if (cmd.target === 'daemon') {
          const info = await ctl.info();
          // tunvsd's daemons come from its own operation; an embedded Director's from info()
          // (a server without sync daemons, such as a bare Director's socket, has none)
          if (ctl.call) {
            try {
              info.daemons = (await ctl.call('listDaemons', [])) as SyncDaemonInfo[];
            } catch (e) {
              if (!(e instanceof ControlError && (e.code as string) === 'EOPNOTSUPP')) throw e;
            }
          }
          io.stdout(formatDaemons(info));
        }
        else if (cmd.target === 'service') {
          io.stdout(formatService(await ctl.getService(cmd.service!), opts));
        } else {
          const [info, services] = [await ctl.info(), await ctl.listServices()];
          io.stdout(formatList(services, info, opts));
        }
      } catch (e) {
        if (e instanceof ControlError) {
          io.stderr(controlErrorMessage(e.code, e.op || 'getService') + '\n');
          return { code: 1, abort: true };
        }
        throw e;
      }
      return { code: 0, abort: false };
    }
    case 'save': {
      const ctl = await s.get();
      try {
        io.stdout(formatSave(await ctl.listServices(), { ...cmd.format, resolver }));
      } catch (e) {
        if (e instanceof ControlError) {
          io.stderr(controlErrorMessage(e.code, e.op || 'listServices') + '\n');
          return { code: 1, abort: true };
        }
        throw e;
      }
      return { code: 0, abort: false };
    }
    case 'startDaemon':
    case 'stopDaemon': {
      const ctl = await s.get();
      try {
        if (!ctl.call) throw new ControlError('EINVAL', 'sync daemons need tunvsd', cmd.cmd);
        await ctl.call(cmd.cmd, cmd.cmd === 'startDaemon' ? [cmd.role, cmd.config] : [cmd.role]);
      } catch (e) {
        if (e instanceof ControlError) {
          io.stderr(controlErrorMessage(e.code, cmd.cmd) + '\n');
          return { code: 255, abort: false };
        }
        throw e;
      }
      return { code: 0, abort: false };
    }
    default: {
      const op = OP_OF[cmd.cmd]!;
      const ctl = await s.get();
      try {
        switch (cmd.cmd) {
          case 'clear':
            await ctl.clear();
            break;
          case 'addService':
            await ctl.addService(cmd.spec);
            break;
          case 'editService':
            await ctl.editService(cmd.spec);
            break;
          case 'deleteService':
            await ctl.deleteService(cmd.key);
            break;
          case 'zero':
            await ctl.zero(cmd.key);
            break;
          case 'addDest':
            await ctl.addDest(cmd.key, cmd.dest);
            break;
          case 'editDest':
            await ctl.editDest(cmd.key, cmd.dest);
            break;
          case 'deleteDest':
            await ctl.deleteDest(cmd.key, cmd.dest);
            break;
          case 'setTimeouts':
            await ctl.setTimeouts(cmd.timeouts);
            break;
        }
      } catch (e) {
        if (e instanceof ControlError) {
          io.stderr(controlErrorMessage(e.code, op) + '\n');
          return { code: 255, abort: false };
        }
        throw e;
      }
      return { code: 0, abort: false };
    }
  }
}

/** Split one `-R` line like ipvsadm's config reader: blanks/tabs, `ipvsadm`/`tunvsadm` tokens dropped. */
export function restoreTokens(line: string): string[] {
  return line
    .split(/[ \t\r]+/)
    .filter((t) => t !== '' && t !== 'ipvsadm' && t !== 'tunvsadm');
}

async function restore(io: CliIO, s: Session, depth: number): Promise<Outcome> {
  const text = io.readStdin ? await io.readStdin() : '';
  let result = 0;
  for (const line of text.split('\n')) {
    const tokens = restoreTokens(line);
    if (tokens.length === 0) continue;
    const cmd = parseArgs(tokens, { program: io.program ?? 'tunvsadm', readingStdin: true, resolver: io.resolver ?? systemResolver() });
    if (cmd instanceof UsageError) {
      io.stderr(cmd.text);
      if (cmd.abort) return { code: cmd.exitCode, abort: true };
      result = cmd.exitCode;
      continue;
    }
    const out = await execute(cmd, io, s, depth + 1);
    if (out.abort) return out;
    result = out.code;
  }
  return { code: result, abort: false };
}

/**
 * Run tunvsadm with `argv` (without the program name). Returns the exit status; never
 * throws for bad input or an unreachable daemon.
 */
export async function runTunvsadm(argv: readonly string[], io: CliIO): Promise<number> {
  const own = extractOwnOptions(argv);
  let timeoutS = DEFAULT_TIMEOUT_S;
  if (own.timeout !== undefined) {
    const v = Number(own.timeout);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(own.timeout) || !(v > 0) || v > 86400) {
      io.stderr(`${io.program ?? 'tunvsadm'}: invalid --socket-timeout value \`${scrubControlChars(own.timeout)}' (seconds, more than 0)\n`);
      return 2;
    }
    timeoutS = v;
  }
  const resolver = io.resolver ?? systemResolver();
  const cmd = parseArgs(own.argv, { program: io.program ?? 'tunvsadm', resolver });
  if (cmd instanceof UsageError) {
    io.stderr(cmd.text);
    return cmd.exitCode;
  }
  const path = socketPath(own.socket, io.env ?? process.env);
  const s = session({ ...io, resolver }, path, timeoutS);
  try {
    return (await execute(cmd, { ...io, resolver }, s, 0)).code;
  } catch (e) {
    if (e instanceof Unreachable) {
      io.stderr(e.message);
      return 2;
    }
    if (e instanceof ControlTimeoutError) {
      io.stderr(`tunvsadm: tunvsd at ${path} did not answer within ${timeoutS} s (--socket-timeout changes it); a change may or may not have been applied\n`);
      return 2;
    }
    if (e instanceof ControlError) {
      io.stderr(controlErrorMessage(e.code, e.op) + '\n');
      return 255;
    }
    const msg = e instanceof Error && e.message === 'control connection closed' ? `the connection to tunvsd at ${path} was closed` : scrubControlChars(String((e as Error)?.message ?? e));
    io.stderr(`tunvsadm: ${msg}\n`);
    return 1;
  } finally {
    s.close();
  }
}
