/**
 * The replay step of a batch (DESIGN §6): one chunk of a batch's snapshots replayed one after
 * another, each result written once (idempotent under retries), the chunk's results folded into a
 * stats accumulator stored with it. Apart from ./batch.ts because it runs replays, and with them
 * policies' comparators and the engines they load: only the batch-replay function ships it.
 */
import { DomainError } from './errors.js';
import type { ExecutorConfigStore, StoredExecutorConfig } from './executor.js';
import { noiseProfileItem } from './noise-profile-job.js';
import type { SnapshotStore } from './ports.js';
import { parseReplayRequest, preparedReplay, replaySnapshot, type PreparedReplay, type ReplayDeps, type ReplayResult, type ReplayResultStore } from './replay.js';
import { resolveNamedPolicy } from './policy-port.js';
import { readableSnapshot, type Snapshot } from './snapshot.js';
import { StatsAccumulator } from './stats.js';
import { BatchNotFoundError, BatchStateError, listedMismatchedPaths, originalFacts, type Batch, type BatchResult, type BatchStore } from './batch.js';

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

function* mismatchedPathsOf(result: ReplayResult): Generator<string> {
  for (const c of result.fieldComparisons) if (!c.match) yield c.path;
}

function summarize(result: ReplayResult, batchId: string, original: Snapshot | undefined): BatchResult {
  return {
    batchId,
    snapshotId: result.snapshotId,
    replayId: result.replayId,
    status: result.status,
    outputsMatch: result.outputsMatch,
    executionTimeMs: result.executionTimeMs,
    ...listedMismatchedPaths(mismatchedPathsOf(result)),
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

  /**
   * The batch's replay settings, its policy at the version the batch pinned when it started (so a
   * policy PUT during the batch does not judge its items under two versions); a batch stored
   * before versions were pinned judges under the latest.
   */
  preparedFor(deps: Pick<ReplayItemDeps, 'batches' | 'policies'>, batchId: string): Promise<PreparedReplay> {
    return this.memo(this.prepared, batchId, async () => {
      const batch = await this.batchFor(deps, batchId);
      const r = batch.request;
      // A batch stored before ValidationOnly refused overrides and dependencyMode (they never had
      // an effect there) still replays: they are left out rather than failing every item.
      const executes = r.mode !== 'ValidationOnly';
      const request = parseReplayRequest({ mode: r.mode, tolerance: r.tolerance, overrides: executes ? r.overrides : undefined, dependencyMode: executes ? r.dependencyMode : undefined, noiseProfile: r.noiseProfile });
      // So is its noise profile: a batch over listed ids pinned each function's 'latest' when it started.
      return preparedReplay(request, r.policyName === undefined ? undefined : await resolveNamedPolicy(deps.policies, r.policyName, batch.policyVersion, batch.policyContentHash), batch.noiseProfileVersions);
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
 * An item's two reads, started before its turn: its stored result (if any) and its snapshot. A
 * chunk reads them for all its items at once ({@link readChunk}), so an item's turn begins with
 * its executor call. Reads only: an unused read (the chunk stopped or failed) changes nothing, and
 * the snapshot is still read from the table for this replay, a few items early.
 */
interface ItemReads {
  existing: Promise<BatchResult | undefined>;
  /** Absent where the item reads its snapshot its own way (a noise-profile batch). */
  snapshot?: Promise<Snapshot | undefined>;
}

/**
 * The reads of every item of a chunk, as two requests before its first item: the stored results
 * and the snapshots, each one BatchGetItem (a chunk holds at most 20). Two GetItems per item cost
 * a round trip and the SDK's per-request work each; on the local host that was ~0.25 ms of its
 * one event loop per item. A chunk replays its items one after another, so an item's stored result
 * is still read before its executor is called: a retried chunk, a redrive or a resumed batch calls
 * no executor for a snapshot that has its result.
 */
function readChunk(deps: ReplayItemDeps, batchId: string, snapshotIds: readonly string[], withSnapshots: boolean): (snapshotId: string) => ItemReads {
  const existing = deps.batches.getResults(batchId, snapshotIds);
  const snapshots = withSnapshots ? deps.snapshots.getMany(snapshotIds) : undefined;
  // Awaited when each item's turn comes; until then a failure must not be an unhandled rejection.
  existing.catch(() => undefined);
  snapshots?.catch(() => undefined);
  return (snapshotId) => ({ existing: existing.then((found) => found.get(snapshotId)), ...(snapshots && { snapshot: snapshots.then((found) => found.get(snapshotId)) }) });
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
  return (await startItem(deps, batchId, snapshotId)).stored;
}

/**
 * Replays one snapshot up to its executor's answer; `stored` settles once its result is stored (this
 * attempt's, or an earlier one's), so a chunk can start its next item meanwhile. `reads`: the item's
 * reads, started with its chunk's ({@link readChunk}).
 */
async function startItem(deps: ReplayItemDeps, batchId: string, snapshotId: string, reads?: ItemReads): Promise<{ stored: Promise<BatchResult> }> {
  const now = () => new Date(deps.clock.now()).toISOString();
  // An item looks for its stored result before anything is executed: a Step Functions retry or
  // redrive, a resumed execution after a crash or an idempotent repeat of the batch finds the first
  // attempt's result and calls no executor again (executor calls never exceed items).
  const [existing, batch, prepared] = await Promise.all([
    reads?.existing ?? deps.batches.getResult(batchId, snapshotId),
    deps.cache.batchFor(deps, batchId),
    deps.cache.preparedFor(deps, batchId),
  ]);
  if (existing !== undefined) return { stored: Promise.resolve(existing) };
  if (batch.noiseProfile !== undefined) {
    let measured: BatchResult;
    try {
      measured = await noiseProfileItem(deps, batchId, snapshotId);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      measured = errorResult(batchId, snapshotId, err, now());
    }
    const written = deps.batches.putResult(measured);
    return { stored: written.then(async (ok) => (ok ? measured : ((await deps.batches.getResult(batchId, snapshotId)) ?? measured))) };
  }
  let summary: BatchResult;
  let full: ReplayResult | undefined;
  let original: Snapshot | undefined;
  try {
    const replayDeps = {
      ...deps,
      executors: deps.cache.executorsFor(deps.executors, batchId),
      ...(reads?.snapshot !== undefined && { snapshots: withSnapshotRead(deps.snapshots, snapshotId, reads.snapshot) }),
    };
    full = { ...(await replaySnapshot(replayDeps, snapshotId, prepared, deps.replayIdFor(batchId, snapshotId, Date.parse(batch.createdAt)), (read) => (original = read))), batchId };
    // A tampered snapshot's fields may not parse: its facts as far as they do.
    summary = summarize(full, batchId, original && full.integrity === 'tampered' ? readableSnapshot(original) : original);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    summary = errorResult(batchId, snapshotId, err, now(), original && originalFacts(readableSnapshot(original)));
  }
  // Both writes are conditional on keys that are the same on every retry (the history entry is
  // listed at the batch's start): the first attempt's result and history entry win, and a retry
  // writes neither again. The history entry goes first, while the chunk's next item runs: one too
  // large for its item even compacted (PAYLOAD_TOO_LARGE) makes this item an Error result with
  // that code. Written together, that refusal failed the whole chunk after the result had been
  // stored: the result named a history entry that never was, and the items after it in the chunk
  // were recorded, unreplayed, with its error.
  const stored = (async () => {
    let result = summary;
    if (full) {
      try {
        await deps.results.put(full, { sortAt: batch.createdAt });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        result = errorResult(batchId, snapshotId, err, now(), summary.original);
      }
    }
    return (await deps.batches.putResult(result)) ? result : ((await deps.batches.getResult(batchId, snapshotId)) ?? result);
  })();
  return { stored };
}

/** The Error result of an item whose replay ended in a domain error: nothing of it is stored in the history. */
function errorResult(batchId: string, snapshotId: string, err: DomainError, createdAt: string, original?: BatchResult['original']): BatchResult {
  return { batchId, snapshotId, replayId: null, status: 'Error', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [], violatedRules: [], error: { code: err.code, message: err.message }, ...(original && { original }), createdAt };
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
  // Every item's reads go out together, before the first item's turn (see readChunk).
  const readSnapshots = failure === undefined && (await deps.cache.batchFor(deps, batchId)).noiseProfile === undefined;
  const readsOf = failure ? undefined : readChunk(deps, batchId, snapshotIds, readSnapshots);
  for (const snapshotId of snapshotIds) {
    // A cancelled batch stops here: the workflow's stop does not reach a running invocation, so a
    // chunk looks at the batch's status between items (at most every STATUS_CHECK_MS, to keep its
    // META item from turning into a hot key) and replays nothing more once it is not RUNNING. The
    // read goes out after the item before has its executor's answer: a read sent earlier, beside
    // that executor call, took ~5 % off a 200 ms batch's wall time on the local host, but missed a
    // cancel made while the executor ran, and a cancelled batch would call one more per chunk.
    // Sharing one read among the chunks in flight (each waiting for the next read issued after it
    // asked) cut a local 1,000-item batch's reads from 1,000 to ~155 but made it 3-20 % slower: with
    // 40 chunks a read is nearly always in flight, so a check waited for its rest and one more.
    if (deps.clock.now() - checkedAt >= STATUS_CHECK_MS) {
      checkedAt = deps.clock.now();
      if ((await deps.batches.get(batchId))?.status !== 'RUNNING') {
        await settle();
        return { chunkId, count: acc.count, failed: acc.count - successful, stopped: true };
      }
    }
    if (failure) {
      fold(await recordItemError(deps, batchId, snapshotId, failure));
      continue;
    }
    const started = await startItem(deps, batchId, snapshotId, readsOf?.(snapshotId));
    await settle();
    writing = started.stored;
    // Awaited by settle(); a failure meanwhile must not be an unhandled rejection.
    writing.catch(() => undefined);
  }
  await settle();
  await deps.batches.putChunk({ batchId, chunkId, count: acc.count, successful, matches, stats: acc.toState(), createdAt: new Date(deps.clock.now()).toISOString() });
  return { chunkId, count: acc.count, failed: acc.count - successful };
}
