/**
 * `DecisionReplayClient`: one typed method per route of the decision-replay API.
 *
 * - Requests are checked against the service's own zod schemas before they are sent; a bad one
 *   throws {@link DecisionReplayValidationError} and sends nothing.
 * - An error answer throws {@link DecisionReplayError} with the service's `status`, `code`,
 *   `message` and `details`.
 * - Network failures (refused, reset, DNS, timeout) and 429/502/503/504 answers are retried with
 *   exponential backoff and full jitter. Every POST carries an `Idempotency-Key` (one per call,
 *   the same on each retry) so that the service can recognise a retry: recording and starting a
 *   batch are then safe to retry whatever happened. Replays, validations, cancellations and policy
 *   versions are not deduplicated by the service, so those are retried only when the request
 *   cannot have reached it (connection refused, DNS) or when the service itself answered 503
 *   (its error body: nothing was stored, e.g. POLICY_BUSY), after its Retry-After.
 * - `signing: 'auto'` (the default) signs with SigV4 when the endpoint is an API Gateway
 *   `execute-api` URL, and sends plain HTTP otherwise.
 */
import { randomUUID } from 'node:crypto';
import { IDEMPOTENCY_KEY_PATTERN } from '../../functions/core/idempotency.js';
import { DecisionReplayError, DecisionReplayNetworkError, DecisionReplayValidationError } from './errors.js';
import {
  BatchRequestSchema,
  checkRequest,
  checkBatchRequest,
  ComparisonRequestSchema,
  ExecutorConfigSchema,
  NoiseProfileRequestSchema,
  PolicyBodySchema,
  RecordSnapshotSchema,
  ReplayRequestSchema,
  ValidateRequestSchema,
  type Batch,
  type BatchRequest,
  type BatchResult,
  type BatchStatus,
  type Comparison,
  type ComparisonRequest,
  type ExecutorConfig,
  type NoiseProfile,
  type NoiseProfileAccepted,
  type NoiseProfileRequest,
  type Page,
  type PolicyBody,
  type RecordSnapshot,
  type ReplayRequest,
  type ReplayResult,
  type Snapshot,
  type SnapshotListPage,
  type SnapshotDiffAnswer,
  type StoredExecutorConfig,
  type StoredPolicy,
  type ValidateRequest,
  type ValidationReport,
  type AuditRecord,
  type StoredDigest,
  type ChainHead,
  type VerificationReport,
} from './schemas.js';
import type { CredentialsOption, SignableRequest } from './sigv4.js';
import { repeatedCursorGuard } from './paging.js';

/** The default endpoint: the one-machine host (`npm start`). */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';

/**
 * The default cap on one answer's body: 64 MiB. On AWS no answer exceeds 6 MB (a Lambda's
 * synchronous response); the local host's largest are audit manifests (~250 bytes a record, so
 * ~270,000 records in one window). Without a cap, an endpoint that is not the service (or a
 * hostile one) could send a body of any size: a 300 MB one took the CLI to 1.8 GB of memory.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface DecisionReplayClientOptions {
  /**
   * Base URL of the API: an `http://` or `https://` URL, e.g.
   * `https://abc123.execute-api.eu-west-1.amazonaws.com`. A path is kept as a prefix of every route
   * (an API Gateway stage: `…amazonaws.com/prod` → `…/prod/snapshots`); trailing slashes are
   * dropped. No query, fragment, user name or password. Default {@link DEFAULT_ENDPOINT}. Anything
   * else throws {@link DecisionReplayValidationError} naming `endpoint` and the value.
   */
  endpoint?: string;
  /** AWS region for SigV4; read from an `execute-api` endpoint when not given. */
  region?: string;
  /** AWS credentials for SigV4; default: the default AWS credential chain. */
  credentials?: CredentialsOption;
  /** `auto` (default): SigV4 for `execute-api` endpoints, plain HTTP otherwise. */
  signing?: 'auto' | 'sigv4' | 'none';
  /** Time limit of one attempt, in ms (default 30,000: API Gateway's own integration limit). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /**
   * Largest body of one answer, in bytes (default {@link DEFAULT_MAX_RESPONSE_BYTES}, 64 MiB). A
   * larger one is not read further: the call throws `RESPONSE_TOO_LARGE` and is not retried.
   */
  maxResponseBytes?: number;
  /** First backoff delay in ms (default 100); doubles on each retry, capped at 5 s, with full jitter. */
  retryBaseDelayMs?: number;
  /** The fetch implementation (default the global one). */
  fetch?: typeof fetch;
}

/** Paging of every list route: `limit` 1..1000 (service default 50) and an opaque `cursor`. */
export interface PageOptions {
  limit?: number;
  cursor?: string;
}

export interface ListSnapshotsOptions extends PageOptions {
  functionName: string;
  /** ISO-8601 instants. */
  from?: string;
  to?: string;
  order?: 'asc' | 'desc';
}

