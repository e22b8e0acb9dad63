/**
 * V8's inlining budgets, raised for the Director's per-packet path.
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
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flags `tuneJit` sets. */
export const JIT_FLAGS: readonly string[] = [
  '--max-inlined-bytecode-size=1000',
  '--max-inlined-bytecode-size-cumulative=8000',
  '--max-inlined-bytecode-size-absolute=10000',
];

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
 * Raise V8's inlining budgets (JIT_FLAGS), once per process, unless the environment says
 * `TUNVS_JIT=default` or node was started with any of these flags (then its command line
 * decides). Throws on another value of TUNVS_JIT, naming it.
 */
export function tuneJit(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): JitTuning {
  if (done !== null) return done;
  const v = env[JIT_ENV];
  if (v !== undefined && v !== '' && v !== 'tuned' && v !== 'default') {
    throw new Error(`${JIT_ENV} must be 'tuned' or 'default', not '${v}'`);
  }
  const names = JIT_FLAGS.map((f) => f.slice(0, f.indexOf('=')));
  // V8 takes --a_b for --a-b
  const given = execArgv.filter((a) => names.includes(a.replace(/_/g, '-').split('=')[0]!));
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
