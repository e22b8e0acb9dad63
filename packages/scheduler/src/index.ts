export { newSchedPacket } from './contract.js';
export type { SchedPacket, SchedulerOptions, SchedulerInstance, SchedulerFactory } from './contract.js';
export { overhead, overheadWith, kernelExtra, sedOverhead, productGreater } from './overhead.js';
export { hash32, foldIPv6, bitLength, gcd, hsipKey, hsiphash32, hsiphashBytes } from './hash.js';
export type { HsipKey } from './hash.js';
export { leastWeightedConn, lblcOverloaded, eligible } from './rules.js';
export { seededRandom, randomBelow } from './random.js';
export { SchedulerRegistry, UnknownSchedulerError } from './registry.js';
