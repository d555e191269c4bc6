/**
 * The replay engine (DESIGN §5): re-read the snapshot, verify its content hash, re-execute the
 * decision on the registered executor (with counterfactual overrides), compare the outputs
 * leaf by leaf, evaluate an optional policy with the original as baseline, and persist the result.
 *
 * Never a fake success: a tampered snapshot is `Failed` and nothing runs; an executor without a
 * usable answer is `Error` with its code; no executor, or one that does not serve the model, is a
 * 422 before anything runs.
 */
import * as z from 'zod/mini';
import { compareDependencies, countDependencyStatuses, DEPENDENCY_MODES, DependencyReplaySchema, type Dependency, type DependencyMode, type DependencyReplay, type ReportedDependency } from './dependencies.js';
import { diffSnapshots, SnapshotDiffSchema } from './diff.js';
import { NotFoundError, UnprocessableError, ValidationError } from './errors.js';
import { noiseIndex, type NoiseProfile, type NoiseProfileStore } from './noise.js';
import { ExecutorError, NoExecutorError, UnsupportedModelError, type ExecutionResult, type Executor, type ExecutorConfig, type ExecutorConfigStore } from './executor.js';
import type { JsonObject } from './json.js';
import { compareOutputs, FieldComparisonSchema } from './output-comparison.js';
import { evaluatePolicy, PolicyBodySchema, RuleResultSchema, ViolationSchema, type PolicyStore } from './policy.js';
import type { Clock, IdGenerator, Page, SnapshotStore } from './ports.js';
import { parseOrThrow } from './schema-util.js';
import { SimilarityProviderError, type SimilarityProvider } from './similarity.js';
import { IntegritySchema, JsonObjectSchema, ModelParametersSchema, NamedValueSchema, verifyContentHash, type DecisionView, type ModelParameters, type NamedValue, type Snapshot } from './snapshot.js';
import { resolvePolicy } from './validation.js';

export const REPLAY_MODES = ['Strict', 'Tolerant', 'ValidationOnly'] as const;
export type ReplayMode = (typeof REPLAY_MODES)[number];
export const DEFAULT_TOLERANCE = 0.8;

/** Counterfactual overrides merged over the recorded model parameters and context. */
export const OverridesSchema = z.strictObject({
  modelParameters: z.optional(z.partial(ModelParametersSchema)),
  context: z.optional(JsonObjectSchema),
});
export type Overrides = z.infer<typeof OverridesSchema>;

export const NoiseProfileChoiceSchema = z.union([z.literal('latest'), z.literal('none'), z.int().check(z.gte(1))], {
  error: "noiseProfile must be 'latest', 'none' or a profile version number (1, 2, …)",
});
export type NoiseProfileChoice = z.infer<typeof NoiseProfileChoiceSchema>;

/** The replay options shared by `POST /snapshots/{id}/replay` and batch requests. */
export const ReplayOptionsShape = {
  mode: z.optional(z.enum(REPLAY_MODES, { error: `mode must be one of ${REPLAY_MODES.join(', ')}` })),
  tolerance: z.optional(z.number().check(z.gte(0, 'tolerance must be between 0 and 1'), z.lte(1, 'tolerance must be between 0 and 1'))),
  overrides: z.optional(OverridesSchema),
  /** How recorded dependencies are served; default `recorded` when the snapshot has dependencies (see dependencies.ts). */
  dependencyMode: z.optional(z.enum(DEPENDENCY_MODES, { error: `dependencyMode must be one of ${DEPENDENCY_MODES.join(', ')}` })),
  /** A noise profile of the function for Tolerant mode: 'latest', a version number, or 'none' (the default). See noise.ts. */
  noiseProfile: z.optional(NoiseProfileChoiceSchema),
};

/** Body of `POST /snapshots/{id}/replay`. */
export const ReplayRequestSchema = z.strictObject({
  ...ReplayOptionsShape,
  policy: z.optional(z.unknown()),
  policyName: z.optional(z.string().check(z.minLength(1))),
});
export type ReplayRequest = z.infer<typeof ReplayRequestSchema>;

