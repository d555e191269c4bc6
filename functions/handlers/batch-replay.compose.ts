/** The batch-replay task: replay one chunk of a batch (or one snapshot) and store the results (or record the errors). */
import { replayIdForBatchItem } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { composeReplayDeps, type ReplayClients } from '../adapters/replay-composition.js';
import { parseReplayPayload, workflowTask } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { BatchItemCache, replayBatchChunk, replayBatchItem } from '../core/batch-replay.js';
import { withLambdaContext, withMetricsPublished } from './clients.js';

export function compose(config: LambdaConfig<'batch-replay'>, clients: ReplayClients) {
  // No executor-config cache in front of the store: the BatchItemCache reads each function's
  // executor once per batch, which is what a batch needs (the same executor for all its items).
  const deps = {
    ...composeReplayDeps(config, clients),
    batches: new DynamoBatchStore(clients.doc, config.TABLE_NAME),
    replayIdFor: (batchId: string, snapshotId: string, timeMs: number) => replayIdForBatchItem(timeMs, batchId, snapshotId),
    cache: new BatchItemCache(),
  };
  const { logger } = clients;
  // A chunk (`items`, what the workflow sends) or a single snapshot (`snapshotId`).
  return withMetricsPublished(clients.telemetry, withLambdaContext(logger, workflowTask(async (payload: unknown) => {
    const command = parseReplayPayload(payload);
    if ('chunk' in command) {
      const { batchId, snapshotIds, failure } = command.chunk;
      const summary = await replayBatchChunk(deps, command.chunk);
      // A stored replay logs its own outcome; these are the items that never produced one.
      if (failure) logger.error('batch chunk failure: its retries are exhausted', { batchId, chunkId: summary.chunkId, snapshots: snapshotIds.length, code: failure.code });
      else if (summary.failed > 0) logger.warn('batch item failures', { batchId, chunkId: summary.chunkId, failed: summary.failed });
      return summary;
    }
    const { item } = command;
    const summary = await replayBatchItem(deps, item);
    if (item.failure) logger.error('batch item failure: its retries are exhausted', { batchId: item.batchId, snapshotId: item.snapshotId, code: item.failure.code });
    else if (summary.status === 'Error') logger.warn('batch item failure', { batchId: item.batchId, snapshotId: item.snapshotId, status: summary.status });
    return summary;
  })));
}
