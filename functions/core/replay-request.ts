/**
 * A replay request (DESIGN §5) as a batch and a single replay both take it: its options, its
 * validation, the outcome vocabulary (status, error) and the prepared form. Apart from the result's
 * schema (./replay-model.ts) so that the functions that only start, plan or report on batches
 * build none of the result's and the policy's schemas when they load.
 */
import * as z from 'zod/mini';
import { DEPENDENCY_MODES, type DependencyMode } from './dependencies.js';
import { ValidationError } from './errors.js';
import type { NoiseProfile, PinnedNoiseProfile } from './noise.js';
import type { Rule } from './policy-model.js';
import { PolicyNameSchema } from './policy-name.js';
import { parseOrThrow } from './schema-util.js';
import { JsonObjectSchema, ModelParametersSchema } from './snapshot.js';

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
  policyName: z.optional(PolicyNameSchema),
});
export type ReplayRequest = z.infer<typeof ReplayRequestSchema>;

/** `Success`: it ran (or was checked) and matched; `Failed`: a mismatch, a violated rule or a tampered snapshot; `Error`: no usable answer. */
export const ReplayStatusSchema = z.enum(['Success', 'Failed', 'Error']);
export type ReplayStatus = z.infer<typeof ReplayStatusSchema>;

/** `{code, message}` of a replay that could not run, or of a snapshot that was tampered with. */
export const ResultErrorSchema = z.strictObject({ code: z.string(), message: z.string() });

/** A replay request after validation, with its policy resolved. */
export interface PreparedReplay {
  mode: ReplayMode;
  tolerance: number;
  overrides: Overrides | undefined;
  /** Asked for explicitly; undefined: `recorded` when the snapshot has dependencies, else none. */
  dependencyMode?: DependencyMode | undefined;
  /** 'none' unless asked for (Tolerant mode only). */
  noiseProfile?: NoiseProfileChoice | undefined;
  /**
   * A batch over listed ids: the version of each function's profile that `noiseProfile: 'latest'`
   * was pinned to when the batch started (core/noise.ts pinListedNoiseProfiles). A function not in
   * it had no profile then. Absent: 'latest' is each function's latest when it is read.
   */
  noiseProfileVersions?: ReadonlyMap<string, number> | undefined;
  /** Profiles already read for this prepared request (a batch reads each function's once). */
  noiseProfiles?: Map<string, Promise<NoiseProfile | undefined>>;
  /** `contentHash`: the sealed version's, pinned in the result (absent for an inline policy). */
  policy: { name: string; version: number | null; contentHash?: string | undefined; rules: readonly Rule[] } | undefined;
}

/**
 * Validates a replay request body (400 before anything runs): its schema, and the options that
 * apply to Tolerant mode only. Its policy, if it names one, is resolved by the caller.
 */
export function parseReplayRequest(body: unknown): ReplayRequest {
  const request = parseOrThrow(ReplayRequestSchema, body ?? {}, 'replay request');
  checkModeOptions(request);
  return request;
}

/**
 * Refuses (400) replay options the mode would ignore, so that no one reads a result as what it is
 * not: `tolerance` and a noise profile outside Tolerant mode; `overrides` and `dependencyMode` in
 * ValidationOnly, which executes nothing (a result would carry no counterfactual, whatever was
 * asked). Shared by replay and batch requests (and so by schedules, which are checked as batches).
 */
export function checkModeOptions(request: { mode?: ReplayMode | undefined; tolerance?: number | undefined; noiseProfile?: NoiseProfileChoice | undefined; overrides?: Overrides | undefined; dependencyMode?: DependencyMode | undefined }): void {
  const mode = request.mode ?? 'Tolerant';
  if (request.tolerance !== undefined && mode !== 'Tolerant') {
    throw new ValidationError(`tolerance applies to Tolerant mode only, not ${mode}`, { details: { issues: [{ path: 'tolerance', message: 'only with mode Tolerant' }] } });
  }
  if (request.noiseProfile !== undefined && request.noiseProfile !== 'none' && mode !== 'Tolerant') {
    throw new ValidationError(`noiseProfile applies to Tolerant mode only, not ${mode}`, { details: { issues: [{ path: 'noiseProfile', message: 'only with mode Tolerant' }] } });
  }
  if (mode === 'ValidationOnly') {
    const ignored = (['overrides', 'dependencyMode'] as const).filter((k) => request[k] !== undefined);
    if (ignored.length > 0) {
      throw new ValidationError(`${ignored.join(' and ')} ${ignored.length > 1 ? 'apply' : 'applies'} to replays that execute (Strict or Tolerant), not ValidationOnly: it executes nothing and checks the recorded outputs`, {
        details: { issues: ignored.map((path) => ({ path, message: 'not with mode ValidationOnly' })) },
      });
    }
  }
}

/** A batch's noise-profile pins (`Batch.noiseProfileVersions`) by function name. */
export function pinnedVersions(pins: readonly PinnedNoiseProfile[]): Map<string, number> {
  return new Map(pins.map((p) => [p.functionName, p.version]));
}

/**
 * A parsed request (see {@link parseReplayRequest}) with its defaults and its resolved policy;
 * `pinnedNoiseProfiles`: a batch's pins of `noiseProfile: 'latest'` (see PreparedReplay).
 */
export function preparedReplay(request: ReplayRequest, policy: PreparedReplay['policy'], pinnedNoiseProfiles?: readonly PinnedNoiseProfile[]): PreparedReplay {
  return {
    mode: request.mode ?? 'Tolerant',
    tolerance: request.tolerance ?? DEFAULT_TOLERANCE,
    overrides: request.overrides,
    dependencyMode: request.dependencyMode,
    noiseProfile: request.noiseProfile ?? 'none',
    ...(pinnedNoiseProfiles !== undefined && { noiseProfileVersions: pinnedVersions(pinnedNoiseProfiles) }),
    noiseProfiles: new Map(),
    policy,
  };
}
