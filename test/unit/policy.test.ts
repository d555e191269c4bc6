import { describe, expect, it, vi } from 'vitest';
import { EngineNotLoadedError, ValidationError } from '../../functions/core/errors.js';
import { buildStoredPolicy, evaluatePolicy, PolicyTamperedError, resolveNamedPolicy, needsBaseline, parsePolicyBody, ruleName, StoredPolicySchema, validatePolicyBody, type Rule } from '../../functions/core/policy.js';
import { recordContentHash } from '../../functions/core/records.js';
import { MemoryPolicyStore } from '../support/memory-ports.js';
import { LexicalSimilarity, type SimilarityProvider } from '../../functions/core/similarity.js';
import type { DecisionView } from '../../functions/core/snapshot.js';

const lexical = new LexicalSimilarity();

function decision(outputs: Record<string, unknown>, extra: Partial<DecisionView> = {}): DecisionView {
  return {
    functionName: 'approve_loan',
    inputs: [{ name: 'applicant', value: { income: 52000, age: 41 } }],
    outputs: Object.entries(outputs).map(([name, value]) => ({ name, value: value as never })),
    modelParameters: { modelName: 'credit-llm', temperature: 0 },
    executionTimeMs: 100,
    ...extra,
  };
}

/** The ValidationError thrown by `fn` (fails the test when nothing is thrown). */
function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

