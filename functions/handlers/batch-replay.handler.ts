/** Step Functions task: replay one snapshot of a batch and store its result (or record its error). */
import { replayIdForBatchItem } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { composeReplayDeps } from '../adapters/replay-composition.js';
import { BatchItemCache, replayBatchItem } from '../core/batch.js';

const replay = composeReplayDeps();
const deps = {
  ...replay,
  batches: new DynamoBatchStore(replay.doc, replay.tableName),
  replayIdFor: (batchId: string, snapshotId: string, timeMs: number) => replayIdForBatchItem(timeMs, batchId, snapshotId),
  cache: new BatchItemCache(),
};

export const handler = (payload: unknown) => replayBatchItem(deps, payload);
