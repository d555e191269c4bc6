/** The validation Lambda: versioned policies and validation of snapshots against them. */
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../adapters/dynamodb/validation-report-store.js';
import { createSimilarityProvider } from '../adapters/similarity-provider.js';
import { validationRoutes } from '../api/validation-routes.js';
import type { LambdaConfig } from '../config.js';
import { makeHttpHandler } from '../http/api.js';
import { withMetricsPublished, type PolicyClients, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'validation'>, clients: TableClients & PolicyClients) {
  const { doc, clock, ids } = clients;
  const policies = new DynamoPolicyStore(doc, config.TABLE_NAME);
  return withMetricsPublished(clients.telemetry, makeHttpHandler(
    validationRoutes({
      snapshots: new DynamoSnapshotStore(doc, config.TABLE_NAME),
      // A stored version clears the attached-policies cache on-write reads (when this process shares one).
      policies: clients.policyCache?.invalidatedBy(policies) ?? policies,
      reports: new DynamoValidationReportStore(doc, config.TABLE_NAME),
      similarity: createSimilarityProvider(config.SIMILARITY_PROVIDER),
      clock,
      ids,
    }),
    clients.logger,
  ));
}
