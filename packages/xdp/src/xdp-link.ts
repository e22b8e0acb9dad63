/**
 * AF_XDP Links: `openXdp` attaches the steering program to an interface and opens one
 * AF_XDP socket per (queue, slot), each a `Link` (L2 frames, like TAP) whose batches point
 * straight into the UMEM. See the package README for the design.
 */
import { endianness } from 'node:os';
import { call, ERRNO, fromNative, nativeError, XdpError } from './errors.js';
import { framesNeeded, validateXdpOptions } from './config.js';
import type { XdpOptions } from './config.js';
import type { NativeXdp, UmemHandle, XskHandle } from './native.js';
import { native } from './native.js';
import { lookUpInterface, RingLink } from './ring-link.js';
import type { RingOps } from './ring-link.js';
import { MapType, PROG_TYPE_XDP, steeringProgram } from './bpf/program.js';
import { createSteeringMaps, readProgramStats } from './steering.js';
import type { ProgramStats, Steering, SteeringMapFds } from './steering.js';
import { socketIndex, u32Value } from './steer.js';

// linux/if_xdp.h and linux/if_link.h
const XDP_COPY = 1 << 1;
const XDP_ZEROCOPY = 1 << 2;
const XDP_USE_NEED_WAKEUP = 1 << 3;
const XDP_FLAGS_SKB_MODE = 1 << 1;
const XDP_FLAGS_DRV_MODE = 1 << 2;
/** XDP_PACKET_HEADROOM: received data starts this far into a frame */
export const XDP_HEADROOM = 256;
/** ARPHRD_* hardware types (linux/if_arp.h) */
const ARPHRD_ETHER = 1;
const ARPHRD_NONE = 0xfffe;
/** Ethernet header plus one VLAN tag */
const L2_SLACK = 18;

/** Kernel and addon counters of one AF_XDP socket. */
export interface XdpSocketStats {
  rxPackets: number;
  rxBytes: number;
  rxBatches: number;
  txPackets: number;
  txBytes: number;
  /** frames not sent: TX ring full, no free frame, or the link closed */
  txDropped: number;
  /** frames refused: longer than the MTU, shorter than an Ethernet header, outside the buffer */
  txErrors: number;
  /** frames copied into a free frame (not sent from their receive frame) */
  txCopied: number;
  /** sendto() calls that told the kernel to send */
  kicks: number;
  kickErrors: number;
  /** the kernel's XDP_STATISTICS */
  rxDropped: number;
  rxInvalidDescs: number;
  txInvalidDescs: number;
  rxRingFull: number;
  rxFillRingEmpty: number;
  txRingEmpty: number;
  /** free frames left in the UMEM */
  freeFrames: number;
  /** times a write woke the sleeping kick thread (txKick 'thread') */
  kickWakes: number;
}

function errnoName(e: number): string {
  for (const [k, v] of Object.entries(ERRNO)) if (v === e) return k;
  return `errno ${e}`;
}

/** the AF_XDP calls of the addon, as RingLink runs them */
const xdpOps = (n: NativeXdp): RingOps<XskHandle> => ({
  start: n.xskStart, stop: n.xskStop, ref: n.xskRef, read: n.xskRead,
  release: n.xskRelease, write: n.xskWrite, stats: n.xskStats, close: n.xskClose,
});

/**
 * One AF_XDP socket: a Link carrying Ethernet frames. A received batch points into the
 * UMEM (`batch.buf` is the whole UMEM); writing a frame of the current batch back (to this
 * socket or any other of the same UMEM in this thread) sends it without a copy.
 */
