/**
 * Validation of snapshots against policies (DESIGN §4): on demand (`POST /snapshots/{id}/validate`)
 * and on every write (the stream consumer). Reports are stored; each lists every rule.
 */
import { sealRecord } from './records.js';
import { NotFoundError, PayloadTooLargeError, ValidationError } from './errors.js';
import { evaluatePolicy, parsePolicyBody } from './policy.js';
import { checkPolicySeal, PolicyBodySchema, PolicyNameSchema, PolicyEvaluationShape, resolveNamedPolicy, type PolicyEvaluation, type PolicyPin, type PolicyStore, type StoredPolicy, type Violation } from './policy-model.js';
import { recordContentHash } from './records.js';
import type { Clock, IdGenerator, Page, SnapshotStore } from './ports.js';
import { parseOrThrow } from './schema-util.js';
import type { SimilarityProvider } from './similarity.js';
import { contentHashOf, integrityOf, IntegritySchema, readableSnapshot, storedSnapshotProblems, type Integrity, type Snapshot } from './snapshot.js';
import * as z from 'zod/mini';
import { ulidField, ULID_ANY_CASE } from './ulid.js';

/**
 * A stored validation report. `policy.version` is null for an inline policy; for a stored one,
 * `policy.contentHash` pins the sealed policy version the rules came from (audit verification
 * checks it against that version's seal). `integrity` says whether the snapshot still matched its
 * contentHash when it was validated; a tampered snapshot's report is `violated` whatever its rules
 * say, with an `integrity` violation first.
 */
export const ValidationReportSchema = z.strictObject({
  reportId: z.string(),
  snapshotId: z.string(),
  /** The snapshot's function: lets an audit of one function find its reports. */
  functionName: z.string(),
  baselineId: z.nullable(z.string()),
  /** `contentHash`: the pinned policy version's; absent for an inline policy and on reports stored before reports pinned it. */
  policy: z.strictObject({ name: z.string(), version: z.nullable(z.int()), contentHash: z.optional(z.string()) }),
  trigger: z.enum(['on-demand', 'on-write']),
  integrity: IntegritySchema,
  /**
   * Whether the baseline still matched its contentHash; absent when there was no baseline (and on
   * reports stored before this field existed). A tampered baseline makes the report `violated`,
   * with an `integrity` violation on `baseline.contentHash`.
   */
  baselineIntegrity: z.optional(IntegritySchema),
  /**
   * Whether the policy version (on-write: the attached version as read) still matched its
   * contentHash; absent for an inline policy and on reports stored before this field existed. A
   * tampered policy version makes an on-write report `violated`, with an `integrity` violation on
   * `policy.contentHash` (on demand, such a version is refused: 409 POLICY_TAMPERED).
   */
  policyIntegrity: z.optional(IntegritySchema),
  ...PolicyEvaluationShape,
  createdAt: z.string(),
  /** SHA-256 of the report's canonical JSON without this field (see core/records.ts); set when stored. */
  contentHash: z.optional(z.string()),
});
export type ValidationReport = z.infer<typeof ValidationReportSchema>;

/** Port: storage of validation reports. */
export interface ValidationReportStore {
  /** Writes a report; returns false (writing nothing) if a report with that id exists for the snapshot. */
  putIfAbsent(report: ValidationReport): Promise<boolean>;
  /** A snapshot's reports, newest first. */
  listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ValidationReport>>;
}

/** Body of `POST /snapshots/{id}/validate`. */
export const ValidateRequestSchema = z.strictObject({
  policy: z.optional(z.unknown()),
  policyName: z.optional(PolicyNameSchema),
  // A ULID in lower case names the same snapshot (see ulid.ts canonicalId); anything else can name
  // none: a 400 naming the field, not a 404.
  baselineId: z.optional(ulidField('baselineId must be a snapshot id (a 26-character ULID)')),
});
export type ValidateRequest = z.infer<typeof ValidateRequestSchema>;

