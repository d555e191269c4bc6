/** Step Functions task entry: plan a batch, its snapshot ids into the manifest (and record a scheduled batch). */
import { awsManifestClients } from '../adapters/aws/manifest-clients.js';
import { awsTableClients } from '../adapters/aws/table-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './batch-plan.compose.js';

export const handler = compose(lambdaEnv('batch-plan'), { ...awsTableClients(), ...awsManifestClients() });