export class XdpLink extends RingLink<XskHandle> {
  /** @internal use openXdp / openXdpSlots */
  constructor(
    name: string,
    mtu: number,
    /** the RX queue the socket is bound to */
    readonly queue: number,
    /** the slot (worker) among the queue's sockets */
    readonly slot: number,
    /** queue * slots + slot: the key in the XSKMAP and in the program's counters */
    readonly index: number,
    /** the driver moves frames by DMA into the UMEM (no kernel copy) */
    readonly zeroCopy: boolean,
    /** who runs the sendto kicks: the writing thread, or a native thread of this socket */
    readonly txKick: 'inline' | 'thread',
    handle: XskHandle,
    view: Uint8Array,
    batchSize: number,
    private readonly onClose: (link: XdpLink) => void,
  ) {
    super(name, mtu, handle, xdpOps(native()), view, batchSize, 22);
  }

  protected get label(): string {
    return `socket ${this.index} of ${this.name}`;
  }

  protected get source(): string {
    return `${this.name} queue ${this.queue}`;
  }

  /** frames the kernel could not deliver to this socket (RX ring full, no fill frame) plus bad descriptors */
  protected rxErrorCount(s: Float64Array): number {
    return s[13]! + s[14]!;
  }

  /** The socket's fd (-1 once closed). */
  get fd(): number {
    return native().xskFd(this.handle);
  }

  /** The addon's and the kernel's counters. */
  stats(): XdpSocketStats {
    const s = this.readStats();
    return {
      rxPackets: s[0]!,
      rxBytes: s[1]!,
      rxBatches: s[2]!,
      txPackets: s[3]!,
      txBytes: s[4]!,
      txDropped: s[5]!,
      txErrors: s[6]!,
      txCopied: s[7]!,
      kicks: s[8]!,
      kickErrors: s[9]!,
      rxDropped: s[13]!,
      rxInvalidDescs: s[14]!,
      txInvalidDescs: s[15]!,
      rxRingFull: s[16]!,
      rxFillRingEmpty: s[17]!,
      txRingEmpty: s[18]!,
      freeFrames: s[19]!,
      kickWakes: s[20]!,
    };
  }

  /** The last write error (null when none), built on demand. */
  get lastTxError(): XdpError | null {
    const s = this.readStats();
    const e = s[10]!;
    if (e === 0) return null;
    const len = s[11]!;
    if (e === ERRNO.EMSGSIZE) return new XdpError(`frame of ${len} bytes is larger than the MTU ${this.mtu} plus the Ethernet header`, 'EMSGSIZE', e, 'write');
    if (e === ERRNO.EFAULT) return new XdpError('a frame lies outside the batch buffer (bad offset or length)', 'EFAULT', e, 'write');
    if (e === ERRNO.EINVAL) return new XdpError(`frame of ${len} bytes is shorter than an Ethernet header`, 'EINVAL', e, 'write');
    return new XdpError(`write failed: ${errnoName(e)} (frame of ${len} bytes on ${this.name})`, errnoName(e), e, 'write');
  }

  /** The last error of the kernel kick (sendto), or null. */
  get lastKickError(): XdpError | null {
    const e = this.readStats()[12]!;
    if (e === 0) return null;
    const why = e === ERRNO.ENETDOWN ? ' (the interface is down)' : e === ERRNO.ENOBUFS ? ' (no memory for the frame)' : '';
    return new XdpError(`sendto on ${this.name} queue ${this.queue} failed: ${errnoName(e)}${why}`, errnoName(e), e, 'sendto');
  }

  /** take the socket out of the program's map */
  protected override onClosing(): void {
    this.onClose(this);
  }
}

/** Counters of the steering program (see ProgramStats). */
export type XdpProgramStats = ProgramStats;

/**
 * What a worker thread needs to open its own sockets on a port opened elsewhere in the
 * same process (fds and the UMEM are process-wide): pass it through `workerData`.
 */
export interface XdpPortDescriptor {
  ifname: string;
  ifindex: number;
  mtu: number;
  slots: number;
  queues: number[];
  xsksFd: number;
  umemId: number;
  frameSize: number;
  ringSize: number;
  fillSize: number;
  bindFlags: number;
  batchSize: number;
  txKick: 'inline' | 'thread';
  kickCpus: number[];
}

