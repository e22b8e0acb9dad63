export { shScheduler, ShScheduler, shHashKey, SH_TAB_BITS, SH_TAB_SIZE } from './sh-scheduler.js';
