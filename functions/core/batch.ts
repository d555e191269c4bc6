/**
 * Batch replays (DESIGN §6). The API records the batch and starts the state machine; the snapshot
 * ids travel as a manifest object (one id a line) that the Distributed Map reads with ItemReader and
 * cuts into chunks with ItemBatcher. Each chunk replays its snapshots one after another (so executor
 * calls in flight never exceed the batch's maxConcurrency, the Map's bound on chunks in flight),
 * writes exactly one result per snapshot (idempotent under retries) and stores its results folded
 * into a mergeable stats accumulator; Stats merges those and reconciles them with a count of the
 * stored results — never reading the results, never the Map's output.
 *
 * This module is what the API and the plan step need: requests, records, ports, the start and the
 * plan. Replaying a chunk is ./batch-replay.ts, apart, because it runs replays (and their policies'
 * comparators): the functions that start, plan or report on batches do not ship that code.
 */
import * as z from 'zod/mini';
import { IsoInstantSchema } from './instant.js';
import { ConflictError, DomainError, NotFoundError, ServiceBusyError, ValidationError } from './errors.js';
import { canonicalHash } from './json.js';
import type { Clock, IdGenerator, Page, SnapshotIdIndex } from './ports.js';
import { checkModeOptions, DEFAULT_TOLERANCE, parseReplayRequest, ReplayOptionsShape, ReplayStatusSchema, ResultErrorSchema } from './replay-request.js';
import { resolveNamedPolicy, type PolicyStore } from './policy-port.js';
import { PolicyNameSchema } from './policy-name.js';
import { NoiseRunSchema, PinnedNoiseProfileSchema, pinListedNoiseProfiles, pinNoiseProfile, type NoiseProfileStore } from './noise.js';
import { parseOrThrow } from './schema-util.js';
import { FunctionNameSchema, IntegritySchema, type Snapshot } from './snapshot.js';
import { ReplayStatsSchema, type ReplayStats } from './replay-stats.js';
import type { AccumulatorState } from './stats.js';
import { ulidField } from './ulid.js';
import { modelListAllows, type ExecutorConfigStore } from './executor-port.js';
import { UnsupportedModelError } from './executor-errors.js';
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


/** Which snapshots a batch replays, when not listed by id. `lastHours` is resolved when the batch starts. */
export const SelectorSchema = z.strictObject({
  functionName: FunctionNameSchema,
  from: z.optional(IsoInstantSchema),
  to: z.optional(IsoInstantSchema),
  lastHours: z.optional(z.number().check(z.gt(0, 'lastHours must be > 0'), z.lte(24 * 366, 'lastHours must be at most one year'))),
  limit: z.optional(z.int().check(z.gte(1), z.lte(MAX_SELECTED_SNAPSHOTS, `limit must be at most ${MAX_SELECTED_SNAPSHOTS} (the most snapshots one batch selects)`))),
});
export type Selector = z.infer<typeof SelectorSchema>;

