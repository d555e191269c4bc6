/** Step Functions task entry: compute a batch's statistics from its stored results, or mark it FAILED. */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './batch-stats.compose.js';

export const handler = compose(lambdaEnv('batch-stats'), awsTableClients());
