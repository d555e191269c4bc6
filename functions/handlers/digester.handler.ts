/** Lambda entry (EventBridge schedule): seal every closed window of records in a signed digest. */
import { awsAuditClients } from '../adapters/aws/audit-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './digester.compose.js';

export const handler = compose(lambdaEnv('digester'), awsAuditClients());