/** For the OpenAPI document: the request as clients see it. */
export const ValidateRequestDocSchema = z.strictObject({ policy: z.optional(PolicyBodySchema), policyName: z.optional(PolicyNameSchema), baselineId: z.optional(z.string().check(z.regex(ULID_ANY_CASE, 'baselineId must be a snapshot id (a 26-character ULID)'))) });

export interface ValidationDeps {
  snapshots: SnapshotStore;
  policies: PolicyStore;
  reports: ValidationReportStore;
  similarity: SimilarityProvider;
  clock: Clock;
  ids: IdGenerator;
}

/** Resolves `{policy} | {policyName}` (exactly one) to the policy to evaluate. */
export async function resolvePolicy(policies: PolicyStore, request: { policy?: unknown; policyName?: string | undefined }): Promise<PolicyPin & { rules: StoredPolicy['rules'] }> {
  const hasInline = request.policy !== undefined;
  const hasName = request.policyName !== undefined;
  if (hasInline === hasName) {
    throw new ValidationError('give exactly one of policy (inline) and policyName', { details: { issues: [{ path: hasInline ? 'policyName' : 'policy', message: 'exactly one of policy and policyName' }] } });
  }
  if (hasInline) {
    const body = await parsePolicyBody(request.policy);
    return { name: body.name ?? 'inline', version: null, rules: body.rules };
  }
  return resolveNamedPolicy(policies, request.policyName as string);
}

/** The baseline: the given one, or the latest earlier snapshot of the function with the same inputs. */
async function resolveBaseline(snapshots: SnapshotStore, snapshot: Snapshot, baselineId: string | undefined): Promise<Snapshot | undefined> {
  if (baselineId !== undefined) {
    const baseline = await snapshots.get(baselineId);
    if (!baseline) throw new NotFoundError('snapshot', baselineId, { message: `baseline snapshot '${baselineId}' does not exist` });
    return baseline;
  }
  return snapshots.findPreviousWithSameInputs(snapshot);
}

/**
 * Evaluates a policy and folds the integrity of the snapshot and of its baseline into the verdict.
 * Rules read both as far as they parse ({@link readableSnapshot}): a tampered snapshot or baseline is
 * still evaluated, and the report is `violated` with an integrity violation first for each side that
 * was altered (the snapshot's on `contentHash`, the baseline's on `baseline.contentHash`), naming
 * what no longer matches or parses. A rule that compared with an altered baseline compared with what
 * is stored now, not with what was recorded: its verdict is not to be trusted, and the report says so.
 */
export async function evaluateWithIntegrity(
  policy: { name: string; rules: readonly StoredPolicy['rules'][number][] },
  snapshot: Snapshot,
  baseline: Snapshot | undefined,
  similarity: SimilarityProvider,
): Promise<PolicyEvaluation & { integrity: Integrity; baselineIntegrity?: Integrity }> {
  const integrity = integrityOf(snapshot);
  const ofBaseline = baseline === undefined ? undefined : integrityOf(baseline);
  const view = integrity === 'verified' ? snapshot : readableSnapshot(snapshot);
  const evaluation = await evaluatePolicy(policy, view, baseline === undefined ? undefined : readableSnapshot(baseline), similarity);
  const baselineIntegrity = ofBaseline === undefined ? {} : { baselineIntegrity: ofBaseline };
  const integrityViolations = [
    ...(integrity === 'verified' ? [] : [integrityViolation(snapshot, 'contentHash', `snapshot ${view.snapshotId}`)]),
    ...(baseline === undefined || ofBaseline === 'verified' ? [] : [integrityViolation(baseline, 'baseline.contentHash', `baseline snapshot ${readableSnapshot(baseline).snapshotId}`, 'the rules that compare with it compared with what is stored now')]),
  ];
  if (integrityViolations.length === 0) return { ...evaluation, integrity, ...baselineIntegrity };
  return { ...evaluation, integrity, ...baselineIntegrity, status: 'violated', violations: [...integrityViolations, ...evaluation.violations] };
}

