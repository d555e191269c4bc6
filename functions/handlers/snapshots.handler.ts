/** Lambda entry: record, read, list and diff snapshots. */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './snapshots.compose.js';

export const handler = compose(lambdaEnv('snapshots'), awsTableClients());
