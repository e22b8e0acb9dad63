/**
 * Fixtures shared by the schedulers' tests (subpath `@tunvs/scheduler/testing`): build a
 * service from destination specs, run a scheduler repeatedly, and describe random specs.
 * Not used by any scheduler.
 */
import { Dest, DestFlag, Service } from '@tunvs/model';
import type { KernelMode } from '@tunvs/model';
import type { SchedPacket, SchedulerInstance } from './contract.js';
import { newSchedPacket } from './contract.js';

/** A destination as tests describe it: weight, active and inactive counts, overloaded. */
export interface DestSpecForTest {
  w: number;
  a?: number;
  i?: number;
  over?: boolean;
}

/**
 * A service whose list order is `specs`' order (index 0 = head); addresses 10.0.0.1, .2,
 * ...; `kernel` selects the kernel generation of its rules (default classic).
 */
export function svcOf(specs: DestSpecForTest[], kernel: KernelMode = 'classic'): { svc: Service; ds: Dest[] } {
  const svc = new Service({ kernel });
  const ds = specs.map((s, k) => {
    const d = new Dest(0x0a000001 + k, 80, { weight: s.w });
    d.activeConns = s.a ?? 0;
    d.inactConns = s.i ?? 0;
    if (s.over) d.flags |= DestFlag.OVERLOAD;
    return d;
  });
  for (let k = ds.length - 1; k >= 0; k--) svc.insertDest(ds[k]!);
  return { svc, ds };
}

/**
 * Schedule `k` times, each pick opening one connection that stays active; returns the
 * picks as letters of `names` (by list position), "-" ending the string on a null.
 */
export function activeRun(inst: SchedulerInstance, svc: Service, names: string, k: number, pkt: SchedPacket = newSchedPacket()): string {
  let out = '';
  for (let j = 0; j < k; j++) {
    const d = inst.schedule(svc, pkt);
    if (!d) return out + '-';
    d.activeConns++;
    out += names[svc.dests.indexOf(d)];
  }
  return out;
}

/** The subset of fast-check these fixtures use (passed in, so that fast-check stays a test dependency). */
interface FcLike {
  array(arb: never, c: { minLength: number; maxLength: number }): unknown;
  record(r: Record<string, unknown>): unknown;
  integer(c: { min: number; max: number }): unknown;
  boolean(): unknown;
}

/** An arbitrary of 0..10 random destination specs: `destSpecsArb(fc) as fc.Arbitrary<DestSpecForTest[]>`. */
export function destSpecsArb(fc: FcLike): unknown {
  return fc.array(
    fc.record({
      w: fc.integer({ min: 0, max: 10 }),
      a: fc.integer({ min: 0, max: 50 }),
      i: fc.integer({ min: 0, max: 300 }),
      over: fc.boolean(),
    }) as never,
    { minLength: 0, maxLength: 10 },
  );
}
