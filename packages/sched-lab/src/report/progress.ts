/**
 * Progress bars for long runs (cli-progress on stderr), shared by `tunvs-sched bench` and
 * `npm run bench`. Off when stderr is not a terminal or when the caller turns them off
 * (`--json`, `--no-progress`), so that logs and machine-read output stay clean.
 */
import cliProgress from 'cli-progress';

let enabled = process.stderr.isTTY === true;

/** Turn progress bars on or off for the whole run (main.ts: off with --json). */
export function setProgressEnabled(on: boolean): void {
  enabled = on && process.stderr.isTTY === true;
}

/** One phase's progress: `tick` advances it, `stop` clears the bar. */
export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

const NOOP: Progress = { tick: () => {}, stop: () => {} };

/** Start a progress bar labelled `label` that counts to `total` (a no-op when disabled). */
export function progress(label: string, total: number): Progress {
  if (!enabled || total <= 0) return NOOP;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(28)} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let done = 0;
  return {
    tick(n = 1): void {
      done += n;
      bar.update(Math.min(done, total));
    },
    stop(): void {
      bar.stop();
    },
  };
}
