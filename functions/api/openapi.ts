/**
 * The OpenAPI 3.1 document, generated from the route manifest and the operations table, whose
 * bodies are the zod schemas of `functions/core`: the description cannot drift from the shapes the
 * code builds. Named schemas become `#/components/schemas/<name>` and are referred to by `$ref`
 * (the recursive JSON value among them); errors share one schema and one response per status; on
 * AWS every route requires SigV4 (API Gateway IAM authorization), declared as a security scheme.
 */
import * as z from 'zod/mini';
import { LAMBDAS, ROUTES } from './manifest.js';
import { COMMON_ERRORS, COMPONENTS, ERROR_STATUSES, OPERATIONS, type ErrorStatus, type Operation, type ParamSpec, type ResponseSpec } from './operations.js';

type Schema = z.ZodMiniType;
type JsonSchema = Record<string, unknown>;

const SCHEMA_REF = '#/components/schemas/';

/** The name of the SigV4 security scheme every operation requires. */
export const SECURITY_SCHEME = 'sigv4';

/** Names of the shared error responses (`#/components/responses/<name>`). */
const ERROR_RESPONSE_NAMES: Record<ErrorStatus, string> = {
  400: 'BadRequest',
  404: 'NotFound',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  416: 'RangeNotSatisfiable',
  422: 'Unprocessable',
  500: 'InternalError',
  503: 'ServiceBusy',
};

/** API Gateway answers this itself on AWS when a request is not signed, or signed wrongly. */
const AwsForbiddenSchema = z.strictObject({ message: z.string() });

/** Thrown when the operations cannot be described (a programming error a unit test catches). */
export class OpenApiGenerationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenApiGenerationError';
  }
}

function pascal(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}

/** A standalone JSON Schema of a small schema (a parameter or header), without `$schema`. */
function inlineSchema(schema: Schema | undefined): JsonSchema {
  if (schema === undefined) return { type: 'string' };
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/**
 * The JSON Schemas of the named components, and of every body schema an operation uses, as one
 * registry, so shared and recursive schemas are `$ref`s to `#/components/schemas/<name>`.
 *
 * `io: 'output'` for requests too: no schema here transforms or defaults, so input and output are
 * one shape, and every request schema is a strict object, which the output form states
 * (`additionalProperties: false`).
 */
function componentSchemas(operations: Readonly<Record<string, Operation>>, components: Readonly<Record<string, Schema>>): { schemas: Record<string, JsonSchema>; nameOf: Map<Schema, string> } {
  const registry = z.registry<{ id: string }>();
  const nameOf = new Map<Schema, string>();
  const name = (schema: Schema, id: string) => {
    const known = nameOf.get(schema);
    if (known !== undefined) return known;
    if ([...nameOf.values()].includes(id)) throw new OpenApiGenerationError(`two schemas are named '${id}'`);
    registry.add(schema, { id });
    nameOf.set(schema, id);
    return id;
  };
  for (const [id, schema] of Object.entries(components)) name(schema, id);
  for (const op of Object.values(operations)) {
    if (op.body) name(op.body.schema, `${pascal(op.operationId)}Request`);
    for (const [status, response] of Object.entries(op.responses)) {
      if ('json' in response) name(response.json, `${pascal(op.operationId)}${status}Response`);
    }
  }
  const generated = z.toJSONSchema(registry, { io: 'output', target: 'draft-2020-12', unrepresentable: 'any', uri: (id) => `${SCHEMA_REF}${id}` }).schemas as Record<string, JsonSchema>;
  const names = new Set(nameOf.values());
  const schemas: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(generated)) {
    // Definitions zod could not name: a recursive schema that is not a named component.
    if (!names.has(id)) {
      throw new OpenApiGenerationError(`schema '${id}' has no name: name every recursive schema in COMPONENTS (operations.ts) so it is a component, not an inline definition`);
    }
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    schemas[id] = rest;
  }
  return { schemas, nameOf };
}

function parameter(name: string, where: 'path' | 'query' | 'header', spec: ParamSpec): JsonSchema {
  return { name, in: where, required: where === 'path' || spec.required === true, description: spec.description, schema: inlineSchema(spec.schema) };
}

function responseObject(spec: ResponseSpec, nameOf: ReadonlyMap<Schema, string>): JsonSchema {
  const headers = spec.headers && Object.fromEntries(Object.entries(spec.headers).map(([h, p]) => [h, { description: p.description, ...(p.required === true && { required: true }), schema: inlineSchema(p.schema) }]));
  let content: JsonSchema | undefined;
  if ('json' in spec) content = { 'application/json': { schema: { $ref: `${SCHEMA_REF}${nameOf.get(spec.json) as string}` } } };
  else if ('html' in spec) content = { 'text/html': { schema: { type: 'string', description: 'A self-contained HTML page' } } };
  else if ('text' in spec) content = { [spec.text.mediaType]: { schema: { type: 'string', description: spec.text.description } } };
  return { description: spec.description, ...(headers && { headers }), ...(content && { content }) };
}

/** A GET's responses as a HEAD answers them: the same statuses and headers, and no content. */
function headResponses(responses: Readonly<Record<string, JsonSchema>>, shared: Readonly<Record<string, JsonSchema>>): Record<string, JsonSchema> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => {
      const full = typeof response.$ref === 'string' ? (shared[response.$ref.slice('#/components/responses/'.length)] ?? {}) : response;
      return [status, { description: `${String(full.description)} (HEAD: the headers only)`, ...(full.headers !== undefined && { headers: full.headers }) }];
    }),
  );
}

/**
 * Builds the document for the manifest's routes. Every route but `$default` must have an
 * operation (the table's type already demands it; this guards callers passing their own).
 */
