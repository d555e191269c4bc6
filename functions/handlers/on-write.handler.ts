/** Lambda entry: the DynamoDB stream consumer that validates every new snapshot on write. */
import { awsEventPublisher } from '../adapters/aws/event-publisher.js';
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './on-write.compose.js';

export const handler = compose(lambdaEnv('on-write'), { ...awsTableClients(), eventPublisher: awsEventPublisher });
