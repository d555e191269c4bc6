/**
 * Policies (DESIGN §4): named, versioned lists of rules, each a comparator at a field path.
 * Validation names the bad rule and field; evaluation reports every rule, skipping relative rules
 * only when there is no baseline decision, and turns each violated rule into a violation.
 */
import * as z from 'zod/mini';
import { COMPARATOR_NAMES, comparatorParamIssues, isComparatorName, loadComparatorEngines, needsBaseline as comparatorNeedsBaseline, runComparator, type ComparatorName } from './comparators.js';
import { ValidationError, type FieldIssue } from './errors.js';
import { appendSegment, parsePath, readSegments, type PathSegment } from './field-path.js';
import { isJsonObject, type JsonValue } from './json.js';
import { issuePath, toFieldIssues } from './schema-util.js';
import type { SimilarityProvider } from './similarity.js';
import { FunctionNameSchema, JsonValueSchema, StorableNumberSchema, PATH_ROOTS, toPathDocument, type DecisionView } from './snapshot.js';

/** Policy names appear in keys and URL paths, so they are kept to a safe alphabet. */
export const PolicyNameSchema = z.string().check(
  z.minLength(1, 'policy name must not be empty'),
  z.maxLength(128, 'policy name must be at most 128 characters'),
  z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'policy name may contain letters, digits, _ . : - and must start with a letter or digit'),
);

/** The most rules one policy may hold. */
export const MAX_RULES = 100;

/** One rule: a comparator applied at a field path, with the parameters that comparator uses. */
export const RuleSchema = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1, 'rule name must not be empty'), z.maxLength(128, 'rule name must be at most 128 characters'))),
  field: z.string().check(z.minLength(1, 'field must not be empty'), z.maxLength(1024, 'field must be at most 1024 characters')),
  comparator: z.enum(COMPARATOR_NAMES, { error: (iss) => `unknown comparator ${JSON.stringify(iss.input)}; expected one of ${COMPARATOR_NAMES.join(', ')}` }),
  threshold: z.optional(StorableNumberSchema),
  min: z.optional(StorableNumberSchema),
  max: z.optional(StorableNumberSchema),
  pattern: z.optional(z.string()),
  value: z.optional(JsonValueSchema),
  schema: z.optional(JsonValueSchema),
});
export type Rule = z.infer<typeof RuleSchema>;

/** The body of `PUT /policies/{name}` (and an inline `policy` in validate / replay requests). */
export const PolicyBodySchema = z.strictObject({
  name: z.optional(PolicyNameSchema),
  description: z.optional(z.string().check(z.maxLength(2048, 'description must be at most 2048 characters'))),
  functionNames: z.optional(z.array(FunctionNameSchema).check(z.maxLength(100, 'a policy attaches to at most 100 functions'))),
  rules: z.array(RuleSchema).check(z.minLength(1, 'a policy needs at least one rule'), z.maxLength(MAX_RULES, `a policy holds at most ${MAX_RULES} rules`)),
});
export type PolicyBody = z.infer<typeof PolicyBodySchema>;

/** A policy as stored and as `GET /policies/{name}` returns it. */
export const StoredPolicySchema = z.strictObject({
  name: z.string(),
  version: z.int().check(z.gte(1)),
  description: z.optional(z.string()),
  functionNames: z.array(z.string()),
  rules: z.array(RuleSchema),
  createdAt: z.string(),
});
export type StoredPolicy = z.infer<typeof StoredPolicySchema>;

/** The name a rule is reported under: its own, or `<comparator>(<field>)`. */
export function ruleName(rule: Pick<Rule, 'name' | 'comparator' | 'field'>): string {
  return rule.name ?? `${rule.comparator}(${rule.field})`;
}

/** True for comparators that compare with a baseline and are skipped when there is none. */
export function needsBaseline(comparator: ComparatorName): boolean {
  return comparatorNeedsBaseline(comparator);
}

function ruleLabel(index: number, raw: unknown): string {
  if (isJsonObject(raw)) {
    const name = raw.name;
    if (typeof name === 'string' && name.length > 0) return `rules[${index}] (${name})`;
    if (typeof raw.comparator === 'string' && typeof raw.field === 'string') return `rules[${index}] (${raw.comparator}(${raw.field}))`;
  }
  return `rules[${index}]`;
}

