/**
 * Loading the native addon (build/Release/xdp.node, built by node-gyp at install) and its
 * raw interface. Everything here is internal: the public API wraps it with XdpError.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XdpError } from './errors.js';

/** Opaque handles owned by the addon. */
export type UmemHandle = { readonly __umem: unique symbol };
export type XskHandle = { readonly __xsk: unique symbol };
export type PktHandle = { readonly __pkt: unique symbol };

/** What `ifInfo` returns. */
export interface NativeIfInfo {
  ifindex: number;
  mtu: number;
  mac: Uint8Array;
  up: boolean;
  loopback: boolean;
  hwType: number;
  driver: string;
  rxQueues: number;
  txQueues: number;
  maxRxQueues: number;
  queuesFrom: string;
}

/** The raw functions the addon exports (see src/native/*.c). */
export interface NativeXdp {
  // bpf.c
  mapCreate(type: number, keySize: number, valueSize: number, maxEntries: number, flags: number, name: string): number;
  mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  mapDelete(fd: number, key: Uint8Array): boolean;
  mapLookup(fd: number, key: Uint8Array, out: Uint8Array): boolean;
  progLoad(type: number, insns: Uint8Array, name: string, license: string): number;
  xdpAttach(ifindex: number, progFd: number, flags: number): number;
  xdpLinkUpdate(linkFd: number, progFd: number): void;
  progId(fd: number): number;
  closeFd(fd: number): void;
  // netdev.c
  ifInfo(name: string): NativeIfInfo;
  hostAddresses(name: string): number[];
  // xsk.c
  umemCreate(frameSize: number, frames: number): { id: number; handle: UmemHandle };
  umemAttach(id: number): UmemHandle;
  umemView(h: UmemHandle): Uint8Array;
  umemInfo(h: UmemHandle): { id: number; frameSize: number; frames: number; free: number };
  xskOpen(
    umem: UmemHandle,
    ifindex: number,
    queue: number,
    rxSize: number,
    txSize: number,
    fillSize: number,
    compSize: number,
    bindFlags: number,
    maxFrame: number,
  ): { handle: XskHandle; fd: number; txFd: number; zeroCopy: boolean; shared: boolean; needWakeup: boolean };
  xskStart(h: XskHandle, offsets: Uint32Array, lengths: Uint32Array, cb: (count: number) => void): void;
  xskStop(h: XskHandle): void;
  xskRef(h: XskHandle, on: boolean): void;
  xskRead(h: XskHandle, offsets: Uint32Array, lengths: Uint32Array): number;
  xskRelease(h: XskHandle): void;
  xskWrite(h: XskHandle, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  xskStats(h: XskHandle, out: Float64Array): void;
  xskClose(h: XskHandle): void;
  xskFd(h: XskHandle): number;
  xskKickThread(h: XskHandle, on: boolean, cpus: Uint32Array): void;
  // afpacket.c
  pktOpen(
    ifindex: number,
    rxFrames: number,
    txFrameSize: number,
    txFrames: number,
    fanout: number,
    qdiscBypass: boolean,
    maxFrame: number,
    filterFd: number,
    fanoutProgFd: number,
    vnetHdr: boolean,
  ): { handle: PktHandle; view: Uint8Array; fd: number; txFd: number; rxFrames: number; txFrames: number };
  pktAttach(fd: number, txFd: number, rxFrames: number, txFrameSize: number, txFrames: number, maxFrame: number, vnetHdr: boolean): {
    handle: PktHandle;
    view: Uint8Array;
    fd: number;
    txFd: number;
    rxFrames: number;
    txFrames: number;
  };
  pktStart(h: PktHandle, offsets: Uint32Array, lengths: Uint32Array, cb: (count: number) => void): void;
  pktStop(h: PktHandle): void;
  pktRef(h: PktHandle, on: boolean): void;
  pktRead(h: PktHandle, offsets: Uint32Array, lengths: Uint32Array): number;
  pktRelease(h: PktHandle): void;
  pktWrite(h: PktHandle, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  pktStats(h: PktHandle, out: Float64Array): void;
  pktClose(h: PktHandle): void;
  // util.c
  ringModel(size: number, start: number, ops: Int32Array, out: Float64Array): number;
}

let cached: NativeXdp | null = null;

/** The addon, loaded on first use (so importing the package never needs the build). */
export function native(): NativeXdp {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '../build/Release/xdp.node'), join(here, '../build/Debug/xdp.node')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new XdpError('the native addon is not built: run `npx node-gyp rebuild` in packages/xdp', 'ENOENT', 2, 'dlopen');
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeXdp;
  return cached;
}
