/** The batch-stats task: compute a batch's statistics from its stored results, or mark it FAILED. */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoNoiseProfileStore } from '../adapters/dynamodb/noise-profile-store.js';
import { parseStatsPayload } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { computeBatchStats } from '../core/batch-stats.js';
import type { TableClients } from './clients.js';

export function compose(config: LambdaConfig<'batch-stats'>, clients: TableClients) {
  const deps = { batches: new DynamoBatchStore(clients.doc, config.TABLE_NAME), noiseProfiles: new DynamoNoiseProfileStore(clients.doc, config.TABLE_NAME), clock: clients.clock };
  return (payload: unknown) => computeBatchStats(deps, parseStatsPayload(payload));
}
