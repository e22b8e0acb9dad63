// The pre-pass gate: when it probes, and what the probes decide (no clock: times are given).
import t from 'tap';
import { PrefetchGate, PROBE_EVERY, PROBE_MIN_FRAMES } from '@tunvs/engine';

/** Run batches of `frames` until the gate asks for a probe; returns how many it took. */
function untilProbe(g: PrefetchGate, frames: number, max = 10 * PROBE_EVERY): number {
  for (let i = 1; i <= max; i++) if (g.probe(frames) !== 0) return i;
  return -1;
}

t.test('a probe pair (with, then without the pass) every PROBE_EVERY large batches; small batches are never probes', async (t) => {
  const g = new PrefetchGate();
  t.equal(g.on, true, 'on until probes say otherwise');
  for (let i = 0; i < 10 * PROBE_EVERY; i++) t.equal(g.probe(PROBE_MIN_FRAMES - 1), 0);
  t.equal(untilProbe(g, PROBE_MIN_FRAMES), PROBE_EVERY, 'the first probe after PROBE_EVERY large batches');
  // the first of the pair ran with the pass: a small batch in between does not take the second's place
  t.equal(g.probe(1), 0);
  t.equal(g.probe(256), 2, 'then the same without');
  t.equal(untilProbe(g, 256), PROBE_EVERY, 'and again PROBE_EVERY large batches later');
});

t.test('the cheaper way per frame wins, and the gate follows the traffic when it changes', async (t) => {
  const g = new PrefetchGate();
  const pair = (withNs: number, withoutNs: number, frames = 256): void => {
    untilProbe(g, frames);
    g.record(1, withNs * frames, frames);
    t.equal(g.probe(frames), 2);
    g.record(2, withoutNs * frames, frames);
  };
  // a table far larger than the cache: the pass saves more than it costs
  pair(170, 210);
  t.equal(g.on, true);
  t.equal(g.probes, 1);
  // a hot working set: without the pass is cheaper; the averages move over a few probes
  let flips = 0;
  for (let i = 0; i < 20 && g.on; i++, flips++) pair(105, 96);
  t.equal(g.on, false, 'off once the probes agree that it costs');
  t.ok(flips >= 1 && flips <= 10, `after ${flips} probe pairs (moving averages, not the last probe alone)`);
  // and back when the working set outgrows the cache
  for (let i = 0; i < 20 && !g.on; i++) pair(170, 210);
  t.equal(g.on, true, 'on again');
  // a probe that measured nothing (a zero-time batch, a clock step) changes nothing
  const before = [g.nsWith, g.nsWithout];
  g.record(1, 0, 256);
  g.record(2, -5, 256);
  t.same([g.nsWith, g.nsWithout], before);
});
