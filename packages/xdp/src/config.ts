/**
 * Options of the AF_XDP and AF_PACKET links and their validation: pure functions, no
 * syscalls, so a bad option is refused (naming the option) before anything touches the
 * kernel.
 */
import { parseIpv4 } from '@tunvs/packet';
import { invalid } from './errors.js';
import { PROTO, VRRP_PROTO } from './steer.js';
import type { ProtoName } from './steer.js';

/** A virtual service or real server the program steers by. */
export interface EndpointSpec {
  /** IPv4 address, "10.0.0.1" or a host-order number */
  addr: string | number;
  /** 'tcp' | 'udp' | 'sctp' | 'icmp' or an IP protocol number */
  proto: ProtoName | number;
  /** port; 0 (default) matches every port of the address. Protocol 112 (VRRP): the VRID (1..255), 0 = every VRID */
  port?: number;
  /** hash the client's address only (persistent services): both directions still agree */
  addrOnly?: boolean;
  /**
   * with addrOnly: hash only the first `prefix` bits of the client's address (0..32, default
   * 32), so that the clients of one persistence netmask (ipvsadm -M) share a slot
   */
  prefix?: number;
}

/** What the XDP program takes from the interface (the rest passes to the kernel). */
export interface SteeringSpec {
  /** virtual services: packets to them are steered by their source (the client) */
  vips?: EndpointSpec[];
  /** real servers: packets from them (NAT replies) are steered by their destination */
  reals?: EndpointSpec[];
  /** addresses whose ARP requests/replies go to the director (slot 0 of the queue) */
  arp?: (string | number)[];
  /** more host addresses (frames to them pass unless a service matches) */
  host?: (string | number)[];
}

/** Options of `openXdp`. */
export interface XdpOptions {
  /** the interface (max 15 bytes), in the calling thread's network namespace */
  ifname: string;
  /** RX queues to bind: 'all' (default) or queue ids */
  queues?: 'all' | number[];
  /** sockets per queue: the program spreads clients over them (one per worker); default 1 */
  slots?: number;
  /** open the sockets of these slots in this thread (default: every slot); [] opens none */
  openSlots?: number[];
  /** XDP attach mode: 'auto' (native, else generic), 'native' (driver hook) or 'skb' */
  mode?: 'auto' | 'native' | 'skb';
  /** zero-copy: 'auto' (when the driver can), true (required), false (copy mode) */
  zeroCopy?: 'auto' | boolean;
  /** RX and TX ring entries per socket (power of two, 64..16384); default 2048 */
  ringSize?: number;
  /** fill and completion ring entries per queue (power of two); default 2 x ringSize */
  fillSize?: number;
  /** UMEM frame size: 2048 (default) or 4096 */
  frameSize?: 2048 | 4096;
  /** UMEM frames; default enough for every ring */
  frames?: number;
  /** packets per receive batch (one JS call each); default 64 */
  batchSize?: number;
  /**
   * who tells the kernel to send (the sendto kick after each write): 'inline' (the
   * writing thread, default) or 'thread' (a native thread per socket, woken through a
   * futex when it sleeps; the kernel's transmit work then runs beside JS)
   */
  txKick?: 'inline' | 'thread';
  /** the CPUs the kick threads may run on (default: those of the process) */
  kickCpus?: number[];
  /** bind with XDP_USE_NEED_WAKEUP: kick only when the kernel asks for it (default true) */
  needWakeup?: boolean;
  /** what the program steers (more later through `port.steering`) */
  steer?: SteeringSpec;
  /** mark the interface's own IPv4 addresses as host addresses (default true) */
  hostAddresses?: boolean;
  /** capacity of the vips and reals maps (each); default 4096 */
  maxEndpoints?: number;
  /** share the UMEM of another port (a packet received there goes out here without a copy) */
  shareUmemWith?: { readonly umemId: number };
}

