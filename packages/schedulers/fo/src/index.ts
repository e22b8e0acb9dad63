export { foScheduler, FoScheduler } from './fo-scheduler.js';
