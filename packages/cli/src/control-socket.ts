/**
 * The control socket between tunvsadm and tunvsd: newline-delimited JSON over a Unix stream
 * socket (mode 0600). A request is `{"id":1,"op":"addService","args":[spec]}`, the answer
 * `{"id":1,"ok":true,"result":...}` or `{"id":1,"ok":false,"error":{"code","message","op"}}`.
 * See README.md for the protocol and its limits.
 *
 * Operations come from a table (name -> handler): the Director's control API, plus any the
 * daemon adds (`ServeOptions.ops`). Each client's requests are answered one at a time, in
 * order; every operation of the table runs synchronously, so it is applied whole. Large
 * answers (the connection table, the service list) are written in chunks with a yield to the
 * event loop between them, so the packet path keeps running while they go out.
 *
 * Limits per client: a request line of at most 1 MiB (longer: an E2BIG answer, then the
 * connection is closed); while more than 1 MiB of answers wait unread, its requests are not
 * read (backpressure); an idle connection is closed after 60 s. Nothing a client sends can
 * throw out of the handlers, and an unexpected exception is answered with EIO and no detail.
 *
 * One daemon per socket: the path is probed (connect) and a lock file `PATH.lock` holding
 * the daemon's pid is taken before binding; when another daemon answers or holds the lock,
 * `serveControl` fails with `SocketInUseError`. The socket is bound under a temporary name
 * and renamed into place, and on close the path is removed only if it is still ours (same
 * inode).
 */
import { closeSync, chmodSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ControlError, type DirectorControl } from '@tunvs/model';
import { LineSplitter, LINE_TOO_LONG } from './lines.js';

/** Default socket path of tunvsd. */
export const DEFAULT_SOCKET = '/run/tunvs/tunvsd.sock';

/** The socket path: an explicit one, else `$TUNVS_SOCKET`, else the default. */
export function socketPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env.TUNVS_SOCKET || DEFAULT_SOCKET;
}

/** The operations the socket serves for a Director: exactly the DirectorControl methods. */
export const CONTROL_OPS = [
  'addService', 'editService', 'deleteService', 'clear', 'addDest', 'editDest', 'deleteDest', 'zero',
  'listServices', 'getService', 'listConnections', 'setTimeouts', 'getTimeouts', 'info',
] as const;

/** One operation name. */
export type ControlOp = (typeof CONTROL_OPS)[number];

/** DirectorControl with every method returning a promise (what a remote client offers). */
export type AsyncDirectorControl = {
  [K in ControlOp]: (...args: Parameters<DirectorControl[K]>) => Promise<ReturnType<DirectorControl[K]>>;
};

/** A request line. */
export interface ControlRequest {
  id: number | string;
  op: string;
  args?: unknown[];
}

/** The error part of a failed answer (`field`: the refused field, when one is to blame). */
export interface ControlErrorBody {
  code: string;
  message: string;
  op: string;
  field?: string;
}

/** An answer line. */
export type ControlResponse =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: ControlErrorBody };

/**
 * One operation of the socket. `run` gets the served DirectorControl and the request's
 * `args` (an array whose length is within `arity`); what it returns (or resolves to) is the
 * result. `stream`, when present, is used instead by the server: its items (or what it
 * resolves to) are sent as the result array, in chunks.
 */
export interface ControlOpHandler {
  arity: readonly [min: number, max: number];
  run(ctl: DirectorControl, args: unknown[]): unknown;
  stream?(ctl: DirectorControl, args: unknown[]): Iterable<unknown> | Promise<Iterable<unknown>>;
}

const method = (name: ControlOp, min: number, max = min): ControlOpHandler => ({
  arity: [min, max],
  run: (ctl, args) => (ctl[name] as (...a: unknown[]) => unknown).apply(ctl, args),
});

