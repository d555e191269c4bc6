/**
 * What each HTTP route takes and answers, for the OpenAPI document (`GET /openapi.json`). The
 * bodies are the very zod schemas of `functions/core` whose `z.infer` types the code uses, so the
 * document cannot describe a shape the code does not produce.
 *
 * Adding a route: add it to the manifest, then here. {@link OPERATIONS} is typed by the manifest's
 * route keys, so a route without its operation (or an operation without its route) does not
 * compile; give each success status its body schema (`json`, or `html` for a page), list the
 * error statuses it answers with, and name new reusable schemas in {@link COMPONENTS}. The e2e
 * suite validates every answer it receives against the served document.
 */
import * as z from 'zod/mini';
import { BatchAcceptedSchema, BatchRequestSchema, BatchResultSchema, BatchSchema, BatchStatusSchema, SelectorSchema } from '../core/batch.js';
import { ComparisonRequestSchema, ComparisonSchema } from '../core/comparison.js';
import { DependencyReplaySchema, DependencySchema } from '../core/dependencies.js';
import { FieldChangeSchema, SnapshotDiffAnswerSchema, SnapshotDiffSchema } from '../core/diff.js';
import { NoiseProfileSchema, NoiseRunSchema } from '../core/noise.js';
import { NoiseProfileAcceptedSchema, NoiseProfileRequestSchema } from '../core/noise-profile-job.js';
import { ErrorBodySchema } from '../core/errors.js';
import { ExecutorConfigSchema, StoredExecutorConfigSchema } from '../core/executor.js';
import { FieldComparisonSchema } from '../core/output-comparison.js';
import { PolicyBodySchema, RuleResultSchema, RuleSchema, StoredPolicySchema, ViolationSchema } from '../core/policy.js';
import { pageSchema } from '../core/ports.js';
import { OverridesSchema, ReplayRequestDocSchema, ReplayResultSchema } from '../core/replay.js';
import { JsonTreeSchema, ModelParametersSchema, NamedValueSchema, RecordSnapshotSchema, SnapshotListPageSchema, SnapshotSchema } from '../core/snapshot.js';
import { ReplayStatsSchema } from '../core/replay-stats.js';
import { ValidateRequestDocSchema, ValidationReportSchema } from '../core/validation.js';
import { VerificationReportSchema } from '../core/audit/verify.js';
import { StoredDigestListSchema } from '../core/audit/digest-list.js';
import { AuditRecordPageSchema } from './audit-routes.js';
import { AuditRecordSchema } from '../core/audit/verify.js';
import type { RouteKey } from './manifest.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../core/idempotency.js';
import { RECORD_KINDS } from '../core/records.js';

type Schema = z.ZodMiniType;

/** A path, query or header parameter, or a response header. The schema defaults to a string. */
export interface ParamSpec {
  description: string;
  required?: boolean;
  schema?: Schema;
}

/** One answer of an operation: a JSON body, an HTML page, or no body at all. */
export type ResponseSpec = { description: string; headers?: Record<string, ParamSpec> } & ({ json: Schema } | { html: true } | { text: { mediaType: string; description: string } } | { empty: true });

/** Error statuses, each answered with {@link ErrorBodySchema}. */
export const ERROR_STATUSES = {
  400: 'The request is malformed or invalid; the message says what is wrong, and for a body or parameter that fails its schema `details.issues` names each bad field (MALFORMED_JSON and UNSTORABLE_KEY, about the body as a whole, have no details)',
  404: 'The resource (or one the request names) does not exist',
  409: 'The request conflicts with what is stored (e.g. an Idempotency-Key reused with another body; POLICY_TAMPERED: the stored policy version no longer matches its contentHash, so its rules are not applied)',
  413: 'The request body, or the item it would store, is too large',
  415: 'The request body has a Content-Encoding (gzip, br, …): send JSON uncompressed',
  416: 'The Range starts at or after the end of what it asks for: the Content-Range header (`bytes */SIZE`) and `details.sizeBytes` give its size',
  422: 'The request is valid but cannot be served as asked (e.g. no executor registered)',
  500: 'A fault; the body names the request id and leaks nothing else',
  503: 'Busy: nothing was stored and the same request may be sent again, after the Retry-After seconds (e.g. POLICY_BUSY: too many concurrent PUTs of one policy)',
} as const;
export type ErrorStatus = keyof typeof ERROR_STATUSES;

