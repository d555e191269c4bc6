/** Lambda entry: the OpenAPI document, and 404 for unknown routes. */
import { createLogger } from '../adapters/logger.js';
import { openApiRoutes } from '../api/openapi-routes.js';
import { makeHttpHandler } from '../http/api.js';

export const handler = makeHttpHandler(openApiRoutes(), createLogger());
