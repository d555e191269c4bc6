/** Lambda entry: start batch replays on Step Functions; report progress, stats and results. */
import { secretCursorKey } from '../adapters/cursor-key.js';
import { useCursorKey } from '../adapters/dynamodb/cursor.js';
import { secretsManagerReader } from '../adapters/secrets.js';
import { awsBatchStarter } from '../adapters/aws/batch-starter.js';
import { awsManifestStoreOnFirstUse } from '../adapters/aws/manifest-store-on-first-use.js';
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './batches.compose.js';

const config = lambdaEnv('batches');
useCursorKey(secretCursorKey(secretsManagerReader(), config.CURSOR_SECRET_ARN));

export const handler = compose(config, { ...awsTableClients(), manifestStore: awsManifestStoreOnFirstUse, batchStarter: awsBatchStarter });
