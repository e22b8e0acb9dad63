// The SVG charts live in @tunvs/sched-lab (the scheduler lab draws the same charts).
export { barChart, lineChart, esc } from '@tunvs/sched-lab';
export type { Series } from '@tunvs/sched-lab';
