export { dhScheduler, DhScheduler, DH_TAB_BITS, DH_TAB_SIZE } from './dh-scheduler.js';
