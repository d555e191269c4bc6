/** Lambda entry: start batch replays on Step Functions; report progress, stats and results. */
import { awsBatchStarter } from '../adapters/aws/batch-starter.js';
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './batches.compose.js';

export const handler = compose(lambdaEnv('batches'), { ...awsTableClients(), batchStarter: awsBatchStarter });
