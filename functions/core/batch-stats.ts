/**
 * The batch's last step (DESIGN §6): fold the stored results — never the Map's output — into the
 * statistics, or mark the batch FAILED. Kept apart from batch.ts so the per-item replay function
 * does not bundle the quantile sketch it never uses.
 */
import { BatchNotFoundError, type BatchStatus, type BatchStore } from './batch.js';
import type { Clock } from './ports.js';
import { StatsAccumulator } from './stats.js';

/**
 * What Stats is asked (parsed from the Step Functions payload at the edge): fold a batch's results,
 * or, when the execution failed before that (the workflow's Catch), mark it FAILED with `reason`.
 */
export type StatsCommand = { batchId: string; failed?: undefined } | { batchId: string; failed: { reason: string } };

export interface StatsDeps {
  batches: BatchStore;
  clock: Clock;
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
  const count = await deps.batches.forEachResult(p.batchId, (r) =>
    acc.add({ status: r.status, outputsMatch: r.outputsMatch, executionTimeMs: r.executionTimeMs, mismatchedPaths: r.mismatchedPaths, violatedRules: r.violatedRules, integrity: r.integrity }),
  );
  const stats = acc.toJSON();
  if (count !== batch.total) {
    const reason = `${count} results were stored for ${batch.total} snapshots`;
    await deps.batches.fail(p.batchId, reason, now);
    return { batchId: p.batchId, status: 'FAILED', failureReason: reason };
  }
  await deps.batches.complete(p.batchId, stats, now);
  return { batchId: p.batchId, status: 'SUCCEEDED', totalReplays: stats.totalReplays, matches: stats.matches, mismatches: stats.mismatches, failedReplays: stats.failedReplays };
}
