/** Lambda entry: self-contained HTML reports of batches, diffs and replays (read-only). */
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './reports.compose.js';

export const handler = compose(lambdaEnv('reports'), awsTableClients());
