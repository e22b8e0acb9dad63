export { sedScheduler, SedScheduler } from './sed-scheduler.js';