/** The ValidationError `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('validatePolicyBody', () => {
  it('accepts a valid policy and fills the name from the path', () => {
    const body = { description: 'loan checks', functionNames: ['approve_loan'], rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }, { field: 'outputs.decision', comparator: 'ExactMatch' }] };
    const policy = validatePolicyBody(body, 'loan-regression');
    expect(policy).toEqual({ ...body, name: 'loan-regression' });
  });

  it('accepts every comparator with its parameters', async () => {
    const rules = [
      { field: 'outputs.a', comparator: 'ExactMatch' },
      { field: 'outputs.a', comparator: 'SemanticSimilarity', threshold: 0.8 },
      { field: 'outputs.a', comparator: 'MaxIncreasePercent', threshold: 10 },
      { field: 'outputs.a', comparator: 'MaxDecreasePercent', threshold: 0 },
      { field: 'outputs.a', comparator: 'WithinRange', min: -1, max: 1 },
      { field: 'outputs.a', comparator: 'Regex', pattern: '^[a-z]+$' },
      { field: 'outputs.a', comparator: 'Contains', value: 'x' },
      { field: 'outputs.a', comparator: 'JsonSchema', schema: { type: 'string' } },
      { field: 'outputs["a.b"][0]', comparator: 'Levenshtein', threshold: 0.5 },
    ];
    expect((await parsePolicyBody({ rules })).rules).toHaveLength(9);
  });

  it('names the rule (by name) and the field for an unknown comparator', () => {
    const err = validationError(() => validatePolicyBody({ rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }, { name: 'fuzzy', field: 'outputs.a', comparator: 'Fuzzy' }] }));
    expect(err.message).toContain('rules[1] (fuzzy) comparator: unknown comparator "Fuzzy"');
    expect(err.details).toEqual({ issues: [expect.objectContaining({ path: 'rules[1].comparator' })] });
  });

  it('reports the other rules\' problems alongside an unknown comparator, not one round at a time', () => {
    const err = validationError(() =>
      validatePolicyBody({ rules: [{ field: 'outputs.a', comparator: 'Fuzzy' }, { name: 'range', field: 'outputs.score', comparator: 'WithinRange', min: 3, max: 1 }, { field: 'bogus.x', comparator: 'ExactMatch' }] }),
    );
    const paths = (err.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['rules[0].comparator', 'rules[1].min', 'rules[2].field']));
  });

  it('names an unnamed rule by index and comparator(field) for an out-of-range threshold', () => {
    const err = validationError(() => validatePolicyBody({ rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }, { field: 'outputs.a', comparator: 'ExactMatch', name: 'x' }, { field: 'outputs.r', comparator: 'SemanticSimilarity', threshold: 1.5 }] }));
    expect(err.message).toContain('rules[2] (SemanticSimilarity(outputs.r)) threshold: SemanticSimilarity threshold must be between 0 and 1, got 1.5');
  });

  it('refuses negative percent thresholds and Levenshtein thresholds above 1', () => {
    expect(validationError(() => validatePolicyBody({ rules: [{ name: 'p', field: 'outputs.a', comparator: 'MaxIncreasePercent', threshold: -5 }] })).message).toContain('rules[0] (p) threshold');
    expect(validationError(() => validatePolicyBody({ rules: [{ name: 'l', field: 'outputs.a', comparator: 'Levenshtein', threshold: 2 }] })).message).toContain('rules[0] (l) threshold');
  });

  it('refuses field paths that do not parse or do not start with a known root', () => {
    const err = validationError(() =>
      validatePolicyBody({
        rules: [
          { name: 'bad-syntax', field: 'outputs..a', comparator: 'ExactMatch' },
          { name: 'bad-root', field: 'output.decision', comparator: 'ExactMatch' },
        ],
      }),
    );
    expect(err.message).toContain('rules[0] (bad-syntax) field: invalid field path');
    expect(err.message).toContain("rules[1] (bad-root) field: field path 'output.decision' must start with one of functionName, inputs, outputs");
  });

  it.each([
    ['outputs[0]', "under outputs the first segment is an output's name (outputs.<name>), not an index"],
    ['inputs[1].income', "under inputs the first segment is an input's name (inputs.<name>), not an index"],
    ['context[0]', 'context is an object'],
    ['functionName.length', 'functionName is a string: nothing lies below it'],
    ['executionTimeMs[0]', 'executionTimeMs is a number: nothing lies below it'],
    ['modelParameters.temprature', "modelParameters has no field 'temprature' (it has modelName, modelVersion, temperature, maxTokens, topP, seed, extra)"],
    ['modelParameters.temperature.value', 'modelParameters.temperature is a number: nothing lies below it'],
    ['tags.env.name', 'tags.env is a string: nothing lies below it'],
    ['tags[0]', 'tags is an object'],
    ['dependencies[0]', "under dependencies the first segment is a call's name (dependencies.<name>), not an index"],
    ['dependencies.rates.answer', "dependencies.rates has no field 'answer' (it has kind, request, response, latencyMs)"],
    ['dependencies.rates.kind.x', 'dependencies.rates.kind is a string: nothing lies below it'],
  ])('refuses the field path %s, which can never address a value', (field, reason) => {
    const err = validationError(() => validatePolicyBody({ rules: [{ name: 'r', field, comparator: 'ExactMatch' }] }));
    expect(err.message).toContain(`rules[0] (r) field: field path '${field}' cannot address a value: ${reason}`);
  });

  it.each(['outputs', 'outputs.decision', 'outputs.items[2].price', 'outputs["0"]', 'inputs.applicant.income', 'modelParameters', 'modelParameters.temperature', 'modelParameters.extra.reasoning[0]', 'context', 'context.retrieval.k', 'tags.env', 'dependencies.rates', 'dependencies.rates.response.rate', 'dependencies["search#2"].request.query', 'functionName', 'executionTimeMs'])(
    'accepts the field path %s',
    (field) => {
      expect(validatePolicyBody({ rules: [{ name: 'r', field, comparator: 'ExactMatch' }] }).rules[0]?.field).toBe(field);
    },
  );

  it('refuses min > max and a missing min, max, threshold, pattern, value or schema', () => {
    expect(validationError(() => validatePolicyBody({ rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 2, max: 1 }] })).message).toContain('rules[0] (score-range) min: min (2) must not be greater than max (1)');
    const err = validationError(() =>
      validatePolicyBody({
        rules: [
          { name: 'r0', field: 'outputs.a', comparator: 'WithinRange', min: 0 },
          { name: 'r1', field: 'outputs.a', comparator: 'SemanticSimilarity' },
          { name: 'r2', field: 'outputs.a', comparator: 'Regex' },
          { name: 'r3', field: 'outputs.a', comparator: 'Contains' },
          { name: 'r4', field: 'outputs.a', comparator: 'JsonSchema' },
        ],
      }),
    );
    const paths = (err.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(['rules[0].max', 'rules[1].threshold', 'rules[2].pattern', 'rules[3].value', 'rules[4].schema']);
    expect(err.message).toContain("rules[0] (r0) max: WithinRange needs 'max'");
  });

  it('refuses an invalid regex or one the linear-time engine cannot run', async () => {
    expect((await rejection(parsePolicyBody({ rules: [{ name: 'rx', field: 'outputs.a', comparator: 'Regex', pattern: '([' }] }))).message).toContain('rules[0] (rx) pattern: invalid regular expression');
    expect((await rejection(parsePolicyBody({ rules: [{ name: 'rx', field: 'outputs.a', comparator: 'Regex', pattern: '(x+)\\1' }] }))).message).toContain('rules[0] (rx) pattern: invalid regular expression for the linear-time (RE2) engine');
  });

  it('refuses JsonSchema rules whose schema is not valid JSON Schema, naming rules[i].schema and the keyword (s12 D10, D17)', async () => {
    const err = await rejection(
      parsePolicyBody({
        rules: [
          { name: 'a', field: 'outputs.y', comparator: 'JsonSchema', schema: { type: 'nonsense' } },
          { name: 'c', field: 'outputs.y', comparator: 'JsonSchema', schema: { minLength: 'five' } },
          { name: 'e', field: 'outputs.y', comparator: 'JsonSchema', schema: { type: 'string', maxLength: -3 } },
          { name: 'ok', field: 'outputs.y', comparator: 'JsonSchema', schema: { type: 'string', maxLength: 3 } },
          { name: 'n', field: 'outputs.y', comparator: 'JsonSchema', schema: { enum: 'notarray' } },
        ],
      }),
    );
    expect(err.code).toBe('INVALID_POLICY');
    const issues = (err.details as { issues: { path: string; message: string }[] }).issues;
    expect(issues.map((i) => i.path)).toEqual(['rules[0].schema', 'rules[1].schema', 'rules[2].schema', 'rules[4].schema']);
    expect(issues[1]?.message).toBe('rules[1] (c) schema: not a valid JSON Schema (draft 2020-12 meta-schema): \'minLength\' at #/minLength must be a non-negative integer, got string "five"');
    expect(issues[3]?.message).toBe('rules[4] (n) schema: not a valid JSON Schema (draft 2020-12 meta-schema): \'enum\' at #/enum must be an array, got string "notarray"');
    expect(err.message).not.toContain('is not a function');
  });

  it('refuses a body name that differs from the path name', () => {
    const err = validationError(() => validatePolicyBody({ name: 'other', rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }] }, 'loan-regression'));
    expect(err.message).toContain("name: the body names the policy 'other' but the path names it 'loan-regression'");
    expect(validatePolicyBody({ name: 'same', rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }] }, 'same').name).toBe('same');
  });

  it('refuses no rules, more than 100 rules, unknown keys, wrong types and duplicate rule names', () => {
    expect(validationError(() => validatePolicyBody({ rules: [] })).message).toContain('rules: a policy needs at least one rule');
    const many = Array.from({ length: 101 }, (_, i) => ({ name: `r${i}`, field: 'outputs.a', comparator: 'ExactMatch' }));
    expect(validationError(() => validatePolicyBody({ rules: many })).message).toContain('at most 100 rules');
    expect(validationError(() => validatePolicyBody({ rules: [{ name: 'typo', field: 'outputs.a', comparator: 'SemanticSimilarity', treshold: 0.8 }] })).message).toContain("rules[0] (typo) (rule): unknown key 'treshold'");
    expect(validationError(() => validatePolicyBody({ rules: [{ name: 'w', field: 'outputs.a', comparator: 'WithinRange', min: '0', max: 1 }] })).message).toContain('rules[0] (w) min: expected number, got string');
    expect(validationError(() => validatePolicyBody({ rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }, { field: 'outputs.a', comparator: 'ExactMatch' }] })).message).toContain("rule name 'ExactMatch(outputs.a)' is already used by rules[0]");
    expect(validationError(() => validatePolicyBody('nope')).message).toContain('(body): expected object');
  });

  it('refuses the rule name __proto__, naming the rule (a batch counting it in policyViolations ended FAILED)', () => {
    const err = validationError(() => validatePolicyBody({ rules: [{ name: '__proto__', field: 'outputs.a', comparator: 'WithinRange', min: 0, max: 1 }] }));
    expect(err.message).toContain("rules[0] (__proto__) name: rule name '__proto__' cannot be counted");
    expect(err.details).toEqual({ issues: [expect.objectContaining({ path: 'rules[0].name' })] });
    expect(validatePolicyBody({ rules: [{ name: 'constructor', field: 'outputs.a', comparator: 'ExactMatch' }] }).rules[0]?.name).toBe('constructor');
  });

  it('refuses a parameter the comparator does not use', () => {
    expect(validationError(() => validatePolicyBody({ rules: [{ name: 'e', field: 'outputs.a', comparator: 'ExactMatch', threshold: 1 }] })).message).toContain("rules[0] (e) threshold: ExactMatch does not use 'threshold'");
  });
});

describe('the rule engines loaded on first need (RE2, the JSON Schema validator)', () => {
  // A fresh copy of the modules: nothing in it has loaded an engine yet.
  const fresh = async () => {
    vi.resetModules();
    return import('../../functions/core/policy.js');
  };
  const regexAndSchema = { rules: [{ name: 'rx', field: 'outputs.a', comparator: 'Regex', pattern: '^[a-z]+$' }, { name: 'js', field: 'outputs.a', comparator: 'JsonSchema', schema: { type: 'string' } }] };

  it('are loaded by parsePolicyBody before its checks run', async () => {
    const policy = await fresh();
    expect((await policy.parsePolicyBody(regexAndSchema)).rules).toHaveLength(2);
  });

  it('are loaded by evaluatePolicy before a rule runs', async () => {
    const policy = await fresh();
    const evaluation = await policy.evaluatePolicy({ name: 'p', rules: regexAndSchema.rules as Rule[] }, decision({ a: 'abc' }), undefined, new LexicalSimilarity());
    expect(evaluation.rules.map((r) => r.status)).toEqual(['passed', 'passed']);
  });

  it('fail loudly when a check runs before its engine was loaded, never as a bad pattern (a 400)', async () => {
    const policy = await fresh();
    let thrown: unknown;
    try {
      policy.validatePolicyBody(regexAndSchema);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).name).toBe(EngineNotLoadedError.name);
    expect(thrown).not.toBeInstanceOf(ValidationError);
  });
});

describe('ruleName and needsBaseline', () => {
  it('uses the rule name, else comparator(field)', () => {
    expect(ruleName({ name: 'n', comparator: 'ExactMatch', field: 'outputs.a' })).toBe('n');
    expect(ruleName({ comparator: 'WithinRange', field: 'outputs.score' })).toBe('WithinRange(outputs.score)');
  });

  it('lists the relative comparators', () => {
    expect(['ExactMatch', 'SemanticSimilarity', 'MaxIncreasePercent', 'MaxDecreasePercent', 'Levenshtein'].every((c) => needsBaseline(c as Rule['comparator']))).toBe(true);
    expect(['WithinRange', 'Regex', 'Contains', 'JsonSchema'].some((c) => needsBaseline(c as Rule['comparator']))).toBe(false);
  });
});

describe('resolveNamedPolicy: sealed versions', () => {
  const floor = { name: 'floor', field: 'outputs.score', comparator: 'WithinRange' as const, min: 0.62, max: 1 };
  const body = { name: 'p', rules: [floor] };

  it('answers the version with its contentHash when it is intact', async () => {
    const store = new MemoryPolicyStore();
    const stored = await store.putNextVersion(body, '2026-11-26T10:00:00.000Z');
    expect(await resolveNamedPolicy(store, 'p')).toEqual({ name: 'p', version: 1, contentHash: stored.contentHash, rules: body.rules });
    expect(await resolveNamedPolicy(store, 'p', 1, stored.contentHash)).toMatchObject({ version: 1 });
  });

  it('refuses (409 POLICY_TAMPERED) a version that no longer matches its hash, and one rewritten since a batch pinned it', async () => {
    const store = new MemoryPolicyStore();
    const stored = await store.putNextVersion(body, '2026-11-26T10:00:00.000Z');
    const loosened = { ...stored, rules: [{ ...floor, min: 0 }] };
    store.versions.set('p', [loosened]);
    await expect(resolveNamedPolicy(store, 'p')).rejects.toMatchObject({ name: 'PolicyTamperedError', code: 'POLICY_TAMPERED' });
    // Rewritten with the hash recomputed: intact on its own, but not the version the batch pinned.
    store.versions.set('p', [{ ...loosened, contentHash: recordContentHash(loosened) }]);
    await expect(resolveNamedPolicy(store, 'p', 1)).resolves.toMatchObject({ version: 1 });
    const err = await resolveNamedPolicy(store, 'p', 1, stored.contentHash).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyTamperedError);
    expect((err as Error).message).toContain(`not the ${stored.contentHash ?? ''} pinned when the batch started`);
  });
});

describe('buildStoredPolicy', () => {
  it('defaults functionNames to none, de-duplicates them and matches the stored schema', () => {
    const body = validatePolicyBody({ rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }] }, 'p');
    const stored = buildStoredPolicy({ ...body, name: 'p' }, 1, '2026-11-26T10:00:00.000Z');
    const content = { name: 'p', version: 1, functionNames: [], rules: body.rules, createdAt: '2026-11-26T10:00:00.000Z' };
    expect(stored).toEqual({ ...content, contentHash: recordContentHash(content) });
    expect(StoredPolicySchema.safeParse(stored).success).toBe(true);
    expect(buildStoredPolicy({ ...body, name: 'p', functionNames: ['f', 'g', 'f'] }, 2, 'x').functionNames).toEqual(['f', 'g']);
  });
});

describe('evaluatePolicy', () => {
  const seedPolicy = {
    name: 'seed',
    version: 1,
    rules: validatePolicyBody({
      rules: [
        { field: 'functionName', comparator: 'ExactMatch' },
        { field: 'outputs.rationale', comparator: 'SemanticSimilarity', threshold: 0.9 },
      ],
    }).rules,
  };

  it('really violates a 0.9 similarity threshold for a low-similarity output and passes ExactMatch on an equal one', async () => {
    const baseline = decision({ rationale: 'Income is well above the threshold.' });
    const candidate = decision({ rationale: 'Declined: the applicant has too many open accounts.' });
    const result = await evaluatePolicy(seedPolicy, candidate, baseline, lexical);
    expect(result.status).toBe('violated');
    expect(result.rules[0]).toEqual({ ruleName: 'ExactMatch(functionName)', field: 'functionName', comparator: 'ExactMatch', status: 'passed', score: 1 });
    expect(result.rules[1]).toMatchObject({ ruleName: 'SemanticSimilarity(outputs.rationale)', status: 'violated', provider: 'lexical' });
    expect(result.rules[1]?.score).toBeLessThan(0.9);
    expect(result.violations).toEqual([
      {
        ruleName: 'SemanticSimilarity(outputs.rationale)',
        field: 'outputs.rationale',
        expected: 'similarity >= 0.9',
        actual: expect.stringMatching(/^similarity 0\.\d+ \(lexical\)$/),
        message: expect.stringContaining('below the threshold of 0.9'),
      },
    ]);
  });

  it('judges an output named __proto__ like any other (ExactMatch on outputs passed for changed outputs)', async () => {
    const named = (decisionText: string): DecisionView => ({ ...decision({}), outputs: [{ name: '__proto__', value: { decision: decisionText } }] });
    const policy = { name: 'p', version: 1, rules: validatePolicyBody({ rules: [{ field: 'outputs', comparator: 'ExactMatch' }, { field: 'outputs.__proto__.decision', comparator: 'ExactMatch' }] }).rules };
    const result = await evaluatePolicy(policy, named('deny'), named('approve'), lexical);
    expect(result.rules.map((r) => r.status)).toEqual(['violated', 'violated']);
    expect(result.violations[1]).toMatchObject({ expected: '"approve"', actual: '"deny"' });
  });

  it('passes when the candidate equals the baseline', async () => {
    const d = decision({ rationale: 'Income is well above the threshold.' });
    const result = await evaluatePolicy(seedPolicy, d, d, lexical);
    expect(result).toEqual({
      status: 'passed',
      rules: [
        { ruleName: 'ExactMatch(functionName)', field: 'functionName', comparator: 'ExactMatch', status: 'passed', score: 1 },
        { ruleName: 'SemanticSimilarity(outputs.rationale)', field: 'outputs.rationale', comparator: 'SemanticSimilarity', status: 'passed', score: 1, provider: 'lexical' },
      ],
      violations: [],
    });
  });

  it('skips relative rules with reason "no baseline" and still evaluates absolute ones', async () => {
    const policy = { name: 'p', rules: validatePolicyBody({ rules: [{ field: 'outputs.score', comparator: 'MaxIncreasePercent', threshold: 5 }, { name: 'range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] }).rules };
    const result = await evaluatePolicy(policy, decision({ score: 1.4 }), undefined, lexical);
    expect(result.rules).toEqual([
      { ruleName: 'MaxIncreasePercent(outputs.score)', field: 'outputs.score', comparator: 'MaxIncreasePercent', status: 'skipped', reason: 'no baseline' },
      { ruleName: 'range', field: 'outputs.score', comparator: 'WithinRange', status: 'violated', score: 1.4 },
    ]);
    expect(result.violations).toEqual([{ ruleName: 'range', field: 'outputs.score', expected: 'within [0, 1]', actual: '1.4', message: 'outputs.score is 1.4, above the maximum of 1' }]);
    expect(result.status).toBe('violated');
  });

  it('passes when every rule is skipped for lack of a baseline (nothing was violated)', async () => {
    const result = await evaluatePolicy(seedPolicy, decision({ rationale: 'x' }), undefined, lexical);
    expect(result.status).toBe('passed');
    expect(result.rules.map((r) => r.status)).toEqual(['skipped', 'skipped']);
  });

  it('reads nested input, output, model parameter and timing fields', async () => {
    const policy = {
      name: 'p',
      rules: validatePolicyBody({
        rules: [
          { name: 'income', field: 'inputs.applicant.income', comparator: 'WithinRange', min: 0, max: 100000 },
          { name: 'price', field: 'outputs.items[1].price', comparator: 'MaxIncreasePercent', threshold: 10 },
          { name: 'temp', field: 'modelParameters.temperature', comparator: 'ExactMatch' },
          { name: 'latency', field: 'executionTimeMs', comparator: 'MaxIncreasePercent', threshold: 50 },
        ],
      }).rules,
    };
    const baseline = decision({ items: [{ price: 1 }, { price: 100 }] }, { executionTimeMs: 100 });
    const candidate = decision({ items: [{ price: 1 }, { price: 120 }] }, { executionTimeMs: 160 });
    const result = await evaluatePolicy(policy, candidate, baseline, lexical);
    expect(result.rules.map((r) => [r.ruleName, r.status, r.score])).toEqual([
      ['income', 'passed', 52000],
      ['price', 'violated', 20],
      ['temp', 'passed', 1],
      ['latency', 'violated', 60],
    ]);
  });

  it('reports a field missing from the candidate as a violation that says so', async () => {
    const policy = { name: 'p', rules: validatePolicyBody({ rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] }).rules };
    const result = await evaluatePolicy(policy, decision({ decision: 'approve' }), undefined, lexical);
    expect(result.violations).toEqual([{ ruleName: 'score-range', field: 'outputs.score', expected: 'within [0, 1]', actual: '(missing)', message: 'outputs.score is missing from the candidate' }]);
  });

  it('evaluates a stored JsonSchema rule whose schema is not valid JSON Schema as a violation naming the problem, and the other rules as usual', async () => {
    // Stored before the meta-schema check: `minLength: "five"` used to pass every value.
    const stored = {
      name: 'p',
      rules: [
        { name: 'loose', field: 'outputs.a', comparator: 'JsonSchema', schema: { minLength: 'five' } } as Rule,
        { name: 'range', field: 'outputs.n', comparator: 'WithinRange', min: 0, max: 1 } as Rule,
      ],
    };
    const result = await evaluatePolicy(stored, decision({ a: 'x', n: 0.5 }), undefined, lexical);
    expect(result.status).toBe('violated');
    expect(result.rules.map((r) => [r.ruleName, r.status])).toEqual([['loose', 'violated'], ['range', 'passed']]);
    expect(result.violations[0]?.message).toBe('outputs.a could not be checked: the rule\'s schema cannot be applied (not a valid JSON Schema (draft 2020-12 meta-schema): \'minLength\' at #/minLength must be a non-negative integer, got string "five")');
  });

  it('evaluates stored rules that today\'s checks refuse as violations naming the problem, and the other rules as usual', async () => {
    // Stored before a check existed (or behind the service): they used to make every validation by
    // name a 400 INVALID_POLICY and every on-write record of the function fail.
    const stored = {
      name: 'p',
      rules: [
        { name: 'loose', field: 'outputs.a', comparator: 'SemanticSimilarity', threshold: 3 } as Rule,
        { name: 'backref', field: 'outputs.a', comparator: 'Regex', pattern: '(x)\\1' } as Rule,
        { name: 'gone', field: 'outputs.a', comparator: 'Telepathy' } as unknown as Rule,
        { name: 'range', field: 'outputs.n', comparator: 'WithinRange', min: 0, max: 1 } as Rule,
      ],
    };
    const result = await evaluatePolicy(stored, decision({ a: 'x', n: 0.5 }), undefined, lexical);

    expect(result.status).toBe('violated');
    expect(result.rules.map((r) => [r.ruleName, r.status])).toEqual([
      ['loose', 'violated'],
      ['backref', 'violated'],
      ['gone', 'violated'],
      ['range', 'passed'],
    ]);
    const messages = result.violations.map((v) => v.message);
    expect(messages[0]).toMatch(/^outputs\.a could not be checked: the rule cannot be applied \(rules\[0\] \(loose\) threshold: .*\); store a corrected version of the policy$/);
    expect(messages[1]).toMatch(/rules\[1\] \(backref\) pattern: /);
    expect(messages[2]).toMatch(/rules\[2\] \(gone\) comparator: unknown comparator "Telepathy"/);
    expect(result.violations.every((v) => v.actual === '(not evaluated)')).toBe(true);
  });

  it('propagates a similarity provider failure instead of passing', async () => {
    const failing: SimilarityProvider = {
      name: 'failing',
      similarity: () => Promise.reject(new Error('embedding service down')),
    };
    await expect(evaluatePolicy(seedPolicy, decision({ rationale: 'a' }), decision({ rationale: 'b' }), failing)).rejects.toThrow('embedding service down');
  });
});
