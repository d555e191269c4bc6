/**
 * The wire shapes, from the server's own zod schemas and types in functions/core. This is the one
 * place the client reaches into the server's code: esbuild bundles what it uses into dist/ and tsc
 * emits the declarations beside the client's, so the package never imports server code at run time
 * and there is no second, hand-written copy of any shape to drift.
 */
import type * as z from 'zod/mini';
import { describeIssue, issueLine, issuePath } from '../../functions/core/schema-util.js';
import { jsonShapeProblem, MAX_JSON_DEPTH } from '../../functions/core/json-shape.js';
import { DecisionReplayValidationError } from './errors.js';

export { RecordSnapshotSchema, type RecordSnapshot, type Snapshot, type SnapshotListPage, type TamperedListing, type NamedValue, type ModelParameters } from '../../functions/core/snapshot.js';
export type { JsonObject, JsonValue } from '../../functions/core/json.js';
export { PolicyBodySchema, PolicyNameSchema, type PolicyBody, type StoredPolicy, type Rule, type Violation, type RuleResult } from '../../functions/core/policy.js';
export { ExecutorConfigSchema, type ExecutorConfig, type StoredExecutorConfig } from '../../functions/core/executor.js';
export { ReplayRequestSchema, REPLAY_MODES, type ReplayRequest, type ReplayResult, type ReplayMode, type Overrides } from '../../functions/core/replay.js';
export { ValidateRequestSchema, type ValidateRequest, type ValidationReport } from '../../functions/core/validation.js';
export { NoiseProfileRequestSchema, type NoiseProfileRequest, type NoiseProfileAccepted } from '../../functions/core/noise-profile-job.js';
export type { NoiseProfile, FieldNoise } from '../../functions/core/noise.js';
export type { Dependency, DependencyReplay } from '../../functions/core/dependencies.js';
export { parseIdManifestText, MAX_LISTED_SNAPSHOTS } from '../../functions/core/id-manifest.js';
export { ValidationError } from '../../functions/core/errors.js';
export { BatchRequestSchema, type BatchRequest, type Batch, type BatchResult, type BatchStatus } from '../../functions/core/batch.js';
import { parseBatchRequest } from '../../functions/core/batch.js';
import { ValidationError as ServiceValidationError } from '../../functions/core/errors.js';
export type { SnapshotDiff, SnapshotDiffAnswer, FieldChange } from '../../functions/core/diff.js';
export { ComparisonRequestSchema, type ComparisonRequest, type Comparison } from '../../functions/core/comparison.js';
export type { ReplayStats } from '../../functions/core/stats.js';
export type { Page } from '../../functions/core/ports.js';
export type { VerificationReport, Finding, AuditRecord } from '../../functions/core/audit/verify.js';
export type { StoredDigest } from '../../functions/core/audit/digest-list.js';
export type { ChainHead } from '../../functions/core/audit/ports.js';

/**
 * Parses `input` with `schema` or throws a {@link DecisionReplayValidationError} naming each bad
 * field, before anything is sent.
 */
export function checkRequest<S extends z.ZodMiniType>(schema: S, input: unknown, what: string): z.infer<S> {
  let result: ReturnType<S['safeParse']>;
  try {
    result = schema.safeParse(input, { error: describeIssue }) as ReturnType<S['safeParse']>;
  } catch (err) {
    // The schemas walk values recursively: thousands of nested brackets overflow the stack. The
    // service refuses such a body before any schema sees it (json-shape.ts); so does the client,
    // naming where, as a usage error rather than a RangeError.
    if (!(err instanceof RangeError)) throw err;
    const problem = jsonShapeProblem(input);
    const at = problem?.kind === 'too-deep' ? problem.at : '(root)';
    const message = problem?.kind === 'too-deep' ? `nested deeper than ${MAX_JSON_DEPTH} levels` : `nested too deeply to be checked (${err.message})`;
    throw new DecisionReplayValidationError(`invalid ${what}: ${at}: ${message}`, [{ path: at, message }]);
  }
  // What is sent is the input itself, not zod's copy of it: the schemas transform nothing, and the
  // copy would silently lose what a plain object cannot hold (an own `__proto__` key from
  // JSON.parse becomes a prototype change), which the service refuses as UNSTORABLE_KEY.
  if (result.success) return input as z.infer<S>;
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? issue.keys.map((key) => ({ path: issuePath([...issue.path, key]), message: 'unknown field' })) : [{ path: issuePath(issue.path), message: issue.message }],
  );
  const summary = issues
    .slice(0, 5)
    .map(issueLine)
    .join('; ');
  throw new DecisionReplayValidationError(`invalid ${what}: ${summary}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`, issues);
}

/**
 * The service's own checks of a batch request beyond its schema (exactly one selection, `from` not
 * after `to`, tolerance only in Tolerant mode, at most 100,000 listed ids), run before anything is
 * sent: a request the service would refuse with 400 is a {@link DecisionReplayValidationError}.
 * Call after {@link checkRequest} (the schema); the input is sent as it is.
 */
export function checkBatchRequest(input: unknown): void {
  try {
    parseBatchRequest(input);
  } catch (err) {
    if (!(err instanceof ServiceValidationError)) throw err;
    const details = err.details as { issues?: { path: string; message: string }[] } | undefined;
    throw new DecisionReplayValidationError(`invalid batch request: ${err.message}`, details?.issues ?? []);
  }
}
