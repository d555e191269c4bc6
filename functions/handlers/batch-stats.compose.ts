/** The batch-stats task: compute a batch's statistics from its stored results, or mark it FAILED. */
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoNoiseProfileStore } from '../adapters/dynamodb/noise-profile-store.js';
import { parseStatsPayload, workflowTask } from '../api/batch-tasks.js';
import type { LambdaConfig } from '../config.js';
import { computeBatchStats } from '../core/batch-stats.js';
import { METRIC } from '../adapters/telemetry.js';
import { withLambdaContext, withMetricsPublished, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'batch-stats'>, clients: TableClients) {
  const deps = { batches: new DynamoBatchStore(clients.doc, config.TABLE_NAME), noiseProfiles: new DynamoNoiseProfileStore(clients.doc, config.TABLE_NAME), clock: clients.clock };
  const { logger, telemetry } = clients;
  return withMetricsPublished(clients.telemetry, withLambdaContext(logger, workflowTask(async (payload: unknown) => {
    const outcome = await computeBatchStats(deps, parseStatsPayload(payload));
    telemetry.record(METRIC.batches, 'Count', 1, { status: outcome.status });
    const successful = (outcome.totalReplays ?? 0) - (outcome.failedReplays ?? 0);
    if (outcome.status === 'SUCCEEDED' && successful > 0) telemetry.record(METRIC.batchMatchRate, 'Percent', ((outcome.matches ?? 0) / successful) * 100);
    if (outcome.status === 'SUCCEEDED') logger.info('batch outcome', outcome);
    else logger.error('batch outcome', outcome);
    return outcome;
  })));
}