/** Statuses every route may answer with, whatever it declares (and 400 where it has path parameters or a body). */
export const COMMON_ERRORS: readonly ErrorStatus[] = [413, 500];

export interface Operation {
  /** Stable and unique: SDKs name their methods after it. */
  operationId: string;
  summary: string;
  description?: string;
  /** The JSON request body. `required: false` when an empty body is accepted. */
  body?: { schema: Schema; required: boolean; description?: string };
  /** Path parameters; each `{name}` of the path not listed here is a plain string. */
  path?: Record<string, ParamSpec>;
  query?: Record<string, ParamSpec>;
  headers?: Record<string, ParamSpec>;
  /** Success answers by status. */
  responses: Record<number, ResponseSpec>;
  /** Error statuses beyond {@link COMMON_ERRORS}. */
  errors: readonly ErrorStatus[];
}

const StoredPolicyPageSchema = pageSchema(StoredPolicySchema);
const ValidationReportPageSchema = pageSchema(ValidationReportSchema);
const ReplayResultPageSchema = pageSchema(ReplayResultSchema);
const BatchResultPageSchema = pageSchema(BatchResultSchema);
const BatchPageSchema = pageSchema(BatchSchema);

/** The document's named schemas (`#/components/schemas/<name>`). Every other body schema is named after its operation. */
export const COMPONENTS: Readonly<Record<string, Schema>> = {
  Comparison: ComparisonSchema,
  JsonValue: JsonTreeSchema,
  NamedValue: NamedValueSchema,
  ModelParameters: ModelParametersSchema,
  RecordSnapshot: RecordSnapshotSchema,
  Snapshot: SnapshotSchema,
  SnapshotPage: SnapshotListPageSchema,
  FieldChange: FieldChangeSchema,
  SnapshotDiff: SnapshotDiffSchema,
  SnapshotDiffAnswer: SnapshotDiffAnswerSchema,
  Rule: RuleSchema,
  PolicyBody: PolicyBodySchema,
  StoredPolicy: StoredPolicySchema,
  StoredPolicyPage: StoredPolicyPageSchema,
  RuleResult: RuleResultSchema,
  Violation: ViolationSchema,
  ValidateRequest: ValidateRequestDocSchema,
  ValidationReport: ValidationReportSchema,
  ValidationReportPage: ValidationReportPageSchema,
  Overrides: OverridesSchema,
  ReplayRequest: ReplayRequestDocSchema,
  FieldComparison: FieldComparisonSchema,
  ReplayResult: ReplayResultSchema,
  ReplayResultPage: ReplayResultPageSchema,
  ExecutorConfig: ExecutorConfigSchema,
  StoredExecutorConfig: StoredExecutorConfigSchema,
  Selector: SelectorSchema,
  BatchRequest: BatchRequestSchema,
  BatchStatus: BatchStatusSchema,
  BatchAccepted: BatchAcceptedSchema,
  ReplayStats: ReplayStatsSchema,
  Batch: BatchSchema,
  BatchResult: BatchResultSchema,
  BatchResultPage: BatchResultPageSchema,
  BatchPage: BatchPageSchema,
  ErrorBody: ErrorBodySchema,
  Dependency: DependencySchema,
  DependencyReplay: DependencyReplaySchema,
  NoiseProfileRequest: NoiseProfileRequestSchema,
  NoiseProfile: NoiseProfileSchema,
  NoiseRun: NoiseRunSchema,
};

/** `GET /openapi.json` answers an OpenAPI 3.1 document; only its frame is described here. */
export const OpenApiDocumentSchema = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});

const ulid = (what: string): ParamSpec => ({ description: `The ${what} id (a 26-character ULID); anything else is a 404`, schema: z.string() });
const LIST_QUERY: Record<string, ParamSpec> = {
  limit: { description: 'Page size, 1..1000 (default 50); a page also ends at about 4 MB of items, with a nextCursor to the rest', schema: z.int().check(z.gte(1), z.lte(1000)) },
  cursor: { description: 'The nextCursor of the previous page; a cursor the service did not issue for this list is a 400' },
};
const IDEMPOTENCY_KEY: ParamSpec = { description: '1 to 255 printable ASCII characters without spaces', schema: z.string().check(z.regex(IDEMPOTENCY_KEY_PATTERN)) };
const location = (what: string): Record<string, ParamSpec> => ({ Location: { description: `The path of the ${what}` } });

