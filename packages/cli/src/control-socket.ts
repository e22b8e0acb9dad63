/**
 * The control socket between tunvsadm and tunvsd: newline-delimited JSON over a Unix stream
 * socket (mode 0600). A request is `{"id":1,"op":"addService","args":[spec]}`, the answer
 * `{"id":1,"ok":true,"result":...}` or `{"id":1,"ok":false,"error":{"code","message","op"}}`.
 * The server runs every request from every client through one queue, so each operation is
 * applied whole and in arrival order. See README.md for the full protocol.
 */
import { chmodSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ControlError, type DirectorControl } from '@tunvs/model';

/** Default socket path of tunvsd. */
export const DEFAULT_SOCKET = '/run/tunvs/tunvsd.sock';

/** The socket path: an explicit one, else `$TUNVS_SOCKET`, else the default. */
export function socketPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env.TUNVS_SOCKET || DEFAULT_SOCKET;
}

/** The operations the socket serves: exactly the DirectorControl methods. */
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

/** An answer line. */
export type ControlResponse =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: { code: string; message: string; op: string } };

/** Wrap an in-process DirectorControl as an AsyncDirectorControl (no socket). */
export function asyncControl(ctl: DirectorControl): AsyncDirectorControl {
  const out = {} as Record<ControlOp, (...a: unknown[]) => Promise<unknown>>;
  for (const op of CONTROL_OPS) {
    out[op] = async (...a: unknown[]) => (ctl[op] as (...x: unknown[]) => unknown).apply(ctl, a);
  }
  return out as unknown as AsyncDirectorControl;
}

/** Read-only operations served next to the DirectorControl ones (e.g. tunvsd's `vrrpStatus`). */
export type ExtraOps = Record<string, (...args: unknown[]) => unknown>;

/** Apply one decoded request to `ctl` and build its answer (never throws). */
export async function dispatchRequest(ctl: DirectorControl, req: unknown, extra: ExtraOps = {}): Promise<ControlResponse> {
  const r = req as Partial<ControlRequest> | null;
  const id = r && (typeof r.id === 'number' || typeof r.id === 'string') ? r.id : null;
  const op = r && typeof r.op === 'string' ? r.op : '';
  if (r && typeof r === 'object' && Object.prototype.hasOwnProperty.call(extra, op)) {
    try {
      const result = await extra[op]!(...(Array.isArray(r.args) ? r.args : []));
      return { id, ok: true, result: result === undefined ? null : result };
    } catch (e) {
      return { id, ok: false, error: { code: 'EIO', message: String((e as Error)?.message ?? e), op } };
    }
  }
  if (!r || typeof r !== 'object' || !(CONTROL_OPS as readonly string[]).includes(op)) {
    return { id, ok: false, error: { code: 'EOPNOTSUPP', message: `unknown operation '${op}'`, op } };
  }
  const args = r.args === undefined ? [] : r.args;
  if (!Array.isArray(args)) return { id, ok: false, error: { code: 'EINVAL', message: 'args must be an array', op } };
  try {
    const result = await (ctl[op as ControlOp] as (...x: unknown[]) => unknown).apply(ctl, args);
    return { id, ok: true, result: result === undefined ? null : result };
  } catch (e) {
    if (e instanceof ControlError) return { id, ok: false, error: { code: e.code, message: e.message, op: e.op || op } };
    const err = e as { code?: unknown; message?: unknown };
    const code = typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code) ? err.code : 'EIO';
    return { id, ok: false, error: { code, message: String(err?.message ?? e), op } };
  }
}

/**
 * Serve `ctl` on a Unix socket at `path` (directory created, a stale socket file replaced,
 * mode 0600). Requests of all clients are applied one at a time, in arrival order.
 * Closing the server disconnects its clients and removes the socket file.
 */
export function serveControl(ctl: DirectorControl, path: string, extra: ExtraOps = {}): Server {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch {
    // no stale socket
  }
  let queue: Promise<unknown> = Promise.resolve();
  const clients = new Set<Socket>();
  const server = createServer((sock: Socket) => {
    clients.add(sock);
    sock.on('close', () => clients.delete(sock));
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let req: unknown;
        let bad: ControlResponse | null = null;
        try {
          req = JSON.parse(line);
        } catch {
          bad = { id: null, ok: false, error: { code: 'EPROTO', message: 'request is not valid JSON', op: '' } };
        }
        const job = queue.then(async () => bad ?? (await dispatchRequest(ctl, req, extra)));
        queue = job.catch(() => undefined);
        void job.then((resp) => {
          if (!sock.destroyed) sock.write(JSON.stringify(resp) + '\n');
        });
      }
    });
  });
  const old = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(old);
  }
  server.on('listening', () => {
    try {
      chmodSync(path, 0o600);
    } catch {
      // the socket went away already
    }
  });
  // closing the server also drops the connected clients, so a daemon can stop promptly
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    close(cb);
    for (const c of clients) c.destroy();
    return server;
  };
  server.on('close', () => {
    try {
      if (statSync(path).isSocket()) unlinkSync(path);
    } catch {
      // already gone
    }
  });
  return server;
}

/** A connection to tunvsd: the DirectorControl operations as promises (errors are ControlErrors). */
export class ControlClient implements AsyncDirectorControl {
  private nextId = 1;
  private buf = '';
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    const failAll = (e: Error): void => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    sock.on('error', (e) => failAll(e));
    sock.on('close', () => failAll(new Error('control connection closed')));
  }

  /** Connect to the socket at `path` (rejects with the socket error, e.g. ENOENT/ECONNREFUSED). */
  static connect(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const onErr = (e: Error): void => reject(e);
      sock.once('error', onErr);
      sock.once('connect', () => {
        sock.off('error', onErr);
        resolve(new ControlClient(sock));
      });
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let resp: ControlResponse;
      try {
        resp = JSON.parse(line) as ControlResponse;
      } catch {
        continue;
      }
      const p = typeof resp.id === 'number' ? this.pending.get(resp.id) : undefined;
      if (!p) continue;
      this.pending.delete(resp.id as number);
      if (resp.ok) p.resolve(resp.result);
      else p.reject(new ControlError(resp.error.code as ControlError['code'], resp.error.message, resp.error.op || p.op));
    }
  }

  /** Send one operation and wait for its answer. */
  call(op: ControlOp | string, args: unknown[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op });
      this.sock.write(JSON.stringify({ id, op, args }) + '\n');
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
