/** Lambda entry: versioned policies and validation of snapshots against them. */
import { useDeploymentCursorKey } from '../adapters/cursor-key.js';
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../adapters/dynamodb/validation-report-store.js';
import { ulidGenerator } from '../adapters/ids.js';
import { createLogger } from '../adapters/logger.js';
import { createSimilarityProvider, SIMILARITY_PROVIDERS } from '../adapters/similarity-provider.js';
import { validationRoutes } from '../api/validation-routes.js';
import { loadEnv, required } from '../config.js';
import { systemClock } from '../core/ports.js';
import { makeHttpHandler } from '../http/api.js';

const env = loadEnv(z.object({ TABLE_NAME: required(), SIMILARITY_PROVIDER: z._default(z.enum(SIMILARITY_PROVIDERS), 'lexical') }));
const doc = createDocumentClient();

useDeploymentCursorKey();

export const handler = makeHttpHandler(
  validationRoutes({
    snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME),
    policies: new DynamoPolicyStore(doc, env.TABLE_NAME),
    reports: new DynamoValidationReportStore(doc, env.TABLE_NAME),
    similarity: createSimilarityProvider(env.SIMILARITY_PROVIDER),
    clock: systemClock,
    ids: ulidGenerator(),
  }),
  createLogger(),
);