/** For the OpenAPI document: the replay request as clients see it (`policy` is checked apart, for its messages). */
export const ReplayRequestDocSchema = z.strictObject({
  ...ReplayOptionsShape,
  policy: z.optional(PolicyBodySchema),
  policyName: z.optional(z.string().check(z.minLength(1))),
});

/** `Success`: it ran (or was checked) and matched; `Failed`: a mismatch, a violated rule or a tampered snapshot; `Error`: no usable answer. */
export const ReplayStatusSchema = z.enum(['Success', 'Failed', 'Error']);
export type ReplayStatus = z.infer<typeof ReplayStatusSchema>;

/** `{code, message}` of a replay that could not run, or of a snapshot that was tampered with. */
export const ResultErrorSchema = z.strictObject({ code: z.string(), message: z.string() });

/**
 * A replay result, as persisted and returned (`POST /snapshots/{id}/replay`, `GET /snapshots/{id}/replays`).
 * - `tolerance`: the tolerance applied (Tolerant mode), else null.
 * - `diff`: the original decision against the replayed one (outputs, overridden parameters,
 *   timing); null when nothing ran.
 * - `policy`: the policy evaluated on the replayed decision with its rule results, else null.
 * - `executionTimeMs`: wall time of the executor call (0 when nothing ran).
 * - `executor`: what ran the decision again (no secrets), or null when nothing ran.
 * - `batchId`: set when the replay was part of a batch.
 * - `truncated`: set on a stored result compacted to fit one item, saying what was left out.
 */
export const ReplayResultSchema = z.strictObject({
  replayId: z.string(),
  snapshotId: z.string(),
  functionName: z.string(),
  mode: z.enum(REPLAY_MODES),
  tolerance: z.nullable(z.number()),
  status: ReplayStatusSchema,
  outputsMatch: z.boolean(),
  replayOutputs: z.nullable(z.array(NamedValueSchema)),
  fieldComparisons: z.array(FieldComparisonSchema),
  diff: z.nullable(SnapshotDiffSchema),
  policy: z.nullable(z.strictObject({ name: z.string(), version: z.nullable(z.int()), rules: z.array(RuleResultSchema) })),
  policyViolations: z.array(ViolationSchema),
  /** The noise profile a noise-aware Tolerant replay compared with; null (or absent, on results stored before noise profiles) without one. */
  noiseProfile: z.optional(z.nullable(z.strictObject({ functionName: z.string(), version: z.int() }))),
  /**
   * The dependency calls of the replay against the recorded ones (unchanged / changed / new /
   * missing); null when the snapshot recorded none, no dependency mode was asked for and the
   * executor reported none (or nothing ran).
   */
  dependencies: z.optional(z.nullable(DependencyReplaySchema)),
  integrity: IntegritySchema,
  error: z.optional(ResultErrorSchema),
  executionTimeMs: z.number(),
  executor: z.nullable(z.string()),
  overrides: z.nullable(OverridesSchema),
  batchId: z.optional(z.string()),
  truncated: z.optional(z.string()),
  createdAt: z.string(),
  /** SHA-256 of the stored result's canonical JSON without this field (see core/records.ts); set when stored. */
  contentHash: z.optional(z.string()),
});
export type ReplayResult = z.infer<typeof ReplayResultSchema>;

/** Port: a snapshot's replay history. */
export interface ReplayResultStore {
  /**
   * Stores a result once; false (nothing written) when that entry exists. It is listed at
   * `sortAt` (default its createdAt): a batch lists its replays at the batch's start, which makes
   * their entries' keys the same on every retry.
   */
  put(result: ReplayResult, options?: { sortAt?: string }): Promise<boolean>;
  /** Newest first. */
  listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ReplayResult>>;
}

export interface ReplayDeps {
  snapshots: SnapshotStore;
  executors: ExecutorConfigStore;
  createExecutor: (config: ExecutorConfig) => Executor;
  policies: PolicyStore;
  similarity: SimilarityProvider;
  clock: Clock;
  ids: IdGenerator;
  /** Needed only for replays that ask for a noise profile. */
  noiseProfiles?: NoiseProfileStore;
}

