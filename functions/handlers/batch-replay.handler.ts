/** Step Functions task: replay one chunk of a batch (or one snapshot) and store the results (or record the errors). */
import { replayIdForBatchItem } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { composeReplayDeps } from '../adapters/replay-composition.js';
import { BatchItemCache, replayBatchChunk, replayBatchItem } from '../core/batch.js';

const replay = composeReplayDeps();
const deps = {
  ...replay,
  batches: new DynamoBatchStore(replay.doc, replay.tableName),
  replayIdFor: (batchId: string, snapshotId: string, timeMs: number) => replayIdForBatchItem(timeMs, batchId, snapshotId),
  cache: new BatchItemCache(),
};

/** A chunk (`items`, what the workflow sends) or a single snapshot (`snapshotId`). */
export const handler = (payload: unknown) => (typeof payload === 'object' && payload !== null && 'items' in payload ? replayBatchChunk(deps, payload) : replayBatchItem(deps, payload));
