/** Step Functions task: compute a batch's statistics from its stored results, or mark it FAILED. */
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { batchIdForExecution } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoNoiseProfileStore } from '../adapters/dynamodb/noise-profile-store.js';
import { loadEnv, required } from '../config.js';
import { computeBatchStats } from '../core/batch-stats.js';
import { systemClock } from '../core/ports.js';

const env = loadEnv(z.object({ TABLE_NAME: required() }));
const doc = createDocumentClient();
const deps = { batches: new DynamoBatchStore(doc, env.TABLE_NAME), noiseProfiles: new DynamoNoiseProfileStore(doc, env.TABLE_NAME), clock: systemClock, batchIdFor: batchIdForExecution };

export const handler = (payload: unknown) => computeBatchStats(deps, payload);
