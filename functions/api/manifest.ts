/**
 * Every Lambda entry point and every HTTP route, in one place. The CDK stack creates one function
 * per entry and one HTTP API route per route key from this list; the local host matches requests
 * against the same route keys. Adding a route means adding it here and to its handler's route map.
 */

/** The Lambda functions of the system, by logical name. Entry files are `functions/handlers/<name>.handler.ts`. */
export const LAMBDAS = {
  /** POST/GET /snapshots, GET /snapshots/{id}, diff. */
  snapshots: { kind: 'api', description: 'Record, read, list and diff decision snapshots' },
  /** Policies and validation reports. */
  validation: { kind: 'api', description: 'Versioned policies; validate snapshots against them' },
  /** Replays and executor registration. */
  replay: { kind: 'api', description: 'Replay snapshots against a registered executor' },
  /** Batch replays: start, progress, results; learning noise profiles (a kind of batch). */
  batches: { kind: 'api', description: 'Start batch replays on Step Functions and report on them' },
  /** The OpenAPI document and the catch-all 404. */
  openapi: { kind: 'api', description: 'The OpenAPI document; 404 for unknown routes' },
  /** Step Functions task: resolve a batch request to snapshot ids. */
  'batch-plan': { kind: 'task', description: 'Batch step: resolve the selection to snapshot ids' },
  /** Step Functions task: replay one snapshot of a batch and store its result. */
  'batch-replay': { kind: 'task', description: 'Batch step: replay one snapshot, store its result' },
  /** Step Functions task: compute the batch statistics from the stored results. */
  'batch-stats': { kind: 'task', description: 'Batch step: compute statistics from the results' },
  /** DynamoDB stream consumer: validate each new snapshot against its attached policies. */
  'on-write': { kind: 'stream', description: 'Validate each new snapshot against attached policies' },
} as const;

export type LambdaName = keyof typeof LAMBDAS;

/** HTTP API routes (API Gateway v2 route keys) and the Lambda that serves each. */
export const ROUTES = [
  { routeKey: 'POST /snapshots', lambda: 'snapshots' },
  { routeKey: 'GET /snapshots', lambda: 'snapshots' },
  { routeKey: 'GET /snapshots/{id}', lambda: 'snapshots' },
  { routeKey: 'GET /snapshots/{id}/diff/{otherId}', lambda: 'snapshots' },
  { routeKey: 'POST /snapshots/{id}/validate', lambda: 'validation' },
  { routeKey: 'GET /snapshots/{id}/validations', lambda: 'validation' },
  { routeKey: 'PUT /policies/{name}', lambda: 'validation' },
  { routeKey: 'GET /policies/{name}', lambda: 'validation' },
  { routeKey: 'GET /policies', lambda: 'validation' },
  { routeKey: 'POST /snapshots/{id}/replay', lambda: 'replay' },
  { routeKey: 'GET /snapshots/{id}/replays', lambda: 'replay' },
  { routeKey: 'PUT /functions/{functionName}/executor', lambda: 'replay' },
  { routeKey: 'GET /functions/{functionName}/executor', lambda: 'replay' },
  { routeKey: 'POST /batches', lambda: 'batches' },
  { routeKey: 'GET /batches/{id}', lambda: 'batches' },
  { routeKey: 'GET /batches/{id}/results', lambda: 'batches' },
  { routeKey: 'POST /functions/{functionName}/noise-profile', lambda: 'batches' },
  { routeKey: 'GET /functions/{functionName}/noise-profile', lambda: 'batches' },
  { routeKey: 'GET /openapi.json', lambda: 'openapi' },
  { routeKey: '$default', lambda: 'openapi' },
] as const satisfies ReadonlyArray<{ routeKey: string; lambda: LambdaName }>;

export type RouteKey = (typeof ROUTES)[number]['routeKey'];
