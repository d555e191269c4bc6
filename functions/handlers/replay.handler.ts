/** Lambda entry: replay snapshots against their registered executor; register executors. */
import { secretCursorKey } from '../adapters/cursor-key.js';
import { useCursorKey } from '../adapters/dynamodb/cursor.js';
import { secretsManagerReader } from '../adapters/secrets.js';
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { secretsManagerHeaders } from '../adapters/executors/secret-headers.js';
import { lambdaEnv } from '../config.js';
import { compose } from './replay.compose.js';

const config = lambdaEnv('replay');
useCursorKey(secretCursorKey(secretsManagerReader(), config.CURSOR_SECRET_ARN));

export const handler = compose(config, { ...awsTableClients(), executorSecrets: (arnPrefix) => secretsManagerHeaders(arnPrefix) });
