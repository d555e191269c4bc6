/** The openapi Lambda: the OpenAPI document, and 404 for unknown routes. */
import { openApiRoutes } from '../api/openapi-routes.js';
import type { LambdaConfig } from '../config.js';
import { makeHttpHandler } from '../http/api.js';
import type { BaseClients } from './clients.js';

export function compose(_config: LambdaConfig<'openapi'>, clients: BaseClients) {
  return makeHttpHandler(openApiRoutes(), clients.logger);
}
