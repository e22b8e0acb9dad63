/**
 * AF_PACKET Links: TPACKET_V2 memory-mapped RX and TX frame rings (a received frame is ours
 * as soon as it lands; TPACKET_V3's blocks made a quiet flow wait for their 1 ms timer), with
 * PACKET_QDISC_BYPASS and PACKET_FANOUT, and PACKET_VNET_HDR (GSO) on request. Works on any
 * kernel and any interface; unlike
 * AF_XDP it does not take frames from the kernel: the host's stack sees every frame too
 * (give the interface no address for the director's traffic, or drop it with an nftables
 * netdev ingress rule, which runs after packet sockets have their copy).
 */
import { VNET_HDR_LEN } from '@tunvs/link';
import { call, ERRNO, XdpError } from './errors.js';
import { validatePacketOptions } from './config.js';
import type { PacketOptions } from './config.js';
import type { NativeXdp, PktHandle } from './native.js';
import { native } from './native.js';
import { lookUpInterface, RingLink } from './ring-link.js';
import type { RingOps } from './ring-link.js';
import { PROG_TYPE_SOCKET_FILTER, steeringProgram } from './bpf/program.js';
import { createSteeringMaps, readProgramStats } from './steering.js';
import type { ProgramStats, SteeringMapFds, Steering } from './steering.js';

const L2_SLACK = 18;
/** TPACKET2_HDRLEN - sizeof(sockaddr_ll): where a TX frame's data starts */
const TX_DATA_OFF = 32;

/**
 * The TX ring's frame size and the longest frame a socket sends: an MTU-sized Ethernet
 * frame in 2 KiB frames; with a vnet header, a 64 KiB GSO frame (its header, Ethernet and
 * a VLAN tag included) in 128 KiB ones.
 */
function txGeometry(mtu: number, vnetHdr: boolean): { frameSize: number; maxFrame: number } {
  return vnetHdr ? { frameSize: 1 << 17, maxFrame: (1 << 17) - TX_DATA_OFF } : { frameSize: 2048, maxFrame: mtu + L2_SLACK };
}

/** the AF_PACKET calls of the addon, as RingLink runs them */
const packetOps = (n: NativeXdp): RingOps<PktHandle> => ({
  start: n.pktStart, stop: n.pktStop, ref: n.pktRef, read: n.pktRead,
  release: n.pktRelease, write: n.pktWrite, stats: n.pktStats, close: n.pktClose,
});

/** One AF_PACKET socket (a member of the fanout group when there are several). */
export class PacketLink extends RingLink<PktHandle> {
  /** The receiving socket's fd (the one polled). */
  get fd(): number {
    return this.sockFd;
  }

  /** The transmitting socket's fd (its TX ring; it receives nothing). */
  get txFd(): number {
    return this.txSockFd;
  }

  /** the slot, as the key of the program's per-socket counters (like XdpLink.index) */
  get index(): number {
    return this.slot;
  }
  /** frames the kernel dropped for this socket (RX blocks all in use), accumulated */
  private kernelDrops = 0;

  /** @internal use openPacket */
  constructor(
    name: string,
    mtu: number,
    /** the socket's place in the fanout group: the slot steering sends clients to */
    readonly slot: number,
    handle: PktHandle,
    view: Uint8Array,
    batchSize: number,
    private readonly sockFd = -1,
    vnetHdr = false,
    private readonly txSockFd = -1,
  ) {
    super(name, mtu, handle, packetOps(native()), view, batchSize, 16, vnetHdr ? VNET_HDR_LEN : 0);
  }

  protected get label(): string {
    return `packet socket ${this.slot} of ${this.name}`;
  }

  protected get source(): string {
    return this.name;
  }

  /** the kernel's drop count is reset by each read: add it up */
  protected override readStats(): Float64Array {
    const open = !this.isClosed;
    super.readStats();
    if (open) this.kernelDrops += this.stat[14]!;
    return this.stat;
  }

