/** The on-write stream consumer: validate every new snapshot against the policies attached to its function. */
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../adapters/dynamodb/validation-report-store.js';
import { onWriteReportId } from '../adapters/ids.js';
import { createSimilarityProvider } from '../adapters/similarity-provider.js';
import { makeStreamHandler } from '../api/stream-consumer.js';
import type { LambdaConfig } from '../config.js';
import type { EventPublisherFactory, TableClients } from './clients.js';

export function compose(config: LambdaConfig<'on-write'>, clients: TableClients & { eventPublisher: EventPublisherFactory }) {
  const { doc, clock } = clients;
  return makeStreamHandler({
    snapshots: new DynamoSnapshotStore(doc, config.TABLE_NAME),
    policies: new DynamoPolicyStore(doc, config.TABLE_NAME),
    reports: new DynamoValidationReportStore(doc, config.TABLE_NAME),
    similarity: createSimilarityProvider(config.SIMILARITY_PROVIDER),
    events: clients.eventPublisher(config.EVENT_BUS_NAME),
    reportId: onWriteReportId,
    now: () => new Date(clock.now()).toISOString(),
  });
}
