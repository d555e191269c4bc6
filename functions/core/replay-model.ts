/**
 * What a replay is (DESIGN §5), apart from running one (replay.ts): the request and its options,
 * the result as stored and returned, the result store port, and a request's validation. A batch
 * starts, lists and reports replays with these only; running one evaluates policies, whose
 * comparators load engines (RE2, the JSON Schema validator) that a function which never runs a
 * replay should not ship (lib/function-bundle.ts).
 */
import * as z from 'zod/mini';
import { DEPENDENCY_MODES, DependencyReplaySchema, type DependencyMode } from './dependencies.js';
import { SnapshotDiffSchema } from './diff.js';
import { ValidationError } from './errors.js';
import type { NoiseProfile } from './noise.js';
import { FieldComparisonSchema } from './output-comparison.js';
import { PolicyBodySchema, RuleResultSchema, ViolationSchema, type Rule } from './policy-model.js';
import type { Page } from './ports.js';
import { parseOrThrow } from './schema-util.js';
import { IntegritySchema, JsonObjectSchema, ModelParametersSchema, NamedValueSchema } from './snapshot.js';

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
  policy: { name: string; version: number | null; rules: readonly Rule[] } | undefined;
}

/**
 * Validates a replay request body (400 before anything runs): its schema, and the options that
 * apply to Tolerant mode only. Its policy, if it names one, is resolved by the caller.
 */
export function parseReplayRequest(body: unknown): ReplayRequest {
  const request = parseOrThrow(ReplayRequestSchema, body ?? {}, 'replay request');
  if (request.tolerance !== undefined && request.mode !== undefined && request.mode !== 'Tolerant') {
    throw new ValidationError(`tolerance applies to Tolerant mode only, not ${request.mode}`, { details: { issues: [{ path: 'tolerance', message: 'only with mode Tolerant' }] } });
  }
  if (request.noiseProfile !== undefined && request.noiseProfile !== 'none' && (request.mode ?? 'Tolerant') !== 'Tolerant') {
    throw new ValidationError(`noiseProfile applies to Tolerant mode only, not ${String(request.mode)}`, { details: { issues: [{ path: 'noiseProfile', message: 'only with mode Tolerant' }] } });
  }
  return request;
}

/** A parsed request (see {@link parseReplayRequest}) with its defaults and its resolved policy. */
export function preparedReplay(request: ReplayRequest, policy: PreparedReplay['policy']): PreparedReplay {
  return {
    mode: request.mode ?? 'Tolerant',
    tolerance: request.tolerance ?? DEFAULT_TOLERANCE,
    overrides: request.overrides,
    dependencyMode: request.dependencyMode,
    noiseProfile: request.noiseProfile ?? 'none',
    noiseProfiles: new Map(),
    policy,
  };
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
