export { ovfScheduler, OvfScheduler } from './ovf-scheduler.js';