/** The options after validation, with defaults filled in. */
export interface ResolvedXdpOptions {
  ifname: string;
  queues: 'all' | number[];
  slots: number;
  openSlots: number[];
  mode: 'auto' | 'native' | 'skb';
  zeroCopy: 'auto' | boolean;
  ringSize: number;
  fillSize: number;
  frameSize: number;
  frames: number | null;
  batchSize: number;
  txKick: 'inline' | 'thread';
  kickCpus: number[];
  needWakeup: boolean;
  steer: ResolvedSteering;
  hostAddresses: boolean;
  maxEndpoints: number;
  shareUmemId: number | null;
}

/** A validated endpoint: numbers only. */
export interface Endpoint {
  addr: number;
  proto: number;
  port: number;
  addrOnly: boolean;
  /** client address bits hashed when addrOnly (32: the whole address) */
  prefix: number;
}

export interface ResolvedSteering {
  vips: Endpoint[];
  reals: Endpoint[];
  arp: number[];
  host: number[];
}

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Check an interface name (1..15 bytes, no '/', ':' or spaces). */
export function checkIfName(name: unknown, option = 'ifname'): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid(`${option} must be a non-empty string`);
  const bytes = Buffer.byteLength(name);
  if (bytes > 15) throw invalid(`${option} "${name}" is too long (${bytes} bytes, max 15)`);
  if (/[/\s:]/.test(name)) throw invalid(`${option} "${name}" contains '/', ':' or a space`);
  return name;
}

/** An IPv4 address option as a host-order number. */
export function parseAddr(v: unknown, option: string): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw invalid(`${option}: ${v} is not an IPv4 address`);
    return v >>> 0;
  }
  if (typeof v !== 'string') throw invalid(`${option} must be an IPv4 address`);
  try {
    return parseIpv4(v);
  } catch {
    throw invalid(`${option}: "${v}" is not an IPv4 address`);
  }
}

/** A protocol option as a number. */
export function parseProto(v: unknown, option: string): number {
  if (typeof v === 'string' && v in PROTO) return PROTO[v as ProtoName];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  throw invalid(`${option}: "${String(v)}" is not a protocol (tcp, udp, sctp, icmp or 0..255)`);
}

/** Validate an endpoint spec. */
export function parseEndpoint(e: unknown, option: string): Endpoint {
  if (!e || typeof e !== 'object') throw invalid(`${option} must be an object { addr, proto, port? }`);
  const s = e as EndpointSpec;
  const addr = parseAddr(s.addr, `${option}.addr`);
  const proto = parseProto(s.proto, `${option}.proto`);
  const port = s.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`${option}.port must be 0..65535 (got ${String(port)})`);
  if (proto === VRRP_PROTO) {
    if (port > 255) throw invalid(`${option}.port must be 0..255 for protocol 112 (VRRP: the port is the VRID, 0 = every VRID; got ${port})`);
  } else if ((proto === PROTO.icmp || ![PROTO.tcp, PROTO.udp, PROTO.sctp].includes(proto as 6)) && port !== 0)
    throw invalid(`${option}.port must be 0 for protocol ${proto} (only TCP, UDP and SCTP have ports; VRRP's is its VRID)`);
  const addrOnly = s.addrOnly === true;
  const prefix = s.prefix ?? 32;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw invalid(`${option}.prefix must be 0..32 (got ${String(prefix)})`);
  if (prefix < 32 && !addrOnly) throw invalid(`${option}.prefix needs addrOnly (only a client's address is masked; with its port every client hashes alone)`);
  return { addr, proto, port, addrOnly, prefix };
}

/** Validate a steering spec. */
export function parseSteering(s: SteeringSpec | undefined, option = 'steer'): ResolvedSteering {
  const out: ResolvedSteering = { vips: [], reals: [], arp: [], host: [] };
  if (s === undefined) return out;
  if (!s || typeof s !== 'object') throw invalid(`${option} must be an object`);
  for (const k of Object.keys(s)) if (!['vips', 'reals', 'arp', 'host'].includes(k)) throw invalid(`${option}.${k} is not an option (vips, reals, arp, host)`);
  const list = <T>(v: T[] | undefined, name: string): T[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw invalid(`${option}.${name} must be an array`);
    return v;
  };
  list(s.vips, 'vips').forEach((e, i) => out.vips.push(parseEndpoint(e, `${option}.vips[${i}]`)));
  list(s.reals, 'reals').forEach((e, i) => out.reals.push(parseEndpoint(e, `${option}.reals[${i}]`)));
  list(s.arp, 'arp').forEach((a, i) => out.arp.push(parseAddr(a, `${option}.arp[${i}]`)));
  list(s.host, 'host').forEach((a, i) => out.host.push(parseAddr(a, `${option}.host[${i}]`)));
  return out;
}

