/**
 * Policies (`PUT/GET /policies/{name}`, `GET /policies`) and validation
 * (`POST /snapshots/{id}/validate`, `GET /snapshots/{id}/validations`). DESIGN §4.
 */
import { NotFoundError, ValidationError } from '../core/errors.js';
import { PolicyNameSchema, parsePolicyBody } from '../core/policy.js';
import { validateOnDemand, type ValidationDeps } from '../core/validation.js';
import type { RouteMap } from '../http/api.js';
import { parseListParams, parseVersionParam, pathParam, ulidParam } from '../http/params.js';
import { loadSnapshot } from './snapshot-routes.js';

/** The routes read and store through the same ports as on-demand validation. */
export type ValidationRoutesDeps = ValidationDeps;

/** A policy name from the path; a name that cannot exist is a 404 that says why. */
function policyNameParam(params: Readonly<Record<string, string>>): string {
  const name = pathParam(params, 'name');
  const parsed = PolicyNameSchema.safeParse(name);
  if (!parsed.success) throw new NotFoundError('policy', name, { message: `policy '${name}' does not exist (${parsed.error.issues[0]?.message ?? 'invalid name'})` });
  return name;
}

export function validationRoutes(deps: ValidationRoutesDeps): RouteMap {
  return {
    'PUT /policies/{name}': async (req) => {
      const name = pathParam(req.pathParameters, 'name');
      const parsedName = PolicyNameSchema.safeParse(name);
      if (!parsedName.success) {
        const message = parsedName.error.issues[0]?.message ?? 'invalid policy name';
        throw new ValidationError(`policy name '${name}': ${message}`, { details: { issues: [{ path: 'name', message }] } });
      }
      const body = await parsePolicyBody(req.json(), name);
      const stored = await deps.policies.putNextVersion({ ...body, name }, new Date(deps.clock.now()).toISOString());
      return { status: 200, body: stored };
    },

    'GET /policies/{name}': async (req) => {
      const name = policyNameParam(req.pathParameters);
      const version = parseVersionParam(req.query);
      if (version !== undefined) {
        const stored = await deps.policies.getVersion(name, version);
        if (!stored) throw new NotFoundError('policy', name, { message: `policy '${name}' has no version ${version}` });
        return { status: 200, body: stored };
      }
      const stored = await deps.policies.getLatest(name);
      if (!stored) throw new NotFoundError('policy', name);
      return { status: 200, body: stored };
    },

    'GET /policies': async (req) => {
      const { limit, cursor } = parseListParams(req.query);
      return { status: 200, body: await deps.policies.list(limit, cursor) };
    },

    'POST /snapshots/{id}/validate': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      return { status: 200, body: await validateOnDemand(deps, id, req.json()) };
    },

    'GET /snapshots/{id}/validations': async (req) => {
      const id = ulidParam(req.pathParameters, 'id', 'snapshot');
      const { limit, cursor } = parseListParams(req.query);
      await loadSnapshot(deps.snapshots, id);
      return { status: 200, body: await deps.reports.listForSnapshot(id, limit, cursor) };
    },
  };
}