/**
 * An interface with the steering program attached: its maps, its UMEM, and the sockets
 * opened in this thread (`links`, queue-major). Closing it detaches the program.
 */
export class XdpPort {
  readonly links: XdpLink[] = [];
  private closed = false;
  private umem: UmemHandle | null;
  private view: Uint8Array;

  /** @internal use openXdp */
  constructor(
    private readonly n: NativeXdp,
    readonly ifname: string,
    readonly ifindex: number,
    readonly mac: Uint8Array,
    readonly mtu: number,
    /** the kernel driver's name (ethtool) */
    readonly driver: string,
    readonly slots: number,
    readonly queues: number[],
    /** how the program is attached: the driver's hook or generic (skb) XDP */
    readonly mode: 'native' | 'skb',
    /** the kernel's id of the program (`ip link show` prints it) */
    readonly programId: number,
    readonly steering: Steering,
    private readonly fds: { prog: number; link: number; xsks: number } & SteeringMapFds,
    umem: UmemHandle,
    readonly umemId: number,
    view: Uint8Array,
    private readonly desc: XdpPortDescriptor,
  ) {
    this.umem = umem;
    this.view = view;
  }

  /** Whether the sockets run in zero-copy mode (false: copy mode), from the first socket. */
  get zeroCopy(): boolean {
    return this.links[0]?.zeroCopy ?? false;
  }

  /** The whole UMEM (every batch of this port's sockets points into it). */
  get umemView(): Uint8Array {
    return this.view;
  }

  /** The socket of (queue, slot) opened in this thread. */
  link(queue: number, slot = 0): XdpLink | undefined {
    return this.links.find((l) => l.queue === queue && l.slot === slot && !l.isClosed);
  }

  /** This thread's sockets of one slot (one per queue): what a worker reads. */
  slotLinks(slot: number): XdpLink[] {
    return this.links.filter((l) => l.slot === slot && !l.isClosed);
  }

  /** For worker threads: see openXdpSlots. */
  describe(): XdpPortDescriptor {
    return { ...this.desc, queues: [...this.desc.queues], kickCpus: [...this.desc.kickCpus] };
  }

  /** @internal adopt sockets opened for this port */
  adopt(links: XdpLink[]): void {
    this.links.push(...links);
  }

  /** The program's counters: why frames passed, how many went to each socket. */
  programStats(): XdpProgramStats {
    return readProgramStats(this.n, this.fds.stats, (Math.max(...this.queues) + 1) * this.slots, this.closed);
  }

  /** Detach the program, close every socket of this thread and the maps. Idempotent. */
  close(): void {
    if (this.closed) return;
    for (const l of this.links) l.close();
    this.closed = true;
    const f = this.fds;
    for (const fd of [f.link, f.prog, f.xsks, f.vips, f.reals, f.addrs, f.stats, f.frags]) this.n.closeFd(fd);
    // the UMEM goes when the last handle and view are collected
    this.umem = null;
    this.view = new Uint8Array(0);
  }

  /** @internal the XSKMAP entry of a socket */
  unmapSocket(index: number): void {
    if (!this.closed) this.n.mapDelete(this.fds.xsks, u32Value(index));
  }

  /** @internal */
  get umemHandle(): UmemHandle | null {
    return this.umem;
  }
}

function notSupported(ifname: string, why: string, code: string, errno: number, syscall: string): XdpError {
  return new XdpError(`AF_XDP not supported on ${ifname}: ${why}`, code, errno, syscall);
}

/**
 * The kernel frees a closed AF_XDP socket's buffer pool from a work queue, so for a short
 * while after a close (ours, or a process that just exited) bind() on that queue still
 * answers EBUSY. Retry for up to BUSY_WAIT_MS before calling the queue taken.
 */
const BUSY_WAIT_MS = 1000;
const BUSY_STEP_MS = 10;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function openBusyAware<T>(open: () => T): T {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    try {
      return open();
    } catch (err) {
      const e = nativeError(err);
      if (!(e.syscall === 'bind(AF_XDP)' && e.code === 'EBUSY') || Date.now() >= deadline) throw err;
      Atomics.wait(sleeper, 0, 0, BUSY_STEP_MS);
    }
  }
}

