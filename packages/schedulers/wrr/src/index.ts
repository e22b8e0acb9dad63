export { wrrScheduler, WrrScheduler } from './wrr-scheduler.js';
