/**
 * Batch replays (DESIGN §6). The API records the batch and starts the state machine; the snapshot
 * ids travel as a manifest object (one id a line) that the Distributed Map reads with ItemReader and
 * cuts into chunks with ItemBatcher. Each chunk replays its snapshots one after another (so executor
 * calls in flight never exceed the batch's maxConcurrency, the Map's bound on chunks in flight),
 * writes exactly one result per snapshot (idempotent under retries) and stores its results folded
 * into a mergeable stats accumulator; Stats merges those and reconciles them with a count of the
 * stored results — never reading the results, never the Map's output.
 */
import * as z from 'zod/mini';
import { ConflictError, DomainError, NotFoundError, ValidationError } from './errors.js';
import { canonicalHash } from './json.js';
import type { Clock, IdGenerator, Page, SnapshotIdIndex, SnapshotStore } from './ports.js';
import type { ExecutorConfigStore, StoredExecutorConfig } from './executor.js';
import { prepareReplay, replaySnapshot, ReplayOptionsShape, ReplayStatusSchema, ResultErrorSchema, type PreparedReplay, type ReplayDeps, type ReplayResult, type ReplayResultStore } from './replay.js';
import { NoiseRunSchema, type NoiseProfileStore } from './noise.js';
import { noiseProfileItem, pinNoiseProfile } from './noise-profile-job.js';
import { parseOrThrow } from './schema-util.js';
import { FunctionNameSchema, IntegritySchema, type Snapshot } from './snapshot.js';
import { ReplayStatsSchema, type ReplayStats } from './replay-stats.js';
import { StatsAccumulator, type AccumulatorState } from './stats.js';
import { ULID } from './ulid.js';
import { assertIdempotencyKey } from './idempotency.js';
import { assertAllowedManifest, manifestLocation, MAX_LISTED_SNAPSHOTS, MAX_MANIFEST_BYTES, parseIdManifest, s3Uri, SnapshotManifestSchema, type ManifestSource, type S3Location } from './id-manifest.js';

export { MAX_LISTED_SNAPSHOTS };

/** Most snapshots one batch selects by function and time window. */
export const MAX_SELECTED_SNAPSHOTS = 1_000_000;
/**
 * Selections whose `limit` is at most this are resolved by the API itself, so the 202 carries the
 * total; larger ones are resolved by the workflow's Plan step (the API has 30 s), and `total` is
 * null until Plan has written the manifest.
 */
export const API_PLANNED_SELECTION_LIMIT = 10_000;
/**
 * Most snapshots one chunk (one child execution of the Distributed Map, one Lambda invocation)
 * replays, one after another. It bounds a chunk's duration (an Express child runs at most 5 min;
 * 20 items at ≤ 15 s each fit) and the cost of a retried chunk.
 */
export const MAX_ITEMS_PER_CHUNK = 20;
export const DEFAULT_MAX_CONCURRENCY = 10;
export const MAX_CONCURRENCY = 1000;
export const DEFAULT_SELECTOR_LIMIT = 1000;

