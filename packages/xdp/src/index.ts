export { XdpError, ERRNO, hintFor } from './errors.js';
export { Asm, encode, decode, Op, BPF_PSEUDO_MAP_FD, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, FP } from './bpf/asm.js';
export type { Insn, Reg } from './bpf/asm.js';
export { steeringProgram, MapType, Helper, XdpAction, PROG_TYPE_XDP, PROG_TYPE_SOCKET_FILTER, FILTER_KEEP } from './bpf/program.js';
export type { SteeringMaps, ProgramTarget } from './bpf/program.js';
export {
  AddrFlag,
  EndpointFlag,
  Stat,
  STAT_NAMES,
  PROTO,
  VRRP_PROTO,
  clientHash,
  clientPrefix,
  slotOf,
  socketIndex,
  endpointKey,
  addrKey,
  u32Value,
} from './steer.js';
export type { ProtoName } from './steer.js';
export { openXdp, openXdpSlots, XdpLink, XdpPort, XDP_HEADROOM } from './xdp-link.js';
export type { XdpSocketStats, XdpProgramStats, XdpPortDescriptor } from './xdp-link.js';
export { openPacket, openPacketSlots, PacketLink, PacketPort } from './packet-link.js';
export type { PacketPortDescriptor } from './packet-link.js';
export { Steering, endpointId } from './steering.js';
export type { ProgramStats } from './steering.js';
export { validateXdpOptions, validatePacketOptions, parseSteering, parseEndpoint, framesNeeded, FANOUT_MODE } from './config.js';
export type {
  XdpOptions,
  ResolvedXdpOptions,
  PacketOptions,
  ResolvedPacketOptions,
  EndpointSpec,
  SteeringSpec,
  ResolvedSteering,
  Endpoint,
} from './config.js';
