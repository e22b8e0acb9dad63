import os from 'node:os';
import { readFileSync } from 'node:fs';
import { describeHugePages } from '@tunvs/daemon';
import { jitTuning } from '@tunvs/engine';

/** What every figure is measured on: printed with each report. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  kernel: string;
  node: string;
  memGiB: number;
  date: string;
  /** whether large allocations (connection tables) can be on transparent huge pages */
  hugePages?: string;
  /** the V8 flags the bench raised for the per-packet path (@tunvs/engine's tuneJit), [] for V8's defaults */
  jit?: string[];
}

export function machineInfo(): MachineInfo {
  let kernel = os.release();
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // keep os.release()
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    kernel,
    node: process.version,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
    hugePages: describeHugePages(),
    jit: jitTuning()?.flags ?? [],
  };
}
