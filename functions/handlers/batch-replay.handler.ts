/** Step Functions task: replay one snapshot of a batch and store its result (or record its error). */
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { replayIdForBatchItem } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoExecutorConfigStore } from '../adapters/dynamodb/executor-config-store.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoReplayResultStore } from '../adapters/dynamodb/replay-result-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { createExecutor } from '../adapters/executors/create-executor.js';
import { ulidGenerator } from '../adapters/ids.js';
import { createSimilarityProvider, SIMILARITY_PROVIDERS } from '../adapters/similarity-provider.js';
import { flag, loadEnv, required } from '../config.js';
import { BatchItemCache, replayBatchItem } from '../core/batch.js';
import { systemClock } from '../core/ports.js';

const env = loadEnv(
  z.object({
    TABLE_NAME: required(),
    SIMILARITY_PROVIDER: z._default(z.enum(SIMILARITY_PROVIDERS), 'lexical'),
    EXECUTOR_ALLOW_PRIVATE_NETWORKS: flag(),
  }),
);
const doc = createDocumentClient();
const executorDeps = { allowPrivateNetworks: env.EXECUTOR_ALLOW_PRIVATE_NETWORKS };
const deps = {
  snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME),
  executors: new DynamoExecutorConfigStore({ doc, tableName: env.TABLE_NAME }),
  createExecutor: (config: Parameters<typeof createExecutor>[0]) => createExecutor(config, executorDeps),
  policies: new DynamoPolicyStore(doc, env.TABLE_NAME),
  similarity: createSimilarityProvider(env.SIMILARITY_PROVIDER),
  batches: new DynamoBatchStore(doc, env.TABLE_NAME),
  results: new DynamoReplayResultStore(doc, env.TABLE_NAME),
  clock: systemClock,
  ids: ulidGenerator(),
  replayIdFor: (batchId: string, snapshotId: string, timeMs: number) => replayIdForBatchItem(timeMs, batchId, snapshotId),
  cache: new BatchItemCache(),
};

export const handler = (payload: unknown) => replayBatchItem(deps, payload);
