export { rrScheduler, RrScheduler } from './rr-scheduler.js';
