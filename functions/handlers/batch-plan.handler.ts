/** Step Functions task entry: resolve a batch to its snapshot ids (and record a scheduled batch). */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './batch-plan.compose.js';

export const handler = compose(lambdaEnv('batch-plan'), awsTableClients());
