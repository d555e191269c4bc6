/**
 * Policies (DESIGN §4): named, versioned lists of rules, each a comparator at a field path.
 * Validation names the bad rule and field; evaluation reports every rule, skipping relative rules
 * only when there is no baseline decision, and turns each violated rule into a violation.
 */
import type * as z from 'zod/mini';
import { comparatorParamIssues, isComparatorName, loadComparatorEngines, needsBaseline as comparatorNeedsBaseline, runComparator, type ComparatorName, type ComparatorVerdict } from './comparators.js';
import { ValidationError, type FieldIssue } from './errors.js';
import { appendSegment, parsePath, readSegments, type PathSegment } from './field-path.js';
import { isJsonObject, jsonKind, type JsonValue } from './json.js';
import { issueLine, issuePath, toFieldIssues } from './schema-util.js';
import type { SimilarityProvider } from './similarity.js';
import { ModelParametersSchema, PATH_ROOTS, toPathDocument, type DecisionView } from './snapshot.js';
import { MAX_RULES, PolicyBodySchema, PolicyNameSchema, RuleSchema, ruleName, type PolicyBody, type PolicyEvaluation, type Rule, type RuleResult, type Violation } from './policy-model.js';

export * from './policy-model.js';

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
  const unreachable = unreachableReason(segs);
  return unreachable === undefined ? undefined : `field path '${field}' cannot address a value: ${unreachable}`;
}

const MODEL_PARAMETER_FIELDS = Object.keys(ModelParametersSchema.shape);
/** The fields of a dependency call in the path document (see dependenciesToObject). */
const DEPENDENCY_FIELDS = ['kind', 'request', 'response', 'latencyMs'];
const SCALAR_KIND: Readonly<Record<string, string>> = {
  functionName: 'a string',
  executionTimeMs: 'a number',
  'modelParameters.modelName': 'a string',
  'modelParameters.modelVersion': 'a string',
  'modelParameters.temperature': 'a number',
  'modelParameters.maxTokens': 'a number',
  'modelParameters.topP': 'a number',
  'modelParameters.seed': 'a number',
  'dependencies.*.kind': 'a string',
  'dependencies.*.latencyMs': 'a number',
};

/**
 * Why a path that parses and starts at a root still cannot address anything in any decision, or
 * undefined: every decision has the same shape above the recorded values (the path document of
 * toPathDocument), so `outputs[0]` (outputs are keyed by name: the first output is not
 * `outputs[0]`), `modelParameters.temprature` or `functionName.length` would read "missing" on every
 * snapshot, and a policy holding it could never pass. Refused when the rule is written instead.
 */
function unreachableReason(segs: readonly PathSegment[]): string | undefined {
  const [root, second, third] = segs as [string, PathSegment | undefined, PathSegment | undefined];
  const scalarBelow = (at: string, key: string): string | undefined => {
    const kind = SCALAR_KIND[key];
    return kind === undefined ? undefined : `${at} is ${kind}: nothing lies below it`;
  };
  if (second === undefined) return undefined;
  if (root === 'functionName' || root === 'executionTimeMs') return scalarBelow(root, root);
  if (typeof second === 'number') {
    const entry = root === 'inputs' ? "an input's" : root === 'outputs' ? "an output's" : root === 'dependencies' ? "a call's" : undefined;
    return entry === undefined ? `${root} is an object: its fields are named (${root}.<name>), not indexed` : `under ${root} the first segment is ${entry} name (${root}.<name>), not an index`;
  }
  const at = appendSegment(root, second);
  if (root === 'modelParameters') {
    if (!MODEL_PARAMETER_FIELDS.includes(second)) return `modelParameters has no field '${second}' (it has ${MODEL_PARAMETER_FIELDS.join(', ')})`;
    return third === undefined ? undefined : scalarBelow(at, at);
  }
  if (root === 'tags') return third === undefined ? undefined : `${at} is a string: nothing lies below it`;
  if (root === 'dependencies' && third !== undefined) {
    const callAt = appendSegment(at, third);
    if (typeof third === 'number' || !DEPENDENCY_FIELDS.includes(third)) return `${at} has no field ${typeof third === 'number' ? `[${third}]` : `'${third}'`} (it has ${DEPENDENCY_FIELDS.join(', ')})`;
    return segs.length > 3 ? scalarBelow(callAt, `dependencies.*.${third}`) : undefined;
  }
  return undefined;
}

/**
 * The problems of one parsed rule, as field issues naming the rule and the parameter. With
 * `stored`, a JsonSchema rule's `schema` is not checked: evaluating a stored rule whose schema a
 * later check refuses is a violation that names the problem (see `jsonSchema` in ./comparators.ts),
 * not an error that fails every validation of every snapshot of the function.
 */
