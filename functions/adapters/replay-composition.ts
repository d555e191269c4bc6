/**
 * What the two replaying Lambdas (the API's replay and the batch's per-item replay) compose the
 * same way from their configuration and clients: the stores a replay reads and writes, the
 * executor factory and the similarity provider.
 */
import type { LambdaConfig } from '../config.js';
import type { ExecutorAddressPolicy, SecretHeaderSource } from '../core/executor.js';
import type { ReplayDeps, ReplayResultStore } from '../core/replay.js';
import type { TableClients } from '../handlers/clients.js';
import { DynamoExecutorConfigStore } from './dynamodb/executor-config-store.js';
import { DynamoNoiseProfileStore } from './dynamodb/noise-profile-store.js';
import { DynamoPolicyStore } from './dynamodb/policy-store.js';
import { DynamoReplayResultStore } from './dynamodb/replay-result-store.js';
import { DynamoSnapshotStore } from './dynamodb/snapshot-store.js';
import { createExecutor } from './executors/create-executor.js';
import { executorAddressPolicy } from './executors/network-guard.js';
import { observeExecutors, observeReplayResults } from './observability.js';
import { createSimilarityProvider } from './similarity-provider.js';

/** The configuration both replaying Lambdas read (the variables their manifest entries share). */
export type ReplayConfig = Pick<LambdaConfig<'replay'>, keyof LambdaConfig<'batch-replay'>>;

/**
 * What a replaying Lambda gets besides the table: where secret header values are read, given the
 * configured ARN prefix (Secrets Manager on AWS; the local host reads its environment instead).
 */
export interface ReplayClients extends TableClients {
  executorSecrets: (arnPrefix: string) => SecretHeaderSource;
}

/** Replay dependencies from a replaying Lambda's configuration and clients (call once, at composition). */
export function composeReplayDeps(config: ReplayConfig, clients: ReplayClients): ReplayDeps & { results: ReplayResultStore; secretHeaders: SecretHeaderSource; executorAddresses: ExecutorAddressPolicy } {
  const { doc, clock, ids } = clients;
  const secretHeaders = clients.executorSecrets(config.EXECUTOR_SECRET_ARN_PREFIX);
  const executorDeps = { allowPrivateNetworks: config.EXECUTOR_ALLOW_PRIVATE_NETWORKS, secrets: secretHeaders };
  return {
    secretHeaders,
    executorAddresses: executorAddressPolicy(config.EXECUTOR_ALLOW_PRIVATE_NETWORKS),
    snapshots: new DynamoSnapshotStore(doc, config.TABLE_NAME),
    executors: new DynamoExecutorConfigStore({ doc, tableName: config.TABLE_NAME, clock }),
    createExecutor: observeExecutors((executor) => createExecutor(executor, executorDeps), clients, clock),
    policies: new DynamoPolicyStore(doc, config.TABLE_NAME),
    results: observeReplayResults(new DynamoReplayResultStore(doc, config.TABLE_NAME), clients),
    noiseProfiles: new DynamoNoiseProfileStore(doc, config.TABLE_NAME),
    similarity: createSimilarityProvider(config.SIMILARITY_PROVIDER),
    clock,
    ids,
  };
}
