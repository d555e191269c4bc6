/**
 * Batch replays (DESIGN §6). The API resolves the selection and records the batch, then starts the
 * state machine; Plan hands the ids to the Map; each item replays one snapshot and writes exactly
 * one result (idempotent under retries); Stats folds the stored results — never the Map's output —
 * into the batch's statistics.
 */
import * as z from 'zod/mini';
import { ConflictError, DomainError, NotFoundError, ValidationError } from './errors.js';
import { canonicalHash } from './json.js';
import type { Clock, IdGenerator, Page, SnapshotStore } from './ports.js';
import type { ExecutorConfigStore, StoredExecutorConfig } from './executor.js';
import { prepareReplay, replaySnapshot, ReplayOptionsShape, ReplayStatusSchema, ResultErrorSchema, type PreparedReplay, type ReplayDeps, type ReplayResult, type ReplayResultStore } from './replay.js';
import { NoiseRunSchema, type NoiseProfileStore } from './noise.js';
import { noiseProfileItem, pinNoiseProfile } from './noise-profile-job.js';
import { parseOrThrow } from './schema-util.js';
import { FunctionNameSchema, IntegritySchema, type Snapshot } from './snapshot.js';
import { ReplayStatsSchema, type ReplayStats } from './replay-stats.js';
import { ULID } from './ulid.js';
import { assertIdempotencyKey } from './idempotency.js';

/** Most snapshots one batch replays: the ids travel inline in the execution state (256 KiB). */
export const MAX_BATCH_SNAPSHOTS = 8000;
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
  limit: z.optional(z.int().check(z.gte(1), z.lte(MAX_BATCH_SNAPSHOTS, `limit must be at most ${MAX_BATCH_SNAPSHOTS}`))),
});
export type Selector = z.infer<typeof SelectorSchema>;

/** Body of `POST /batches` (and the `request` of a scheduled batch). */
export const BatchRequestSchema = z.strictObject({
  snapshotIds: z.optional(z.array(z.string().check(z.regex(ULID, 'snapshot ids are 26-character ULIDs'))).check(z.minLength(1, 'snapshotIds must not be empty'))),
  selector: z.optional(SelectorSchema),
  ...ReplayOptionsShape,
  maxConcurrency: z.optional(z.int().check(z.gte(1, `maxConcurrency must be 1..${MAX_CONCURRENCY}`), z.lte(MAX_CONCURRENCY, `maxConcurrency must be 1..${MAX_CONCURRENCY}`))),
  policyName: z.optional(z.string().check(z.minLength(1))),
});
export type BatchRequest = z.infer<typeof BatchRequestSchema>;

/** CANCELLED: stopped through `POST /batches/{id}/cancel`, with the statistics over the results stored by then. */
export const BatchStatusSchema = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

/**
 * The batch record: `GET /batches/{id}`. `request` is the batch request without its ids;
 * `completed` counts the results stored so far (final once the batch SUCCEEDED); `stats` come
 * when it SUCCEEDED or was CANCELLED, `failureReason` when it FAILED, `completedAt` with any of them.
 */
