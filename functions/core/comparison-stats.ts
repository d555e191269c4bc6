/**
 * A/B comparison of two batches over the same snapshots (pure): pairs are folded one by one into a
 * {@link PairedComparison}, which then answers with the paired statistics and a verdict.
 *
 * - Match: a snapshot counts as matched in a batch when its replay ran (status not `Error`) and its
 *   outputs matched. Errors count as not matched, so a candidate cannot look better by failing on
 *   the hard cases. McNemar's exact test on the discordant pairs.
 * - Errors: status `Error` in a batch; McNemar's exact test on the discordant pairs.
 * - Fields: for each field path mismatched in either batch, McNemar's exact test on the pairs where
 *   exactly one batch mismatched it; Holm-corrected over all paths.
 * - Latency: over pairs where both replays ran, p50 and p95 differences (candidate − baseline) with
 *   seeded paired-bootstrap 95 % intervals; nearest-rank quantiles (./quantile.ts), as in the batch
 *   statistics.
 * - Verdict at `alpha`: the match and error tests form one family, Holm-corrected (so the null case
 *   is called significant at most alpha of the time). `worse` when the candidate matches
 *   significantly less often or errs significantly more often; `better` when it matches
 *   significantly more often and is not worse; otherwise `no significant difference`.
 */
import * as z from 'zod/mini';
import { nearestRankSorted } from './quantile.js';
import { holmAdjust, mcnemarExact, pairedQuantileDifferences, type Estimate } from './significance.js';

/** What one batch's result for a snapshot contributes to a comparison. */
export interface PairSide {
  status: 'Success' | 'Failed' | 'Error';
  outputsMatch: boolean;
  executionTimeMs: number;
  mismatchedPaths: readonly string[];
  /** How many mismatched paths the result left out of `mismatchedPaths` (it lists at most 100 KB). */
  mismatchedPathsOmitted?: number | undefined;
}

/** Most field paths a comparison tracks (bounded memory); further paths are counted, not tested. */
export const MAX_COMPARED_FIELDS = 1000;

/**
 * Most UTF-8 bytes of path text the tracked paths may hold together; further paths are counted, not
 * tested. A comparison is one DynamoDB item (400 KB): each field test costs ~200 bytes besides its
 * path (attribute names and seven numbers), so 1,000 tests take ≤ 200 KB and their paths get the
 * rest. Without this bound 1,000 paths of ~350 characters (long keys in outputs) made every
 * comparison of two such batches a 413 that the caller could do nothing about.
 */
export const MAX_COMPARED_FIELD_PATH_BYTES = 180_000;

const utf8 = new TextEncoder();

const RateTestSchema = z.object({
  baseline: z.number(),
  candidate: z.number(),
  /** candidate − baseline. */
  difference: z.number(),
  /** Pairs where only the baseline / only the candidate had the property. */
  baselineOnly: z.number(),
  candidateOnly: z.number(),
  pValue: z.number(),
  adjustedPValue: z.number(),
  significant: z.boolean(),
});

const FieldTestSchema = z.object({ path: z.string(), ...RateTestSchema.shape });

const QuantileDifferenceSchema = z.object({
  baselineMs: z.number(),
  candidateMs: z.number(),
  differenceMs: z.number(),
  ci95: z.tuple([z.number(), z.number()]),
});

export const VERDICTS = ['better', 'worse', 'no significant difference'] as const;

/** The statistics part of a comparison (see the module comment for each definition). */
export const ComparisonStatsSchema = z.object({
  pairs: z.number(),
  verdict: z.enum(VERDICTS),
  matchRate: RateTestSchema,
  errorRate: RateTestSchema,
  fields: z.array(FieldTestSchema),
  fieldsNotTested: z.number(),
  /**
   * Pairs in which a side's result left mismatched paths out of its list (an output of thousands of
   * changed elements): a field that side does not list is undecided there, and that pair is not
   * counted in its test. Absent on comparisons stored before it was kept.
   */
  pairsWithOmittedPaths: z.optional(z.number()),
  latency: z.object({
    pairs: z.number(),
    p50: z.nullable(QuantileDifferenceSchema),
    p95: z.nullable(QuantileDifferenceSchema),
    seed: z.number(),
    resamples: z.number(),
  }),
});
export type ComparisonStats = z.infer<typeof ComparisonStatsSchema>;
export type RateTest = z.infer<typeof RateTestSchema>;

