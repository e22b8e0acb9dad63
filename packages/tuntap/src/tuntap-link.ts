/**
 * TUN/TAP devices and their queues as Links. `openTun`/`openTap` open a device (creating it
 * if missing) with one or more queues; each queue is a `TunTapLink` (a `Link` of
 * @tunvs/link) with its own fd, its own receive slab and its own counters.
 */
import type { Link, LinkCounters, LinkKind, PacketBatch } from '@tunvs/link';
import { allocBatch, newLinkCounters } from '@tunvs/link';
import { call, ERRNO, TunTapError } from './errors.js';
import { checkIfName, getMac, getMtu, parseCidr, parseMac, setAddress, setMac, setMtu, setUp } from './config.js';
import type { QueueHandle } from './native.js';
import { native } from './native.js';
import { DEFAULT_OFFLOADS, VNET_HDR_LEN, VNET_HDR_MRG_LEN } from './vnet.js';

/** Options shared by `openTun` and `openTap`. */
export interface TunTapOptions {
  /** interface name (max 15 bytes); '' or absent lets the kernel pick tunN/tapN */
  name?: string;
  /** number of queues (IFF_MULTI_QUEUE when > 1); default 1 */
  queues?: number;
  /** force IFF_MULTI_QUEUE even with one queue (to match an existing multi-queue device) */
  multiQueue?: boolean;
  /** prefix packets with a virtio_net_hdr: true = 10 bytes, or 10 / 12; default off */
  vnetHdr?: boolean | 10 | 12;
  /** TUNSETOFFLOAD flags (TUN_F.*) with a vnet header; default DEFAULT_OFFLOADS; false = none */
  offloads?: number | false;
  /** TUNSETPERSIST: keep the device after the last fd closes; absent = leave as is */
  persist?: boolean;
  /** set the MTU (SIOCSIFMTU) */
  mtu?: number;
  /** set an IPv4 address with prefix, e.g. '10.0.0.1/24' */
  address?: string;
  /** bring the interface up (default true) */
  up?: boolean;
  /** packets per receive batch (default 64) */
  batchSize?: number;
}

/** Options of `openTap`: the TUN options plus the kernel side's MAC. */
export interface TapOptions extends TunTapOptions {
  /** set the interface's hardware address (SIOCSIFHWADDR), e.g. '02:00:00:00:00:01' */
  mac?: string | Uint8Array;
}

function errnoName(e: number): string {
  for (const [k, v] of Object.entries(ERRNO)) if (v === e) return k;
  return `errno ${e}`;
}

const ETH_SLACK = 18; // Ethernet header + one VLAN tag
const GSO_MAX = 65535;

/** One queue of a TUN/TAP device: a Link with its own fd. */
export class TunTapLink implements Link {
  readonly counters: LinkCounters = newLinkCounters();
  private handler: ((batch: PacketBatch) => void) | null = null;
  private errorHandler: ((err: TunTapError) => void) | null = null;
  private readonly rx: PacketBatch;
  private readonly stat = new Float64Array(5);
  private readonly maxRead: number;
  private reading = false;
  private closed = false;
  private lastTxErrno = 0;
  private lastTxLen = 0;
  private lastRxErrno = 0;
  private currentMtu: number;
  private readonly handle: QueueHandle;

  /** @internal use openTun/openTap */
  constructor(
    readonly kind: LinkKind,
    readonly name: string,
    mtu: number,
    readonly vnetHdrLen: number,
    /** index of this queue in its device */
    readonly queue: number,
    /** offload flags the kernel accepted (TUN_F.*), 0 without vnet header */
    readonly offloads: number,
    fd: number,
    batchSize: number,
  ) {
    this.currentMtu = mtu;
    const l2w = kind === 'tap' ? ETH_SLACK : 0;
    this.handle = native().createQueue(fd, vnetHdrLen, vnetHdrLen + mtu + l2w, vnetHdrLen + GSO_MAX + l2w, this.onNative);
    const gso = vnetHdrLen > 0 && offloads !== 0;
    const l2 = kind === 'tap' ? ETH_SLACK : 0;
    this.maxRead = vnetHdrLen + (gso ? GSO_MAX + l2 : Math.max(mtu, 1500) + ETH_SLACK);
    const per = (vnetHdrLen + mtu + ETH_SLACK + 7) & ~7;
    this.rx = allocBatch(batchSize, batchSize * per + this.maxRead);
  }

