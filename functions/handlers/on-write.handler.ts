/** Lambda entry: the DynamoDB stream consumer that validates every new snapshot on write. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../adapters/dynamodb/validation-report-store.js';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher.js';
import { onWriteReportId } from '../adapters/ids.js';
import { createSimilarityProvider, SIMILARITY_PROVIDERS } from '../adapters/similarity-provider.js';
import { makeStreamHandler } from '../api/stream-consumer.js';
import { loadEnv, required } from '../config.js';

const env = loadEnv(z.object({ TABLE_NAME: required(), EVENT_BUS_NAME: required(), SIMILARITY_PROVIDER: z._default(z.enum(SIMILARITY_PROVIDERS), 'lexical') }));
const doc = createDocumentClient();

export const handler = makeStreamHandler({
  snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME),
  policies: new DynamoPolicyStore(doc, env.TABLE_NAME),
  reports: new DynamoValidationReportStore(doc, env.TABLE_NAME),
  similarity: createSimilarityProvider(env.SIMILARITY_PROVIDER),
  events: new EventBridgePublisher(new EventBridgeClient({}), env.EVENT_BUS_NAME),
  reportId: onWriteReportId,
  now: () => new Date().toISOString(),
});
