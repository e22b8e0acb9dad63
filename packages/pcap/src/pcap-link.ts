/**
 * A Link over libpcap (the `cap` package): attach to an existing interface (a veth, a NIC),
 * capture what passes it (optionally through a BPF filter) and inject frames.
 *
 * cap calls back once per packet into one Buffer; PcapLink copies each packet into its
 * receive slab and delivers everything that arrived within one event-loop turn as one batch
 * (flushed from `setImmediate`, which runs right after the poll phase that delivered them).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Link, LinkCounters, LinkKind, PacketBatch } from '@tunvs/link';
import { allocBatch, newLinkCounters } from '@tunvs/link';

/** Options of `openPcap`. */
export interface PcapOptions {
  /** interface to attach to, e.g. 'veth0' */
  iface: string;
  /** BPF filter in pcap-filter(7) syntax; '' captures everything */
  filter?: string;
  /**
   * only frames the interface received, not those this host sent: frames whose source MAC is
   * the interface's own are skipped (Ethernet only). Done in JS because libpcap's `inbound`
   * qualifier was seen to lose the first packet of a flow here.
   */
  inboundOnly?: boolean;
  /** libpcap's kernel buffer in bytes (default 4 MiB) */
  bufferSize?: number;
  /** packets per batch at most (default 256) */
  batchSize?: number;
}

/** An error opening or using a capture, with an errno-like `code`. */
export class PcapError extends Error {
  /** 'EPERM' (needs CAP_NET_RAW), 'ENODEV' (no such interface), 'EINVAL' (bad filter), 'EIO', 'EMSGSIZE' */
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.name = 'PcapError';
    this.code = code;
  }
}

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  send(buffer: Buffer, nBytes?: number): void;
  on(event: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(event?: string): void;
}

interface CapModule {
  Cap: new () => CapInstance;
}

function loadCap(): CapModule {
  const require = createRequire(import.meta.url);
  return require('cap') as CapModule;
}

