/** The batch-plan task: plan a batch, its snapshot ids into the manifest (and record a scheduled batch). */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoNoiseProfileStore } from '../adapters/dynamodb/noise-profile-store.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { S3ManifestStore } from '../adapters/s3/manifest-store.js';
import { parsePlanPayload, workflowTask } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { planBatch } from '../core/batch.js';
import { withLambdaContext, withMetricsPublished, type ManifestClients, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'batch-plan'>, clients: TableClients & ManifestClients) {
  const deps = {
    snapshots: new DynamoSnapshotStore(clients.doc, config.TABLE_NAME),
    batches: new DynamoBatchStore(clients.doc, config.TABLE_NAME),
    manifests: new S3ManifestStore(clients.s3, config.MANIFEST_BUCKET),
    policies: new DynamoPolicyStore(clients.doc, config.TABLE_NAME),
    // Pins a scheduled batch's noiseProfile "latest" to a version when Plan records it; without
    // it the pin was skipped and each item read the latest when it ran.
    noiseProfiles: new DynamoNoiseProfileStore(clients.doc, config.TABLE_NAME),
  };
  return withMetricsPublished(clients.telemetry, withLambdaContext(clients.logger, workflowTask((payload: unknown) => planBatch(deps, parsePlanPayload(payload)))));
}
