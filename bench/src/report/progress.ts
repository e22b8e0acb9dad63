// Progress bars live in @tunvs/sched-lab (the scheduler lab shows the same bars).
export { progress, setProgressEnabled } from '@tunvs/sched-lab';
export type { Progress } from '@tunvs/sched-lab';
