/** The batch-replay task: replay one snapshot of a batch and store its result (or record its error). */
import { replayIdForBatchItem } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { composeReplayDeps } from '../adapters/replay-composition.js';
import { parseReplayItemPayload } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { BatchItemCache, replayBatchItem } from '../core/batch.js';
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
  return (payload: unknown) => replayBatchItem(deps, parseReplayItemPayload(payload));
}
