export {
  mhScheduler,
  MhScheduler,
  mhHashKey,
  MH_PRIMES,
  MH_TAB_INDEX_DEFAULT,
  MH_KEY1,
  MH_KEY2,
} from './mh-scheduler.js';