const XDP_KEYS = new Set([
  'ifname',
  'queues',
  'slots',
  'openSlots',
  'mode',
  'zeroCopy',
  'ringSize',
  'fillSize',
  'frameSize',
  'frames',
  'batchSize',
  'txKick',
  'kickCpus',
  'needWakeup',
  'steer',
  'hostAddresses',
  'maxEndpoints',
  'shareUmemWith',
]);

/** Validate `openXdp` options; throws XdpError (code EINVAL) naming the option. */
export function validateXdpOptions(o: XdpOptions): ResolvedXdpOptions {
  if (!o || typeof o !== 'object') throw invalid('options must be an object with at least { ifname }');
  for (const k of Object.keys(o)) if (!XDP_KEYS.has(k)) throw invalid(`unknown option "${k}"`);
  const ifname = checkIfName(o.ifname);
  let queues: 'all' | number[] = 'all';
  if (o.queues !== undefined && o.queues !== 'all') {
    if (!Array.isArray(o.queues) || o.queues.length === 0) throw invalid(`queues must be 'all' or a non-empty array of queue ids`);
    for (const q of o.queues) if (!Number.isInteger(q) || q < 0 || q > 1023) throw invalid(`queues: ${String(q)} is not a queue id (0..1023)`);
    if (new Set(o.queues).size !== o.queues.length) throw invalid('queues: a queue is listed twice');
    queues = [...o.queues].sort((a, b) => a - b);
  }
  const slots = o.slots ?? 1;
  if (!Number.isInteger(slots) || slots < 1 || slots > 64) throw invalid(`slots must be 1..64 (got ${String(slots)})`);
  let openSlots = Array.from({ length: slots }, (_, i) => i);
  if (o.openSlots !== undefined) {
    if (!Array.isArray(o.openSlots)) throw invalid('openSlots must be an array of slot numbers');
    for (const s of o.openSlots) if (!Number.isInteger(s) || s < 0 || s >= slots) throw invalid(`openSlots: ${String(s)} is not a slot (0..${slots - 1})`);
    openSlots = [...new Set(o.openSlots)].sort((a, b) => a - b);
  }
  const mode = o.mode ?? 'auto';
  if (!['auto', 'native', 'skb'].includes(mode)) throw invalid(`mode must be 'auto', 'native' or 'skb' (got ${String(mode)})`);
  const zeroCopy = o.zeroCopy ?? 'auto';
  if (zeroCopy !== 'auto' && zeroCopy !== true && zeroCopy !== false) throw invalid(`zeroCopy must be 'auto', true or false`);
  const ringSize = o.ringSize ?? 2048;
  if (!isPow2(ringSize) || ringSize < 64 || ringSize > 16384) throw invalid(`ringSize must be a power of two from 64 to 16384 (got ${String(ringSize)})`);
  const fillSize = o.fillSize ?? ringSize * 2;
  if (!isPow2(fillSize) || fillSize < 64 || fillSize > 32768) throw invalid(`fillSize must be a power of two from 64 to 32768 (got ${String(fillSize)})`);
  const frameSize = o.frameSize ?? 2048;
  if (frameSize !== 2048 && frameSize !== 4096) throw invalid(`frameSize must be 2048 or 4096 (got ${String(frameSize)})`);
  let frames: number | null = null;
  if (o.frames !== undefined) {
    if (!Number.isInteger(o.frames) || o.frames < 64 || o.frames * frameSize > 2 ** 32)
      throw invalid(`frames must be an integer from 64, and frames x frameSize at most 4 GiB (got ${String(o.frames)})`);
    frames = o.frames;
  }
  const batchSize = o.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > ringSize) throw invalid(`batchSize must be 1..ringSize (${ringSize}) (got ${String(batchSize)})`);
  const txKick = o.txKick ?? 'inline';
  if (txKick !== 'inline' && txKick !== 'thread') throw invalid(`txKick must be 'inline' or 'thread' (got ${String(txKick)})`);
  const kickCpus = o.kickCpus ?? [];
  if (!Array.isArray(kickCpus) || kickCpus.some((c) => !Number.isInteger(c) || c < 0 || c > 1023)) throw invalid('kickCpus must be an array of CPU numbers (0..1023)');
  if (kickCpus.length > 0 && txKick !== 'thread') throw invalid("kickCpus needs txKick 'thread'");
  const needWakeup = o.needWakeup ?? true;
  if (typeof needWakeup !== 'boolean') throw invalid(`needWakeup must be true or false (got ${String(needWakeup)})`);
  const maxEndpoints = o.maxEndpoints ?? 4096;
  if (!Number.isInteger(maxEndpoints) || maxEndpoints < 1 || maxEndpoints > 1 << 20) throw invalid(`maxEndpoints must be 1..1048576`);
  const steer = parseSteering(o.steer);
  let shareUmemId: number | null = null;
  if (o.shareUmemWith !== undefined) {
    const id = (o.shareUmemWith as { umemId?: unknown } | null)?.umemId;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw invalid('shareUmemWith must be an open XdpPort (or its descriptor)');
    shareUmemId = id;
  }
  return {
    ifname,
    queues,
    slots,
    openSlots,
    mode,
    zeroCopy,
    ringSize,
    fillSize,
    frameSize,
    frames,
    batchSize,
    txKick,
    kickCpus: [...new Set(kickCpus)],
    needWakeup,
    steer,
    hostAddresses: o.hostAddresses ?? true,
    maxEndpoints,
    shareUmemId,
  };
}

