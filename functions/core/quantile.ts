/**
 * The one definition of a latency quantile used everywhere one is shown (batch statistics, batch
 * report, A/B comparison, CLI): the **nearest-rank** quantile, the smallest value such that at least
 * a fraction q of the values are ≤ it — 1-based rank ⌈q·n⌉ of the sorted values (rank 1 for q = 0).
 * It is what HdrHistogram and most latency tools report: always an observed value, and p99 of fewer
 * than 100 values is the largest one.
 */

/** The 1-based nearest rank of the q-quantile of n values: ⌈q·n⌉, at least 1 and at most n. */
export function nearestRank(q: number, n: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`need at least one value, got ${n}`);
  return Math.min(n, Math.max(1, Math.ceil(q * n)));
}

/** The nearest-rank q-quantile of values sorted ascending (NaN when there is none). */
export function nearestRankSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[nearestRank(q, sorted.length) - 1] as number;
}
