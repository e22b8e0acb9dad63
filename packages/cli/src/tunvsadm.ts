/**
 * tunvsadm's main: parse and validate the command line (no daemon needed for that), connect
 * to tunvsd, run the command, print what ipvsadm prints, and return ipvsadm's exit status.
 * Also `-R`: save-format lines from stdin, each run like its own command line.
 */
import { ControlError } from '@tunvs/model';
import { parseArgs, UsageError, type Command } from './args.js';
import { ControlClient, socketPath, type AsyncDirectorControl } from './control-socket.js';
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
  connect?(path: string): Promise<AsyncDirectorControl & { close?(): void }>;
  /** name lookups when -n is absent (default: /etc/hosts + /etc/services) */
  resolver?: Resolver;
  /** program name in help texts (default `tunvsadm`) */
  program?: string;
}

/** Remove tunvsadm's own `--socket PATH` / `--socket=PATH` from argv; returns [argv, path]. */
export function extractSocketOption(argv: readonly string[]): [string[], string | undefined] {
  const out: string[] = [];
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--socket' && i + 1 < argv.length) {
      path = argv[++i];
      continue;
    }
    if (a.startsWith('--socket=')) {
      path = a.slice('--socket='.length);
      continue;
    }
    out.push(a);
  }
  return [out, path];
}

/** Thrown when the daemon cannot be reached; ends tunvsadm with one line and status 2. */
class Unreachable extends Error {}

interface Session {
  get(): Promise<AsyncDirectorControl>;
  close(): void;
}

function session(io: CliIO, path: string): Session {
  let conn: Promise<AsyncDirectorControl & { close?(): void }> | null = null;
  return {
    get() {
      conn ??= (io.connect ?? ((p: string) => ControlClient.connect(p)))(path).catch(() => {
        throw new Unreachable(`tunvsadm: cannot reach tunvsd at ${path} (is tunvsd running?)\n`);
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
        else if (cmd.target === 'daemon') io.stdout(formatDaemons(await ctl.info()));
        else if (cmd.target === 'service') {
          if (cmd.sctp) throw new ControlError('ESRCH', 'no SCTP services', 'getService');
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
    default: {
      const op = OP_OF[cmd.cmd]!;
      if ('sctp' in cmd && cmd.sctp) {
        io.stderr(controlErrorMessage('ENOPROTOOPT', op) + '\n');
        return { code: 255, abort: false };
      }
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
  const [args, explicit] = extractSocketOption(argv);
  const resolver = io.resolver ?? systemResolver();
  const cmd = parseArgs(args, { program: io.program ?? 'tunvsadm', resolver });
  if (cmd instanceof UsageError) {
    io.stderr(cmd.text);
    return cmd.exitCode;
  }
  const s = session({ ...io, resolver }, socketPath(explicit, io.env ?? process.env));
  try {
    return (await execute(cmd, { ...io, resolver }, s, 0)).code;
  } catch (e) {
    if (e instanceof Unreachable) {
      io.stderr(e.message);
      return 2;
    }
    if (e instanceof ControlError) {
      io.stderr(controlErrorMessage(e.code, e.op) + '\n');
      return 255;
    }
    io.stderr(`tunvsadm: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  } finally {
    s.close();
  }
}