const isoInstant = z.string().check(z.refine((v) => /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 date-time'));

/** Which snapshots a batch replays, when not listed by id. `lastHours` is resolved when the batch starts. */
export const SelectorSchema = z.strictObject({
  functionName: FunctionNameSchema,
  from: z.optional(isoInstant),
  to: z.optional(isoInstant),
  lastHours: z.optional(z.number().check(z.gt(0, 'lastHours must be > 0'), z.lte(24 * 366, 'lastHours must be at most one year'))),
  limit: z.optional(z.int().check(z.gte(1), z.lte(MAX_SELECTED_SNAPSHOTS, `limit must be at most ${MAX_SELECTED_SNAPSHOTS} (the most snapshots one batch selects)`))),
});
export type Selector = z.infer<typeof SelectorSchema>;

/** Body of `POST /batches` (and the `request` of a scheduled batch). */
export const BatchRequestSchema = z.strictObject({
  snapshotIds: z.optional(z.array(z.string().check(z.regex(ULID, 'snapshot ids are 26-character ULIDs'))).check(z.minLength(1, 'snapshotIds must not be empty'))),
  /**
   * The ids as an object in S3 (`s3://bucket/key` or `{bucket, key}`): CSV with a `snapshotId`
   * header, JSON Lines of `{"snapshotId": …}`, or one id a line (see core/id-manifest.ts). Read and
   * validated when the batch is created; the batch replays the ids as they were then.
   */
  snapshotManifest: z.optional(SnapshotManifestSchema),
  selector: z.optional(SelectorSchema),
  ...ReplayOptionsShape,
  maxConcurrency: z.optional(z.int().check(z.gte(1, `maxConcurrency must be 1..${MAX_CONCURRENCY}`), z.lte(MAX_CONCURRENCY, `maxConcurrency must be 1..${MAX_CONCURRENCY}`))),
  policyName: z.optional(z.string().check(z.minLength(1))),
});
export type BatchRequest = z.infer<typeof BatchRequestSchema>;

/** CANCELLED: stopped through `POST /batches/{id}/cancel`, with the statistics over the results stored by then. */
export const BatchStatusSchema = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

/** Where a batch's snapshot ids are: an object of the manifest bucket, CSV `snapshotId` + one id a line. */
export const ManifestRefSchema = z.strictObject({ bucket: z.string(), key: z.string() });
export type ManifestRef = z.infer<typeof ManifestRefSchema>;

/**
 * The batch record: `GET /batches/{id}`. `request` is the batch request without its ids;
 * `total` is null while a large selection is still being planned; `completed` counts the results
 * of the chunks finished so far (one read, whatever the batch size; final once the batch
 * SUCCEEDED); `manifest` and `itemsPerChunk` come once planned; `stats` come when it SUCCEEDED or
 * was CANCELLED, `failureReason` when it FAILED, `completedAt` with any of them.
 */
export const BatchSchema = z.strictObject({
  batchId: z.string(),
  status: BatchStatusSchema,
  total: z.nullable(z.int()),
  completed: z.int(),
  manifest: z.optional(ManifestRefSchema),
  itemsPerChunk: z.optional(z.int()),
  maxConcurrency: z.int(),
  request: z.omit(BatchRequestSchema, { snapshotIds: true }),
  trigger: z.enum(['api', 'schedule']),
  scheduleName: z.optional(z.string()),
  stats: z.optional(ReplayStatsSchema),
  failureReason: z.optional(z.string()),
  /** Set on a batch that learns a noise profile (`POST /functions/{fn}/noise-profile`) instead of replaying. */
  noiseProfile: z.optional(z.strictObject({ functionName: z.string(), sampleSize: z.int() })),
  createdAt: z.string(),
  completedAt: z.optional(z.string()),
  /** While it runs (and once FAILED): results so far, the successful replays and the matches among them. */
  progress: z.optional(z.strictObject({ completed: z.int(), successful: z.int(), matches: z.int() })),
});
export type Batch = z.infer<typeof BatchSchema>;

/** The answer to `POST /batches` (202): the batch started, or the one an Idempotency-Key retry names. */
export const BatchAcceptedSchema = z.strictObject({
  batchId: z.string(),
  status: BatchStatusSchema,
  /** Null when the selection is planned by the workflow (a `limit` over 10,000). */
  total: z.nullable(z.int()),
});
export type BatchAccepted = z.infer<typeof BatchAcceptedSchema>;

/**
 * One snapshot's outcome within a batch: `GET /batches/{id}/results`. `replayId` names the full
 * result in the snapshot's replay history (`GET /snapshots/{id}/replays`); null for an error
 * recorded by the workflow.
 */
export const BatchResultSchema = z.strictObject({
  batchId: z.string(),
  snapshotId: z.string(),
  replayId: z.nullable(z.string()),
  status: ReplayStatusSchema,
  outputsMatch: z.boolean(),
  executionTimeMs: z.number(),
  mismatchedPaths: z.array(z.string()),
  violatedRules: z.array(z.string()),
  integrity: z.optional(IntegritySchema),
  error: z.optional(ResultErrorSchema),
  /**
   * What the replay is compared with, as recorded: the snapshot's function, execution time and
   * model. Kept on the result so the batch report needs no read of every snapshot. Absent when the
   * snapshot could not be read, and on results written before it was kept.
   */
  original: z.optional(
    z.strictObject({
      functionName: z.string(),
      executionTimeMs: z.optional(z.number()),
      modelName: z.optional(z.string()),
      modelVersion: z.optional(z.string()),
    }),
  ),
  /** In a noise-profile batch: what differed between the two runs of this snapshot. */
  noise: z.optional(NoiseRunSchema),
  createdAt: z.string(),
  /** SHA-256 of the stored result's canonical JSON without this field (see core/records.ts); set when stored. */
  contentHash: z.optional(z.string()),
});
export type BatchResult = z.infer<typeof BatchResultSchema>;

/** One chunk's results folded together, stored once when the chunk is done. */
export interface BatchChunk {
  batchId: string;
  /** The chunk's first snapshot id: chunks are disjoint, so it names the chunk on every retry. */
  chunkId: string;
  /** Results folded (= the chunk's snapshots). */
  count: number;
  /** Of those, the replays that ran (not Error), and the matches among them: the batch's progress counters. */
  successful: number;
  matches: number;
  stats: AccumulatorState;
  createdAt: string;
}

/** The outcome of planning: what the Map reads and how it cuts it. */
export interface BatchPlan {
  total: number;
  manifest: ManifestRef;
  itemsPerChunk: number;
}

/** The facts of a snapshot a batch result keeps (see `BatchResult.original`). */
export function originalFacts(snapshot: Snapshot): NonNullable<BatchResult['original']> {
  const mp = snapshot.modelParameters;
  return {
    functionName: snapshot.functionName,
    ...(snapshot.executionTimeMs !== undefined && { executionTimeMs: snapshot.executionTimeMs }),
    ...(mp?.modelName !== undefined && { modelName: mp.modelName }),
    ...(mp?.modelVersion !== undefined && { modelVersion: mp.modelVersion }),
  };
}

/** Port: batches, their chunks and their results. */
export interface BatchStore {
  /** Records a new batch; false when the id exists. `completed` is final once the batch SUCCEEDED. */
  create(batch: Batch): Promise<boolean>;
  get(batchId: string): Promise<Batch | undefined>;
  /** Records where the planned ids are and how many. */
  setPlan(batchId: string, plan: BatchPlan): Promise<void>;
  /** Stores a finished chunk once (false if stored before) and adds its counts to the batch's progress. */
  putChunk(chunk: BatchChunk): Promise<boolean>;
  /** Visits every stored chunk, page by page (constant memory); returns how many. */
  forEachChunk(batchId: string, visit: (chunk: BatchChunk) => void): Promise<number>;
  getResult(batchId: string, snapshotId: string): Promise<BatchResult | undefined>;
  /** Writes a snapshot's result once (false if it exists). */
  putResult(result: BatchResult): Promise<boolean>;
  /** How many results are stored: a count query, reading no result (the stats' reconciliation). */
  countResults(batchId: string): Promise<number>;
  listResults(batchId: string, limit: number, cursor?: string): Promise<Page<BatchResult>>;
  /** Visits every result, page by page (constant memory). */
  forEachResult(batchId: string, visit: (result: BatchResult) => void): Promise<number>;
  complete(batchId: string, stats: ReplayStats, completedAt: string): Promise<void>;
  fail(batchId: string, reason: string, completedAt: string): Promise<void>;
  /**
   * Marks the batch FAILED only while it is still RUNNING (an execution that ended abnormally, a
   * batch the local host could not resume); a batch already SUCCEEDED, FAILED or CANCELLED keeps
   * its status. True when this call changed it.
   */
  failIfRunning(batchId: string, reason: string, completedAt: string): Promise<boolean>;
  /** Claims an Idempotency-Key for a batch request; an earlier claim is returned instead. */
  claimIdempotencyKey(key: string, requestHash: string, batchId: string): Promise<{ claimed: true } | { claimed: false; batchId: string; requestHash: string }>;
}

/** Port: manifests of snapshot ids in the manifest bucket. */
export interface ManifestStore {
  /** Writes `ids` (pages of them, streamed: memory stays bounded) as the object `key`. */
  write(key: string, ids: AsyncIterable<readonly string[]>): Promise<ManifestRef & { count: number }>;
  /** The ids of a manifest, page by page. */
  read(ref: ManifestRef): AsyncIterable<string[]>;
  /**
   * Every line of a user's id manifest (`snapshotManifest`), page by page, without the `\n`s.
   * Throws a NotFoundError (MANIFEST_NOT_FOUND) for a missing object or bucket, a
   * PayloadTooLargeError for an object over `maxBytes` (nothing read), an UnprocessableError
   * (MANIFEST_UNREADABLE) when S3 refuses the read.
   */
  readSource(loc: S3Location, maxBytes: number): AsyncIterable<string[]>;
}

/** Where batch manifests live in the manifest bucket (the workflow's grants cover only this prefix). */
export const BATCH_MANIFEST_PREFIX = 'batches/';

/** The manifest object of a batch. */
export function manifestKey(batchId: string): string {
  return `${BATCH_MANIFEST_PREFIX}${batchId}/snapshot-ids.csv`;
}

/**
 * The items the busiest concurrency slot replays when `total` snapshots go in chunks of `size`,
 * `maxConcurrency` chunks at a time: its rounds of chunks times their size. Items take about the same
 * time, so this is the batch's wall time in items (the ideal is `ceil(total / maxConcurrency)`).
 */
export function busiestSlotItems(total: number, maxConcurrency: number, size: number): number {
  return Math.ceil(Math.ceil(total / size) / maxConcurrency) * size;
}

/**
 * How far (as a fraction) a chunk size may leave the busiest slot above the best size's, for fewer
 * chunks. Each chunk costs a task invocation, its interpreter iteration and a write: measured on
 * 1,000 zero-latency items at 40, chunks of 5 (25 items per slot, the ideal) replayed ~8 % fewer
 * items per second than chunks of 13 (26 per slot), while gaining only 2 – 3 % at 200 ms per item.
 */
export const CHUNK_BALANCE_TOLERANCE = 0.05;

/**
 * Snapshots per chunk: at least two rounds of chunks per concurrency slot (so a slow chunk does not
 * leave the others idle at the end), at most {@link MAX_ITEMS_PER_CHUNK}, and never fewer chunks
 * than slots when there are enough snapshots. Among those sizes, the largest (fewest chunks) whose
 * busiest slot ({@link busiestSlotItems}) replays at most {@link CHUNK_BALANCE_TOLERANCE} more items
 * than the best size's: a size that leaves the last round mostly idle is passed over (90 at 40:
 * chunks of 1, 3 items per slot, where a plain two-round cut of 2 gave 4, a third more).
 */
export function itemsPerChunkFor(total: number, maxConcurrency: number): number {
  if (total <= maxConcurrency) return 1;
  const minRounds = Math.max(2, Math.ceil(total / (maxConcurrency * MAX_ITEMS_PER_CHUNK)));
  const sizes = [1];
  for (let size = 2; size <= MAX_ITEMS_PER_CHUNK && Math.ceil(Math.ceil(total / size) / maxConcurrency) >= minRounds; size++) sizes.push(size);
  const fewest = Math.min(...sizes.map((size) => busiestSlotItems(total, maxConcurrency, size)));
  const acceptable = sizes.filter((size) => busiestSlotItems(total, maxConcurrency, size) <= fewest * (1 + CHUNK_BALANCE_TOLERANCE));
  return Math.max(...acceptable);
}

/** Port: starts the workflow for a batch; starting one twice starts it once. */
export interface BatchStarter {
  start(batchId: string, input: { batchId: string }): Promise<void>;
}

// ------------------------------------------------------------------------------------------------
// Errors the Step Functions tasks throw: Retry/Catch match on `name`.

/** The batch record is missing (a task was invoked for a batch that was never created). */
export class BatchNotFoundError extends NotFoundError {
  constructor(batchId: string) {
    super('batch', batchId);
  }
}

// ------------------------------------------------------------------------------------------------

/** The selector's window as absolute instants: a relative one against `nowMs`, an open end at `nowMs`. */
export function selectionWindow(selector: Selector, nowMs: number): { from?: string; to: string } {
  const iso = (v: string) => new Date(v).toISOString();
  const to = selector.to !== undefined ? iso(selector.to) : new Date(nowMs).toISOString();
  const from = selector.from !== undefined ? iso(selector.from) : selector.lastHours !== undefined ? new Date(nowMs - selector.lastHours * 3_600_000).toISOString() : undefined;
  return from === undefined ? { to } : { from, to };
}

/**
 * The selected snapshot ids, newest first, page by page: paging through the function's index,
 * holding one page at a time. Snapshots recorded after `nowMs` (the batch's start) are not selected.
 */
export async function* selectIds(snapshots: SnapshotIdIndex, selector: Selector, nowMs: number): AsyncGenerator<string[]> {
  const window = selectionWindow(selector, nowMs);
  const limit = selector.limit ?? DEFAULT_SELECTOR_LIMIT;
  const fetch = (taken: number, cursor: string | undefined) => snapshots.listIds({ functionName: selector.functionName, ...window, limit: Math.min(SELECT_PAGE_IDS, limit - taken), ...(cursor && { cursor }), order: 'desc' });
  let taken = 0;
  let next: Promise<Page<string>> | undefined = fetch(0, undefined);
  while (next) {
    const page: Page<string> = await next;
    taken += page.items.length;
    // The next page is asked for before this one is handed on, so paging the index overlaps with
    // what the consumer does with it (building and uploading the manifest). At most two pages are held.
    next = page.nextCursor && taken < limit ? fetch(taken, page.nextCursor) : undefined;
    // A consumer that stops early leaves the prefetched page unread; its failure is not an error here.
    next?.catch(() => undefined);
    if (page.items.length > 0) yield page.items;
  }
}

/**
 * Ids one selection page asks for: a 1 MB page of the keys-only index holds ~9,000 (DynamoDB ends a
 * page at 1 MB whatever the Limit), so one request brings about that many.
 */
export const SELECT_PAGE_IDS = 10_000;

/** Resolves a request's selection to snapshot ids (a relative window against `nowMs`). Small selections only: it holds them all. */
export async function resolveSelection(snapshots: SnapshotIdIndex, request: BatchRequest, nowMs: number): Promise<string[]> {
  if (request.snapshotIds) {
    assertDistinct(request.snapshotIds);
    return request.snapshotIds;
  }
  const ids: string[] = [];
  for await (const page of selectIds(snapshots, request.selector as Selector, nowMs)) ids.push(...page);
  return ids;
}

function assertDistinct(ids: readonly string[]): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) throw new ValidationError(`snapshotIds[${i}]: '${id}' is listed twice`, { details: { issues: [{ path: `snapshotIds[${i}]`, message: 'duplicate id' }] } });
    seen.add(id);
  });
}

