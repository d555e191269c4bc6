/**
 * The replay engine (DESIGN §5): re-read the snapshot, verify its content hash, re-execute the
 * decision on the registered executor (with counterfactual overrides), compare the outputs
 * leaf by leaf, evaluate an optional policy with the original as baseline, and persist the result.
 *
 * Never a fake success: a tampered snapshot is `Failed` and nothing runs; an executor without a
 * usable answer is `Error` with its code; no executor, or one that does not serve the model, is a
 * 422 before anything runs.
 */
import { compareDependencies, countDependencyStatuses, type Dependency, type DependencyReplay, type ReportedDependency } from './dependencies.js';
import { diffSnapshots } from './diff.js';
import { NotFoundError, UnprocessableError } from './errors.js';
import { noiseIndex, type NoiseProfile, type NoiseProfileStore } from './noise.js';
import { ExecutorError, NoExecutorError, UnsupportedModelError, type ExecutionResult, type Executor, type ExecutorConfig, type ExecutorConfigStore } from './executor.js';
import { isJsonObject, type JsonObject } from './json.js';
import { compareOutputs } from './output-comparison.js';
import { evaluatePolicy, type PolicyStore } from './policy.js';
import type { Clock, IdGenerator, SnapshotStore } from './ports.js';
import { SimilarityProviderError, type SimilarityProvider } from './similarity.js';
import { readableSnapshot, verifyContentHash, type DecisionView, type ModelParameters, type NamedValue, type Snapshot } from './snapshot.js';
import { evaluateWithIntegrity, resolvePolicy } from './validation.js';
import { parseReplayRequest, preparedReplay, type Overrides, type PreparedReplay, type ReplayResult } from './replay-model.js';

export * from './replay-model.js';

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

/** Validates a replay request body and resolves its policy (400 / 404 before anything runs). */
export async function prepareReplay(policies: PolicyStore, body: unknown): Promise<PreparedReplay> {
  const request = parseReplayRequest(body);
  const wantsPolicy = request.policy !== undefined || request.policyName !== undefined;
  return preparedReplay(request, wantsPolicy ? await resolvePolicy(policies, request) : undefined);
}

/**
 * Recorded model parameters and context with the overrides merged over them, key by key at every
 * depth: an object in the overrides is merged into the recorded object at the same place (so
 * `extra: {reasoning: {effort: "high"}}` keeps the recorded `extra.responseFormat` and
 * `extra.reasoning.budget`); any other value (a string, a number, an array, null) replaces the
 * recorded one. Merging only the top level replaced a recorded nested object whole, so the
 * counterfactual silently dropped settings the overrides never named.
 *
 * Throws {@link UnprocessableError} (422, before anything runs) when the snapshot recorded no model
 * parameters and the overrides give some without `modelName`: model parameters need one (DESIGN §3),
 * and the executor would be sent parameters naming no model.
 */
export function applyOverrides(snapshot: Snapshot, overrides: Overrides | undefined): { modelParameters: ModelParameters | undefined; context: JsonObject | undefined } {
  const mp = overrides?.modelParameters;
  let modelParameters = snapshot.modelParameters;
  if (mp !== undefined) {
    modelParameters = mergeOver((snapshot.modelParameters ?? {}) as JsonObject, mp as JsonObject) as ModelParameters;
    if (typeof modelParameters.modelName !== 'string') {
      throw new UnprocessableError(
        `snapshot ${snapshot.snapshotId} recorded no modelParameters, so overrides.modelParameters must name the model: add overrides.modelParameters.modelName`,
        { code: 'OVERRIDE_NEEDS_MODEL_NAME', details: { issues: [{ path: 'overrides.modelParameters.modelName', message: 'required: the snapshot recorded no modelParameters' }] } },
      );
    }
  }
  const context = overrides?.context === undefined ? snapshot.context : mergeOver(snapshot.context ?? {}, overrides.context);
  return { modelParameters, context };
}

/** `over` merged into `base` (neither is changed): objects key by key, recursively; other values replace. Undefined values are skipped. */
function mergeOver(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const recorded = Object.hasOwn(base, key) ? base[key] : undefined;
    // defineProperty, not `out[key] =`: a key named __proto__ stays a key.
    Object.defineProperty(out, key, { value: isJsonObject(recorded) && isJsonObject(value) ? mergeOver(recorded, value) : value, enumerable: true, writable: true, configurable: true });
  }
  return out;
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
  const intact = verifyContentHash(snapshot);
  const base = {
    replayId,
    snapshotId,
    // A tampered snapshot's fields may not parse: its function as far as it does.
    functionName: intact ? snapshot.functionName : readableSnapshot(snapshot).functionName,
    mode: prepared.mode,
    tolerance: prepared.mode === 'Tolerant' ? prepared.tolerance : null,
    overrides: prepared.overrides ?? null,
  };
  const now = () => new Date(deps.clock.now()).toISOString();
  const nothingRan = { replayOutputs: null, fieldComparisons: [], diff: null, executionTimeMs: 0, executor: null };

  if (!intact) {
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
    // As validate does without a baselineId: the latest earlier decision with the same inputs, its
    // integrity checked too (a baseline altered behind the service fails the result, naming it,
    // whatever the rules that compared with it say), and its id kept on the result.
    const baseline = prepared.policy ? await deps.snapshots.findPreviousWithSameInputs(snapshot) : undefined;
    const evaluation = prepared.policy ? await evaluateWithIntegrity({ name: prepared.policy.name, rules: prepared.policy.rules }, snapshot, baseline, deps.similarity) : undefined;
    return {
      ...base,
      ...nothingRan,
      status: evaluation?.status === 'violated' ? 'Failed' : 'Success',
      outputsMatch: true,
      policy: prepared.policy && evaluation ? { ...policyPinOf(prepared.policy), rules: evaluation.rules } : null,
      ...(prepared.policy && { baselineId: baseline === undefined ? null : readableSnapshot(baseline).snapshotId }),
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

  /** A replay that reached this executor but has no verdict: `error` says why. */
  const errorResult = (error: ReplayResult['error']): ReplayResult => ({
    ...base,
    ...nothingRan,
    executor: executor.description,
    status: 'Error',
    outputsMatch: false,
    policy: null,
    policyViolations: [],
    integrity: 'verified',
    error,
    createdAt: now(),
  });

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
    return errorResult(err.toResultError());
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
      policy: prepared.policy && evaluation ? { ...policyPinOf(prepared.policy), rules: evaluation.rules } : null,
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
    return { ...errorResult({ code: 'SIMILARITY_FAILED', message: err.message }), replayOutputs: outputs, executionTimeMs };
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
  const asked = prepared.noiseProfile ?? 'none';
  if (asked === 'none') return undefined;
  // 'latest' of a batch over listed ids was pinned per function when the batch started.
  const pins = asked === 'latest' ? prepared.noiseProfileVersions : undefined;
  const choice = pins === undefined ? asked : pins.get(functionName);
  if (choice === undefined) {
    throw new UnprocessableError(`no noise profile of function '${functionName}' was pinned when the batch started (it had none learned then); POST /functions/${functionName}/noise-profile, then run the batch again`, { code: 'NO_NOISE_PROFILE', details: { functionName } });
  }
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

/** The policy a replay result pins: name, version and (a stored version's) contentHash. */
function policyPinOf(policy: NonNullable<PreparedReplay['policy']>): { name: string; version: number | null; contentHash?: string } {
  return { name: policy.name, version: policy.version, ...(policy.contentHash !== undefined && { contentHash: policy.contentHash }) };
}