export interface ListBatchesOptions extends PageOptions {
  functionName?: string;
  status?: BatchStatus | 'CANCELLED';
  /** Only the runs of this schedule (`trigger: "schedule"`). */
  scheduleName?: string;
}

/** Options of a single call. */
export interface CallOptions {
  /** For POSTs: the Idempotency-Key to send (default: a fresh UUID per call, the same on its retries). */
  idempotencyKey?: string;
  /** Aborts the call (and its retries). */
  signal?: AbortSignal;
}

/** Options of {@link DecisionReplayClient.getPolicy}. */
export interface GetPolicyOptions extends CallOptions {
  /** A stored version (1, 2, …); default the latest. */
  version?: number;
}

/** The service's verdict on a stored snapshot (header `content-integrity`); `unknown` when it sent none. */
export type SnapshotIntegrity = 'verified' | 'tampered' | 'unknown';

/** `GET /snapshots/{id}` with its integrity. */
export interface SnapshotRead {
  /** As stored: when `integrity` is `tampered`, fields may be missing or of another type. */
  snapshot: Snapshot;
  integrity: SnapshotIntegrity;
}

/** `POST /batches` answer. */
export interface BatchStarted {
  batchId: string;
  status: BatchStatus;
  /** How many snapshots it replays; null while the workflow plans a selection of over 10,000. */
  total: number | null;
}

/** How a request may be retried. */
type RetryPolicy =
  /** Reads and idempotent writes: every network failure and 429/502/503/504. */
  | 'safe'
  /**
   * Writes the service may have applied: only when the request cannot have reached it, or when the
   * service answered 503 in its own error shape, which it does only when it stored nothing.
   */
  | 'unsent-only';

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  retry: RetryPolicy;
  options?: CallOptions;
  /** What a success answers: JSON (default, parsed) or an HTML document (returned as text). */
  accept?: 'json' | 'html' | 'text';
  /** A list route: its answer must hold an `items` array. */
  page?: true;
  /** Request headers beyond the client's own (e.g. `range`). */
  headers?: Record<string, string>;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Connection errors that mean the request never reached the service. */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

/**
 * Percent-encodes one path segment. An empty one is refused before sending: `GET /snapshots/` is
 * another route (or none), so the service would answer about something the caller did not ask.
 */
function seg(what: string, value: string): string {
  if (typeof value !== 'string' || value === '') {
    const message = typeof value !== 'string' ? `must be a string, got ${value === null ? 'null' : typeof value}` : 'must not be empty';
    throw new DecisionReplayValidationError(`invalid ${what}: ${message}`, [{ path: what, message }]);
  }
  return encodeURIComponent(value);
}

/** A constructor option the client cannot work with: a usage error, nothing is sent. */
function optionError(option: string, message: string): DecisionReplayValidationError {
  return new DecisionReplayValidationError(message, [{ path: option, message }]);
}

/** What an endpoint looks like, for messages. */
const ENDPOINT_EXAMPLES = 'such as http://127.0.0.1:3000 or https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod';

/**
 * The endpoint option as a URL, or a {@link DecisionReplayValidationError} that names the option and
 * the value and says what is expected: an http:// or https:// URL, whose path (an API Gateway
 * stage) is kept as the prefix of every route, without a query, a fragment or credentials (each
 * route's path is appended to the endpoint: after a query or a fragment it would become part of
 * them, and fetch refuses a URL with credentials on every attempt).
 */
function endpointUrl(endpoint: string): URL {
  const refuse = (why: string) => optionError('endpoint', `invalid endpoint ${JSON.stringify(endpoint)}: ${why}`);
  if (typeof endpoint !== 'string' || endpoint.trim() === '') throw refuse(`expected an http:// or https:// URL, ${ENDPOINT_EXAMPLES}`);
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    // `localhost:3000` parses as a URL of scheme `localhost:`; `127.0.0.1:3000` as none at all.
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint.trim())?.[1];
    const guess = scheme === undefined && URL.canParse(`http://${endpoint.trim()}`) ? `; did you mean http://${endpoint.trim()}?` : '';
    const other = scheme !== undefined && !/^https?$/i.test(scheme) ? `its scheme is ${scheme.toLowerCase()}:, ` : '';
    throw refuse(`${other}expected an http:// or https:// URL with a host, ${ENDPOINT_EXAMPLES}${guess}`);
  }
  if (url.search !== '' || url.hash !== '' || endpoint.includes('?') || endpoint.includes('#')) {
    throw refuse(`has a ${url.hash !== '' || (endpoint.includes('#') && !endpoint.includes('?')) ? 'fragment (#)' : 'query (?)'}; give the service's base URL, ${ENDPOINT_EXAMPLES} (a path, such as an API Gateway stage, is kept as the prefix of every route)`);
  }
  if (url.username !== '' || url.password !== '') throw refuse('holds a user name or password; give the service\'s base URL without them (AWS endpoints are signed with SigV4)');
  return url;
}

