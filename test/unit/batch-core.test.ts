/**
 * The batch core with in-memory ports: request validation (400s before anything is recorded),
 * selection, the per-item task's idempotency under retries and its recorded errors, and the stats
 * task's verdicts (count mismatch, failed executions without a batch id).
 */
import { describe, expect, it, vi } from 'vitest';
import { batchIdForExecution } from '../../functions/adapters/batch-ids.js';
import {
  BATCH_PLANNING_DEADLINE_MS,
  BatchNotFoundError,
  idempotentView,
  manifestKey,
  newBatch,
  MAX_CONCURRENCY,
  MAX_LISTED_SNAPSHOTS,
  MAX_SELECTED_SNAPSHOTS,
  busiestSlotItems,
  busiestSlotCost,
  CHUNK_COST_ITEMS,
  itemsPerChunkFor,
  planBatch,
  parseBatchRequest,
  resolveSelection,
  startBatch,
  type Batch,
  type BatchChunk,
  type BatchPlan,
  MAX_MISMATCHED_PATH_BYTES,
  type BatchResult,
  type BatchStore,
  type StartBatchDeps,
} from '../../functions/core/batch.js';
import { BatchItemCache, replayBatchChunk, replayBatchItem, STATUS_CHECK_MS, type ReplayItemDeps } from '../../functions/core/batch-replay.js';
import { BatchPayloadError, parseReplayChunkPayload, parseReplayItemPayload, parseReplayPayload, parseStatsPayload } from '../../functions/api/batch-tasks.js';
import { computeBatchStats } from '../../functions/core/batch-stats.js';
import { cancelBatch, countedAtCancel } from '../../functions/core/batch-control.js';
import { NotFoundError, PayloadTooLargeError, ServiceBusyError, ValidationError } from '../../functions/core/errors.js';
import { API_PLANNED_SELECTION_LIMIT, type ManifestRef } from '../../functions/core/batch.js';
import { manifestSources } from '../../functions/core/id-manifest.js';
import { modelListAllows, type ExecutionRequest, type ExecutionResult, type Executor } from '../../functions/core/executor.js';
import type { Page } from '../../functions/core/ports.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot, type NamedValue, type Snapshot } from '../../functions/core/snapshot.js';
import { canonicalHash } from '../../functions/core/json.js';
import { MAX_NOISE_FIELDS, type NoiseProfile, type NoiseProfileStore } from '../../functions/core/noise.js';
import { NoiseProfileBuilder, noiseProfileItem } from '../../functions/core/noise-profile-job.js';
import { itemSize, MAX_ITEM_BYTES } from '../../functions/adapters/dynamodb/item-size.js';
import { StatsAccumulator, type ReplayStats } from '../../functions/core/stats.js';
import { fixedClock, MemoryManifestStore, MemoryExecutorConfigStore, MemoryPolicyStore, MemoryReplayResultStore, MemorySnapshotStore, sequentialIds } from '../support/memory-ports.js';

// ---------------------------------------------------------------------------------------------
// In-memory ports (no module mocking): the shared stores, plus the batch store and an executor
// only this file needs.

class MemoryBatchStore implements BatchStore {
  readonly batches = new Map<string, Batch>();
  readonly chunks = new Map<string, BatchChunk>();
  readonly results = new Map<string, BatchResult>();
  readonly claims = new Map<string, { requestHash: string; batchId: string; claimedAt?: string }>();

  create(batch: Batch): Promise<boolean> {
    if (this.batches.has(batch.batchId)) return Promise.resolve(false);
    this.batches.set(batch.batchId, structuredClone(batch));
    return Promise.resolve(true);
  }
  get(batchId: string): Promise<Batch | undefined> {
    const b = this.batches.get(batchId);
    return Promise.resolve(b && structuredClone(b));
  }
  setPlan(batchId: string, plan: BatchPlan): Promise<void> {
    const b = this.batches.get(batchId);
    if (!b) return Promise.reject(new Error(`setPlan() on a missing batch ${batchId}`));
    Object.assign(b, structuredClone(plan));
    return Promise.resolve();
  }
  putChunk(chunk: BatchChunk): Promise<boolean> {
    const key = `${chunk.batchId}#${chunk.chunkId}`;
    if (this.chunks.has(key)) return Promise.resolve(false);
    this.chunks.set(key, structuredClone(chunk));
    const b = this.batches.get(chunk.batchId);
    if (b) {
      b.completed += chunk.count;
      const p = b.progress ?? { completed: 0, successful: 0, matches: 0 };
      b.progress = { completed: b.completed, successful: p.successful + chunk.successful, matches: p.matches + chunk.matches };
    }
    return Promise.resolve(true);
  }
  forEachChunk(batchId: string, visit: (chunk: BatchChunk) => void): Promise<number> {
    const mine = [...this.chunks.values()].filter((c) => c.batchId === batchId);
    mine.forEach((c) => visit(structuredClone(c)));
    return Promise.resolve(mine.length);
  }
  getResult(batchId: string, snapshotId: string): Promise<BatchResult | undefined> {
    this.resultReads += 1;
    const r = this.results.get(`${batchId}#${snapshotId}`);
    return Promise.resolve(r && structuredClone(r));
  }
  /** Calls of `getResult` and of `getResults` (one request each). */
  resultReads = 0;
  resultBatchReads = 0;
  getResults(batchId: string, snapshotIds: readonly string[]): Promise<Map<string, BatchResult>> {
    this.resultBatchReads += 1;
    const found = new Map<string, BatchResult>();
    for (const id of snapshotIds) {
      const r = this.results.get(`${batchId}#${id}`);
      if (r) found.set(id, structuredClone(r));
    }
    return Promise.resolve(found);
  }
  putResult(result: BatchResult): Promise<boolean> {
    const key = `${result.batchId}#${result.snapshotId}`;
    if (this.results.has(key)) return Promise.resolve(false);
    this.results.set(key, structuredClone(result));
    return Promise.resolve(true);
  }
  countResults(batchId: string): Promise<number> {
    return Promise.resolve([...this.results.values()].filter((r) => r.batchId === batchId).length);
  }
  listResults(batchId: string, limit: number): Promise<Page<BatchResult>> {
    return Promise.resolve({ items: [...this.results.values()].filter((r) => r.batchId === batchId).slice(0, limit) });
  }
  forEachResult(batchId: string, visit: (result: BatchResult) => void): Promise<number> {
    const mine = [...this.results.values()].filter((r) => r.batchId === batchId);
    mine.forEach(visit);
    return Promise.resolve(mine.length);
  }
  complete(batchId: string, stats: ReplayStats, completedAt: string): Promise<boolean> {
    const b = this.batches.get(batchId);
    if (b?.status !== 'RUNNING') return Promise.resolve(false);
    Object.assign(b, { status: 'SUCCEEDED', stats, completedAt, completed: stats.totalReplays });
    return Promise.resolve(true);
  }
  failIfRunning(batchId: string, reason: string, completedAt: string): Promise<boolean> {
    const b = this.batches.get(batchId);
    if (b?.status !== 'RUNNING') return Promise.resolve(false);
    Object.assign(b, { status: 'FAILED', failureReason: reason, completedAt });
    return Promise.resolve(true);
  }
  claimIdempotencyKey(key: string, requestHash: string, batchId: string, claimedAt?: string): Promise<{ claimed: true } | { claimed: false; batchId: string; requestHash: string; claimedAt?: string }> {
    const existing = this.claims.get(key);
    if (existing) return Promise.resolve({ claimed: false, ...existing });
    this.claims.set(key, { requestHash, batchId, ...(claimedAt !== undefined && { claimedAt }) });
    return Promise.resolve({ claimed: true });
  }
}

/** Answers with fixed outputs after an optional wait, counting calls. */
class CountingExecutor implements Executor {
  calls = 0;
  readonly timeoutMs = 1000;
  readonly description = 'counting executor';
  constructor(
    private readonly outputs: NamedValue[] | Error,
    private readonly waitMs = 0,
  ) {}
  supportsModel(modelName: string | undefined): boolean {
    return modelListAllows(undefined, modelName);
  }
  async execute(_req: ExecutionRequest): Promise<ExecutionResult> {
    this.calls += 1;
    if (this.waitMs > 0) await new Promise((r) => setTimeout(r, this.waitMs));
    if (this.outputs instanceof Error) throw this.outputs;
    return { outputs: structuredClone(this.outputs), executionTimeMs: 17 };
  }
}

const NOW = Date.parse('2026-11-02T12:00:00.000Z');
const clock = fixedClock(NOW);

/** A ULID-shaped id unique to this file: 26 Crockford characters. */
function ulid(n: number, prefix = '01JB'): string {
  return `${prefix}${String(n).padStart(26 - prefix.length, '0')}`;
}

const OUTPUTS: NamedValue[] = [
  { name: 'decision', value: 'approve', type: 'string' },
  { name: 'score', value: 0.82, type: 'number' },
];

function snapshot(id: string, createdAt = '2026-11-02T10:00:00.000Z', functionName = 'approve_loan'): Snapshot {
  return buildSnapshot({ functionName, inputs: [{ name: 'applicant', value: { income: 52000, age: 41 } }], outputs: OUTPUTS, modelParameters: { modelName: 'credit-llm' } }, id, createdAt);
}

function batchRecord(batchId: string, total: number, request: Batch['request'] = { mode: 'Strict' }): Batch {
  return { batchId, status: 'RUNNING', total, completed: 0, maxConcurrency: 10, request, trigger: 'api', createdAt: new Date(NOW).toISOString() };
}

/** Everything `replayBatchItem` needs, in memory, with one registered executor. */
function itemWorld(executor: CountingExecutor) {
  const snapshots = new MemorySnapshotStore();
  const executors = new MemoryExecutorConfigStore();
  const batches = new MemoryBatchStore();
  const results = new MemoryReplayResultStore();
  const deps: ReplayItemDeps = {
    snapshots,
    executors,
    createExecutor: () => executor,
    policies: new MemoryPolicyStore(),
    similarity: new LexicalSimilarity(),
    clock,
    ids: sequentialIds('01JC0000000000000000'),
    batches,
    results,
    replayIdFor: (batchId, snapshotId) => `R-${batchId.slice(-4)}-${snapshotId.slice(-4)}`,
    cache: new BatchItemCache(),
  };
  void executors.put('approve_loan', { type: 'http', url: 'https://model.example.com/decide' });
  return { deps, snapshots, batches, results };
}

