export { TunTapLink, TunTapDevice, openTun, openTap, openRawFd, closeRawFd } from './tuntap-link.js';
export type { TunTapOptions, TapOptions } from './tuntap-link.js';
export { TunTapError, ERRNO, hintFor } from './errors.js';
export {
  setMtu,
  getMtu,
  setUp,
  isUp,
  setAddress,
  setMac,
  getMac,
  ifIndex,
  checkIfName,
  parseCidr,
  parseMac,
} from './config.js';
export {
  VNET_HDR,
  VNET_HDR_LEN,
  VNET_HDR_MRG_LEN,
  VNET_F,
  VNET_GSO,
  TUN_F,
  DEFAULT_OFFLOADS,
  readVnetHeader,
  writeVnetNone,
} from './vnet.js';
export type { VnetHeader } from './vnet.js';
