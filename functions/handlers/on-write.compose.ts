/** The on-write stream consumer: validate every new snapshot against the policies attached to its function. */
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../adapters/dynamodb/validation-report-store.js';
import { onWriteReportId } from '../adapters/ids.js';
import { observeViolations } from '../adapters/observability.js';
import { createSimilarityProvider } from '../adapters/similarity-provider.js';
import { METRIC } from '../adapters/telemetry.js';
import { thrownFailure } from '../api/error-codes.js';
import { makeStreamHandler, type RecordFailureListener, type StreamObserver } from '../api/stream-consumer.js';
import type { LambdaConfig } from '../config.js';
import { AttachedPoliciesCache } from '../core/policy-cache.js';
import { withLambdaContext, withMetricsPublished, type EventPublisherFactory, type PolicyClients, type TableClients } from './clients.js';

export function compose(config: LambdaConfig<'on-write'>, clients: TableClients & PolicyClients & { eventPublisher: EventPublisherFactory; recordFailures?: RecordFailureListener }) {
  const { doc, clock, logger, telemetry } = clients;
  const observer: StreamObserver = {
    // From the write to its validation: the stream's delay plus this function's work.
    processed: (snapshot) => telemetry.record(METRIC.onWriteLag, 'Milliseconds', Math.max(0, clock.now() - Date.parse(snapshot.createdAt))),
    // Reported to the stream as a batch item failure: retried, bisected, then sent to the failure
    // queue. Logged under its code (PAYLOAD_TOO_LARGE, …), as a batch item's error is.
    failed: (record, error) => {
      const failure = thrownFailure(error);
      logger.error('stream record failed', {
        eventID: record.eventID,
        sequenceNumber: record.dynamodb?.SequenceNumber,
        error: { code: failure.code, message: failure.message.slice(0, 500) },
      });
      clients.recordFailures?.(record, failure);
    },
  };
  const handler = makeStreamHandler(
    {
      snapshots: new DynamoSnapshotStore(doc, config.TABLE_NAME),
      // Which policies are attached is read through a short cache: most writes then need no policy query.
      policies: (clients.policyCache ?? new AttachedPoliciesCache(clock)).readThrough(new DynamoPolicyStore(doc, config.TABLE_NAME)),
      reports: new DynamoValidationReportStore(doc, config.TABLE_NAME),
      similarity: createSimilarityProvider(config.SIMILARITY_PROVIDER),
      events: observeViolations(clients.eventPublisher(config.EVENT_BUS_NAME), clients),
      reportId: onWriteReportId,
      now: () => new Date(clock.now()).toISOString(),
    },
    observer,
  );
  return withMetricsPublished(telemetry, withLambdaContext(logger, handler));
}