/** The Director's operations, as the socket serves them. */
export const DIRECTOR_OPS: ReadonlyMap<string, ControlOpHandler> = new Map<string, ControlOpHandler>([
  ['addService', method('addService', 1)],
  ['editService', method('editService', 1)],
  ['deleteService', method('deleteService', 1)],
  ['clear', method('clear', 0)],
  ['addDest', method('addDest', 2)],
  ['editDest', method('editDest', 2)],
  ['deleteDest', method('deleteDest', 2)],
  ['zero', method('zero', 0, 1)],
  ['listServices', { ...method('listServices', 0), stream: (ctl) => ctl.listServices() }],
  ['getService', method('getService', 1)],
  ['listConnections', { ...method('listConnections', 0), stream: (ctl) => (ctl.connections ? ctl.connections() : ctl.listConnections()) }],
  ['setTimeouts', method('setTimeouts', 1)],
  ['getTimeouts', method('getTimeouts', 0)],
  ['info', method('info', 0)],
]);

/** Wrap an in-process DirectorControl as an AsyncDirectorControl (no socket). */
export function asyncControl(ctl: DirectorControl): AsyncDirectorControl {
  const out = {} as Record<ControlOp, (...a: unknown[]) => Promise<unknown>>;
  for (const op of CONTROL_OPS) {
    out[op] = async (...a: unknown[]) => (ctl[op] as (...x: unknown[]) => unknown).apply(ctl, a);
  }
  return out as unknown as AsyncDirectorControl;
}

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** A decoded request, checked: the handler to run, or the error answer. */
type Checked = { id: number | string | null; op: string; handler: ControlOpHandler; args: unknown[] } | ControlResponse;

function errorAnswer(id: number | string | null, code: string, message: string, op: string): ControlResponse {
  return { id, ok: false, error: { code, message, op } };
}

function checkRequest(req: unknown, ops: ReadonlyMap<string, ControlOpHandler>): Checked {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return errorAnswer(null, 'EPROTO', 'a request must be a JSON object', '');
  const r = req as Record<string, unknown>;
  const rawId = Object.prototype.hasOwnProperty.call(r, 'id') ? r.id : null;
  const id = typeof rawId === 'number' || (typeof rawId === 'string' && rawId.length <= 256) ? rawId : null;
  if (id === null && rawId !== null) return errorAnswer(null, 'EPROTO', 'id must be a number or a string of at most 256 characters', '');
  const op = Object.prototype.hasOwnProperty.call(r, 'op') && typeof r.op === 'string' ? r.op : '';
  const handler = ops.get(op);
  if (handler === undefined) return errorAnswer(id, 'EOPNOTSUPP', `unknown operation '${op.slice(0, 64)}'`, op.slice(0, 64));
  const args = Object.prototype.hasOwnProperty.call(r, 'args') ? r.args : [];
  if (!Array.isArray(args)) return errorAnswer(id, 'EINVAL', 'args must be an array', op);
  const [min, max] = handler.arity;
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    return errorAnswer(id, 'EINVAL', `${op} takes ${want} argument${max === 1 ? '' : 's'}, not ${args.length}`, op);
  }
  return { id, op, handler, args };
}

