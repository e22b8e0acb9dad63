/**
 * The Link lifecycle AF_XDP and AF_PACKET sockets share (a batch pointing into memory
 * shared with the kernel, read from the event loop or polled, paused, written, counted by
 * the addon), run over the native calls of one socket kind.
 */
import type { Link, LinkCounters, PacketBatch } from '@tunvs/link';
import { call, ERRNO, fromNative, nativeError, XdpError } from './errors.js';
import type { NativeIfInfo, NativeXdp } from './native.js';

/** Look up the interface a port opens on (`family` names the socket kind in the message). */
export function lookUpInterface(n: NativeXdp, ifname: string, family: 'AF_XDP' | 'AF_PACKET'): NativeIfInfo {
  try {
    return n.ifInfo(ifname);
  } catch (err) {
    const e = nativeError(err);
    if (e.code === 'ENODEV') throw new XdpError(`cannot open ${family} on ${ifname}: no such interface in this network namespace`, e.code, e.errno, e.syscall);
    throw fromNative(err, `looking up ${ifname}`);
  }
}

/** The native calls on one socket handle that a RingLink runs on (the addon ignores `this`). */
export interface RingOps<H> {
  start(h: H, offsets: Uint32Array, lengths: Uint32Array, cb: (count: number) => void): void;
  stop(h: H): void;
  ref(h: H, on: boolean): void;
  read(h: H, offsets: Uint32Array, lengths: Uint32Array): number;
  release(h: H): void;
  write(h: H, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  stats(h: H, out: Float64Array): void;
  close(h: H): void;
}

/** LinkCounters read from the addon when asked (the first seven stats are the same for both kinds) */
class RingCounters implements LinkCounters {
  constructor(
    private readonly read: () => Float64Array,
    private readonly errors: (s: Float64Array) => number,
  ) {}
  get rxPackets(): number { return this.read()[0]!; }
  get rxBytes(): number { return this.read()[1]!; }
  get rxBatches(): number { return this.read()[2]!; }
  get txPackets(): number { return this.read()[3]!; }
  get txBytes(): number { return this.read()[4]!; }
  get txDropped(): number { return this.read()[5]!; }
  get txErrors(): number { return this.read()[6]!; }
  get rxErrors(): number { return this.errors(this.read()); }
}

/** A socket whose frames live in shared rings: the Link lifecycle over `RingOps`. */
export abstract class RingLink<H> implements Link {
  readonly kind = 'tap' as const;
  readonly counters: LinkCounters;
  /** the receive batch (valid during onBatch, or until the next readBatch/release) */
  readonly batch: PacketBatch;
  protected readonly stat: Float64Array;
  private handler: ((batch: PacketBatch) => void) | null = null;
  private reading = false;
  private closed = false;

  protected constructor(
    readonly name: string,
    readonly mtu: number,
    protected readonly handle: H,
    private readonly ops: RingOps<H>,
    view: Uint8Array,
    batchSize: number,
    statLength: number,
    /** bytes of virtio_net_hdr in front of every frame (AF_PACKET with PACKET_VNET_HDR), else 0 */
    readonly vnetHdrLen = 0,
  ) {
    this.batch = { buf: view, offsets: new Uint32Array(batchSize), lengths: new Uint32Array(batchSize), count: 0 };
    this.stat = new Float64Array(statLength);
    this.counters = new RingCounters(
      () => this.readStats(),
      (st) => this.rxErrorCount(st),
    );
  }

  /** names this socket in messages: "socket 3 of eth0" */
  protected abstract get label(): string;
  /** what is being read, for a failed start: "eth0 queue 0" */
  protected abstract get source(): string;
  /** LinkCounters.rxErrors from the fresh stats array */
  protected abstract rxErrorCount(s: Float64Array): number;

  /** The addon's counters, fresh (the last ones once closed). */
  protected readStats(): Float64Array {
    if (!this.closed) this.ops.stats(this.handle, this.stat);
    return this.stat;
  }

  private readonly onNative = (count: number): void => {
    const b = this.batch;
    b.count = count;
    this.handler?.(b);
    b.count = 0;
  };

  /** Set the receive handler and start reading (one call per batch, from the event loop). */
  onBatch(handler: (batch: PacketBatch) => void): void {
    if (this.closed) throw new XdpError(`${this.label} is closed`, 'EBADF', ERRNO.EBADF, 'read');
    this.handler = handler;
    if (!this.reading) this.startReading();
  }

  private startReading(): void {
    const b = this.batch;
    call(`reading ${this.source}`, () => this.ops.start(this.handle, b.offsets, b.lengths, this.onNative));
    this.reading = true;
  }

  /**
   * The pull form, for a busy-polling worker: give back the previous batch's frames and
   * take what the ring holds now (no wait; `count` may be 0). The batch is valid until the
   * next readBatch or release.
   */
  readBatch(): PacketBatch {
    const b = this.batch;
    b.count = this.closed ? 0 : this.ops.read(this.handle, b.offsets, b.lengths);
    return b;
  }

  /** Give back the frames of the last readBatch. */
  release(): void {
    this.batch.count = 0;
    if (!this.closed) this.ops.release(this.handle);
  }

  /** Stop reading (the handler stays; `resume` starts again). */
  pause(): void {
    if (this.closed || !this.reading) return;
    this.ops.stop(this.handle);
    this.reading = false;
  }

  resume(): void {
    if (this.closed || this.reading || !this.handler) return;
    this.startReading();
  }

  /** Whether a reading socket keeps the process alive (default true). */
  ref(on = true): void {
    if (!this.closed) this.ops.ref(this.handle, on);
  }

  writeBatch(batch: PacketBatch): number {
    if (batch.count === 0) return 0;
    return this.ops.write(this.handle, batch.buf, batch.offsets, batch.lengths, batch.count);
  }

  /** Send one frame (convenience for control traffic; allocates). Returns whether it was queued. */
  send(frame: Uint8Array): boolean {
    return this.writeBatch({ buf: frame, offsets: Uint32Array.of(0), lengths: Uint32Array.of(frame.length), count: 1 }) === 1;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs once, before the socket closes (e.g. take it out of a map). */
  protected onClosing(): void {}

  /** Stop reading and close the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
    this.handler = null;
    this.onClosing();
    this.ops.close(this.handle);
  }
}