export class DecisionReplayClient {
  readonly endpoint: string;
  readonly signing: 'sigv4' | 'none';
  readonly region: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxResponseBytes: number;
  private readonly fetchImpl: typeof fetch;
  private readonly credentials: CredentialsOption | undefined;
  private signer: Promise<(request: SignableRequest) => Promise<Record<string, string>>> | undefined;

  constructor(options: DecisionReplayClientOptions = {}) {
    const url = endpointUrl(options.endpoint ?? DEFAULT_ENDPOINT);
    this.endpoint = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    const apiRegion = EXECUTE_API_HOST.exec(url.hostname)?.[1];
    const signing = options.signing ?? 'auto';
    this.signing = signing === 'auto' ? (apiRegion !== undefined ? 'sigv4' : 'none') : signing;
    this.region = options.region ?? apiRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (this.signing === 'sigv4' && this.region === undefined) throw optionError('region', 'SigV4 signing needs a region: pass `region` (or set AWS_REGION)');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isSafeInteger(this.maxResponseBytes) || this.maxResponseBytes < 1) throw optionError('maxResponseBytes', `maxResponseBytes must be a whole number of bytes, at least 1; got ${String(options.maxResponseBytes)}`);
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.credentials = options.credentials;
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots

  /** `POST /snapshots`: records a decision (201), or returns the first one recorded with the same Idempotency-Key. */
  async recordSnapshot(snapshot: RecordSnapshot, options?: CallOptions): Promise<Snapshot> {
    const body = checkRequest(RecordSnapshotSchema, snapshot, 'snapshot');
    return this.request({ method: 'POST', path: '/snapshots', body, retry: 'safe', options });
  }

  /**
   * `GET /snapshots/{id}`: the snapshot as stored. Its integrity (the service's
   * `content-integrity` header) is not in the body: use {@link getSnapshotWithIntegrity} to see
   * whether it still matches its `contentHash`.
   */
  async getSnapshot(snapshotId: string, options?: CallOptions): Promise<Snapshot> {
    return (await this.getSnapshotWithIntegrity(snapshotId, options)).snapshot;
  }

  /**
   * `GET /snapshots/{id}` with the service's verdict on it: `integrity` is `tampered` when the
   * stored content no longer matches its `contentHash` (then `snapshot` is whatever is stored, and
   * may not even have the snapshot's shape), `verified` when it does, `unknown` when the answer
   * carried no `content-integrity` header.
   */
  async getSnapshotWithIntegrity(snapshotId: string, options?: CallOptions): Promise<SnapshotRead> {
    const { body, headers } = await this.requestWithHeaders<Snapshot>({ method: 'GET', path: `/snapshots/${seg('snapshotId', snapshotId)}`, retry: 'safe', options });
    return { snapshot: body, integrity: integrityOf(headers.get('content-integrity')) };
  }

  /**
   * `GET /snapshots?functionName=&from=&to=`: one page of a function's snapshots by time, each as
   * stored. `tampered` (present only when some listed snapshot no longer matches its `contentHash`)
   * names each such item by its index in `items` and its `snapshotId`.
   */
  async listSnapshots(query: ListSnapshotsOptions, options?: CallOptions): Promise<SnapshotListPage> {
    return (await this.listSnapshotsWithHeaders(query, options)).body;
  }

  private listSnapshotsWithHeaders(query: ListSnapshotsOptions, options?: CallOptions) {
    return this.requestWithHeaders<SnapshotListPage>({ method: 'GET', path: '/snapshots', query: { ...query }, retry: 'safe', page: true, options });
  }

  /** Every snapshot matching `query`, page after page. */
  async *iterateSnapshots(query: Omit<ListSnapshotsOptions, 'cursor'>, options?: CallOptions): AsyncGenerator<Snapshot> {
    yield* this.iterate((cursor) => this.listSnapshots({ ...query, ...(cursor !== undefined && { cursor }) }, options));
  }

  /**
   * Every snapshot matching `query` with the service's verdict on each, as
   * {@link getSnapshotWithIntegrity} gives it for one: `tampered` for those the page names in its
   * `tampered`, `verified` for the rest, `unknown` for all of a page that came without a
   * `content-integrity` header (a service from before listings said).
   */
  async *iterateSnapshotsWithIntegrity(query: Omit<ListSnapshotsOptions, 'cursor'>, options?: CallOptions): AsyncGenerator<SnapshotRead> {
    yield* this.iterate(async (cursor): Promise<Page<SnapshotRead>> => {
      const { body, headers } = await this.listSnapshotsWithHeaders({ ...query, ...(cursor !== undefined && { cursor }) }, options);
      // The page's verdict; which items it is about is `tampered` (without it, none can be told apart).
      const page = integrityOf(headers.get('content-integrity'));
      const tampered = new Set((body.tampered ?? []).map((t) => t.index));
      const told = page === 'verified' || (page === 'tampered' && body.tampered !== undefined);
      const integrity = (i: number): SnapshotIntegrity => (!told ? 'unknown' : tampered.has(i) ? 'tampered' : 'verified');
      return { items: body.items.map((snapshot, i) => ({ snapshot, integrity: integrity(i) })), ...(body.nextCursor !== undefined && { nextCursor: body.nextCursor }) };
    });
  }

