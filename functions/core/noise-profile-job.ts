/**
 * Learning a noise profile runs as a batch (the same records, state machine, progress and results
 * as a replay batch): `POST /functions/{fn}/noise-profile` records a batch marked `noiseProfile`,
 * each item executes its snapshot twice and stores what differed between the two runs, and the
 * batch's Stats step folds those observations into the next version of the function's profile
 * before it marks the batch SUCCEEDED. See noise.ts for what a profile holds.
 */
import * as z from 'zod/mini';
import { IsoInstantSchema } from './instant.js';
import { checkSelectorWindow, listedMismatchedPaths, newBatch, pagesOf, resolveSelection, startRecorded, writePlan, type Batch, type BatchResult, type StartBatchDeps } from './batch.js';
import type { ReplayItemDeps } from './batch-replay.js';
import { NotFoundError, UnprocessableError } from './errors.js';
import { ExecutorError, NoExecutorError, UnsupportedModelError, type ExecutorConfigStore } from './executor.js';
import { countLeaves, DEFAULT_NOISE_SAMPLE, MAX_NOISE_FIELDS, MAX_NOISE_PROFILE_FIELD_BYTES, MAX_NOISE_RUN_BYTES, MAX_NOISE_SAMPLE, NoiseAccumulator, NUMERIC_SAFETY_FACTOR, observeNoise, type NoiseProfile, type NoiseProfileStore, type NoiseRun } from './noise.js';
import { parseOrThrow } from './schema-util.js';
import { verifyContentHash } from './snapshot.js';


/** Body of `POST /functions/{fn}/noise-profile` (all optional). */
export const NoiseProfileRequestSchema = z.strictObject({
  sampleSize: z.optional(z.int({ error: 'sampleSize must be an integer' }).check(z.gte(2, 'sampleSize must be at least 2'), z.lte(MAX_NOISE_SAMPLE, `sampleSize must be at most ${MAX_NOISE_SAMPLE}`))),
  /** Which of the function's snapshots to sample (newest first); default: the newest `sampleSize`. */
  selector: z.optional(z.strictObject({
    from: z.optional(IsoInstantSchema),
    to: z.optional(IsoInstantSchema),
    lastHours: z.optional(z.number().check(z.gt(0, 'lastHours must be > 0'), z.lte(24 * 366, 'lastHours must be at most one year'))),
  })),
});
export type NoiseProfileRequest = z.infer<typeof NoiseProfileRequestSchema>;

/** The answer to `POST /functions/{fn}/noise-profile` (202): the learning batch, and where to read the profile. */
export const NoiseProfileAcceptedSchema = z.strictObject({
  batchId: z.string(),
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']),
  total: z.int(),
  functionName: z.string(),
  sampleSize: z.int(),
  batch: z.string(),
  profile: z.string(),
});
export type NoiseProfileAccepted = z.infer<typeof NoiseProfileAcceptedSchema>;

export interface StartNoiseProfileDeps extends StartBatchDeps {
  executors: ExecutorConfigStore;
}

/**
 * Starts learning a profile: 422 when the function has no executor or no snapshot to sample,
 * else the batch as recorded (answered 202, polled at `GET /batches/{id}`).
 */
export async function startNoiseProfile(deps: StartNoiseProfileDeps, functionName: string, body: unknown): Promise<Batch> {
  const request = parseOrThrow(NoiseProfileRequestSchema, body ?? {}, 'noise profile request');
  const s = request.selector;
  checkSelectorWindow(s);
  if (!(await deps.executors.get(functionName))) throw new NoExecutorError(functionName);
  const sampleSize = request.sampleSize ?? DEFAULT_NOISE_SAMPLE;
  const batchRequest = { selector: { functionName, limit: sampleSize, ...s }, mode: 'Tolerant' as const };
  const snapshotIds = await resolveSelection(deps.snapshots, batchRequest, deps.clock.now());
  if (snapshotIds.length < 2) {
    throw new UnprocessableError(`function '${functionName}' has ${snapshotIds.length} snapshot(s) in the selection; a noise profile needs at least 2`, { code: 'NOT_ENOUGH_SNAPSHOTS', details: { functionName, found: snapshotIds.length } });
  }
  const unplanned: Batch = {
    ...newBatch(deps.ids.next(), batchRequest, { trigger: 'api', createdAt: new Date(deps.clock.now()).toISOString() }),
    noiseProfile: { functionName, sampleSize },
  };
  // The sample is small (at most MAX_NOISE_SAMPLE ids) and resolved above: written to its manifest
  // before the batch is recorded, as listed ids are (startBatch), so a recorded batch always has
  // its ids, whatever stops this request, and a failed write leaves no batch behind.
  const planned: Batch = { ...unplanned, ...(await writePlan(deps.manifests, unplanned, pagesOf(snapshotIds))) };
  await deps.batches.create(planned);
  return startRecorded(deps, planned);
}

