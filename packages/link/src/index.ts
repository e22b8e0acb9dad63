export type { Link, LinkKind, PacketBatch, LinkCounters } from './link.js';
export { LINK_COUNTER_NAMES, newLinkCounters, allocBatch } from './link.js';
export { MemoryLink } from './memory-link.js';
export {
  VNET_HDR, VNET_HDR_LEN, VNET_HDR_MRG_LEN, VNET_F, VNET_GSO, readVnetHeader, writeVnetNone, vnetNeedsCsum, vnetIsGso, vnetGsoType, vnetGsoSize,
  vnetShiftStart,
} from './vnet.js';
export type { VnetHeader } from './vnet.js';