/** Why `field` is not a usable rule field path, or undefined. */
export function fieldPathProblem(field: string): string | undefined {
  let segs: PathSegment[];
  try {
    segs = parsePath(field);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const root = segs[0];
  if (typeof root !== 'string' || !(PATH_ROOTS as readonly string[]).includes(root)) {
    return `field path '${field}' must start with one of ${PATH_ROOTS.join(', ')}`;
  }
  return undefined;
}

/** The problems of one parsed rule, as field issues naming the rule and the parameter. */
function ruleIssues(rule: Rule, index: number): FieldIssue[] {
  const label = ruleLabel(index, rule);
  const issues: FieldIssue[] = [];
  const fieldProblem = fieldPathProblem(rule.field);
  if (fieldProblem) issues.push({ path: `rules[${index}].field`, message: `${label} field: ${fieldProblem}` });
  for (const p of comparatorParamIssues(rule.comparator, rule)) {
    issues.push({ path: `rules[${index}].${p.param}`, message: `${label} ${p.param}: ${p.message}` });
  }
  return issues;
}

/**
 * A readable message for a zod issue. zod/mini ships no locale (its default message is "Invalid
 * input"), so the common codes are described here; custom messages from the schemas pass through.
 */
function describeIssue(issue: z.core.$ZodIssue, body: unknown): string {
  if (issue.message !== 'Invalid input') return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      // zod does not report the input unless asked to, so read it from the body.
      let input: unknown = body;
      for (const seg of issue.path) input = input !== null && typeof input === 'object' ? (input as Record<PropertyKey, unknown>)[seg] : undefined;
      return input === undefined ? `required (${issue.expected})` : `expected ${issue.expected}, got ${input === null ? 'null' : Array.isArray(input) ? 'array' : typeof input}`;
    }
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'too_small':
      return `must have at least ${String(issue.minimum)} ${issue.origin === 'string' ? 'characters' : 'items'}`;
    case 'too_big':
      return `must have at most ${String(issue.maximum)} ${issue.origin === 'string' ? 'characters' : 'items'}`;
    default:
      return issue.message;
  }
}

function throwIssues(issues: FieldIssue[]): never {
  const summary = issues.slice(0, 5).map((i) => i.message).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  throw new ValidationError(`invalid policy: ${summary}${more}`, { code: 'INVALID_POLICY', details: { issues } });
}

/**
 * Validates a policy body and returns it with `name` set (from the path when the body has none).
 * Throws a {@link ValidationError} (400) whose message names each bad rule — `rules[2] (score-range)`
 * — and the bad field: an unknown comparator, a threshold out of range, a bad field path, min >
 * max, a parameter the comparator needs or does not use, an invalid or unsafe regex, a schema
 * that does not compile, duplicate rule names, or a body name that differs from `nameFromPath`.
 * Synchronous: the engines of Regex and JsonSchema rules must be loaded ({@link parsePolicyBody}).
 */
export function validatePolicyBody(body: unknown, nameFromPath?: string): PolicyBody {
  const issues: FieldIssue[] = [];
  if (nameFromPath !== undefined) {
    const nameCheck = PolicyNameSchema.safeParse(nameFromPath);
    if (!nameCheck.success) issues.push(...toFieldIssues(nameCheck.error).map((i) => ({ path: '(path) name', message: `policy name in the path: ${i.message}` })));
  }
  const parsed = PolicyBodySchema.safeParse(body);
  if (!parsed.success) {
    const rawRules = isJsonObject(body) && Array.isArray(body.rules) ? body.rules : [];
    for (const issue of parsed.error.issues) {
      const fi = { path: issuePath(issue.path), message: describeIssue(issue, body) };
      const [first, second] = issue.path;
      if (first === 'rules' && typeof second === 'number') {
        const rest = issue.path.slice(2).reduce<string>((acc, seg) => appendSegment(acc, typeof seg === 'number' ? seg : String(seg)), '');
        issues.push({ path: fi.path, message: `${ruleLabel(second, rawRules[second])} ${rest || '(rule)'}: ${fi.message}` });
      } else {
        issues.push({ path: fi.path, message: `${fi.path}: ${fi.message}` });
      }
    }
    // The rules that are well-formed on their own still get their semantic checks, so one bad rule
    // does not hide the problems of the others until the next attempt.
    rawRules.forEach((raw, index) => {
      const rule = RuleSchema.safeParse(raw);
      if (rule.success) issues.push(...ruleIssues(rule.data, index));
    });
    throwIssues(issues);
  }
  const policy = parsed.data;
  if (nameFromPath !== undefined && policy.name !== undefined && policy.name !== nameFromPath) {
    issues.push({ path: 'name', message: `name: the body names the policy '${policy.name}' but the path names it '${nameFromPath}'` });
  }
  const seen = new Map<string, number>();
  policy.rules.forEach((rule, index) => {
    issues.push(...ruleIssues(rule, index));
    const name = ruleName(rule);
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      issues.push({ path: `rules[${index}].name`, message: `${ruleLabel(index, rule)} name: rule name '${name}' is already used by rules[${earlier}]; give each rule a distinct name` });
    } else {
      seen.set(name, index);
    }
  });
  if (issues.length > 0) throwIssues(issues);
  const name = policy.name ?? nameFromPath;
  return name === undefined ? policy : { ...policy, name };
}

/**
 * {@link validatePolicyBody} after loading what its rules' comparators are checked with (RE2 for
 * Regex rules, the JSON Schema validator for JsonSchema rules: libraries a function loads on first
 * need, not at start). Every request body goes through this one.
 */
export async function parsePolicyBody(body: unknown, nameFromPath?: string): Promise<PolicyBody> {
  const rules = isJsonObject(body) && Array.isArray(body.rules) ? body.rules : [];
  await loadComparatorEngines(rules.map((rule) => (isJsonObject(rule) ? rule.comparator : undefined)));
  return validatePolicyBody(body, nameFromPath);
}