/** A list of ids as pages, the shape a manifest is written from. */
export async function* pagesOf(ids: readonly string[], size = 1000): AsyncGenerator<string[]> {
  for (let i = 0; i < ids.length; i += size) yield ids.slice(i, i + size);
}

/** Writes a batch's manifest from a selection (streamed) and works out the chunking. */
export async function writePlan(manifests: ManifestStore, batch: Pick<Batch, 'batchId' | 'maxConcurrency'>, ids: AsyncIterable<readonly string[]>): Promise<BatchPlan> {
  const written = await manifests.write(manifestKey(batch.batchId), ids);
  return { total: written.count, manifest: { bucket: written.bucket, key: written.key }, itemsPerChunk: itemsPerChunkFor(written.count, batch.maxConcurrency) };
}

/** Checks a batch request beyond its schema: exactly one selection, a sane window, options that fit together. */
export function parseBatchRequest(body: unknown): BatchRequest {
  const request = parseOrThrow(BatchRequestSchema, body, 'batch request');
  const given = (['snapshotIds', 'snapshotManifest', 'selector'] as const).filter((k) => request[k] !== undefined);
  if (given.length !== 1) {
    throw new ValidationError(`give exactly one of snapshotIds, snapshotManifest and selector${given.length > 1 ? `, not ${given.join(' and ')}` : ''}`, {
      details: { issues: [{ path: given[1] ?? 'snapshotIds', message: 'exactly one of snapshotIds, snapshotManifest and selector' }] },
    });
  }
  if (request.snapshotIds && request.snapshotIds.length > MAX_LISTED_SNAPSHOTS) {
    throw new ValidationError(`a batch lists at most ${MAX_LISTED_SNAPSHOTS} snapshot ids; got ${request.snapshotIds.length} — select by function and time window (up to ${MAX_SELECTED_SNAPSHOTS}) or split it into several batches`, {
      code: 'BATCH_TOO_LARGE',
      details: { issues: [{ path: 'snapshotIds', message: `at most ${MAX_LISTED_SNAPSHOTS}` }] },
    });
  }
  const s = request.selector;
  if (s && s.lastHours !== undefined && (s.from !== undefined || s.to !== undefined)) {
    throw new ValidationError('selector: give lastHours or from/to, not both', { details: { issues: [{ path: 'selector.lastHours', message: 'not with from/to' }] } });
  }
  if (s?.from !== undefined && s.to !== undefined && Date.parse(s.from) > Date.parse(s.to)) {
    throw new ValidationError('selector: from is after to', { details: { issues: [{ path: 'selector.from', message: 'after to' }] } });
  }
  if (request.tolerance !== undefined && request.mode !== undefined && request.mode !== 'Tolerant') {
    throw new ValidationError(`tolerance applies to Tolerant mode only, not ${request.mode}`, { details: { issues: [{ path: 'tolerance', message: 'only with mode Tolerant' }] } });
  }
  return request;
}

