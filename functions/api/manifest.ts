/**
 * Every Lambda entry point and every HTTP route, in one place, with what each Lambda needs: its
 * environment variables, its table access, its grants and its use of executors and similarity.
 * The CDK stack creates, configures and grants each function from this list; the local host
 * composes the same functions from it; the tests check the template and the handlers against it.
 * Adding a route means adding it here and to its handler's route map.
 */

/** Every environment variable a handler may read; `functions/config.ts` holds the schema of each. */
export type EnvVarName = 'TABLE_NAME' | 'STATE_MACHINE_ARN' | 'EVENT_BUS_NAME' | 'SIMILARITY_PROVIDER' | 'EXECUTOR_ALLOW_PRIVATE_NETWORKS' | 'EXECUTOR_SECRET_ARN_PREFIX' | 'CURSOR_SECRET_ARN' | 'AUDIT_BUCKET' | 'AUDIT_KEY_ID' | 'DIGEST_INTERVAL_MINUTES' | 'MANIFEST_BUCKET' | 'ID_MANIFEST_BUCKETS';

/** What a function may do with the table (GSIs included). */
export type TableAccess = 'none' | 'read' | 'readWrite';

/**
 * Grants beyond the table:
 * - `startBatches`: start, describe and stop (cancel) executions of the batch state machine;
 * - `publishViolations`: put events on the violation bus;
 * - `snapshotStream`: be the consumer of the table's stream (snapshot inserts);
 * - `readCursorSecret`: read the secret that signs pagination cursors (functions that page);
 * - `auditRead`: read the audit bucket and the signing key's public half;
 * - `auditSeal`: also write digests to the audit bucket and sign them with the KMS key;
 * - `writeManifests`: write (and read back) batch manifests in the manifest bucket;
 * - `readIdManifests`: read users' id manifests (`snapshotManifest`): objects under `uploads/` of
 *   the manifest bucket (and list that bucket, so a missing key is a 404, not an AccessDenied), and
 *   objects of the buckets named in cdk.json `idManifestBuckets` (ID_MANIFEST_BUCKETS);
 * - `batchExecutionEnds`: be the target of the rule on the batch state machine's abnormal
 *   execution ends (EventBridge "Step Functions Execution Status Change").
 */
export type Grant = 'startBatches' | 'publishViolations' | 'snapshotStream' | 'readCursorSecret' | 'auditRead' | 'auditSeal' | 'writeManifests' | 'readIdManifests' | 'batchExecutionEnds';

/** What one Lambda is and needs. */
export interface LambdaSpec {
  /** Sizes memory and timeout (lib/function-defaults.ts). */
  readonly kind: 'api' | 'task' | 'stream';
  readonly description: string;
  /** Exactly the variables its handler reads; the stack sets these and no others. */
  readonly env: readonly EnvVarName[];
  readonly table: TableAccess;
  /**
   * Partition-key prefixes whose items it may UpdateItem (`dynamodb:LeadingKeys`); none by default.
   * Immutable records (`SNAP#…`) are never among them: records are put once and never updated.
   */
  readonly tableUpdates?: readonly string[];
  /** Partition-key prefixes whose items it may DeleteItem; none by default (never `SNAP#`). */
  readonly tableDeletes?: readonly string[];
  readonly grants: readonly Grant[];
  /**
   * Runs executors (DESIGN §5): may invoke the configured Lambdas and Bedrock models, and read the
   * secrets under the stack's executor-secret prefix (`secretHeaders`, EXECUTOR_SECRET_ARN_PREFIX).
   */
  readonly executors: boolean;
  /** Compares text with the similarity provider (DESIGN §4): may call the embedding model. */
  readonly similarity: boolean;
  /** Seconds, overriding its kind's timeout (lib/function-defaults.ts) where the kind's is too short. */
  readonly timeoutSeconds?: number;
  /** MB, overriding its kind's memory (lib/function-defaults.ts) where its work needs the CPU that memory buys. */
  readonly memorySize?: number;
}