  /** frames the kernel could not put in the RX ring (every frame in use), and frames dropped cut (rxTruncated) */
  protected rxErrorCount(s: Float64Array): number {
    return this.kernelDrops + s[7]!;
  }

  /** Counters, including the kernel's drops (RX blocks all in use). */
  stats(): { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number; txDropped: number; txErrors: number; kernelDrops: number; rxTruncated: number; rxCopied: number } {
    const s = this.readStats();
    return { rxPackets: s[0]!, rxBytes: s[1]!, txPackets: s[3]!, txBytes: s[4]!, txDropped: s[5]!, txErrors: s[6]!, kernelDrops: this.kernelDrops, rxTruncated: s[7]!, rxCopied: s[15]! };
  }
}

/** What a worker thread needs to read some slots of a port opened in this process. */
export interface PacketPortDescriptor {
  ifname: string;
  ifindex: number;
  mtu: number;
  /** the receiving socket's fd of each slot */
  fds: number[];
  /** the transmitting socket's fd of each slot */
  txFds: number[];
  rxFrames: number;
  txFrames: number;
  batchSize: number;
  /** PACKET_VNET_HDR is on (frames start with a virtio_net_hdr) */
  vnetHdr: boolean;
}

/** The sockets of one interface (a fanout group when more than one). */
export class PacketPort {
  private closed = false;
  /** the sockets read in this thread (openSlots) */
  readonly links: PacketLink[];
  /** @internal use openPacket */
  constructor(
    private readonly n: NativeXdp,
    readonly ifname: string,
    readonly ifindex: number,
    readonly mac: Uint8Array,
    readonly mtu: number,
    /** every socket of the group, by slot (the ones not in `links` are read elsewhere) */
    private readonly all: PacketLink[],
    openSlots: number[],
    /** the steering maps (null without `steer`: every frame reaches the sockets) */
    readonly steering: Steering | null,
    private readonly fds: (SteeringMapFds & { filter: number; fanout: number }) | null,
    private readonly desc: PacketPortDescriptor,
  ) {
    this.links = openSlots.map((s) => all[s]!);
  }

  /** The number of sockets (slots). */
  get slots(): number {
    return this.all.length;
  }

  /** For worker threads: see openPacketSlots. */
  describe(): PacketPortDescriptor {
    return { ...this.desc, fds: [...this.desc.fds], txFds: [...this.desc.txFds] };
  }

  /** The filter program's counters (with `steer`): why frames were dropped or kept, per slot. */
  programStats(): ProgramStats | null {
    return this.fds ? readProgramStats(this.n, this.fds.stats, this.all.length, this.closed) : null;
  }