/** The stored form of a validated body: `functionNames` defaults to none and is de-duplicated. */
export function buildStoredPolicy(body: PolicyBody & { name: string }, version: number, createdAt: string): StoredPolicy {
  return {
    name: body.name,
    version,
    ...(body.description !== undefined && { description: body.description }),
    functionNames: [...new Set(body.functionNames ?? [])],
    rules: body.rules,
    createdAt,
  };
}

/**
 * The result of one rule, as it appears in a validation report's `rules`. `score` and `provider`
 * come with scored comparators (a SemanticSimilarity rule names its provider); `reason` only when
 * skipped, e.g. "no baseline".
 */
export const RuleResultSchema = z.strictObject({
  ruleName: z.string(),
  field: z.string(),
  comparator: z.enum(COMPARATOR_NAMES),
  status: z.enum(['passed', 'violated', 'skipped']),
  score: z.optional(z.number()),
  provider: z.optional(z.string()),
  reason: z.optional(z.string()),
});
export type RuleResult = z.infer<typeof RuleResultSchema>;

/** A violated rule, in the seed's shape. */
export const ViolationSchema = z.strictObject({
  ruleName: z.string(),
  field: z.string(),
  expected: z.string(),
  actual: z.string(),
  message: z.string(),
});
export type Violation = z.infer<typeof ViolationSchema>;

/** The verdict of a policy: every rule, in policy order, and the violations among them. */
export const PolicyEvaluationShape = {
  status: z.enum(['passed', 'violated']),
  rules: z.array(RuleResultSchema),
  violations: z.array(ViolationSchema),
};
export const PolicyEvaluationSchema = z.strictObject(PolicyEvaluationShape);
export type PolicyEvaluation = z.infer<typeof PolicyEvaluationSchema>;

/**
 * Evaluates a policy on a candidate decision against an optional baseline decision. Every rule
 * appears in `rules`; relative rules (see {@link needsBaseline}) are skipped with reason
 * "no baseline" when `baseline` is undefined. A rule that fails validation (e.g. from an old or
 * hand-written policy) throws a {@link ValidationError} naming it. Similarity provider failures
 * propagate (as SimilarityProviderError).
 */
export async function evaluatePolicy(
  policy: { name: string; version?: number | null; rules: readonly Rule[] },
  candidate: DecisionView,
  baseline: DecisionView | undefined,
  similarity: SimilarityProvider,
): Promise<PolicyEvaluation> {
  await loadComparatorEngines(policy.rules.map((rule) => rule.comparator));
  const issues = policy.rules.flatMap((rule, index) => (isComparatorName(rule.comparator) ? ruleIssues(rule, index) : [{ path: `rules[${index}].comparator`, message: `${ruleLabel(index, rule)} comparator: unknown comparator ${JSON.stringify(rule.comparator)}` }]));
  if (issues.length > 0) throwIssues(issues);

  const candidateDoc: JsonValue = toPathDocument(candidate);
  const baselineDoc: JsonValue | undefined = baseline === undefined ? undefined : toPathDocument(baseline);
  const results = await Promise.all(
    policy.rules.map(async (rule) => {
      const segs = parsePath(rule.field);
      const verdict = await runComparator(rule.comparator, {
        field: rule.field,
        params: rule,
        candidate: readSegments(candidateDoc, segs),
        baseline: baselineDoc === undefined ? undefined : readSegments(baselineDoc, segs),
        similarity,
      });
      return { rule, verdict };
    }),
  );

  const rules: RuleResult[] = [];
  const violations: Violation[] = [];
  for (const { rule, verdict } of results) {
    const name = ruleName(rule);
    rules.push({
      ruleName: name,
      field: rule.field,
      comparator: rule.comparator,
      status: verdict.status,
      ...(verdict.score !== undefined && { score: verdict.score }),
      ...(verdict.provider !== undefined && { provider: verdict.provider }),
      ...(verdict.reason !== undefined && { reason: verdict.reason }),
    });
    if (verdict.status === 'violated') {
      violations.push({ ruleName: name, field: rule.field, expected: verdict.expected, actual: verdict.actual, message: verdict.message });
    }
  }
  return { status: violations.length > 0 ? 'violated' : 'passed', rules, violations };
}

/**
 * Port: versioned policy storage. Each put stores the next version (1, 2, …) and moves LATEST;
 * implemented over DynamoDB in adapters/dynamodb.
 */
export interface PolicyStore {
  /** Stores `body` as the next version of `body.name` and returns the stored policy. */
  putNextVersion(body: PolicyBody & { name: string }, createdAt: string): Promise<StoredPolicy>;
  getLatest(name: string): Promise<StoredPolicy | undefined>;
  getVersion(name: string, version: number): Promise<StoredPolicy | undefined>;
  /** Latest versions, by name; `cursor` is an opaque token this store issued. */
  list(limit: number, cursor?: string): Promise<{ items: StoredPolicy[]; nextCursor?: string }>;
  /** Latest versions of the policies whose `functionNames` include `functionName`. */
  listAttachedTo(functionName: string): Promise<StoredPolicy[]>;
}