  /** Largest packet the link carries (IP packet on TUN, Ethernet payload on TAP). */
  get mtu(): number {
    return this.currentMtu;
  }

  /** The fd of this queue (-1 once closed). */
  get fd(): number {
    return native().queueFd(this.handle);
  }

  /** The native callback: one call per batch drained from the fd. */
  private readonly onNative = (count: number, bytes: number, errors: number, errno: number): void => {
    const c = this.counters;
    if (errors > 0) {
      c.rxErrors += errors;
      this.lastRxErrno = errno;
      if (count === 0) {
        // the addon stopped polling: the fd is broken (device deleted?)
        this.reading = false;
        if (this.errorHandler) this.errorHandler(this.rxError());
        return;
      }
    }
    if (count === 0 || !this.handler) return;
    c.rxPackets += count;
    c.rxBytes += bytes;
    c.rxBatches++;
    const b = this.rx;
    b.count = count;
    this.handler(b);
    b.count = 0;
  };

  onBatch(handler: (batch: PacketBatch) => void): void {
    if (this.closed) throw new TunTapError(`queue ${this.queue} of ${this.name} is closed`, 'EBADF', ERRNO.EBADF, 'read');
    this.handler = handler;
    if (!this.reading) this.startReading();
  }

  /** Called when reading stops on an error (the fd is unusable); optional. */
  onError(handler: (err: TunTapError) => void): void {
    this.errorHandler = handler;
  }

  private startReading(): void {
    const b = this.rx;
    call(`reading ${this.name}`, () => native().startReading(this.handle, b.buf, b.offsets, b.lengths, this.maxRead));
    this.reading = true;
  }

  /** Stop reading (the handler stays set; `resume` starts again). */
  pause(): void {
    if (this.closed || !this.reading) return;
    native().stopReading(this.handle);
    this.reading = false;
  }

  /** Start reading again after `pause` (or after a read error). */
  resume(): void {
    if (this.closed || this.reading || !this.handler) return;
    this.startReading();
  }

  /** Whether a reading queue keeps the process alive (default true), like `socket.ref()`. */
  ref(on = true): void {
    if (!this.closed) native().setRef(this.handle, on);
  }

  writeBatch(batch: PacketBatch): number {
    if (batch.count === 0) return 0;
    const s = this.stat;
    const n = native().writeBatch(this.handle, batch.buf, batch.offsets, batch.lengths, batch.count, s);
    const c = this.counters;
    c.txPackets += n;
    c.txBytes += s[0]!;
    c.txDropped += s[1]!;
    if (s[2]! > 0) {
      c.txErrors += s[2]!;
      this.lastTxErrno = s[3]!;
      this.lastTxLen = s[4]!;
    }
    return n;
  }

  /** Write one packet; throws a TunTapError when it is not written (convenience, allocates). */
  send(pkt: Uint8Array): void {
    if (this.closed) throw new TunTapError(`queue ${this.queue} of ${this.name} is closed`, 'EBADF', ERRNO.EBADF, 'write');
    const b: PacketBatch = { buf: pkt, offsets: new Uint32Array([0]), lengths: new Uint32Array([pkt.length]), count: 1 };
    const errs = this.counters.txErrors;
    const drops = this.counters.txDropped;
    if (this.writeBatch(b) === 1) return;
    if (this.counters.txErrors > errs) throw this.lastTxError!;
    if (this.counters.txDropped > drops)
      throw new TunTapError(`the kernel queue of ${this.name} is full (packet dropped)`, 'EAGAIN', ERRNO.EAGAIN, 'write');
    throw new TunTapError(`queue ${this.queue} of ${this.name} is closed`, 'EBADF', ERRNO.EBADF, 'write');
  }