/**
 * Frames a UMEM needs so that no ring starves: every queue's fill ring full, every
 * socket's RX and TX rings full, and the completion rings.
 */
export function framesNeeded(queues: number, slots: number, ringSize: number, fillSize: number): number {
  return queues * (2 * fillSize + slots * 2 * ringSize);
}

/** Options of `openPacket` (AF_PACKET). */
export interface PacketOptions {
  ifname: string;
  /** sockets in a PACKET_FANOUT group (default 1: no fanout); with `steer`, the slots */
  sockets?: number;
  /**
   * What the sockets take, as for openXdp: a socket filter keeps only these frames, and
   * with several sockets a PACKET_FANOUT_EBPF program sends each to the slot of its client
   * (both directions of a NAT flow to the same socket). Without it every frame of the
   * interface reaches the sockets, spread by `fanout`.
   */
  steer?: SteeringSpec;
  /** with `steer`: the interface's own addresses are host addresses (default true) */
  hostAddresses?: boolean;
  /** with `steer`: capacity of the vips and reals maps; default 4096 */
  maxEndpoints?: number;
  /**
   * the slots read in this thread (default all). The others are opened here too (the
   * fanout group numbers its sockets in the order they join) for openPacketSlots in
   * worker threads; [] reads none here.
   */
  openSlots?: number[];
  /** fanout mode without `steer`: 'hash' (the kernel's flow hash, default), 'cpu', 'lb', 'qm', 'rollover' */
  fanout?: 'hash' | 'cpu' | 'lb' | 'qm' | 'rollover';
  /**
   * RX ring frames (TPACKET_V2, 2048 bytes each: a frame is ours as soon as it lands; a
   * longer one is read whole from the socket's copy); default 2048
   */
  rxFrames?: number;
  /** TX frames (each 2048 bytes, 128 KiB with `vnetHdr`); default 2048 (128 with `vnetHdr`) */
  txFrames?: number;
  /** PACKET_QDISC_BYPASS: frames go straight to the driver (default true) */
  qdiscBypass?: boolean;
  /** packets per receive batch; default 64 */
  batchSize?: number;
  /**
   * PACKET_VNET_HDR (default false): every frame, received and sent, starts with a
   * virtio_net_hdr (`Link.vnetHdrLen` 10). The kernel then hands over GSO super-packets (up
   * to 64 KiB, one per TSO/GRO burst of the sender) and partial checksums as they are, and
   * takes them back the same way: bulk TCP crosses the link in 64 KiB frames, not 1500-byte
   * ones. A frame longer than a 2 KiB RX frame is read whole from the socket's copy.
   */
  vnetHdr?: boolean;
}

