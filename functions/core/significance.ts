/**
 * The statistics of an A/B comparison of two batches (pure, no I/O): McNemar's exact test on
 * discordant pairs, Holm's step-down correction, and a seeded paired bootstrap for quantile
 * differences. Used by comparison.ts; tested against published worked examples.
 */
import { nearestRankSorted } from './quantile.js';

/**
 * ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error below 1e-13 here), so
 * binomial probabilities stay finite for a million pairs.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const g = 7;
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const z = x - 1;
  let a = c[0] as number;
  const t = z + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2), summed downward from k in log space (exact to ~1e-12). */
export function binomialHalfCdf(k: number, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be an integer ≥ 0, got ${n}`);
  if (k < 0) return 0;
  if (k >= n) return 1;
  // pmf(k) = C(n, k) / 2^n; pmf(i − 1) = pmf(i) · i / (n − i + 1).
  let term = Math.exp(logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) - n * Math.LN2);
  let sum = 0;
  for (let i = k; i >= 0; i--) {
    sum += term;
    if (term < sum * 1e-17) break;
    term *= i / (n - i + 1);
  }
  return Math.min(1, sum);
}

/** McNemar's exact (conditional binomial) test on discordant pair counts. */
export interface McNemarResult {
  /** Pairs where only the baseline had the property. */
  b: number;
  /** Pairs where only the candidate had the property. */
  c: number;
  /** Two-sided exact p-value: min(1, 2 · P(X ≤ min(b, c))), X ~ Binomial(b + c, 1/2); 1 when b + c = 0. */
  pValue: number;
}

/** McNemar's exact test: under H0 each discordant pair goes either way with probability 1/2. */
export function mcnemarExact(b: number, c: number): McNemarResult {
  for (const [name, v] of [['b', b], ['c', c]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${v}`);
  }
  const n = b + c;
  const pValue = n === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(b, c), n));
  return { b, c, pValue };
}

/**
 * Holm's step-down adjusted p-values (Holm 1979), in the input order: sort ascending, multiply the
 * i-th smallest (0-based) by (m − i), carry the running maximum, cap at 1. Rejecting where the
 * adjusted value is ≤ alpha is Holm's procedure at family-wise level alpha.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  for (const p of pValues) if (!(p >= 0 && p <= 1)) throw new RangeError(`p-values must be in [0, 1], got ${p}`);
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same stream on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The q-quantile of sorted values, linearly interpolated (type 7, as R's and numpy's default). Used
 * for the percentile interval over bootstrap draws; latency quantiles themselves are nearest-rank
 * (./quantile.ts), as everywhere they are shown.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** A point estimate with its bootstrap percentile confidence interval. */
export interface Estimate {
  estimate: number;
  ci95: [number, number];
}

/** How many bootstrap resamples a comparison draws. */
export const BOOTSTRAP_RESAMPLES = 1000;
/**
 * Most pairs one bootstrap resamples. Beyond it a seeded uniform subsample of this size is
 * resampled (the point estimate still uses every pair): the interval of a quantile difference over
 * 5,000 pairs is already narrow, and 1,000 resamples of a million pairs would take minutes.
 */
export const BOOTSTRAP_MAX_PAIRS = 5000;

/**
 * Differences candidate − baseline of the given latency quantiles (nearest-rank, ./quantile.ts, in
 * the point estimate and in every resample) over paired observations, each
 * with a paired percentile-bootstrap 95 % interval (pairs resampled together, so the correlation
 * between the two runs of one snapshot is kept). Seeded: the same input and seed give the same
 * numbers.
 */
export function pairedQuantileDifferences(
  baseline: ArrayLike<number>,
  candidate: ArrayLike<number>,
  quantiles: readonly number[],
  options: { seed: number; resamples?: number; maxPairs?: number },
): Estimate[] {
  const n = baseline.length;
  if (candidate.length !== n) throw new RangeError(`paired samples differ in length: ${n} and ${candidate.length}`);
  if (n === 0) return quantiles.map(() => ({ estimate: Number.NaN, ci95: [Number.NaN, Number.NaN] }));
  const sortedCopy = (a: ArrayLike<number>) => Float64Array.from(a).sort();
  const point = quantiles.map((q) => nearestRankSorted(sortedCopy(candidate), q) - nearestRankSorted(sortedCopy(baseline), q));

  const random = seededRandom(options.seed);
  const maxPairs = options.maxPairs ?? BOOTSTRAP_MAX_PAIRS;
  // A seeded subsample without replacement (partial Fisher–Yates over the indices) when n is large.
  let index: Uint32Array = Uint32Array.from({ length: n }, (_, i) => i);
  if (n > maxPairs) {
    for (let i = 0; i < maxPairs; i++) {
      const j = i + Math.floor(random() * (n - i));
      const t = index[i] as number;
      index[i] = index[j] as number;
      index[j] = t;
    }
    index = index.slice(0, maxPairs);
  }
  const m = index.length;
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const draws = quantiles.map(() => new Float64Array(resamples));
  const b = new Float64Array(m);
  const c = new Float64Array(m);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < m; i++) {
      const k = index[Math.floor(random() * m)] as number;
      b[i] = baseline[k] as number;
      c[i] = candidate[k] as number;
    }
    b.sort();
    c.sort();
    quantiles.forEach((q, qi) => {
      (draws[qi] as Float64Array)[r] = nearestRankSorted(c, q) - nearestRankSorted(b, q);
    });
  }
  return quantiles.map((_, qi) => {
    const d = (draws[qi] as Float64Array).sort();
    return { estimate: point[qi] as number, ci95: [quantileSorted(d, 0.025), quantileSorted(d, 0.975)] };
  });
}