export const BatchSchema = z.strictObject({
  batchId: z.string(),
  status: BatchStatusSchema,
  total: z.int(),
  completed: z.int(),
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
  total: z.int(),
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

/** Port: batches, their snapshot ids and their results. */
export interface BatchStore {
  /** Records a new batch with its ids; false when the id exists. `completed` is final once the batch SUCCEEDED. */
  create(batch: Batch, snapshotIds: readonly string[]): Promise<boolean>;
  get(batchId: string): Promise<Batch | undefined>;
  getSnapshotIds(batchId: string): Promise<string[]>;
  getResult(batchId: string, snapshotId: string): Promise<BatchResult | undefined>;
  /** Writes a snapshot's result once (false if it exists). */
  putResult(result: BatchResult): Promise<boolean>;
  /** How many results are stored (the progress of a running batch). */
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

/** Resolves a request's selection to snapshot ids (a relative window against `nowMs`). */
export async function resolveSelection(snapshots: SnapshotStore, request: BatchRequest, nowMs: number): Promise<string[]> {
  if (request.snapshotIds) {
    const seen = new Set<string>();
    request.snapshotIds.forEach((id, i) => {
      if (seen.has(id)) throw new ValidationError(`snapshotIds[${i}]: '${id}' is listed twice`, { details: { issues: [{ path: `snapshotIds[${i}]`, message: 'duplicate id' }] } });
      seen.add(id);
    });
    return request.snapshotIds;
  }
  const selector = request.selector as Selector;
  const to = selector.to !== undefined ? new Date(selector.to).toISOString() : selector.lastHours !== undefined ? new Date(nowMs).toISOString() : undefined;
  const from = selector.from !== undefined ? new Date(selector.from).toISOString() : selector.lastHours !== undefined ? new Date(nowMs - selector.lastHours * 3_600_000).toISOString() : undefined;
  const limit = selector.limit ?? DEFAULT_SELECTOR_LIMIT;
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await snapshots.list({ functionName: selector.functionName, ...(from && { from }), ...(to && { to }), limit: Math.min(1000, limit - ids.length), ...(cursor && { cursor }), order: 'desc' });
    for (const s of page.items) ids.push(s.snapshotId);
    cursor = page.nextCursor;
  } while (cursor && ids.length < limit);
  return ids;
}

/** Checks a batch request beyond its schema: exactly one selection, a sane window, options that fit together. */
export function parseBatchRequest(body: unknown): BatchRequest {
  const request = parseOrThrow(BatchRequestSchema, body, 'batch request');
  if ((request.snapshotIds === undefined) === (request.selector === undefined)) {
    throw new ValidationError('give exactly one of snapshotIds and selector', { details: { issues: [{ path: request.snapshotIds ? 'selector' : 'snapshotIds', message: 'exactly one of snapshotIds and selector' }] } });
  }
  if (request.snapshotIds && request.snapshotIds.length > MAX_BATCH_SNAPSHOTS) {
    throw new ValidationError(`a batch replays at most ${MAX_BATCH_SNAPSHOTS} snapshots (the ids travel in one Step Functions execution, whose state is limited to 256 KiB); got ${request.snapshotIds.length} — split it into several batches`, {
      code: 'BATCH_TOO_LARGE',
      details: { issues: [{ path: 'snapshotIds', message: `at most ${MAX_BATCH_SNAPSHOTS}` }] },
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

/** A new, running batch record (the ids themselves are stored apart). */
export function newBatch(batchId: string, request: BatchRequest, total: number, origin: Pick<Batch, 'trigger' | 'scheduleName' | 'createdAt'>): Batch {
  const { snapshotIds: _ids, ...rest } = request;
  return {
    batchId,
    status: 'RUNNING',
    total,
    completed: 0,
    maxConcurrency: request.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    request: rest,
    trigger: origin.trigger,
    ...(origin.scheduleName !== undefined && { scheduleName: origin.scheduleName }),
    createdAt: origin.createdAt,
  };
}

export interface StartBatchDeps {
  snapshots: SnapshotStore;
  batches: BatchStore;
  starter: BatchStarter;
  policies: ReplayDeps['policies'];
  clock: Clock;
  ids: IdGenerator;
  /** Needed only for batches that ask for a noise profile. */
  noiseProfiles?: NoiseProfileStore;
}

/** `POST /batches`: validate, resolve, record, start. Returns the batch as recorded. */
export async function startBatch(deps: StartBatchDeps, body: unknown, idempotencyKey?: string): Promise<{ batch: Batch; created: boolean }> {
  const request = parseBatchRequest(body);
  // Resolve the policy now, so an unknown policyName is a 404 here rather than N error results.
  await prepareReplay(deps.policies, { mode: request.mode, tolerance: request.tolerance, policyName: request.policyName, overrides: request.overrides, dependencyMode: request.dependencyMode, noiseProfile: request.noiseProfile });
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
  const snapshotIds = await resolveSelection(deps.snapshots, request, deps.clock.now());
  if (snapshotIds.length > MAX_BATCH_SNAPSHOTS) throw new ValidationError(`the selection holds ${snapshotIds.length} snapshots; a batch replays at most ${MAX_BATCH_SNAPSHOTS}`, { code: 'BATCH_TOO_LARGE' });
  const fresh = newBatch(batchId, pinned === undefined ? request : { ...request, noiseProfile: pinned }, snapshotIds.length, { trigger: 'api', createdAt: new Date(deps.clock.now()).toISOString() });
  // Refused only when a concurrent request with the same Idempotency-Key created it first: answer
  // with that batch (its ids and total), not with this request's own view of the selection.
  const batch = (await deps.batches.create(fresh, snapshotIds)) ? fresh : ((await deps.batches.get(batchId)) ?? fresh);
  try {
    await deps.starter.start(batchId, { batchId });
  } catch (err) {
    await deps.batches.fail(batchId, 'the workflow could not be started', new Date(deps.clock.now()).toISOString());
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
  snapshots: SnapshotStore;
  batches: BatchStore;
}

/** Plan: the batch's ids and concurrency; for a schedule, resolves its window and records the batch first. */
export async function planBatch(deps: PlanDeps, command: PlanCommand): Promise<{ batchId: string; snapshotIds: string[]; maxConcurrency: number }> {
  if (!('schedule' in command)) {
    const batch = await deps.batches.get(command.batchId);
    if (!batch) throw new BatchNotFoundError(command.batchId);
    return { batchId: batch.batchId, snapshotIds: await deps.batches.getSnapshotIds(batch.batchId), maxConcurrency: batch.maxConcurrency };
  }
  const { batchId, scheduleName, request: body, startedAt: executionStartTime } = command.schedule;
  const existing = await deps.batches.get(batchId);
  if (existing) return { batchId, snapshotIds: await deps.batches.getSnapshotIds(batchId), maxConcurrency: existing.maxConcurrency };
  const request = parseBatchRequest(body);
  const snapshotIds = await resolveSelection(deps.snapshots, request, Date.parse(executionStartTime));
  const batch = newBatch(batchId, request, snapshotIds.length, { trigger: 'schedule', scheduleName, createdAt: new Date(Date.parse(executionStartTime)).toISOString() });
  // A concurrent Plan of the same execution may have recorded it first: run with what it recorded.
  if (!(await deps.batches.create(batch, snapshotIds))) return { batchId, snapshotIds: await deps.batches.getSnapshotIds(batchId), maxConcurrency: batch.maxConcurrency };
  return { batchId, snapshotIds, maxConcurrency: batch.maxConcurrency };
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
 * produces a second result or history entry: a retry after they were written replays again, keeps
 * the first ones and returns the first outcome.
 * Not reading first saves a read on every item for the price of a repeated executor call on the
 * rare retry of an item that had already finished. A request error about this snapshot (gone, no
 * executor, unsupported model) is recorded as its Error result; anything else is thrown for the
 * workflow's Retry/Catch.
 */
export async function replayBatchItem(deps: ReplayItemDeps, command: ReplayItemCommand): Promise<ItemSummary> {
  const { batchId, snapshotId, failure } = command;
  const now = () => new Date(deps.clock.now()).toISOString();

  if (failure) {
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
      createdAt: now(),
    };
    if (await deps.batches.putResult(result)) return { snapshotId, status: 'Error', outputsMatch: false };
    return storedOutcome(deps.batches, batchId, snapshotId, result);
  }

  // An item looks for its stored result before anything is executed: a Step Functions retry or
  // redrive, a resumed execution after a crash or an idempotent repeat of the batch finds the first
  // attempt's result and calls no executor again (executor calls never exceed items).
  const [existing, batch, prepared] = await Promise.all([deps.batches.getResult(batchId, snapshotId), deps.cache.batchFor(deps, batchId), deps.cache.preparedFor(deps, batchId)]);
  if (existing !== undefined) return { snapshotId, status: existing.status, outputsMatch: existing.outputsMatch };
  if (batch.noiseProfile !== undefined) {
    let measured: BatchResult;
    try {
      measured = await noiseProfileItem(deps, batchId, snapshotId);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      measured = { batchId, snapshotId, replayId: null, status: 'Error', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [], violatedRules: [], error: { code: err.code, message: err.message }, createdAt: now() };
    }
    if (await deps.batches.putResult(measured)) return { snapshotId, status: measured.status, outputsMatch: measured.outputsMatch };
    return storedOutcome(deps.batches, batchId, snapshotId, measured);
  }
  let summary: BatchResult;
  let full: ReplayResult | undefined;
  let original: Snapshot | undefined;
  try {
    const replayDeps = { ...deps, executors: deps.cache.executorsFor(deps.executors, batchId) };
    full = { ...(await replaySnapshot(replayDeps, snapshotId, prepared, deps.replayIdFor(batchId, snapshotId, Date.parse(batch.createdAt)), (read) => (original = read))), batchId };
    summary = summarize(full, batchId, original);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    summary = { batchId, snapshotId, replayId: null, status: 'Error', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [], violatedRules: [], error: { code: err.code, message: err.message }, ...(original && { original: originalFacts(original) }), createdAt: now() };
  }
  // Both writes are conditional on keys that are the same on every retry (the history entry is
  // listed at the batch's start), so they can go out together: the first attempt's result and
  // history entry win, and a retry writes neither again.
  const [written] = await Promise.all([deps.batches.putResult(summary), full ? deps.results.put(full, { sortAt: batch.createdAt }) : false]);
  if (written) return { snapshotId, status: summary.status, outputsMatch: summary.outputsMatch };
  return storedOutcome(deps.batches, batchId, snapshotId, summary);
}

/** The outcome of the result already stored for an item (the first attempt's), or `fallback`. */
async function storedOutcome(batches: BatchStore, batchId: string, snapshotId: string, fallback: Pick<BatchResult, 'status' | 'outputsMatch'>): Promise<ItemSummary> {
  const stored = (await batches.getResult(batchId, snapshotId)) ?? fallback;
  return { snapshotId, status: stored.status, outputsMatch: stored.outputsMatch };
}
