/** Step Functions task entry: replay one snapshot of a batch and store its result (or record its error). */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { secretsManagerHeaders } from '../adapters/executors/secret-headers.js';
import { lambdaEnv } from '../config.js';
import { compose } from './batch-replay.compose.js';

export const handler = compose(lambdaEnv('batch-replay'), { ...awsTableClients(), executorSecrets: (arnPrefix) => secretsManagerHeaders(arnPrefix) });
