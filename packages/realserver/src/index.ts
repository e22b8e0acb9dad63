export { openCapture, openTunDevice } from './io.js';
export type { TunHandle } from './io.js';
export { Decapsulator, DecapDrop, newDecapCounters, decapCountersSnapshot } from './decap.js';
export type { DecapCounters, DecapDropReason, DecapOptions, DecapResult } from './decap.js';
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
  captureFilter,
} from './system.js';
