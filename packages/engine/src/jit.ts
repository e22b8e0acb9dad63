/**
 * V8's inlining budgets, raised for the Director's per-packet path, and type feedback
 * kept from every function's first call.
 *
 * A frame goes through one chain of calls: processBatch -> receive -> parse -> flow ->
 * lookup -> packet (state, timer) -> forwarder -> rewrite -> transmit queue. TurboFan
 * inlines callees into an optimised function only while their bytecode adds up to less
 * than --max-inlined-bytecode-size-cumulative (920 bytes by default), and never a callee
 * larger than --max-inlined-bytecode-size (460). The chain is several times that, so with
 * V8's defaults a frame costs a dozen real calls, each of which passes its state through
 * memory and checks its arguments' maps again. With the budgets below the chain compiles
 * into a few large functions. The fastpath bench measures the difference
 * (`npm run bench -- fastpath --no-jit-tuning` for V8's defaults).
 *
 * The flags belong to the process (every isolate, worker threads included) and are read
 * when a function is optimised, so setting them at start, before the first frames, is
 * enough. The daemon does it when it starts and the benches before they run; an
 * application that embeds the Director calls `tuneJit()` first, or gives node the flags.
 * Flags given on node's command line are left as they are.
 *
 * Type feedback from the first call (--no-lazy-feedback-allocation). By default V8 gives a
 * function the vector where its call sites record the maps and types they meet only
 * after its first calls: what those calls saw is forgotten. A director's first frames are
 * those calls, and some kinds of frame come only then: the ARP replies that resolve the
 * real servers at start, the first flow of each service. When one of them comes again
 * after the path was optimised without it, the optimised code deoptimises and is compiled
 * again with all it inlines, 100-200 ms of CPU on the director's own core, in the middle
 * of traffic. V8's log of a bench's tunvsd showed three: the first ARP reply after ~31 s
 * (the neighbour refresh; `parse` and `receive` recompiled), the first UDP flow after the
 * warm-up's one (`services.find`), and the first SYN of the `sh` service after the
 * warm-up's two ("wrong map" at `svc.sched.schedule`; `newFlow` recompiled). With the
 * flag the same run shows none.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flags `tuneJit` sets. */
export const JIT_FLAGS: readonly string[] = [
  '--max-inlined-bytecode-size=1000',
  '--max-inlined-bytecode-size-cumulative=8000',
  '--max-inlined-bytecode-size-absolute=10000',
  '--no-lazy-feedback-allocation',
];

/** A flag's name without its value and its `no-`: `--no-a_b` and `--a-b=1` are both `a-b`. */
const flagName = (f: string): string => f.replace(/_/g, '-').replace(/^--(no-)?/, '').split('=')[0]!;

/** The environment variable that keeps V8's defaults: `TUNVS_JIT=default` (`tuned`, or unset: tune). */
export const JIT_ENV = 'TUNVS_JIT';

/** What `tuneJit` did, for the log. */
export interface JitTuning {
  /** the flags in effect that differ from V8's defaults ([] when none) */
  flags: string[];
  /** why: "tuned for the per-packet path", "TUNVS_JIT=default", "given on node's command line" */
  source: string;
}

let done: JitTuning | null = null;

/**
 * Raise V8's inlining budgets and keep feedback from first calls (JIT_FLAGS), once per
 * process, unless the environment says `TUNVS_JIT=default` or node was started with any of
 * these flags (then its command line decides). Throws on another value of TUNVS_JIT,
 * naming it.
 */
export function tuneJit(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): JitTuning {
  if (done !== null) return done;
  const v = env[JIT_ENV];
  if (v !== undefined && v !== '' && v !== 'tuned' && v !== 'default') {
    throw new Error(`${JIT_ENV} must be 'tuned' or 'default', not '${v}'`);
  }
  const names = JIT_FLAGS.map(flagName);
  const given = execArgv.filter((a) => names.includes(flagName(a)));
  if (given.length > 0) done = { flags: given, source: "given on node's command line" };
  else if (v === 'default') done = { flags: [], source: `${JIT_ENV}=default` };
  else {
    for (const f of JIT_FLAGS) setFlagsFromString(f);
    done = { flags: [...JIT_FLAGS], source: 'tuned for the per-packet path' };
  }
  return done;
}

/** What `tuneJit` did in this process, or null when it has not been called. */
export function jitTuning(): JitTuning | null {
  return done;
}
