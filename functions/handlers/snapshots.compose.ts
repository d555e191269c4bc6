/** The snapshots Lambda: record, read, list and diff snapshots. */
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { snapshotRoutes } from '../api/snapshot-routes.js';
import type { LambdaConfig } from '../config.js';
import { makeHttpHandler } from '../http/api.js';
import { withMetricsPublished, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'snapshots'>, clients: TableClients) {
  const store = new DynamoSnapshotStore(clients.doc, config.TABLE_NAME);
  return withMetricsPublished(clients.telemetry, makeHttpHandler(snapshotRoutes({ store, clock: clients.clock, ids: clients.ids }), clients.logger));
}
