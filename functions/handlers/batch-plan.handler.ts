/** Step Functions task: resolve a batch to its snapshot ids (and record a scheduled batch). */
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { batchIdForExecution } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { loadEnv, required } from '../config.js';
import { planBatch } from '../core/batch.js';

const env = loadEnv(z.object({ TABLE_NAME: required() }));
const doc = createDocumentClient();
const deps = { snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME), batches: new DynamoBatchStore(doc, env.TABLE_NAME), batchIdFor: batchIdForExecution };

export const handler = (payload: unknown) => planBatch(deps, payload);