/** The Lambda functions of the system, by logical name. Entry files are `functions/handlers/<name>.handler.ts`. */
export const LAMBDAS = {
  /** POST/GET /snapshots, GET /snapshots/{id}, diff. */
  snapshots: {
    kind: 'api',
    description: 'Record, read, list and diff decision snapshots',
    env: ['TABLE_NAME', 'CURSOR_SECRET_ARN'],
    table: 'readWrite',
    tableDeletes: ['IDEMP#'],
    grants: ['readCursorSecret'],
    executors: false,
    similarity: false,
  },
  /** Policies and validation reports. */
  validation: {
    kind: 'api',
    description: 'Versioned policies; validate snapshots against them',
    env: ['TABLE_NAME', 'SIMILARITY_PROVIDER', 'CURSOR_SECRET_ARN'],
    table: 'readWrite',
    grants: ['readCursorSecret'],
    executors: false,
    similarity: true,
  },
  /** Replays and executor registration. */
  replay: {
    kind: 'api',
    description: 'Replay snapshots against a registered executor',
    env: ['TABLE_NAME', 'SIMILARITY_PROVIDER', 'EXECUTOR_ALLOW_PRIVATE_NETWORKS', 'EXECUTOR_SECRET_ARN_PREFIX', 'CURSOR_SECRET_ARN'],
    table: 'readWrite',
    grants: ['readCursorSecret'],
    executors: true,
    similarity: true,
  },
  /** Batch replays: start, progress, results; A/B comparisons of two batches; learning noise profiles (a kind of batch). */
  batches: {
    kind: 'api',
    description: 'Start batch replays on Step Functions and report on them',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'CURSOR_SECRET_ARN', 'MANIFEST_BUCKET', 'ID_MANIFEST_BUCKETS'],
    table: 'readWrite',
    tableUpdates: ['BATCH#'],
    grants: ['startBatches', 'readCursorSecret', 'writeManifests', 'readIdManifests'],
    executors: false,
    similarity: false,
  },
  /** HTML reports: batch report, diff view, replay view. Reads the table, writes nothing. */
  reports: {
    kind: 'api',
    description: 'Self-contained HTML reports of batches, diffs and replays',
    env: ['TABLE_NAME'],
    table: 'read',
    grants: [],
    executors: false,
    similarity: false,
  },
  /** The OpenAPI document and the catch-all 404. */
  openapi: {
    kind: 'api',
    description: 'The OpenAPI document; 404 for unknown routes',
    env: [],
    table: 'none',
    grants: [],
    executors: false,
    similarity: false,
  },
  /** Step Functions task: resolve a batch request to snapshot ids. */
  'batch-plan': {
    kind: 'task',
    description: 'Batch step: plan a batch, its snapshot ids into the manifest',
    env: ['TABLE_NAME', 'MANIFEST_BUCKET'],
    table: 'readWrite',
    tableUpdates: ['BATCH#'],
    grants: ['writeManifests'],
    executors: false,
    similarity: false,
    // Plan pages up to 1,000,000 ids into the manifest. On the keys-only GSI1K that is ~110 Query
    // pages of 1 MB; but while GSI1K backfills after an upgrade it reads GSI1, where a 1 MB page
    // holds ~900 snapshots: ~1,110 sequential pages at up to ~200 ms each is ~220 s, plus the
    // manifest's multipart upload (27 MB) — over the tasks' 2 minutes. It runs in the Standard
    // workflow (not in an Express child's 5 minutes), so 10 minutes leaves room for that worst case.
    timeoutSeconds: 600,
  },
  /** Step Functions task: replay one chunk of a batch and store its results and its folded stats. */
  'batch-replay': {
    kind: 'task',
    description: 'Batch step: replay one chunk of snapshots, store the results',
    env: ['TABLE_NAME', 'SIMILARITY_PROVIDER', 'EXECUTOR_ALLOW_PRIVATE_NETWORKS', 'EXECUTOR_SECRET_ARN_PREFIX'],
    table: 'readWrite',
    // A finished chunk adds its counts to the batch's progress (META).
    tableUpdates: ['BATCH#'],
    grants: [],
    executors: true,
    similarity: true,
  },
  /** Step Functions task: compute the batch statistics from the stored results. */
  'batch-stats': {
    kind: 'task',
    description: 'Batch step: compute statistics from the results',
    env: ['TABLE_NAME'],
    table: 'readWrite',
    tableUpdates: ['BATCH#'],
    grants: [],
    executors: false,
    similarity: false,
  },
  /**
   * EventBridge target: a batch execution that ended FAILED, TIMED_OUT or ABORTED marks its batch
   * FAILED while it is RUNNING (one conditional UpdateItem of its `BATCH#` record; it reads nothing).
   */
  'execution-end': {
    kind: 'task',
    description: 'Mark the batch of an abnormally ended execution FAILED',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN'],
    table: 'none',
    tableUpdates: ['BATCH#'],
    grants: ['batchExecutionEnds'],
    executors: false,
    similarity: false,
  },
  /** DynamoDB stream consumer: validate each new snapshot against its attached policies. */
  'on-write': {
    kind: 'stream',
    description: 'Validate each new snapshot against attached policies',
    env: ['TABLE_NAME', 'SIMILARITY_PROVIDER', 'EVENT_BUS_NAME'],
    table: 'readWrite',
    grants: ['publishViolations', 'snapshotStream'],
    executors: false,
    similarity: true,
  },
  /** The audit seal over HTTP: public key, digests, manifests, verification of a range. */
  audit: {
    kind: 'api',
    description: 'Audit seal: public key, digests and verification of a time range',
    env: ['TABLE_NAME', 'AUDIT_BUCKET', 'AUDIT_KEY_ID', 'DIGEST_INTERVAL_MINUTES'],
    table: 'read',
    grants: ['auditRead'],
    executors: false,
    similarity: false,
    // GET /audit/verify re-hashes up to 100,000 records within the API's 25 s. That is ~5 s of one
    // core locally (`npm run bench audit`); at the api kind's 512 MB Lambda gives ~0.3 of a vCPU,
    // which would leave no margin. 1,769 MB is one full vCPU. The route is called rarely.
    memorySize: 1769,
  },
  /** Scheduled: seals every closed window of immutable records in a signed digest. */
  digester: {
    kind: 'task',
    description: 'Audit seal: sign a digest of every closed window of records',
    env: ['TABLE_NAME', 'AUDIT_BUCKET', 'AUDIT_KEY_ID', 'DIGEST_INTERVAL_MINUTES'],
    table: 'read',
    // The chain head (one item): moved forward by a conditional UpdateItem with each sealed window.
    tableUpdates: ['AUDIT#HEAD'],
    grants: ['auditSeal'],
    executors: false,
    similarity: false,
  },
} as const satisfies Readonly<Record<string, LambdaSpec>>;

