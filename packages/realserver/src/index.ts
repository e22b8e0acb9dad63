export { openCapture, openTunDevice } from './io.js';
export type { TunHandle } from './io.js';
export { Decapsulator, DecapDrop, newDecapCounters } from './decap.js';
export type { DecapCounters, DecapDropReason, DecapOptions, DecapResult } from './decap.js';
export {
  parseIpv4,
  formatIpv4,
  parseMac,
  inetChecksum,
  ipv4Packet,
  fixIpv4Checksum,
  udpPacket,
  tcpSynPacket,
  ipipEncap,
  ethernetFrame,
} from './build.js';
export type { Ipv4Fields } from './build.js';
export {
  setSysctl,
  getSysctl,
  interfaceAddrs,
  linkUp,
  prepareTun,
  setupVip,
  nftTableName,
  nftRuleset,
  installNftRule,
  removeNftRule,
} from './system.js';