  /** Close every socket (also those read by workers: do it last) and the maps. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.all) l.close();
    if (this.fds) for (const fd of Object.values(this.fds)) if (fd >= 0) this.n.closeFd(fd);
  }
}

let fanoutIds = 0;

/** Open AF_PACKET sockets on an interface. */
export function openPacket(opts: PacketOptions): PacketPort {
  const o = validatePacketOptions(opts);
  const n: NativeXdp = native();
  const info = lookUpInterface(n, o.ifname, 'AF_PACKET');
  if (info.hwType !== 1)
    throw new XdpError(`AF_PACKET link not supported on ${o.ifname}: not an Ethernet device; the link carries Ethernet frames`, 'EOPNOTSUPP', ERRNO.EOPNOTSUPP, 'validate');
  const tx = txGeometry(info.mtu, o.vnetHdr);
  if (!o.vnetHdr && info.mtu + L2_SLACK > tx.frameSize - TX_DATA_OFF)
    throw new XdpError(`cannot open AF_PACKET on ${o.ifname}: MTU ${info.mtu} is larger than this link's frames allow (${tx.frameSize - TX_DATA_OFF - L2_SLACK}; with vnetHdr, 64 KiB)`, 'EMSGSIZE', ERRNO.EMSGSIZE, 'validate');
  // with steer: the maps, a socket filter (keep the director's frames) and a fanout program
  const made: number[] = [];
  let steering: Steering | null = null;
  let fds: (SteeringMapFds & { filter: number; fanout: number }) | null = null;
  const links: PacketLink[] = [];
  try {
    if (o.steer) {
      const m = createSteeringMaps(n, o.ifname, { maxEndpoints: o.maxEndpoints, hostAddresses: o.hostAddresses, steer: o.steer }, o.sockets, made);
      steering = m.steering;
      const load = (target: 'filter' | 'fanout'): number => {
        const prog = steeringProgram(o.sockets, { xsks: -1, ...m.fds }, target).assemble();
        const fd = call(`loading the ${target} program for ${o.ifname}`, () => n.progLoad(PROG_TYPE_SOCKET_FILTER, prog, `tunvs_${target}`, 'GPL'));
        made.push(fd);
        return fd;
      };
      fds = { ...m.fds, filter: load('filter'), fanout: o.sockets > 1 ? load('fanout') : -1 };
    }
    // PACKET_FANOUT: group id (16 bits, unique per process here) | mode << 16
    const group = (process.pid * 31 + ++fanoutIds) & 0xffff;
    const fanout = o.sockets > 1 ? (group | (o.fanout << 16)) >>> 0 : 0;
    for (let i = 0; i < o.sockets; i++) {
      const s = call(`opening AF_PACKET socket ${i} on ${o.ifname}`, () =>
        n.pktOpen(
          info.ifindex,
          o.rxFrames,
          tx.frameSize,
          o.txFrames,
          fanout,
          o.qdiscBypass,
          tx.maxFrame,
          fds ? fds.filter : -1,
          fds && i === 0 ? fds.fanout : -1,
          o.vnetHdr,
        ),
      );
      links.push(new PacketLink(o.ifname, info.mtu, i, s.handle, s.view, o.batchSize, s.fd, o.vnetHdr, s.txFd));
    }
  } catch (err) {
    for (const l of links) l.close();
    for (const fd of made) n.closeFd(fd);
    throw err;
  }
  const desc: PacketPortDescriptor = {
    ifname: o.ifname,
    ifindex: info.ifindex,
    mtu: info.mtu,
    fds: links.map((l) => l.fd),
    txFds: links.map((l) => l.txFd),
    rxFrames: o.rxFrames,
    txFrames: o.txFrames,
    batchSize: o.batchSize,
    vnetHdr: o.vnetHdr,
  };
  return new PacketPort(n, o.ifname, info.ifindex, info.mac, info.mtu, links, o.openSlots, steering, fds, desc);
}

/**
 * Read `slots` of a port opened elsewhere in this process (a worker thread given
 * `port.describe()`): each socket's rings are mapped again here; the opener keeps the
 * sockets (and closes them with the port).
 */
export function openPacketSlots(desc: PacketPortDescriptor, slots: number[], opts: { batchSize?: number } = {}): PacketLink[] {
  const n = native();
  const tx = txGeometry(desc.mtu, desc.vnetHdr);
  const links: PacketLink[] = [];
  for (const s of slots) {
    const fd = desc.fds[s];
    const txFd = desc.txFds[s];
    if (fd === undefined || txFd === undefined) throw new XdpError(`slot ${s} is not a slot of ${desc.ifname} (0..${desc.fds.length - 1})`, 'EINVAL', ERRNO.EINVAL, 'validate');
    const a = call(`attaching to AF_PACKET socket ${s} of ${desc.ifname}`, () =>
      n.pktAttach(fd, txFd, desc.rxFrames, tx.frameSize, desc.txFrames, tx.maxFrame, desc.vnetHdr),
    );
    links.push(new PacketLink(desc.ifname, desc.mtu, s, a.handle, a.view, opts.batchSize ?? desc.batchSize, fd, desc.vnetHdr, txFd));
  }
  return links;
}
