/** The openapi Lambda: the OpenAPI document, and 404 for unknown routes. */
import { openApiRoutes } from '../api/openapi-routes.js';
import type { LambdaConfig } from '../config.js';
import { makeHttpHandler } from '../http/api.js';
import { withMetricsPublished, type BaseClients } from './clients.js';

export function compose(_config: LambdaConfig<'openapi'>, clients: BaseClients) {
  return withMetricsPublished(clients.telemetry, makeHttpHandler(openApiRoutes(), clients.logger));
}
