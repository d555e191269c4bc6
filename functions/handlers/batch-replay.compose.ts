/** The batch-replay task: replay one chunk of a batch (or one snapshot) and store the results (or record the errors). */
import { replayIdForBatchItem } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { composeReplayDeps } from '../adapters/replay-composition.js';
import { parseReplayPayload } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { BatchItemCache, replayBatchChunk, replayBatchItem } from '../core/batch.js';
import type { TableClients } from './clients.js';

export function compose(config: LambdaConfig<'batch-replay'>, clients: TableClients) {
  // No executor-config cache in front of the store: the BatchItemCache reads each function's
  // executor once per batch, which is what a batch needs (the same executor for all its items).
  const deps = {
    ...composeReplayDeps(config, clients),
    batches: new DynamoBatchStore(clients.doc, config.TABLE_NAME),
    replayIdFor: (batchId: string, snapshotId: string, timeMs: number) => replayIdForBatchItem(timeMs, batchId, snapshotId),
    cache: new BatchItemCache(),
  };
  // A chunk (`items`, what the workflow sends) or a single snapshot (`snapshotId`).
  return (payload: unknown) => {
    const command = parseReplayPayload(payload);
    return 'chunk' in command ? replayBatchChunk(deps, command.chunk) : replayBatchItem(deps, command.item);
  };
}