/** A new, running batch record, not yet planned (its ids are written to a manifest apart). */
export function newBatch(batchId: string, request: BatchRequest, origin: Pick<Batch, 'trigger' | 'scheduleName' | 'createdAt'>): Batch {
  const { snapshotIds: _ids, ...rest } = request;
  return {
    batchId,
    status: 'RUNNING',
    total: null,
    completed: 0,
    maxConcurrency: request.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    request: rest,
    trigger: origin.trigger,
    ...(origin.scheduleName !== undefined && { scheduleName: origin.scheduleName }),
    createdAt: origin.createdAt,
  };
}

export interface StartBatchDeps {
  snapshots: SnapshotIdIndex;
  batches: BatchStore;
  manifests: ManifestStore;
  starter: BatchStarter;
  policies: ReplayDeps['policies'];
  clock: Clock;
  ids: IdGenerator;
  /** Needed only for batches that ask for a noise profile. */
  noiseProfiles?: NoiseProfileStore;
  /** Where `snapshotManifest` may point (the deployment's grants); none: every manifest is refused. */
  manifestSources?: readonly ManifestSource[];
}

/**
 * Reads and validates a request's `snapshotManifest` in full before anything is written: a refused
 * manifest (not allowed, missing, malformed, over the limit) leaves no trace. Memory: the ids
 * (≤ {@link MAX_LISTED_SNAPSHOTS}) and one ranged GET.
 */