export type LambdaName = keyof typeof LAMBDAS;

/** The manifest names, in declaration order. */
export const LAMBDA_NAMES = Object.keys(LAMBDAS) as LambdaName[];

/** The spec of one Lambda, widened to {@link LambdaSpec} (for code that iterates over all of them). */
export function lambdaSpec(name: LambdaName): LambdaSpec {
  return LAMBDAS[name];
}

/** The environment variables a Lambda reads, as a type. */
export type LambdaEnvNames<N extends LambdaName> = (typeof LAMBDAS)[N]['env'][number];

/**
 * HTTP API routes (API Gateway v2 route keys) and the Lambda that serves each. `contentType` names
 * what a route answers on success when it is not JSON; its errors are JSON like every route's.
 */
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
  { routeKey: 'GET /batches', lambda: 'batches' },
  { routeKey: 'GET /batches/{id}', lambda: 'batches' },
  { routeKey: 'POST /batches/{id}/cancel', lambda: 'batches' },
  { routeKey: 'GET /batches/{id}/results', lambda: 'batches' },
  { routeKey: 'POST /functions/{functionName}/noise-profile', lambda: 'batches' },
  { routeKey: 'GET /functions/{functionName}/noise-profile', lambda: 'batches' },
  { routeKey: 'POST /comparisons', lambda: 'batches' },
  { routeKey: 'GET /comparisons/{id}', lambda: 'batches' },
  { routeKey: 'GET /comparisons/{id}/report', lambda: 'reports' },
  { routeKey: 'GET /audit/public-key', lambda: 'audit', contentType: 'application/x-pem-file' },
  { routeKey: 'GET /audit/verify', lambda: 'audit' },
  { routeKey: 'GET /audit/digests', lambda: 'audit' },
  { routeKey: 'GET /audit/manifests/{windowStart}', lambda: 'audit', contentType: 'application/x-ndjson' },
  { routeKey: 'GET /audit/records', lambda: 'audit' },
  { routeKey: 'GET /audit/records/at', lambda: 'audit' },
  { routeKey: 'GET /batches/{id}/report', lambda: 'reports', contentType: 'text/html' },
  { routeKey: 'GET /snapshots/{id}/diff/{otherId}/report', lambda: 'reports', contentType: 'text/html' },
  { routeKey: 'GET /snapshots/{id}/replays/{replayId}/report', lambda: 'reports', contentType: 'text/html' },
  { routeKey: 'GET /openapi.json', lambda: 'openapi' },
  { routeKey: '$default', lambda: 'openapi' },
] as const satisfies ReadonlyArray<{ routeKey: string; lambda: LambdaName; contentType?: 'text/html' | 'application/x-pem-file' | 'application/x-ndjson' }>;

export type RouteKey = (typeof ROUTES)[number]['routeKey'];

/**
 * The route key answering HEAD wherever `routeKey` answers GET (RFC 9110 §9.3.2), or undefined for
 * a route that is not a GET. API Gateway HTTP API matches methods exactly (a HEAD would fall to
 * `$default` and be a 404), so each GET route has a HEAD twin of its own.
 */
export function headTwin(routeKey: string): string | undefined {
  return routeKey.startsWith('GET ') ? `HEAD ${routeKey.slice('GET '.length)}` : undefined;
}

/**
 * Every route deployed, the local host's included: the manifest's {@link ROUTES} and the HEAD twin
 * of each GET route, served by the same Lambda, which answers it as the GET (the HTTP transport
 * sends the GET's headers and no body).
 */
export const DEPLOYED_ROUTES: ReadonlyArray<{ routeKey: string; lambda: LambdaName }> = [
  ...ROUTES,
  ...ROUTES.flatMap(({ routeKey, lambda }) => {
    const head = headTwin(routeKey);
    return head === undefined ? [] : [{ routeKey: head, lambda }];
  }),
];