/** Open (queue, slot) sockets on a UMEM and put them in the XSKMAP. */
function openSockets(
  n: NativeXdp,
  umem: UmemHandle,
  view: Uint8Array,
  d: XdpPortDescriptor,
  slots: number[],
  unmap: (index: number) => void,
  zeroCopyRequired: boolean,
): XdpLink[] {
  const links: XdpLink[] = [];
  const maxFrame = d.mtu + L2_SLACK;
  try {
    for (const q of d.queues) {
      for (const s of slots) {
        const index = socketIndex(q, s, d.slots);
        let opened: ReturnType<NativeXdp['xskOpen']>;
        try {
          opened = openBusyAware(() => n.xskOpen(umem, d.ifindex, q, d.ringSize, d.ringSize, d.fillSize, d.fillSize, d.bindFlags, maxFrame));
        } catch (err) {
          const e = nativeError(err);
          if (e.syscall === 'socket(AF_XDP)' && e.code === 'EAFNOSUPPORT')
            throw notSupported(d.ifname, 'the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)', e.code, e.errno, e.syscall);
          if (e.syscall === 'bind(AF_XDP)' && e.code === 'EOPNOTSUPP' && zeroCopyRequired)
            throw new XdpError(
              `AF_XDP zero-copy not supported on ${d.ifname}: the driver cannot do it; use zeroCopy 'auto' or false (copy mode)`,
              e.code,
              e.errno,
              e.syscall,
            );
          if (e.syscall === 'bind(AF_XDP)' && e.code === 'EBUSY')
            throw new XdpError(`cannot open AF_XDP on ${d.ifname} queue ${q}: the queue already has an AF_XDP socket (another process?)`, e.code, e.errno, e.syscall);
          throw fromNative(err, `opening AF_XDP socket on ${d.ifname} queue ${q} slot ${s}`);
        }
        const link = new XdpLink(d.ifname, d.mtu, q, s, index, opened.zeroCopy, d.txKick, opened.handle, view, d.batchSize, (l) => unmap(l.index));
        links.push(link);
        if (d.txKick === 'thread') call(`starting the kick thread of socket ${index} of ${d.ifname}`, () => n.xskKickThread(opened.handle, true, Uint32Array.from(d.kickCpus)));
        call(`putting socket ${index} of ${d.ifname} into the XSKMAP`, () => n.mapUpdate(d.xsksFd, u32Value(index), u32Value(opened.fd), 0));
      }
    }
  } catch (err) {
    for (const l of links) l.close();
    throw err;
  }
  return links;
}

/**
 * Attach the steering program to an interface and open its AF_XDP sockets.
 *
 * ```ts
 * const port = openXdp({ ifname: 'eth0', steer: { vips: [{ addr: '10.0.0.10', proto: 'tcp', port: 80 }] } });
 * port.links[0].onBatch((b) => { ...; port.links[0].writeBatch(b); });
 * ```
 */
