/** The batch-plan task: resolve a batch to its snapshot ids (and record a scheduled batch). */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { parsePlanPayload } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { planBatch } from '../core/batch.js';
import { withLambdaContext, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'batch-plan'>, clients: TableClients) {
  const deps = { snapshots: new DynamoSnapshotStore(clients.doc, config.TABLE_NAME), batches: new DynamoBatchStore(clients.doc, config.TABLE_NAME) };
  return withLambdaContext(clients.logger, (payload: unknown) => planBatch(deps, parsePlanPayload(payload)));
}
