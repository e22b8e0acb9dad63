export { nqScheduler, NqScheduler } from './nq-scheduler.js';
