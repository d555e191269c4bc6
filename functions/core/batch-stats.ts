/**
 * The batch's last step (DESIGN §6): merge the chunks' stored accumulators — never the Map's output,
 * never a read of every result — into the statistics, after reconciling their counts with a count
 * of the stored results and with the batch's total; or mark the batch FAILED.
 */
import { BatchNotFoundError, BatchStateError, type BatchStatus, type BatchStore } from './batch.js';
import type { Clock } from './ports.js';
import { AccumulatorStateSchema, StatsAccumulator } from './stats.js';

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
  if (disagreement !== undefined) {
    await deps.batches.fail(p.batchId, disagreement, now);
    return { batchId: p.batchId, status: 'FAILED', failureReason: disagreement };
  }
  await deps.batches.complete(p.batchId, stats, now);
  return { batchId: p.batchId, status: 'SUCCEEDED', totalReplays: stats.totalReplays, matches: stats.matches, mismatches: stats.mismatches, failedReplays: stats.failedReplays };
}
