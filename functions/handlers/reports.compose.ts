/** The reports Lambda: self-contained HTML reports of batches, diffs, replays and comparisons (reads only). */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoComparisonStore } from '../adapters/dynamodb/comparison-store.js';
import { DynamoReportReader } from '../adapters/dynamodb/report-reader.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { reportRoutes } from '../api/report-routes.js';
import type { LambdaConfig } from '../config.js';
import { makeHttpHandler } from '../http/api.js';
import { withMetricsPublished, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'reports'>, clients: TableClients) {
  const batches = new DynamoBatchStore(clients.doc, config.TABLE_NAME);
  return withMetricsPublished(clients.telemetry, makeHttpHandler(
    reportRoutes({
      reader: new DynamoReportReader(clients.doc, config.TABLE_NAME, batches),
      snapshots: new DynamoSnapshotStore(clients.doc, config.TABLE_NAME),
      comparisons: new DynamoComparisonStore(clients.doc, config.TABLE_NAME),
      now: () => new Date(clients.clock.now()).toISOString(),
    }),
    clients.logger,
  ));
}