/** Classify a libpcap error message into a code. */
export function pcapErrorCode(msg: string): string {
  if (/permission|not permitted|EPERM/i.test(msg)) return 'EPERM';
  if (/no such device|doesn't exist|ENODEV|ENXIO/i.test(msg)) return 'ENODEV';
  if (/syntax error|illegal|unknown|parse/i.test(msg)) return 'EINVAL';
  if (/too long|message too long|EMSGSIZE/i.test(msg)) return 'EMSGSIZE';
  if (/network is down|ENETDOWN/i.test(msg)) return 'ENETDOWN';
  return 'EIO';
}

/**
 * `cap`'s open leaves its libpcap handle set when activation fails (no such device, no
 * permission) without having set up its libuv poll handle; the object's destructor, run
 * when the garbage collector takes it, then stops that uninitialised poll handle and the
 * process dies (SIGSEGV or abort: 200 failed opens and a gc() crashed node three times in
 * three, and a CI run's pcap test once at exit). Such an object is never to be collected:
 * it is kept here for the life of the process (an object and a libpcap handle per failed
 * open).
 */
const halfOpen: unknown[] = [];

function readSys(iface: string, file: string): string | null {
  try {
    return readFileSync(`/sys/class/net/${iface}/${file}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Copy src[off, off+len) to the start of dst without allocating a view. */
function copyBytes(src: Uint8Array, off: number, len: number, dst: Buffer): void {
  // Buffer.prototype.copy works on any Uint8Array as source
  Buffer.prototype.copy.call(src, dst, 0, off, off + len);
}

const SNAP = 65535;
const ETH_SLACK = 18;

/** A Link on an existing interface through libpcap. */
export class PcapLink implements Link {
  readonly kind: LinkKind;
  readonly name: string;
  readonly mtu: number;
  readonly vnetHdrLen = 0;
  readonly counters: LinkCounters = newLinkCounters();
  /** the interface's MAC from sysfs (6 zero bytes when unknown), e.g. for building frames */
  readonly mac: Uint8Array;
  /** libpcap's link type: 'ETHERNET', 'RAW', ... */
  readonly linkType: string;
  /** packets cut short because they were longer than the capture buffer */
  truncated = 0;
  private readonly cap: CapInstance;
  private readonly pkt: Buffer = Buffer.alloc(SNAP);
  private readonly tx: Buffer = Buffer.alloc(SNAP);
  private readonly rx: PacketBatch;
  private used = 0;
  private handler: ((batch: PacketBatch) => void) | null = null;
  private flushScheduled = false;
  private closed = false;
  private readonly inboundOnly: boolean;
  /** frames skipped by `inboundOnly` (sent by this host) */
  skippedOutbound = 0;
  /** the last send error (null when none) */
  lastTxError: PcapError | null = null;

  constructor(opts: PcapOptions) {
    const iface = opts.iface;
    if (typeof iface !== 'string' || iface.length === 0 || Buffer.byteLength(iface) > 15)
      throw new PcapError(`invalid interface name "${String(iface)}" (1..15 bytes)`, 'EINVAL');
    this.name = iface;
    const filter = opts.filter ?? '';
    const { Cap } = loadCap();
    this.cap = new Cap();
    let linkType: string;
    try {
      linkType = this.cap.open(iface, filter, opts.bufferSize ?? 4 * 1024 * 1024, this.pkt);
    } catch (err) {
      halfOpen.push(this.cap);
      const msg = err instanceof Error ? err.message : String(err);
      const code = pcapErrorCode(msg);
      const hint = code === 'EPERM' ? ' (needs CAP_NET_RAW)' : '';
      throw new PcapError(`pcap open on ${iface} failed: ${msg}${hint}`, code);
    }
    this.linkType = linkType;
    if (linkType === 'ETHERNET') this.kind = 'tap';
    else if (linkType === 'RAW') this.kind = 'tun';
    else {
      this.cap.close();
      throw new PcapError(`unsupported link type ${linkType} on ${iface} (need Ethernet or raw IP)`, 'EINVAL');
    }
    this.mtu = Number(readSys(iface, 'mtu') ?? 1500) || 1500;
    this.mac = new Uint8Array(6);
    const addr = readSys(iface, 'address');
    if (addr && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(addr)) {
      const parts = addr.split(':');
      for (let i = 0; i < 6; i++) this.mac[i] = parseInt(parts[i]!, 16);
    }
    this.inboundOnly = opts.inboundOnly === true && this.kind === 'tap';
    const batchSize = opts.batchSize ?? 256;
    const per = (this.mtu + ETH_SLACK + 7) & ~7;
    this.rx = allocBatch(batchSize, batchSize * per + SNAP);
    this.cap.on('packet', this.onPacket);
  }

  /** cap's per-packet callback: copy into the slab, flush at the end of the loop turn. */
  private readonly onPacket = (nbytes: number, truncated: boolean): void => {
    if (this.closed || !this.handler) return;
    if (truncated) this.truncated++;
    if (this.inboundOnly && nbytes >= 14) {
      const p = this.pkt;
      const m = this.mac;
      if (p[6] === m[0] && p[7] === m[1] && p[8] === m[2] && p[9] === m[3] && p[10] === m[4] && p[11] === m[5]) {
        this.skippedOutbound++;
        return;
      }
    }
    const b = this.rx;
    if (b.count >= b.offsets.length || b.buf.length - this.used < nbytes) this.flush();
    this.pkt.copy(b.buf, this.used, 0, nbytes);
    b.offsets[b.count] = this.used;
    b.lengths[b.count] = nbytes;
    b.count++;
    this.used += (nbytes + 7) & ~7;
    this.counters.rxPackets++;
    this.counters.rxBytes += nbytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushLater);
    }
  };

  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    const b = this.rx;
    if (b.count === 0) return;
    this.counters.rxBatches++;
    try {
      if (this.handler) this.handler(b);
    } finally {
      b.count = 0;
      this.used = 0;
    }
  }

  onBatch(handler: (batch: PacketBatch) => void): void {
    if (this.closed) throw new PcapError(`pcap link on ${this.name} is closed`, 'EBADF');
    this.handler = handler;
  }

  writeBatch(batch: PacketBatch): number {
    let written = 0;
    const c = this.counters;
    const max = this.mtu + (this.kind === 'tap' ? ETH_SLACK : 0);
    for (let i = 0; i < batch.count; i++) {
      const len = batch.lengths[i]!;
      const off = batch.offsets[i]!;
      if (this.closed) {
        c.txDropped++;
        continue;
      }
      if (len === 0 || off + len > batch.buf.length) {
        c.txErrors++;
        this.lastTxError = new PcapError('a packet lies outside the batch buffer (bad offset or length)', 'EFAULT');
        continue;
      }
      if (len > max) {
        c.txErrors++;
        this.lastTxError = new PcapError(`frame of ${len} bytes is larger than the MTU ${this.mtu} plus the link header`, 'EMSGSIZE');
        continue;
      }
      // cap.send wants a Buffer starting at the packet: copy into the preallocated one
      copyBytes(batch.buf, off, len, this.tx);
      try {
        this.cap.send(this.tx, len);
        written++;
        c.txPackets++;
        c.txBytes += len;
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        const code = pcapErrorCode(msg);
        if (code === 'EIO' && /resource temporarily|no buffer space/i.test(msg)) c.txDropped++;
        else c.txErrors++;
        this.lastTxError = new PcapError(`pcap send on ${this.name} failed: ${msg}`, code);
      }
    }
    return written;
  }

  /** Inject one frame; throws a PcapError when it is not sent (convenience, allocates). */
  send(frame: Uint8Array): void {
    if (this.closed) throw new PcapError(`pcap link on ${this.name} is closed`, 'EBADF');
    const before = this.counters.txPackets;
    this.writeBatch({ buf: frame, offsets: new Uint32Array([0]), lengths: new Uint32Array([frame.length]), count: 1 });
    if (this.counters.txPackets === before) throw this.lastTxError ?? new PcapError(`pcap link on ${this.name} is closed`, 'EBADF');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.cap.removeAllListeners('packet');
    this.cap.close();
  }
}

/** Attach a PcapLink to an existing interface. */
export function openPcap(opts: PcapOptions): PcapLink {
  return new PcapLink(opts);
}
