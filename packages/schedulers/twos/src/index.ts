export { twosScheduler, TwosScheduler } from './twos-scheduler.js';
