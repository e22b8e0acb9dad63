export { Packet } from './contract.js';
export type { Forwarder, ForwarderOp, LinkFacts, Xmit, XmitCounters } from './contract.js';
export { nextHop, ttlStep, mtuStep, mtuFits } from './steps.js';