const utf8 = new TextEncoder();

/**
 * One item of a noise-profile batch: executes the snapshot twice, as recorded (its model parameters,
 * its recorded dependencies), and keeps what differed. Nothing is added to the snapshot's replay
 * history (these runs are measurements, not replays), so `replayId` is null.
 */
export async function noiseProfileItem(deps: ReplayItemDeps, batchId: string, snapshotId: string): Promise<BatchResult> {
  const now = () => new Date(deps.clock.now()).toISOString();
  const fail = (code: string, message: string, executionTimeMs = 0): BatchResult => ({ batchId, snapshotId, replayId: null, status: 'Error', outputsMatch: false, executionTimeMs, mismatchedPaths: [], violatedRules: [], error: { code, message }, createdAt: now() });
  const snapshot = await deps.snapshots.get(snapshotId);
  if (!snapshot) throw new NotFoundError('snapshot', snapshotId);
  if (!verifyContentHash(snapshot)) return { ...fail('SNAPSHOT_TAMPERED', `snapshot ${snapshotId} does not match its contentHash; nothing was executed`), integrity: 'tampered' };
  const tooLarge = (leaves: string, executionTimeMs?: number) =>
    fail('NOISE_OUTPUT_TOO_LARGE', `${leaves}; a noise profile learns from snapshots of at most ${MAX_NOISE_FIELDS} output leaves (a pair of runs is stored as one result of at most 400 KB)`, executionTimeMs);
  const recordedLeaves = countLeaves(snapshot.outputs.map((o) => o.value), MAX_NOISE_FIELDS);
  if (recordedLeaves > MAX_NOISE_FIELDS) return tooLarge(`snapshot ${snapshotId} has more than ${MAX_NOISE_FIELDS} output leaves; nothing was executed`);
  const registered = await deps.cache.executorsFor(deps.executors, batchId).get(snapshot.functionName);
  if (!registered) throw new NoExecutorError(snapshot.functionName);
  const executor = deps.createExecutor(registered.executor);
  const modelName = snapshot.modelParameters?.modelName;
  if (!executor.supportsModel(modelName)) throw new UnsupportedModelError(snapshot.functionName, modelName, executor.description);
  const recorded = snapshot.dependencies ?? [];
  const request = {
    functionName: snapshot.functionName,
    inputs: snapshot.inputs,
    modelParameters: snapshot.modelParameters,
    context: snapshot.context,
    expectedOutputs: snapshot.outputs.map((o) => o.name),
    ...(recorded.length > 0 && { dependencyMode: 'recorded' as const, recordedDependencies: recorded }),
  };
  let first;
  let second;
  try {
    first = await executor.execute(request, { timeoutMs: executor.timeoutMs });
    second = await executor.execute(request, { timeoutMs: executor.timeoutMs });
  } catch (err) {
    if (!(err instanceof ExecutorError)) throw err;
    return fail(err.code, err.message, first?.executionTimeMs ?? 0);
  }
  const executionTimeMs = Math.round(((first.executionTimeMs + second.executionTimeMs) / 2) * 1000) / 1000;
  // The answers may have more leaves than the recording: counted before anything is compared.
  const answered = Math.max(countLeaves(first.outputs.map((o) => o.value), MAX_NOISE_FIELDS), countLeaves(second.outputs.map((o) => o.value), MAX_NOISE_FIELDS));
  if (answered > MAX_NOISE_FIELDS) return tooLarge(`the runs of snapshot ${snapshotId} answered more than ${MAX_NOISE_FIELDS} output leaves`, executionTimeMs);
  const observations = await observeNoise(first.outputs, second.outputs, deps.similarity);
  const observedBytes = utf8.encode(JSON.stringify(observations)).length;
  if (observedBytes > MAX_NOISE_RUN_BYTES) return tooLarge(`the runs of snapshot ${snapshotId} gave ${observedBytes.toLocaleString('en-US')} bytes of observations (at most ${MAX_NOISE_RUN_BYTES.toLocaleString('en-US')}: its paths are long)`, executionTimeMs);
  const differed = observations.filter((o) => !o.equal).map((o) => o.path);
  const noise: NoiseRun = { executor: executor.description, modelVersion: snapshot.modelParameters?.modelVersion ?? null, similarityProvider: deps.similarity.name, observations };
  return {
    batchId,
    snapshotId,
    replayId: null,
    status: 'Success',
    outputsMatch: differed.length === 0,
    executionTimeMs,
    ...listedMismatchedPaths(differed),
    violatedRules: [],
    integrity: 'verified',
    noise,
    createdAt: now(),
  };
}