/** The `integrity` violation for a stored snapshot that no longer matches its hash or no longer parses. */
function integrityViolation(snapshot: Snapshot, field: string, what: string, consequence?: string): Violation {
  const actual = contentHashOf(snapshot);
  const recorded = (snapshot as { contentHash?: unknown }).contentHash;
  const hashMatches = actual !== undefined && actual === recorded;
  const problems = storedSnapshotProblems(snapshot);
  const reasons = [
    ...(hashMatches ? [] : [`no longer matches its contentHash`]),
    ...(problems === undefined ? [] : [`no longer parses as a snapshot (${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''})`]),
  ];
  return {
    ruleName: 'integrity',
    field,
    expected: typeof recorded === 'string' ? recorded : '(no contentHash recorded)',
    actual: actual ?? '(the stored content has no JSON form)',
    message: `${what} ${reasons.join(' and ')}: it was altered after it was recorded${consequence === undefined ? '' : `; ${consequence}`}`,
  };
}

/** Validates a stored snapshot on demand and stores the report. */
export async function validateOnDemand(deps: ValidationDeps, snapshotId: string, body: unknown): Promise<ValidationReport> {
  const request = parseOrThrow(ValidateRequestSchema, body, 'validate request');
  if (request.baselineId !== undefined && request.baselineId === snapshotId.toUpperCase()) {
    // A decision compared with itself passes every relative rule: a report that says nothing, read as a pass.
    throw new ValidationError(
      `baselineId ${request.baselineId} is the snapshot being validated: compared with itself, every rule that compares with a baseline would pass; name an earlier decision, or leave baselineId out for the latest earlier one with the same inputs`,
      { details: { issues: [{ path: 'baselineId', message: 'is the snapshot being validated' }] } },
    );
  }
  const snapshot = await deps.snapshots.get(snapshotId);
  if (!snapshot) throw new NotFoundError('snapshot', snapshotId);
  const policy = await resolvePolicy(deps.policies, request);
  // Ids, function and inputs as far as the stored snapshot parses (a tampered one may not).
  const view = readableSnapshot(snapshot);
  const baseline = await resolveBaseline(deps.snapshots, view, request.baselineId);
  const evaluation = await evaluateWithIntegrity({ name: policy.name, rules: policy.rules }, snapshot, baseline, deps.similarity);
  const report: ValidationReport = {
    reportId: deps.ids.next(),
    snapshotId,
    functionName: view.functionName,
    baselineId: baseline === undefined ? null : (request.baselineId ?? readableSnapshot(baseline).snapshotId),
    policy: policyPin(policy),
    trigger: 'on-demand',
    ...(policy.version !== null && { policyIntegrity: 'verified' as const }),
    ...evaluation,
    createdAt: new Date(deps.clock.now()).toISOString(),
  };
  const sealed = sealRecord(report);
  await deps.reports.putIfAbsent(sealed);
  return sealed;
}

/** Outcome of validating one new snapshot against one attached policy. */
export interface OnWriteOutcome {
  report: ValidationReport;
  /** false when this report was already stored (a redelivered stream record). */
  stored: boolean;
}

/**
 * Validates a newly written snapshot against every policy attached to its function. Report ids are
 * derived from (snapshot, policy, version), so a redelivered record stores nothing twice: the
 * store writes one report per id (a redelivery finds the first). A report's createdAt is when it
 * is written (`now`), not its snapshot's: it is sealed in the window it lands in, however long
 * the stream consumer lagged behind (a report back-dated into a sealed window reads as tampering).
 */