export async function readSnapshotManifest(deps: Pick<StartBatchDeps, 'manifests' | 'manifestSources'>, manifest: NonNullable<BatchRequest['snapshotManifest']>): Promise<string[]> {
  const loc = manifestLocation(manifest);
  assertAllowedManifest(loc, deps.manifestSources ?? []);
  return parseIdManifest(deps.manifests.readSource(loc, MAX_MANIFEST_BYTES), `snapshotManifest ${s3Uri(loc)}`);
}

/**
 * `POST /batches`: validate, record, plan (listed ids, and selections of at most
 * {@link API_PLANNED_SELECTION_LIMIT}), start. Returns the batch as recorded.
 */
export async function startBatch(deps: StartBatchDeps, body: unknown, idempotencyKey?: string): Promise<{ batch: Batch; created: boolean }> {
  const request = parseBatchRequest(body);
  if (request.snapshotIds) assertDistinct(request.snapshotIds);
  if (request.snapshotManifest) assertAllowedManifest(manifestLocation(request.snapshotManifest), deps.manifestSources ?? []);
  // Resolve the policy now, so an unknown policyName is a 404 here rather than N error results.
  await prepareReplay(deps.policies, { mode: request.mode, tolerance: request.tolerance, policyName: request.policyName, overrides: request.overrides, dependencyMode: request.dependencyMode, noiseProfile: request.noiseProfile });
  // A manifest is read in full and validated before anything is written (a retry with the same
  // Idempotency-Key reads it again: the key is claimed only for a request that is accepted).
  const listed = request.snapshotManifest ? await readSnapshotManifest(deps, request.snapshotManifest) : request.snapshotIds;
  // A selector names the function: its profile is checked now and 'latest' pinned to a version.
  // (The batch records the pinned version; the Idempotency-Key compares the request as sent.)
  const pinned = request.selector ? await pinNoiseProfile(deps.noiseProfiles, request.selector.functionName, request.noiseProfile) : undefined;
  let batchId = deps.ids.next();
  if (idempotencyKey !== undefined) {
    assertIdempotencyKey(idempotencyKey);
    const requestHash = canonicalHash(request);
    const claim = await deps.batches.claimIdempotencyKey(idempotencyKey, requestHash, batchId);
    if (!claim.claimed) {
      if (claim.requestHash !== requestHash) throw new ConflictError(`Idempotency-Key '${idempotencyKey}' was already used with a different batch request`, { code: 'IDEMPOTENCY_KEY_REUSED', details: { batchId: claim.batchId } });
      batchId = claim.batchId;
      const existing = await deps.batches.get(batchId);
      if (existing) {
        await deps.starter.start(batchId, { batchId }); // starts nothing if it already runs
        return { batch: existing, created: false };
      }
    }
  }
  const nowIso = () => new Date(deps.clock.now()).toISOString();
  const fresh = newBatch(batchId, pinned === undefined ? request : { ...request, noiseProfile: pinned }, { trigger: 'api', createdAt: nowIso() });
  // Refused only when a concurrent request with the same Idempotency-Key created it first: answer
  // with that batch, and leave its planning to that request.
  if (!(await deps.batches.create(fresh))) return { batch: (await deps.batches.get(batchId)) ?? fresh, created: false };
  let batch = fresh;
  const ids = listed
    ? pagesOf(listed)
    : (request.selector?.limit ?? DEFAULT_SELECTOR_LIMIT) <= API_PLANNED_SELECTION_LIMIT
      ? selectIds(deps.snapshots, request.selector as Selector, Date.parse(fresh.createdAt))
      : undefined;
  if (ids) {
    try {
      const plan = await writePlan(deps.manifests, fresh, ids);
      await deps.batches.setPlan(batchId, plan);
      batch = { ...fresh, ...plan };
    } catch (err) {
      await deps.batches.fail(batchId, 'the snapshot ids could not be written to the manifest', nowIso());
      throw err;
    }
  }
  try {
    await deps.starter.start(batchId, { batchId });
  } catch (err) {
    await deps.batches.fail(batchId, 'the workflow could not be started', nowIso());
    throw err;
  }
  return { batch, created: true };
}

// ------------------------------------------------------------------------------------------------
// The Step Functions tasks.

/**
 * What Plan is asked (parsed from the Step Functions payload at the edge): the batch an API request
 * recorded, or a schedule's request with the batch id and start time of its execution.
 */
export type PlanCommand =
  | { batchId: string }
  | { schedule: { batchId: string; scheduleName: string; request: unknown; startedAt: string } };

