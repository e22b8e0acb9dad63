/**
 * Loading the native addon (build/Release/hostnet.node, built by node-gyp at install) and
 * its raw interface; the classes of this package wrap it with typed errors.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque watcher handle owned by the addon. */
export type WatchHandle = { readonly __watch: unique symbol };

/** Interface facts from ioctl. */
export interface NativeIfInfo {
  index: number;
  mac: Uint8Array;
  flags: number;
  mtu: number;
}

/** The functions the addon exports (src/hostnet.c). */
export interface NativeHostnet {
  openRawIp(protocol: number, ifname: string, hdrincl: boolean): number;
  joinGroup(fd: number, group: number, ifindex: number, join: boolean): void;
  sendIp(fd: number, datagram: Uint8Array, dst: number): number;
  openPacket(ifindex: number): number;
  sendFrame(fd: number, frame: Uint8Array, ifindex: number): number;
  openNetlink(groups: number, blocking: boolean): number;
  netlinkRequest(fd: number, msg: Uint8Array): { error: number; messages: Uint8Array[] };
  watch(fd: number, kind: 0 | 1, cb: (data: Uint8Array, ifindex: number, dst: number) => void): WatchHandle;
  unwatch(h: WatchHandle): void;
  setRef(h: WatchHandle, on: boolean): void;
  closeFd(fd: number): void;
  ifInfo(name: string): NativeIfInfo | null;
  threadCpus(): number[];
  setThreadCpus(cpus: readonly number[]): void;
}

/** An error from the host: errno name, number, and the failing call. */
export class HostnetError extends Error {
  override readonly name = 'HostnetError';
  constructor(
    message: string,
    readonly code: string,
    readonly errno: number,
    readonly syscall: string,
  ) {
    super(message);
  }
}

let cached: NativeHostnet | null = null;

/** The addon, loaded on first use (importing the package never needs the build). */
export function native(): NativeHostnet {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const path = [join(here, '../build/Release/hostnet.node'), join(here, '../build/Debug/hostnet.node')].find((p) => existsSync(p));
  if (!path) throw new HostnetError('the native addon is not built: run `npx node-gyp rebuild` in packages/hostnet', 'ENOENT', 2, 'dlopen');
  cached = createRequire(import.meta.url)(path) as NativeHostnet;
  return cached;
}

const HINTS: Record<string, string> = {
  EPERM: 'raw and packet sockets and rtnetlink changes need root (CAP_NET_RAW / CAP_NET_ADMIN)',
  EACCES: 'raw and packet sockets and rtnetlink changes need root (CAP_NET_RAW / CAP_NET_ADMIN)',
  ENODEV: 'no such interface',
  EEXIST: 'it already exists',
  EADDRNOTAVAIL: 'no such address on that interface',
  ESRCH: 'no such route',
  ENETUNREACH: 'no route to that destination',
};

/** Run a native call, turning its Error into a HostnetError with a hint. */
export function call<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as { code?: string; errno?: number; syscall?: string; message?: string };
    const code = err.code ?? 'EUNKNOWN';
    const hint = HINTS[code];
    throw new HostnetError(`${what}: ${err.message ?? String(e)}${hint ? ` (${hint})` : ''}`, code, err.errno ?? 0, err.syscall ?? what);
  }
}
