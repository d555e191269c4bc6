/**
 * What a replay is (DESIGN §5), apart from running one (replay.ts): the result as stored and
 * returned, the result store port, and (re-exported from ./replay-request.ts) the request and its
 * validation. Running one evaluates policies, whose comparators load engines (RE2, the JSON Schema
 * validator) that a function which never runs a replay should not ship (lib/function-bundle.ts).
 */
import * as z from 'zod/mini';
import { DependencyReplaySchema } from './dependencies.js';
import { SnapshotDiffSchema } from './diff.js';
import { FieldComparisonSchema } from './output-comparison.js';
import { PolicyBodySchema, PolicyNameSchema, RuleResultSchema, ViolationSchema } from './policy-model.js';
import type { Page } from './ports.js';
import { IntegritySchema, NamedValueSchema } from './snapshot.js';
import { OverridesSchema, REPLAY_MODES, ReplayOptionsShape, ReplayStatusSchema, ResultErrorSchema } from './replay-request.js';

export * from './replay-request.js';

/** For the OpenAPI document: the replay request as clients see it (`policy` is checked apart, for its messages). */
export const ReplayRequestDocSchema = z.strictObject({
  ...ReplayOptionsShape,
  policy: z.optional(PolicyBodySchema),
  policyName: z.optional(PolicyNameSchema),
});

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
  /** `contentHash` pins the stored policy version judged under (absent for an inline policy, and on results stored before results pinned it). */
  policy: z.nullable(z.strictObject({ name: z.string(), version: z.nullable(z.int()), contentHash: z.optional(z.string()), rules: z.array(RuleResultSchema) })),
  policyViolations: z.array(ViolationSchema),
  /**
   * ValidationOnly with a policy: the snapshot its relative rules compared with (the latest earlier
   * snapshot of the function with the same inputsHash, as validate picks), or null when there was
   * none (those rules are skipped). Absent otherwise: an executed replay's baseline is the snapshot.
   */
  baselineId: z.optional(z.nullable(z.string())),
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

/** Most field comparisons and diff changes a result compacted to level 3 keeps (each list). */
export const COMPACT_LIST_LIMIT = 1000;

/**
 * A smaller form of a result, for storage when the full one does not fit in one item: level 1 drops
 * the compared values from `fieldComparisons` and the diff (paths, scores and verdicts stay); level 2
 * also drops `replayOutputs`; level 3 also keeps at most {@link COMPACT_LIST_LIMIT} field
 * comparisons (those that did not match first, then in order) and as many diff changes — an output
 * of 40,000 array elements compares element by element, and even its paths and verdicts outgrew an
 * item, so the replay (and a batch item replaying it) failed with 413 although it ran. `status`,
 * `outputsMatch`, the policy verdicts and the counts stay whole. `truncated` says what was left
 * out; the live response is never cut.
 */
export function compactReplayResult(result: ReplayResult, level: 1 | 2 | 3): ReplayResult & { truncated: string } {
  const fieldComparisons = result.fieldComparisons.map(({ original: _o, replayed: _r, ...rest }) => rest);
  const diff = result.diff && { ...result.diff, changes: result.diff.changes.map(({ oldValue: _o, newValue: _n, ...rest }) => rest) };
  if (level === 1) return { ...result, fieldComparisons, diff, truncated: 'compared values left out to fit the 400 KB item limit' };
  if (level === 2) return { ...result, fieldComparisons, diff, replayOutputs: null, truncated: 'compared values and replayOutputs left out to fit the 400 KB item limit' };
  // In order: the first COMPACT_LIST_LIMIT that did not match, and as many that did as room is left.
  let mismatchesLeft = COMPACT_LIST_LIMIT;
  let matchesLeft = Math.max(0, COMPACT_LIST_LIMIT - fieldComparisons.filter((c) => !c.match).length);
  const kept = fieldComparisons.filter((c) => (c.match ? matchesLeft-- > 0 : mismatchesLeft-- > 0));
  const changes = diff?.changes.slice(0, COMPACT_LIST_LIMIT) ?? [];
  const left = [
    fieldComparisons.length > kept.length ? `${fieldComparisons.length - kept.length} of ${fieldComparisons.length} field comparisons (every one that did not match is kept while there are at most ${COMPACT_LIST_LIMIT})` : undefined,
    diff && diff.changes.length > changes.length ? `${diff.changes.length - changes.length} of ${diff.changes.length} diff changes` : undefined,
  ].filter((s) => s !== undefined);
  return {
    ...result,
    fieldComparisons: kept,
    diff: diff && { ...diff, changes },
    replayOutputs: null,
    truncated: `compared values, replayOutputs${left.length > 0 ? ` and ${left.join(' and ')}` : ''} left out to fit the 400 KB item limit`,
  };
}
