/**
 * The workload generators draw the distributions they claim: for a fixed seed, the sample
 * mean and variance of every family are within tolerance of the theoretical ones; Poisson
 * arrivals have the rate (and the variance of a Poisson count) over time, the rate curve and
 * bursts; Zipf popularity has the claimed exponent; the persistent-client share and port
 * modes hold.
 */
import t from 'tap';
import { seededRandom } from '@tunvs/scheduler';
import { DistError, GeneratedArrivals, isPersistentClient, makeDist, PORT_HIGH, PORT_LOW, resolveScenario } from '../src/index.js';

function moments(xs: Float64Array): { mean: number; variance: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let v = 0;
  for (const x of xs) v += (x - mean) ** 2;
  return { mean, variance: v / (xs.length - 1) };
}

function draw(spec: unknown, n: number, seed = 12345): Float64Array {
  const d = makeDist(spec);
  const r = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = d.sample(r(), r());
  return out;
}

const N = 400_000;
const cases: [string, unknown, number, number][] = [
  // spec, tolerance on the mean, tolerance on the variance (relative)
  ['exponential', { type: 'exponential', mean: 0.1 }, 0.01, 0.03],
  ['lognormal sigma', { type: 'lognormal', mean: 0.2, sigma: 0.8 }, 0.01, 0.05],
  ['lognormal cv', { type: 'lognormal', mean: 0.1, cv: 1.5 }, 0.02, 0.12],
  ['pareto mean', { type: 'pareto', mean: 0.1, alpha: 5 }, 0.01, 0.08],
  ['pareto min', { type: 'pareto', min: 1, alpha: 6 }, 0.01, 0.08],
  ['uniform', { type: 'uniform', min: 2, max: 4 }, 0.005, 0.02],
  ['geometric', { type: 'geometric', mean: 5 }, 0.01, 0.03],
  ['constant', 0.25, 0, 0],
];

for (const [name, spec, tm, tv] of cases) {
  t.test(`${name}: sample mean and variance match the distribution`, async (t) => {
    const d = makeDist(spec);
    const m = moments(draw(spec, N));
    t.ok(Math.abs(m.mean - d.mean) <= tm * d.mean + 1e-12, `mean ${m.mean} vs ${d.mean}`);
    t.ok(Math.abs(m.variance - d.variance) <= tv * d.variance + 1e-12, `variance ${m.variance} vs ${d.variance}`);
  });
}

t.test('geometric draws integers >= 1; pareto draws >= its minimum; heavy tails have infinite variance', async (t) => {
  const g = draw({ type: 'geometric', mean: 3 }, 10000);
  t.ok(g.every((x) => Number.isInteger(x) && x >= 1));
  const p = draw({ type: 'pareto', min: 2, alpha: 1.5 }, 10000);
  t.ok(p.every((x) => x >= 2));
  t.equal(makeDist({ type: 'pareto', min: 2, alpha: 1.5 }).variance, Infinity);
  t.equal(makeDist({ type: 'pareto', min: 2, alpha: 0.9 }).mean, Infinity);
});

t.test('bad distributions are refused with a sentence', async (t) => {
  t.throws(() => makeDist({ type: 'weibull', mean: 1 }), DistError);
  t.throws(() => makeDist({ type: 'exponential', mean: -1 }), /'mean' must be a number > 0/);
  t.throws(() => makeDist({ type: 'lognormal', mean: 1 }), /one of 'sigma'/);
  t.throws(() => makeDist({ type: 'pareto', mean: 1, alpha: 0.5 }), /no mean/);
  t.throws(() => makeDist({ type: 'exponential', mean: 1, sigma: 2 }), /'sigma' is not a parameter of exponential/);
});

/** A scenario around the given clients section. */
function scenario(clients: Record<string, unknown>, duration = 400) {
  return resolveScenario({ seed: 99, duration, servers: [{ name: 'a', capacity: 10 }], clients }, 'test');
}