/** A stable 32-bit seed from text (FNV-1a), so a repeated comparison draws the same resamples. */
export function seedFrom(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

interface Discordance {
  baselineOnly: number;
  candidateOnly: number;
  baseline: number;
  candidate: number;
}

const emptyDiscordance = (): Discordance => ({ baselineOnly: 0, candidateOnly: 0, baseline: 0, candidate: 0 });

function tally(d: Discordance, inBaseline: boolean, inCandidate: boolean): void {
  if (inBaseline) d.baseline++;
  if (inCandidate) d.candidate++;
  if (inBaseline && !inCandidate) d.baselineOnly++;
  else if (inCandidate && !inBaseline) d.candidateOnly++;
}

/** Folds paired results; memory: counters, one counter per field path, and the paired latencies. */
export class PairedComparison {
  private n = 0;
  private readonly match = emptyDiscordance();
  private readonly error = emptyDiscordance();
  private readonly fields = new Map<string, Discordance>();
  private untrackedPaths = new Set<string>();
  private withOmittedPaths = 0;
  private trackedPathBytes = 0;
  private baselineLatency: number[] = [];
  private candidateLatency: number[] = [];

  /** Adds one snapshot's pair of results. */
  add(baseline: PairSide, candidate: PairSide): void {
    this.n++;
    tally(this.match, baseline.status !== 'Error' && baseline.outputsMatch, candidate.status !== 'Error' && candidate.outputsMatch);
    tally(this.error, baseline.status === 'Error', candidate.status === 'Error');
    const inBaseline = new Set(baseline.mismatchedPaths);
    const inCandidate = new Set(candidate.mismatchedPaths);
    // A side that left paths out of its list may have mismatched a path it does not list: there,
    // "not listed" is not "matched", so such a path is not tallied for this pair.
    const baselineCut = (baseline.mismatchedPathsOmitted ?? 0) > 0;
    const candidateCut = (candidate.mismatchedPathsOmitted ?? 0) > 0;
    if (baselineCut || candidateCut) this.withOmittedPaths++;
    for (const path of new Set([...inBaseline, ...inCandidate])) {
      if ((baselineCut && !inBaseline.has(path)) || (candidateCut && !inCandidate.has(path))) continue;
      let d = this.fields.get(path);
      if (!d) {
        const bytes = utf8.encode(path).length;
        if (this.fields.size >= MAX_COMPARED_FIELDS || this.trackedPathBytes + bytes > MAX_COMPARED_FIELD_PATH_BYTES) {
          if (this.untrackedPaths.size < MAX_COMPARED_FIELDS) this.untrackedPaths.add(path);
          continue;
        }
        this.trackedPathBytes += bytes;
        d = emptyDiscordance();
        this.fields.set(path, d);
      }
      tally(d, inBaseline.has(path), inCandidate.has(path));
    }
    if (baseline.status !== 'Error' && candidate.status !== 'Error') {
      this.baselineLatency.push(baseline.executionTimeMs);
      this.candidateLatency.push(candidate.executionTimeMs);
    }
  }

  /** How many pairs were added. */
  get pairs(): number {
    return this.n;
  }

  /** The statistics and verdict at `alpha`; `seed` fixes the bootstrap resamples. */
  result(alpha: number, seed: number, resamples = 1000): ComparisonStats {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
    const rate = (k: number) => (this.n === 0 ? 0 : k / this.n);
    const test = (d: Discordance, adjusted: number) => {
      const { pValue } = mcnemarExact(d.baselineOnly, d.candidateOnly);
      const baseline = rate(d.baseline);
      const candidate = rate(d.candidate);
      return { baseline, candidate, difference: candidate - baseline, baselineOnly: d.baselineOnly, candidateOnly: d.candidateOnly, pValue, adjustedPValue: adjusted, significant: adjusted <= alpha };
    };
    const primary = [mcnemarExact(this.match.baselineOnly, this.match.candidateOnly).pValue, mcnemarExact(this.error.baselineOnly, this.error.candidateOnly).pValue];
    const [matchAdj, errorAdj] = holmAdjust(primary) as [number, number];
    const matchRate = test(this.match, matchAdj);
    const errorRate = test(this.error, errorAdj);

    const paths = [...this.fields.keys()].sort();
    const fieldP = paths.map((p) => {
      const d = this.fields.get(p) as Discordance;
      return mcnemarExact(d.baselineOnly, d.candidateOnly).pValue;
    });
    const fieldAdj = holmAdjust(fieldP);
    const fields = paths.map((path, i) => ({ path, ...test(this.fields.get(path) as Discordance, fieldAdj[i] as number) }));

    const worse = (matchRate.significant && matchRate.difference < 0) || (errorRate.significant && errorRate.difference > 0);
    const better = !worse && matchRate.significant && matchRate.difference > 0;

    const latencyPairs = this.baselineLatency.length;
    let p50: ComparisonStats['latency']['p50'] = null;
    let p95: ComparisonStats['latency']['p95'] = null;
    if (latencyPairs > 0) {
      const [d50, d95] = pairedQuantileDifferences(this.baselineLatency, this.candidateLatency, [0.5, 0.95], { seed, resamples }) as [Estimate, Estimate];
      const sortedB = Float64Array.from(this.baselineLatency).sort();
      const sortedC = Float64Array.from(this.candidateLatency).sort();
      p50 = { baselineMs: nearestRankSorted(sortedB, 0.5), candidateMs: nearestRankSorted(sortedC, 0.5), differenceMs: d50.estimate, ci95: d50.ci95 };
      p95 = { baselineMs: nearestRankSorted(sortedB, 0.95), candidateMs: nearestRankSorted(sortedC, 0.95), differenceMs: d95.estimate, ci95: d95.ci95 };
    }
    return {
      pairs: this.n,
      verdict: worse ? 'worse' : better ? 'better' : 'no significant difference',
      matchRate,
      errorRate,
      fields,
      fieldsNotTested: this.untrackedPaths.size,
      pairsWithOmittedPaths: this.withOmittedPaths,
      latency: { pairs: latencyPairs, p50, p95, seed, resamples },
    };
  }
}
