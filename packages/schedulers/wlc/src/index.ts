export { wlcScheduler, WlcScheduler } from './wlc-scheduler.js';
