/** Lambda entry: replay snapshots against their registered executor; register executors. */
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoExecutorConfigStore } from '../adapters/dynamodb/executor-config-store.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoReplayResultStore } from '../adapters/dynamodb/replay-result-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { createExecutor } from '../adapters/executors/create-executor.js';
import { ulidGenerator } from '../adapters/ids.js';
import { createLogger } from '../adapters/logger.js';
import { createSimilarityProvider, SIMILARITY_PROVIDERS } from '../adapters/similarity-provider.js';
import { replayRoutes } from '../api/replay-routes.js';
import { flag, loadEnv, required } from '../config.js';
import { CachedExecutorConfigStore } from '../core/executor-config-cache.js';
import { systemClock } from '../core/ports.js';
import { makeHttpHandler } from '../http/api.js';

const env = loadEnv(
  z.object({
    TABLE_NAME: required(),
    SIMILARITY_PROVIDER: z._default(z.enum(SIMILARITY_PROVIDERS), 'lexical'),
    EXECUTOR_ALLOW_PRIVATE_NETWORKS: flag(),
  }),
);
const doc = createDocumentClient();
const executorDeps = { allowPrivateNetworks: env.EXECUTOR_ALLOW_PRIVATE_NETWORKS };

export const handler = makeHttpHandler(
  replayRoutes({
    snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME),
    executors: new CachedExecutorConfigStore(new DynamoExecutorConfigStore({ doc, tableName: env.TABLE_NAME }), systemClock),
    createExecutor: (config) => createExecutor(config, executorDeps),
    policies: new DynamoPolicyStore(doc, env.TABLE_NAME),
    results: new DynamoReplayResultStore(doc, env.TABLE_NAME),
    similarity: createSimilarityProvider(env.SIMILARITY_PROVIDER),
    clock: systemClock,
    ids: ulidGenerator(),
  }),
  createLogger(),
);