export interface PlanDeps {
  snapshots: SnapshotIdIndex;
  batches: BatchStore;
  manifests: ManifestStore;
}

/** What Plan hands the Map: where the ids are, how to cut them, how many chunks at once. */
export interface PlanOutput {
  batchId: string;
  manifest: ManifestRef;
  itemsPerChunk: number;
  maxConcurrency: number;
}

/** A stored batch that cannot be planned (neither a manifest nor a selector): thrown by name. */
export class BatchStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchStateError';
  }
}

/**
 * Plan: the batch's manifest and chunking. A batch the API planned is returned as recorded; any
 * other (a large selection, a schedule — recorded here first) is planned now by paging through the
 * index into the manifest, holding one page at a time. A retried Plan writes the same manifest again.
 */
export async function planBatch(deps: PlanDeps, command: PlanCommand): Promise<PlanOutput> {
  let batch: Batch | undefined;
  if (!('schedule' in command)) {
    batch = await deps.batches.get(command.batchId);
    if (!batch) throw new BatchNotFoundError(command.batchId);
  } else {
    const { batchId, scheduleName, request: body, startedAt } = command.schedule;
    const request = parseBatchRequest(body);
    batch = await deps.batches.get(batchId);
    if (!batch) {
      const fresh = newBatch(batchId, request, { trigger: 'schedule', scheduleName, createdAt: new Date(Date.parse(startedAt)).toISOString() });
      // A concurrent Plan of the same execution may have recorded it first: plan what it recorded.
      batch = (await deps.batches.create(fresh)) ? fresh : ((await deps.batches.get(batchId)) ?? fresh);
    }
    if (request.snapshotIds && !batch.manifest) {
      const plan = await writePlan(deps.manifests, batch, pagesOf(request.snapshotIds));
      await deps.batches.setPlan(batchId, plan);
      batch = { ...batch, ...plan };
    }
  }
  if (!batch.manifest || batch.itemsPerChunk === undefined) {
    const selector = batch.request.selector;
    // A snapshotManifest is read and copied into the batch's manifest by the API (a schedule names
    // a selector): a batch without a plan here was not created through either.
    if (!selector) throw new BatchStateError(`batch ${batch.batchId} has neither a manifest nor a selector`);
    const plan = await writePlan(deps.manifests, batch, selectIds(deps.snapshots, selector, Date.parse(batch.createdAt)));
    await deps.batches.setPlan(batch.batchId, plan);
    batch = { ...batch, ...plan };
  }
  return { batchId: batch.batchId, manifest: batch.manifest as ManifestRef, itemsPerChunk: batch.itemsPerChunk as number, maxConcurrency: batch.maxConcurrency };
}

/**
 * One item of the Map (parsed from the Step Functions payload at the edge): replay the snapshot, or,
 * after its retries were exhausted (the Catch), record `failure` as its Error result.
 */
export interface ReplayItemCommand {
  batchId: string;
  snapshotId: string;
  failure?: { code: string; message: string } | undefined;
}

/**
 * One chunk of the Map (ItemBatcher's `Items`, parsed at the edge): replay its snapshots one after
 * another, or, after the chunk's retries were exhausted, record `failure` for each without a result.
 */
export interface ReplayChunkCommand {
  batchId: string;
  snapshotIds: string[];
  failure?: { code: string; message: string } | undefined;
}

export interface ReplayItemDeps extends ReplayDeps {
  batches: BatchStore;
  results: ReplayResultStore;
  /** The replay id of a batch item: the same on every retry (`timeMs` is the batch's start). */
  replayIdFor(batchId: string, snapshotId: string, timeMs: number): string;
  /** Kept for the life of the function instance (module scope). */
  cache: BatchItemCache;
}

/** Summary of one item: all the Map keeps. */
export interface ItemSummary {
  snapshotId: string;
  status: BatchResult['status'];
  outputsMatch: boolean;
}

function summarize(result: ReplayResult, batchId: string, original: Snapshot | undefined): BatchResult {
  return {
    batchId,
    snapshotId: result.snapshotId,
    replayId: result.replayId,
    status: result.status,
    outputsMatch: result.outputsMatch,
    executionTimeMs: result.executionTimeMs,
    mismatchedPaths: result.fieldComparisons.filter((c) => !c.match).map((c) => c.path),
    violatedRules: result.policyViolations.map((v) => v.ruleName),
    integrity: result.integrity,
    ...(result.error && { error: result.error }),
    ...(original && { original: originalFacts(original) }),
    createdAt: result.createdAt,
  };
}

/**
 * What the per-item task resolves once per batch in a warm function instead of once per item: the
 * replay settings (mode, policy, overrides) and each function's executor. A batch therefore replays
 * with the executor registered when it first needed it; re-registering one mid-batch applies to
 * the next batch (or to items a fresh function instance picks up).
 */
export class BatchItemCache {
  private readonly batches = new Map<string, Promise<Batch>>();
  private readonly prepared = new Map<string, Promise<PreparedReplay>>();
  private readonly executors = new Map<string, Promise<StoredExecutorConfig | undefined>>();

  constructor(private readonly maxBatches = 100) {}

  /** The batch record as it was when the batch started (its request and start time do not change). */
  batchFor(deps: Pick<ReplayItemDeps, 'batches'>, batchId: string): Promise<Batch> {
    return this.memo(this.batches, batchId, async () => {
      const batch = await deps.batches.get(batchId);
      if (!batch) throw new BatchNotFoundError(batchId);
      return batch;
    });
  }