/** The answer for an exception: a ControlError as it is, anything else as EIO without detail. */
function failure(id: number | string | null, op: string, e: unknown, log?: Log): ControlResponse {
  if (e instanceof ControlError) {
    const error: ControlErrorBody = { code: e.code, message: e.message, op: e.op || op };
    const field = (e as { field?: unknown }).field;
    if (typeof field === 'string') error.field = field;
    return { id, ok: false, error };
  }
  log?.('error', 'control operation failed unexpectedly', { op, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  return errorAnswer(id, 'EIO', 'internal error (see the tunvsd log)', op);
}

/**
 * Apply one decoded request to `ctl` and build its whole answer (never throws). Streamed
 * operations are collected into one array.
 */
export async function dispatchRequest(
  ctl: DirectorControl,
  req: unknown,
  ops: ReadonlyMap<string, ControlOpHandler> = DIRECTOR_OPS,
  log?: Log,
): Promise<ControlResponse> {
  const c = checkRequest(req, ops);
  if ('ok' in c) return c;
  try {
    const result = await c.handler.run(ctl, c.args);
    return { id: c.id, ok: true, result: result === undefined ? null : result };
  } catch (e) {
    return failure(c.id, c.op, e, log);
  }
}

/** Limits and extensions of a control socket server. */
export interface ServeOptions {
  /** longest request line in bytes (default 1 MiB) */
  maxLineBytes?: number;
  /** answers a client may leave unread before its requests stop being read (default 1 MiB) */
  maxQueuedBytes?: number;
  /** close a connection with no traffic for this long, 0 = never (default 60 000) */
  idleTimeoutMs?: number;
  /** size of the pieces a large answer is written in (default 64 KiB) */
  chunkBytes?: number;
  /** more operations (merged over the Director's; a name given here replaces one) */
  ops?: Iterable<[string, ControlOpHandler]>;
  /** where unexpected exceptions are reported (default: nowhere) */
  log?: Log;
  /** the path was already claimed with claimSocketPath (the lock is handed over) */
  claim?: SocketClaim;
}

/** The defaults of ServeOptions. */
export const SERVE_DEFAULTS = {
  maxLineBytes: 1 << 20,
  maxQueuedBytes: 1 << 20,
  idleTimeoutMs: 60_000,
  chunkBytes: 64 << 10,
} as const;

/** Another daemon serves (or holds the lock of) the socket path. */
export class SocketInUseError extends Error {
  override readonly name = 'SocketInUseError';
  readonly code = 'EADDRINUSE';
}

/** Lock files this process holds, by path (a second server in the same process is refused too). */
const heldLocks = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `lock` (a file holding our pid, created exclusively); returns its release function. */
function takeLock(lock: string, sock: string): () => void {
  if (heldLocks.has(lock)) throw new SocketInUseError(`${sock}: this process already serves it`);
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = 0;
      let ino = -1;
      try {
        ino = statSync(lock).ino;
        pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      } catch {
        continue; // went away meanwhile: try again
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new SocketInUseError(`${sock}: another tunvsd (pid ${pid}) holds ${lock}`);
      }
      // stale (its process is gone): remove it if it is still the file we read
      try {
        if (statSync(lock).ino === ino) unlinkSync(lock);
      } catch {
        // gone already
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    const ino = statSync(lock).ino;
    heldLocks.add(lock);
    return () => {
      heldLocks.delete(lock);
      try {
        if (statSync(lock).ino === ino) unlinkSync(lock);
      } catch {
        // gone already
      }
    };
  }
  throw new SocketInUseError(`${sock}: cannot take ${lock}`);
}

/** Whether something accepts connections at `path` (a live daemon), within `ms`. */
function answers(path: string, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const done = (v: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(true), ms); // a listener that does not accept is still a listener
    s.once('connect', () => done(true));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code !== 'ENOENT' && e.code !== 'ECONNREFUSED' && e.code !== 'ENOTSOCK'));
  });
}

let tmpCounter = 0;

/** A socket path claimed for this process: the lock file is held until `release()`. */
export interface SocketClaim {
  readonly path: string;
  release(): void;
}

/**
 * Claim `path` for one daemon before anything else is set up: take the lock file beside it
 * and check that no daemon answers there. Rejects with SocketInUseError otherwise.
 */
export async function claimSocketPath(path: string): Promise<SocketClaim> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const release = takeLock(`${path}.lock`, path);
  try {
    if (await answers(path)) throw new SocketInUseError(`${path}: another daemon answers there`);
  } catch (e) {
    release();
    throw e;
  }
  let released = false;
  return {
    path,
    release() {
      if (!released) release();
      released = true;
    },
  };
}

/**
 * Serve `ctl` on a Unix socket at `path` (directory created, mode 0600), one daemon per
 * path (see the module comment). Returns the server at once; it emits 'listening' when
 * ready, or 'error' (SocketInUseError when another daemon has the path). Closing it
 * disconnects the clients, removes the socket file if it is still ours, and the lock.
 */