/** A replay request after validation, with its policy resolved. */
export interface PreparedReplay {
  mode: ReplayMode;
  tolerance: number;
  overrides: Overrides | undefined;
  /** Asked for explicitly; undefined: `recorded` when the snapshot has dependencies, else none. */
  dependencyMode?: DependencyMode | undefined;
  /** 'none' unless asked for (Tolerant mode only). */
  noiseProfile?: NoiseProfileChoice | undefined;
  /** Profiles already read for this prepared request (a batch reads each function's once). */
  noiseProfiles?: Map<string, Promise<NoiseProfile | undefined>>;
  policy: { name: string; version: number | null; rules: Parameters<typeof evaluatePolicy>[0]['rules'] } | undefined;
}

/** Validates a replay request body and resolves its policy (400 / 404 before anything runs). */
export async function prepareReplay(policies: PolicyStore, body: unknown): Promise<PreparedReplay> {
  const request = parseOrThrow(ReplayRequestSchema, body ?? {}, 'replay request');
  if (request.tolerance !== undefined && request.mode !== undefined && request.mode !== 'Tolerant') {
    throw new ValidationError(`tolerance applies to Tolerant mode only, not ${request.mode}`, { details: { issues: [{ path: 'tolerance', message: 'only with mode Tolerant' }] } });
  }
  if (request.noiseProfile !== undefined && request.noiseProfile !== 'none' && (request.mode ?? 'Tolerant') !== 'Tolerant') {
    throw new ValidationError(`noiseProfile applies to Tolerant mode only, not ${String(request.mode)}`, { details: { issues: [{ path: 'noiseProfile', message: 'only with mode Tolerant' }] } });
  }
  const wantsPolicy = request.policy !== undefined || request.policyName !== undefined;
  return {
    mode: request.mode ?? 'Tolerant',
    tolerance: request.tolerance ?? DEFAULT_TOLERANCE,
    overrides: request.overrides,
    dependencyMode: request.dependencyMode,
    noiseProfile: request.noiseProfile ?? 'none',
    noiseProfiles: new Map(),
    policy: wantsPolicy ? await resolvePolicy(policies, request) : undefined,
  };
}