  /** The last write error as a TunTapError (null when none); built on demand. */
  get lastTxError(): TunTapError | null {
    const e = this.lastTxErrno;
    if (e === 0) return null;
    if (e === ERRNO.EMSGSIZE) {
      const payload = this.lastTxLen - this.vnetHdrLen;
      const msg =
        this.kind === 'tun'
          ? `packet of ${payload} bytes is larger than the MTU ${this.currentMtu}`
          : `frame of ${payload} bytes is larger than the MTU ${this.currentMtu} plus the Ethernet header`;
      return new TunTapError(msg, 'EMSGSIZE', e, 'write');
    }
    if (e === ERRNO.EFAULT)
      return new TunTapError('a packet lies outside the batch buffer (bad offset or length)', 'EFAULT', e, 'write');
    const code = errnoName(e);
    const why = e === ERRNO.EIO ? ', the interface is down' : e === ERRNO.EINVAL ? ', malformed packet or vnet header' : '';
    return new TunTapError(`write failed: ${code} (packet of ${this.lastTxLen} bytes on ${this.name}${why})`, code, e, 'write');
  }

  private rxError(): TunTapError {
    const e = this.lastRxErrno;
    const code = errnoName(e);
    return new TunTapError(`read failed: ${code} on ${this.name} (reading stopped)`, code, e, 'read');
  }

  /** @internal new MTU after `TunTapDevice.setMtu` */
  updateMtu(mtu: number): void {
    this.currentMtu = mtu;
    const l2 = this.kind === 'tap' ? ETH_SLACK : 0;
    if (!this.closed) native().setMaxWrite(this.handle, this.vnetHdrLen + mtu + l2);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
    this.handler = null;
    native().closeQueue(this.handle);
  }
}

/** An open TUN or TAP device: its queues (one Link each) and configuration helpers. */
export class TunTapDevice {
  /** @internal use openTun/openTap */
  constructor(
    readonly kind: LinkKind,
    readonly name: string,
    readonly vnetHdrLen: number,
    readonly offloads: number,
    /** one Link per queue; queues[0] always exists */
    readonly queues: TunTapLink[],
  ) {}

  /** The first (often only) queue. */
  get link(): TunTapLink {
    return this.queues[0]!;
  }

  /** The MTU the links were told about. */
  get mtu(): number {
    return this.link.mtu;
  }

  /** The kernel side's MAC (TAP); use a different one for the program on the fd side when bridged. */
  get mac(): Uint8Array {
    return getMac(this.name);
  }

  /** Set the MTU (ioctl) and tell the queues. */
  setMtu(mtu: number): void {
    setMtu(this.name, mtu);
    for (const q of this.queues) q.updateMtu(mtu);
  }

  /** Bring the interface up or down. */
  setUp(up: boolean): void {
    setUp(this.name, up);
  }

  /** Set the IPv4 address, e.g. '10.0.0.1/24'. */
  setAddress(cidr: string): void {
    setAddress(this.name, cidr);
  }

  /** Keep (or not) the device after the last fd closes. */
  setPersist(on: boolean): void {
    const fd = this.link.fd;
    call(`TUNSETPERSIST on ${this.name}`, () => native().setPersist(fd, on));
  }

  /** Close every queue (a non-persistent device disappears). Idempotent. */
  close(): void {
    for (const q of this.queues) q.close();
  }
}

function vnetLen(v: TunTapOptions['vnetHdr']): number {
  if (v === undefined || v === false) return 0;
  if (v === true || v === VNET_HDR_LEN) return VNET_HDR_LEN;
  if (v === VNET_HDR_MRG_LEN) return VNET_HDR_MRG_LEN;
  throw new TunTapError(`vnetHdr must be true, 10 or 12 (got ${String(v)})`, 'EINVAL', ERRNO.EINVAL, 'validate');
}