export interface ResolvedPacketOptions {
  ifname: string;
  sockets: number;
  fanout: number;
  steer: ResolvedSteering | null;
  hostAddresses: boolean;
  maxEndpoints: number;
  openSlots: number[];
  rxFrames: number;
  txFrames: number;
  qdiscBypass: boolean;
  batchSize: number;
  vnetHdr: boolean;
}

/** PACKET_FANOUT_* modes (ebpf: our steering program). */
export const FANOUT_MODE = { hash: 0, lb: 1, cpu: 2, rollover: 3, qm: 5, ebpf: 7 } as const;

const PACKET_KEYS = new Set([
  'ifname',
  'sockets',
  'openSlots',
  'steer',
  'hostAddresses',
  'maxEndpoints',
  'fanout',
  'rxFrames',
  'txFrames',
  'qdiscBypass',
  'batchSize',
  'vnetHdr',
]);

/** Validate `openPacket` options. */
export function validatePacketOptions(o: PacketOptions): ResolvedPacketOptions {
  if (!o || typeof o !== 'object') throw invalid('options must be an object with at least { ifname }');
  for (const k of Object.keys(o)) if (!PACKET_KEYS.has(k)) throw invalid(`unknown option "${k}"`);
  const ifname = checkIfName(o.ifname);
  const sockets = o.sockets ?? 1;
  if (!Number.isInteger(sockets) || sockets < 1 || sockets > 64) throw invalid(`sockets must be 1..64 (got ${String(sockets)})`);
  let openSlots = Array.from({ length: sockets }, (_, i) => i);
  if (o.openSlots !== undefined) {
    if (!Array.isArray(o.openSlots)) throw invalid('openSlots must be an array of slot numbers');
    for (const s of o.openSlots) if (!Number.isInteger(s) || s < 0 || s >= sockets) throw invalid(`openSlots: ${String(s)} is not a slot (0..${sockets - 1})`);
    openSlots = [...new Set(o.openSlots)].sort((a, b) => a - b);
  }
  const fanoutName = o.fanout ?? 'hash';
  if (!(fanoutName in FANOUT_MODE) || (fanoutName as string) === 'ebpf') throw invalid(`fanout must be one of hash, lb, cpu, rollover, qm`);
  const steer = o.steer === undefined ? null : parseSteering(o.steer);
  if (steer && o.fanout !== undefined) throw invalid('fanout and steer exclude each other: with steer the sockets are chosen by client');
  const maxEndpoints = o.maxEndpoints ?? 4096;
  if (!Number.isInteger(maxEndpoints) || maxEndpoints < 1 || maxEndpoints > 1 << 20) throw invalid(`maxEndpoints must be 1..1048576`);
  const rxFrames = o.rxFrames ?? 2048;
  if (!Number.isInteger(rxFrames) || rxFrames < 16 || rxFrames > 1 << 20) throw invalid(`rxFrames must be 16..1048576 (got ${String(rxFrames)})`);
  if (o.vnetHdr !== undefined && typeof o.vnetHdr !== 'boolean') throw invalid(`vnetHdr must be true or false (got ${String(o.vnetHdr)})`);
  const vnetHdr = o.vnetHdr ?? false;
  const txFrames = o.txFrames ?? (vnetHdr ? 128 : 2048);
  if (!Number.isInteger(txFrames) || txFrames < 16 || txFrames > 1 << 20) throw invalid(`txFrames must be 16..1048576`);
  const batchSize = o.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 4096) throw invalid(`batchSize must be 1..4096`);
  return {
    ifname,
    sockets,
    fanout: steer ? FANOUT_MODE.ebpf : FANOUT_MODE[fanoutName as keyof typeof FANOUT_MODE],
    steer,
    hostAddresses: o.hostAddresses ?? true,
    maxEndpoints,
    openSlots,
    rxFrames,
    txFrames,
    qdiscBypass: o.qdiscBypass ?? true,
    batchSize,
    vnetHdr,
  };
}
