/** Lambda entry: versioned policies and validation of snapshots against them. */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './validation.compose.js';

export const handler = compose(lambdaEnv('validation'), awsTableClients());
