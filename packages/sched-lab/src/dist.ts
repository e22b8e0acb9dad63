/**
 * The distributions a scenario draws from: service times, think times, connection
 * durations (continuous, in seconds) and requests per connection (integer).
 *
 * Every sample is a function of one or two uniforms in [0, 1), so that the same random
 * numbers can be mapped through another server's distribution (common random numbers:
 * every scheduler of a comparison sees the same workload).
 *
 * Parameterised by the mean where the family allows, so that loads are easy to reason
 * about: exponential(mean); log-normal(mean, sigma of the log, or cv); Pareto (type I:
 * minimum xm and shape alpha, or mean and alpha); uniform(min, max); constant(value);
 * geometric(mean) on 1, 2, 3, ...
 */

/** A distribution as a scenario writes it; a bare number is a constant. */
export type DistSpec =
  | number
  | { type: 'constant'; value: number }
  | { type: 'exponential'; mean: number }
  | { type: 'lognormal'; mean: number; sigma?: number; cv?: number }
  | { type: 'pareto'; alpha: number; mean?: number; min?: number }
  | { type: 'uniform'; min: number; max: number }
  | { type: 'geometric'; mean: number };

/** The distribution families a scenario may name. */
export const DIST_TYPES = ['constant', 'exponential', 'lognormal', 'pareto', 'uniform', 'geometric'] as const;

/** A distribution ready to sample. */
export interface Dist {
  readonly type: (typeof DIST_TYPES)[number];
  /** theoretical mean */
  readonly mean: number;
  /** theoretical variance (Infinity for a Pareto with alpha <= 2) */
  readonly variance: number;
  /** a draw from two independent uniforms in [0, 1) (most families use only `u1`) */
  sample(u1: number, u2: number): number;
  /** "exponential(mean 0.1)" */
  describe(): string;
}

/** A bad distribution: the message says what is wrong (the caller adds where). */
export class DistError extends Error {
  override readonly name = 'DistError';
}

const fmt = (x: number): string => String(Number(x.toPrecision(6)));

function positive(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new DistError(`'${k}' must be a number > 0`);
  return v;
}

/** Build a distribution from its spec; throws DistError for a bad one. */
export function makeDist(spec: unknown): Dist {
  if (typeof spec === 'number') {
    if (!Number.isFinite(spec) || spec < 0) throw new DistError('a constant must be a number >= 0');
    return constant(spec);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new DistError(`a distribution is a number or an object with a 'type' (${DIST_TYPES.join(', ')})`);
  const o = spec as Record<string, unknown>;
  const known: Record<string, string[]> = {
    constant: ['value'],
    exponential: ['mean'],
    lognormal: ['mean', 'sigma', 'cv'],
    pareto: ['alpha', 'mean', 'min'],
    uniform: ['min', 'max'],
    geometric: ['mean'],
  };
  const type = o['type'];
  if (typeof type !== 'string' || !(type in known)) throw new DistError(`unknown distribution type ${JSON.stringify(type)} (known: ${DIST_TYPES.join(', ')})`);
  for (const k of Object.keys(o)) if (k !== 'type' && !known[type]!.includes(k)) throw new DistError(`'${k}' is not a parameter of ${type} (it takes ${known[type]!.join(', ')})`);
  switch (type) {
    case 'constant': {
      const v = o['value'];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DistError("'value' must be a number >= 0");
      return constant(v);
    }
    case 'exponential':
      return exponential(positive(o, 'mean'));
    case 'lognormal': {
      const mean = positive(o, 'mean');
      if ((o['sigma'] === undefined) === (o['cv'] === undefined)) throw new DistError("lognormal takes one of 'sigma' (of the log) or 'cv' (standard deviation / mean)");
      const sigma = o['sigma'] !== undefined ? positive(o, 'sigma') : Math.sqrt(Math.log(1 + positive(o, 'cv') ** 2));
      return lognormal(mean, sigma);
    }
    case 'pareto': {
      const alpha = positive(o, 'alpha');
      if ((o['mean'] === undefined) === (o['min'] === undefined)) throw new DistError("pareto takes one of 'mean' or 'min' (the scale), with 'alpha'");
      if (o['mean'] !== undefined) {
        if (alpha <= 1) throw new DistError("a Pareto with alpha <= 1 has no mean: give 'min' instead");
        const mean = positive(o, 'mean');
        return pareto((mean * (alpha - 1)) / alpha, alpha);
      }
      return pareto(positive(o, 'min'), alpha);
    }
    case 'uniform': {
      const min = o['min'];
      const max = o['max'];
      if (typeof min !== 'number' || typeof max !== 'number' || !(min >= 0) || !(max >= min) || !Number.isFinite(max)) throw new DistError("uniform needs numbers 0 <= 'min' <= 'max'");
      return uniform(min, max);
    }
    default: {
      const mean = o['mean'];
      if (typeof mean !== 'number' || !(mean >= 1) || !Number.isFinite(mean)) throw new DistError("geometric needs 'mean' >= 1 (values 1, 2, 3, ...)");
      return geometric(mean);
    }
  }
}

function constant(v: number): Dist {
  return { type: 'constant', mean: v, variance: 0, sample: () => v, describe: () => `constant(${fmt(v)})` };
}

function exponential(mean: number): Dist {
  return {
    type: 'exponential',
    mean,
    variance: mean * mean,
    sample: (u) => -mean * Math.log(1 - u),
    describe: () => `exponential(mean ${fmt(mean)})`,
  };
}

function lognormal(mean: number, sigma: number): Dist {
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return {
    type: 'lognormal',
    mean,
    variance: (Math.exp(sigma * sigma) - 1) * mean * mean,
    // Box-Muller: one standard normal from two uniforms
    sample: (u1, u2) => Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2)),
    describe: () => `lognormal(mean ${fmt(mean)}, sigma ${fmt(sigma)})`,
  };
}

function pareto(xm: number, alpha: number): Dist {
  const mean = alpha > 1 ? (alpha * xm) / (alpha - 1) : Infinity;
  const variance = alpha > 2 ? (xm * xm * alpha) / ((alpha - 1) ** 2 * (alpha - 2)) : Infinity;
  const inv = 1 / alpha;
  return {
    type: 'pareto',
    mean,
    variance,
    sample: (u) => xm / Math.pow(1 - u, inv),
    describe: () => `pareto(min ${fmt(xm)}, alpha ${fmt(alpha)}${Number.isFinite(mean) ? `, mean ${fmt(mean)}` : ''})`,
  };
}

function uniform(min: number, max: number): Dist {
  return {
    type: 'uniform',
    mean: (min + max) / 2,
    variance: (max - min) ** 2 / 12,
    sample: (u) => min + (max - min) * u,
    describe: () => `uniform(${fmt(min)}, ${fmt(max)})`,
  };
}

function geometric(mean: number): Dist {
  const p = 1 / mean;
  const l = Math.log(1 - p);
  return {
    type: 'geometric',
    mean,
    variance: (1 - p) / (p * p),
    sample: p >= 1 ? () => 1 : (u) => 1 + Math.floor(Math.log(1 - u) / l),
    describe: () => `geometric(mean ${fmt(mean)})`,
  };
}