export function serveControl(ctl: DirectorControl, path: string, opts: ServeOptions = {}): Server {
  const o = { ...SERVE_DEFAULTS, ...opts };
  const ops = new Map(DIRECTOR_OPS);
  for (const [name, h] of opts.ops ?? []) ops.set(name, h);
  const clients = new Set<Socket>();
  // operations of all clients run one at a time, in arrival order (an async one included);
  // writing the answers happens outside, so a slow reader holds up nobody else
  let exec: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => T | Promise<T>): Promise<T> => {
    const p = exec.then(fn);
    exec = p.catch(() => undefined);
    return p;
  };
  const server = createServer((sock: Socket) => {
    clients.add(sock);
    sock.on('close', () => clients.delete(sock));
    serveClient(sock, ctl, ops, o, exclusive, opts.log);
  });
  let release: (() => void) | null = null;
  let ino = -1;

  const claim = async (): Promise<void> => {
    const c = opts.claim && opts.claim.path === path ? opts.claim : await claimSocketPath(path);
    release = () => c.release();
    try {
      if (statSync(path).isSocket()) unlinkSync(path);
    } catch {
      // no stale socket
    }
    // bind under a temporary name, then rename: libuv unlinks the bound name on close,
    // and that must never be a path another daemon may own by then
    const tmp = join(dirname(path), `.${basename(path).slice(0, 40)}.${process.pid}.${tmpCounter++}`);
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
    await new Promise<void>((resolve, reject) => {
      const old = process.umask(0o177);
      const onError = (e: Error): void => reject(e);
      server.once('error', onError);
      onBound = () => {
        server.off('error', onError);
        resolve();
      };
      try {
        server.listen(tmp);
      } finally {
        process.umask(old);
      }
    });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
    ino = statSync(path).ino;
  };

  // 'listening' is emitted once the socket is in place under its own name
  const emit = server.emit.bind(server);
  let ready = false;
  let onBound: (() => void) | null = null;
  server.emit = ((event: string, ...args: unknown[]) => {
    if (event === 'listening' && !ready) {
      onBound?.();
      return true;
    }
    return emit(event, ...args);
  }) as Server['emit'];
  claim().then(
    () => {
      ready = true;
      emit('listening');
    },
    (e: Error) => {
      release?.();
      release = null;
      if (server.listening) server.close();
      emit('error', e);
    },
  );

  // closing the server also drops the connected clients, so a daemon can stop promptly
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    close(cb);
    for (const c of clients) c.destroy();
    return server;
  };
  server.on('close', () => {
    try {
      const st = statSync(path);
      if (st.isSocket() && st.ino === ino) unlinkSync(path);
    } catch {
      // already gone
    }
    release?.();
    release = null;
  });
  return server;
}

