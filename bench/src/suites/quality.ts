/**
 * quality: how well each scheduler balances, simulated by the scheduler lab
 * (@tunvs/sched-lab, `tunvs-sched bench`). The suite runs the lab's first example scenario,
 * packages/sched-lab/examples/quality.json: servers of capacity 1x/2x/3x at 70% load from
 * 20,000 Zipf clients, a flash crowd of new clients to 200%, the 3x server failing and
 * returning, a fourth server joining; every built-in scheduler through the real
 * ServiceTable, scheduleFlow and ConnTable. Plus the dh/sh/mh disruption table.
 *
 *   npm run bench -- quality                     the scenario
 *   npm run bench -- quality --quick             half the time, a smaller disruption table
 *   npm run bench -- quality --scenario FILE     another scenario file
 *   npm run bench -- quality --trace TRACE       the scenario's servers, the trace's arrivals
 */
import { createRequire } from 'node:module';
import { loadScenario, loadTrace, mainTable, resolveScenario, runBench, scaleTime, tableMarkdown } from '@tunvs/sched-lab';
import type { Scenario } from '@tunvs/sched-lab';
import type { Suite } from '../suite.js';
import { log } from '../suite.js';

/** The scenario file the suite runs by default. */
export const QUALITY_SCENARIO = createRequire(import.meta.url).resolve('@tunvs/sched-lab/examples/quality.json');

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`quality ${name}: missing value`);
  return v;
}

/** The `quality` benchmark suite. */
export const suite: Suite = {
  name: 'quality',
  description: 'Scheduler quality (the scheduler lab): unequal simulated servers, Zipf/flash crowd/failure/add; balance, waits, rejections, flows moved, disruption',
  async run(opts) {
    const file = option(opts.args, '--scenario') ?? QUALITY_SCENARIO;
    const tracePath = option(opts.args, '--trace');
    let sc: Scenario = loadScenario(file);
    if (opts.quick) {
      const raw = scaleTime(sc.raw, 0.5);
      if (raw['disruption']) raw['disruption'] = { servers: [10, 100], keys: 20000 };
      sc = resolveScenario(raw, `${file} (--quick: times halved)`);
    }
    const trace = tracePath !== undefined ? loadTrace(tracePath) : undefined;
    const { report, timing } = await runBench(sc, { progress: !opts.json, label: 'quality: schedulers', ...(trace ? { trace } : {}) });
    log(tableMarkdown(mainTable(report)));
    for (const w of report.warnings) log(`warning: ${w}`);
    log(`quality: ${timing.connections.toLocaleString('en-US')} connections simulated in ${timing.seconds} s (${timing.connections_per_second.toLocaleString('en-US')}/s)`);
    return { ...report, timing } as unknown as Record<string, unknown>;
  },
};