/** Every route of the manifest but `$default` (which answers 404 in the ErrorBody shape for any other route). */
export const OPERATIONS = {
  'POST /snapshots': {
    operationId: 'recordSnapshot',
    summary: 'Record a decision snapshot',
    body: { schema: RecordSnapshotSchema, required: true },
    headers: { 'Idempotency-Key': { ...IDEMPOTENCY_KEY, description: `Retries with the same key and body return the first snapshot (200); another body is 409. ${IDEMPOTENCY_KEY.description}` } },
    responses: {
      201: { description: 'The snapshot as stored', json: SnapshotSchema, headers: location('snapshot') },
      200: {
        description: 'A retry with an Idempotency-Key already used with this body: the snapshot the first request recorded',
        json: SnapshotSchema,
        headers: {
          ...location('snapshot'),
          'Idempotent-Replayed': { description: 'Always `true`: this answer repeats an earlier one', schema: z.literal('true') },
          'Content-Integrity': { description: 'Whether the stored snapshot still matches its contentHash, as on a read', schema: z.enum(['verified', 'tampered']) },
        },
      },
    },
    errors: [400, 409],
  },
  'GET /snapshots': {
    operationId: 'listSnapshots',
    summary: "List a function's snapshots by time",
    description: 'Each item is a snapshot as stored: one altered behind the service is listed as altered, and so may not match this schema. The Content-Integrity header is `tampered` when any listed snapshot no longer matches its contentHash, and then `tampered` names each by its position in `items` (and its snapshotId, when what is stored still has one); a page of unaltered snapshots has no `tampered`.',
    query: {
      functionName: { description: 'The function whose snapshots to list', required: true },
      from: { description: 'ISO-8601 date or date-time, inclusive' },
      to: { description: 'ISO-8601 date or date-time, inclusive' },
      order: { description: 'asc (oldest first, the default) or desc', schema: z.enum(['asc', 'desc']) },
      ...LIST_QUERY,
    },
    responses: { 200: { description: 'A page of snapshots', json: SnapshotListPageSchema, headers: { 'Content-Integrity': { description: 'verified when every listed snapshot still matches its contentHash, else tampered', schema: z.enum(['verified', 'tampered']) } } } },
    errors: [400],
  },
  'GET /snapshots/{id}': {
    operationId: 'getSnapshot',
    summary: 'Read one snapshot, exactly as stored',
    description: 'The body is the stored snapshot as it is, so anyone can recompute its contentHash; the Content-Integrity header says whether it still matches. A snapshot altered behind the service (Content-Integrity: tampered) is returned as altered, and so may not match this schema.',
    path: { id: ulid('snapshot') },
    responses: { 200: { description: 'The snapshot', json: SnapshotSchema, headers: { 'Content-Integrity': { description: 'Whether the snapshot still matches its contentHash', schema: z.enum(['verified', 'tampered']) } } } },
    errors: [400, 404],
  },
  'GET /snapshots/{id}/diff/{otherId}': {
    operationId: 'diffSnapshots',
    summary: 'Field-by-field diff of two snapshots ({id} the original, {otherId} the new)',
    path: { id: ulid('original snapshot'), otherId: ulid('new snapshot') },
    description: 'A diff of what the table holds now. `integrity` says whether each snapshot still matches its contentHash; the Content-Integrity header is `tampered` when either does not.',
    responses: { 200: { description: 'One change per changed leaf', json: SnapshotDiffAnswerSchema, headers: { 'Content-Integrity': { description: 'verified when both snapshots still match their contentHash, else tampered', schema: z.enum(['verified', 'tampered']) } } } },
    errors: [400, 404],
  },
  'POST /snapshots/{id}/validate': {
    operationId: 'validateSnapshot',
    summary: 'Validate a snapshot against a policy (inline or by name); the report is stored',
    path: { id: ulid('snapshot') },
    body: { schema: ValidateRequestDocSchema, required: true, description: 'Exactly one of policy and policyName' },
    description: "The report pins the stored policy version it was judged under: policy {name, version, contentHash}. A stored version whose content no longer matches its contentHash (changed behind the service) is refused with 409 POLICY_TAMPERED, nothing stored.",
    responses: { 200: { description: 'The stored validation report', json: ValidationReportSchema } },
    errors: [400, 404, 409],
  },
  'GET /snapshots/{id}/validations': {
    operationId: 'listValidations',
    summary: "A snapshot's validation reports (on demand and on write), newest first",
    path: { id: ulid('snapshot') },
    query: LIST_QUERY,
    responses: { 200: { description: 'A page of validation reports', json: ValidationReportPageSchema } },
    errors: [400, 404],
  },
  'PUT /policies/{name}': {
    operationId: 'putPolicy',
    summary: 'Store the next version of a policy (sealed: its contentHash)',
    path: { name: { description: 'The policy name; a different name in the body is a 400' } },
    body: { schema: PolicyBodySchema, required: true },
    description: 'Concurrent PUTs of one name each get their own version (consecutive, in the order they are stored). 503 POLICY_BUSY only when the service could not take a version within its own retries: nothing was stored, send the same request again.',
    responses: { 200: { description: 'The stored policy with its new version', json: StoredPolicySchema } },
    errors: [400, 503],
  },
  'GET /policies/{name}': {
    operationId: 'getPolicy',
    summary: 'The latest version of a policy (or ?version=N)',
    path: { name: { description: 'The policy name' } },
    query: { version: { description: 'A specific version (1, 2, …)', schema: z.int().check(z.gte(1)) } },
    responses: { 200: { description: 'The stored policy', json: StoredPolicySchema } },
    errors: [400, 404],
  },
  'GET /policies': {
    operationId: 'listPolicies',
    summary: 'The latest version of every policy',
    query: LIST_QUERY,
    responses: { 200: { description: 'A page of policies', json: StoredPolicyPageSchema } },
    errors: [400],
  },
  'POST /snapshots/{id}/replay': {
    operationId: 'replaySnapshot',
    summary: 'Replay a snapshot on its registered executor and compare',
    path: { id: ulid('snapshot') },
    body: { schema: ReplayRequestDocSchema, required: false, description: 'At most one of policy and policyName; an empty body replays in Tolerant mode' },
    description:
      'A policyName whose stored version no longer matches its contentHash is refused with 409 POLICY_TAMPERED; the result pins the version judged under (policy.contentHash). overrides are merged over the recorded modelParameters and context key by key at every depth (an array or any other non-object value replaces the recorded one); on a snapshot recorded without modelParameters, overrides.modelParameters must include modelName (422 OVERRIDE_NEEDS_MODEL_NAME, nothing run).',
    responses: { 200: { description: 'The replay result, also stored in the history', json: ReplayResultSchema } },
    errors: [400, 404, 409, 422],
  },
  'GET /snapshots/{id}/replays': {
    operationId: 'listReplays',
    summary: "A snapshot's replay history, newest first",
    path: { id: ulid('snapshot') },
    query: LIST_QUERY,
    responses: { 200: { description: 'A page of replay results', json: ReplayResultPageSchema } },
    errors: [400, 404],
  },
  'PUT /functions/{functionName}/executor': {
    operationId: 'putExecutor',
    summary: "Register how to re-execute a function's decisions",
    description:
      'Credentials go in secretHeaders (header name → a Secrets Manager secret ARN under the deployment\'s prefix on AWS, env:NAME on the local host, NAME starting with DECISION_REPLAY_SECRET_), ' +
      'read at call time and never stored or answered. Refused with 400: a URL with user:password@ or a credential-like query parameter ' +
      '(token, key, sig, code, secret, password, … — see the README), a secret reference this deployment cannot read, a header value of \'***\', ' +
      'and a URL whose host is a literal address the executor network guard refuses (loopback, link-local, private unless this deployment allows private networks; multicast and broadcast always). A host name is resolved when called.',
    path: { functionName: { description: 'The function name' } },
    body: { schema: ExecutorConfigSchema, required: true },
    responses: { 200: { description: "The stored configuration: every plain header value reads '***'; secretHeaders are answered as the references they are", json: StoredExecutorConfigSchema } },
    errors: [400],
  },
  'GET /functions/{functionName}/executor': {
    operationId: 'getExecutor',
    summary: "A function's executor (every plain header value masked as '***')",
    path: { functionName: { description: 'The function name' } },
    responses: { 200: { description: 'The stored configuration', json: StoredExecutorConfigSchema } },
    errors: [400, 404],
  },
  'POST /batches': {
    operationId: 'startBatch',
    summary: 'Start a batch replay on Step Functions',
    description:
      'The ids: exactly one of snapshotIds (≤ 100,000, in the body), snapshotManifest (an s3://bucket/key URI or {bucket, key}: CSV with a snapshotId header, JSON Lines of {"snapshotId": …} or one id a line, ≤ 100,000 ids; under uploads/ of the manifest bucket or in a bucket cdk.json idManifestBuckets names; read and validated before anything is written: 400 INVALID_MANIFEST names the line, 400 BATCH_TOO_LARGE the limit, 400 MANIFEST_NOT_ALLOWED the allowed locations, 404 MANIFEST_NOT_FOUND, 413 over 16 MiB, 422 MANIFEST_UNREADABLE when S3 refuses the read) and selector (by function and time window, ≤ 1,000,000). A selector batch whose overrides.modelParameters.modelName the function\'s registered executor does not serve (its models list) is refused with 422 UNSUPPORTED_MODEL, as a single replay with that override is. A policyName is pinned: its version (policyVersion) and that version\'s contentHash (policyContentHash); a version that no longer matches its contentHash is 409 POLICY_TAMPERED.',
    body: { schema: BatchRequestSchema, required: true, description: 'Exactly one of snapshotIds, snapshotManifest and selector' },
    headers: { 'Idempotency-Key': { ...IDEMPOTENCY_KEY, description: `Retries with the same key and body answer with the same batch and start nothing twice; another body is 409. A retry while the first request is still writing its listed ids is 503 IDEMPOTENT_REQUEST_IN_PROGRESS with Retry-After (nothing written; send it again). ${IDEMPOTENCY_KEY.description}` } },
    responses: { 202: { description: 'The batch, started (or, on an Idempotency-Key retry, the batch the first request started, in its current status)', json: BatchAcceptedSchema, headers: location('batch') } },
    errors: [400, 404, 409, 413, 422, 503],
  },
  'GET /batches': {
    operationId: 'listBatches',
    summary: 'Batches, newest first',
    query: {
      functionName: { description: 'Only batches whose selector named this function' },
      status: { description: 'Only batches in this status', schema: BatchStatusSchema },
      scheduleName: { description: 'Only the runs of this schedule (`trigger: "schedule"`)' },
      ...LIST_QUERY,
    },
    responses: { 200: { description: 'A page of batches, newest first', json: BatchPageSchema } },
    errors: [400],
  },
  'POST /batches/{id}/cancel': {
    operationId: 'cancelBatch',
    summary: 'Stop a RUNNING batch: it ends CANCELLED with the statistics over the results stored so far',
    path: { id: ulid('batch') },
    responses: { 200: { description: 'The batch, CANCELLED', json: BatchSchema } },
    errors: [400, 404, 409],
  },
  'GET /batches/{id}': {
    operationId: 'getBatch',
    summary: 'Batch status, progress and (when done) statistics',
    path: { id: ulid('batch') },
    responses: { 200: { description: 'The batch', json: BatchSchema } },
    errors: [400, 404],
  },
  'GET /batches/{id}/results': {
    operationId: 'listBatchResults',
    summary: 'Per-snapshot results of a batch',
    path: { id: ulid('batch') },
    query: LIST_QUERY,
    responses: { 200: { description: 'A page of per-snapshot results', json: BatchResultPageSchema } },
    errors: [400, 404],
  },
  'POST /functions/{functionName}/noise-profile': {
    operationId: 'learnNoiseProfile',
    summary: "Learn the next version of a function's noise profile",
    description: 'Runs as a batch: each sampled snapshot is executed twice on the current executor, as recorded, and what differed between the two runs is stored; the batch stores the profile before it reads SUCCEEDED. Poll the batch.',
    path: { functionName: { description: 'The function name' } },
    body: { schema: NoiseProfileRequestSchema, required: false, description: 'An empty body samples the newest 50 snapshots' },
    responses: { 202: { description: 'The learning batch, started', json: NoiseProfileAcceptedSchema, headers: location('batch') } },
    errors: [400, 422],
  },
  'GET /functions/{functionName}/noise-profile': {
    operationId: 'getNoiseProfile',
    summary: "A function's latest noise profile (or one version)",
    path: { functionName: { description: 'The function name' } },
    query: { version: { description: 'A specific version (1, 2, …)', schema: z.int().check(z.gte(1)) } },
    responses: { 200: { description: 'The stored profile', json: NoiseProfileSchema } },
    errors: [400, 404],
  },
  'GET /audit/public-key': {
    operationId: 'getAuditPublicKey',
    summary: 'The public key audit digests are signed with (PEM, SPKI; ECDSA P-256, signatures over SHA-256)',
    responses: { 200: { description: 'The PEM', text: { mediaType: 'application/x-pem-file', description: 'A PEM public key' } } },
    errors: [],
  },
  'GET /audit/verify': {
    operationId: 'verifyAudit',
    summary: 'Verify the sealed records of a time range: content hashes, Merkle roots, signatures, the digest chain, index keys, and records no digest names',
    query: {
      from: { description: 'ISO-8601 instant, inclusive (whole windows are verified)', required: true },
      to: { description: 'ISO-8601 instant, exclusive', required: true },
      functionName: { description: "Only this function's records (digests are still checked whole)" },
    },
    responses: { 200: { description: 'The findings by category; `clean` when there are none', json: VerificationReportSchema } },
    description:
      'At most 100,000 records (413 beyond: use the CLI). A report of more findings than one answer holds (about 4 MB, tens of thousands of findings) is 422 VERIFY_REPORT_TOO_LARGE, with `clean` and the counts in details: the CLI verifies the same range page by page and prints every finding.',
    errors: [400, 413, 422],
  },
  'GET /audit/digests': {
    operationId: 'listAuditDigests',
    summary: 'The signed digests of the windows overlapping a time range, with their exact bytes and signatures',
    query: { from: { description: 'ISO-8601 instant', required: true }, to: { description: 'ISO-8601 instant', required: true } },
    responses: { 200: { description: 'The digests, oldest first', json: StoredDigestListSchema } },
    errors: [400],
  },
  'GET /audit/manifests/{windowStart}': {
    operationId: 'getAuditManifest',
    summary: "One window's manifest: the (id, kind, contentHash) of every record its digest seals, one JSON line each",
    description:
      'One answer holds at most 4 MiB of a manifest (a Lambda answers at most 6 MB, its quotes escaped); a larger one (from about 16,000 records) is read in byte ranges, each answer saying in Content-Range which bytes it holds and the whole size, and without a Range it is 422 MANIFEST_TOO_LARGE. A Range of another form than one byte range is ignored (RFC 9110).',
    headers: { Range: { description: 'One byte range of the manifest: `bytes=START-END`, `bytes=START-` or `bytes=-LAST`. A range longer than one answer holds is answered with its first 4 MiB' } },
    responses: {
      200: { description: 'The manifest bytes whose SHA-256 the digest names', text: { mediaType: 'application/x-ndjson', description: 'Canonical JSON lines' }, headers: { 'Accept-Ranges': { description: '`bytes`: the manifest can be read in ranges' } } },
      206: {
        description: 'The bytes of the manifest the Range asked for, or their first 4 MiB',
        text: { mediaType: 'application/x-ndjson', description: 'Part of the canonical JSON lines, cut at any byte' },
        headers: { 'Content-Range': { description: '`bytes FIRST-LAST/SIZE`: which bytes this answer holds, and the size of the whole manifest', required: true }, 'Accept-Ranges': { description: '`bytes`' } },
      },
    },
    errors: [400, 404, 416, 422],
  },
  'GET /audit/records': {
    operationId: 'listAuditRecords',
    summary: 'The immutable records created in a time range, with their content as stored and their index-key problems: what a verifier re-hashes (the CLI pages through it window by window)',
    query: {
      from: { description: 'ISO-8601 instant, inclusive', required: true },
      to: { description: 'ISO-8601 instant, exclusive', required: true },
      limit: { description: 'Records per page, 1..1000 (default 50); a page also ends at about 4 MB', schema: z.int().check(z.gte(1), z.lte(1000)) },
      cursor: { description: 'The nextCursor of the previous page of the same range' },
    },
    responses: { 200: { description: 'One page of records, in no particular order', json: AuditRecordPageSchema } },
    errors: [400],
  },
  'GET /audit/records/at': {
    operationId: 'getAuditRecord',
    summary: "One immutable record at its locator (the pk and sk its manifest entry names): how a verifier finds a record gone from its window's index",
    query: {
      kind: { description: `The record kind: ${RECORD_KINDS.join(', ')}`, required: true },
      pk: { description: 'The partition key named by the manifest entry', required: true },
      sk: { description: 'The sort key named by the manifest entry', required: true },
    },
    responses: { 200: { description: 'The record', json: AuditRecordSchema } },
    errors: [400, 404],
  },
  'POST /comparisons': {
    operationId: 'compareBatches',
    summary: 'Compare two SUCCEEDED batches over the same snapshots (A/B), paired per snapshot',
    description:
      "Match rate (McNemar's exact test on discordant pairs), per-field mismatch rates (Holm-corrected), error rate, latency p50/p95 differences with seeded bootstrap 95 % intervals, and a verdict at alpha. Batches that replayed different snapshots are 422 BATCHES_DIFFER (naming how many) unless intersectionOnly. Batches that judged outputs under different settings (mode, tolerance, policyName, the pinned policyVersion when both batches have one, noiseProfile; overrides and maxConcurrency may differ) are 422 BATCHES_NOT_COMPARABLE, naming each setting with both values. One batch as both baseline and candidate is 400 SAME_BATCH.",
    body: { schema: ComparisonRequestSchema, required: true },
    responses: { 201: { description: 'The comparison, stored', json: ComparisonSchema, headers: location('comparison') } },
    errors: [400, 404, 422],
  },
  'GET /comparisons/{id}': {
    operationId: 'getComparison',
    summary: 'A stored comparison',
    path: { id: ulid('comparison') },
    responses: { 200: { description: 'The comparison', json: ComparisonSchema } },
    errors: [400, 404],
  },
  'GET /comparisons/{id}/report': {
    operationId: 'getComparisonReport',
    summary: 'The comparison view of an A/B comparison as one self-contained HTML page',
    description: 'The verdict, the paired match-rate and error-rate tests (McNemar exact, Holm-corrected), the mismatch rate of each field with Holm-adjusted p-values, and the p50/p95 latency differences with their bootstrap 95 % intervals.',
    path: { id: ulid('comparison') },
    responses: { 200: { description: 'A self-contained HTML document (no network access at view time)', html: true } },
    errors: [400, 404],
  },
  'GET /batches/{id}/report': {
    operationId: 'getBatchReport',
    summary: 'The batch report as one self-contained HTML page',
    description: 'Header, counts and match rate, latency of original vs replay (p50/p95/p99), mismatches per field path, mismatched snapshots with their field-level comparison, policy violations and errors by code. Above 2,000 results the tables list the first 2,000; the charts cover all.',
    path: { id: ulid('batch') },
    responses: { 200: { description: 'A self-contained HTML document (no network access at view time)', html: true } },
    errors: [404],
  },
  'GET /snapshots/{id}/diff/{otherId}/report': {
    operationId: 'getDiffReport',
    summary: 'The diff view of two snapshots as one self-contained HTML page ({id} the original, {otherId} the new)',
    path: { id: ulid('snapshot'), otherId: ulid('snapshot') },
    responses: { 200: { description: 'A self-contained HTML document (no network access at view time)', html: true } },
    errors: [404],
  },
  'GET /snapshots/{id}/replays/{replayId}/report': {
    operationId: 'getReplayReport',
    summary: "The replay view (original vs replayed outputs, field by field) as one self-contained HTML page; {replayId} may be 'latest'",
    path: { id: ulid('snapshot'), replayId: { description: "The replay's id (a ULID), or `latest` for the snapshot's most recent replay", schema: z.string() } },
    responses: { 200: { description: 'A self-contained HTML document (no network access at view time)', html: true } },
    errors: [404],
  },
  'GET /openapi.json': {
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    responses: { 200: { description: 'The OpenAPI 3.1 document, generated from the zod schemas', json: OpenApiDocumentSchema } },
    errors: [],
  },
} satisfies Record<Exclude<RouteKey, '$default'>, Operation>;