/** Arrivals per 1-second window over the run. */
function perSecond(sc: ReturnType<typeof scenario>): number[] {
  const a = new GeneratedArrivals(sc);
  const counts = new Array<number>(Math.ceil(sc.duration)).fill(0);
  while (a.next()) counts[Math.floor(a.time / 1000)]!++;
  return counts;
}

t.test('Poisson arrivals: the rate, and a Poisson count (variance = mean) per second', async (t) => {
  const sc = scenario({ rate: 200, count: 1000 });
  const c = perSecond(sc);
  const m = moments(Float64Array.from(c));
  t.ok(Math.abs(m.mean - 200) < 200 * 0.01, `mean ${m.mean} per second`);
  t.ok(Math.abs(m.variance / m.mean - 1) < 0.15, `index of dispersion ${m.variance / m.mean}`);
});

t.test('the rate curve and a burst shape the arrivals', async (t) => {
  const sc = scenario({ rate: 100, count: 1000, curve: [[0, 1], [200, 1], [200, 3], [400, 3]], bursts: [{ at: 100, duration: 50, rate: 400, clients: 5000 }] });
  const c = perSecond(sc);
  const mean = (a: number, b: number): number => c.slice(a, b).reduce((x, y) => x + y, 0) / (b - a);
  t.ok(Math.abs(mean(0, 100) - 100) < 5, `before: ${mean(0, 100)}`);
  t.ok(Math.abs(mean(100, 150) - 500) < 15, `burst: ${mean(100, 150)}`);
  t.ok(Math.abs(mean(250, 400) - 300) < 10, `curve x3: ${mean(250, 400)}`);
  // the burst's clients are new ones (indexes after the regulars), drawn uniformly
  const a = new GeneratedArrivals(sc);
  let fresh = 0;
  let inBurst = 0;
  while (a.next()) {
    if (a.time >= 100_000 && a.time < 150_000) {
      inBurst++;
      if (a.client >= 1000) fresh++;
    }
  }
  t.ok(Math.abs(fresh / inBurst - 0.8) < 0.02, `burst share from new clients ${fresh / inBurst} (400 of 500 per second)`);
});

t.test('Zipf popularity has the claimed exponent', async (t) => {
  for (const s of [0.8, 1.2]) {
    const sc = scenario({ rate: 2000, count: 1000, zipf: s }, 100);
    const a = new GeneratedArrivals(sc);
    const hits = new Float64Array(1000);
    let n = 0;
    while (a.next()) {
      hits[a.client]!++;
      n++;
    }
    // log-log slope between rank 1 and ranks 2..20 (the well-sampled head)
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    const k = 20;
    for (let i = 0; i < k; i++) {
      const x = Math.log(i + 1);
      const y = Math.log(hits[i]! / n);
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
    t.ok(Math.abs(-slope - s) < 0.05, `s=${s}: fitted ${-slope}`);
  }
});

t.test('persistent clients: the share holds; ports: the modes do what they say', async (t) => {
  let p = 0;
  for (let c = 0; c < 100000; c++) if (isPersistentClient(c, 7, 0.3)) p++;
  t.ok(Math.abs(p / 100000 - 0.3) < 0.01, `share ${p / 100000}`);
  for (const ports of ['sequential', 'random', 'fixed']) {
    const sc = scenario({ rate: 500, count: 3, ports }, 20);
    const a = new GeneratedArrivals(sc);
    const seen: number[][] = [[], [], []];
    while (a.next()) seen[a.client]!.push(a.port);
    t.ok(seen.flat().every((x) => x >= PORT_LOW && x <= PORT_HIGH), `${ports}: in the local port range`);
    const s0 = seen[0]!;
    if (ports === 'fixed') t.ok(s0.every((x) => x === s0[0]), 'fixed: one port per client');
    if (ports === 'sequential') t.ok(s0.slice(1).every((x, i) => x === (s0[i]! === PORT_HIGH ? PORT_LOW : s0[i]! + 1)), 'sequential: counts up');
    if (ports === 'random') t.ok(new Set(s0).size > s0.length * 0.8, 'random: mostly distinct');
  }
});
