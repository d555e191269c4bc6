/** Step Functions task entry: plan a batch, its snapshot ids into the manifest (and record a scheduled batch). */
import { S3Client } from '@aws-sdk/client-s3';
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './batch-plan.compose.js';

export const handler = compose(lambdaEnv('batch-plan'), { ...awsTableClients(), s3: new S3Client({}) });
