/** Lambda entry (EventBridge: the batch state machine's Execution Status Change): fail the batch of an execution that ended abnormally. */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './execution-end.compose.js';

export const handler = compose(lambdaEnv('execution-end'), awsTableClients());