  /**
   * `GET /snapshots/{id}/diff/{otherId}`: what changed from `snapshotId` (the original) to `otherId`,
   * with each snapshot's integrity (`tampered`: the diff shows what is stored now, not what was recorded).
   */
  async diffSnapshots(snapshotId: string, otherId: string, options?: CallOptions): Promise<SnapshotDiffAnswer> {
    return this.request({ method: 'GET', path: `/snapshots/${seg('snapshotId', snapshotId)}/diff/${seg('otherId', otherId)}`, retry: 'safe', options });
  }

  // ---------------------------------------------------------------------------------------------
  // Validation and policies

  /** `POST /snapshots/{id}/validate`: validates against a stored (`policyName`) or inline (`policy`) policy. */
  async validateSnapshot(snapshotId: string, request: ValidateRequest, options?: CallOptions): Promise<ValidationReport> {
    const body = checkRequest(ValidateRequestSchema, request, 'validation request');
    return this.request({ method: 'POST', path: `/snapshots/${seg('snapshotId', snapshotId)}/validate`, body, retry: 'unsent-only', options });
  }

  /** `GET /snapshots/{id}/validations`: stored reports, on write and on demand. */
  async listValidations(snapshotId: string, page: PageOptions = {}, options?: CallOptions): Promise<Page<ValidationReport>> {
    return this.request({ method: 'GET', path: `/snapshots/${seg('snapshotId', snapshotId)}/validations`, query: { ...page }, retry: 'safe', page: true, options });
  }

  /** `PUT /policies/{name}`: stores the policy's next version. */
  async putPolicy(name: string, policy: PolicyBody, options?: CallOptions): Promise<StoredPolicy> {
    const body = checkRequest(PolicyBodySchema, policy, 'policy');
    return this.request({ method: 'PUT', path: `/policies/${seg('name', name)}`, body, retry: 'unsent-only', options });
  }

  /** `GET /policies/{name}[?version=N]`: the latest version, or version `options.version`. */
  async getPolicy(name: string, options?: GetPolicyOptions): Promise<StoredPolicy> {
    const { version, ...call } = options ?? {};
    return this.request({ method: 'GET', path: `/policies/${seg('name', name)}`, query: { version }, retry: 'safe', options: call });
  }

  /** `GET /policies`. */
  async listPolicies(page: PageOptions = {}, options?: CallOptions): Promise<Page<StoredPolicy>> {
    return this.request({ method: 'GET', path: '/policies', query: { ...page }, retry: 'safe', page: true, options });
  }

  // ---------------------------------------------------------------------------------------------
  // Replay and executors

  /** `POST /snapshots/{id}/replay`. */
  async replaySnapshot(snapshotId: string, request: ReplayRequest = {}, options?: CallOptions): Promise<ReplayResult> {
    const body = checkRequest(ReplayRequestSchema, request, 'replay request');
    return this.request({ method: 'POST', path: `/snapshots/${seg('snapshotId', snapshotId)}/replay`, body, retry: 'unsent-only', options });
  }

  /** `GET /snapshots/{id}/replays`: replay history, newest first. */
  async listReplays(snapshotId: string, page: PageOptions = {}, options?: CallOptions): Promise<Page<ReplayResult>> {
    return this.request({ method: 'GET', path: `/snapshots/${seg('snapshotId', snapshotId)}/replays`, query: { ...page }, retry: 'safe', page: true, options });
  }

  /** `PUT /functions/{functionName}/executor`: how to re-execute a function's decisions. */
  async putExecutor(functionName: string, config: ExecutorConfig, options?: CallOptions): Promise<StoredExecutorConfig> {
    const body = checkRequest(ExecutorConfigSchema, config, 'executor config');
    return this.request({ method: 'PUT', path: `/functions/${seg('functionName', functionName)}/executor`, body, retry: 'safe', options });
  }

  /** `GET /functions/{functionName}/executor`. */
  async getExecutor(functionName: string, options?: CallOptions): Promise<StoredExecutorConfig> {
    return this.request({ method: 'GET', path: `/functions/${seg('functionName', functionName)}/executor`, retry: 'safe', options });
  }

  // ---------------------------------------------------------------------------------------------
  // Batches

