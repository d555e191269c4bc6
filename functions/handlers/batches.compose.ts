/** The batches Lambda: start batch replays; report progress, stats and results. */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { batchRoutes } from '../api/batch-routes.js';
import type { LambdaConfig } from '../config.js';
import { makeHttpHandler } from '../http/api.js';
import type { BatchStarterFactory, TableClients } from './clients.js';

export function compose(config: LambdaConfig<'batches'>, clients: TableClients & { batchStarter: BatchStarterFactory }) {
  const { doc, clock, ids } = clients;
  const starter = clients.batchStarter(config.STATE_MACHINE_ARN);
  return makeHttpHandler(
    batchRoutes({
      snapshots: new DynamoSnapshotStore(doc, config.TABLE_NAME),
      batches: new DynamoBatchStore(doc, config.TABLE_NAME),
      starter,
      stopper: starter,
      policies: new DynamoPolicyStore(doc, config.TABLE_NAME),
      clock,
      ids,
    }),
    clients.logger,
  );
}