export async function validateOnWrite(
  deps: Omit<ValidationDeps, 'ids' | 'clock'> & { reportId: (snapshot: Snapshot, policy: StoredPolicy) => string; now: () => string },
  snapshot: Snapshot,
): Promise<OnWriteOutcome[]> {
  const attached = await deps.policies.listAttachedTo(snapshot.functionName);
  if (attached.length === 0) return [];
  const baseline = await deps.snapshots.findPreviousWithSameInputs(snapshot);
  const outcomes: OnWriteOutcome[] = [];
  for (const policy of attached) {
    const evaluation = withPolicySeal(policy, await evaluateWithIntegrity(policy, snapshot, baseline, deps.similarity));
    const report: ValidationReport = {
      reportId: deps.reportId(snapshot, policy),
      snapshotId: snapshot.snapshotId,
      functionName: snapshot.functionName,
      baselineId: baseline?.snapshotId ?? null,
      policy: policyPin(policy),
      trigger: 'on-write',
      ...evaluation,
      createdAt: deps.now(),
    };
    outcomes.push(await storeOnWriteReport(deps.reports, report));
  }
  return outcomes;
}

/**
 * Stores an on-write report. One too large for a stored record (a policy written behind the
 * service whose rules and their results add up to more than one item holds) is stored instead as
 * a violated report that says so, without its rule results: the stream record ends in one outcome
 * anyone can read (and a PolicyViolation event), not in PAYLOAD_TOO_LARGE on every delivery until
 * the stream gives up on it. Integrity violations are kept (they are small and come first).
 */
async function storeOnWriteReport(reports: Pick<ValidationReportStore, 'putIfAbsent'>, report: ValidationReport): Promise<OnWriteOutcome> {
  try {
    return { report, stored: await reports.putIfAbsent(report) };
  } catch (err) {
    if (!(err instanceof PayloadTooLargeError)) throw err;
    const violated = report.rules.filter((r) => r.status === 'violated').length;
    const version = report.policy.version === null ? '' : ` version ${report.policy.version}`;
    const tooLarge: ValidationReport = {
      ...report,
      status: 'violated',
      rules: [],
      violations: [
        ...report.violations.filter((v) => v.ruleName === 'integrity'),
        {
          ruleName: 'report',
          field: 'policy.rules',
          expected: `a report of at most ${err.limitBytes} bytes`,
          actual: `${err.actualBytes} bytes`,
          message: `the report of policy '${report.policy.name}'${version} on this decision is ${err.actualBytes} bytes, more than one stored record holds (${err.limitBytes}): its ${report.rules.length} rule results (${violated} violated) are not kept, so the decision is not judged to pass; store a smaller version of the policy (fewer rules, shorter fields and names)`,
        },
      ],
    };
    return { report: tooLarge, stored: await reports.putIfAbsent(tooLarge) };
  }
}

/** The policy a report pins: name, version and (for a stored version) its contentHash. */
function policyPin(policy: PolicyPin): ValidationReport['policy'] {
  return { name: policy.name, version: policy.version, ...(policy.contentHash !== undefined && { contentHash: policy.contentHash }) };
}

/**
 * The on-write verdict with the attached policy version's seal folded in. A version whose content
 * no longer matches its contentHash (or that carries none) is not trusted: its rules are still
 * reported as they read now, but the report is `violated`, with an `integrity` violation first on
 * `policy.contentHash`, so a rule loosened behind the service never yields a sealed `passed`.
 */
function withPolicySeal<T extends PolicyEvaluation>(policy: StoredPolicy, evaluation: T): T & { policyIntegrity: 'verified' | 'tampered' } {
  const problem = checkPolicySeal(policy);
  if (problem === undefined) return { ...evaluation, policyIntegrity: 'verified' };
  const recorded = (policy as { contentHash?: unknown }).contentHash;
  const violation: Violation = {
    ruleName: 'integrity',
    field: 'policy.contentHash',
    expected: typeof recorded === 'string' ? recorded : '(no contentHash recorded)',
    actual: recordContentHash(policy),
    message: `policy '${policy.name}' version ${policy.version} ${problem}: its rules are not to be trusted, so this decision is not judged to pass (code POLICY_TAMPERED)`,
  };
  return { ...evaluation, policyIntegrity: 'tampered', status: 'violated', violations: [violation, ...evaluation.violations] };
}
