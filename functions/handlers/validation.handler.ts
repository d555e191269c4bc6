/** Lambda entry: versioned policies and validation of snapshots against them. */
import { secretCursorKey } from '../adapters/cursor-key.js';
import { useCursorKey } from '../adapters/dynamodb/cursor.js';
import { secretsManagerReader } from '../adapters/secrets.js';
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './validation.compose.js';

const config = lambdaEnv('validation');
useCursorKey(secretCursorKey(secretsManagerReader(), config.CURSOR_SECRET_ARN));

export const handler = compose(config, awsTableClients());
