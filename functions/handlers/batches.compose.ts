/** The batches Lambda: start batch replays; report progress, stats and results; compare two batches; start learning noise profiles and read them. */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoComparisonStore } from '../adapters/dynamodb/comparison-store.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { DynamoExecutorConfigStore } from '../adapters/dynamodb/executor-config-store.js';
import { DynamoNoiseProfileStore } from '../adapters/dynamodb/noise-profile-store.js';
import { observeBatchCancels } from '../adapters/observability.js';
import { batchRoutes } from '../api/batch-routes.js';
import { comparisonRoutes } from '../api/comparison-routes.js';
import { noiseProfileRoutes } from '../api/noise-profile-routes.js';
import type { LambdaConfig } from '../config.js';
import { manifestSources } from '../core/id-manifest.js';
import { makeHttpHandler } from '../http/api.js';
import { withMetricsPublished, type BatchStarterFactory, type ManifestStoreFactory, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'batches'>, clients: TableClients & { manifestStore: ManifestStoreFactory; batchStarter: BatchStarterFactory }) {
  const { doc, clock, ids } = clients;
  const starter = clients.batchStarter(config.STATE_MACHINE_ARN);
  const deps = {
    snapshots: new DynamoSnapshotStore(doc, config.TABLE_NAME),
    batches: observeBatchCancels(new DynamoBatchStore(doc, config.TABLE_NAME), clients),
    manifests: clients.manifestStore(config.MANIFEST_BUCKET),
    starter,
    stopper: starter,
    policies: new DynamoPolicyStore(doc, config.TABLE_NAME),
    executors: new DynamoExecutorConfigStore({ doc, tableName: config.TABLE_NAME, clock }),
    noiseProfiles: new DynamoNoiseProfileStore(doc, config.TABLE_NAME),
    manifestSources: manifestSources(config.MANIFEST_BUCKET, config.ID_MANIFEST_BUCKETS),
    clock,
    ids,
  };
  return withMetricsPublished(clients.telemetry, makeHttpHandler(
    {
      ...batchRoutes(deps),
      ...noiseProfileRoutes(deps),
      ...comparisonRoutes({ batches: deps.batches, comparisons: new DynamoComparisonStore(doc, config.TABLE_NAME), clock, ids }),
    },
    clients.logger,
  ));
}
