export type { Link, LinkKind, PacketBatch, LinkCounters } from './link.js';
export { newLinkCounters, allocBatch } from './link.js';
export { MemoryLink } from './memory-link.js';
