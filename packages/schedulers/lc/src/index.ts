export { lcScheduler, LcScheduler } from './lc-scheduler.js';
