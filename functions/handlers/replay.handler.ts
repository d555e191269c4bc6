/** Lambda entry: replay snapshots against their registered executor; register executors. */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './replay.compose.js';

export const handler = compose(lambdaEnv('replay'), awsTableClients());