function open(kind: LinkKind, opts: TapOptions): TunTapDevice {
  const want = opts.name ?? '';
  checkIfName(want, true);
  const queues = opts.queues ?? 1;
  if (!Number.isInteger(queues) || queues < 1 || queues > 256)
    throw new TunTapError(`queues must be 1..256 (got ${queues})`, 'EINVAL', ERRNO.EINVAL, 'validate');
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new TunTapError(`batchSize must be a positive integer (got ${batchSize})`, 'EINVAL', ERRNO.EINVAL, 'validate');
  // validate the configuration before touching the kernel
  if (opts.address !== undefined) parseCidr(opts.address);
  const mac = opts.mac === undefined ? undefined : typeof opts.mac === 'string' ? parseMac(opts.mac) : opts.mac;
  if (mac && kind !== 'tap') throw new TunTapError('a MAC address only applies to TAP devices', 'EINVAL', ERRNO.EINVAL, 'validate');
  const vnet = vnetLen(opts.vnetHdr);
  const offloadReq = vnet === 0 ? -1 : opts.offloads === false ? 0 : (opts.offloads ?? DEFAULT_OFFLOADS);
  const mq = queues > 1 || opts.multiQueue === true;
  const label = `${kind === 'tun' ? 'TUN' : 'TAP'} device ${want || '(unnamed)'}`;
  const n = native();

  const opened: { fd: number; name: string; offloads: number }[] = [];
  const links: TunTapLink[] = [];
  try {
    let name = want;
    for (let i = 0; i < queues; i++) {
      const q = call(`opening ${label}${queues > 1 ? ` queue ${i}` : ''}`, () =>
        n.openQueue(name, kind === 'tap', mq, vnet, offloadReq, true),
      );
      opened.push(q);
      name = q.name;
    }
    const first = opened[0]!;
    if (opts.persist !== undefined) {
      const on = opts.persist;
      call(`TUNSETPERSIST on ${name}`, () => n.setPersist(first.fd, on));
    }
    if (opts.mtu !== undefined) setMtu(name, opts.mtu);
    if (mac) setMac(name, mac);
    if (opts.address !== undefined) setAddress(name, opts.address);
    if (opts.up ?? true) setUp(name, true);
    const mtu = getMtu(name);
    for (let i = 0; i < opened.length; i++) {
      const q = opened[i]!;
      links.push(new TunTapLink(kind, name, mtu, vnet, i, q.offloads, q.fd, batchSize));
    }
    return new TunTapDevice(kind, name, vnet, first.offloads, links);
  } catch (err) {
    for (const l of links) l.close();
    for (let i = links.length; i < opened.length; i++) n.closeFd(opened[i]!.fd);
    throw err;
  }
}

/** Open (creating if missing) a TUN device: IP packets, IFF_NO_PI. */
export function openTun(opts: TunTapOptions = {}): TunTapDevice {
  return open('tun', opts);
}

/** Open (creating if missing) a TAP device: Ethernet frames, IFF_NO_PI. */
export function openTap(opts: TapOptions = {}): TunTapDevice {
  return open('tap', opts);
}

/**
 * Open one raw queue fd without the event-loop machinery (for benchmarks and for reading
 * through other means, e.g. `fs.read` on a blocking fd). Close it with `closeRawFd`.
 */
export function openRawFd(
  kind: LinkKind,
  name: string,
  opts: { blocking?: boolean; vnetHdr?: boolean | 10 | 12; multiQueue?: boolean } = {},
): { fd: number; name: string } {
  checkIfName(name, true);
  const vnet = vnetLen(opts.vnetHdr);
  const q = call(`opening ${kind.toUpperCase()} device ${name}`, () =>
    native().openQueue(name, kind === 'tap', opts.multiQueue === true, vnet, vnet ? DEFAULT_OFFLOADS : -1, !opts.blocking),
  );
  return { fd: q.fd, name: q.name };
}

/** Close an fd from `openRawFd`. */
export function closeRawFd(fd: number): void {
  native().closeFd(fd);
}
