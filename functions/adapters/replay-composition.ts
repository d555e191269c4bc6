/**
 * What the two replaying Lambdas (the API's replay and the batch's per-item replay) compose the
 * same way from their environment: the stores a replay reads and writes, the executor factory and
 * the similarity provider.
 */
import * as z from 'zod/mini';
import { flag, loadEnv, required } from '../config.js';
import type { ReplayDeps, ReplayResultStore } from '../core/replay.js';
import { systemClock } from '../core/ports.js';
import { createDocumentClient } from './aws-clients.js';
import { DynamoExecutorConfigStore } from './dynamodb/executor-config-store.js';
import { DynamoNoiseProfileStore } from './dynamodb/noise-profile-store.js';
import { DynamoPolicyStore } from './dynamodb/policy-store.js';
import { DynamoReplayResultStore } from './dynamodb/replay-result-store.js';
import { DynamoSnapshotStore } from './dynamodb/snapshot-store.js';
import { createExecutor } from './executors/create-executor.js';
import { ulidGenerator } from './ids.js';
import { createSimilarityProvider, SIMILARITY_PROVIDERS } from './similarity-provider.js';

export const ReplayEnvSchema = z.object({
  TABLE_NAME: required(),
  SIMILARITY_PROVIDER: z._default(z.enum(SIMILARITY_PROVIDERS), 'lexical'),
  EXECUTOR_ALLOW_PRIVATE_NETWORKS: flag(),
});

/** Replay dependencies from the Lambda environment (call once, at module scope). */
export function composeReplayDeps(): ReplayDeps & { results: ReplayResultStore; doc: ReturnType<typeof createDocumentClient>; tableName: string } {
  const env = loadEnv(ReplayEnvSchema);
  const doc = createDocumentClient();
  const executorDeps = { allowPrivateNetworks: env.EXECUTOR_ALLOW_PRIVATE_NETWORKS };
  return {
    doc,
    tableName: env.TABLE_NAME,
    snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME),
    executors: new DynamoExecutorConfigStore({ doc, tableName: env.TABLE_NAME }),
    createExecutor: (config) => createExecutor(config, executorDeps),
    policies: new DynamoPolicyStore(doc, env.TABLE_NAME),
    results: new DynamoReplayResultStore(doc, env.TABLE_NAME),
    noiseProfiles: new DynamoNoiseProfileStore(doc, env.TABLE_NAME),
    similarity: createSimilarityProvider(env.SIMILARITY_PROVIDER),
    clock: systemClock,
    ids: ulidGenerator(),
  };
}
