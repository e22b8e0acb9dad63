/**
 * Loading the native addon (build/Release/tuntap.node, built by node-gyp at install) and
 * its raw interface. Everything here is internal: the public API wraps it with typed errors.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TunTapError } from './errors.js';

/** An opaque queue handle owned by the addon. */
export type QueueHandle = { readonly __queue: unique symbol };

/** What `openQueue` returns. */
export interface OpenedQueue {
  fd: number;
  name: string;
  offloads: number;
}

/** The raw functions the addon exports (see src/tuntap.c). */
export interface NativeTunTap {
  openQueue(name: string, tap: boolean, multiQueue: boolean, vnetHdrLen: number, offloads: number, nonBlocking: boolean): OpenedQueue;
  setPersist(fd: number, on: boolean): void;
  closeFd(fd: number): void;
  getMtu(name: string): number;
  setMtu(name: string, mtu: number): void;
  getFlags(name: string): number;
  setUp(name: string, up: boolean): void;
  setAddress(name: string, addr: number, prefix: number): void;
  getMac(name: string): Uint8Array;
  setMac(name: string, mac: Uint8Array): void;
  ifIndex(name: string): number;
  createQueue(
    fd: number,
    vnetHdrLen: number,
    maxWrite: number,
    maxGsoWrite: number,
    cb: (count: number, bytes: number, errors: number, errno: number) => void,
  ): QueueHandle;
  startReading(q: QueueHandle, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, maxRead: number): void;
  stopReading(q: QueueHandle): void;
  setRef(q: QueueHandle, on: boolean): void;
  setMaxWrite(q: QueueHandle, maxWrite: number): void;
  writeBatch(q: QueueHandle, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, stat: Float64Array): number;
  closeQueue(q: QueueHandle): void;
  queueFd(q: QueueHandle): number;
}

let cached: NativeTunTap | null = null;

/** The addon, loaded on first use (so importing the package never needs the build). */
export function native(): NativeTunTap {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '../build/Release/tuntap.node'), join(here, '../build/Debug/tuntap.node')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new TunTapError(
      'the native addon is not built: run `npx node-gyp rebuild` in packages/tuntap',
      'ENOENT',
      2,
      'dlopen',
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeTunTap;
  return cached;
}