/** One client connection: read lines, answer each in turn, with the limits. */
function serveClient(
  sock: Socket,
  ctl: DirectorControl,
  ops: ReadonlyMap<string, ControlOpHandler>,
  o: Required<Omit<ServeOptions, 'ops' | 'log' | 'claim'>>,
  exclusive: <T>(fn: () => T | Promise<T>) => Promise<T>,
  log?: Log,
): void {
  const lines = new LineSplitter(o.maxLineBytes);
  const readHigh = o.maxLineBytes + (256 << 10);
  let busy = false;
  let closing = false;

  if (o.idleTimeoutMs > 0) {
    sock.setTimeout(o.idleTimeoutMs);
    sock.on('timeout', () => sock.destroy());
  }
  sock.on('error', () => sock.destroy());

  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      if (!sock.writableNeedDrain || sock.destroyed) return resolve();
      const done = (): void => {
        sock.off('drain', done);
        sock.off('close', done);
        resolve();
      };
      sock.on('drain', done);
      sock.on('close', done);
    });

  const send = async (text: string): Promise<void> => {
    if (sock.destroyed) return;
    sock.write(text);
    if (sock.writableLength > o.maxQueuedBytes) await drained();
  };

  /** Write a streamed result: the array's items in chunks, yielding between chunks. */
  const sendStream = async (id: number | string | null, items: Iterable<unknown>): Promise<void> => {
    let piece = `{"id":${JSON.stringify(id)},"ok":true,"result":[`;
    let first = true;
    for (const item of items) {
      piece += (first ? '' : ',') + JSON.stringify(item);
      first = false;
      if (piece.length >= o.chunkBytes) {
        await send(piece);
        piece = '';
        if (sock.destroyed) return;
        await yieldToLoop();
      }
    }
    await send(piece + ']}\n');
  };

  const handle = async (line: Buffer): Promise<void> => {
    let req: unknown;
    try {
      req = JSON.parse(line.toString('utf8'));
    } catch {
      return send(JSON.stringify(errorAnswer(null, 'EPROTO', 'request is not valid JSON', '')) + '\n');
    }
    const c = checkRequest(req, ops);
    if ('ok' in c) return send(JSON.stringify(c) + '\n');
    if (c.handler.stream) {
      const stream = c.handler.stream;
      let items: Iterable<unknown>;
      try {
        items = await exclusive(() => stream(ctl, c.args));
      } catch (e) {
        return send(JSON.stringify(failure(c.id, c.op, e, log)) + '\n');
      }
      // an exception half-way through cannot be answered any more: the pump drops the client
      return sendStream(c.id, items);
    }
    try {
      const result = await exclusive(() => c.handler.run(ctl, c.args));
      return send(JSON.stringify({ id: c.id, ok: true, result: result === undefined ? null : result }) + '\n');
    } catch (e) {
      return send(JSON.stringify(failure(c.id, c.op, e, log)) + '\n');
    }
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      for (;;) {
        if (sock.destroyed || closing) return;
        const line = lines.next();
        if (line === null) break;
        if (line === LINE_TOO_LONG) {
          closing = true;
          sock.pause();
          sock.end(JSON.stringify(errorAnswer(null, 'E2BIG', `request line longer than ${o.maxLineBytes} bytes: closing the connection`, '')) + '\n');
          setTimeout(() => sock.destroy(), 1000).unref();
          return;
        }
        if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) continue;
        await handle(line);
        if (lines.buffered < readHigh && sock.isPaused()) sock.resume();
      }
      if (!closing && sock.isPaused()) sock.resume();
    } catch (e) {
      // nothing may escape: report, and drop this client
      log?.('error', 'control connection failed', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      sock.destroy();
    } finally {
      busy = false;
    }
  };

  sock.on('data', (chunk: Buffer) => {
    try {
      lines.push(chunk);
      // stop reading while this client's input waits (it is answered one request at a time)
      if (lines.buffered >= readHigh || busy) sock.pause();
      void pump();
    } catch (e) {
      log?.('error', 'control connection failed', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      sock.destroy();
    }
  });
}

