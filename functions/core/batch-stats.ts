/**
 * The batch's last step (DESIGN §6): merge the chunks' stored accumulators — never the Map's output,
 * never a read of every result — into the statistics, after reconciling their counts with a count
 * of the stored results and with the batch's total; or mark the batch FAILED.
 */
import { BatchNotFoundError, BatchStateError, type BatchStatus, type BatchStore } from './batch.js';
import type { NoiseProfileStore } from './noise.js';
import { NoiseProfileBuilder } from './noise-profile-job.js';
import type { Clock } from './ports.js';
import { AccumulatorStateSchema, StatsAccumulator } from './stats.js';
import { storableNumbers } from './storable.js';

/**
 * What Stats is asked (parsed from the Step Functions payload at the edge): fold a batch's results,
 * or, when the execution failed before that (the workflow's Catch), mark it FAILED with `reason`.
 */
export type StatsCommand = { batchId: string; failed?: undefined } | { batchId: string; failed: { reason: string } };

export interface StatsDeps {
  batches: BatchStore;
  /** Where a noise-profile batch stores the profile it learned. */
  noiseProfiles?: NoiseProfileStore;
  clock: Clock;
}

/** A noise-profile batch reached a Stats step composed without a profile store (a wiring fault). */
export class NoiseProfileStoreMissingError extends Error {
  constructor() {
    super('a noise-profile batch reached a Stats step that has no noise profile store');
    this.name = 'NoiseProfileStoreMissingError';
  }
}

/** Small enough for the execution output: counts and latency, not the per-path maps. */
export interface StatsOutcome {
  batchId: string;
  status: BatchStatus;
  totalReplays?: number;
  matches?: number;
  mismatches?: number;
  failedReplays?: number;
  failureReason?: string;
  /** The profile version a noise-profile batch stored. */
  noiseProfileVersion?: number;
}

/** Stats: folds the stored results into the batch statistics, or marks the batch FAILED. */
export async function computeBatchStats(deps: StatsDeps, command: StatsCommand): Promise<StatsOutcome> {
  const now = new Date(deps.clock.now()).toISOString();
  const p = command;
  if (p.failed !== undefined) return failUnlessEnded(deps, p.batchId, p.failed.reason, now);
  const batch = await deps.batches.get(p.batchId);
  if (!batch) throw new BatchNotFoundError(p.batchId);
  const acc = new StatsAccumulator();
  let folded = 0;
  await deps.batches.forEachChunk(p.batchId, (chunk) => {
    const state = AccumulatorStateSchema.safeParse(chunk.stats);
    if (!state.success) throw new BatchStateError(`chunk ${chunk.chunkId} of batch ${p.batchId} holds no readable stats`);
    acc.merge(StatsAccumulator.fromState(state.data));
    folded += chunk.count;
  });
  const stored = await deps.batches.countResults(p.batchId);
  const stats = acc.toJSON();
  const disagreement =
    stored !== batch.total
      ? `${stored} results were stored for ${batch.total ?? 'an unplanned number of'} snapshots`
      : folded !== stored || stats.totalReplays !== stored
        ? `the chunks folded ${folded} results but ${stored} are stored`
        : undefined;
  if (disagreement !== undefined) return failUnlessEnded(deps, p.batchId, disagreement, now);
  let noiseProfileVersion: number | undefined;
  if (batch.noiseProfile !== undefined) {
    // A noise-profile batch learns from each pair of runs, so it reads its results; it is a sample
    // (at most the profile's sampleSize snapshots), never a large batch.
    const profile = new NoiseProfileBuilder({ ...batch, noiseProfile: batch.noiseProfile });
    await deps.batches.forEachResult(p.batchId, (r) => profile.add(r));
    // Stored before the batch reads SUCCEEDED, so a client that saw SUCCEEDED finds the profile.
    const built = profile.build(now);
    if ('failure' in built) return failUnlessEnded(deps, p.batchId, built.failure, now);
    if (deps.noiseProfiles === undefined) throw new NoiseProfileStoreMissingError();
    noiseProfileVersion = (await deps.noiseProfiles.putNextVersion(storableNumbers(built))).version;
  }
  if (!(await deps.batches.complete(p.batchId, stats, now))) return endedAs(deps, p.batchId);
  return { batchId: p.batchId, status: 'SUCCEEDED', ...(noiseProfileVersion !== undefined && { noiseProfileVersion }), totalReplays: stats.totalReplays, matches: stats.matches, mismatches: stats.mismatches, failedReplays: stats.failedReplays };
}

/**
 * Marks the batch FAILED with `reason` unless it has already ended: a cancel made while the workflow
 * ran (its chunks then stop early, so results are missing) is the batch's ending, not a failure. The
 * outcome names the status the batch has.
 */
async function failUnlessEnded(deps: StatsDeps, batchId: string, reason: string, now: string): Promise<StatsOutcome> {
  if (await deps.batches.failIfRunning(batchId, reason, now)) return { batchId, status: 'FAILED', failureReason: reason };
  return endedAs(deps, batchId, reason);
}

/** The outcome of a Stats step that found its batch already ended (or gone: then FAILED with `reason`). */
async function endedAs(deps: StatsDeps, batchId: string, reason = 'the batch record is gone'): Promise<StatsOutcome> {
  const current = await deps.batches.get(batchId);
  if (current === undefined) return { batchId, status: 'FAILED', failureReason: reason };
  const s = current.stats;
  return {
    batchId,
    status: current.status,
    ...(s && { totalReplays: s.totalReplays, matches: s.matches, mismatches: s.mismatches, failedReplays: s.failedReplays }),
    ...(current.failureReason !== undefined && { failureReason: current.failureReason }),
  };
}