function ruleIssues(rule: Rule, index: number, stored = false): FieldIssue[] {
  const label = ruleLabel(index, rule);
  const issues: FieldIssue[] = [];
  const fieldProblem = fieldPathProblem(rule.field);
  if (fieldProblem) issues.push({ path: `rules[${index}].field`, message: `${label} field: ${fieldProblem}` });
  for (const p of comparatorParamIssues(rule.comparator, rule)) {
    if (stored && rule.comparator === 'JsonSchema' && p.param === 'schema' && rule.schema !== undefined) continue;
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
        issues.push({ path: fi.path, message: `${ruleLabel(second, rawRules[second])} ${issueLine({ path: rest || '(rule)', message: fi.message })}` });
      } else {
        issues.push({ path: fi.path, message: issueLine(fi) });
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
    if (name === '__proto__') {
      // Rule names are keys of a batch's policyViolations: JavaScript drops this one, and the batch
      // that counted it ended FAILED ("Supplied AttributeValue is empty") when storing its stats.
      issues.push({ path: `rules[${index}].name`, message: `${ruleLabel(index, rule)} name: rule name '__proto__' cannot be counted in a batch's policyViolations (JavaScript drops that key); rename the rule` });
    } else if (earlier !== undefined) {
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

/**
 * The verdict of a stored rule that today's checks refuse (a policy stored before a check existed:
 * a Regex pattern now refused as unsafe, a threshold out of range, an unknown comparator): violated,
 * naming each problem, so it never passes silently and never stops the other rules being reported.
 */
function unusableRule(rule: Rule, issues: readonly FieldIssue[]): ComparatorVerdict {
  return {
    status: 'violated',
    expected: 'a rule that can be applied',
    actual: '(not evaluated)',
    message: `${rule.field} could not be checked: the rule cannot be applied (${issues.map((i) => i.message).join('; ')}); store a corrected version of the policy`,
  };
}

/**
 * Why a stored policy's `rules` cannot be read as rules at all (not a list, an entry that is not
 * an object, more rules than a policy may hold: only a version written behind the service can be
 * so), or undefined. Such a policy is violated as a whole, like an unusable rule: no rule of it can
 * be trusted to have been applied. (Thousands of rules also made an on-write report too large to
 * store, so the stream failed the snapshot's record on every delivery.)
 */
function unreadableRules(rules: unknown): { problem: string; expected: string } | undefined {
  if (!Array.isArray(rules)) return { problem: `its rules are ${jsonKind(rules)}, not a list of rules`, expected: 'a list of rules' };
  if (rules.length > MAX_RULES) return { problem: `it holds ${rules.length} rules, more than the ${MAX_RULES} a policy may hold`, expected: `at most ${MAX_RULES} rules` };
  const index = rules.findIndex((rule) => !isJsonObject(rule));
  return index < 0 ? undefined : { problem: `rules[${index}] is ${jsonKind(rules[index])}, not a rule`, expected: 'a list of rules' };
}

/**
 * Evaluates a policy on a candidate decision against an optional baseline decision. Every rule
 * appears in `rules`; relative rules (see {@link needsBaseline}) are skipped with reason
 * "no baseline" when `baseline` is undefined. Request bodies are checked before they get here
 * ({@link parsePolicyBody}: 400), so a rule that fails validation comes from a stored policy (old,
 * or written behind the service): it is violated with a message naming the problem
 * ({@link unusableRule}; a JsonSchema rule's refused schema by its comparator), never a 400 for a
 * request that was fine, never a failed on-write record, never a silent pass. Similarity provider
 * failures propagate (as SimilarityProviderError).
 */
export async function evaluatePolicy(
  policy: { name: string; version?: number | null; rules: readonly Rule[] },
  candidate: DecisionView,
  baseline: DecisionView | undefined,
  similarity: SimilarityProvider,
): Promise<PolicyEvaluation> {
  const unreadable = unreadableRules(policy.rules);
  if (unreadable !== undefined) {
    const message = `policy '${policy.name}'${policy.version == null ? '' : ` version ${policy.version}`} cannot be applied: ${unreadable.problem}; store a corrected version of the policy`;
    return { status: 'violated', rules: [], violations: [{ ruleName: 'policy.rules', field: 'policy.rules', expected: unreadable.expected, actual: '(not evaluated)', message }] };
  }
  await loadComparatorEngines(policy.rules.map((rule) => rule.comparator));
  const candidateDoc: JsonValue = toPathDocument(candidate);
  const baselineDoc: JsonValue | undefined = baseline === undefined ? undefined : toPathDocument(baseline);
  const results = await Promise.all(
    policy.rules.map(async (rule, index) => {
      const issues = isComparatorName(rule.comparator) ? ruleIssues(rule, index, true) : [{ path: `rules[${index}].comparator`, message: `${ruleLabel(index, rule)} comparator: unknown comparator ${JSON.stringify(rule.comparator)}` }];
      if (issues.length > 0) return { rule, verdict: unusableRule(rule, issues) };
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
