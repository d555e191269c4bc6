/** Lambda entry: self-contained HTML reports of batches, diffs and replays (read-only). */
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoReportReader } from '../adapters/dynamodb/report-reader.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { createLogger } from '../adapters/logger.js';
import { reportRoutes } from '../api/report-routes.js';
import { loadEnv, required } from '../config.js';
import { makeHttpHandler } from '../http/api.js';

const env = loadEnv(z.object({ TABLE_NAME: required() }));
const doc = createDocumentClient();

export const handler = makeHttpHandler(
  reportRoutes({
    reader: new DynamoReportReader(doc, env.TABLE_NAME, new DynamoBatchStore(doc, env.TABLE_NAME)),
    snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME),
    now: () => new Date().toISOString(),
  }),
  createLogger(),
);
