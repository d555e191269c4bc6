/** A/B comparisons of two batches over HTTP: `POST /comparisons` (201), `GET /comparisons/{id}`. */
import { compareBatches, getComparison, type ComparisonDeps } from '../core/comparison.js';
import type { RouteMap } from '../http/api.js';
import { ulidParam } from '../http/params.js';

export function comparisonRoutes(deps: ComparisonDeps): RouteMap {
  return {
    'POST /comparisons': async (req) => {
      const comparison = await compareBatches(deps, req.json());
      return { status: 201, body: comparison, headers: { location: `/comparisons/${comparison.comparisonId}` } };
    },
    'GET /comparisons/{id}': async (req) => ({ status: 200, body: await getComparison(deps, ulidParam(req.pathParameters, 'id', 'comparison')) }),
  };
}
