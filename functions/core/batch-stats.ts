/**
 * The batch's last step (DESIGN §6): fold the stored results — never the Map's output — into the
 * statistics, or mark the batch FAILED. Kept apart from batch.ts so the per-item replay function
 * does not bundle the quantile sketch it never uses.
 */
import { BatchNotFoundError, type BatchStatus, type BatchStore } from './batch.js';
import type { NoiseProfileStore } from './noise.js';
import { NoiseProfileBuilder } from './noise-profile-job.js';
import type { Clock } from './ports.js';
import { StatsAccumulator } from './stats.js';

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
  if (p.failed !== undefined) {
    const { batchId } = p;
    const { reason } = p.failed;
    if (await deps.batches.get(batchId)) await deps.batches.fail(batchId, reason, now);
    return { batchId, status: 'FAILED', failureReason: reason };
  }
  const batch = await deps.batches.get(p.batchId);
  if (!batch) throw new BatchNotFoundError(p.batchId);
  const acc = new StatsAccumulator();
  const profile = batch.noiseProfile !== undefined ? new NoiseProfileBuilder({ ...batch, noiseProfile: batch.noiseProfile }) : undefined;
  const count = await deps.batches.forEachResult(p.batchId, (r) => {
    acc.add({ status: r.status, outputsMatch: r.outputsMatch, executionTimeMs: r.executionTimeMs, mismatchedPaths: r.mismatchedPaths, violatedRules: r.violatedRules, integrity: r.integrity });
    profile?.add(r);
  });
  const stats = acc.toJSON();
  if (count !== batch.total) {
    const reason = `${count} results were stored for ${batch.total} snapshots`;
    await deps.batches.fail(p.batchId, reason, now);
    return { batchId: p.batchId, status: 'FAILED', failureReason: reason };
  }
  let noiseProfileVersion: number | undefined;
  if (profile !== undefined) {
    // Stored before the batch reads SUCCEEDED, so a client that saw SUCCEEDED finds the profile.
    const built = profile.build(now);
    if ('failure' in built) {
      await deps.batches.fail(p.batchId, built.failure, now);
      return { batchId: p.batchId, status: 'FAILED', failureReason: built.failure };
    }
    if (deps.noiseProfiles === undefined) throw new NoiseProfileStoreMissingError();
    noiseProfileVersion = (await deps.noiseProfiles.putNextVersion(built)).version;
  }
  await deps.batches.complete(p.batchId, stats, now);
  return { batchId: p.batchId, status: 'SUCCEEDED', ...(noiseProfileVersion !== undefined && { noiseProfileVersion }), totalReplays: stats.totalReplays, matches: stats.matches, mismatches: stats.mismatches, failedReplays: stats.failedReplays };
}