/** Recorded model parameters and context with the overrides merged over them. */
export function applyOverrides(snapshot: Snapshot, overrides: Overrides | undefined): { modelParameters: ModelParameters | undefined; context: JsonObject | undefined } {
  const mp = overrides?.modelParameters;
  const modelParameters = mp === undefined ? snapshot.modelParameters : ({ ...snapshot.modelParameters, ...stripUndefined(mp) } as ModelParameters);
  const context = overrides?.context === undefined ? snapshot.context : { ...snapshot.context, ...overrides.context };
  return { modelParameters, context };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Replays one snapshot. Throws 404 (snapshot), 422 (no executor / unsupported model); returns a
 * result with status Error when the executor gave no usable answer. The caller persists it.
 * `seen` is handed the snapshot as read (so a caller needs no second read to know it).
 */
export async function replaySnapshot(deps: ReplayDeps, snapshotId: string, prepared: PreparedReplay, replayId = deps.ids.next(), seen?: (snapshot: Snapshot) => void): Promise<ReplayResult> {
  // Always a fresh read: integrity is checked on what is in the table now.
  const snapshot = await deps.snapshots.get(snapshotId);
  if (!snapshot) throw new NotFoundError('snapshot', snapshotId);
  // A batch item keeps what its report needs of the original (see BatchResult.original).
  seen?.(snapshot);
  const base = {
    replayId,
    snapshotId,
    functionName: snapshot.functionName,
    mode: prepared.mode,
    tolerance: prepared.mode === 'Tolerant' ? prepared.tolerance : null,
    overrides: prepared.overrides ?? null,
  };
  const now = () => new Date(deps.clock.now()).toISOString();
  const nothingRan = { replayOutputs: null, fieldComparisons: [], diff: null, executionTimeMs: 0, executor: null };

  if (!verifyContentHash(snapshot)) {
    return {
      ...base,
      ...nothingRan,
      status: 'Failed',
      outputsMatch: false,
      policy: null,
      policyViolations: [],
      integrity: 'tampered',
      error: { code: 'SNAPSHOT_TAMPERED', message: `snapshot ${snapshotId} does not match its contentHash: it was altered after it was recorded; nothing was executed` },
      createdAt: now(),
    };
  }

  if (prepared.mode === 'ValidationOnly') {
    const baseline = prepared.policy ? await deps.snapshots.findPreviousWithSameInputs(snapshot) : undefined;
    const evaluation = prepared.policy ? await evaluatePolicy({ name: prepared.policy.name, rules: prepared.policy.rules }, snapshot, baseline, deps.similarity) : undefined;
    return {
      ...base,
      ...nothingRan,
      status: evaluation?.status === 'violated' ? 'Failed' : 'Success',
      outputsMatch: true,
      policy: prepared.policy && evaluation ? { name: prepared.policy.name, version: prepared.policy.version, rules: evaluation.rules } : null,
      policyViolations: evaluation?.violations ?? [],
      integrity: 'verified',
      createdAt: now(),
    };
  }

  const noise = await resolveNoiseProfile(deps, prepared, snapshot.functionName);
  const registered = await deps.executors.get(snapshot.functionName);
  if (!registered) throw new NoExecutorError(snapshot.functionName);
  const executor = deps.createExecutor(registered.executor);
  const { modelParameters, context } = applyOverrides(snapshot, prepared.overrides);
  if (!executor.supportsModel(modelParameters?.modelName)) throw new UnsupportedModelError(snapshot.functionName, modelParameters?.modelName, executor.description);

  const recordedDependencies = snapshot.dependencies ?? [];
  const dependencyMode = prepared.dependencyMode ?? (recordedDependencies.length > 0 ? 'recorded' : undefined);
  let outputs: NamedValue[];
  let executionTimeMs: number;
  let reportedDependencies: ExecutionResult['dependencies'];
  try {
    const answer = await executor.execute(
      {
        functionName: snapshot.functionName,
        inputs: snapshot.inputs,
        modelParameters,
        context,
        expectedOutputs: snapshot.outputs.map((o) => o.name),
        ...(dependencyMode !== undefined && { dependencyMode }),
        ...(dependencyMode === 'recorded' && { recordedDependencies }),
      },
      { timeoutMs: executor.timeoutMs },
    );
    outputs = answer.outputs;
    executionTimeMs = answer.executionTimeMs;
    reportedDependencies = answer.dependencies;
  } catch (err) {
    if (!(err instanceof ExecutorError)) throw err;
    return {
      ...base,
      ...nothingRan,
      executor: executor.description,
      status: 'Error',
      outputsMatch: false,
      policy: null,
      policyViolations: [],
      integrity: 'verified',
      error: err.toResultError(),
      createdAt: now(),
    };
  }

  const replayed: DecisionView = { functionName: snapshot.functionName, inputs: snapshot.inputs, outputs, modelParameters, context, executionTimeMs, tags: snapshot.tags, dependencies: reportedDependencies };
  // The replay's diff sets the calls side by side without their latencies (timing, like
  // executionTimeMs, is not a change of the decision; a recorded-mode call has no real latency).
  // Unreported calls are unknown, not removed: the diff then leaves dependencies out on both sides.
  const original: DecisionView = { ...snapshot, dependencies: reportedDependencies === undefined ? undefined : withoutLatency(recordedDependencies) };
  const replayedForDiff: DecisionView = { ...replayed, dependencies: reportedDependencies === undefined ? undefined : withoutLatency(reportedDependencies) };
  const dependencies: DependencyReplay | null = dependencyMode === undefined && reportedDependencies === undefined
    ? null
    : (() => {
        const calls = reportedDependencies === undefined ? [] : compareDependencies(recordedDependencies, reportedDependencies);
        return { mode: dependencyMode ?? 'live', reported: reportedDependencies !== undefined, calls, counts: countDependencyStatuses(calls) };
      })();
  try {
    const rules = noise && { fields: noiseIndex(noise), numericSafetyFactor: noise.numericSafetyFactor };
    const comparison = await compareOutputs(snapshot.outputs, outputs, prepared.mode, prepared.tolerance, deps.similarity, rules);
    const evaluation = prepared.policy ? await evaluatePolicy({ name: prepared.policy.name, rules: prepared.policy.rules }, replayed, snapshot, deps.similarity) : undefined;
    const violated = evaluation?.status === 'violated';
    return {
      ...base,
      status: comparison.outputsMatch && !violated ? 'Success' : 'Failed',
      outputsMatch: comparison.outputsMatch,
      replayOutputs: outputs,
      fieldComparisons: comparison.fieldComparisons,
      diff: diffSnapshots(original, replayedForDiff),
      policy: prepared.policy && evaluation ? { name: prepared.policy.name, version: prepared.policy.version, rules: evaluation.rules } : null,
      policyViolations: evaluation?.violations ?? [],
      noiseProfile: noise ? { functionName: noise.functionName, version: noise.version } : null,
      dependencies,
      integrity: 'verified',
      executionTimeMs,
      executor: executor.description,
      createdAt: now(),
    };
  } catch (err) {
    // The decision ran but could not be scored (e.g. the embedding provider failed): no verdict.
    if (!(err instanceof SimilarityProviderError)) throw err;
    return {
      ...base,
      ...nothingRan,
      replayOutputs: outputs,
      executionTimeMs,
      executor: executor.description,
      status: 'Error',
      outputsMatch: false,
      policy: null,
      policyViolations: [],
      integrity: 'verified',
      error: { code: 'SIMILARITY_FAILED', message: err.message },
      createdAt: now(),
    };
  }
}

function withoutLatency(calls: readonly (Dependency | ReportedDependency)[]): ReportedDependency[] {
  return calls.map(({ latencyMs: _latency, ...call }) => call);
}

/**
 * The noise profile a replay asked for (undefined for 'none'). 'latest' with no profile learned is
 * 422; an unknown version is 404 — both before anything runs.
 */
async function resolveNoiseProfile(deps: ReplayDeps, prepared: PreparedReplay, functionName: string): Promise<NoiseProfile | undefined> {
  const choice = prepared.noiseProfile ?? 'none';
  if (choice === 'none') return undefined;
  const store = deps.noiseProfiles;
  if (store === undefined) throw new UnprocessableError('noise profiles are not available to this replay', { code: 'NOISE_PROFILES_UNAVAILABLE' });
  const cache = prepared.noiseProfiles ?? new Map<string, Promise<NoiseProfile | undefined>>();
  let pending = cache.get(functionName);
  if (pending === undefined) {
    pending = choice === 'latest' ? store.getLatest(functionName) : store.getVersion(functionName, choice);
    cache.set(functionName, pending);
    pending.catch(() => cache.delete(functionName));
  }
  const profile = await pending;
  if (profile !== undefined) return profile;
  if (choice === 'latest') {
    throw new UnprocessableError(`no noise profile has been learned for function '${functionName}'; POST /functions/${functionName}/noise-profile first, or replay with noiseProfile 'none'`, { code: 'NO_NOISE_PROFILE', details: { functionName } });
  }
  throw new NotFoundError('noise profile', `${functionName} version ${choice}`, { message: `function '${functionName}' has no noise profile version ${choice}` });
}

/**
 * A smaller form of a result, for storage when the full one does not fit in one item: level 1 drops
 * the compared values from `fieldComparisons` and the diff (paths, scores and verdicts stay); level 2
 * also drops `replayOutputs`. `truncated` says what was left out; the live response is never cut.
 */
export function compactReplayResult(result: ReplayResult, level: 1 | 2): ReplayResult & { truncated: string } {
  const fieldComparisons = result.fieldComparisons.map(({ original: _o, replayed: _r, ...rest }) => rest);
  const diff = result.diff && { ...result.diff, changes: result.diff.changes.map(({ oldValue: _o, newValue: _n, ...rest }) => rest) };
  return level === 1
    ? { ...result, fieldComparisons, diff, truncated: 'compared values left out to fit the 400 KB item limit' }
    : { ...result, fieldComparisons, diff, replayOutputs: null, truncated: 'compared values and replayOutputs left out to fit the 400 KB item limit' };
}
