/**
 * Listing and cancelling batches: `GET /batches` (newest first, paged) and
 * `POST /batches/{id}/cancel` (RUNNING → CANCELLED, with the statistics over the results stored so
 * far).
 *
 * Cancelling writes CANCELLED first, conditionally on the batch still being RUNNING, and only then
 * stops the workflow. So whatever the workflow does afterwards cannot undo it: the Stats step's
 * completion and the execution-end handler's FAILED are both written only while the batch is
 * RUNNING, and the ABORTED end of the stopped execution finds it CANCELLED. A batch that finished
 * before the cancel landed keeps its outcome and the cancel answers 409.
 */
import * as z from 'zod/mini';
import type { Batch, BatchResult, BatchStatus, BatchStore } from './batch.js';
import { ConflictError, NotFoundError } from './errors.js';
import type { Clock, Page } from './ports.js';
import { SCHEDULE_NAME, SCHEDULE_NAME_RULE } from './schedule-name.js';
import { FunctionNameSchema } from './snapshot.js';
import { StatsAccumulator, type ReplayStats } from './stats.js';

/** Every status a batch can have, for filters. */
export const BATCH_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const satisfies readonly BatchStatus[];

/** Query of `GET /batches`. */
export const ListBatchesQuerySchema = z.strictObject({
  functionName: z.optional(FunctionNameSchema),
  status: z.optional(z.enum(BATCH_STATUSES, { error: `status must be one of ${BATCH_STATUSES.join(', ')}` })),
  /** Only the runs of this schedule (`trigger: "schedule"`). A name no schedule can have is a 400. */
  scheduleName: z.optional(z.string().check(z.regex(SCHEDULE_NAME, `scheduleName must be a schedule's name: ${SCHEDULE_NAME_RULE}`))),
});
export type ListBatchesQuery = z.infer<typeof ListBatchesQuerySchema>;

/** The counts of a batch's results so far: `completed` results, `successful` replays (not Error), `matches` among them. */
export type BatchProgress = NonNullable<Batch['progress']>;

/** Port: what listing and cancelling need from the batch store (DynamoBatchStore implements both ports). */
export interface BatchControlStore extends Pick<BatchStore, 'get' | 'forEachResult'> {
  /** Newest first; `functionName` matches batches that selected that function. */
  list(query: ListBatchesQuery & { limit: number; cursor?: string | undefined }): Promise<Page<Batch>>;
  /** RUNNING → CANCELLED with these statistics; false (nothing written) when the batch is not RUNNING. */
  cancel(batchId: string, stats: ReplayStats, completed: number, completedAt: string): Promise<boolean>;
}

/** Port: stops a batch's workflow (Step Functions StopExecution; locally, the local run). */
export interface BatchStopper {
  /** Stops the batch's execution; stopping one that already ended does nothing. */
  stop(batchId: string, reason: string): Promise<void>;
}

/** The batch is not RUNNING: there is nothing to cancel. */
export class BatchNotRunningError extends ConflictError {
  constructor(batchId: string, status: string) {
    super(`batch '${batchId}' is ${status}: only a RUNNING batch can be cancelled`, { code: 'BATCH_NOT_RUNNING', details: { status } });
  }
}

export interface CancelBatchDeps {
  batches: BatchControlStore;
  stopper: BatchStopper;
  clock: Clock;
}

/** `POST /batches/{id}/cancel`: the batch as cancelled, with the statistics over its results so far. */
export async function cancelBatch(deps: CancelBatchDeps, batchId: string): Promise<Batch> {
  const batch = await deps.batches.get(batchId);
  if (!batch) throw new NotFoundError('batch', batchId);
  if (batch.status !== 'RUNNING') throw new BatchNotRunningError(batchId, batch.status);
  // The cancel's instant is taken before its count, and the count takes the results created by
  // then: items still in flight finish and store their results, created after `completedAt`, and
  // those are exactly the results the statistics leave out (the report lists them apart).
  const completedAt = new Date(deps.clock.now()).toISOString();
  const acc = new StatsAccumulator();
  let completed = 0;
  await deps.batches.forEachResult(batchId, (r) => {
    if (!countedAtCancel(r, completedAt)) return;
    completed += 1;
    acc.add(r);
  });
  const stats = acc.toJSON();
  if (!(await deps.batches.cancel(batchId, stats, completed, completedAt))) {
    // It ended (or was cancelled) between the read and the write.
    const now = await deps.batches.get(batchId);
    throw new BatchNotRunningError(batchId, now?.status ?? 'gone');
  }
  await deps.stopper.stop(batchId, `cancelled through the API at ${completedAt}`);
  // As `GET /batches/{id}` then answers: an ended batch reports its statistics, not running progress.
  const { progress: _progress, ...running } = batch;
  return { ...running, status: 'CANCELLED', stats, completed, completedAt };
}

/**
 * Whether a result of a batch cancelled at `completedAt` is in the statistics of its cancel: one
 * created by then is; one created after it (an item that was in flight when the batch was cancelled
 * and finished afterwards) is listed by `GET /batches/{id}/results` but not counted.
 */
export function countedAtCancel(result: Pick<BatchResult, 'createdAt'>, completedAt: string): boolean {
  return Date.parse(result.createdAt) <= Date.parse(completedAt);
}

/** `GET /batches`: newest first, optionally one function's and/or one status. */
export function listBatches(batches: BatchControlStore, query: ListBatchesQuery & { limit: number; cursor?: string | undefined }): Promise<Page<Batch>> {
  return batches.list(query);
}