  /** `POST /batches` (202): starts a batch replay on Step Functions. */
  async startBatch(request: BatchRequest, options?: CallOptions): Promise<BatchStarted> {
    const body = checkRequest(BatchRequestSchema, request, 'batch request');
    checkBatchRequest(body);
    return this.request({ method: 'POST', path: '/batches', body, retry: 'safe', options });
  }

  /** `GET /batches/{id}`: status, progress and (once finished) statistics. */
  async getBatch(batchId: string, options?: CallOptions): Promise<Batch> {
    return this.request({ method: 'GET', path: `/batches/${seg('batchId', batchId)}`, retry: 'safe', options });
  }

  /** `GET /batches/{id}/results`: one page of per-snapshot results. */
  async listBatchResults(batchId: string, page: PageOptions = {}, options?: CallOptions): Promise<Page<BatchResult>> {
    return this.request({ method: 'GET', path: `/batches/${seg('batchId', batchId)}/results`, query: { ...page }, retry: 'safe', page: true, options });
  }

  /** `GET /batches?functionName=&status=&scheduleName=`: batches, newest first. */
  async listBatches(query: ListBatchesOptions = {}, options?: CallOptions): Promise<Page<Batch>> {
    return this.request({ method: 'GET', path: '/batches', query: { ...query }, retry: 'safe', page: true, options });
  }

  /** `POST /batches/{id}/cancel`: stops a RUNNING batch (409 when it is not running). */
  async cancelBatch(batchId: string, options?: CallOptions): Promise<Batch> {
    return this.request({ method: 'POST', path: `/batches/${seg('batchId', batchId)}/cancel`, retry: 'unsent-only', options });
  }

  /** `GET /batches/{id}/report`: the batch report, one self-contained HTML document. */
  async getBatchReport(batchId: string, options?: CallOptions): Promise<string> {
    return this.request({ method: 'GET', path: `/batches/${seg('batchId', batchId)}/report`, retry: 'safe', options, accept: 'html' });
  }

  /** `GET /snapshots/{id}/diff/{otherId}/report`: the diff view, one self-contained HTML document. */
  async getDiffReport(snapshotId: string, otherId: string, options?: CallOptions): Promise<string> {
    return this.request({ method: 'GET', path: `/snapshots/${seg('snapshotId', snapshotId)}/diff/${seg('otherId', otherId)}/report`, retry: 'safe', options, accept: 'html' });
  }

  /** `GET /snapshots/{id}/replays/{replayId}/report`: the replay view (`replayId` default `latest`), one self-contained HTML document. */
  async getReplayReport(snapshotId: string, replayId = 'latest', options?: CallOptions): Promise<string> {
    return this.request({ method: 'GET', path: `/snapshots/${seg('snapshotId', snapshotId)}/replays/${seg('replayId', replayId)}/report`, retry: 'safe', options, accept: 'html' });
  }

  // ---------------------------------------------------------------------------------------------
  // Comparisons

  /**
   * `POST /comparisons` (201): compares two SUCCEEDED batches snapshot by snapshot (match rate with
   * McNemar's exact test, per-field and error rates, latency with bootstrap intervals) and stores
   * the verdict. 422 `BATCHES_DIFFER` when they replayed different snapshots, unless `intersectionOnly`;
   * 422 `BATCHES_NOT_COMPARABLE` when they judged outputs under different settings (mode, tolerance,
   * policy, noise profile); 400 `SAME_BATCH` for one batch twice.
   * Retried safely: the same request gives the same numbers (seeded bootstrap).
   */
  async compareBatches(request: ComparisonRequest, options?: CallOptions): Promise<Comparison> {
    const body = checkRequest(ComparisonRequestSchema, request, 'comparison request');
    return this.request({ method: 'POST', path: '/comparisons', body, retry: 'safe', options });
  }

  /** `GET /comparisons/{id}`: a stored comparison. */
  async getComparison(comparisonId: string, options?: CallOptions): Promise<Comparison> {
    return this.request({ method: 'GET', path: `/comparisons/${seg('comparisonId', comparisonId)}`, retry: 'safe', options });
  }

  /** `GET /comparisons/{id}/report`: the comparison view, one self-contained HTML document. */
  async getComparisonReport(comparisonId: string, options?: CallOptions): Promise<string> {
    return this.request({ method: 'GET', path: `/comparisons/${seg('comparisonId', comparisonId)}/report`, retry: 'safe', options, accept: 'html' });
  }

  // ---------------------------------------------------------------------------------------------
  // Noise profiles

  /** `POST /functions/{fn}/noise-profile` (202): starts learning the function's next noise profile, as a batch (poll it with getBatch). */
  async learnNoiseProfile(functionName: string, request: NoiseProfileRequest = {}, options?: CallOptions): Promise<NoiseProfileAccepted> {
    const body = checkRequest(NoiseProfileRequestSchema, request, 'noise profile request');
    return this.request({ method: 'POST', path: `/functions/${seg('functionName', functionName)}/noise-profile`, body, retry: 'unsent-only', options });
  }

