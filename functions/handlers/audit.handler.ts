/** Lambda entry: the audit seal over HTTP (public key, digests, verification). */
import { awsAuditClients } from '../adapters/aws/audit-clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './audit.compose.js';

export const handler = compose(lambdaEnv('audit'), awsAuditClients());