/** Folds a noise-profile batch's results into a profile (used by the batch's Stats step). */
export class NoiseProfileBuilder {
  private readonly acc = new NoiseAccumulator();
  private executor: string | undefined;
  private similarityProvider: string | undefined;

  constructor(private readonly batch: Batch & { noiseProfile: NonNullable<Batch['noiseProfile']> }) {}

  add(result: BatchResult): void {
    const run = result.noise;
    if (result.status !== 'Success' || run === undefined) return;
    this.acc.addPair(run.observations);
    if (run.modelVersion !== null) this.acc.modelVersions.add(run.modelVersion);
    this.executor ??= run.executor;
    this.similarityProvider ??= run.similarityProvider;
  }

  /** The profile to store, or a reason why none can be (no pair of runs succeeded). */
  build(createdAt: string): Omit<NoiseProfile, 'version'> | { failure: string } {
    if (this.acc.pairs === 0 || this.executor === undefined || this.similarityProvider === undefined) {
      return { failure: `no snapshot of '${this.batch.noiseProfile.functionName}' gave two usable runs; see GET /batches/${this.batch.batchId}/results` };
    }
    const fields = this.acc.fields();
    // Every snapshot fits its result, but their paths together may not fit the profile's one item.
    const bytes = utf8.encode(JSON.stringify(fields)).length;
    if (bytes > MAX_NOISE_PROFILE_FIELD_BYTES) {
      return { failure: `the profile of '${this.batch.noiseProfile.functionName}' would hold ${fields.length.toLocaleString('en-US')} fields (${bytes.toLocaleString('en-US')} bytes), more than one profile stores (${MAX_NOISE_PROFILE_FIELD_BYTES.toLocaleString('en-US')} bytes of fields): its snapshots' outputs have too many distinct paths between them; nothing was stored` };
    }
    return {
      functionName: this.batch.noiseProfile.functionName,
      executor: this.executor,
      modelVersions: [...this.acc.modelVersions].sort(),
      similarityProvider: this.similarityProvider,
      sampleSize: this.batch.total ?? this.batch.noiseProfile.sampleSize,
      pairs: this.acc.pairs,
      numericSafetyFactor: NUMERIC_SAFETY_FACTOR,
      fields,
      batchId: this.batch.batchId,
      createdAt,
    };
  }
}

/** `GET /functions/{fn}/noise-profile[?version=N]`: the latest profile or one version; 404 when none. */
export async function readNoiseProfile(store: NoiseProfileStore, functionName: string, version: number | undefined): Promise<NoiseProfile> {
  if (version === undefined) {
    const latest = await store.getLatest(functionName);
    if (!latest) throw new NotFoundError('noise profile', functionName, { message: `no noise profile has been learned for function '${functionName}'; POST /functions/${functionName}/noise-profile to learn one` });
    return latest;
  }
  const found = await store.getVersion(functionName, version);
  if (!found) throw new NotFoundError('noise profile', `${functionName} version ${version}`, { message: `function '${functionName}' has no noise profile version ${version}` });
  return found;
}