  /** `GET /functions/{fn}/noise-profile[?version=N]`: the latest profile, or one version. */
  async getNoiseProfile(functionName: string, query: { version?: number } = {}, options?: CallOptions): Promise<NoiseProfile> {
    return this.request({ method: 'GET', path: `/functions/${seg('functionName', functionName)}/noise-profile`, query: { ...query }, retry: 'safe', options });
  }

  // ---------------------------------------------------------------------------------------------
  // The audit seal

  /** `GET /audit/public-key`: the PEM (SPKI) key the digests are signed with. */
  async getAuditPublicKey(options?: CallOptions): Promise<string> {
    return this.request({ method: 'GET', path: '/audit/public-key', retry: 'safe', options, accept: 'text' });
  }

  /** `GET /audit/digests?from=&to=`: the signed digests of the windows overlapping the range, with the window length. */
  async listAuditDigests(query: { from: string; to: string }, options?: CallOptions): Promise<{ items: StoredDigest[]; intervalMinutes: number; chainHead?: ChainHead }> {
    return this.request({ method: 'GET', path: '/audit/digests', query: { ...query }, retry: 'safe', page: true, options });
  }

  /**
   * `GET /audit/manifests/{windowStart}`: one window's manifest, its exact bytes (JSON lines). One
   * answer holds at most 4 MiB of it, so a larger manifest is read in byte ranges (`Range`), each
   * answer's `Content-Range` checked against what was asked; the whole is held to `maxResponseBytes`.
   */
  async getAuditManifest(windowStart: string, options?: CallOptions): Promise<string> {
    const path = `/audit/manifests/${seg('windowStart', windowStart)}`;
    const pieces: string[] = [];
    let size: number | undefined;
    for (let start = 0; ; ) {
      const { body, headers } = await this.requestWithHeaders<string>({ method: 'GET', path, retry: 'safe', options, accept: 'text', headers: { range: `bytes=${start}-` } });
      const header = headers.get('content-range');
      // No Content-Range: the whole manifest in one answer (a service that does not serve ranges).
      if (header === null && start === 0) return body;
      const bad = (why: string) => new DecisionReplayError(206, 'INVALID_RESPONSE', `GET ${this.endpoint}${path} asked for bytes ${start}- and ${why}: is ${this.endpoint} a decision-replay service?`);
      const m = header === null ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
      if (!m) throw bad(`answered Content-Range ${JSON.stringify(header)}, not bytes FIRST-LAST/SIZE`);
      const [first, last, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (first !== start || last < first || last >= total || Buffer.byteLength(body) !== last - first + 1) throw bad(`got ${Buffer.byteLength(body)} bytes said to be ${header ?? ''}`);
      if (size !== undefined && total !== size) throw bad(`the manifest's size changed from ${size} to ${total} bytes between answers`);
      if (total > this.maxResponseBytes) {
        throw new DecisionReplayError(206, 'RESPONSE_TOO_LARGE', `GET ${this.endpoint}${path}: the manifest is ${total} bytes, over this client's limit of ${this.maxResponseBytes} bytes: not read. If that is expected, raise the limit (maxResponseBytes; CLI --max-response-mb)`, { limitBytes: this.maxResponseBytes });
      }
      size = total;
      pieces.push(body);
      start = last + 1;
      if (start === total) return pieces.join('');
    }
  }

  /**
   * `GET /audit/verify?from=&to=&functionName=`: the service verifies the range. Beyond 100,000
   * records it answers 413, and a report of more findings than one answer holds is 422
   * `VERIFY_REPORT_TOO_LARGE` (its `details` hold `clean` and the counts): the CLI's verify does both.
   */
  async verifyAudit(query: { from: string; to: string; functionName?: string }, options?: CallOptions): Promise<VerificationReport> {
    return this.request({ method: 'GET', path: '/audit/verify', query: { ...query }, retry: 'safe', options });
  }

  /** `GET /audit/records?from=&to=`: one page of the records created in the range, content as stored. */
  async listAuditRecords(query: { from: string; to: string } & PageOptions, options?: CallOptions): Promise<Page<AuditRecord>> {
    return this.request({ method: 'GET', path: '/audit/records', query: { ...query }, retry: 'safe', page: true, options });
  }

  /** `GET /audit/records/at?kind=&pk=&sk=`: one record at the locator its manifest entry names. */
  async getAuditRecord(locator: { kind: string; pk: string; sk: string }, options?: CallOptions): Promise<AuditRecord> {
    return this.request({ method: 'GET', path: '/audit/records/at', query: { ...locator }, retry: 'safe', options });
  }

  /** `GET /openapi.json`: the API description. */
  async getOpenApi(options?: CallOptions): Promise<Record<string, unknown>> {
    return this.request({ method: 'GET', path: '/openapi.json', retry: 'safe', options });
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Yields every item of a paged list route. A page with no items but a `nextCursor` is followed. A
   * `nextCursor` this iteration already followed (a proxy or cache that answers every page with the
   * first, whatever its cursor) would page the same items again without end: after yielding that
   * page's items, it rejects with INVALID_RESPONSE instead ({@link repeatedCursorGuard}).
   */
  async *iterate<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
    let cursor: string | undefined;
    const guard = repeatedCursorGuard();
    let pages = 0;
    do {
      const page = await fetchPage(cursor);
      pages += 1;
      yield* page.items;
      cursor = page.nextCursor;
      guard(cursor, `page ${pages} of the list`);
    } while (cursor !== undefined);
  }

  private async request<T>(spec: RequestSpec): Promise<T> {
    return (await this.requestWithHeaders<T>(spec)).body;
  }

  private async requestWithHeaders<T>(spec: RequestSpec): Promise<{ body: T; headers: Headers }> {
    const url = new URL(this.endpoint + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...spec.headers, accept: spec.accept === 'html' ? 'text/html, application/json' : spec.accept === 'text' ? '*/*' : 'application/json' };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    if (spec.method === 'POST') {
      const key = spec.options?.idempotencyKey ?? randomUUID();
      // The service's own rule, checked before sending: a key fetch cannot send as a header (a line
      // break, non-ASCII) would otherwise fail every attempt as if the network had.
      if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
        throw new DecisionReplayValidationError(`invalid Idempotency-Key ${JSON.stringify(key)}: must be 1 to 255 printable ASCII characters without spaces`, [{ path: 'Idempotency-Key', message: '1 to 255 printable ASCII characters without spaces' }]);
      }
      headers['idempotency-key'] = key;
    }
    const signal = spec.options?.signal;

    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let res: Response;
      let text: string;
      const sent = this.signing === 'sigv4' ? { ...headers, ...(await this.signed(spec.method, url, headers, body)) } : headers;
      try {
        const timeout = AbortSignal.timeout(this.timeoutMs);
        res = await this.fetchImpl(url, { method: spec.method, headers: sent, ...(body !== undefined && { body }), signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        // The body is read under the same time limit; a connection lost or timed out while it
        // streams is a network failure like one before the headers (retried as such).
        text = await readCapped(res, this.maxResponseBytes, `${spec.method} ${url.origin}${url.pathname}`);
      } catch (err) {
        if (err instanceof DecisionReplayError) throw err;
        if (signal?.aborted) throw err;
        // fetch never connects to the Fetch standard's blocked ports (6000, 6667, 10080, …): the
        // same answer on every attempt, so it is said once, plainly, and not retried.
        if ((err as { cause?: { message?: unknown } }).cause?.message === 'bad port') {
          throw new DecisionReplayNetworkError(`${spec.method} ${url.origin}${url.pathname}: port ${url.port} is one fetch refuses to connect to (a blocked "bad port" of the Fetch standard, as browsers refuse it too); run the service on another port`, { cause: err });
        }
        const retryable = spec.retry === 'safe' || UNSENT_CODES.has(networkCode(err));
        if (!retryable || attempt >= this.retries) throw new DecisionReplayNetworkError(`${spec.method} ${url.origin}${url.pathname}: ${describeNetworkError(err)}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ''}`, { cause: err });
        await this.backoff(attempt, signal);
        continue;
      }
      if (res.ok) {
        const answer = spec.accept === 'html' || spec.accept === 'text' ? text : text === '' ? undefined : successBody(spec, url, res, text);
        return { body: answer as T, headers: res.headers };
      }
      if ((spec.retry === 'safe' ? RETRYABLE_STATUS.has(res.status) : res.status === 503 && isServiceErrorBody(text)) && attempt < this.retries) {
        await this.backoff(attempt, signal, retryAfterMs(res.headers.get('retry-after')));
        continue;
      }
      throw toServiceError(res.status, text);
    }
  }

  /**
   * The SigV4 headers of a request. A failure (no credentials in the default chain, a provider
   * that throws) is no network failure: CREDENTIALS_ERROR, at once, not retried.
   */
  private async signed(method: string, url: URL, headers: Record<string, string>, body: string | undefined): Promise<Record<string, string>> {
    try {
      this.signer ??= import('./sigv4.js').then((m) => m.createSigner({ region: this.region as string, ...(this.credentials !== undefined && { credentials: this.credentials }) }));
      const sign = await this.signer;
      return await sign({ method, url, headers, ...(body !== undefined && { body }) });
    } catch (err) {
      throw new DecisionReplayError(0, 'CREDENTIALS_ERROR', `${method} ${url.origin}${url.pathname}: could not sign the request (SigV4): ${err instanceof Error ? err.message : String(err)}; give the client credentials (the credentials option), or AWS credentials to the default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, SSO, a container or instance role)`, undefined, { cause: err });
    }
  }

  private backoff(attempt: number, signal: AbortSignal | undefined, atLeastMs = 0): Promise<void> {
    const cap = Math.min(5000, this.retryBaseDelayMs * 2 ** attempt);
    const ms = Math.max(atLeastMs, Math.random() * cap);
    return new Promise((resolve, reject) => {
      // The listener goes when the wait ends either way: the caller's signal may be one that many
      // requests share (a recorder's), and would otherwise gather one listener per retry.
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * A success's JSON body, checked as far as every answer of the service goes: a JSON object (a list
 * route's with an `items` array). Anything else — a proxy's or a login page's HTML, another
 * service's JSON — rejects with a DecisionReplayError that says what answered, not a SyntaxError
 * or a TypeError later on.
 */
function successBody(spec: RequestSpec, url: URL, res: Response, text: string): unknown {
  const what = `${spec.method} ${url.origin}${url.pathname} answered ${res.status}`;
  const excerpt = JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const type = res.headers.get('content-type');
    throw new DecisionReplayError(res.status, 'INVALID_RESPONSE', `${what} with a body that is not JSON${type ? ` (${type})` : ''}: ${excerpt}; is ${url.origin} a decision-replay service?`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DecisionReplayError(res.status, 'INVALID_RESPONSE', `${what} with ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}, not a JSON object: ${excerpt}; is ${url.origin} a decision-replay service?`);
  }
  if (spec.page === true && !Array.isArray((body as { items?: unknown }).items)) {
    throw new DecisionReplayError(res.status, 'INVALID_RESPONSE', `${what} with no items list: ${excerpt}; is ${url.origin} a decision-replay service?`);
  }
  return body;
}

/**
 * An answer's body as text (UTF-8, as `Response.text()` decodes it), read no further than `limit`
 * bytes: a declared Content-Length over it is refused before reading, and a body that streams past
 * it is cancelled, so memory stays bounded whatever the endpoint sends. Counted after any content
 * decoding (what is held in memory), so a small compressed body cannot expand past the limit.
 */
async function readCapped(res: Response, limit: number, what: string): Promise<string> {
  const tooLarge = (size: string) => {
    // Three significant digits: a small limit reads 0.0001 MiB, not 0 MiB.
    const mib = (limit / 1048576).toLocaleString('en-US', { maximumSignificantDigits: 3 });
    return new DecisionReplayError(res.status, 'RESPONSE_TOO_LARGE', `${what} answered ${res.status} with a body of ${size}, over this client's limit of ${limit} bytes (${mib} MiB): not read further. If the endpoint is the service and the answer is expected, raise the limit (maxResponseBytes; CLI --max-response-mb)`, { limitBytes: limit });
  };
  const declared = res.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit && res.headers.get('content-encoding') === null) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(`${declared.trim()} bytes (its Content-Length)`);
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`more than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
}

/**
 * True when `text` is the service's own error body (`{error: {code, message}}`), not a proxy's or
 * API Gateway's (`{message}`): a 503 in that shape means the service stored nothing.
 */
function isServiceErrorBody(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } } | null;
    return typeof parsed?.error?.code === 'string' && typeof parsed.error.message === 'string';
  } catch {
    return false;
  }
}

/** The service's error body, or a generic one for an answer that is not in that shape (a proxy's). */
function toServiceError(status: number, text: string): DecisionReplayError {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown }; message?: unknown };
    if (parsed.error && typeof parsed.error.code === 'string' && typeof parsed.error.message === 'string') {
      return new DecisionReplayError(status, parsed.error.code, parsed.error.message, parsed.error.details);
    }
    // API Gateway's own refusals (e.g. a missing or wrong signature) are `{"message": "..."}`.
    if (typeof parsed.message === 'string') return new DecisionReplayError(status, `HTTP_${status}`, parsed.message);
  } catch {
    // not JSON
  }
  return new DecisionReplayError(status, `HTTP_${status}`, `the service answered ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`);
}

function integrityOf(header: string | null): SnapshotIntegrity {
  const value = header?.trim().toLowerCase();
  return value === 'verified' || value === 'tampered' ? value : 'unknown';
}

function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : '';
}

function describeNetworkError(err: unknown): string {
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'timed out';
  const code = networkCode(err);
  const cause = (err as { cause?: { message?: unknown } }).cause;
  const detail = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return code !== '' && !detail.includes(code) ? `${code} ${detail}` : detail;
}

function retryAfterMs(header: string | null): number {
  if (header === null) return 0;
  const seconds = Number(header);
  return Number.isFinite(seconds) ? Math.min(5000, seconds * 1000) : 0;
}