  /** The batch's replay settings. */
  preparedFor(deps: Pick<ReplayItemDeps, 'batches' | 'policies'>, batchId: string): Promise<PreparedReplay> {
    return this.memo(this.prepared, batchId, async () => {
      const r = (await this.batchFor(deps, batchId)).request;
      return prepareReplay(deps.policies, { mode: r.mode, tolerance: r.tolerance, policyName: r.policyName, overrides: r.overrides, dependencyMode: r.dependencyMode, noiseProfile: r.noiseProfile });
    });
  }

  /** An executor-config store that reads each function's executor once for this batch. */
  executorsFor(store: ExecutorConfigStore, batchId: string): ExecutorConfigStore {
    return {
      put: (functionName, config) => store.put(functionName, config),
      get: (functionName) => this.memo(this.executors, `${batchId}\0${functionName}`, () => store.get(functionName)),
    };
  }

  private memo<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let p = map.get(key);
    if (!p) {
      p = load();
      map.set(key, p);
      if (map.size > this.maxBatches) map.delete(map.keys().next().value as string);
      p.catch(() => map.delete(key));
    }
    return p;
  }
}

/**
 * Replays one snapshot of a batch and writes its result once. The result and the history entry are
 * written with conditional puts on keys fixed by batch and snapshot, so a retried item never
 * produces a second result or history entry; and an item reads its stored result first, so a
 * retried chunk, a redrive or a batch resumed after a crash calls no executor for a snapshot that
 * already has its result (executor calls never exceed items). A request error about this snapshot (gone, no
 * executor, unsupported model) is recorded as its Error result; anything else is thrown for the
 * workflow's Retry/Catch.
 */
export async function replayBatchItem(deps: ReplayItemDeps, command: ReplayItemCommand): Promise<ItemSummary> {
  const { batchId, snapshotId, failure } = command;
  const stored = failure ? await recordItemError(deps, batchId, snapshotId, failure) : await replayItem(deps, batchId, snapshotId);
  return { snapshotId, status: stored.status, outputsMatch: stored.outputsMatch };
}

/** Records an Error result for a snapshot whose replay failed after its retries; the stored result wins. */
async function recordItemError(deps: Pick<ReplayItemDeps, 'batches' | 'clock'>, batchId: string, snapshotId: string, failure: { code: string; message: string }): Promise<BatchResult> {
  const result: BatchResult = {
    batchId,
    snapshotId,
    replayId: null,
    status: 'Error',
    outputsMatch: false,
    executionTimeMs: 0,
    mismatchedPaths: [],
    violatedRules: [],
    error: failure,
    createdAt: new Date(deps.clock.now()).toISOString(),
  };
  if (await deps.batches.putResult(result)) return result;
  return (await deps.batches.getResult(batchId, snapshotId)) ?? result;
}

/**
 * An item's two reads, started ahead of its turn: its stored result (if any) and its snapshot. A
 * chunk starts the next item's reads while the current item waits for its executor, so an item's
 * turn begins with its executor call. Reads only: an unused read-ahead (the chunk stopped or failed)
 * changes nothing, and the snapshot is still read from the table for this replay, one item early.
 */
interface ItemReads {
  existing: Promise<BatchResult | undefined>;
  /** Absent where the item reads its snapshot its own way (a noise-profile batch). */
  snapshot?: Promise<Snapshot | undefined>;
}

function readAhead(deps: ReplayItemDeps, batchId: string, snapshotId: string, withSnapshot: boolean): ItemReads {
  const reads: ItemReads = { existing: deps.batches.getResult(batchId, snapshotId), ...(withSnapshot && { snapshot: deps.snapshots.get(snapshotId) }) };
  // Awaited when the item's turn comes; until then a failure must not be an unhandled rejection.
  reads.existing.catch(() => undefined);
  reads.snapshot?.catch(() => undefined);
  return reads;
}

/** `snapshots` whose `get` of `snapshotId` answers the read already started for it. */
function withSnapshotRead(snapshots: SnapshotStore, snapshotId: string, read: Promise<Snapshot | undefined>): SnapshotStore {
  let used = false;
  return Object.assign(Object.create(snapshots) as SnapshotStore, {
    get(id: string): Promise<Snapshot | undefined> {
      if (id !== snapshotId || used) return snapshots.get(id);
      used = true;
      return read;
    },
  });
}

/** Replays one snapshot and returns its result as stored (this attempt's, or an earlier one's). */
async function replayItem(deps: ReplayItemDeps, batchId: string, snapshotId: string): Promise<BatchResult> {
  const started = (await startItem(deps, batchId, snapshotId)) as { stored: Promise<BatchResult> };
  return started.stored;
}

/**
 * Replays one snapshot up to its executor's answer; `stored` settles once its result is stored (this
 * attempt's, or an earlier one's), so a chunk can start its next item meanwhile. With `checkRunning`,
 * the batch's status is read with the item's first reads: undefined (nothing done) when it is no
 * longer RUNNING. `reads`: the item's reads, started ahead ({@link readAhead}).
 */