/** Thrown by ControlClient when the daemon sends nothing for `timeoutMs` while an answer is due. */
export class ControlTimeoutError extends Error {
  override readonly name = 'ControlTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/** Options of a client connection. */
export interface ClientOptions {
  /** fail pending calls when nothing arrives for this long while an answer is due (default: never) */
  timeoutMs?: number;
}

/** A connection to tunvsd: the DirectorControl operations as promises (errors are ControlErrors). */
export class ControlClient implements AsyncDirectorControl {
  private nextId = 1;
  private readonly lines = new LineSplitter();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly sock: Socket,
    private readonly timeoutMs: number,
  ) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e) => this.failAll(e));
    sock.on('close', () => this.failAll(new Error('control connection closed')));
  }

  /**
   * Connect to the socket at `path` (rejects with the socket error, e.g. ENOENT,
   * ECONNREFUSED, EACCES; with ControlTimeoutError when the connection does not complete
   * within `timeoutMs`).
   */
  static connect(path: string, opts: ClientOptions = {}): Promise<ControlClient> {
    const timeoutMs = opts.timeoutMs ?? 0;
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const timer = timeoutMs > 0 ? setTimeout(() => {
        sock.destroy();
        reject(new ControlTimeoutError(`no connection to ${path} within ${timeoutMs} ms`));
      }, timeoutMs) : null;
      const onErr = (e: Error): void => {
        if (timer) clearTimeout(timer);
        reject(e);
      };
      sock.once('error', onErr);
      sock.once('connect', () => {
        if (timer) clearTimeout(timer);
        sock.off('error', onErr);
        resolve(new ControlClient(sock, timeoutMs));
      });
    });
  }

  private failAll(e: Error): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** (Re)arm the inactivity timer while answers are due. */
  private arm(): void {
    if (this.timeoutMs <= 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.failAll(new ControlTimeoutError(`no answer within ${this.timeoutMs} ms`));
      this.sock.destroy();
    }, this.timeoutMs);
  }

  private onData(chunk: Buffer): void {
    this.lines.push(chunk);
    for (;;) {
      const line = this.lines.next();
      if (line === null || line === LINE_TOO_LONG) break;
      let resp: ControlResponse;
      try {
        resp = JSON.parse(line.toString('utf8')) as ControlResponse;
      } catch {
        continue;
      }
      const p = typeof resp?.id === 'number' ? this.pending.get(resp.id) : undefined;
      if (!p) continue;
      this.pending.delete(resp.id as number);
      if (resp.ok) p.resolve(resp.result);
      else p.reject(new ControlError(String(resp.error?.code) as ControlError['code'], String(resp.error?.message), String(resp.error?.op || p.op)));
    }
    this.arm();
  }

  /** Send one operation and wait for its answer. */
  call(op: ControlOp | string, args: unknown[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op });
      this.sock.write(JSON.stringify({ id, op, args }) + '\n');
      this.arm();
    });
  }

  /** Close the connection. */
  close(): void {
    this.sock.end();
  }

  addService: AsyncDirectorControl['addService'] = async (spec) => void (await this.call('addService', [spec]));
  editService: AsyncDirectorControl['editService'] = async (spec) => void (await this.call('editService', [spec]));
  deleteService: AsyncDirectorControl['deleteService'] = async (key) => void (await this.call('deleteService', [key]));
  clear: AsyncDirectorControl['clear'] = async () => void (await this.call('clear'));
  addDest: AsyncDirectorControl['addDest'] = async (key, dest) => void (await this.call('addDest', [key, dest]));
  editDest: AsyncDirectorControl['editDest'] = async (key, dest) => void (await this.call('editDest', [key, dest]));
  deleteDest: AsyncDirectorControl['deleteDest'] = async (key, dest) => void (await this.call('deleteDest', [key, dest]));
  zero: AsyncDirectorControl['zero'] = async (key) => void (await this.call('zero', key === undefined ? [] : [key]));
  listServices: AsyncDirectorControl['listServices'] = async () => (await this.call('listServices')) as ReturnType<DirectorControl['listServices']>;
  getService: AsyncDirectorControl['getService'] = async (key) => (await this.call('getService', [key])) as ReturnType<DirectorControl['getService']>;
  listConnections: AsyncDirectorControl['listConnections'] = async () =>
    (await this.call('listConnections')) as ReturnType<DirectorControl['listConnections']>;
  setTimeouts: AsyncDirectorControl['setTimeouts'] = async (t) => void (await this.call('setTimeouts', [t]));
  getTimeouts: AsyncDirectorControl['getTimeouts'] = async () => (await this.call('getTimeouts')) as ReturnType<DirectorControl['getTimeouts']>;
  info: AsyncDirectorControl['info'] = async () => (await this.call('info')) as ReturnType<DirectorControl['info']>;
}