export function buildOpenApiDocument(operations: Readonly<Record<string, Operation>> = OPERATIONS, components: Readonly<Record<string, Schema>> = COMPONENTS): Record<string, unknown> {
  const { schemas, nameOf } = componentSchemas(operations, components);
  schemas.AwsForbidden = inlineSchema(AwsForbiddenSchema);
  const errorResponses: Record<string, JsonSchema> = {};
  for (const [status, description] of Object.entries(ERROR_STATUSES)) {
    const headers =
      status === '503'
        ? { headers: { 'Retry-After': { description: 'Seconds to wait before sending the same request again', required: true, schema: { type: 'integer', minimum: 0 } } } }
        : status === '416'
          ? { headers: { 'Content-Range': { description: '`bytes */SIZE`: the size of what the Range asked for', required: true, schema: { type: 'string' } } } }
          : {};
    errorResponses[ERROR_RESPONSE_NAMES[Number(status) as ErrorStatus]] = { description, ...headers, content: { 'application/json': { schema: { $ref: `${SCHEMA_REF}ErrorBody` } } } };
  }
  errorResponses.Forbidden = {
    description:
      'Refused before any handler runs. On AWS, API Gateway refuses a request without a valid SigV4 signature (execute-api:Invoke): `{message}`. On the local host (`npm start`), a request whose Host is not one the host serves (HOST_NOT_ALLOWED: DNS rebinding) or whose Origin is not the host\'s own (CROSS_ORIGIN_REQUEST: a web page of another site), in the error shape',
    content: { 'application/json': { schema: { oneOf: [{ $ref: `${SCHEMA_REF}AwsForbidden` }, { $ref: `${SCHEMA_REF}ErrorBody` }] } } },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { routeKey, lambda } of ROUTES) {
    if (routeKey === '$default') continue;
    const op = operations[routeKey];
    if (!op) throw new OpenApiGenerationError(`route '${routeKey}' has no operation in operations.ts`);
    const [method = '', path = ''] = routeKey.split(' ');
    const pathNames = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const stray = Object.keys(op.path ?? {}).filter((p) => !pathNames.includes(p));
    if (stray.length > 0) throw new OpenApiGenerationError(`route '${routeKey}' describes path parameters it does not have: ${stray.join(', ')}`);
    const parameters = [
      ...pathNames.map((p) => parameter(p, 'path', op.path?.[p] ?? { description: p })),
      ...Object.entries(op.query ?? {}).map(([q, spec]) => parameter(q, 'query', spec)),
      ...Object.entries(op.headers ?? {}).map(([h, spec]) => parameter(h, 'header', spec)),
    ];
    const responses: Record<string, JsonSchema> = {};
    for (const [status, spec] of Object.entries(op.responses)) responses[status] = responseObject(spec, nameOf);
    // The edge answers 400 to a path parameter that is not valid percent-encoding and to a body that is
    // not JSON (or not UTF-8), and 415 to a body with a Content-Encoding.
    const edgeErrors: ErrorStatus[] = [...(pathNames.length > 0 || op.body ? [400 as const] : []), ...(op.body ? [415 as const] : [])];
    for (const status of [...new Set([...op.errors, ...edgeErrors, ...COMMON_ERRORS])].sort((a, b) => a - b)) responses[String(status)] = { $ref: `#/components/responses/${ERROR_RESPONSE_NAMES[status]}` };
    responses['403'] = { $ref: '#/components/responses/Forbidden' };
    const described = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description !== undefined && { description: op.description }),
      tags: [lambda],
      security: [{ [SECURITY_SCHEME]: [] }],
      ...(parameters.length > 0 && { parameters }),
      ...(op.body && {
        requestBody: {
          required: op.body.required,
          ...(op.body.description !== undefined && { description: op.body.description }),
          content: { 'application/json': { schema: { $ref: `${SCHEMA_REF}${nameOf.get(op.body.schema) as string}` } } },
        },
      }),
      responses,
    };
    (paths[path] ??= {})[method.toLowerCase()] = described;
    // HEAD wherever GET (manifest.ts DEPLOYED_ROUTES): the GET's statuses and headers, no body.
    if (method === 'GET') paths[path].head = { ...described, operationId: `${op.operationId}Head`, summary: `Headers only: ${op.summary}`, responses: headResponses(responses, errorResponses) };
  }
  const usedTags = new Set(ROUTES.map((r) => r.lambda));
  return {
    openapi: '3.1.0',
    info: {
      title: 'decision-replay',
      version: '1',
      description: 'Record, replay, diff and validate AI decisions. Errors are `{error: {code, message, details?}}`; any route not listed here answers 404 in that shape.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      // No `description` on the variables: swagger-parser 13.1 rejects it there, though OpenAPI allows it.
      { url: 'https://{apiId}.execute-api.{region}.amazonaws.com', description: 'The HTTP API deployed by `cdk deploy`, {apiId} from its stack output (SigV4-signed requests)', variables: { apiId: { default: 'abcdef1234' }, region: { default: 'us-east-1' } } },
      { url: 'http://127.0.0.1:3000', description: 'The one-machine host (`npm start`; no signature needed)' },
    ],
    security: [{ [SECURITY_SCHEME]: [] }],
    tags: Object.entries(LAMBDAS)
      .filter(([lambdaName]) => usedTags.has(lambdaName as never))
      .map(([lambdaName, l]) => ({ name: lambdaName, description: l.description })),
    paths,
    components: {
      schemas,
      responses: errorResponses,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 for the execute-api service (API Gateway IAM authorization): sign each request with credentials allowed execute-api:Invoke on the API.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
  };
}
