/** Lambda entry: record, read, list and diff snapshots. */
import { useDeploymentCursorKey } from '../adapters/cursor-key.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { ulidGenerator } from '../adapters/ids.js';
import { createLogger } from '../adapters/logger.js';
import { snapshotRoutes } from '../api/snapshot-routes.js';
import { loadEnv, required } from '../config.js';
import { systemClock } from '../core/ports.js';
import { makeHttpHandler } from '../http/api.js';
import * as z from 'zod/mini';

const env = loadEnv(z.object({ TABLE_NAME: required() }));
const store = new DynamoSnapshotStore(createDocumentClient(), env.TABLE_NAME);

useDeploymentCursorKey();

export const handler = makeHttpHandler(snapshotRoutes({ store, clock: systemClock, ids: ulidGenerator() }), createLogger());
