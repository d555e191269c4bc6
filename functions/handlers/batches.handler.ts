/** Lambda entry: start batch replays on Step Functions; report progress, stats and results. */
import { SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoPolicyStore } from '../adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store.js';
import { ulidGenerator } from '../adapters/ids.js';
import { createLogger } from '../adapters/logger.js';
import { SfnBatchStarter } from '../adapters/sfn-batch-starter.js';
import { batchRoutes } from '../api/batch-routes.js';
import { noiseProfileRoutes } from '../api/noise-profile-routes.js';
import { DynamoExecutorConfigStore } from '../adapters/dynamodb/executor-config-store.js';
import { DynamoNoiseProfileStore } from '../adapters/dynamodb/noise-profile-store.js';
import { loadEnv, required } from '../config.js';
import { systemClock } from '../core/ports.js';
import { makeHttpHandler } from '../http/api.js';

const env = loadEnv(z.object({ TABLE_NAME: required(), STATE_MACHINE_ARN: required() }));
const doc = createDocumentClient();

const deps = {
  snapshots: new DynamoSnapshotStore(doc, env.TABLE_NAME),
  batches: new DynamoBatchStore(doc, env.TABLE_NAME),
  starter: new SfnBatchStarter(new SFNClient({}), env.STATE_MACHINE_ARN),
  policies: new DynamoPolicyStore(doc, env.TABLE_NAME),
  executors: new DynamoExecutorConfigStore({ doc, tableName: env.TABLE_NAME }),
  noiseProfiles: new DynamoNoiseProfileStore(doc, env.TABLE_NAME),
  clock: systemClock,
  ids: ulidGenerator(),
};

export const handler = makeHttpHandler({ ...batchRoutes(deps), ...noiseProfileRoutes(deps) }, createLogger());
