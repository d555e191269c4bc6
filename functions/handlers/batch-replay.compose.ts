/** The batch-replay task: replay one snapshot of a batch and store its result (or record its error). */
import { replayIdForBatchItem } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { composeReplayDeps, type ReplayClients } from '../adapters/replay-composition.js';
import { parseReplayItemPayload } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { BatchItemCache, replayBatchItem } from '../core/batch.js';
import { withLambdaContext } from './clients.js';

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
  return withLambdaContext(logger, async (payload: unknown) => {
    const command = parseReplayItemPayload(payload);
    const summary = await replayBatchItem(deps, command);
    // A stored replay logs its own outcome; these are the items that never produced one.
    if (command.failure) logger.error('batch item failure: its retries are exhausted', { batchId: command.batchId, snapshotId: command.snapshotId, code: command.failure.code });
    else if (summary.status === 'Error') logger.warn('batch item failure', { batchId: command.batchId, snapshotId: command.snapshotId, status: summary.status });
    return summary;
  });
}
