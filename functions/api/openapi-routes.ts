/**
 * `GET /openapi.json` — the API described from the same zod schemas the handlers parse with — and
 * the `$default` route, which answers 404 in the API's error shape for any unknown route.
 */
import { NotFoundError } from '../core/errors.js';
import type { RouteMap } from '../http/api.js';
import { buildOpenApiDocument } from './openapi.js';

export function openApiRoutes(): RouteMap {
  let document: unknown;
  return {
    'GET /openapi.json': async () => {
      document ??= buildOpenApiDocument();
      return { status: 200, body: document };
    },
    $default: async (req) => {
      throw new NotFoundError('route', `${req.method} ${req.path}`, { code: 'ROUTE_NOT_FOUND', message: `no route for ${req.method} ${req.path}; see GET /openapi.json` });
    },
  };
}
