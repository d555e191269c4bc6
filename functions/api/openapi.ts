/**
 * The OpenAPI 3.1 document, generated from the zod schemas and the route manifest, so the
 * description cannot drift from what the handlers accept.
 */
import * as z from 'zod/mini';
import { ROUTES } from './manifest.js';
import { RecordSnapshotSchema, SnapshotSchema } from '../core/snapshot.js';
import { PolicyBodySchema, StoredPolicySchema } from '../core/policy.js';
import { ValidateRequestDocSchema } from '../core/validation.js';
import { NoiseProfileChoiceSchema, OverridesSchema, REPLAY_MODES } from '../core/replay.js';
import { NoiseProfileSchema } from '../core/noise.js';
import { NoiseProfileRequestSchema } from '../core/noise-profile-job.js';
import { ExecutorConfigSchema, StoredExecutorConfigSchema } from '../core/executor.js';
import { BatchRequestSchema } from '../core/batch.js';
import { DEPENDENCY_KINDS, DEPENDENCY_MODES } from '../core/dependencies.js';

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

const ChangeSchema = z.object({ path: z.string(), changeType: z.enum(['Added', 'Removed', 'Modified']), oldValue: z.optional(z.unknown()), newValue: z.optional(z.unknown()) });
const DiffSchema = z.object({ changes: z.array(ChangeSchema), inputsChanged: z.boolean(), outputsChanged: z.boolean(), modelParamsChanged: z.boolean(), dependenciesChanged: z.optional(z.boolean()), executionTimeDeltaMs: z.number() });
const ViolationSchema = z.object({ ruleName: z.string(), field: z.string(), expected: z.string(), actual: z.string(), message: z.string() });
const RuleResultSchema = z.object({ ruleName: z.string(), field: z.string(), comparator: z.string(), status: z.enum(['passed', 'violated', 'skipped']), score: z.optional(z.number()), provider: z.optional(z.string()), reason: z.optional(z.string()) });
const ReportSchema = z.object({
  reportId: z.string(),
  snapshotId: z.string(),
  baselineId: z.nullable(z.string()),
  policy: z.object({ name: z.string(), version: z.nullable(z.number()) }),
  trigger: z.enum(['on-demand', 'on-write']),
  integrity: z.enum(['verified', 'tampered']),
  status: z.enum(['passed', 'violated']),
  rules: z.array(RuleResultSchema),
  violations: z.array(ViolationSchema),
  createdAt: z.string(),
});
const DEPENDENCY_STATUSES = ['unchanged', 'changed', 'new', 'missing'] as const;
const DependencyReplayDocSchema = z.object({
  mode: z.enum(DEPENDENCY_MODES),
  reported: z.boolean(),
  calls: z.array(z.object({ name: z.string(), kind: z.enum(DEPENDENCY_KINDS), status: z.enum(DEPENDENCY_STATUSES), recordedRequest: z.optional(z.unknown()), request: z.optional(z.unknown()) })),
  counts: z.record(z.enum(DEPENDENCY_STATUSES), z.number()),
});
const ReplayRequestDocSchema = z.object({ mode: z.optional(z.enum(REPLAY_MODES)), tolerance: z.optional(z.number()), policy: z.optional(PolicyBodySchema), policyName: z.optional(z.string()), overrides: z.optional(OverridesSchema), dependencyMode: z.optional(z.enum(DEPENDENCY_MODES)), noiseProfile: z.optional(NoiseProfileChoiceSchema) });
const ReplayResultDocSchema = z.object({
  replayId: z.string(),
  snapshotId: z.string(),
  mode: z.enum(REPLAY_MODES),
  status: z.enum(['Success', 'Failed', 'Error']),
  outputsMatch: z.boolean(),
  replayOutputs: z.nullable(z.array(z.object({ name: z.string(), value: z.unknown(), type: z.optional(z.string()) }))),
  fieldComparisons: z.array(z.object({ path: z.string(), comparator: z.string(), score: z.number(), threshold: z.number(), match: z.boolean(), original: z.optional(z.unknown()), replayed: z.optional(z.unknown()), noise: z.optional(z.enum(['suppressed', 'exceeded', 'stable'])), noiseReason: z.optional(z.string()) })),
  diff: z.nullable(DiffSchema),
  policyViolations: z.array(ViolationSchema),
  dependencies: z.optional(z.nullable(DependencyReplayDocSchema)),
  noiseProfile: z.optional(z.nullable(z.object({ functionName: z.string(), version: z.number() }))),
  integrity: z.enum(['verified', 'tampered']),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
  executionTimeMs: z.number(),
  executor: z.nullable(z.string()),
  createdAt: z.string(),
});
const BatchDocSchema = z.object({ batchId: z.string(), status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']), total: z.number(), completed: z.number(), stats: z.optional(z.record(z.string(), z.unknown())), failureReason: z.optional(z.string()) });
const BatchResultDocSchema = z.object({ batchId: z.string(), snapshotId: z.string(), replayId: z.nullable(z.string()), status: z.enum(['Success', 'Failed', 'Error']), outputsMatch: z.boolean(), executionTimeMs: z.number(), mismatchedPaths: z.array(z.string()), violatedRules: z.array(z.string()), error: z.optional(z.object({ code: z.string(), message: z.string() })) });

const page = (item: Schema) => z.object({ items: z.array(item), nextCursor: z.optional(z.string()) });
const LIST_QUERY = { limit: 'Page size, 1..1000 (default 50)', cursor: 'nextCursor of the previous page' };

/** Operations by route key. Schemas of later modules are registered with {@link registerOperation}. */
const operations: Record<string, Operation> = {
  'POST /snapshots': { summary: 'Record a decision snapshot', request: RecordSnapshotSchema, status: 201, response: SnapshotSchema, headers: { 'Idempotency-Key': 'Retries with the same key and body return the first snapshot (200); another body is 409' } },
  'GET /snapshots': { summary: "List a function's snapshots by time", status: 200, response: page(SnapshotSchema), query: { functionName: 'Required', from: 'ISO-8601, inclusive', to: 'ISO-8601, inclusive', order: 'asc (default) or desc', ...LIST_QUERY } },
  'GET /snapshots/{id}': { summary: 'Read one snapshot, exactly as stored; the Content-Integrity header says whether it still matches its contentHash', status: 200, response: SnapshotSchema },
  'GET /snapshots/{id}/diff/{otherId}': { summary: 'Field-by-field diff of two snapshots ({id} the original, {otherId} the new)', status: 200, response: DiffSchema },
  'POST /snapshots/{id}/validate': { summary: 'Validate a snapshot against a policy (inline or by name); the report is stored', request: ValidateRequestDocSchema, status: 200, response: ReportSchema },
  'GET /snapshots/{id}/validations': { summary: "A snapshot's validation reports (on demand and on write), newest first", status: 200, response: page(ReportSchema), query: LIST_QUERY },
  'PUT /policies/{name}': { summary: 'Store the next version of a policy', request: PolicyBodySchema, status: 200, response: StoredPolicySchema },
  'GET /policies/{name}': { summary: 'The latest version of a policy (or ?version=N)', status: 200, response: StoredPolicySchema, query: { version: 'A specific version' } },
  'GET /policies': { summary: 'The latest version of every policy', status: 200, response: page(StoredPolicySchema), query: LIST_QUERY },
  'POST /snapshots/{id}/replay': { summary: 'Replay a snapshot on its registered executor and compare', request: ReplayRequestDocSchema, status: 200, response: ReplayResultDocSchema },
  'GET /snapshots/{id}/replays': { summary: "A snapshot's replay history, newest first", status: 200, response: page(ReplayResultDocSchema), query: LIST_QUERY },
  'PUT /functions/{functionName}/executor': { summary: "Register how to re-execute a function's decisions", request: ExecutorConfigSchema, status: 200, response: StoredExecutorConfigSchema },
  'GET /functions/{functionName}/executor': { summary: "A function's executor (credential-like header values masked)", status: 200, response: StoredExecutorConfigSchema },
  'POST /batches': { summary: 'Start a batch replay on Step Functions', request: BatchRequestSchema, status: 202, response: z.object({ batchId: z.string(), status: z.literal('RUNNING'), total: z.number() }), headers: { 'Idempotency-Key': 'Retries with the same key and body return the same batch and start nothing twice' } },
  'GET /batches/{id}': { summary: 'Batch status, progress and (when done) statistics', status: 200, response: BatchDocSchema },
  'GET /batches/{id}/results': { summary: 'Per-snapshot results of a batch', status: 200, response: page(BatchResultDocSchema), query: LIST_QUERY },
  'POST /functions/{functionName}/noise-profile': {
    summary: "Learn the next version of a function's noise profile: a batch executes a sample of its snapshots twice each (poll the batch; the profile is stored before it reads SUCCEEDED)",
    request: NoiseProfileRequestSchema,
    status: 202,
    response: z.object({ batchId: z.string(), status: z.literal('RUNNING'), total: z.number(), functionName: z.string(), sampleSize: z.number(), batch: z.string(), profile: z.string() }),
  },
  'GET /functions/{functionName}/noise-profile': { summary: "A function's latest noise profile (or ?version=N)", status: 200, response: NoiseProfileSchema, query: { version: 'A specific version' } },
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