function expectValidation(body: unknown, pattern: RegExp, code = 'INVALID_REQUEST'): ValidationError {
  let thrown: unknown;
  try {
    parseBatchRequest(body);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  const err = thrown as ValidationError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(pattern);
  return err;
}

// ---------------------------------------------------------------------------------------------

describe('parseBatchRequest', () => {
  const ids = [ulid(1), ulid(2)];

  it('accepts snapshotIds alone and a selector alone', () => {
    expect(parseBatchRequest({ snapshotIds: ids })).toEqual({ snapshotIds: ids });
    expect(parseBatchRequest({ selector: { functionName: 'approve_loan', lastHours: 24 } })).toEqual({ selector: { functionName: 'approve_loan', lastHours: 24 } });
  });

  it('reads lower-case snapshot ids as the same ids, in their stored upper case', () => {
    expect(parseBatchRequest({ snapshotIds: ids.map((i) => i.toLowerCase()) })).toEqual({ snapshotIds: ids });
  });

  it('refuses a request with both snapshotIds and a selector, and one with neither', () => {
    expectValidation({ snapshotIds: ids, selector: { functionName: 'approve_loan' } }, /exactly one of snapshotIds, snapshotManifest and selector/);
    expectValidation({ mode: 'Strict' }, /exactly one of snapshotIds, snapshotManifest and selector/);
    expectValidation({ snapshotManifest: 's3://b-ucket/uploads/ids.csv', snapshotIds: ids }, /exactly one of snapshotIds, snapshotManifest and selector, not snapshotIds and snapshotManifest/);
  });

  it.each([0, 1001, 2.5, -1])('refuses maxConcurrency %s', (maxConcurrency) => {
    const err = expectValidation({ snapshotIds: ids, maxConcurrency }, /maxConcurrency/);
    expect(JSON.stringify(err.details)).toContain('maxConcurrency');
  });

  it.each([1, MAX_CONCURRENCY])('accepts maxConcurrency %s', (maxConcurrency) => {
    expect(parseBatchRequest({ snapshotIds: ids, maxConcurrency }).maxConcurrency).toBe(maxConcurrency);
  });

  it(`accepts exactly ${MAX_LISTED_SNAPSHOTS} listed ids and refuses one more with BATCH_TOO_LARGE naming the limit`, () => {
    const many = Array.from({ length: MAX_LISTED_SNAPSHOTS + 1 }, (_, i) => ulid(i));
    expect(parseBatchRequest({ snapshotIds: many.slice(0, MAX_LISTED_SNAPSHOTS) }).snapshotIds).toHaveLength(MAX_LISTED_SNAPSHOTS);

    const err = expectValidation({ snapshotIds: many }, new RegExp(`at most ${MAX_LISTED_SNAPSHOTS}\\b`), 'BATCH_TOO_LARGE');
    expect(err.message).toContain(String(MAX_LISTED_SNAPSHOTS + 1));
  });

  it(`accepts a selector limit of ${MAX_SELECTED_SNAPSHOTS} and refuses one more, naming the limit`, () => {
    expect(parseBatchRequest({ selector: { functionName: 'approve_loan', limit: MAX_SELECTED_SNAPSHOTS } }).selector?.limit).toBe(MAX_SELECTED_SNAPSHOTS);
    const err = expectValidation({ selector: { functionName: 'approve_loan', limit: MAX_SELECTED_SNAPSHOTS + 1 } }, new RegExp(`limit must be at most ${MAX_SELECTED_SNAPSHOTS}\\b`));
    expect(JSON.stringify(err.details)).toContain('selector.limit');
  });

  it('refuses lastHours together with from or to', () => {
    expectValidation({ selector: { functionName: 'approve_loan', lastHours: 24, from: '2026-11-01T00:00:00Z' } }, /lastHours or from\/to/);
    expectValidation({ selector: { functionName: 'approve_loan', lastHours: 24, to: '2026-11-01T00:00:00Z' } }, /lastHours or from\/to/);
  });

  it('refuses a window whose from is after its to', () => {
    expectValidation({ selector: { functionName: 'approve_loan', from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' } }, /from is after to/);
  });

  it('refuses a noise profile outside Tolerant mode in the request check itself, as a replay request does', () => {
    expectValidation({ snapshotIds: ids, mode: 'Strict', noiseProfile: 'latest' }, /noiseProfile applies to Tolerant mode only, not Strict/);
    expectValidation({ snapshotIds: ids, mode: 'ValidationOnly', noiseProfile: 2 }, /noiseProfile applies to Tolerant mode only, not ValidationOnly/);
    expect(parseBatchRequest({ snapshotIds: ids, mode: 'Strict', noiseProfile: 'none' }).noiseProfile).toBe('none');
    expect(parseBatchRequest({ snapshotIds: ids, noiseProfile: 'latest' }).noiseProfile).toBe('latest');
  });

  it('refuses overrides and dependencyMode with ValidationOnly, which executes nothing', () => {
    expectValidation({ snapshotIds: ids, mode: 'ValidationOnly', overrides: { context: { promptVersion: 'v4' } } }, /overrides applies to replays that execute \(Strict or Tolerant\), not ValidationOnly/);
    expectValidation({ snapshotIds: ids, mode: 'ValidationOnly', dependencyMode: 'live' }, /dependencyMode applies to replays that execute/);
    expect(parseBatchRequest({ snapshotIds: ids, mode: 'Strict', overrides: { context: { promptVersion: 'v4' } } }).overrides).toEqual({ context: { promptVersion: 'v4' } });
  });

  it('refuses tolerance with Strict mode and accepts it with Tolerant', () => {
    expectValidation({ snapshotIds: ids, mode: 'Strict', tolerance: 0.9 }, /tolerance applies to Tolerant mode only, not Strict/);
    expect(parseBatchRequest({ snapshotIds: ids, mode: 'Tolerant', tolerance: 0.9 }).tolerance).toBe(0.9);
  });

  it('refuses ids that are not ULIDs, an empty list, and unknown fields', () => {
    expectValidation({ snapshotIds: ['not-a-ulid'] }, /ULID/);
    expectValidation({ snapshotIds: [] }, /must not be empty/);
    expectValidation({ snapshotIds: ids, concurrency: 5 }, /concurrency/);
  });
});

describe('resolveSelection and startBatch', () => {
  function startWorld() {
    const snapshots = new MemorySnapshotStore();
    const batches = new MemoryBatchStore();
    const manifests = new MemoryManifestStore();
    const started: string[] = [];
    const deps: StartBatchDeps = { snapshots, batches, manifests, starter: { start: (id) => Promise.resolve(void started.push(id)) }, policies: new MemoryPolicyStore(), clock, ids: sequentialIds('01JD0000000000000000') };
    return { deps, snapshots, batches, manifests, started };
  }

  /** Holds every manifest write until `release()`; `writes()` counts the writes begun. */
  function holdManifestWrites(manifests: MemoryManifestStore) {
    let release = () => {};
    const writing = new Promise<void>((resolve) => (release = resolve));
    const realWrite = manifests.write.bind(manifests);
    let writes = 0;
    manifests.write = async (key, pages) => {
      writes += 1;
      await writing;
      return realWrite(key, pages);
    };
    return { release: () => release(), writes: () => writes };
  }

  it('refuses a selector batch whose model override its executor does not serve with 422 UNSUPPORTED_MODEL, as a single replay is refused', async () => {
    // Probe D17: accepted with 202, then every item ended Error UNSUPPORTED_MODEL.
    const { deps, batches, started } = startWorld();
    const executors = new MemoryExecutorConfigStore();
    await executors.put('approve_loan', { type: 'http', url: 'https://model.example.com/decide', models: ['credit-v1', 'credit-v2'] });
    const withExecutors = { ...deps, executors };
    const override = (modelName: string) => ({ overrides: { modelParameters: { modelName } } });
    await expect(startBatch(withExecutors, { selector: { functionName: 'approve_loan' }, ...override('credit-v9') })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      details: { functionName: 'approve_loan', modelName: 'credit-v9' },
      message: "the executor of 'approve_loan' (http executor serving credit-v1, credit-v2) does not support model 'credit-v9'",
    });
    expect(batches.batches.size).toBe(0);
    expect(started).toEqual([]);
    // A model it serves, a function with no executor, listed ids (functions unknown until read): started as before.
    await startBatch(withExecutors, { selector: { functionName: 'approve_loan' }, ...override('credit-v2') });
    await startBatch(withExecutors, { selector: { functionName: 'other_fn' }, ...override('credit-v9') });
    await startBatch(withExecutors, { snapshotIds: [ulid(1)], ...override('credit-v9') });
    expect(started).toHaveLength(3);
  });

  it('refuses an id listed twice with 400, recording and starting nothing', async () => {
    const { deps, batches, started } = startWorld();

    await expect(startBatch(deps, { snapshotIds: [ulid(1), ulid(2), ulid(1)] })).rejects.toThrow(/snapshotIds\[2\]: '.+' is listed twice/);

    expect(batches.batches.size).toBe(0);
    expect(started).toEqual([]);
  });

  it('resolves lastHours against the given instant, newest first, within the limit', async () => {
    const { snapshots } = startWorld();
    const hour = 3_600_000;
    for (const [i, ageHours] of [1, 5, 23, 25, 48].entries()) await snapshots.putIfAbsent(snapshot(ulid(i), new Date(NOW - ageHours * hour).toISOString()));
    await snapshots.putIfAbsent(snapshot(ulid(9), new Date(NOW - hour).toISOString(), 'other_fn'));

    const ids = await resolveSelection(snapshots, parseBatchRequest({ selector: { functionName: 'approve_loan', lastHours: 24 } }), NOW);
    const limited = await resolveSelection(snapshots, parseBatchRequest({ selector: { functionName: 'approve_loan', lastHours: 24, limit: 2 } }), NOW);

    expect(ids).toEqual([ulid(0), ulid(1), ulid(2)]);
    expect(limited).toEqual([ulid(0), ulid(1)]);
  });

  it('records the batch RUNNING with its total and default concurrency, then starts it under its id', async () => {
    const { deps, batches, manifests, started } = startWorld();

    const { batch, created } = await startBatch(deps, { snapshotIds: [ulid(1), ulid(2)], mode: 'Strict' });

    expect(created).toBe(true);
    expect(batch).toMatchObject({ status: 'RUNNING', total: 2, completed: 0, maxConcurrency: 10, request: { mode: 'Strict' }, trigger: 'api', itemsPerChunk: 1 });
    expect(batch.request).not.toHaveProperty('snapshotIds');
    expect(started).toEqual([batch.batchId]);
    expect(await batches.get(batch.batchId)).toEqual(batch);
    expect(await manifests.ids(batch.manifest as ManifestRef)).toEqual([ulid(1), ulid(2)]);
  });

  it('leaves a selection larger than the API plans to Plan: total null until Plan has written the manifest', async () => {
    const { deps, batches, manifests, snapshots } = startWorld();
    for (const i of [1, 2, 3]) await snapshots.putIfAbsent(snapshot(ulid(i), new Date(NOW - i * 1000).toISOString()));

    const { batch } = await startBatch(deps, { selector: { functionName: 'approve_loan', limit: API_PLANNED_SELECTION_LIMIT + 1 }, maxConcurrency: 2 });
    expect(batch).toMatchObject({ total: null, completed: 0 });
    expect(batch.manifest).toBeUndefined();
    expect(manifests.objects.size).toBe(0);

    const planned = await planBatch({ snapshots, batches, manifests }, { batchId: batch.batchId });
    expect(planned).toEqual({ batchId: batch.batchId, manifest: { bucket: manifests.bucket, key: `batches/${batch.batchId}/snapshot-ids.csv` }, itemsPerChunk: 1, maxConcurrency: 2 });
    expect(await manifests.ids(planned.manifest)).toEqual([ulid(1), ulid(2), ulid(3)]);
    expect(await batches.get(batch.batchId)).toMatchObject({ total: 3, itemsPerChunk: 1, manifest: planned.manifest });
  });

  it('selects nothing recorded after the batch started, even when Plan runs later', async () => {
    const { deps, batches, manifests, snapshots } = startWorld();
    await snapshots.putIfAbsent(snapshot(ulid(1), new Date(NOW - 1000).toISOString()));
    const { batch } = await startBatch(deps, { selector: { functionName: 'approve_loan', limit: API_PLANNED_SELECTION_LIMIT + 1 } });
    await snapshots.putIfAbsent(snapshot(ulid(2), new Date(NOW + 1000).toISOString()));

    const planned = await planBatch({ snapshots, batches, manifests }, { batchId: batch.batchId });

    expect(await manifests.ids(planned.manifest)).toEqual([ulid(1)]);
  });

  it('pins noiseProfile "latest" of a scheduled batch to the version that is latest when Plan records it', async () => {
    const { batches, manifests, snapshots } = startWorld();
    await snapshots.putIfAbsent(snapshot(ulid(1), new Date(NOW - 1000).toISOString()));
    const profiles = new Map<string, NoiseProfile[]>();
    const latest = (fn: string) => profiles.get(fn)?.at(-1);
    const noiseProfiles: NoiseProfileStore = {
      putNextVersion: () => Promise.reject(new Error('not used')),
      getLatest: (fn) => Promise.resolve(latest(fn)),
      getVersion: (fn, v) => Promise.resolve(profiles.get(fn)?.find((p) => p.version === v)),
    };
    const profile = (version: number): NoiseProfile => ({ functionName: 'approve_loan', version, executor: 'http', modelVersions: [], similarityProvider: 'lexical', sampleSize: 1, pairs: 1, numericSafetyFactor: 3, fields: [], batchId: ulid(800 + version), createdAt: new Date(NOW).toISOString() });
    profiles.set('approve_loan', [profile(1), profile(2)]);
    const scheduled = (n: number, fn: string) => ({ schedule: { batchId: ulid(700 + n), scheduleName: 'nightly', request: { selector: { functionName: fn }, noiseProfile: 'latest' }, startedAt: new Date(NOW).toISOString() } });

    await planBatch({ snapshots, batches, manifests, noiseProfiles }, scheduled(1, 'approve_loan'));
    // A profile learned while the batch runs does not change what its items compare with.
    profiles.get('approve_loan')?.push(profile(3));

    expect((await batches.get(ulid(701)))?.request).toMatchObject({ noiseProfile: 2 });
    // None learned yet: nothing to pin, and the batch is recorded (its items say NO_NOISE_PROFILE).
    await planBatch({ snapshots, batches, manifests, noiseProfiles }, scheduled(2, 'unprofiled_fn'));
    expect((await batches.get(ulid(702)))?.request).toMatchObject({ noiseProfile: 'latest' });
    // Listed ids: each listed snapshot's function is pinned; one with no profile is left out.
    await snapshots.putIfAbsent(snapshot(ulid(2), new Date(NOW - 1000).toISOString(), 'unprofiled_fn'));
    const listed = { schedule: { batchId: ulid(703), scheduleName: 'nightly', request: { snapshotIds: [ulid(1), ulid(2)], noiseProfile: 'latest' }, startedAt: new Date(NOW).toISOString() } };
    await planBatch({ snapshots, batches, manifests, noiseProfiles }, listed);
    expect((await batches.get(ulid(703)))?.noiseProfileVersions).toEqual([{ functionName: 'approve_loan', version: 3 }]);
  });

  it('pins noiseProfile "latest" of a batch over listed ids per function when it starts, and its items compare with the pinned versions', async () => {
    // The defect: each item read "latest" itself, so a profile learned while the batch ran (or read
    // by another Lambda) judged some of its items and not others.
    const { deps, batches, snapshots } = startWorld();
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await snapshots.putIfAbsent(snapshot(ulid(2), undefined, 'score_risk'));
    const profiles = new Map<string, NoiseProfile[]>();
    const profile = (functionName: string, version: number): NoiseProfile => ({ functionName, version, executor: 'http', modelVersions: [], similarityProvider: 'lexical', sampleSize: 1, pairs: 1, numericSafetyFactor: 3, fields: [], batchId: ulid(800 + version), createdAt: new Date(NOW).toISOString() });
    const learn = (fn: string) => profiles.set(fn, [...(profiles.get(fn) ?? []), profile(fn, (profiles.get(fn)?.length ?? 0) + 1)]);
    const noiseProfiles: NoiseProfileStore = {
      putNextVersion: () => Promise.reject(new Error('not used')),
      getLatest: (fn) => Promise.resolve(profiles.get(fn)?.at(-1)),
      getVersion: (fn, v) => Promise.resolve(profiles.get(fn)?.find((p) => p.version === v)),
    };
    learn('approve_loan');
    learn('approve_loan');
    learn('score_risk');

    // A function of the listed snapshots without a profile: refused before anything is written.
    await expect(startBatch({ ...deps, noiseProfiles }, { snapshotIds: [ulid(1), ulid(3)], noiseProfile: 'latest' })).resolves.toBeDefined();
    await snapshots.putIfAbsent(snapshot(ulid(4), undefined, 'unprofiled_fn'));
    const before = batches.batches.size;
    await expect(startBatch({ ...deps, noiseProfiles }, { snapshotIds: [ulid(1), ulid(4)], noiseProfile: 'latest' })).rejects.toMatchObject({ code: 'NO_NOISE_PROFILE', details: { functionNames: ['unprofiled_fn'] } });
    expect(batches.batches.size).toBe(before);

    const { batch } = await startBatch({ ...deps, noiseProfiles }, { snapshotIds: [ulid(1), ulid(2)], noiseProfile: 'latest' });
    expect(batch.noiseProfileVersions).toEqual([
      { functionName: 'approve_loan', version: 2 },
      { functionName: 'score_risk', version: 1 },
    ]);
    expect((await batches.get(batch.batchId))?.noiseProfileVersions).toEqual(batch.noiseProfileVersions);
    // Learned while the batch runs: its items still compare with the pinned versions.
    learn('approve_loan');
    learn('score_risk');
    const { deps: itemDeps, snapshots: itemSnapshots, results } = itemWorld(new CountingExecutor(OUTPUTS));
    await itemSnapshots.putIfAbsent(snapshot(ulid(1)));
    await itemSnapshots.putIfAbsent(snapshot(ulid(2), undefined, 'score_risk'));
    await itemDeps.executors.put('score_risk', { type: 'http', url: 'https://model.example.com/decide' });
    await itemDeps.batches.create(batch);
    for (const id of [ulid(1), ulid(2)]) await replayBatchItem({ ...itemDeps, noiseProfiles }, { batchId: batch.batchId, snapshotId: id });
    expect(results.results.map((r) => r.noiseProfile)).toEqual([
      { functionName: 'approve_loan', version: 2 },
      { functionName: 'score_risk', version: 1 },
    ]);
  });

  it('returns the first batch for a repeated Idempotency-Key and refuses the key with another body', async () => {
    const { deps, batches } = startWorld();

    const first = await startBatch(deps, { snapshotIds: [ulid(1)] }, 'key-1');
    const again = await startBatch(deps, { snapshotIds: [ulid(1)] }, 'key-1');

    expect(again).toEqual({ batch: first.batch, created: false });
    expect(batches.batches.size).toBe(1);
    await expect(startBatch(deps, { snapshotIds: [ulid(2)] }, 'key-1')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('treats a repeat that spells out the defaults or writes an instant another way as the same request', async () => {
    const { deps, batches, snapshots } = startWorld();
    await snapshots.putIfAbsent(snapshot(ulid(1), new Date(NOW - 1000).toISOString()));
    const sent = { selector: { functionName: 'approve_loan', from: '2026-11-01T00:00Z' } };
    const first = await startBatch(deps, sent, 'key-defaults');

    const spelledOut = { selector: { functionName: 'approve_loan', from: '2026-11-01T00:00:00.000Z', limit: 1000 }, mode: 'Tolerant', tolerance: 0.8, noiseProfile: 'none', maxConcurrency: 10 };
    expect(await startBatch(deps, spelledOut, 'key-defaults')).toEqual({ batch: first.batch, created: false });
    expect(batches.batches.size).toBe(1);
    // A value that is not the default is another request.
    await expect(startBatch(deps, { ...spelledOut, tolerance: 0.9 }, 'key-defaults')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(startBatch(deps, { ...sent, mode: 'Strict' }, 'key-defaults')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('still recognises a key claimed with the hash of the request as sent', async () => {
    const { deps, batches } = startWorld();
    const request = { snapshotIds: [ulid(1)] };
    const batchId = ulid(900);
    await batches.claimIdempotencyKey('key-legacy', canonicalHash(request), batchId);
    await batches.create({ batchId, status: 'RUNNING', total: 1, completed: 0, maxConcurrency: 10, request: {}, trigger: 'api', createdAt: new Date(NOW).toISOString() });

    const again = await startBatch(deps, request, 'key-legacy');

    expect(again.created).toBe(false);
    expect(again.batch.batchId).toBe(batchId);
  });

  it('answers with the batch a concurrent request under the same Idempotency-Key recorded first', async () => {
    const { deps, batches, snapshots, manifests } = startWorld();
    for (const i of [1, 2, 3]) await snapshots.putIfAbsent(snapshot(ulid(i), new Date(NOW - i * 1000).toISOString()));
    // The other request claimed the key and recorded its batch (two snapshots) between this
    // request's claim and its create: the claim hands this request the same batch id.
    const realClaim = batches.claimIdempotencyKey.bind(batches);
    batches.claimIdempotencyKey = async (key, hash, id) => {
      const claim = await realClaim(key, hash, id);
      await batches.create({ batchId: id, status: 'RUNNING', total: 2, completed: 0, maxConcurrency: 10, request: { selector: { functionName: 'approve_loan' } }, trigger: 'api', createdAt: new Date(NOW).toISOString() });
      return claim;
    };

    const { batch, created } = await startBatch(deps, { selector: { functionName: 'approve_loan' } }, 'key-race');

    expect(created).toBe(false);
    expect(batch.total).toBe(2);
    // The winner plans its batch; this request writes no manifest of its own view of the selection.
    expect(manifests.objects.size).toBe(0);
  });

  it('does not start a batch that the first request under the same Idempotency-Key is still planning', async () => {
    // Probe s19: 20 concurrent POST /batches with one key and 3,000 listed ids. A retry found the
    // batch recorded but its manifest not yet written and started the workflow; Plan found no ids
    // and the batch ended FAILED ("has neither a manifest nor a selector").
    const { deps, batches, manifests, started } = startWorld();
    const held = holdManifestWrites(manifests);
    const body = { snapshotIds: [ulid(1), ulid(2), ulid(3)] };

    const first = startBatch(deps, body, 'key-planning');
    await vi.waitFor(() => expect(held.writes()).toBe(1));
    const retry = startBatch(deps, body, 'key-planning');

    // The retry says the first request is still at it (503, Retry-After), and writes and starts
    // nothing: answering 202 would name a batch GET /batches/{id} does not know (yet, or ever).
    await expect(retry).rejects.toMatchObject({ code: 'IDEMPOTENT_REQUEST_IN_PROGRESS', retryAfterSeconds: 2, details: { batchId: expect.any(String) } });
    const inProgress = (await retry.catch((err: unknown) => err)) as ServiceBusyError;
    expect(inProgress).toBeInstanceOf(ServiceBusyError);
    expect(started).toEqual([]);
    expect(batches.batches.size).toBe(0);
    held.release();
    const { batch } = await first;
    expect(batch.batchId).toBe((inProgress.details as { batchId: string }).batchId);
    expect(started).toEqual([batch.batchId]);
    // Sent again once the first request recorded it: that batch (its execution started again by
    // name, which StartExecution answers with the one already running).
    expect(await startBatch(deps, body, 'key-planning')).toMatchObject({ created: false, batch: { batchId: batch.batchId, total: 3 } });
    expect(started).toEqual([batch.batchId, batch.batchId]);
    expect(await batches.get(batch.batchId)).toMatchObject({ status: 'RUNNING', total: 3, manifest: { key: manifestKey(batch.batchId) } });
    expect(held.writes()).toBe(1);
  });

  it('plans and starts the batch of a first request that ended without planning it, once that request is past its deadline', async () => {
    const { deps, batches, manifests, started } = startWorld();
    const body = { snapshotIds: [ulid(1), ulid(2)] };
    const batchId = ulid(901);
    // The first request claimed the key and recorded the batch, then died (its function timed out).
    await batches.claimIdempotencyKey('key-died', canonicalHash(idempotentView(parseBatchRequest(body))), batchId);
    await batches.create(newBatch(batchId, body, { trigger: 'api', createdAt: new Date(NOW - BATCH_PLANNING_DEADLINE_MS).toISOString() }));

    const { batch, created } = await startBatch(deps, body, 'key-died');

    expect(created).toBe(false);
    expect(batch).toMatchObject({ batchId, status: 'RUNNING', total: 2, manifest: { key: manifestKey(batchId) } });
    expect(manifests.objects.get(manifestKey(batchId))).toEqual([ulid(1), ulid(2)]);
    expect(started).toEqual([batchId]);
    // A batch that no longer runs is answered as it is, and nothing is started for it.
    await batches.failIfRunning(batchId, 'stopped', new Date(NOW).toISOString());
    expect((await startBatch(deps, body, 'key-died')).batch.status).toBe('FAILED');
    expect(started).toEqual([batchId]);
  });

  it('answers 404 for an unknown policyName before recording anything', async () => {
    const { deps, batches } = startWorld();

    await expect(startBatch(deps, { snapshotIds: [ulid(1)], policyName: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(batches.batches.size).toBe(0);
  });

  it('records a batch of listed ids only with its plan: nothing is recorded while its ids are written, or when writing them fails', async () => {
    // Issue 9: a host killed after recording such a batch and before writing its ids left a batch
    // that could not be run (its ids were only in the request): after a restart it ended FAILED.
    const { deps, batches, manifests, started } = startWorld();
    const held = holdManifestWrites(manifests);

    const pending = startBatch(deps, { snapshotIds: [ulid(1), ulid(2)] });
    await vi.waitFor(() => expect(held.writes()).toBe(1));
    expect(batches.batches.size).toBe(0);
    held.release();
    const { batch } = await pending;

    expect(await batches.get(batch.batchId)).toMatchObject({ status: 'RUNNING', total: 2, manifest: { key: manifestKey(batch.batchId) } });
    expect(started).toEqual([batch.batchId]);
    manifests.write = () => Promise.reject(new Error('S3 unavailable'));
    await expect(startBatch(deps, { snapshotIds: [ulid(3)] })).rejects.toThrow('S3 unavailable');
    expect(batches.batches.size).toBe(1);
  });

  it('runs the listed ids of a first request under the same Idempotency-Key that ended before recording its batch, once past the deadline', async () => {
    const { deps, batches, manifests, started } = startWorld();
    const body = { snapshotIds: [ulid(1), ulid(2)] };
    const batchId = ulid(902);
    // The first request claimed the key, then died while writing the ids (nothing recorded).
    await batches.claimIdempotencyKey('key-unrecorded', canonicalHash(idempotentView(parseBatchRequest(body))), batchId, new Date(NOW - BATCH_PLANNING_DEADLINE_MS).toISOString());

    const { batch, created } = await startBatch(deps, body, 'key-unrecorded');

    expect(created).toBe(true);
    expect(batch).toMatchObject({ batchId, status: 'RUNNING', total: 2, manifest: { key: manifestKey(batchId) } });
    expect(manifests.objects.get(manifestKey(batchId))).toEqual([ulid(1), ulid(2)]);
    expect(started).toEqual([batchId]);
  });

  it('marks the batch FAILED when the workflow cannot be started', async () => {
    const { deps, batches } = startWorld();
    deps.starter = { start: () => Promise.reject(new Error('states unavailable')) };

    await expect(startBatch(deps, { snapshotIds: [ulid(1)] })).rejects.toThrow('states unavailable');

    const [batch] = batches.batches.values();
    expect(batch).toMatchObject({ status: 'FAILED', failureReason: 'the workflow could not be started' });
  });
});

describe('noiseProfileItem: outputs too large to learn from', () => {
  /** An executor whose every call answers `values(call)` as the output `ranking`. */
  class Answering extends CountingExecutor {
    constructor(private readonly values: (call: number) => unknown) {
      super([]);
    }
    override async execute(req: ExecutionRequest): Promise<ExecutionResult> {
      await super.execute(req);
      return { outputs: [{ name: 'ranking', value: this.values(this.calls) as NamedValue['value'] }], executionTimeMs: 5 };
    }
  }
  const ranking = (n: number, shift = 0) => Array.from({ length: n }, (_, i) => ({ candidateScore: i + shift }));
  async function runNoise(recorded: unknown, answer: (call: number) => unknown) {
    const executor = new Answering(answer);
    const { deps, snapshots } = itemWorld(executor);
    await snapshots.putIfAbsent(buildSnapshot({ functionName: 'approve_loan', inputs: [{ name: 'q', value: 1 }], outputs: [{ name: 'ranking', value: recorded as NamedValue['value'] }], modelParameters: { modelName: 'credit-llm' } }, ulid(1), '2026-11-02T10:00:00.000Z'));
    return { result: await noiseProfileItem(deps, ulid(120, '01JE'), ulid(1)), calls: executor.calls };
  }

  it(`refuses a snapshot of more than ${MAX_NOISE_FIELDS} recorded output leaves without executing it`, async () => {
    const { result, calls } = await runNoise(ranking(MAX_NOISE_FIELDS + 1), () => ranking(MAX_NOISE_FIELDS + 1));
    expect(calls).toBe(0);
    expect(result).toMatchObject({ status: 'Error', error: { code: 'NOISE_OUTPUT_TOO_LARGE' } });
    expect(result.error?.message).toBe(`snapshot ${ulid(1)} has more than ${MAX_NOISE_FIELDS} output leaves; nothing was executed; a noise profile learns from snapshots of at most ${MAX_NOISE_FIELDS} output leaves (a pair of runs is stored as one result of at most 400 KB)`);
  });

  it('refuses runs that answered more leaves than that, after executing them', async () => {
    const { result, calls } = await runNoise(ranking(3), (call) => ranking(call === 1 ? 3 : 5_000));
    expect(calls).toBe(2);
    expect(result).toMatchObject({ status: 'Error', error: { code: 'NOISE_OUTPUT_TOO_LARGE', message: expect.stringContaining('answered more than 2000 output leaves') } });
  });

  it(`stores a pair of runs of ${MAX_NOISE_FIELDS} leaves that all differ within one DynamoDB item`, async () => {
    const { result, calls } = await runNoise(ranking(MAX_NOISE_FIELDS), (call) => ranking(MAX_NOISE_FIELDS, call * 0.37));
    expect(calls).toBe(2);
    expect(result.status).toBe('Success');
    expect(result.noise?.observations).toHaveLength(MAX_NOISE_FIELDS);
    expect(result.noise?.observations.every((o) => !o.equal)).toBe(true);
    // The item as the batch store writes it: the result and its keys (a few hundred bytes).
    expect(itemSize(result as unknown as Record<string, unknown>) + 500).toBeLessThan(MAX_ITEM_BYTES);
  });

  it('refuses runs whose observations outgrow the item through long paths', async () => {
    const long = (shift: number) => Array.from({ length: 1_500 }, (_, i) => ({ ['a candidate score whose key is long, '.repeat(4) + 'x']: i + shift }));
    const { result } = await runNoise(long(0), (call) => long(call));
    expect(result).toMatchObject({ status: 'Error', error: { code: 'NOISE_OUTPUT_TOO_LARGE', message: expect.stringMatching(/gave [\d,]+ bytes of observations \(at most 250,000: its paths are long\)/) } });
  });
});

describe('NoiseProfileBuilder', () => {
  const batch = { ...batchRecord(ulid(121, '01JE'), 5, { mode: 'Tolerant' }), noiseProfile: { functionName: 'approve_loan', sampleSize: 5 } };
  const run = (n: number, paths: (i: number) => string): BatchResult => ({
    batchId: batch.batchId, snapshotId: ulid(n), replayId: null, status: 'Success', outputsMatch: true, executionTimeMs: 5, mismatchedPaths: [], violatedRules: [], createdAt: new Date(NOW).toISOString(),
    noise: { executor: 'http POST http://model', modelVersion: null, similarityProvider: 'lexical', observations: Array.from({ length: MAX_NOISE_FIELDS }, (_, i) => ({ path: paths(i), equal: true, kind: 'number' as const, relDiffPercent: 0, absDiff: 0 })) },
  });

  it('builds one profile over snapshots that share their paths', () => {
    const builder = new NoiseProfileBuilder(batch);
    for (let n = 1; n <= 5; n++) builder.add(run(n, (i) => `outputs.ranking[${i}]`));
    const built = builder.build(new Date(NOW).toISOString());
    expect('failure' in built ? built.failure : built.fields.length).toBe(MAX_NOISE_FIELDS);
  });

  it('stores nothing, saying why, when the snapshots together have more paths than one profile holds', () => {
    const builder = new NoiseProfileBuilder(batch);
    for (let n = 1; n <= 5; n++) builder.add(run(n, (i) => `outputs.snapshot${n}.ranking[${i}]`));
    const built = builder.build(new Date(NOW).toISOString());
    expect(built).toEqual({ failure: expect.stringMatching(/^the profile of 'approve_loan' would hold 10,000 fields \([\d,]+ bytes\), more than one profile stores \(350,000 bytes of fields\): .*nothing was stored$/) });
  });
});

describe('replayBatchItem', () => {
  it('keeps one result and one history entry when an item is called twice, answering with the stored outcome without executing again', async () => {
    const executor = new CountingExecutor(OUTPUTS);
    const { deps, snapshots, batches, results } = itemWorld(executor);
    const batchId = ulid(100, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 1));

    const first = await replayBatchItem(deps, { batchId, snapshotId: ulid(1) });
    const second = await replayBatchItem(deps, { batchId, snapshotId: ulid(1) });

    expect(first).toEqual({ snapshotId: ulid(1), status: 'Success', outputsMatch: true });
    expect(second).toEqual(first);
    // The repeated item finds the stored result first and calls no executor (defect: 408 calls for 300 items).
    expect(executor.calls).toBe(1);
    expect(batches.results.size).toBe(1);
    expect(results.results).toHaveLength(1);
    expect(results.results[0]).toMatchObject({ batchId, snapshotId: ulid(1), replayId: deps.replayIdFor(batchId, ulid(1), 0), mode: 'Strict' });
    expect(await batches.countResults(batchId)).toBe(1);
  });

  it('still replays a ValidationOnly batch stored with overrides before they were refused, leaving them out', async () => {
    const executor = new CountingExecutor(OUTPUTS);
    const { deps, snapshots, batches, results } = itemWorld(executor);
    const batchId = ulid(102, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 1, { mode: 'ValidationOnly', overrides: { context: { promptVersion: 'v4' } }, dependencyMode: 'live' }));

    expect(await replayBatchItem(deps, { batchId, snapshotId: ulid(1) })).toEqual({ snapshotId: ulid(1), status: 'Success', outputsMatch: true });
    expect(executor.calls).toBe(0);
    expect(results.results[0]).toMatchObject({ mode: 'ValidationOnly', overrides: null });
  });

  it('keeps one result and one history entry when two invocations of an item race', async () => {
    const executor = new CountingExecutor(OUTPUTS, 5);
    const { deps, snapshots, batches, results } = itemWorld(executor);
    const batchId = ulid(101, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 1));

    await Promise.all([replayBatchItem(deps, { batchId, snapshotId: ulid(1) }), replayBatchItem(deps, { batchId, snapshotId: ulid(1) })]);

    expect(batches.results.size).toBe(1);
    expect(results.results).toHaveLength(1);
    expect(await batches.countResults(batchId)).toBe(1);
  });

  it('stores the mismatched paths of a replay whose outputs differ', async () => {
    const executor = new CountingExecutor([{ name: 'decision', value: 'review' }, { name: 'score', value: 0.82 }]);
    const { deps, snapshots, batches } = itemWorld(executor);
    const batchId = ulid(102, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 1));

    const summary = await replayBatchItem(deps, { batchId, snapshotId: ulid(1) });

    expect(summary).toEqual({ snapshotId: ulid(1), status: 'Failed', outputsMatch: false });
    const stored = await batches.getResult(batchId, ulid(1));
    expect(stored).toMatchObject({ status: 'Failed', mismatchedPaths: ['outputs.decision'], executionTimeMs: 17, integrity: 'verified' });
    // Every path listed: no omitted count.
    expect(stored).not.toHaveProperty('mismatchedPathsOmitted');
  });

  it('lists at most 100 KB of mismatched paths, so an output of 20,000 changed elements still stores its result', async () => {
    const before = Array.from({ length: 20_000 }, (_, i) => i);
    const executor = new CountingExecutor([{ name: 'items', value: before.map((i) => i + 1) }]);
    const { deps, snapshots, batches } = itemWorld(executor);
    const batchId = ulid(103, '01JE');
    await snapshots.putIfAbsent(buildSnapshot({ functionName: 'approve_loan', inputs: [{ name: 'q', value: 1 }], outputs: [{ name: 'items', value: before }], modelParameters: { modelName: 'credit-llm' } }, ulid(1), '2026-11-02T10:00:00.000Z'));
    await batches.create(batchRecord(batchId, 1));

    const summary = await replayBatchItem(deps, { batchId, snapshotId: ulid(1) });

    expect(summary).toEqual({ snapshotId: ulid(1), status: 'Failed', outputsMatch: false });
    const stored = await batches.getResult(batchId, ulid(1));
    const paths = stored?.mismatchedPaths ?? [];
    expect(paths[0]).toBe('outputs.items[0]');
    expect(paths.length).toBeGreaterThan(5000);
    expect(paths.length).toBeLessThan(20_000);
    expect(paths.join('').length).toBeLessThanOrEqual(MAX_MISMATCHED_PATH_BYTES);
    // The paths left out are counted: listed + omitted = every element that changed.
    expect(stored?.mismatchedPathsOmitted).toBe(20_000 - paths.length);
    // and the batch's field statistics count them under fieldMismatchesOther.
    const acc = new StatsAccumulator();
    acc.add(stored as BatchResult);
    const stats = acc.toJSON();
    expect(Object.values(stats.fieldMismatches).reduce((a, b) => a + b, 0) + stats.fieldMismatchesOther).toBe(20_000);
  });

  it("keeps the snapshot's function, model and recorded execution time on the result, for the batch report", async () => {
    const executor = new CountingExecutor([{ name: 'decision', value: 'review' }, { name: 'score', value: 0.82 }]);
    const { deps, snapshots, batches } = itemWorld(executor);
    const batchId = ulid(103, '01JE');
    const recorded = buildSnapshot({ functionName: 'approve_loan', inputs: [{ name: 'applicant', value: { income: 1 } }], outputs: OUTPUTS, modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10' }, executionTimeMs: 42.5 }, ulid(1), new Date(NOW).toISOString());
    await snapshots.putIfAbsent(recorded);
    await batches.create(batchRecord(batchId, 1));

    await replayBatchItem(deps, { batchId, snapshotId: ulid(1) });

    expect((await batches.getResult(batchId, ulid(1)))?.original).toEqual({ functionName: 'approve_loan', executionTimeMs: 42.5, modelName: 'credit-llm', modelVersion: '2026-10' });
  });

  it('records a recordError payload as an Error result carrying the Lambda Cause\'s errorMessage after the fault\'s name, code INTERNAL_ERROR, without replaying', async () => {
    const executor = new CountingExecutor(OUTPUTS);
    const { deps, snapshots, batches, results } = itemWorld(executor);
    const batchId = ulid(103, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 1));
    const cause = JSON.stringify({ errorType: 'TypeError', errorMessage: 'cannot read properties of undefined', trace: ['TypeError: …'] });

    const summary = await replayBatchItem(deps, parseReplayItemPayload({ recordError: true, batchId, snapshotId: ulid(1), error: { Error: 'TypeError', Cause: cause } }));

    expect(summary).toEqual({ snapshotId: ulid(1), status: 'Error', outputsMatch: false });
    expect(await batches.getResult(batchId, ulid(1))).toEqual({
      batchId,
      snapshotId: ulid(1),
      replayId: null,
      status: 'Error',
      outputsMatch: false,
      executionTimeMs: 0,
      mismatchedPaths: [],
      violatedRules: [],
      error: { code: 'INTERNAL_ERROR', message: 'TypeError: cannot read properties of undefined' },
      createdAt: new Date(NOW).toISOString(),
    });
    expect(executor.calls).toBe(0);
    expect(results.results).toEqual([]);
    expect(await batches.countResults(batchId)).toBe(1);
  });

  it('records a Step Functions error under its documented code, its name and plain-text Cause as the message', async () => {
    const { deps, batches } = itemWorld(new CountingExecutor(OUTPUTS));
    const batchId = ulid(104, '01JE');
    await batches.create(batchRecord(batchId, 1));

    await replayBatchItem(deps, parseReplayItemPayload({ recordError: true, batchId, snapshotId: ulid(1), error: { Error: 'States.Timeout', Cause: 'Task timed out after 60 s' } }));

    expect((await batches.getResult(batchId, ulid(1)))?.error).toEqual({ code: 'TASK_TIMED_OUT', message: 'States.Timeout: Task timed out after 60 s' });
  });

  it('keeps a stored success when a late recordError for the same item arrives', async () => {
    const { deps, snapshots, batches } = itemWorld(new CountingExecutor(OUTPUTS));
    const batchId = ulid(105, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 1));
    await replayBatchItem(deps, { batchId, snapshotId: ulid(1) });

    const summary = await replayBatchItem(deps, parseReplayItemPayload({ recordError: true, batchId, snapshotId: ulid(1), error: { Error: 'X', Cause: 'late' } }));

    expect(summary.status).toBe('Success');
    expect((await batches.getResult(batchId, ulid(1)))?.status).toBe('Success');
  });

  it('records a snapshot that no longer exists as an Error result (no retry would help)', async () => {
    const { deps, batches, results } = itemWorld(new CountingExecutor(OUTPUTS));
    const batchId = ulid(106, '01JE');
    await batches.create(batchRecord(batchId, 1));

    const summary = await replayBatchItem(deps, { batchId, snapshotId: ulid(7) });

    expect(summary.status).toBe('Error');
    expect((await batches.getResult(batchId, ulid(7)))?.error?.code).toBe('SNAPSHOT_NOT_FOUND');
    expect(results.results).toEqual([]);
  });

  it('throws a fault that is not a domain error, storing nothing, so the workflow retries or catches it', async () => {
    const { deps, snapshots, batches } = itemWorld(new CountingExecutor(new TypeError('socket exploded')));
    const batchId = ulid(107, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 1));

    await expect(replayBatchItem(deps, { batchId, snapshotId: ulid(1) })).rejects.toThrow('socket exploded');
    expect(batches.results.size).toBe(0);
  });

  it('throws named errors for a missing batch and a malformed payload', async () => {
    const { deps } = itemWorld(new CountingExecutor(OUTPUTS));

    await expect(replayBatchItem(deps, { batchId: ulid(199, '01JE'), snapshotId: ulid(1) })).rejects.toBeInstanceOf(BatchNotFoundError);
    expect(() => parseReplayItemPayload({ snapshotId: ulid(1) })).toThrow(BatchPayloadError);
  });
});

describe('replayBatchChunk', () => {
  it('replays a chunk\'s snapshots one at a time and stores their results folded with the chunk', async () => {
    const executor = new CountingExecutor(OUTPUTS, 2);
    const { deps, snapshots, batches } = itemWorld(executor);
    const batchId = ulid(110, '01JE');
    for (const i of [1, 2, 3]) await snapshots.putIfAbsent(snapshot(ulid(i)));
    await batches.create(batchRecord(batchId, 3));
    let inFlight = 0;
    let peak = 0;
    const execute = executor.execute.bind(executor);
    executor.execute = async (req) => {
      peak = Math.max(peak, ++inFlight);
      try {
        return await execute(req);
      } finally {
        inFlight--;
      }
    };

    const summary = await replayBatchChunk(deps, { batchId, snapshotIds: [ulid(1), ulid(2), ulid(3)] });

    expect(summary).toEqual({ chunkId: ulid(1), count: 3, failed: 0 });
    expect(peak).toBe(1);
    expect(batches.results.size).toBe(3);
    const [chunk] = batches.chunks.values();
    expect(chunk).toMatchObject({ batchId, chunkId: ulid(1), count: 3, successful: 3, matches: 3 });
    expect(StatsAccumulator.fromState((chunk as BatchChunk).stats).toJSON()).toMatchObject({ totalReplays: 3, matches: 3, p50ExecutionTimeMs: expect.closeTo(17, 0) });
    expect((await batches.get(batchId))?.completed).toBe(3);
    expect((await batches.get(batchId))?.progress).toEqual({ completed: 3, successful: 3, matches: 3 });
  });

  it("reads its items' stored results and snapshots in one request each before the first executor call, and calls none for a stored result", async () => {
    const executor = new CountingExecutor(OUTPUTS);
    const { deps, snapshots, batches } = itemWorld(executor);
    const batchId = ulid(112, '01JE');
    for (const i of [1, 2, 3, 4]) await snapshots.putIfAbsent(snapshot(ulid(i)));
    await batches.create(batchRecord(batchId, 4));
    // A first attempt stored snapshot 3's result before it stopped.
    const earlier: BatchResult = { batchId, snapshotId: ulid(3), replayId: 'R-earlier', status: 'Success', outputsMatch: true, executionTimeMs: 5, mismatchedPaths: [], violatedRules: [], createdAt: '2026-11-02T11:00:00.000Z' };
    await batches.putResult(earlier);
    const readsAtFirstCall: number[] = [];
    const execute = executor.execute.bind(executor);
    executor.execute = (req) => {
      if (executor.calls === 0) readsAtFirstCall.push(snapshots.manyReads, batches.resultBatchReads);
      return execute(req);
    };

    const summary = await replayBatchChunk(deps, { batchId, snapshotIds: [ulid(1), ulid(2), ulid(3), ulid(4)] });

    expect(summary).toEqual({ chunkId: ulid(1), count: 4, failed: 0 });
    expect(readsAtFirstCall).toEqual([1, 1]);
    expect({ manyReads: snapshots.manyReads, resultBatchReads: batches.resultBatchReads }).toEqual({ manyReads: 1, resultBatchReads: 1 });
    // No item read its snapshot or its stored result on its own.
    expect({ reads: snapshots.reads, resultReads: batches.resultReads }).toEqual({ reads: 0, resultReads: 0 });
    expect(executor.calls).toBe(3);
    expect(await batches.getResult(batchId, ulid(3))).toEqual(earlier);
  });

  it('counts a retried chunk once and folds the results the first attempt stored', async () => {
    const { deps, snapshots, batches } = itemWorld(new CountingExecutor(OUTPUTS));
    const batchId = ulid(111, '01JE');
    for (const i of [1, 2]) await snapshots.putIfAbsent(snapshot(ulid(i)));
    await batches.create(batchRecord(batchId, 2));
    const payload = { batchId, snapshotIds: [ulid(1), ulid(2)] };

    await replayBatchChunk(deps, payload);
    await replayBatchChunk(deps, payload);

    expect(batches.chunks.size).toBe(1);
    expect((await batches.get(batchId))?.completed).toBe(2);
  });

  it('records an Error result for each snapshot of a failed chunk that has none, keeping the stored ones', async () => {
    const { deps, snapshots, batches } = itemWorld(new CountingExecutor(OUTPUTS));
    const batchId = ulid(112, '01JE');
    await snapshots.putIfAbsent(snapshot(ulid(1)));
    await batches.create(batchRecord(batchId, 2));
    await replayBatchItem(deps, { batchId, snapshotId: ulid(1) });

    const summary = await replayBatchChunk(deps, parseReplayChunkPayload({ recordError: true, batchId, items: [{ snapshotId: ulid(1) }, { snapshotId: ulid(2) }], error: { Error: 'States.Timeout', Cause: 'took too long' } }));

    expect(summary.count).toBe(2);
    expect((await batches.getResult(batchId, ulid(1)))?.status).toBe('Success');
    expect(await batches.getResult(batchId, ulid(2))).toMatchObject({ status: 'Error', error: { code: 'TASK_TIMED_OUT', message: 'States.Timeout: took too long' } });
    const [chunk] = batches.chunks.values();
    expect(StatsAccumulator.fromState((chunk as BatchChunk).stats).toJSON()).toMatchObject({ totalReplays: 2, failedReplays: 1, matches: 1 });
  });

  it("records a result too large for the history even compacted as that item's Error PAYLOAD_TOO_LARGE, and replays the rest of its chunk", async () => {
    const { deps, snapshots, batches, results } = itemWorld(new CountingExecutor(OUTPUTS));
    const batchId = ulid(113, '01JE');
    for (const i of [1, 2, 3]) await snapshots.putIfAbsent(snapshot(ulid(i)));
    await batches.create(batchRecord(batchId, 3));
    // The history store refuses snapshot 1's result as the DynamoDB store refuses one over 400 KB.
    const put = results.put.bind(results);
    results.put = (result, options) =>
      result.snapshotId === ulid(1) ? Promise.reject(new PayloadTooLargeError('replay result is 500000 bytes even compacted', MAX_ITEM_BYTES, 500_000)) : put(result, options);

    const summary = await replayBatchChunk(deps, { batchId, snapshotIds: [ulid(1), ulid(2), ulid(3)] });

    expect(summary).toEqual({ chunkId: ulid(1), count: 3, failed: 1 });
    expect(await batches.getResult(batchId, ulid(1))).toMatchObject({
      status: 'Error',
      replayId: null,
      error: { code: 'PAYLOAD_TOO_LARGE', message: 'replay result is 500000 bytes even compacted' },
      original: { functionName: 'approve_loan' },
    });
    // The items after it were replayed, each with its history entry: none carries its error.
    for (const id of [ulid(2), ulid(3)]) {
      const stored = await batches.getResult(batchId, id);
      expect(stored?.status).toBe('Success');
      expect(stored).not.toHaveProperty('error');
      expect((await results.listForSnapshot(id, 10)).items.map((r) => r.replayId)).toEqual([stored?.replayId]);
    }
  });

  it('replays nothing more, and stores no chunk, once its batch is no longer RUNNING (cancelled)', async () => {
    const executor = new CountingExecutor(OUTPUTS);
    const { deps, snapshots, batches } = itemWorld(executor);
    const batchId = ulid(114, '01JE');
    for (const i of [1, 2]) await snapshots.putIfAbsent(snapshot(ulid(i)));
    await batches.create({ ...batchRecord(batchId, 2), status: 'CANCELLED' });

    const summary = await replayBatchChunk(deps, { batchId, snapshotIds: [ulid(1), ulid(2)] });

    expect(summary).toEqual({ chunkId: ulid(1), count: 0, failed: 0, stopped: true });
    expect(executor.calls).toBe(0);
    expect(batches.chunks.size).toBe(0);
  });

  /** A chunk of `n` snapshots whose executor moves a manual clock by `itemMs` per call and cancels the batch during call `cancelAt`. */
  async function cancelledDuring(n: number, itemMs: number, cancelAt: number) {
    const executor = new CountingExecutor(OUTPUTS);
    const { deps, snapshots, batches } = itemWorld(executor);
    let now = NOW;
    const batchId = ulid(115, '01JE');
    const ids = Array.from({ length: n }, (_, i) => ulid(i + 1));
    for (const id of ids) await snapshots.putIfAbsent(snapshot(id));
    await batches.create(batchRecord(batchId, n));
    // The first read is the batch record the cache keeps for the whole batch (its request); the rest are status reads.
    const readsAt: number[] = [];
    const get = batches.get.bind(batches);
    batches.get = (id) => (readsAt.push(now - NOW), get(id));
    const execute = executor.execute.bind(executor);
    executor.execute = async (req) => {
      if (executor.calls + 1 === cancelAt) (batches.batches.get(batchId) as Batch).status = 'CANCELLED';
      now += itemMs;
      return execute(req);
    };
    const summary = await replayBatchChunk({ ...deps, clock: { now: () => now } }, { batchId, snapshotIds: ids });
    return { summary, calls: executor.calls, statusReadsAt: readsAt, chunks: batches.chunks.size };
  }

  it(`starts no item after a cancel made while the item before it ran (status read at most every ${STATUS_CHECK_MS} ms)`, async () => {
    for (const itemMs of [600, 250]) {
      const { summary, calls, statusReadsAt, chunks } = await cancelledDuring(4, itemMs, 2);

      expect(calls, `${itemMs} ms items`).toBe(2);
      expect(summary).toMatchObject({ count: 2, stopped: true });
      expect(chunks).toBe(0);
      // Item 1 read before it started, item 2 too; the read before item 3 came after item 2's
      // executor answered, and so after the cancel: item 3 did not start.
      expect(statusReadsAt).toEqual([0, 0, itemMs, 2 * itemMs]);
    }
  });

  it(`reads the status at most every ${STATUS_CHECK_MS} ms`, async () => {
    const fast = await cancelledDuring(12, 50, 0);

    expect(fast.calls).toBe(12);
    // 50 ms items: one read before the first, then before the first item 200 ms or more after the last read.
    expect(fast.statusReadsAt).toEqual([0, 0, 200, 400]);
  });

  it('refuses an empty chunk and a malformed payload at the edge with BatchPayloadError', () => {
    expect(() => parseReplayChunkPayload({ batchId: ulid(113, '01JE'), items: [] })).toThrow(BatchPayloadError);
    expect(() => parseReplayChunkPayload({ items: [{ snapshotId: ulid(1) }] })).toThrow(BatchPayloadError);
    expect(parseReplayPayload({ batchId: 'B', items: [{ snapshotId: 'S' }] })).toEqual({ chunk: { batchId: 'B', snapshotIds: ['S'] } });
    expect(parseReplayPayload({ batchId: 'B', snapshotId: 'S' })).toEqual({ item: { batchId: 'B', snapshotId: 'S' } });
  });
});

describe('itemsPerChunkFor', () => {
  it.each([
    [5, 10, 1],
    [50, 7, 4],
    [1000, 40, 5],
    [1040, 40, 13],
    [1234, 40, 16],
    [90, 40, 1],
    [20_000, 10, 20],
    [1_000_000, 1000, 20],
  ])('cuts %i snapshots at maxConcurrency %i into chunks of %i', (total, concurrency, expected) => {
    expect(itemsPerChunkFor(total, concurrency)).toBe(expected);
  });

  it('picks the size whose busiest slot costs least, items and chunks counted, the largest on a tie', () => {
    expect(busiestSlotItems(90, 40, itemsPerChunkFor(90, 40))).toBe(3);
    // One item over the ideal in 78 chunks beats the ideal in 1,234 chunks of 1.
    expect([busiestSlotItems(1234, 40, itemsPerChunkFor(1234, 40)), Math.ceil(1234 / itemsPerChunkFor(1234, 40))]).toEqual([32, 78]);
    for (const concurrency of [3, 7, 40, 100]) {
      for (const total of [concurrency + 1, 97, 1000, 1234, 20_000]) {
        if (total <= concurrency) continue;
        const chosen = itemsPerChunkFor(total, concurrency);
        const rounds = (size: number) => Math.ceil(Math.ceil(total / size) / concurrency);
        const allowed = Array.from({ length: 20 }, (_, i) => i + 1).filter((size) => size === 1 || rounds(size) >= Math.max(2, Math.ceil(total / (concurrency * 20))));
        const cost = (size: number) => rounds(size) * (size + CHUNK_COST_ITEMS);
        expect(busiestSlotCost(total, concurrency, chosen)).toBe(cost(chosen));
        const least = Math.min(...allowed.map(cost));
        expect(cost(chosen), `${total}/${concurrency}`).toBe(least);
        // and no larger allowed size would do as well
        for (const size of allowed.filter((s) => s > chosen)) expect(cost(size), `${total}/${concurrency} size ${size}`).toBeGreaterThan(least);
        expect(rounds(chosen) >= 2 || chosen === 1, `${total}/${concurrency}`).toBe(true);
      }
    }
  });

  it('never leaves a concurrency slot without a chunk when there are enough snapshots', () => {
    for (const concurrency of [1, 3, 10, 40, 1000]) {
      for (const total of [concurrency, concurrency + 1, 2 * concurrency + 3, 997, 20_000]) {
        if (total < concurrency) continue;
        expect(Math.ceil(total / itemsPerChunkFor(total, concurrency)), `${total}/${concurrency}`).toBeGreaterThanOrEqual(concurrency);
      }
    }
  });
});

describe('computeBatchStats', () => {
  function result(batchId: string, n: number, status: BatchResult['status'], executionTimeMs: number, mismatchedPaths: string[] = []): BatchResult {
    return { batchId, snapshotId: ulid(n), replayId: status === 'Error' ? null : `R${n}`, status, outputsMatch: status === 'Success', executionTimeMs, mismatchedPaths, violatedRules: [], createdAt: new Date(NOW).toISOString() };
  }
  const deps = (batches: MemoryBatchStore) => ({ batches, clock });

  /** Stores results and one chunk folding them, as a chunk task would. */
  async function storeChunk(batches: MemoryBatchStore, batchId: string, stored: BatchResult[], fold: BatchResult[] = stored): Promise<void> {
    for (const r of stored) await batches.putResult(r);
    const acc = new StatsAccumulator();
    for (const r of fold) acc.add(r);
    const successful = fold.filter((r) => r.status !== 'Error');
    await batches.putChunk({ batchId, chunkId: (fold[0] ?? stored[0] as BatchResult).snapshotId, count: acc.count, successful: successful.length, matches: successful.filter((r) => r.outputsMatch).length, stats: acc.toState(), createdAt: new Date(NOW).toISOString() });
  }

  it('merges the chunks\' stored stats, reconciled with the count of stored results, and marks the batch SUCCEEDED', async () => {
    const batches = new MemoryBatchStore();
    const batchId = ulid(200, '01JF');
    const stored = [result(batchId, 1, 'Success', 10), result(batchId, 2, 'Failed', 30, ['outputs.decision']), result(batchId, 3, 'Error', 0)];
    await batches.create(batchRecord(batchId, 3));
    await storeChunk(batches, batchId, stored.slice(0, 2));
    await storeChunk(batches, batchId, stored.slice(2));
    expect((await batches.get(batchId))?.completed).toBe(3);

    const outcome = await computeBatchStats(deps(batches), { batchId });

    const acc = new StatsAccumulator();
    for (const r of stored) acc.add(r);
    expect(outcome).toEqual({ batchId, status: 'SUCCEEDED', totalReplays: 3, matches: 1, mismatches: 1, failedReplays: 1 });
    expect(await batches.get(batchId)).toMatchObject({ status: 'SUCCEEDED', completed: 3, stats: acc.toJSON(), completedAt: new Date(NOW).toISOString() });
  });

  it('marks the batch FAILED, saying how many results were found, when results and snapshots differ in count', async () => {
    const batches = new MemoryBatchStore();
    const batchId = ulid(201, '01JF');
    await batches.create(batchRecord(batchId, 3));
    await storeChunk(batches, batchId, [result(batchId, 1, 'Success', 10), result(batchId, 2, 'Success', 12)]);

    const outcome = await computeBatchStats(deps(batches), { batchId });

    expect(outcome).toEqual({ batchId, status: 'FAILED', failureReason: '2 results were stored for 3 snapshots' });
    const batch = await batches.get(batchId);
    expect(batch).toMatchObject({ status: 'FAILED', failureReason: '2 results were stored for 3 snapshots' });
    expect(batch?.stats).toBeUndefined();
  });

  it('marks the batch FAILED when the chunks folded other results than are stored', async () => {
    const batches = new MemoryBatchStore();
    const batchId = ulid(203, '01JF');
    await batches.create(batchRecord(batchId, 3));
    const stored = [result(batchId, 1, 'Success', 10), result(batchId, 2, 'Success', 12), result(batchId, 3, 'Success', 12)];
    // A chunk that folded only two of the three results it stored.
    await storeChunk(batches, batchId, stored, stored.slice(0, 2));

    const outcome = await computeBatchStats(deps(batches), { batchId });

    expect(outcome).toEqual({ batchId, status: 'FAILED', failureReason: 'the chunks folded 2 results but 3 are stored' });
    expect((await batches.get(batchId))?.stats).toBeUndefined();
  });

  it('derives the batch id of a failed scheduled execution from its name and start time', async () => {
    const batches = new MemoryBatchStore();
    const executionName = 'nightly-2026-11-02';
    const executionStartTime = '2026-11-02T02:00:00.123Z';
    const batchId = batchIdForExecution(executionName, executionStartTime);
    await batches.create({ ...batchRecord(batchId, 1), trigger: 'schedule', scheduleName: 'nightly' });
    const cause = JSON.stringify({ errorType: 'ProvisionedThroughputExceededException', errorMessage: 'slow down' });

    const outcome = await computeBatchStats(
      deps(batches),
      parseStatsPayload({
        failed: true,
        input: { trigger: 'schedule', scheduleName: 'nightly', request: {} },
        executionName,
        executionStartTime,
        error: { Error: 'ProvisionedThroughputExceededException', Cause: cause },
      }),
    );

    expect(outcome).toEqual({ batchId, status: 'FAILED', failureReason: 'INTERNAL_ERROR: ProvisionedThroughputExceededException: slow down' });
    expect(await batches.get(batchId)).toMatchObject({ status: 'FAILED', failureReason: 'INTERNAL_ERROR: ProvisionedThroughputExceededException: slow down' });
  });

  it('reports a failed execution whose batch was never recorded without touching the store', async () => {
    const batches = new MemoryBatchStore();

    const outcome = await computeBatchStats(deps(batches), parseStatsPayload({ failed: true, input: {}, executionName: 'x', executionStartTime: '2026-11-02T02:00:00Z', error: { Error: 'States.Runtime', Cause: 'bad path' } }));

    expect(outcome).toEqual({ batchId: batchIdForExecution('x', '2026-11-02T02:00:00Z'), status: 'FAILED', failureReason: 'WORKFLOW_ERROR: States.Runtime: bad path' });
    expect(batches.batches.size).toBe(0);
  });

  it('uses the batch id in the failed state when Plan had set it', async () => {
    const batches = new MemoryBatchStore();
    const batchId = ulid(202, '01JF');
    await batches.create(batchRecord(batchId, 1));

    const outcome = await computeBatchStats(deps(batches), parseStatsPayload({ failed: true, input: { batchId }, executionName: batchId, executionStartTime: '2026-11-02T02:00:00Z' }));

    expect(outcome).toMatchObject({ batchId, status: 'FAILED', failureReason: 'UNKNOWN: the replay failed after its retries' });
    expect((await batches.get(batchId))?.status).toBe('FAILED');
  });
});

describe('startBatch with a snapshotManifest', () => {
  function world() {
    const manifests = new MemoryManifestStore('stack-manifests');
    const batches = new MemoryBatchStore();
    const started: string[] = [];
    const deps: StartBatchDeps = {
      snapshots: new MemorySnapshotStore(),
      batches,
      manifests,
      starter: { start: (batchId) => Promise.resolve(void started.push(batchId)) },
      policies: new MemoryPolicyStore(),
      clock,
      ids: sequentialIds('01JD0000000000000000'),
      manifestSources: manifestSources('stack-manifests', []),
    };
    return { deps, manifests, batches, started };
  }

  it('copies the validated ids into the batch manifest and answers the total', async () => {
    const { deps, manifests, started } = world();
    manifests.sources.set('stack-manifests/uploads/ids.csv', `snapshotId\n${ulid(2)}\n${ulid(1)}\n`);

    const { batch } = await startBatch(deps, { snapshotManifest: 's3://stack-manifests/uploads/ids.csv', mode: 'Strict' });

    expect(batch).toMatchObject({ total: 2, request: { snapshotManifest: 's3://stack-manifests/uploads/ids.csv', mode: 'Strict' } });
    expect(await manifests.ids(batch.manifest as { bucket: string; key: string })).toEqual([ulid(2), ulid(1)]);
    expect(started).toEqual([batch.batchId]);
  });

  it.each([
    ['a malformed manifest', 'stack-manifests/uploads/bad.csv', `${ulid(1)}\nnope\n`, ValidationError],
    ['a missing object', 'stack-manifests/uploads/none.csv', undefined, NotFoundError],
    ['a location not allowed', 'stack-manifests/batches/x.csv', `${ulid(1)}\n`, ValidationError],
  ])('refuses %s and writes nothing: no batch, no manifest, no Idempotency-Key claimed, nothing started', async (_name, path, text, type) => {
    const { deps, manifests, batches, started } = world();
    if (text !== undefined) manifests.sources.set(path, text);

    await expect(startBatch(deps, { snapshotManifest: `s3://${path}` }, 'retry-key')).rejects.toBeInstanceOf(type);

    expect(batches.batches.size).toBe(0);
    expect(batches.claims.size).toBe(0);
    expect(manifests.objects.size).toBe(0);
    expect(started).toEqual([]);
  });
});

describe('cancelBatch', () => {
  it('counts the results created by its instant, so a result created after completedAt is exactly one it left out', async () => {
    // Probe D13: items in flight at the cancel finish afterwards; their results are listed, not counted.
    const batches = new MemoryBatchStore();
    const batchId = ulid(70);
    await batches.create(batchRecord(batchId, 10));
    const at = (ms: number) => new Date(NOW + ms).toISOString();
    const stored = (n: number, createdAt: string): BatchResult => ({ batchId, snapshotId: ulid(n), replayId: null, status: 'Success', outputsMatch: true, executionTimeMs: 5, mismatchedPaths: [], violatedRules: [], createdAt });
    await batches.putResult(stored(1, at(-2_000)));
    await batches.putResult(stored(2, at(0)));
    // Created (by another clock, or while the cancel read) after the cancel's instant: not counted.
    await batches.putResult(stored(3, at(5)));
    const stopped: string[] = [];
    const store = Object.assign(batches, {
      list: () => Promise.resolve({ items: [] }),
      cancel: (id: string, stats: ReplayStats, completed: number, completedAt: string) => {
        Object.assign(batches.batches.get(id) as Batch, { status: 'CANCELLED', stats, completed, completedAt });
        return Promise.resolve(true);
      },
    });
    const cancelled = await cancelBatch({ batches: store, stopper: { stop: (id) => Promise.resolve(void stopped.push(id)) }, clock }, batchId);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', completed: 2, completedAt: at(0), stats: { totalReplays: 2 } });
    expect(stopped).toEqual([batchId]);
    const all = [...batches.results.values()];
    expect(all.filter((r) => countedAtCancel(r, cancelled.completedAt ?? '')).length).toBe(cancelled.completed);
  });

  it('counts what the workflow would: a tampered result as tampered, paths left out of a result in fieldMismatchesOther', async () => {
    const batches = new MemoryBatchStore();
    const batchId = ulid(71);
    await batches.create(batchRecord(batchId, 10));
    const createdAt = new Date(NOW - 1_000).toISOString();
    const results: BatchResult[] = [
      { batchId, snapshotId: ulid(1), replayId: 'R1', status: 'Failed', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [], violatedRules: [], integrity: 'tampered', error: { code: 'SNAPSHOT_TAMPERED', message: 'altered' }, createdAt },
      { batchId, snapshotId: ulid(2), replayId: 'R2', status: 'Failed', outputsMatch: false, executionTimeMs: 12, mismatchedPaths: ['outputs.items[0]', 'outputs.items[1]'], mismatchedPathsOmitted: 5, violatedRules: [], integrity: 'verified', createdAt },
      { batchId, snapshotId: ulid(3), replayId: 'R3', status: 'Success', outputsMatch: true, executionTimeMs: 8, mismatchedPaths: [], violatedRules: [], integrity: 'verified', createdAt },
    ];
    for (const r of results) await batches.putResult(r);
    const store = Object.assign(batches, {
      list: () => Promise.resolve({ items: [] }),
      cancel: (id: string, stats: ReplayStats, completed: number, completedAt: string) => {
        Object.assign(batches.batches.get(id) as Batch, { status: 'CANCELLED', stats, completed, completedAt });
        return Promise.resolve(true);
      },
    });

    const cancelled = await cancelBatch({ batches: store, stopper: { stop: () => Promise.resolve() }, clock }, batchId);

    // The same figures as the workflow's own fold of these results (its chunks add each stored result).
    const workflow = new StatsAccumulator();
    for (const r of results) workflow.add(r);
    expect(cancelled.stats).toEqual(workflow.toJSON());
    expect(cancelled.stats).toMatchObject({ totalReplays: 3, tampered: 1, mismatches: 1, matches: 1, fieldMismatches: { 'outputs.items[0]': 1, 'outputs.items[1]': 1 }, fieldMismatchesOther: 5 });
  });
});
