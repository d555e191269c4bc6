/**
 * What a policy is (DESIGN §4), apart from how its rules are checked and evaluated (policy.ts): its
 * schemas, the stored form, a rule's result and a violation, and the store port. A replay result,
 * a batch and a stored policy need these only; checking and evaluating rules needs the comparator
 * registry and the engines it loads on first need (RE2, the JSON Schema validator), which a
 * function that never checks or evaluates a rule should not ship (lib/function-bundle.ts).
 */
import * as z from 'zod/mini';
import { COMPARATOR_NAMES } from './comparator-names.js';
import { PolicyNameSchema } from './policy-name.js';
import { FunctionNameSchema, JsonValueSchema, StorableNumberSchema } from './snapshot.js';

export { PolicyNameSchema };

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

/**
 * A policy version as stored and as `GET /policies/{name}` returns it. A version is written once
 * and sealed like the other immutable records (core/records.ts): `contentHash` is the SHA-256 of
 * its canonical JSON without that field, the audit digests seal it, and every report judged under
 * it pins that hash. Absent only on versions stored before versions were sealed (such a version
 * is refused for validation: PUT the policy again to store a sealed one).
 */
export const StoredPolicySchema = z.strictObject({
  name: z.string(),
  version: z.int().check(z.gte(1)),
  description: z.optional(z.string()),
  functionNames: z.array(z.string()),
  rules: z.array(RuleSchema),
  createdAt: z.string(),
  contentHash: z.optional(z.string()),
});
export type StoredPolicy = z.infer<typeof StoredPolicySchema>;

/** The name a rule is reported under: its own, or `<comparator>(<field>)`. */
export function ruleName(rule: Pick<Rule, 'name' | 'comparator' | 'field'>): string {
  return rule.name ?? `${rule.comparator}(${rule.field})`;
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

export { buildStoredPolicy, checkPolicySeal, PolicyTamperedError, resolveNamedPolicy, type PolicyPin, type PolicyStore, type ResolvedPolicy } from './policy-port.js';
