/**
 * The schema of a batch's statistics, apart from the accumulator that computes them (./stats.ts):
 * a batch, its API routes and its OpenAPI document carry the statistics without computing them,
 * and so without the DDSketch library (CommonJS, so esbuild cannot leave it out of a bundle that
 * imports ./stats.ts for the schema alone).
 */
import * as z from 'zod/mini';

/**
 * The statistics of a batch (DESIGN §6), a plain JSON object.
 *
 * - `failedReplays`: results with status `Error`; `successfulReplays` = `totalReplays − failedReplays`.
 * - `matches`: successful results whose outputs matched; `mismatches` = `successfulReplays −
 *   matches`; `tampered`: those of the mismatches whose snapshot no longer matched its contentHash
 *   (nothing was executed, so nothing matched; they have no latency).
 * - `matchRate` = `matches / successfulReplays`, **0 when there is no successful replay**.
 * - Latency figures are over successful replays only and are **0 when there is none**.
 *   `pXXExecutionTimeMs` are nearest-rank quantiles (./quantile.ts: the value of 1-based rank ⌈q·n⌉
 *   of the sorted latencies) from a DDSketch: within `STATS_RELATIVE_ACCURACY` (./stats.ts) of that
 *   value, exact when it is the smallest or largest latency (so p99 of fewer than 100 replays is the
 *   slowest), and never outside the observed min..max.
 * - `fieldMismatches` / `policyViolations`: at most `STATS_TOP_KEYS` keys and
 *   `STATS_TOP_KEY_BYTES` bytes of key text each, the largest counts (ties by key); every occurrence not shown is counted in `fieldMismatchesOther` /
 *   `policyViolationsOther`, so shown counts + other = all occurrences. Counts are exact while a
 *   batch has at most 2 × `STATS_TOP_KEYS` distinct keys; beyond that the retained counts are
 *   lower bounds (see `BoundedCounter` in ./stats.ts).
 */
export const ReplayStatsSchema = z.strictObject({
  totalReplays: z.int(),
  successfulReplays: z.int(),
  failedReplays: z.int(),
  matches: z.int(),
  mismatches: z.int(),
  tampered: z.int(),
  matchRate: z.number(),
  totalExecutionTimeMs: z.number(),
  averageExecutionTimeMs: z.number(),
  p50ExecutionTimeMs: z.number(),
  p95ExecutionTimeMs: z.number(),
  p99ExecutionTimeMs: z.number(),
  fieldMismatches: z.record(z.string(), z.int()),
  fieldMismatchesOther: z.int(),
  policyViolations: z.record(z.string(), z.int()),
  policyViolationsOther: z.int(),
});
export type ReplayStats = z.infer<typeof ReplayStatsSchema>;
