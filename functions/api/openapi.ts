/**
 * The OpenAPI 3.1 document, generated from the zod schemas and the route manifest, so the
 * description cannot drift from what the handlers accept.
 */
import * as z from 'zod/mini';
import { ROUTES } from '../handlers/manifest.js';
import { RecordSnapshotSchema, SnapshotSchema } from '../core/snapshot.js';

type Schema = z.ZodMiniType;

interface Operation {
  summary: string;
  request?: Schema;
  /** Success status and body schema (undefined body: described in prose). */
  status: number;
  response?: Schema;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.optional(z.unknown()) }),
});

const page = (item: Schema) => z.object({ items: z.array(item), nextCursor: z.optional(z.string()) });
const LIST_QUERY = { limit: 'Page size, 1..1000 (default 50)', cursor: 'nextCursor of the previous page' };

/** Operations by route key. Schemas of later modules are registered with {@link registerOperation}. */
const operations: Record<string, Operation> = {
  'POST /snapshots': { summary: 'Record a decision snapshot', request: RecordSnapshotSchema, status: 201, response: SnapshotSchema, headers: { 'Idempotency-Key': 'Retries with the same key and body return the first snapshot (200); another body is 409' } },
  'GET /snapshots': { summary: "List a function's snapshots by time", status: 200, response: page(SnapshotSchema), query: { functionName: 'Required', from: 'ISO-8601, inclusive', to: 'ISO-8601, inclusive', order: 'asc (default) or desc', ...LIST_QUERY } },
  'GET /snapshots/{id}': { summary: 'Read one snapshot', status: 200, response: SnapshotSchema },
  'GET /openapi.json': { summary: 'This document', status: 200 },
};

/** Lets a route module describe its operations with its own schemas. */
export function registerOperation(routeKey: string, op: Operation): void {
  operations[routeKey] = op;
}

function jsonSchema(schema: Schema, io: 'input' | 'output'): unknown {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}

export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { routeKey } of ROUTES) {
    if (routeKey === '$default') continue;
    const [method = 'GET', path = '/'] = routeKey.split(' ');
    const op = operations[routeKey] ?? { summary: routeKey, status: 200 };
    const parameters: unknown[] = [];
    for (const m of path.matchAll(/\{(\w+)\}/g)) parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
    for (const [name, description] of Object.entries(op.query ?? {})) parameters.push({ name, in: 'query', required: description === 'Required', description, schema: { type: 'string' } });
    for (const [name, description] of Object.entries(op.headers ?? {})) parameters.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
    const errorResponse = { description: 'Error', content: { 'application/json': { schema: jsonSchema(ErrorSchema, 'output') } } };
    (paths[path] ??= {})[method.toLowerCase()] = {
      summary: op.summary,
      operationId: routeKey.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, ''),
      ...(parameters.length > 0 && { parameters }),
      ...(op.request && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.request, 'input') } } } }),
      responses: {
        [String(op.status)]: { description: 'Success', ...(op.response && { content: { 'application/json': { schema: jsonSchema(op.response, 'output') } } }) },
        '4XX': errorResponse,
        '500': errorResponse,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'decision-replay', version: '1', description: 'Record, replay, diff and validate AI decisions. Errors are {error: {code, message, details?}}.' },
    paths,
  };
}