async function startItem(deps: ReplayItemDeps, batchId: string, snapshotId: string, checkRunning = false, reads?: ItemReads): Promise<{ stored: Promise<BatchResult> } | undefined> {
  const now = () => new Date(deps.clock.now()).toISOString();
  // An item looks for its stored result before anything is executed: a Step Functions retry or
  // redrive, a resumed execution after a crash or an idempotent repeat of the batch finds the first
  // attempt's result and calls no executor again (executor calls never exceed items).
  const [current, existing, batch, prepared] = await Promise.all([
    checkRunning ? deps.batches.get(batchId) : undefined,
    reads?.existing ?? deps.batches.getResult(batchId, snapshotId),
    deps.cache.batchFor(deps, batchId),
    deps.cache.preparedFor(deps, batchId),
  ]);
  if (checkRunning && current?.status !== 'RUNNING') return undefined;
  if (existing !== undefined) return { stored: Promise.resolve(existing) };
  if (batch.noiseProfile !== undefined) {
    let measured: BatchResult;
    try {
      measured = await noiseProfileItem(deps, batchId, snapshotId);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      measured = { batchId, snapshotId, replayId: null, status: 'Error', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [], violatedRules: [], error: { code: err.code, message: err.message }, createdAt: now() };
    }
    const written = deps.batches.putResult(measured);
    return { stored: written.then(async (ok) => (ok ? measured : ((await deps.batches.getResult(batchId, snapshotId)) ?? measured))) };
  }
  let summary: BatchResult;
  let full: ReplayResult | undefined;
  let original: Snapshot | undefined;
  try {
    const replayDeps = { ...deps, executors: deps.cache.executorsFor(deps.executors, batchId), ...(reads?.snapshot !== undefined && { snapshots: withSnapshotRead(deps.snapshots, snapshotId, reads.snapshot) }) };
    full = { ...(await replaySnapshot(replayDeps, snapshotId, prepared, deps.replayIdFor(batchId, snapshotId, Date.parse(batch.createdAt)), (read) => (original = read))), batchId };
    summary = summarize(full, batchId, original);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    summary = { batchId, snapshotId, replayId: null, status: 'Error', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [], violatedRules: [], error: { code: err.code, message: err.message }, ...(original && { original: originalFacts(original) }), createdAt: now() };
  }
  // Both writes are conditional on keys that are the same on every retry (the history entry is
  // listed at the batch's start), so they can go out together: the first attempt's result and
  // history entry win, and a retry writes neither again.
  const writes = Promise.all([deps.batches.putResult(summary), full ? deps.results.put(full, { sortAt: batch.createdAt }) : false]);
  return { stored: writes.then(async ([written]) => (written ? summary : ((await deps.batches.getResult(batchId, snapshotId)) ?? summary))) };
}

/** What a chunk task returns (the Map discards it); `stopped` when the batch was no longer RUNNING. */
export interface ChunkSummary {
  chunkId: string;
  count: number;
  /** Of `count`, the Error results. */
  failed: number;
  stopped?: true;
}

/** How often a chunk re-reads its batch's status between items. */
export const STATUS_CHECK_MS = 200;

/**
 * Replays a chunk's snapshots one after another (a chunk holds one executor call at a time, so
 * chunks in flight bound calls in flight), folds each stored result into a stats accumulator and
 * stores it with the chunk. With `recordError` (the chunk failed after its retries) every snapshot
 * without a result gets an Error result, and the chunk is folded the same way. A retried chunk folds
 * the results stored by the earlier attempt, so its accumulator always equals its stored results.
 */
export async function replayBatchChunk(deps: ReplayItemDeps, command: ReplayChunkCommand): Promise<ChunkSummary> {
  const { batchId, snapshotIds, failure } = command;
  const chunkId = snapshotIds[0];
  if (chunkId === undefined) throw new BatchStateError(`a chunk of batch ${batchId} without snapshots`);
  const acc = new StatsAccumulator();
  let successful = 0;
  let matches = 0;
  const fold = (stored: BatchResult) => {
    acc.add(stored);
    if (stored.status !== 'Error') {
      successful += 1;
      if (stored.outputsMatch) matches += 1;
    }
  };
  // The item before's writes, still going out while this item runs (its executor call included:
  // still one executor call at a time per chunk). Folded once they have settled.
  let writing: Promise<BatchResult> | undefined;
  const settle = async () => {
    if (writing === undefined) return;
    const stored = await writing;
    writing = undefined;
    fold(stored);
  };
  let checkedAt = -Infinity;
  // Each item's reads start while the item before it waits for its executor (see readAhead).
  const readSnapshots = failure === undefined && (await deps.cache.batchFor(deps, batchId)).noiseProfile === undefined;
  let next: ItemReads | undefined = failure ? undefined : readAhead(deps, batchId, chunkId, readSnapshots);
  for (const [index, snapshotId] of snapshotIds.entries()) {
    const reads = next;
    const following = snapshotIds[index + 1];
    next = failure || following === undefined ? undefined : readAhead(deps, batchId, following, readSnapshots);
    // A cancelled batch stops here: the workflow's stop does not reach a running invocation, so a
    // chunk looks at the batch's status between items (at most every STATUS_CHECK_MS, to keep its
    // META item from turning into a hot key) and replays nothing more once it is not RUNNING.
    // The read goes out with the item's own first reads, so it costs no round trip of its own.
    const check = deps.clock.now() - checkedAt >= STATUS_CHECK_MS;
    if (check) checkedAt = deps.clock.now();
    if (failure) {
      if (check && (await deps.batches.get(batchId))?.status !== 'RUNNING') return { chunkId, count: acc.count, failed: acc.count - successful, stopped: true };
      fold(await recordItemError(deps, batchId, snapshotId, failure));
      continue;
    }
    const started = await startItem(deps, batchId, snapshotId, check, reads);
    await settle();
    if (started === undefined) return { chunkId, count: acc.count, failed: acc.count - successful, stopped: true };
    writing = started.stored;
    // Awaited by settle(); a failure meanwhile must not be an unhandled rejection.
    writing.catch(() => undefined);
  }
  await settle();
  await deps.batches.putChunk({ batchId, chunkId, count: acc.count, successful, matches, stats: acc.toState(), createdAt: new Date(deps.clock.now()).toISOString() });
  return { chunkId, count: acc.count, failed: acc.count - successful };
}
