/** Step Functions task: plan a batch — its ids into the manifest (and record a scheduled batch). */
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { batchIdForExecution } from '../adapters/batch-ids.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { S3ManifestStore } from '../adapters/s3/manifest-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { loadEnv, required } from '../config.js';
import { planBatch } from '../core/batch.js';

const env = loadEnv(z.object({ TABLE_NAME: required(), MANIFEST_BUCKET: required() }));
const doc = createDocumentClient();
const deps = { snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME), batches: new DynamoBatchStore(doc, env.TABLE_NAME), manifests: new S3ManifestStore(new S3Client({}), env.MANIFEST_BUCKET), batchIdFor: batchIdForExecution };

export const handler = (payload: unknown) => planBatch(deps, payload);
