/** Lambda entry: the OpenAPI document, and 404 for unknown routes. */
import { awsBaseClients } from '../adapters/aws/clients.js';
import { lambdaEnv } from '../config.js';
import { compose } from './openapi.compose.js';

export const handler = compose(lambdaEnv('openapi'), awsBaseClients());