/** Body of `POST /batches` (and the `request` of a scheduled batch). */
export const BatchRequestSchema = z.strictObject({
  snapshotIds: z.optional(z.array(ulidField('snapshot ids are 26-character ULIDs')).check(z.minLength(1, 'snapshotIds must not be empty'))),
  /**
   * The ids as an object in S3 (`s3://bucket/key` or `{bucket, key}`): CSV with a `snapshotId`
   * header, JSON Lines of `{"snapshotId": …}`, or one id a line (see core/id-manifest.ts). Read and
   * validated when the batch is created; the batch replays the ids as they were then.
   */
  snapshotManifest: z.optional(SnapshotManifestSchema),
  selector: z.optional(SelectorSchema),
  ...ReplayOptionsShape,
  maxConcurrency: z.optional(z.int().check(z.gte(1, `maxConcurrency must be 1..${MAX_CONCURRENCY}`), z.lte(MAX_CONCURRENCY, `maxConcurrency must be 1..${MAX_CONCURRENCY}`))),
  policyName: z.optional(PolicyNameSchema),
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
  /**
   * The version of `request.policyName` pinned when the batch started: every item is judged under
   * it, whatever is PUT to the policy meanwhile. Absent when the batch names no policy, and on
   * batches stored before versions were pinned (their items judge under the policy's latest version).
   */
  policyVersion: z.optional(z.int()),
  /**
   * The contentHash of the pinned policy version (the version is sealed): an item whose stored
   * version no longer has it is not judged (Error POLICY_TAMPERED). Absent with `policyVersion`
   * absent, and on batches stored before the hash was pinned.
   */
  policyContentHash: z.optional(z.string()),
  /**
   * `noiseProfile: "latest"` of a batch over listed ids, pinned when the batch started: each listed
   * snapshot's function with the version of its profile that every item of it compares with (see
   * noise.ts pinListedNoiseProfiles). A selection pins `request.noiseProfile` to a number instead
   * (it is of one function). Absent on batches stored before listed ids were pinned (their items
   * read each function's latest when they run).
   */
  noiseProfileVersions: z.optional(z.array(PinnedNoiseProfileSchema)),
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
 * Most bytes of path text a batch result lists in `mismatchedPaths`. A batch result is one DynamoDB
 * item (400 KB): an output of 20,000 array elements that all changed has ~400 KB of paths, and the
 * item failed to store, so the batch counted a replay that ran as an error. The first paths up to
 * this size are listed, and `mismatchedPathsOmitted` counts the rest; the replay's own result (in
 * the snapshot's replay history) has the verdicts.
 */
export const MAX_MISMATCHED_PATH_BYTES = 100_000;

const utf8 = new TextEncoder();

/** `paths` in order, up to {@link MAX_MISMATCHED_PATH_BYTES} of text, with a count of the rest when there is any. */
export function listedMismatchedPaths(paths: Iterable<string>): { mismatchedPaths: string[]; mismatchedPathsOmitted?: number } {
  const listed: string[] = [];
  let bytes = 0;
  let omitted = 0;
  for (const path of paths) {
    if (omitted === 0) {
      bytes += utf8.encode(path).length;
      if (bytes <= MAX_MISMATCHED_PATH_BYTES) {
        listed.push(path);
        continue;
      }
    }
    omitted += 1;
  }
  return omitted === 0 ? { mismatchedPaths: listed } : { mismatchedPaths: listed, mismatchedPathsOmitted: omitted };
}

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
  /**
   * How many more paths did not match than `mismatchedPaths` lists (it holds at most
   * {@link MAX_MISMATCHED_PATH_BYTES} of path text); absent when it lists them all. The replay's
   * own result, in the snapshot's replay history, has every verdict.
   */
  mismatchedPathsOmitted: z.optional(z.int().check(z.gte(1))),
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
  /** The batch's stored results for `snapshotIds`, by snapshot id, read as `getResult` reads them (none: absent). */
  getResults(batchId: string, snapshotIds: readonly string[]): Promise<Map<string, BatchResult>>;
  /** Writes a snapshot's result once (false if it exists). */
  putResult(result: BatchResult): Promise<boolean>;
  /** How many results are stored: a count query, reading no result (the stats' reconciliation). */
  countResults(batchId: string): Promise<number>;
  listResults(batchId: string, limit: number, cursor?: string): Promise<Page<BatchResult>>;
  /** Visits every result, page by page (constant memory). */
  forEachResult(batchId: string, visit: (result: BatchResult) => void): Promise<number>;
  /** Marks the batch SUCCEEDED with its stats, only while it is RUNNING. True when this call changed it. */
  complete(batchId: string, stats: ReplayStats, completedAt: string): Promise<boolean>;
  /**
   * Marks the batch FAILED only while it is still RUNNING (a batch that could not be planned or
   * started, a workflow that failed, an execution that ended abnormally, a batch the local host could
   * not resume); a batch already SUCCEEDED, FAILED or CANCELLED keeps its status, and a missing one
   * is not created. True when this call changed it.
   */
  failIfRunning(batchId: string, reason: string, completedAt: string): Promise<boolean>;
  /**
   * Claims an Idempotency-Key for a batch request at `claimedAt`; an earlier claim is returned
   * instead, with its time (absent on a claim stored before claims were dated).
   */
  claimIdempotencyKey(key: string, requestHash: string, batchId: string, claimedAt: string): Promise<{ claimed: true } | { claimed: false; batchId: string; requestHash: string; claimedAt?: string }>;
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
 * What a chunk costs on its own, in items: its task invocation, its interpreter iteration, its
 * reads before the first item and the round trips of its last writes. Measured on the local host
 * (2026-12-02, 1,000 items × 200 ms at 40): ~45 ms a chunk where an item took ~212 ms, 0.21 of an
 * item. On AWS a chunk (an Express child execution and a warm invocation) costs tens of ms and a
 * model call usually more than 200 ms, so this errs toward fewer, larger chunks.
 */
export const CHUNK_COST_ITEMS = 0.25;

/**
 * The busiest slot's wall time in items, counting {@link CHUNK_COST_ITEMS} for each of its chunks:
 * each round of chunks costs its size plus the chunk's own cost.
 */
export function busiestSlotCost(total: number, maxConcurrency: number, size: number): number {
  return Math.ceil(Math.ceil(total / size) / maxConcurrency) * (size + CHUNK_COST_ITEMS);
}

/**
 * Snapshots per chunk: at least two rounds of chunks per concurrency slot (so a slow chunk does not
 * leave the others idle at the end), at most {@link MAX_ITEMS_PER_CHUNK}, and never fewer chunks
 * than slots when there are enough snapshots. Among those sizes, the one whose busiest slot costs
 * least ({@link busiestSlotCost}: its items and its chunks), the largest on a tie. A size that
 * leaves the last round mostly idle loses (90 at 40: chunks of 1, 3 items per slot, where a plain
 * two-round cut of 2 gave 4), and so does one that balances by chunks of 1 when a larger size is
 * one item short of it (1,234 at 40: chunks of 16, 32 items per slot in 78 chunks, not 31 in 1,234).
 * For 1,000 at 40, chunks of 5 (25 items per slot, the ideal; 200 chunks) against 13 (26; 77
 * chunks) took the 200 ms batch from 1.22 – 1.23 to 1.15 – 1.17 × ideal in three alternating rounds
 * on a quiet machine, for ~7 % fewer zero-latency replays a second.
 */
export function itemsPerChunkFor(total: number, maxConcurrency: number): number {
  if (total <= maxConcurrency) return 1;
  const minRounds = Math.max(2, Math.ceil(total / (maxConcurrency * MAX_ITEMS_PER_CHUNK)));
  let best = 1;
  for (let size = 2; size <= MAX_ITEMS_PER_CHUNK && Math.ceil(Math.ceil(total / size) / maxConcurrency) >= minRounds; size++) {
    if (busiestSlotCost(total, maxConcurrency, size) <= busiestSlotCost(total, maxConcurrency, best)) best = size;
  }
  return best;
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

/** An instant the request schema accepted, in the one form it is stored and compared in. */
const iso = (instant: string): string => new Date(instant).toISOString();

/** The selector's window as absolute instants: a relative one against `nowMs`, an open end at `nowMs`. */
export function selectionWindow(selector: Selector, nowMs: number): { from?: string; to: string } {
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
  // A window that ends before it starts selects nothing: a `from` after the batch's start with an
  // open end (a `from` after an explicit `to` is refused with the request). Asking the index for
  // it would be a query DynamoDB refuses (BETWEEN with its bounds reversed).
  if (window.from !== undefined && window.from > window.to) return;
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

/**
 * A selector's time window as a batch and a noise profile both take it: `lastHours` or `from`/`to`,
 * not both, and `from` not after `to` (a 400 naming the field).
 */
export function checkSelectorWindow(s: { lastHours?: number | undefined; from?: string | undefined; to?: string | undefined } | undefined): void {
  if (s?.lastHours !== undefined && (s.from !== undefined || s.to !== undefined)) {
    throw new ValidationError('selector: give lastHours or from/to, not both', { details: { issues: [{ path: 'selector.lastHours', message: 'not with from/to' }] } });
  }
  if (s?.from !== undefined && s.to !== undefined && Date.parse(s.from) > Date.parse(s.to)) {
    throw new ValidationError('selector: from is after to', { details: { issues: [{ path: 'selector.from', message: 'after to' }] } });
  }
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
  checkSelectorWindow(request.selector);
  checkModeOptions(request);
  return request;
}

/**
 * What an Idempotency-Key compares: the request as it will run, so a retry that spells out a default
 * (`"mode": "Tolerant"`, `"maxConcurrency": 10`, the selector's `limit`) or writes an instant
 * another way (`04:00Z` for `04:00:00.000Z`) is the same request. Options with no fixed default
 * (`dependencyMode` depends on the snapshot) stay as sent.
 */
export function idempotentView(request: BatchRequest): BatchRequest {
  const mode = request.mode ?? 'Tolerant';
  const s = request.selector;
  const selector = s && { ...s, limit: s.limit ?? DEFAULT_SELECTOR_LIMIT, ...(s.from !== undefined && { from: iso(s.from) }), ...(s.to !== undefined && { to: iso(s.to) }) };
  return {
    ...request,
    ...(selector && { selector }),
    mode,
    ...(mode === 'Tolerant' && { tolerance: request.tolerance ?? DEFAULT_TOLERANCE }),
    noiseProfile: request.noiseProfile ?? 'none',
    maxConcurrency: request.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
  };
}

/** A new, running batch record, not yet planned (its ids are written to a manifest apart). */
export function newBatch(batchId: string, request: BatchRequest, origin: Pick<Batch, 'trigger' | 'scheduleName' | 'createdAt' | 'policyVersion' | 'policyContentHash' | 'noiseProfileVersions'>): Batch {
  const { snapshotIds: _ids, ...rest } = request;
  return {
    batchId,
    status: 'RUNNING',
    total: null,
    completed: 0,
    maxConcurrency: request.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    request: rest,
    ...(origin.policyVersion !== undefined && { policyVersion: origin.policyVersion }),
    ...(origin.policyContentHash !== undefined && { policyContentHash: origin.policyContentHash }),
    ...(origin.noiseProfileVersions !== undefined && { noiseProfileVersions: origin.noiseProfileVersions }),
    trigger: origin.trigger,
    ...(origin.scheduleName !== undefined && { scheduleName: origin.scheduleName }),
    createdAt: origin.createdAt,
  };
}

export interface StartBatchDeps {
  /** `functionNamesOf`: the functions of listed snapshots, read to pin their noise profiles. */
  snapshots: SnapshotIdIndex;
  batches: BatchStore;
  manifests: ManifestStore;
  starter: BatchStarter;
  policies: PolicyStore;
  clock: Clock;
  ids: IdGenerator;
  /** Needed only for batches that ask for a noise profile. */
  noiseProfiles?: NoiseProfileStore;
  /** Where `snapshotManifest` may point (the deployment's grants); none: every manifest is refused. */
  manifestSources?: readonly ManifestSource[];
  /** The registered executors: a selector's override of the model is checked against its function's. */
  executors?: Pick<ExecutorConfigStore, 'get'>;
}

/**
 * Refuses (422 UNSUPPORTED_MODEL, as a single replay with the same override is refused) a batch
 * whose `overrides.modelParameters.modelName` the selected function's registered executor does
 * not serve: every item would replay on that model and end in the same error. Checked only where
 * the answer holds for every item: a selector (one function) with the model name overridden, and
 * an executor registered for it (none registered: the items say NO_EXECUTOR, as before). With a
 * model name given, every executor type decides by its `models` list alone (modelListAllows).
 */
async function assertOverrideModelServed(executors: StartBatchDeps['executors'], request: BatchRequest): Promise<void> {
  const modelName = request.overrides?.modelParameters?.modelName;
  const functionName = request.selector?.functionName;
  if (executors === undefined || functionName === undefined || typeof modelName !== 'string') return;
  const registered = await executors.get(functionName);
  if (registered === undefined || modelListAllows(registered.executor.models, modelName)) return;
  throw new UnsupportedModelError(functionName, modelName, `${registered.executor.type} executor serving ${(registered.executor.models ?? []).join(', ')}`);
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
 *
 * Listed ids (`snapshotIds`, a `snapshotManifest`) are written to the batch's manifest BEFORE the
 * batch is recorded, and the batch is recorded with its plan: the ids are in no other place, so a
 * batch whose record exists can always be run, and one whose request stopped before recording it
 * (a killed host, a function past its time) was never recorded. A selection is recorded first and
 * planned after: Plan can plan it again from the record.
 */
export async function startBatch(deps: StartBatchDeps, body: unknown, idempotencyKey?: string): Promise<{ batch: Batch; created: boolean }> {
  const request = parseBatchRequest(body);
  if (request.snapshotIds) assertDistinct(request.snapshotIds);
  if (request.snapshotManifest) assertAllowedManifest(manifestLocation(request.snapshotManifest), deps.manifestSources ?? []);
  // Resolve the policy now, so an unknown policyName is a 404 here rather than N error results.
  // (Checked like a replay request; a batch names a stored policy, never an inline one.)
  const options = parseReplayRequest({ mode: request.mode, tolerance: request.tolerance, policyName: request.policyName, overrides: request.overrides, dependencyMode: request.dependencyMode, noiseProfile: request.noiseProfile });
  // Its version is pinned too: every item judges under the version current now (see Batch.policyVersion).
  // (A version that fails its seal is refused here: 409 POLICY_TAMPERED.)
  const pinnedPolicy = options.policyName !== undefined ? await resolveNamedPolicy(deps.policies, options.policyName) : undefined;
  await assertOverrideModelServed(deps.executors, request);
  // A manifest is read in full and validated before anything is written (a retry with the same
  // Idempotency-Key reads it again: the key is claimed only for a request that is accepted).
  const listed = request.snapshotManifest ? await readSnapshotManifest(deps, request.snapshotManifest) : request.snapshotIds;
  // A selector names the function: its profile is checked now and 'latest' pinned to a version.
  // (The batch records the pinned version; the Idempotency-Key compares the request as it will run: idempotentView.)
  const pinned = request.selector ? await pinNoiseProfile(deps.noiseProfiles, request.selector.functionName, request.noiseProfile) : undefined;
  // Listed ids name no function (and may be of several): each listed snapshot's function is pinned.
  const noiseProfileVersions = listed !== undefined && request.noiseProfile === 'latest' ? await pinListedNoiseProfiles(deps.noiseProfiles, deps.snapshots, listed) : undefined;
  let batchId = deps.ids.next();
  const createdAt = new Date(deps.clock.now()).toISOString();
  const fresh = () => newBatch(batchId, pinned === undefined ? request : { ...request, noiseProfile: pinned }, { trigger: 'api', createdAt, policyVersion: pinnedPolicy?.version, policyContentHash: pinnedPolicy?.contentHash, noiseProfileVersions });
  if (idempotencyKey !== undefined) {
    assertIdempotencyKey(idempotencyKey);
    const requestHash = canonicalHash(idempotentView(request));
    const claim = await deps.batches.claimIdempotencyKey(idempotencyKey, requestHash, batchId, createdAt);
    if (!claim.claimed) {
      // A key claimed before requests were compared by their meaning holds the hash of the request as sent.
      if (claim.requestHash !== requestHash && claim.requestHash !== canonicalHash(request)) throw new ConflictError(`Idempotency-Key '${idempotencyKey}' was already used with a different batch request`, { code: 'IDEMPOTENCY_KEY_REUSED', details: { batchId: claim.batchId } });
      batchId = claim.batchId;
      const existing = await deps.batches.get(batchId);
      if (existing) return { batch: await resumeRetriedBatch(deps, existing, listed), created: false };
      // Listed ids, not recorded yet: the request that claimed the key is writing them, and records
      // the batch once they are written (it answers with it). This one writes and starts nothing,
      // and says so (503, Retry-After): answering 202 would name a batch that GET /batches/{id}
      // does not know, and never will if that request has stopped. Past the deadline that request
      // ended first: this one runs it.
      if (listed !== undefined && claim.claimedAt !== undefined) {
        const deadline = Date.parse(claim.claimedAt) + BATCH_PLANNING_DEADLINE_MS;
        if (deps.clock.now() < deadline) {
          throw new ServiceBusyError(
            `a request with Idempotency-Key '${idempotencyKey}' is still writing the snapshot ids of batch ${batchId} (since ${claim.claimedAt}); send this request again in a few seconds: it answers with that batch once it is recorded, or runs it itself if that request stopped (after ${new Date(deadline).toISOString()})`,
            { code: 'IDEMPOTENT_REQUEST_IN_PROGRESS', retryAfterSeconds: IN_PROGRESS_RETRY_AFTER_SECONDS, details: { batchId, claimedAt: claim.claimedAt } },
          );
        }
      }
    }
  }
  if (listed !== undefined) {
    const unplanned = fresh();
    const planned = { ...unplanned, ...(await writePlan(deps.manifests, unplanned, pagesOf(listed))) };
    // Refused only when a request with the same Idempotency-Key recorded it first (it starts it).
    if (!(await deps.batches.create(planned))) return { batch: (await deps.batches.get(batchId)) ?? planned, created: false };
    return { batch: await startRecorded(deps, planned), created: true };
  }
  const recorded = fresh();
  // Refused only when a concurrent request with the same Idempotency-Key created it first: answer
  // with that batch, and leave its planning to that request.
  if (!(await deps.batches.create(recorded))) return { batch: (await deps.batches.get(batchId)) ?? recorded, created: false };
  return { batch: await planAndStart(deps, recorded, listed), created: true };
}

/**
 * How long after recording a batch the request that recorded it may still be planning it: longer
 * than any request of the batches function runs (its timeout is 25 s, under the HTTP API's 30 s).
 * A retry that finds the batch unplanned after this knows that request ended without planning it.
 */
export const BATCH_PLANNING_DEADLINE_MS = 60_000;

/**
 * The Retry-After of a retry that finds the first request under its Idempotency-Key still writing
 * its listed ids: that usually takes well under a second (100,000 ids: a few), so a few seconds.
 */
export const IN_PROGRESS_RETRY_AFTER_SECONDS = 2;

/** Whether the API plans a batch itself (listed ids, a selection of at most {@link API_PLANNED_SELECTION_LIMIT}) rather than Plan. */
function plannedByApi(batch: Batch, listed: readonly string[] | undefined): boolean {
  const selector = batch.request.selector;
  return listed !== undefined || (selector !== undefined && (selector.limit ?? DEFAULT_SELECTOR_LIMIT) <= API_PLANNED_SELECTION_LIMIT);
}

/** Plans a recorded batch where the API plans it (its manifest) and starts its workflow; a failure marks it FAILED. */
async function planAndStart(deps: StartBatchDeps, recorded: Batch, listed: readonly string[] | undefined): Promise<Batch> {
  const { batchId } = recorded;
  const nowIso = () => new Date(deps.clock.now()).toISOString();
  let batch = recorded;
  if (plannedByApi(recorded, listed)) {
    const ids = listed ? pagesOf(listed) : selectIds(deps.snapshots, recorded.request.selector as Selector, Date.parse(recorded.createdAt));
    try {
      const plan = await writePlan(deps.manifests, recorded, ids);
      await deps.batches.setPlan(batchId, plan);
      batch = { ...recorded, ...plan };
    } catch (err) {
      await deps.batches.failIfRunning(batchId, 'the snapshot ids could not be written to the manifest', nowIso());
      throw err;
    }
  }
  return startRecorded(deps, batch);
}

/** Starts the workflow of a recorded batch; a failure to start marks it FAILED. */
export async function startRecorded(deps: StartBatchDeps, batch: Batch): Promise<Batch> {
  try {
    await deps.starter.start(batch.batchId, { batchId: batch.batchId });
  } catch (err) {
    await deps.batches.failIfRunning(batch.batchId, 'the workflow could not be started', new Date(deps.clock.now()).toISOString());
    throw err;
  }
  return batch;
}

/**
 * An Idempotency-Key retry that finds the first request's batch recorded. Started (again: starting a
 * running batch starts nothing) once planned, or when Plan plans it. A batch the API plans but has
 * not planned yet is not started: the first request is writing its manifest and starts it, and a
 * workflow started before then finds no ids and fails the batch. Only when that request is past
 * {@link BATCH_PLANNING_DEADLINE_MS} (it ended without planning) does the retry plan and start it.
 * A batch that no longer runs is answered as it is.
 */
async function resumeRetriedBatch(deps: StartBatchDeps, existing: Batch, listed: readonly string[] | undefined): Promise<Batch> {
  if (existing.status !== 'RUNNING') return existing;
  if (existing.manifest !== undefined || !plannedByApi(existing, listed)) {
    await deps.starter.start(existing.batchId, { batchId: existing.batchId });
    return existing;
  }
  if (deps.clock.now() - Date.parse(existing.createdAt) < BATCH_PLANNING_DEADLINE_MS) return existing;
  return planAndStart(deps, existing, listed);
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
  /** `functionNamesOf`: the functions of a schedule's listed snapshots, read to pin their noise profiles. */
  snapshots: SnapshotIdIndex;
  batches: BatchStore;
  manifests: ManifestStore;
  /** Pins the version of the policy a scheduled batch names (none: its items judge under the latest). */
  policies?: Pick<PolicyStore, 'getLatest'>;
  /** Pins a scheduled batch's `noiseProfile: "latest"` to a version (none: its items read the latest each). */
  noiseProfiles?: NoiseProfileStore;
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
 * A recorded batch of listed ids (`snapshotIds`, `snapshotManifest`) whose ids were never written to
 * its manifest: recorded before them, as {@link startBatch} did before 2026-12-03, by a request
 * that then stopped (a killed host, a function past its time). The ids were only in that request,
 * so the batch cannot be run; thrown by Plan, under its code, for the batch to end FAILED saying
 * how to run it.
 */
export class BatchNotPlannedError extends ConflictError {
  constructor(batchId: string) {
    super(
      `batch ${batchId} was recorded, but the service stopped before its snapshot ids were written to its manifest (they were only in the request), so nothing was replayed; to run it, send that POST /batches again, with a new Idempotency-Key or none`,
      { code: 'BATCH_NOT_PLANNED' },
    );
  }
}

/** {@link pinNoiseProfile} for a schedule: a choice that cannot be pinned is left for the items to report. */
async function pinScheduledNoiseProfile(store: NoiseProfileStore | undefined, functionName: string, choice: BatchRequest['noiseProfile']): Promise<number | undefined> {
  if (choice !== 'latest' || store === undefined) return undefined;
  try {
    return await pinNoiseProfile(store, functionName, choice);
  } catch (err) {
    if (err instanceof DomainError) return undefined;
    throw err;
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
      // The policy's version is pinned as the API pins it (a policy that does not exist fails the
      // batch below). Its contentHash is pinned as read; a version that fails its seal is refused
      // by each item.
      const latest = request.policyName !== undefined ? await deps.policies?.getLatest(request.policyName) : undefined;
      // So is 'latest' of its noise profile, so every item compares with the same one; with no
      // profile learned yet nothing is pinned (each item then records NO_NOISE_PROFILE, as before).
      const noiseProfile = request.selector ? await pinScheduledNoiseProfile(deps.noiseProfiles, request.selector.functionName, request.noiseProfile) : undefined;
      // Listed ids: each listed snapshot's function (those with no profile are left out: their items say NO_NOISE_PROFILE).
      const noiseProfileVersions = request.snapshotIds && request.noiseProfile === 'latest' && deps.noiseProfiles !== undefined ? await pinListedNoiseProfiles(deps.noiseProfiles, deps.snapshots, request.snapshotIds, { unprofiled: 'leave' }) : undefined;
      const fresh = newBatch(batchId, noiseProfile === undefined ? request : { ...request, noiseProfile }, { trigger: 'schedule', scheduleName, createdAt: new Date(Date.parse(startedAt)).toISOString(), policyVersion: latest?.version, policyContentHash: latest?.contentHash, noiseProfileVersions });
      // A concurrent Plan of the same execution may have recorded it first: plan what it recorded.
      batch = (await deps.batches.create(fresh)) ? fresh : ((await deps.batches.get(batchId)) ?? fresh);
    }
    // A policy it names that does not exist (deleted, or misspelt in cdk.json) fails the batch here,
    // recorded first so that the workflow's Catch marks it FAILED with POLICY_NOT_FOUND: replaying
    // it would end SUCCEEDED with every item an Error, and a broken nightly run would look green.
    const policyName = batch.request.policyName;
    if (policyName !== undefined && batch.policyVersion === undefined && deps.policies !== undefined && (await deps.policies.getLatest(policyName)) === undefined) {
      throw new NotFoundError('policy', policyName);
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
    if (!selector) throw new BatchNotPlannedError(batch.batchId);
    const plan = await writePlan(deps.manifests, batch, selectIds(deps.snapshots, selector, Date.parse(batch.createdAt)));
    await deps.batches.setPlan(batch.batchId, plan);
    batch = { ...batch, ...plan };
  }
  return { batchId: batch.batchId, manifest: batch.manifest as ManifestRef, itemsPerChunk: batch.itemsPerChunk as number, maxConcurrency: batch.maxConcurrency };
}
