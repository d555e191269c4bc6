/** Lambda entry: the audit seal over HTTP (public key, digests, verification). */
import { awsAuditClientsOnFirstUse } from '../adapters/aws/audit-clients-on-first-use.js';
import { lambdaEnv } from '../config.js';
import { compose } from './audit.compose.js';

export const handler = compose(lambdaEnv('audit'), awsAuditClientsOnFirstUse());