export function openXdp(opts: XdpOptions): XdpPort {
  const o = validateXdpOptions(opts);
  if (endianness() !== 'LE') throw new XdpError('@tunvs/xdp runs on little-endian machines only', 'ENOTSUP', ERRNO.EOPNOTSUPP, 'validate');
  const n = native();
  const ifname = o.ifname;
  const info = lookUpInterface(n, ifname, 'AF_XDP');
  if (info.hwType !== ARPHRD_ETHER) {
    const what = info.loopback ? 'a loopback device' : info.hwType === ARPHRD_NONE ? 'a layer-3 device (no Ethernet header, e.g. TUN)' : `not an Ethernet device (ARPHRD ${info.hwType})`;
    throw notSupported(ifname, `${what}; the link carries Ethernet frames`, 'EOPNOTSUPP', ERRNO.EOPNOTSUPP, 'validate');
  }
  const queues = o.queues === 'all' ? Array.from({ length: info.rxQueues }, (_, i) => i) : o.queues;
  for (const q of queues)
    if (q >= info.rxQueues)
      throw new XdpError(
        `cannot open AF_XDP on ${ifname}: queue ${q} does not exist (${ifname} has ${info.rxQueues} RX queue${info.rxQueues === 1 ? '' : 's'})`,
        'EINVAL',
        ERRNO.EINVAL,
        'validate',
      );
  const maxFrame = info.mtu + L2_SLACK;
  if (maxFrame > o.frameSize - XDP_HEADROOM)
    throw new XdpError(
      `cannot open AF_XDP on ${ifname}: MTU ${info.mtu} does not fit frames of ${o.frameSize} bytes (max MTU ${o.frameSize - XDP_HEADROOM - L2_SLACK}); use frameSize 4096 or a smaller MTU`,
      'EMSGSIZE',
      ERRNO.EMSGSIZE,
      'validate',
    );
  const maxQ = Math.max(...queues);
  const nSockets = (maxQ + 1) * o.slots;
  const fds: number[] = [];
  let umem: { id: number; handle: UmemHandle } | null = null;
  let links: XdpLink[] = [];
  let linkFd = -1;
  try {
    const xsks = call(`creating the tunvs_xsks map for ${ifname}`, () => n.mapCreate(MapType.Xskmap, 4, 4, nSockets, 0, 'tunvs_xsks'));
    fds.push(xsks);
    const { fds: maps, steering } = createSteeringMaps(n, ifname, o, nSockets, fds);
    const program = steeringProgram(o.slots, { xsks, ...maps }).assemble();
    const prog = call(`loading the XDP program for ${ifname}`, () => n.progLoad(PROG_TYPE_XDP, program, 'tunvs_steer', 'GPL'));
    fds.push(prog);

    // the UMEM: its own, or another port's (frames then move between the two without copies)
    let view: Uint8Array;
    if (o.shareUmemId !== null) {
      const h = call(`sharing UMEM ${o.shareUmemId}`, () => n.umemAttach(o.shareUmemId!));
      umem = { id: o.shareUmemId, handle: h };
      view = n.umemView(h);
    } else {
      const frames = o.frames ?? framesNeeded(queues.length, o.slots, o.ringSize, o.fillSize);
      umem = call(`allocating the UMEM for ${ifname} (${frames} frames of ${o.frameSize} bytes)`, () => n.umemCreate(o.frameSize, frames));
      view = n.umemView(umem.handle);
    }
    const wakeFlag = o.needWakeup ? XDP_USE_NEED_WAKEUP : 0;
    let bindFlags = wakeFlag | (o.zeroCopy === true ? XDP_ZEROCOPY : o.zeroCopy === false ? XDP_COPY : XDP_ZEROCOPY);
    const desc: XdpPortDescriptor = {
      ifname,
      ifindex: info.ifindex,
      mtu: info.mtu,
      slots: o.slots,
      queues,
      xsksFd: xsks,
      umemId: umem.id,
      frameSize: o.frameSize,
      ringSize: o.ringSize,
      fillSize: o.fillSize,
      bindFlags,
      batchSize: o.batchSize,
      txKick: o.txKick,
      kickCpus: o.kickCpus,
    };
    const unmap = (index: number): void => {
      try {
        n.mapDelete(xsks, u32Value(index));
      } catch {
        // the map is gone with the port
      }
    };
    if (o.openSlots.length > 0) {
      try {
        links = openSockets(n, umem.handle, view, desc, o.openSlots, unmap, o.zeroCopy === true);
      } catch (err) {
        // 'auto': the driver cannot do zero-copy, so copy mode
        if (o.zeroCopy === 'auto' && err instanceof XdpError && err.syscall === 'bind(AF_XDP)' && (err.code === 'EOPNOTSUPP' || err.code === 'EINVAL')) {
          bindFlags = wakeFlag | XDP_COPY;
          desc.bindFlags = bindFlags;
          links = openSockets(n, umem.handle, view, desc, o.openSlots, unmap, false);
        } else throw err;
      }
    } else if (o.zeroCopy === 'auto') {
      // sockets come later (workers): they bind in copy mode unless zero-copy was asked for
      desc.bindFlags = wakeFlag | XDP_COPY;
    }

    // attach last: until now every frame passed to the kernel as before
    const tryAttach = (flags: number): number => n.xdpAttach(info.ifindex, prog, flags);
    let mode: 'native' | 'skb' = o.mode === 'skb' ? 'skb' : 'native';
    try {
      linkFd = tryAttach(mode === 'skb' ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    } catch (err) {
      const e = nativeError(err);
      if (o.mode === 'auto' && (e.code === 'EOPNOTSUPP' || e.code === 'EINVAL')) {
        mode = 'skb';
        try {
          linkFd = tryAttach(XDP_FLAGS_SKB_MODE);
        } catch (err2) {
          const e2 = nativeError(err2);
          throw notSupported(ifname, `the kernel refused even generic XDP (${e2.code})`, e2.code, e2.errno, e2.syscall);
        }
      } else if (o.mode === 'native' && (e.code === 'EOPNOTSUPP' || e.code === 'EINVAL')) {
        const drv = info.driver ? `the driver (${info.driver})` : 'the device';
        throw notSupported(ifname, `${drv} has no native XDP; use mode 'auto' or 'skb' (generic XDP, slower)`, e.code, e.errno, e.syscall);
      } else if (e.code === 'EBUSY' || e.code === 'EEXIST') {
        throw new XdpError(
          `cannot open AF_XDP on ${ifname}: another XDP program is attached (one attached by \`ip link\` goes with \`ip link set dev ${ifname} xdp off\`; one held by a process through a BPF link, as another tunvsd's, goes when that process exits: \`ip link show dev ${ifname}\` shows its id)`,
          e.code,
          e.errno,
          e.syscall,
        );
      } else {
        throw fromNative(err, `attaching the XDP program to ${ifname}`);
      }
    }
    const programId = n.progId(prog);
    const port = new XdpPort(
      n,
      ifname,
      info.ifindex,
      info.mac,
      info.mtu,
      info.driver,
      o.slots,
      queues,
      mode,
      programId,
      steering,
      { prog, link: linkFd, xsks, ...maps },
      umem.handle,
      umem.id,
      view,
      desc,
    );
    port.adopt(links);
    return port;
  } catch (err) {
    for (const l of links) l.close();
    if (linkFd >= 0) n.closeFd(linkFd);
    for (const fd of fds) n.closeFd(fd);
    throw err;
  }
}

/**
 * Open the sockets of `slots` (one per queue each) on a port opened elsewhere in this
 * process, e.g. in a worker thread given `port.describe()`. The sockets share the port's
 * UMEM (the kernel wants one UMEM per queue for all sockets bound to it).
 */
export function openXdpSlots(desc: XdpPortDescriptor, slots: number[], opts: { batchSize?: number } = {}): XdpLink[] {
  const n = native();
  for (const s of slots) if (!Number.isInteger(s) || s < 0 || s >= desc.slots) throw new XdpError(`slot ${s} is not a slot of ${desc.ifname} (0..${desc.slots - 1})`, 'EINVAL', ERRNO.EINVAL, 'validate');
  const umem = call(`attaching to UMEM ${desc.umemId}`, () => n.umemAttach(desc.umemId));
  const view = n.umemView(umem);
  const d = { ...desc, batchSize: opts.batchSize ?? desc.batchSize };
  const unmap = (index: number): void => {
    try {
      n.mapDelete(desc.xsksFd, u32Value(index));
    } catch {
      // the port is closed
    }
  };
  return openSockets(n, umem, view, d, slots, unmap, (desc.bindFlags & XDP_ZEROCOPY) !== 0);
}
